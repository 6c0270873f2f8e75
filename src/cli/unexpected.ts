/**
 * A user never sees a stack trace (it says nothing they can act on): jobclock's own errors are one clear message, and
 * an error nobody expected is one line saying what and where, so the report is still useful.
 * JOBCLOCK_DEBUG=1 (`debug`) gives the whole stack for a bug report.
 */
export function describeUnexpected(error: unknown, debug: boolean): string {
  const err = error instanceof Error ? error : new Error(String(error));
  if (debug) return `jobclock: unexpected error: ${err.stack ?? err.message}`;
  // The first frame in jobclock's own code says where to look.
  const frame = (err.stack ?? "").split("\n").slice(1)
    .map((line) => /(?:file:\/\/)?(\/[^()\s]+?:\d+):\d+\)?\s*$/.exec(line)?.[1])
    .find((location) => location !== undefined && !location.includes("/node_modules/"));
  const where = frame ? ` (at ${frame.replace(/^.*\/(dist|src)\//, "$1/")})` : "";
  const name = err.name && !err.message.startsWith(err.name) ? `${err.name}: ` : "";
  return `jobclock: unexpected error: ${name}${err.message.split("\n")[0]}${where}; set JOBCLOCK_DEBUG=1 to see the stack, and please report it`;
}
