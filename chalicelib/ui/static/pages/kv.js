// KV browser: folders (with a search box), secrets, and the secret's views (lib/kv_views.js).
// Routes: #/kv?mount=secret&path=folder/  ·  #/kv?mount=secret&secret=a/b[&view=edit|new|versions|metadata]
import { capabilityBadge } from "../lib/capabilities.js";
import { pathCrumbs } from "../lib/crumbs.js";
import { kvClient, kvVersion } from "../lib/kv.js";
import { editorView, metadataView, secretView, versionsView } from "../lib/kv_views.js";

export const title = "KV";

export async function render(root, ctx) {
  const mount = (ctx.params.mount || "").replace(/\/$/, "");
  if (!mount) return ctx.navigate("#/secrets");
  const kv = kvClient(ctx.api, mount, await kvVersion(ctx.api, mount));
  const { secret, view } = ctx.params;
  const link = (params) => "#/kv?" + new URLSearchParams({ mount, ...params });
  const tools = { ...ctx, kv, link };
  if (view === "new") return editorView(root, tools, { path: ctx.params.path || "", isNew: true });
  if (!secret) return folderView(root, tools, ctx.params.path || "");
  root.append(crumbs(tools, link, secret));
  if (view === "edit") return editorView(root, tools, { path: secret, isNew: false });
  if (view === "versions") return versionsView(root, tools, secret);
  if (view === "metadata") return metadataView(root, tools, secret);
  return secretView(root, tools, secret);
}

function crumbs(ctx, link, path) {
  const where = { label: "Path", rootLabel: `${ctx.kv.mount}/`, rootHref: link({ path: "" }), folderHref: (p) => link({ path: p }) };
  return pathCrumbs(where, path);
}

async function folderView(root, ctx, folder) {
  const { el, kv, link } = ctx;
  const keys = await kv.list(folder);
  const search = el("input", { type: "search", name: "search", placeholder: "Filter this folder", "aria-label": "Filter this folder" });
  const body = el("tbody");
  const show = () => {
    const term = search.value.trim().toLowerCase();
    body.replaceChildren(...keys
      .filter((key) => key.toLowerCase().includes(term))
      .map((key) => {
        const target = key.endsWith("/") ? { path: folder + key } : { secret: folder + key };
        return el("tr", {}, el("td", {}, el("a", { href: link(target), class: key.endsWith("/") ? "folder" : "secret" }, key)));
      }));
  };
  search.addEventListener("input", show);
  show();
  root.append(
    el("h1", {}, `${kv.mount}/${folder}`),
    crumbs(ctx, link, folder),
    capabilityBadge(ctx, kv.metadataPath(folder)),
    el("div", { class: "toolbar" },
      search,
      el("a", { href: link({ view: "new", path: folder }), class: "button" }, "Create secret")),
    keys.length ? el("table", { class: "list" }, body) : el("p", { class: "muted" }, "No secrets here."),
  );
}
