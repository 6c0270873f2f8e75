import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import type { ReadModel } from "../store/types.js";
import { detectSupervisor, supervisorCommand } from "./supervisor.js";

/**
 * Which supervisor runs (or last ran) the daemon on this host: the store's latest instance of
 * this host says it, even after `supervisorctl stop`; for a live pid, its environment says it
 * too (when the store cannot be read). Null when it was started by hand.
 */
export async function supervisorOnThisHost(store: Pick<ReadModel, "listInstances"> | null, pid: number | null): Promise<string | null> {
  if (store) {
    try {
      const host = hostname();
      const mine = (await store.listInstances()).filter((i) => i.host === host);
      const instance = (pid !== null ? mine.find((i) => i.pid === pid && i.stoppedAt === null) : undefined)
        ?? mine.sort((a, b) => b.startedAt - a.startedAt)[0];
      if (instance) return instance.supervisor ?? null;
    } catch {
      // an unreadable store: fall back on the process itself
    }
  }
  return pid !== null ? supervisorOfProcess(pid) : null;
}

function supervisorOfProcess(pid: number): string | null {
  try {
    const env: NodeJS.ProcessEnv = {};
    for (const entry of readFileSync(`/proc/${pid}/environ`, "utf8").split("\0")) {
      const i = entry.indexOf("=");
      if (i > 0) env[entry.slice(0, i)] = entry.slice(i + 1);
    }
    return detectSupervisor(env, () => readFileSync(`/proc/${pid}/cgroup`, "utf8"));
  } catch {
    return null;
  }
}

/** The refusal of `jobclock stop|start|restart` for a supervised daemon, with the command to use. */
export function supervisedRefusal(supervisor: string, verb: "stop" | "start" | "restart", running: boolean): string {
  const command = supervisorCommand(supervisor, verb);
  const kind = supervisor.startsWith("systemd:") ? "systemd" : "supervisord";
  const state = running ? "runs" : "last ran";
  const why = verb === "start"
    ? `a daemon started here would run outside ${kind}, as the user you are, and ${kind} would not restart it`
    : `stopping it here leaves ${kind} believing it crashed or exited`;
  return `jobclock ${state} under ${kind}: use \`${command}\` (${why}). ` +
    `To ${verb} it by hand anyway: \`jobclock ${verb} --force\``;
}
