import { formatDuration } from "../schedule/duration.js";
import type { AttemptRequest } from "./types.js";

export type StopCause = { status: "timed_out" | "cancelled"; message: string };

/**
 * Calls `onStop` once, when the attempt's timeout expires or its run is cancelled, whichever
 * comes first. Returns a disposer for when the attempt ends by itself.
 */
export function watchDeadline(req: AttemptRequest, onStop: (cause: StopCause) => void): () => void {
  let fired = false;
  const fire = (cause: StopCause) => {
    if (fired) return;
    fired = true;
    onStop(cause);
  };
  const stopListening = req.cancel.onCancel((reason) => fire({ status: "cancelled", message: reason.message }));
  const timeoutMs = req.spec.timeoutMs;
  const timer =
    timeoutMs !== null
      ? req.clock.setTimeout(
          () => fire({ status: "timed_out", message: `timed out after ${formatDuration(timeoutMs)}` }),
          timeoutMs,
        )
      : null;
  return () => {
    fired = true;
    if (timer) req.clock.clearTimeout(timer);
    stopListening();
  };
}
