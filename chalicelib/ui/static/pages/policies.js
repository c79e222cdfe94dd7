// ACL policies: list, read, edit HCL (the server's parse errors shown beside the editor), delete.
// Routes: #/policies  ·  #/policies?name=x  ·  #/policies?new=1
import { actionButton } from "../lib/action.js";
import { capabilityBadge } from "../lib/capabilities.js";
import { fill } from "../lib/el.js";

export const title = "Policies";

const UNDELETABLE = ["root", "default"];

export async function render(root, ctx) {
  if (ctx.params.name || ctx.params.new) return editor(root, ctx, ctx.params.name || "");
  const { el } = ctx;
  const reply = await ctx.api.list("sys/policies/acl");
  const names = reply.data?.keys || [];
  root.append(
    el("h1", {}, "ACL policies"),
    capabilityBadge(ctx, "sys/policies/acl"),
    el("div", { class: "toolbar" }, el("a", { href: "#/policies?new=1", class: "button" }, "Create policy")),
    el("table", { class: "list" }, el("tbody", {}, names.map((name) =>
      el("tr", {}, el("td", {}, el("a", { href: `#/policies?name=${encodeURIComponent(name)}` }, name)))))));
}

async function editor(root, ctx, name) {
  const { el } = ctx;
  let text = "";
  if (name) {
    const reply = await ctx.api.get(`sys/policies/acl/${name}`);
    text = reply.data.policy;
  }
  const nameInput = el("input", { name: "name", value: name, required: true, readonly: Boolean(name), "aria-label": "Policy name" });
  const body = el("textarea", { name: "policy", spellcheck: "false", "aria-label": "Policy (HCL)", rows: "16" });
  body.value = text;
  const status = el("div", { class: "form-status" });
  const readOnly = name === "root";
  const form = el("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      fill(status);
      const target = nameInput.value.trim();
      try {
        await ctx.api.put(`sys/policies/acl/${target}`, { policy: body.value });
        fill(status, el("p", { role: "status" }, "Saved."));
        if (!name) ctx.navigate(`#/policies?name=${encodeURIComponent(target)}`);
      } catch (error) {
        // The server's own words: a parse error names the line and column.
        fill(status, el("pre", { class: "field-error", role: "alert" }, (error.errors || [error.message]).join("\n")));
      }
    },
  },
  el("label", {}, "Name", nameInput),
  el("label", {}, "Policy (HCL)", body),
  status,
  readOnly ? el("p", { class: "muted" }, "The root policy cannot be changed.") : el("button", { type: "submit" }, "Save policy"),
  name && !UNDELETABLE.includes(name)
    ? actionButton(ctx, { label: "Delete policy", cls: "danger", question: `Delete policy ${name}?` }, async () => {
      await ctx.api.del(`sys/policies/acl/${name}`);
      ctx.navigate("#/policies");
    })
    : null,
  el("a", { href: "#/policies", class: "button" }, "Back"));
  root.append(
    el("h1", {}, name ? `Policy ${name}` : "Create policy"),
    capabilityBadge(ctx, name ? `sys/policies/acl/${name}` : "sys/policies/acl"),
    form);
}
