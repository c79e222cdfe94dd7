// The UI's only way to the server: Vault's public /v1/ API with the user's token in the
// X-Vault-Token header (never in a URL). Paths are relative to /v1/.
export class ApiError extends Error {
  constructor(status, errors, body = null) {
    super(errors.join("; ") || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.errors = errors;
    this.body = body; // the whole reply (a deleted KV version's 404 carries its metadata)
  }
}

// The API sits beside the UI (…/ui/ → …/v1/), whatever prefix is in front of both.
// Callers pass paths unencoded: each segment is percent-encoded here (a KV key may hold "?",
// "#" or "%"). "." and ".." segments are refused: URL parsing would resolve them and the
// request would reach another path than the one the page shows (a crafted link's key).
export function apiUrl(path, query) {
  const segments = path.replace(/^\/+/, "").split("/");
  if (segments.some((s) => s === "." || s === "..")) throw new Error(`a path may not hold "." or ".." segments: ${path}`);
  const url = new URL("../v1/" + segments.map(encodeURIComponent).join("/"), document.baseURI);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null) url.searchParams.set(name, String(value));
  }
  return url;
}

// createApi(tokenSource, onSessionLost): tokenSource() gives the current token (or null);
// onSessionLost() runs when the token itself is no longer valid (expired or revoked).
export function createApi(tokenSource, onSessionLost) {
  async function request(method, path, { query, body } = {}) {
    const headers = { "X-Vault-Request": "true" };
    const token = tokenSource();
    if (token) headers["X-Vault-Token"] = token;
    const init = { method, headers, cache: "no-store", credentials: "omit" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(apiUrl(path, query), init);
    const text = await response.text();
    let parsed = null;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = { data: text };
      }
    }
    if (!response.ok) {
      const errors = parsed && Array.isArray(parsed.errors) ? parsed.errors.map(String) : [];
      const error = new ApiError(response.status, errors, parsed);
      if (response.status === 403 && token && path !== "auth/token/lookup-self") {
        await checkSession(error);
      }
      throw error;
    }
    return parsed;
  }

  // Vault answers 403 both for a forbidden path and for a dead token: ask which.
  async function checkSession(error) {
    try {
      await request("GET", "auth/token/lookup-self");
    } catch (lookup) {
      if (lookup instanceof ApiError && lookup.status === 403) {
        error.sessionLost = true;
        onSessionLost();
      }
    }
  }

  return {
    request,
    get: (path, query) => request("GET", path, { query }),
    list: (path) => request("GET", path, { query: { list: "true" } }),
    post: (path, body) => request("POST", path, { body: body ?? {} }),
    put: (path, body) => request("PUT", path, { body: body ?? {} }),
    patch: (path, body) => request("PATCH", path, { body: body ?? {} }),
    del: (path) => request("DELETE", path),
  };
}
