// Auth methods: list, enable, tune (TTLs, description, listing_visibility for the login page).
// Routes: #/auth-methods  ·  #/auth-methods?path=userpass
import { capabilityBadge } from "../lib/capabilities.js";
import { fill } from "../lib/el.js";

export const title = "Auth methods";

const TYPES = ["userpass", "ldap", "oidc", "jwt", "approle", "aws"];

export async function render(root, ctx) {
  if (ctx.params.path) return tuneView(root, ctx, ctx.params.path.replace(/\/$/, ""));
  const { el } = ctx;
  const reply = await ctx.api.get("sys/auth");
  const mounts = Object.entries(reply.data || {}).sort(([a], [b]) => a.localeCompare(b));
  const type = el("select", { name: "type", "aria-label": "Type" }, TYPES.map((t) => el("option", { value: t }, t)));
  const path = el("input", { name: "path", placeholder: "defaults to the type", "aria-label": "Path" });
  const description = el("input", { name: "description", "aria-label": "Description" });
  root.append(
    el("h1", {}, "Auth methods"),
    capabilityBadge(ctx, "sys/auth"),
    el("table", { class: "list" },
      el("thead", {}, el("tr", {}, el("th", {}, "Path"), el("th", {}, "Type"), el("th", {}, "Accessor"), el("th", {}, "Description"))),
      el("tbody", {}, mounts.map(([p, m]) => el("tr", {},
        el("td", {}, m.type === "token" ? p : el("a", { href: `#/auth-methods?path=${encodeURIComponent(p)}` }, p)),
        el("td", {}, m.type), el("td", {}, m.accessor), el("td", {}, m.description || ""))))),
    el("form", {
      onsubmit: async (event) => {
        event.preventDefault();
        const target = (path.value.trim() || type.value).replace(/^\/|\/$/g, "");
        try {
          await ctx.api.post(`sys/auth/${target}`, { type: type.value, description: description.value });
          ctx.navigate(`#/auth-methods?path=${encodeURIComponent(target)}`);
        } catch (error) {
          ctx.showError(error);
        }
      },
    }, el("h2", {}, "Enable an auth method"), el("label", {}, "Type", type), el("label", {}, "Path", path),
    el("label", {}, "Description", description), el("button", { type: "submit" }, "Enable")));
}

async function tuneView(root, ctx, path) {
  const { el } = ctx;
  const tune = (await ctx.api.get(`sys/auth/${path}/tune`)).data;
  const defaultTtl = el("input", { name: "default_lease_ttl", value: String(tune.default_lease_ttl) });
  const maxTtl = el("input", { name: "max_lease_ttl", value: String(tune.max_lease_ttl) });
  const description = el("input", { name: "description", value: tune.description || "" });
  const visibility = el("select", { name: "listing_visibility" },
    ["hidden", "unauth"].map((v) => el("option", { value: v, selected: (tune.listing_visibility || "hidden") === v }, v)));
  const status = el("div");
  root.append(
    el("h1", {}, `Tune auth/${path}/`),
    capabilityBadge(ctx, `sys/auth/${path}/tune`),
    el("form", {
      onsubmit: async (event) => {
        event.preventDefault();
        fill(status);
        try {
          await ctx.api.post(`sys/auth/${path}/tune`, {
            default_lease_ttl: defaultTtl.value,
            max_lease_ttl: maxTtl.value,
            description: description.value,
            listing_visibility: visibility.value === "hidden" ? "" : visibility.value,
          });
          fill(status, el("p", { role: "status" }, "Saved."));
        } catch (error) {
          fill(status, el("p", { class: "field-error", role: "alert" }, (error.errors || [error.message]).join("\n")));
        }
      },
    },
    el("label", {}, "Default lease TTL (seconds or 1h…)", defaultTtl),
    el("label", {}, "Maximum lease TTL", maxTtl),
    el("label", {}, "Description", description),
    el("label", {}, "Listed on the login page", visibility),
    status,
    el("button", { type: "submit" }, "Save"),
    el("a", { href: "#/auth-methods", class: "button" }, "Back")));
}
