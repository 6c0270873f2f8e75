import { isAbsolute, resolve } from "node:path";

/** `sqlite:PATH` (relative to the config's folder) or `postgres://…`. */
export function resolveStoreUrl(url: string, baseDir: string, problems: string[]): string {
  if (url.startsWith("sqlite:")) {
    const path = url.slice("sqlite:".length);
    if (!path) problems.push('store: "sqlite:" needs a file path, e.g. sqlite:./data/jobclock.db');
    return path === ":memory:" || isAbsolute(path) ? url : `sqlite:${resolve(baseDir, path)}`;
  }
  if (/^postgres(ql)?:\/\//.test(url)) return url;
  problems.push(`store: "${redactStoreUrl(url)}" is not a store URL (sqlite:./data/jobclock.db or postgres://user@host:5432/db)`);
  return url;
}

/** Store URLs may carry a password; logs and status output use this form. */
export function redactStoreUrl(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:/@]+):[^@]*@/, "$1:***@");
}
