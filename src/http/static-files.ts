import { readFileSync, readdirSync } from "node:fs";
import { extname, join } from "node:path";
import type { ServerResponse } from "node:http";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

// The dashboard is plain files: nothing is built at run time, and nothing from elsewhere loads.
const SECURITY_HEADERS = {
  "content-security-policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

/** The dashboard's files, read once: `/` is index.html, the rest are under `/assets/`. */
export class StaticFiles {
  private readonly files = new Map<string, { body: Buffer; type: string }>();

  constructor(dir: string) {
    for (const name of readdirSync(dir)) {
      const type = TYPES[extname(name)];
      if (type) this.files.set(name === "index.html" ? "/" : `/assets/${name}`, { body: readFileSync(join(dir, name)), type });
    }
  }

  /** Serves the file for this path; false if there is none. */
  serve(pathname: string, res: ServerResponse, headOnly: boolean): boolean {
    const file = this.files.get(pathname);
    if (!file) return false;
    res.writeHead(200, { "content-type": file.type, "content-length": file.body.length, "cache-control": "no-cache", ...SECURITY_HEADERS });
    res.end(headOnly ? undefined : file.body);
    return true;
  }
}
