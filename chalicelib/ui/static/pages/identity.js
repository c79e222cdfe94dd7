// Entities and groups: list, look one up, create.
// Routes: #/identity  ·  #/identity?kind=entity&id=…  ·  #/identity?kind=group&id=…
import { capabilityBadge } from "../lib/capabilities.js";

export const title = "Entities & groups";

const KINDS = { entity: "Entities", group: "Groups" };
const SHOWN = ["id", "name", "policies", "member_entity_ids", "type", "disabled", "creation_time", "last_update_time"];

export async function render(root, ctx) {
  const { el } = ctx;
  if (ctx.params.id) return detail(root, ctx, ctx.params.kind === "group" ? "group" : "entity", ctx.params.id);
  root.append(el("h1", {}, "Entities & groups"));
  for (const [kind, label] of Object.entries(KINDS)) {
    let info = {};
    try {
      info = (await ctx.api.list(`identity/${kind}/id`)).data?.key_info || {};
    } catch (error) {
      if (error.status !== 404) throw error;
    }
    const name = el("input", { name: `${kind}-name`, required: true, "aria-label": `New ${kind} name` });
    const policies = el("input", { name: `${kind}-policies`, placeholder: "comma-separated", "aria-label": `New ${kind} policies` });
    root.append(
      el("h2", {}, label),
      capabilityBadge(ctx, `identity/${kind}/id`),
      el("table", { class: "list" }, el("tbody", {}, Object.entries(info).map(([id, item]) =>
        el("tr", {}, el("td", {}, el("a", { href: `#/identity?kind=${kind}&id=${encodeURIComponent(id)}` }, item.name || id)), el("td", {}, id))))),
      el("form", {
        onsubmit: async (event) => {
          event.preventDefault();
          try {
            const reply = await ctx.api.post(`identity/${kind}`, {
              name: name.value,
              policies: policies.value.split(",").map((p) => p.trim()).filter(Boolean),
            });
            ctx.navigate(`#/identity?kind=${kind}&id=${encodeURIComponent(reply.data.id)}`);
          } catch (error) {
            ctx.showError(error);
          }
        },
      }, el("label", {}, `New ${kind}`, name), el("label", {}, "Policies", policies), el("button", { type: "submit" }, `Create ${kind}`)));
  }
}

async function detail(root, ctx, kind, id) {
  const { el } = ctx;
  const data = (await ctx.api.get(`identity/${kind}/id/${id}`)).data;
  const show = (value) => (Array.isArray(value) ? value.join(", ") : value === null || value === undefined ? "" : String(value));
  root.append(
    el("h1", {}, `${kind === "group" ? "Group" : "Entity"} ${data.name}`),
    capabilityBadge(ctx, `identity/${kind}/id/${id}`),
    el("table", { class: "list" }, el("tbody", {}, SHOWN.filter((f) => f in data).map((f) =>
      el("tr", {}, el("th", { scope: "row" }, f), el("td", {}, show(data[f])))))),
    data.aliases?.length ? [el("h2", {}, "Aliases"), el("table", { class: "list" }, el("tbody", {}, data.aliases.map((a) =>
      el("tr", {}, el("td", {}, a.name), el("td", {}, a.mount_type || ""), el("td", {}, a.mount_accessor)))))] : null,
    el("a", { href: "#/identity", class: "button" }, "Back"));
}
