import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CLI } from "../helpers/cli.js";
import { waitFor } from "../helpers/engine-harness.js";

export const REPO = resolve(fileURLToPath(import.meta.url), "../../..");
export const SUPERVISORD = "/usr/bin/supervisord";

/** The shipped program section, with its install paths pointed at this checkout and a temp folder. */
export function renderProgram(dir: string, user: string): string {
  return readFileSync(join(REPO, "deploy/supervisord/jobclock.conf"), "utf8")
    .replaceAll("/usr/bin/node", process.execPath)
    .replaceAll("/opt/jobclock/dist/cli/main.js", CLI)
    .replaceAll("/opt/jobclock", REPO)
    .replaceAll("/etc/jobclock/jobclock.yaml", join(dir, "jobclock.yaml"))
    .replaceAll("/var/log/jobclock", join(dir, "logs"))
    .replace(/^user=jobclock$/m, `user=${user}`);
}

/** A real supervisord (running as this user) with its config, socket and logs in `dir`. */
export class Supervisord {
  readonly conf: string;

  constructor(private readonly dir: string, program: string, user: string) {
    this.conf = join(dir, "supervisord.conf");
    writeFileSync(this.conf, [
      "[unix_http_server]", `file=${dir}/supervisor.sock`, "",
      "[supervisord]", `logfile=${dir}/supervisord.log`, `pidfile=${dir}/supervisord.pid`, `childlogdir=${dir}`, `user=${user}`, "",
      "[rpcinterface:supervisor]", "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface", "",
      "[supervisorctl]", `serverurl=unix://${dir}/supervisor.sock`, "",
      program,
    ].join("\n"));
  }

  start(): void {
    execFileSync(SUPERVISORD, ["-c", this.conf]);
  }

  ctl(...args: string[]): string {
    try {
      return execFileSync("supervisorctl", ["-c", this.conf, ...args], { encoding: "utf8" });
    } catch (error) {
      return String((error as { stdout?: string }).stdout ?? "");
    }
  }

  running(program = "jobclock"): boolean {
    return new RegExp(`${program}\\s+RUNNING`).test(this.ctl("status", program));
  }

  pid(program = "jobclock"): number {
    return Number(this.ctl("pid", program).trim());
  }

  /** `supervisorctl shutdown`, waiting for supervisord (and so its programs) to be gone. */
  async shutdown(): Promise<void> {
    this.ctl("shutdown");
    await waitFor("supervisord to exit", () => !existsSync(join(this.dir, "supervisord.pid")), 60_000);
  }
}
