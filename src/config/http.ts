import { isIP } from "node:net";
import { controlCharacterIn } from "./env-values.js";

/** The daemon's HTTP server (API, dashboard, /metrics), resolved from `http:` in the config. */
export interface HttpConfig {
  host: string;
  port: number;
  /** Bearer token for mutating routes (and every read, off loopback); null: none. */
  token: string | null;
  /** Bound to a loopback address: only this machine can reach it. */
  loopback: boolean;
}

export const DEFAULT_HTTP_LISTEN = "127.0.0.1:7420";
const MIN_TOKEN_LENGTH = 16;

/**
 * `http:` is on by default, on loopback. `false` turns it off. `listen` is `host:port`,
 * `[v6]:port`, or a bare port (loopback). A non-loopback address needs a token: the API can
 * pause and trigger jobs, and shows their output.
 */
export function resolveHttp(
  raw: false | { listen?: string; token?: string } | undefined,
  problems: string[],
): HttpConfig | null {
  if (raw === false) return null;
  const listen = raw?.listen ?? DEFAULT_HTTP_LISTEN;
  const parsed = parseListen(listen);
  if (!parsed) {
    problems.push(`http.listen: "${listen}" is not host:port (examples: 127.0.0.1:7420, [::1]:7420, 0.0.0.0:7420, 7420)`);
    return null;
  }
  const token = raw?.token ?? null;
  const unusable = token === null ? null : tokenProblem(token);
  if (unusable) {
    problems.push(`http.token: ${unusable}`);
  } else if (token !== null && token.length < MIN_TOKEN_LENGTH) {
    problems.push(`http.token: is too short (at least ${MIN_TOKEN_LENGTH} characters; use a random secret from the environment, e.g. \${JOBCLOCK_HTTP_TOKEN})`);
  }
  const loopback = isLoopback(parsed.host);
  if (!loopback && token === null) {
    problems.push(`http.listen: ${listen} is reachable from other machines; set http.token (a random secret, e.g. \${JOBCLOCK_HTTP_TOKEN}) or listen on 127.0.0.1`);
  }
  return { ...parsed, token, loopback };
}

/**
 * A token with whitespace around it (a value read from a file keeps its newline) or a control
 * character inside could never match what a client sends in its Authorization header: every
 * request would be refused as unauthorised, with nothing saying why. Said without the token.
 */
function tokenProblem(token: string): string | null {
  if (token !== token.trim()) {
    return "starts or ends with whitespace or a line break (often left by reading it from a file), so no request could ever match it; remove it (e.g. TOKEN=$(tr -d '[:space:]' < file))";
  }
  const control = controlCharacterIn(token);
  return control ? `contains ${control}, which no request header can carry; use a random token of letters and digits` : null;
}

function parseListen(text: string): { host: string; port: number } | null {
  const t = text.trim();
  const bare = /^(\d{1,5})$/.exec(t);
  const v6 = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(t);
  const named = /^([^:[\]\s]+):(\d{1,5})$/.exec(t);
  const [host, port] = bare ? ["127.0.0.1", bare[1]!] : v6 && isIP(v6[1]!) === 6 ? [v6[1]!, v6[2]!] : named ? [named[1]!, named[2]!] : [null, null];
  if (host === null || Number(port) > 65_535) return null;
  return { host, port: Number(port) };
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
