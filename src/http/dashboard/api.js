// The dashboard's only way to the daemon: /api/v1, same origin, JSON, with the saved token.

const TOKEN_KEY = "jobclock.token";
const TIMEOUT_MS = 8000;

/** The daemon answered with an error ({ error: { code, message } }). */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** No answer at all (daemon stopped, network down, or a proxy with nothing behind it). */
export class Unreachable extends Error {}

// localStorage can throw (disabled storage, some private modes): then there is simply no token.
export function getToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) ?? "";
  } catch {
    return "";
  }
}

export function setToken(token) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // Nothing to do: the token then lasts until the page is reloaded at most.
  }
}

/** GET (or POST with an empty JSON object) /api/v1<path>; resolves to the parsed body. */
export async function api(path, { method = "GET" } = {}) {
  const headers = { accept: "application/json" };
  const token = getToken();
  if (token) headers.authorization = `Bearer ${token}`;
  const init = { method, headers, cache: "no-store", signal: AbortSignal.timeout(TIMEOUT_MS) };
  if (method === "POST") {
    headers["content-type"] = "application/json";
    init.body = "{}";
  }
  let response;
  try {
    response = await fetch(`/api/v1${path}`, init);
  } catch (error) {
    throw new Unreachable(error instanceof Error ? error.message : String(error));
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (response.ok && body !== null) return body;
  // A gateway error without our JSON means nothing is listening behind the proxy.
  if (body === null && response.status >= 502) throw new Unreachable(`HTTP ${response.status}`);
  const error = body?.error;
  throw new ApiError(response.status, error?.code ?? "HTTP", error?.message ?? `HTTP ${response.status} ${response.statusText}`);
}

/** What to tell a person about a failed request. */
export function describeError(error) {
  if (error instanceof Unreachable) return "The jobclock daemon cannot be reached.";
  if (error instanceof ApiError && error.status === 401) {
    return getToken() ? "The saved token was refused: it is wrong or has changed." : "This needs the API token: enter it with “Set token” at the top.";
  }
  return error instanceof Error ? error.message : String(error);
}
