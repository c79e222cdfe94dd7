// The secrets engines the token can see (sys/internal/ui/mounts filters by its ACL).
import { capabilityBadge } from "../lib/capabilities.js";

export const title = "Secrets";

// Mount type → the page that browses it.
const BROWSERS = { kv: "kv", cubbyhole: "kv", transit: "transit" };
// Internal mounts Vault's UI leaves out too.
const HIDDEN = ["system", "identity"];

export async function render(root, ctx) {
  const { el } = ctx;
  const reply = await ctx.api.get("sys/internal/ui/mounts");
  const mounts = Object.entries(reply.data?.secret || {})
    .filter(([, mount]) => !HIDDEN.includes(mount.type))
    .sort(([a], [b]) => a.localeCompare(b));
  const rows = mounts.map(([path, mount]) => {
    const name = path.replace(/\/$/, "");
    const page = BROWSERS[mount.type] || "creds";
    const version = mount.options?.version ? ` v${mount.options.version}` : "";
    return el("tr", {},
      el("td", {}, el("a", { href: `#/${page}?mount=${encodeURIComponent(name)}` }, path)),
      el("td", {}, mount.type + version),
      el("td", {}, mount.description || ""));
  });
  root.append(
    el("h1", {}, "Secrets engines"),
    capabilityBadge(ctx, "sys/mounts"),
    rows.length
      ? el("table", { class: "list" }, el("thead", {}, el("tr", {}, el("th", {}, "Path"), el("th", {}, "Type"), el("th", {}, "Description"))), el("tbody", {}, rows))
      : el("p", { class: "muted" }, "This token cannot see any secrets engine."),
  );
}
