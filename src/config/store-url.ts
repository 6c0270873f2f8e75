import { statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";

const STORE_EXAMPLES = "sqlite:./data/jobclock.db or postgres://user@host:5432/db";

/**
 * `sqlite:PATH` (relative to the config's folder) or `postgres://…`. URL schemes are
 * case-insensitive (RFC 3986), so `POSTGRES://` and `SQLite:` are accepted and written in lower
 * case. Every problem message shows the URL redacted.
 */
export function resolveStoreUrl(written: string, baseDir: string, problems: string[]): string {
  // Whitespace around a URL (a tab pasted in, `JOBCLOCK_STORE=' postgres://…'`) is a mistake,
  // never part of it; left in, it made the URL unrecognisable, and so unredacted, everywhere.
  const url = written.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === "sqlite") {
    const path = url.slice("sqlite:".length);
    if (!path) {
      problems.push('store: "sqlite:" needs a file path, e.g. sqlite:./data/jobclock.db');
      return "sqlite:";
    }
    if (path === ":memory:") return "sqlite::memory:";
    const absolute = isAbsolute(path) ? path : resolve(baseDir, path);
    const folder = sqliteFolderProblem(absolute, /[/\\]$/.test(path));
    if (folder) problems.push(folder);
    return `sqlite:${absolute}`;
  }
  if ((scheme === "postgres" || scheme === "postgresql") && url.startsWith("://", scheme.length)) {
    const normal = scheme + url.slice(scheme.length);
    if (!URL.canParse(normal)) {
      problems.push(
        `store: "${redactStoreUrl(url)}" is not a valid PostgreSQL URL; check the host and port, and percent-encode ` +
          "special characters in the user and password (/ as %2F, ? as %3F, # as %23, @ as %40)",
      );
    } else {
      const badEscape = badPercentEscape(new URL(normal));
      if (badEscape) problems.push(`store: "${redactStoreUrl(url)}": ${badEscape}`);
    }
    return normal;
  }
  problems.push(`store: "${redactStoreUrl(url)}" is not a store URL (${STORE_EXAMPLES})`);
  return url;
}

/**
 * A store path that is a folder (or written as one, with a trailing slash) would fail later as a
 * bare EISDIR or "unable to open database file"; say what to write instead. Shared with openStore.
 */
export function sqliteFolderProblem(path: string, writtenAsFolder = false): string | null {
  let isFolder = writtenAsFolder;
  try {
    isFolder ||= statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
  } catch {
    // Unreadable parent folder: opening the store reports it with the path and the fix.
  }
  return isFolder ? `store: ${path} is a folder; give a file path such as ${join(path, "jobclock.db")}` : null;
}

/**
 * The driver decodes the user, the password and the host with decodeURIComponent, which throws on
 * a `%` not followed by two hex digits (`URIError: URI malformed` at `reload`): a config problem.
 */
export function badPercentEscape(url: URL): string | null {
  for (const [part, what] of [["username", "user"], ["password", "password"], ["host", "host"]] as const) {
    try {
      decodeURIComponent(url[part]);
    } catch {
      return `the ${what} has a "%" that is not followed by two hex digits; write a literal % as %25`;
    }
  }
  return null;
}

const SCHEME = /^([a-z][a-z0-9+.-]*:)(\/\/)?/i;
// A scheme with "//" anywhere, for text in which the URL does not come first.
const SCHEME_INSIDE = /[a-z][a-z0-9+.-]*:\/\//i;
// Query parameters that carry credentials: the postgres driver, for one, reads `password=`.
const SECRET_PARAM = /pass|pwd|secret|token|key|auth|credential/i;

/**
 * Any URL with credentials, in the form safe to log or print: the password (everything between
 * the user and the last `@`, so an unencoded `@`, `/` or `:` in it cannot show through) and the
 * value of every credential-like query parameter become `***`. Works on any scheme, in any case,
 * with whitespace or other text before the URL, and on strings that are not valid URLs at all
 * (everything after `scheme://user:` is hidden): when in doubt it hides more, never less.
 */
export function redactUrl(url: string): string {
  const lead = /^\s*/.exec(url)![0];
  const m = SCHEME.exec(url.slice(lead.length));
  if (!m) return redactInside(url);
  const prefix = lead + m[0];
  const rest = url.slice(prefix.length);
  if (m[1]!.toLowerCase() === "sqlite:") return url; // a file path, never a credential
  if (m[2] && !URL.canParse(url.trim())) return prefix + redactUnparsable(rest);
  const at = rest.lastIndexOf("@");
  let tail = rest;
  let auth = "";
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    const colon = userinfo.indexOf(":");
    if (colon >= 0 || !m[2]) {
      // Without "//" (mysql:u:pw@h) the whole part before the last @ may be the secret.
      auth = m[2] ? `${userinfo.slice(0, colon)}:***@` : "***@";
      tail = rest.slice(at + 1);
    }
  }
  return prefix + auth + redactQuery(tail);
}

/**
 * After `scheme://` of a URL that does not parse, the parts cannot be told apart for sure: with
 * an `@`, all before the last one but the user is hidden; without one, everything after
 * `user:` (`postgres://u:S3CRET.host/db`, a mistyped `@`, must not show its password).
 */
function redactUnparsable(rest: string): string {
  const at = rest.lastIndexOf("@");
  const colon = rest.indexOf(":");
  if (at >= 0) return `${colon >= 0 && colon < at ? `${rest.slice(0, colon)}:` : ""}***@${redactQuery(rest.slice(at + 1))}`;
  return colon >= 0 ? `${rest.slice(0, colon)}:***` : rest;
}

/** Text that does not start with a URL: a URL inside it is redacted; without one, a userinfo-like `…@` is hidden. */
function redactInside(text: string): string {
  const inside = SCHEME_INSIDE.exec(text);
  if (inside) return text.slice(0, inside.index) + redactUrl(text.slice(inside.index));
  const at = text.lastIndexOf("@");
  return at >= 0 && text.slice(0, at).includes(":") ? `***@${text.slice(at + 1)}` : text;
}

/** Store URLs may carry a password; logs, errors and status output use this form. */
export const redactStoreUrl = redactUrl;

function redactQuery(tail: string): string {
  const q = tail.indexOf("?");
  if (q < 0) return tail;
  const hash = tail.indexOf("#", q);
  const query = tail.slice(q + 1, hash < 0 ? undefined : hash);
  const redacted = query
    .split("&")
    .map((pair) => {
      const eq = pair.indexOf("=");
      if (eq < 0) return pair;
      let name = pair.slice(0, eq);
      try {
        name = decodeURIComponent(name);
      } catch {
        // a malformed escape: judge the name as written
      }
      return SECRET_PARAM.test(name) ? `${pair.slice(0, eq)}=***` : pair;
    })
    .join("&");
  return `${tail.slice(0, q + 1)}${redacted}${hash < 0 ? "" : tail.slice(hash)}`;
}
