// Leases: browse by prefix, look one up, renew, revoke, and revoke a whole prefix (confirmed).
// Routes: #/leases?prefix=database/creds/  ·  #/leases?id=<lease id>
import { actionButton } from "../lib/action.js";
import { capabilityBadge } from "../lib/capabilities.js";
import { pathCrumbs } from "../lib/crumbs.js";
import { fill } from "../lib/el.js";

export const title = "Leases";

const folderHref = (prefix) => `#/leases?prefix=${encodeURIComponent(prefix)}`;

export async function render(root, ctx) {
  if (ctx.params.id) return leaseView(root, ctx, ctx.params.id);
  const { el } = ctx;
  const prefix = ctx.params.prefix || "";
  let keys = [];
  let listing = null; // why there is no list, when there is none
  try {
    keys = (await ctx.api.list(`sys/leases/lookup/${prefix}`)).data?.keys || [];
  } catch (error) {
    // Listing needs its own grant (often sudo); looking one lease up may still be allowed.
    if (error.status === 403) listing = "This token may not list leases here; look one up by its ID.";
    else if (error.status !== 404) throw error;
  }
  const rows = keys.map((key) => {
    const target = key.endsWith("/") ? folderHref(prefix + key) : `#/leases?id=${encodeURIComponent(prefix + key)}`;
    return el("tr", {}, el("td", {}, el("a", { href: target }, key)));
  });
  const leaseId = el("input", { name: "lease_id", required: true, "aria-label": "Lease ID", placeholder: "e.g. database/creds/app/…" });
  root.append(
    el("h1", {}, "Leases"),
    el("form", {
      class: "toolbar",
      onsubmit: (event) => {
        event.preventDefault();
        ctx.navigate(`#/leases?id=${encodeURIComponent(leaseId.value.trim())}`);
      },
    }, leaseId, el("button", { type: "submit" }, "Look up")),
    pathCrumbs({ label: "Prefix", rootLabel: "leases/", rootHref: "#/leases", folderHref }, prefix),
    capabilityBadge(ctx, `sys/leases/lookup/${prefix}`),
    rows.length ? el("table", { class: "list" }, el("tbody", {}, rows)) : el("p", { class: "muted" }, listing || "No leases under this prefix."),
    prefix ? el("div", { class: "toolbar" }, actionButton(ctx, {
      label: `Revoke all under ${prefix}`,
      cls: "danger",
      question: `Revoke every lease under ${prefix}? This cannot be undone.`,
    }, async () => {
      // Without the trailing "/": Vault refuses writes to such paths (it adds it back).
      await ctx.api.put(`sys/leases/revoke-prefix/${prefix.replace(/\/+$/, "")}`, {});
      ctx.navigate(folderHref(prefix));
    })) : null);
}

async function leaseView(root, ctx, id) {
  const { el } = ctx;
  const details = el("div");
  const show = async () => {
    const reply = await ctx.api.put("sys/leases/lookup", { lease_id: id });
    fill(details, leaseTable(el, reply.data));
  };
  await show();
  const prefix = id.split("/").slice(0, -1).join("/") + "/";
  const status = el("div");
  root.append(
    el("h1", {}, "Lease"),
    el("p", {}, el("code", {}, id)),
    capabilityBadge(ctx, `sys/leases/revoke/${id}`),
    details,
    el("div", { class: "toolbar" },
      actionButton(ctx, { label: "Renew" }, async () => {
        const reply = await ctx.api.put("sys/leases/renew", { lease_id: id });
        fill(status, el("p", { role: "status" }, `Renewed: ${reply.lease_duration}s left.`));
        await show();
      }),
      actionButton(ctx, { label: "Revoke", cls: "danger", question: "Revoke this lease?" }, async () => {
        await ctx.api.put("sys/leases/revoke", { lease_id: id });
        ctx.navigate(folderHref(prefix));
      })),
    status);
}

export function leaseTable(el, lease) {
  const fields = ["id", "issue_time", "expire_time", "last_renewal", "ttl", "renewable"];
  return el("table", { class: "list lease" }, el("tbody", {}, fields.map((f) =>
    el("tr", {}, el("th", { scope: "row" }, f), el("td", {}, lease[f] === null || lease[f] === undefined ? "" : String(lease[f]))))));
}
