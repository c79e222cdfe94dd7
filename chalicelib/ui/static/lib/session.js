// The token lives in sessionStorage only: gone when the tab closes, never in a URL,
// never logged. Logging out forgets it (nothing is revoked, as in Vault's UI).
const TOKEN_KEY = "lambdavault.token";
const MESSAGE_KEY = "lambdavault.login-message";

export const token = () => sessionStorage.getItem(TOKEN_KEY);
export const remember = (value) => sessionStorage.setItem(TOKEN_KEY, value);
export const forget = () => sessionStorage.removeItem(TOKEN_KEY);

// A message for the login page (why the user is back there), shown once.
export function leaveMessage(text) {
  sessionStorage.setItem(MESSAGE_KEY, text);
}

export function takeMessage() {
  const text = sessionStorage.getItem(MESSAGE_KEY);
  sessionStorage.removeItem(MESSAGE_KEY);
  return text;
}
