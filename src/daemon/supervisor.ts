import { readFileSync } from "node:fs";

/**
 * Which supervisor runs this process, as recorded with the instance (so `start` and `stop` leave a supervised daemon to its supervisor):
 * `supervisord:PROGRAM` (supervisord sets SUPERVISOR_ENABLED and SUPERVISOR_PROCESS_NAME in its
 * children's environment), `systemd:UNIT` (systemd sets INVOCATION_ID for a service's
 * processes; the unit is the last part of the process's cgroup), or null.
 */
export function detectSupervisor(env: NodeJS.ProcessEnv = process.env, cgroup: () => string = readCgroup): string | null {
  if (env.SUPERVISOR_ENABLED && env.SUPERVISOR_PROCESS_NAME) {
    const group = env.SUPERVISOR_GROUP_NAME;
    // supervisorctl names a process of a group with more than one member GROUP:NAME.
    const name = group && group !== env.SUPERVISOR_PROCESS_NAME ? `${group}:${env.SUPERVISOR_PROCESS_NAME}` : env.SUPERVISOR_PROCESS_NAME;
    return `supervisord:${name}`;
  }
  if (env.INVOCATION_ID) {
    // Without a cgroup to read (unusual), it is still systemd's; the commands then say "UNIT".
    return `systemd:${unitFromCgroup(safe(cgroup)) ?? "UNIT"}`;
  }
  return null;
}

/** The variables through which a supervisor tells its children about itself. */
export const SUPERVISOR_VARIABLES = [
  "SUPERVISOR_ENABLED", "SUPERVISOR_PROCESS_NAME", "SUPERVISOR_GROUP_NAME", "SUPERVISOR_SERVER_URL",
  "INVOCATION_ID", "NOTIFY_SOCKET", "WATCHDOG_PID", "WATCHDOG_USEC", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES",
];

/** The environment without them: a daemon that `jobclock start` detaches is supervised by nobody. */
export function unsupervisedEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const name of SUPERVISOR_VARIABLES) delete out[name];
  return out;
}

/** The command that stops, starts or restarts a daemon under that supervisor. */
export function supervisorCommand(supervisor: string, verb: "stop" | "start" | "restart" | "status"): string {
  const [kind, name] = splitSupervisor(supervisor);
  return kind === "systemd" ? `systemctl ${verb} ${name}` : `supervisorctl ${verb} ${name}`;
}

/** "supervisord (program jobclock)", "systemd (unit jobclock.service)". */
export function describeSupervisor(supervisor: string): string {
  const [kind, name] = splitSupervisor(supervisor);
  return kind === "systemd" ? `systemd (unit ${name})` : `supervisord (program ${name})`;
}

function splitSupervisor(supervisor: string): [string, string] {
  const i = supervisor.indexOf(":");
  return [supervisor.slice(0, i), supervisor.slice(i + 1)];
}

/** "0::/system.slice/jobclock.service" → "jobclock.service"; a login session's scope is not a unit we can name. */
export function unitFromCgroup(text: string): string | null {
  for (const line of text.split("\n")) {
    const path = line.split(":").slice(2).join(":");
    const unit = path.split("/").reverse().find((part) => part.endsWith(".service"));
    if (unit) return unit;
  }
  return null;
}

function readCgroup(): string {
  return readFileSync("/proc/self/cgroup", "utf8");
}

function safe(read: () => string): string {
  try {
    return read();
  } catch {
    return "";
  }
}
