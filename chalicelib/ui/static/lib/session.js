// The token lives in sessionStorage only: gone when the tab closes, never in a URL,
// never logged. Logging out forgets it (nothing is revoked, as in Vault's UI).
const TOKEN_KEY = "lambdavault.token";
const MESSAGE_KEY = "lambdavault.login-message";

export const token = () => sessionStorage.getItem(TOKEN_KEY);
export const forget = () => sessionStorage.removeItem(TOKEN_KEY);

export function remember(value) {
  sessionStorage.setItem(TOKEN_KEY, value);
  sessionStorage.removeItem(MESSAGE_KEY);
}

// Why the user is on the login page (an expired session, a failed OIDC callback): kept until
// the next login, so the login page shows it however often it is drawn.
export const leaveMessage = (text) => sessionStorage.setItem(MESSAGE_KEY, text);
export const loginMessage = () => sessionStorage.getItem(MESSAGE_KEY);
