/*
 * Lambdavault web UI: the app shell (hash router, navigation, session).
 *
 * PAGE CONTRACT — every page is an ES module under pages/<name>.js that exports:
 *
 *   export const title = "Audit";
 *   export async function render(root, ctx) { … }
 *
 * `root` is an empty HTMLElement the page fills. `ctx` gives:
 *   ctx.api         the /v1/ client (lib/api.js), paths relative to /v1/, the user's token sent
 *                   in X-Vault-Token: get(path, query?), list(path) (GET ?list=true),
 *                   post(path, body), put(path, body), patch(path, body), del(path). Each
 *                   resolves to the parsed JSON (null for 204) or throws an ApiError
 *                   {status, errors: string[]}.
 *   ctx.params      the hash route's query parameters as a plain object of strings
 *                   (`#/audit?device=s3` → {device: "s3"}).
 *   ctx.navigate(hash)   go to another route, e.g. ctx.navigate("#/audit?device=s3").
 *   ctx.el(tag, attrs, ...children)   DOM helper (lib/el.js): text only via text nodes,
 *                   attrs `class`, `on<event>` handlers, plain attributes.
 *   ctx.showError(err)   show an ApiError (its errors) or any Error in the page's alert area.
 *   ctx.capabilities(path)   the token's capabilities on path (sys/capabilities-self).
 *
 * Routes live in ROUTES below (`#/audit` → pages/audit.js); a route's nav entry appears
 * only when the token's ACL (sys/internal/ui/resultant-acl) grants one of the listed verbs on
 * its probe path or beneath it. A page
 * never gets its own endpoint: everything it shows is what /v1/ allows the token.
 * Secret values go into the DOM as text (textContent), never as HTML.
 */
import { createApi, ApiError } from "./lib/api.js";
import { el, fill } from "./lib/el.js";
import * as session from "./lib/session.js";

// name → {module, nav label (optional), probe: [path, verbs] deciding the nav entry}.
const ROUTES = {
  login: { module: "./pages/login.js", public: true },
  secrets: { module: "./pages/secrets.js", nav: "Secrets" },
  kv: { module: "./pages/kv.js" },
  transit: { module: "./pages/transit.js" },
  creds: { module: "./pages/creds.js" },
  policies: { module: "./pages/policies.js", nav: "Policies", probe: ["sys/policies/acl", ["list"]] },
  "auth-methods": { module: "./pages/auth_methods.js", nav: "Auth methods", probe: ["sys/auth", ["read"]] },
  identity: { module: "./pages/identity.js", nav: "Entities & groups", probe: ["identity/entity/id", ["list"]] },
  leases: { module: "./pages/leases.js", nav: "Leases", probe: ["sys/leases/lookup/", ["list", "sudo"]] },
  audit: { module: "./pages/audit.js", nav: "Audit", probe: ["sys/audit", ["read"]] },
};
const HOME = "#/secrets";

const api = createApi(session.token, sessionLost);
let renderCount = 0;

function sessionLost() {
  if (!session.token()) return; // several requests of one page can find it out at once
  session.forget();
  session.leaveMessage("Your session has expired or the token was revoked: log in again.");
  navigate("#/login");
}

function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function parseHash(hash) {
  const [name, query] = hash.replace(/^#\/?/, "").split("?", 2);
  return { name: name || "", params: Object.fromEntries(new URLSearchParams(query || "")) };
}

async function capabilities(path) {
  const reply = await api.post("sys/capabilities-self", { paths: [path] });
  return (reply.data || reply)[path] || reply.capabilities || [];
}

// Whether the token's merged ACL (sys/internal/ui/resultant-acl, as Vault's UI reads it) has
// a rule granting one of `verbs` on `path` or anywhere beneath it. Only decides what the
// navigation offers: the API has the last word on every request.
function aclAllows(acl, path, verbs) {
  if (acl.root) return true;
  const grants = (rule) => verbs.some((v) => (rule.capabilities || []).includes(v));
  const globs = Object.entries(acl.glob_paths || {});
  const exacts = Object.entries(acl.exact_paths || {});
  return globs.some(([prefix, rule]) => (path.startsWith(prefix) || prefix.startsWith(path)) && grants(rule))
    || exacts.some(([exact, rule]) => exact.startsWith(path) && grants(rule));
}

async function refreshNav() {
  const nav = document.getElementById("nav");
  const logout = document.getElementById("logout");
  if (!session.token()) {
    fill(nav);
    document.getElementById("who").textContent = "";
    logout.hidden = true;
    return;
  }
  logout.hidden = false;
  api.get("auth/token/lookup-self").then(
    (reply) => { document.getElementById("who").textContent = reply.data.display_name || ""; },
    () => {},
  );
  let acl = {};
  try {
    acl = (await api.get("sys/internal/ui/resultant-acl")).data || {};
  } catch (error) {
    if (error.sessionLost) return;
  }
  const items = Object.entries(ROUTES)
    .filter(([, r]) => r.nav && (!r.probe || aclAllows(acl, ...r.probe)))
    .map(([name, r]) => el("a", { href: `#/${name}`, "data-route": name }, r.nav));
  fill(nav, items);
}

function showError(error) {
  const flash = document.getElementById("flash");
  const messages = error instanceof ApiError
    ? (error.errors.length ? error.errors.flatMap(unwrapMultiError) : [`HTTP ${error.status}`])
    : [String(error && error.message ? error.message : error)];
  fill(flash, messages.map((m) => el("div", {}, m)));
  flash.hidden = false;
}

// Vault wraps some errors as "1 error occurred:\n\t* permission denied\n\n": show the items.
function unwrapMultiError(message) {
  const items = message.match(/^\s*\* .*$/gm);
  return /^\d+ errors? occurred:/.test(message) && items ? items.map((i) => i.replace(/^\s*\* /, "")) : [message];
}

function clearError() {
  const flash = document.getElementById("flash");
  fill(flash);
  flash.hidden = true;
}

async function route() {
  const current = ++renderCount;
  const { name, params } = parseHash(location.hash);
  const chosen = ROUTES[name] ? name : (session.token() ? "secrets" : "login");
  if (!ROUTES[chosen].public && !session.token()) return navigate("#/login");
  if (chosen === "login" && session.token()) return navigate(HOME);
  clearError();
  for (const link of document.querySelectorAll("#nav a")) {
    link.classList.toggle("active", link.dataset.route === chosen);
  }
  const root = el("section", { class: `page page-${chosen}` });
  fill(document.getElementById("page"), root);
  const ctx = { api, params, navigate, el, showError, capabilities };
  try {
    const page = await import(ROUTES[chosen].module);
    if (current !== renderCount) return;
    document.title = `${page.title} · Lambdavault`;
    await page.render(root, ctx);
  } catch (error) {
    if (current === renderCount && !error.sessionLost) showError(error);
  }
}

async function boot() {
  document.getElementById("logout").addEventListener("click", () => {
    session.forget();
    refreshNav();
    navigate("#/login");
  });
  window.addEventListener("hashchange", route);
  window.addEventListener("lambdavault:login", () => {
    refreshNav();
    navigate(HOME);
  });
  const callback = location.pathname.match(/\/vault\/auth\/(.+)\/oidc\/callback$/);
  if (callback) {
    const { completeOidc } = await import("./pages/login.js");
    await completeOidc(api, callback[1]);
  }
  await refreshNav();
  await route();
}

boot();
