// Transit: keys (list, create, rotate) and the encrypt / decrypt / HMAC tools on pasted text.
// Routes: #/transit?mount=transit  ·  #/transit?mount=transit&key=name
import { actionButton } from "../lib/action.js";
import { capabilityBadge } from "../lib/capabilities.js";
import { fill } from "../lib/el.js";

export const title = "Transit";

const KEY_TYPES = ["aes256-gcm96", "chacha20-poly1305", "ed25519", "ecdsa-p256", "rsa-2048"];

export async function render(root, ctx) {
  const mount = (ctx.params.mount || "").replace(/\/$/, "");
  if (!mount) return ctx.navigate("#/secrets");
  if (ctx.params.key) return keyView(root, ctx, mount, ctx.params.key);
  const { el } = ctx;
  let keys = [];
  try {
    keys = (await ctx.api.list(`${mount}/keys`)).data?.keys || [];
  } catch (error) {
    if (error.status !== 404) throw error;
  }
  const name = el("input", { name: "name", required: true, "aria-label": "Key name" });
  const type = el("select", { name: "type", "aria-label": "Key type" }, KEY_TYPES.map((t) => el("option", { value: t }, t)));
  root.append(
    el("h1", {}, `${mount}/ keys`),
    capabilityBadge(ctx, `${mount}/keys`),
    el("table", { class: "list" }, el("tbody", {}, keys.map((key) =>
      el("tr", {}, el("td", {}, el("a", { href: `#/transit?mount=${encodeURIComponent(mount)}&key=${encodeURIComponent(key)}` }, key)))))),
    el("form", {
      onsubmit: async (event) => {
        event.preventDefault();
        try {
          await ctx.api.post(`${mount}/keys/${name.value}`, { type: type.value });
          ctx.navigate(`#/transit?mount=${encodeURIComponent(mount)}&key=${encodeURIComponent(name.value)}`);
        } catch (error) {
          ctx.showError(error);
        }
      },
    }, el("h2", {}, "Create key"), el("label", {}, "Name", name), el("label", {}, "Type", type), el("button", { type: "submit" }, "Create key")));
}

// Byte by byte: spreading a large input into String.fromCharCode overflows the call stack.
const toBase64 = (text) => btoa(Array.from(new TextEncoder().encode(text), (b) => String.fromCharCode(b)).join(""));
const fromBase64 = (b64) => new TextDecoder().decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));

async function keyView(root, ctx, mount, key) {
  const { el } = ctx;
  const base = `${mount}/keys/${key}`;
  const info = el("div");
  const show = async () => {
    const data = (await ctx.api.get(base)).data;
    fill(info, el("table", { class: "list" }, el("tbody", {},
      ["type", "latest_version", "min_decryption_version", "deletion_allowed", "exportable"].map((f) =>
        el("tr", {}, el("th", { scope: "row" }, f), el("td", {}, String(data[f])))),
      el("tr", {}, el("th", { scope: "row" }, "versions"), el("td", {}, Object.keys(data.keys || {}).join(", "))))));
  };
  await show();
  const input = el("textarea", { name: "input", rows: "4", spellcheck: "false", "aria-label": "Input" });
  const output = el("pre", { class: "output", "aria-label": "Output" });
  const tool = (label, run) => el("button", {
    type: "button",
    onclick: async () => {
      fill(output);
      try {
        output.textContent = await run(input.value.trim());
      } catch (error) {
        ctx.showError(error);
      }
    },
  }, label);
  root.append(
    el("h1", {}, `Key ${key}`),
    capabilityBadge(ctx, `${mount}/encrypt/${key}`),
    info,
    el("div", { class: "toolbar" }, actionButton(ctx, { label: "Rotate" }, async () => {
      await ctx.api.post(`${base}/rotate`, {});
      await show();
    })),
    el("h2", {}, "Tools"),
    el("p", { class: "muted" }, "Paste text to encrypt or HMAC, or a vault:v1:… ciphertext to decrypt."),
    input,
    el("div", { class: "toolbar" },
      tool("Encrypt", async (text) => (await ctx.api.post(`${mount}/encrypt/${key}`, { plaintext: toBase64(text) })).data.ciphertext),
      tool("Decrypt", async (text) => fromBase64((await ctx.api.post(`${mount}/decrypt/${key}`, { ciphertext: text })).data.plaintext)),
      tool("HMAC", async (text) => (await ctx.api.post(`${mount}/hmac/${key}`, { input: toBase64(text) })).data.hmac)),
    output);
}
