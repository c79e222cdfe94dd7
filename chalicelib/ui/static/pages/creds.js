// Dynamic credentials of any engine with roles (database, aws, rabbitmq …): list its roles,
// read creds/<role>, see the lease, renew and revoke it.
// Routes: #/creds?mount=database  ·  #/creds?mount=database&role=readonly
import { actionButton } from "../lib/action.js";
import { capabilityBadge } from "../lib/capabilities.js";
import { fill } from "../lib/el.js";
import { maskedValue } from "../lib/mask.js";
import { leaseTable } from "./leases.js";

export const title = "Credentials";

export async function render(root, ctx) {
  const mount = (ctx.params.mount || "").replace(/\/$/, "");
  if (!mount) return ctx.navigate("#/secrets");
  const { el } = ctx;
  if (ctx.params.role) return credsView(root, ctx, mount, ctx.params.role);
  let roles = [];
  try {
    roles = (await ctx.api.list(`${mount}/roles`)).data?.keys || [];
  } catch (error) {
    if (error.status !== 404 && error.status !== 405) throw error;
  }
  root.append(
    el("h1", {}, `${mount}/`),
    capabilityBadge(ctx, `${mount}/roles`),
    roles.length
      ? el("table", { class: "list" }, el("tbody", {}, roles.map((role) => el("tr", {}, el("td", {},
        el("a", { href: `#/creds?mount=${encodeURIComponent(mount)}&role=${encodeURIComponent(role)}` }, role))))))
      : el("p", { class: "muted" }, "No roles here (or this engine has none)."));
}

async function credsView(root, ctx, mount, role) {
  const { el } = ctx;
  const result = el("div");
  const path = `${mount}/creds/${role}`;
  const generate = async () => {
    fill(result);
    try {
      const reply = await ctx.api.get(path);
      showCreds(ctx, result, reply);
    } catch (error) {
      ctx.showError(error);
    }
  };
  root.append(
    el("h1", {}, `Credentials for ${role}`),
    capabilityBadge(ctx, path),
    el("div", { class: "toolbar" }, el("button", { type: "button", class: "primary", onclick: generate }, "Generate credentials")),
    result);
}

function showCreds(ctx, holder, reply) {
  const { el } = ctx;
  const leaseInfo = el("div");
  const lookup = async () => fill(leaseInfo, leaseTable(el, (await ctx.api.put("sys/leases/lookup", { lease_id: reply.lease_id })).data));
  const rows = Object.entries(reply.data || {}).map(([key, value]) =>
    el("tr", {}, el("th", { scope: "row" }, key), el("td", {}, maskedValue(value))));
  fill(holder,
    el("table", { class: "list secret" }, el("tbody", {}, rows)),
    reply.lease_id ? [
      el("h2", {}, "Lease"),
      el("p", {}, el("code", { class: "lease-id" }, reply.lease_id), ` · ${reply.lease_duration}s${reply.renewable ? ", renewable" : ""}`),
      leaseInfo,
      el("div", { class: "toolbar" },
        actionButton(ctx, { label: "Renew" }, async () => { await ctx.api.put("sys/leases/renew", { lease_id: reply.lease_id }); await lookup(); }),
        actionButton(ctx, { label: "Revoke", cls: "danger" }, async () => {
          await ctx.api.put("sys/leases/revoke", { lease_id: reply.lease_id });
          fill(leaseInfo, el("p", { role: "status" }, "Revoked."));
        })),
    ] : el("p", { class: "muted" }, "No lease."));
  if (reply.lease_id) lookup().catch(ctx.showError);
}
