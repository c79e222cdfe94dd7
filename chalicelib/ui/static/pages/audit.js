// Audit: the enabled devices (sys/audit); for an s3 or file device, its recent requests
// (sys/audit-query/<device>) and the check of its hash chains (sys/audit-verify/<device>).
// Routes: #/audit  ·  #/audit?device=s3/&path_prefix=secret/&entity=alice&since=24h
// Every value from a record is shown as text: paths, names and errors are client input.
import { capabilityBadge } from "../lib/capabilities.js";
import { fill } from "../lib/el.js";

export const title = "Audit";

const READABLE = ["s3", "file"]; // stdout goes to CloudWatch Logs, out of the API's reach
const QUERY_FIELDS = [
  ["path_prefix", "Path prefix", "secret/data/team/"],
  ["entity", "Entity (id or login name)", "alice"],
  ["accessor", "Token accessor", ""],
  ["since", "Since", "24h"],
  ["until", "Until", "now"],
  ["limit", "Limit", "100"],
];
const REQUEST_COLUMNS = [
  ["time", "Time"], ["operation", "Operation"], ["path", "Path"], ["display_name", "Name"],
  ["entity_id", "Entity"], ["accessor", "Accessor"], ["status", "Status"],
];

export async function render(root, ctx) {
  const devices = (await ctx.api.get("sys/audit")).data || {};
  if (ctx.params.device) return deviceView(root, ctx, devices, ctx.params.device);
  const { el } = ctx;
  const rows = Object.keys(devices).sort().map((path) => {
    const device = devices[path];
    const readable = READABLE.includes(device.type);
    return el("tr", {},
      el("td", {}, readable ? el("a", { href: `#/audit?device=${encodeURIComponent(path)}` }, path) : path),
      el("td", {}, device.type),
      el("td", {}, device.description || ""),
      el("td", {}, destination(device)),
      el("td", { class: "muted" }, readable ? "" : "records not readable through the API"));
  });
  root.append(
    el("h1", {}, "Audit devices"),
    capabilityBadge(ctx, "sys/audit"),
    rows.length
      ? el("table", { class: "list devices" },
        el("thead", {}, el("tr", {}, ["Path", "Type", "Description", "Destination", ""].map((h) => el("th", {}, h)))),
        el("tbody", {}, rows))
      : el("p", { class: "muted" }, "No audit device is enabled."));
}

function destination(device) {
  const options = device.options || {};
  if (device.type === "file") return options.file_path || options.path || "";
  if (device.type === "s3") return options.stream ? `stream ${options.stream}` : "the deployment's audit stream";
  return device.type;
}

async function deviceView(root, ctx, devices, device) {
  const { el } = ctx;
  const path = device.endsWith("/") ? device : `${device}/`;
  const known = devices[path];
  const inputs = Object.fromEntries(QUERY_FIELDS.map(([name, , placeholder]) =>
    [name, el("input", { name, placeholder, value: ctx.params[name] || "" })]));
  const results = el("div", { class: "audit-requests" });
  const verdict = el("div", { class: "audit-verify" });
  const form = el("form", {
    class: "audit-query",
    onsubmit: (event) => {
      event.preventDefault();
      const query = new URLSearchParams({ device: path });
      for (const [name, input] of Object.entries(inputs)) if (input.value.trim()) query.set(name, input.value.trim());
      ctx.navigate(`#/audit?${query}`);
    },
  },
  el("h2", {}, "Requests"),
  QUERY_FIELDS.map(([name, label]) => el("label", {}, label, inputs[name])),
  el("button", { type: "submit" }, "Query"));
  const windowQuery = () => Object.fromEntries(["since", "until"].map((n) => [n, inputs[n].value.trim() || undefined]));
  root.append(
    el("nav", { class: "crumbs", "aria-label": "Audit" }, el("a", { href: "#/audit" }, "audit devices")),
    el("h1", {}, `Audit device ${path}`),
    known ? el("p", { class: "muted" }, `${known.type}: ${destination(known)}`) : null,
    capabilityBadge(ctx, `sys/audit-query/${path}`),
    form,
    results,
    el("div", { class: "toolbar" }, el("button", {
      type: "button",
      onclick: async () => {
        fill(verdict, el("p", { class: "muted" }, "Verifying…"));
        try {
          const reply = await ctx.api.get(`sys/audit-verify/${path}`, windowQuery());
          fill(verdict, verification(el, reply.data));
        } catch (error) {
          fill(verdict);
          ctx.showError(error);
        }
      },
    }, "Verify chain")),
    verdict);
  const query = Object.fromEntries(QUERY_FIELDS.map(([name]) => [name, ctx.params[name] || undefined]));
  const reply = await ctx.api.get(`sys/audit-query/${path}`, query);
  fill(results, requestTable(el, reply.data));
}

function requestTable(el, data) {
  const rows = data.requests.map((access) => el("tr", {},
    REQUEST_COLUMNS.map(([name]) => cell(el, name, access[name] || ""))));
  return [
    extentLine(el, data, `${data.matched} matching request(s), the newest ${data.requests.length} shown`),
    rows.length
      ? el("table", { class: "list requests" },
        el("thead", {}, el("tr", {}, REQUEST_COLUMNS.map(([, label]) => el("th", {}, label)))),
        el("tbody", {}, rows))
      : el("p", { class: "muted" }, "No request matches."),
  ];
}

// HMAC'd values are long: shown shortened, whole in the tooltip (and to copy).
function cell(el, name, value) {
  const hashed = value.startsWith("hmac-sha256:") && value.length > 24;
  return el("td", { class: `col-${name}`, title: hashed ? value : undefined },
    hashed ? `${value.slice(0, 20)}…` : value);
}

// What an answer rests on: the window, what was read, and what a limit left out.
function extentLine(el, data, lead) {
  const { coverage, extent, window: span } = data;
  const read = coverage
    ? `${coverage.records} record(s) read` + (coverage.first ? ` from ${coverage.first} to ${coverage.last}` : "")
    : "";
  return el("div", { class: "audit-extent" },
    el("p", {}, [lead, read].filter(Boolean).join(" · ")),
    el("p", { class: "muted" },
      `Window ${span.since} – ${span.until}; ${extent.objects_read} object(s), ${extent.bytes_read} bytes from ${extent.source}`),
    extent.truncated
      ? el("p", { class: "notice", role: "status" },
        `Truncated: ${extent.truncated_reason}` + (extent.objects_skipped ? ` (${extent.objects_skipped} object(s) not read)` : "") + ": the newest records were read first.")
      : null,
    coverage && coverage.unreadable
      ? el("p", { class: "notice" }, `${coverage.unreadable} line(s) were not audit records (first at ${coverage.first_unreadable}).`)
      : null);
}

function verification(el, data) {
  const chains = data.chains.map((chain) => el("tr", {},
    el("td", {}, el("code", {}, chain.id)),
    el("td", {}, String(chain.records)),
    el("td", {}, `${chain.first_seq}–${chain.last_seq}`),
    el("td", {}, String(chain.duplicates)),
    el("td", {}, chain.problems ? String(chain.problems) : "ok")));
  return [
    el("h2", {}, "Chain verification"),
    el("p", { class: data.ok ? "verify-ok" : "verify-failed conflict", role: "status" }, data.summary),
    data.partial ? el("p", { class: "muted" }, "Chains that began before the records checked are accepted from where the check starts"
      + (data.extent.complete_from ? ` (${data.extent.complete_from}: every record from then on was read).` : ".")) : null,
    extentLine(el, data, ""),
    data.problems.length
      ? el("ul", { class: "problems field-error" }, data.problems.map((p) => el("li", {}, `${p.where}: ${p.message}`)))
      : null,
    chains.length
      ? el("table", { class: "list chains" },
        el("thead", {}, el("tr", {}, ["Chain", "Records", "Seq", "Duplicates", "Problems"].map((h) => el("th", {}, h)))),
        el("tbody", {}, chains))
      : null,
  ];
}
