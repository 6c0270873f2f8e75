import { execFile } from "node:child_process";
import type { Logger } from "../logger.js";

const NOTIFY_TIMEOUT_MS = 10_000;

/**
 * Tells systemd (Type=notify) that start-up is complete, so `systemctl start` returns only once
 * the daemon really runs, and fails when it exits first (a bad config). Node cannot send a unix
 * datagram, so systemd-notify sends it; by default it waits for systemd to have processed the
 * message (a barrier), without which systemd may drop a message whose sender has already exited
 * (the unit needs NotifyAccess=all, as the message does not come from the main process).
 * Nothing happens outside systemd (no NOTIFY_SOCKET). Never throws.
 */
export function notifyReady(status: string, logger: Logger, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (!env.NOTIFY_SOCKET) return Promise.resolve();
  return new Promise((resolve) => {
    execFile("systemd-notify", ["--ready", `--status=${status}`], { env, timeout: NOTIFY_TIMEOUT_MS }, (error, _stdout, stderr) => {
      if (error) {
        logger.warn(
          { err: error, stderr: stderr.trim() || undefined },
          "could not tell systemd that jobclock is ready (systemd-notify failed); the unit needs NotifyAccess=all, and systemd-notify installed",
        );
      }
      resolve();
    });
  });
}
