import { watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";

// Our own writes touch the files too (heartbeats; a thousand runs a second under load): the
// first event is checked at once, and further events within this long become one more check at
// its end. The check itself is cheap (it asks SQLite whether another connection committed).
const COALESCE_MS = 50;

/**
 * Tells when the database or its WAL changed on disk (inotify on Linux), so that a `jobclock
 * pause` from the CLI reaches the daemon in milliseconds, and an idle daemon does not have to
 * wake every second to ask. Throws where the platform cannot watch; the engine then polls.
 * No timer for a lone event: at idle each heartbeat's own write is one wakeup, not two.
 */
export function watchDatabase(path: string, onChange: () => void): () => Promise<void> {
  const name = basename(path);
  let lastCheck = -Infinity;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const check = () => {
    timer = null;
    lastCheck = performance.now();
    onChange();
  };
  const watcher: FSWatcher = watch(dirname(path), { persistent: false }, (_event, file) => {
    if (file !== null && !String(file).startsWith(name)) return; // another file in the folder
    if (timer) return;
    const since = performance.now() - lastCheck;
    if (since >= COALESCE_MS) return check();
    timer = setTimeout(check, COALESCE_MS - since);
    timer.unref();
  });
  watcher.on("error", () => watcher.close()); // the folder went away: the fallback poll remains
  return async () => {
    if (timer) clearTimeout(timer);
    watcher.close();
  };
}
