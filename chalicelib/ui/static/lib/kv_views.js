// The views of one KV secret: read (masked), edit (rows or JSON), versions + diff, metadata.
import { actionButton } from "./action.js";
import { ApiError } from "./api.js";
import { capabilityBadge } from "./capabilities.js";
import { canonicalJson, renderDiff } from "./diff.js";
import { el, fill } from "./el.js";
import { asText, maskedValue } from "./mask.js";

const CAS_MISMATCH = /check-and-set/i;

export async function secretView(root, ctx, path) {
  const { kv, link } = ctx;
  const version = ctx.params.version ? Number(ctx.params.version) : undefined;
  const { data, metadata } = await kv.read(path, version);
  const header = el("h1", {}, path, metadata ? el("span", { class: "muted" }, ` · version ${metadata.version}`) : null);
  const actions = el("div", { class: "toolbar" },
    el("a", { href: link({ secret: path, view: "edit" }), class: "button" }, "Edit"),
    kv.v2 ? el("a", { href: link({ secret: path, view: "versions" }), class: "button" }, "Versions") : null,
    kv.v2 ? el("a", { href: link({ secret: path, view: "metadata" }), class: "button" }, "Metadata") : null,
    versionActions(ctx, path, data, metadata));
  let content;
  if (data === null) {
    const state = metadata.destroyed ? "destroyed" : "deleted";
    content = el("p", { class: "notice" }, `Version ${metadata.version} of this secret is ${state}.`);
  } else {
    const rows = Object.entries(data).map(([key, value]) =>
      el("tr", {}, el("th", { scope: "row" }, key), el("td", {}, maskedValue(value))));
    content = el("table", { class: "list secret" }, el("tbody", {}, rows));
  }
  root.append(header, capabilityBadge(ctx, kv.dataPath(path)), actions, content);
}

function versionActions(ctx, path, data, metadata) {
  const { kv, link } = ctx;
  const reload = () => ctx.navigate(link({ secret: path, version: String(metadata?.version || "") }));
  const act = (label, cls, question, run) => actionButton(ctx, { label, cls, question }, run);
  if (!kv.v2) {
    return act("Delete", "danger", `Delete ${path}?`, async () => {
      await kv.deleteLatest(path);
      ctx.navigate(link({ path: parentOf(path) }));
    });
  }
  const version = metadata.version;
  return [
    data !== null ? act("Delete this version", "danger", null, async () => { await kv.deleteVersions(path, [version]); reload(); }) : null,
    data === null && !metadata.destroyed ? act("Undelete", "", null, async () => { await kv.undelete(path, [version]); reload(); }) : null,
    !metadata.destroyed ? act("Destroy this version", "danger", `Destroy version ${version} of ${path}? It cannot be recovered.`, async () => { await kv.destroy(path, [version]); reload(); }) : null,
    act("Delete all versions", "danger", `Delete ${path} and all its versions and metadata?`, async () => {
      await kv.deleteAll(path);
      ctx.navigate(link({ path: parentOf(path) }));
    }),
  ];
}

const parentOf = (path) => path.split("/").slice(0, -1).map((p) => p + "/").join("");

export async function editorView(root, ctx, { path, isNew }) {
  const { kv, link } = ctx;
  let current = {};
  let cas = isNew ? 0 : undefined;
  if (!isNew) {
    const read = await kv.read(path);
    current = read.data || {};
    cas = read.metadata ? read.metadata.version : undefined;
  }
  const name = el("input", { name: "path", value: path, required: true, "aria-label": "Secret path" });
  const rows = el("div", { class: "kv-rows" });
  const json = el("textarea", { name: "json", hidden: true, "aria-label": "Secret as JSON", spellcheck: "false" });
  const addRow = rowAdder(rows, "Key", "Value");
  for (const [key, value] of Object.entries(current)) addRow(key, value);
  if (!rows.children.length) addRow();
  let jsonMode = false;
  const toggle = el("button", { type: "button", class: "mode" }, "JSON");
  const status = el("div", { class: "form-status" });
  toggle.addEventListener("click", () => {
    try {
      if (jsonMode) {
        fill(rows);
        for (const [key, value] of Object.entries(parseJson(json.value))) addRow(key, value);
      } else {
        json.value = JSON.stringify(fromRows(rows), null, 2);
      }
    } catch (error) {
      return fill(status, el("p", { class: "field-error" }, error.message));
    }
    jsonMode = !jsonMode;
    rows.hidden = jsonMode;
    json.hidden = !jsonMode;
    toggle.textContent = jsonMode ? "Key/value rows" : "JSON";
  });
  const form = el("form", {
    class: "kv-editor",
    onsubmit: async (event) => {
      event.preventDefault();
      fill(status);
      const target = name.value.trim().replace(/^\/+/, "");
      try {
        const data = jsonMode ? parseJson(json.value) : fromRows(rows);
        // Saved under another name: create-only (cas 0), never over a secret not read here.
        await kv.write(target, data, kv.v2 ? (target === path ? cas : 0) : undefined);
        ctx.navigate(link({ secret: target }));
      } catch (error) {
        fill(status, errorLine(error));
      }
    },
  },
  el("label", {}, "Path", name),
  el("div", { class: "toolbar" }, el("strong", {}, "Data"), toggle, el("button", { type: "button", onclick: () => addRow() }, "Add row")),
  rows, json, status,
  el("button", { type: "submit" }, "Save"),
  el("a", { href: isNew ? link({ path }) : link({ secret: path }), class: "button" }, "Cancel"));
  root.append(el("h1", {}, isNew ? "Create secret" : `Edit ${path}`), form);
}

function errorLine(error) {
  if (error instanceof ApiError && error.errors.some((m) => CAS_MISMATCH.test(m))) {
    return el("p", { class: "conflict", role: "alert" },
      "Conflict: this secret changed since you opened it (check-and-set). Reload it and edit again. Server: ",
      error.errors.join("; "));
  }
  const messages = error instanceof ApiError ? error.errors : [error.message];
  return el("p", { class: "field-error", role: "alert" }, messages.join("\n"));
}

function parseJson(text) {
  const value = JSON.parse(text || "{}");
  if (!value || typeof value !== "object" || Array.isArray(value)) throw new Error("the secret must be a JSON object");
  return value;
}

// Editable key/value rows (a secret's data, custom_metadata), read back by fromRows.
const rowAdder = (rows, keyLabel, valueLabel) => (key = "", value = "") => rows.appendChild(el("div", { class: "kv-row" },
  el("input", { name: "key", value: key, placeholder: "key", "aria-label": keyLabel }),
  el("input", { name: "value", value: asText(value), placeholder: "value", autocomplete: "off", "aria-label": valueLabel }),
  el("button", { type: "button", onclick: (event) => event.target.closest(".kv-row").remove() }, "Remove")));

function fromRows(rows) {
  const data = {};
  for (const row of rows.querySelectorAll(".kv-row")) {
    const key = row.querySelector("[name=key]").value.trim();
    if (key) data[key] = row.querySelector("[name=value]").value;
  }
  return data;
}

export async function versionsView(root, ctx, path) {
  const { kv, link } = ctx;
  const metadata = await kv.metadata(path);
  const numbers = Object.keys(metadata.versions).map(Number).sort((a, b) => b - a);
  const rows = numbers.map((n) => {
    const v = metadata.versions[String(n)];
    const state = v.destroyed ? "destroyed" : v.deletion_time ? "deleted" : n === metadata.current_version ? "current" : "";
    return el("tr", {},
      el("td", {}, el("a", { href: link({ secret: path, version: String(n) }) }, `Version ${n}`)),
      el("td", {}, v.created_time), el("td", {}, state));
  });
  const pick = (name, chosen) => el("select", { name, "aria-label": name === "a" ? "Compare from" : "Compare to" },
    numbers.map((n) => el("option", { value: String(n), selected: n === chosen }, `Version ${n}`)));
  const from = pick("a", Number(ctx.params.a) || numbers[1] || numbers[0]);
  const to = pick("b", Number(ctx.params.b) || numbers[0]);
  const output = el("div", { class: "diff-output" });
  const compare = async () => {
    fill(output);
    try {
      const [a, b] = await Promise.all([kv.read(path, Number(from.value)), kv.read(path, Number(to.value))]);
      fill(output, renderDiff(canonicalJson(a.data ?? {}), canonicalJson(b.data ?? {})));
    } catch (error) {
      ctx.showError(error);
    }
  };
  root.append(
    el("h2", {}, `Versions of ${path}`),
    el("table", { class: "list" }, el("thead", {}, el("tr", {}, el("th", {}, "Version"), el("th", {}, "Created"), el("th", {}, "State"))), el("tbody", {}, rows)),
    el("h2", {}, "Compare"),
    el("div", { class: "toolbar" }, from, to, el("button", { type: "button", onclick: compare }, "Show diff")),
    output);
}

export async function metadataView(root, ctx, path) {
  const { kv, link } = ctx;
  const metadata = await kv.metadata(path);
  const maxVersions = el("input", { type: "number", min: "0", name: "max_versions", value: metadata.max_versions });
  const casRequired = el("input", { type: "checkbox", name: "cas_required", checked: Boolean(metadata.cas_required) });
  const deleteAfter = el("input", { name: "delete_version_after", value: metadata.delete_version_after || "0s" });
  const custom = el("div", { class: "kv-rows" });
  const addRow = rowAdder(custom, "Metadata key", "Metadata value");
  for (const [key, value] of Object.entries(metadata.custom_metadata || {})) addRow(key, value);
  const status = el("div");
  root.append(
    el("h2", {}, `Metadata of ${path}`),
    capabilityBadge(ctx, kv.metadataPath(path)),
    el("p", { class: "muted" }, `Current version ${metadata.current_version}, oldest ${metadata.oldest_version}, updated ${metadata.updated_time}`),
    el("form", {
      onsubmit: async (event) => {
        event.preventDefault();
        fill(status);
        try {
          await kv.writeMetadata(path, {
            max_versions: Number(maxVersions.value),
            cas_required: casRequired.checked,
            delete_version_after: deleteAfter.value,
            custom_metadata: fromRows(custom),
          });
          fill(status, el("p", { role: "status" }, "Saved."));
        } catch (error) {
          fill(status, errorLine(error));
        }
      },
    },
    el("label", {}, "Maximum versions (0: the mount's setting)", maxVersions),
    el("label", {}, casRequired, " Require check-and-set"),
    el("label", {}, "Delete versions after", deleteAfter),
    el("div", { class: "toolbar" }, el("strong", {}, "Custom metadata"), el("button", { type: "button", onclick: () => addRow() }, "Add row")),
    custom, status,
    el("button", { type: "submit" }, "Save metadata"),
    el("a", { href: link({ secret: path }), class: "button" }, "Back")));
}
