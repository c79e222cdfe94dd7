// Log in with a token, userpass, LDAP or OIDC: the methods listed are the auth mounts with
// listing_visibility=unauth (sys/internal/ui/mounts), as Vault's UI does; "Other" reaches
// any mount by path.
import { el, fill } from "../lib/el.js";
import * as session from "../lib/session.js";

export const title = "Log in";

const OIDC_KEY = "lambdavault.oidc";
const PASSWORD_TYPES = ["userpass", "ldap"];
const SUPPORTED = [...PASSWORD_TYPES, "oidc", "jwt"];

export async function render(root, ctx) {
  const message = session.loginMessage();
  let listed = [];
  try {
    const reply = await ctx.api.get("sys/internal/ui/mounts");
    listed = Object.entries(reply.data?.auth || {})
      .filter(([, mount]) => SUPPORTED.includes(mount.type))
      .map(([path, mount]) => ({ path: path.replace(/\/$/, ""), type: mount.type, description: mount.description }));
  } catch (error) {
    ctx.showError(error);
  }
  const methods = [{ path: "token", type: "token", label: "Token" }, ...listed, { path: "", type: "other", label: "Other" }];
  const form = el("div", { class: "login-form" });
  const tabs = el("div", { class: "tabs", role: "tablist" });
  const choose = (method) => {
    for (const tab of tabs.children) tab.classList.toggle("active", tab.dataset.path === method.path);
    fill(form, methodForm(method, ctx));
  };
  for (const method of methods) {
    const label = method.label || `${method.path} (${method.type})`;
    tabs.appendChild(el("button", { type: "button", role: "tab", "data-path": method.path, onclick: () => choose(method) }, label));
  }
  fill(root,
    el("h1", {}, "Log in"),
    message ? el("p", { class: "notice", role: "status" }, message) : null,
    tabs,
    form,
  );
  choose(listed[0] || methods[0]);
}

function methodForm(method, ctx) {
  if (method.type === "token") return tokenForm(ctx);
  if (PASSWORD_TYPES.includes(method.type)) return passwordForm(method.path, ctx);
  if (method.type === "other") return otherForm(ctx);
  return oidcForm(method.path, ctx);
}

function tokenForm(ctx) {
  const input = el("input", { type: "password", name: "token", autocomplete: "off", required: true });
  return el("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      await acceptToken(input.value.trim(), ctx);
    },
  }, el("label", {}, "Token", input), el("button", { type: "submit" }, "Log in"));
}

function passwordForm(mount, ctx) {
  const username = el("input", { name: "username", autocomplete: "username", required: true });
  const password = el("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  return el("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      try {
        const reply = await ctx.api.post(`auth/${mount}/login/${username.value}`, { password: password.value });
        await acceptToken(reply.auth.client_token, ctx);
      } catch (error) {
        ctx.showError(error);
      }
    },
  },
  el("label", {}, "Username", username),
  el("label", {}, "Password", password),
  el("button", { type: "submit" }, "Log in"));
}

function oidcForm(mount, ctx) {
  const role = el("input", { name: "role", placeholder: "default role" });
  return el("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      try {
        const nonce = randomNonce();
        const redirect = new URL(`vault/auth/${mount}/oidc/callback`, document.baseURI).href;
        const reply = await ctx.api.post(`auth/${mount}/oidc/auth_url`, { role: role.value, redirect_uri: redirect, client_nonce: nonce });
        if (!reply.data?.auth_url) throw new Error("the auth method returned no auth_url: check its role and allowed_redirect_uris");
        const target = new URL(reply.data.auth_url);
        if (!["https:", "http:"].includes(target.protocol)) throw new Error(`the auth method returned an auth_url that is not a web address: ${target.protocol}`);
        // The state binds the callback to this login: completeOidc accepts no other.
        const state = target.searchParams.get("state");
        sessionStorage.setItem(OIDC_KEY, JSON.stringify({ mount, nonce, state }));
        location.assign(target.href);
      } catch (error) {
        ctx.showError(error);
      }
    },
  },
  el("label", {}, "Role", role),
  el("p", { class: "muted" }, "You will be sent to your identity provider and back."),
  el("button", { type: "submit" }, "Sign in with OIDC"));
}

function otherForm(ctx) {
  const type = el("select", { name: "type" }, ["userpass", "ldap", "oidc"].map((t) => el("option", { value: t }, t)));
  const path = el("input", { name: "mount", placeholder: "mount path, e.g. userpass", required: true });
  const holder = el("div");
  const update = () => fill(holder, path.value ? methodForm({ type: type.value, path: path.value.replace(/^\/|\/$/g, "") }, ctx) : null);
  type.addEventListener("change", update);
  path.addEventListener("change", update);
  return el("div", {}, el("label", {}, "Method", type), el("label", {}, "Mount path", path), holder);
}

async function acceptToken(token, ctx) {
  session.remember(token);
  try {
    await ctx.api.get("auth/token/lookup-self");
  } catch (error) {
    session.forget();
    ctx.showError(error);
    return;
  }
  window.dispatchEvent(new Event("lambdavault:login"));
}

function randomNonce() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// The identity provider sent the browser back to …/ui/vault/auth/<mount>/oidc/callback with
// code and state: exchange them for a token, then drop them from the address bar. The
// exchange is a GET with them in the query, as Vault's UI does (the callback accepts a POST
// only in form_post mode); the code is single-use and bound to this login's PKCE verifier.
// Only a callback for the login this tab started (same mount, same state) is exchanged:
// otherwise a link carrying someone else's code would log the user in as them.
// `encodedMount` is the mount as the address bar has it (a malformed one fails here, not boot).
export async function completeOidc(api, encodedMount) {
  const query = new URLSearchParams(location.search);
  const pending = JSON.parse(sessionStorage.getItem(OIDC_KEY) || "{}");
  sessionStorage.removeItem(OIDC_KEY);
  history.replaceState(null, "", new URL(".", document.baseURI).pathname + "#/login");
  const state = query.get("state") || "";
  try {
    const mount = decodeURIComponent(encodedMount);
    if (!pending.state || pending.mount !== mount || pending.state !== state) {
      throw new Error("this browser tab did not start that login: sign in again");
    }
    const reply = await api.get(`auth/${mount}/oidc/callback`, {
      state,
      code: query.get("code") || "",
      client_nonce: pending.nonce,
    });
    session.remember(reply.auth.client_token);
  } catch (error) {
    // Shown by the login page, which the app opens next.
    session.leaveMessage(`OIDC login failed: ${error.errors ? error.errors.join("; ") : error.message}`);
  }
}
