// postinstall: patches the PostgreSQL driver (postgres 3.4.9) for an upstream bug that crashes
// the process when a connection closes while a small write waits for its setImmediate
// (porsager/postgres#1154, #1208; fixes proposed in #1168, #1176, #1209, none released):
// `nextWrite` calls `socket.write` on the null socket of a closed connection, from a timer, so
// no caller can catch it; and the close leaves `nextWriteTimer` set, so the connection never
// writes again after it reconnects. jobclock's daemon must survive a database outage.
// Idempotent; says so and changes nothing when the driver is not the version it was written for.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const MARK = "jobclock patch: porsager/postgres#1154";
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "node_modules", "postgres");
const VERSION = "3.4.9";

const GUARD = `  function nextWrite(fn) {
    if (!socket) { // ${MARK}: closed since this write was scheduled
      chunk = nextWriteTimer = null
      error(Errors.connection('CONNECTION_CLOSED', options))
      return false
    }
`;

export function patch(text) {
  if (text.includes(MARK)) return text;
  const before = "  function nextWrite(fn) {\n";
  const clear = "    clearImmediate(nextWriteTimer)\n";
  if (!text.includes(before) || text.split(clear).length !== 3) return null;
  // Both teardowns (terminate and closed) forget the timer and the bytes meant for the old socket.
  return text.replace(before, GUARD).replaceAll(clear, `${clear}    nextWriteTimer = null // ${MARK}\n    chunk = null\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (!existsSync(join(root, "package.json"))) process.exit(0); // not installed (yet)
  const version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;
  if (version !== VERSION) {
    console.warn(`jobclock: postgres ${version} is not ${VERSION}; the patch for porsager/postgres#1154 was not applied (check whether ${version} fixes it)`);
    process.exit(0);
  }
  for (const file of ["src/connection.js", "cjs/src/connection.js", "cf/src/connection.js"]) {
    const path = join(root, file);
    if (!existsSync(path)) continue;
    const patched = patch(readFileSync(path, "utf8"));
    if (patched === null) {
      console.warn(`jobclock: ${path} is not as expected; the patch for porsager/postgres#1154 was not applied`);
      continue;
    }
    writeFileSync(path, patched);
  }
}
