import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { tempDir } from "../helpers/spec.js";
import { hasTool } from "../helpers/tools.js";

const REPO = resolve(fileURLToPath(import.meta.url), "../../..");
const read = (path: string) => readFileSync(join(REPO, path), "utf8");
const DEFAULT_DRAIN_S = 30 + 10; // shutdown_timeout + kill_grace defaults

/** key=value pairs of an INI section, comments and blank lines dropped. */
function iniSection(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([a-z_]+)\s*=\s*(.*)$/.exec(line.trim());
    if (m && !line.trim().startsWith(";")) out[m[1]!] = m[2]!.trim();
  }
  const header = /^\[(program:[^\]]+)\]/m.exec(text);
  if (header) out.__section = header[1]!;
  return out;
}

function renderJinja(template: string, vars: Record<string, unknown>): string {
  const script = "import sys, json, jinja2; t = jinja2.Template(sys.stdin.read().split('\\0')[0], keep_trailing_newline=True); print(t.render(**json.loads(sys.argv[1])), end='')";
  return execFileSync("/usr/bin/python3", ["-c", script, JSON.stringify(vars)], { input: template, encoding: "utf8" });
}

describe("supervisord program section", () => {
  const conf = iniSection(read("deploy/supervisord/jobclock.conf"));

  it("runs jobclock in the foreground and stops it gently, with its whole process group", () => {
    expect(conf.__section).toBe("program:jobclock");
    expect(conf.command).toMatch(/ run --config /);
    expect(conf.stopsignal).toBe("TERM");
    expect(Number(conf.stopwaitsecs)).toBeGreaterThan(DEFAULT_DRAIN_S);
    expect(conf.stopasgroup).toBe("true");
    expect(conf.killasgroup).toBe("true");
    expect(conf.autorestart).toBe("unexpected");
    expect(conf.user).toBe("jobclock");
    expect(conf.stdout_logfile).toMatch(/^\/var\/log\/jobclock\//);
  });
});

describe.skipIf(!hasTool("/usr/lib/python3/dist-packages/jinja2/__init__.py", "apt-get install python3-jinja2"))("Ansible template", () => {
  const template = read("deploy/ansible/templates/supervisord.conf.j2");

  it("renders, with its defaults, to the same settings as the plain file", () => {
    expect(iniSection(renderJinja(template, {}))).toEqual(iniSection(read("deploy/supervisord/jobclock.conf")));
  });

  it("takes its documented variables", () => {
    const out = iniSection(renderJinja(template, {
      jobclock_program: "scheduler", jobclock_user: "svc", jobclock_home: "/srv/jc", jobclock_config: "/srv/jc/jc.yaml",
      jobclock_stopwaitsecs: 120, jobclock_user_home: "/home/svc", jobclock_env: { EXTRA: "x", A: "1" },
    }));
    expect(out).toMatchObject({
      __section: "program:scheduler", user: "svc", directory: "/srv/jc", stopwaitsecs: "120",
      command: "/usr/bin/node /srv/jc/dist/cli/main.js run --config /srv/jc/jc.yaml",
      // supervisord's user= leaves root's HOME: the jobs get the service user's.
      environment: 'NODE_ENV="production",HOME="/home/svc",USER="svc",LOGNAME="svc",A="1",EXTRA="x"',
    });
    for (const name of ["jobclock_program", "jobclock_user", "jobclock_user_home", "jobclock_home", "jobclock_node", "jobclock_config", "jobclock_log_dir", "jobclock_stopwaitsecs", "jobclock_env"]) {
      expect(template.split("#}")[0]).toContain(name); // documented at the top
    }
  });
});

describe("systemd unit", () => {
  const unit = read("deploy/systemd/jobclock.service");

  it("restarts on failure, drains on stop, and is hardened without breaking jobs", () => {
    expect(unit).toMatch(/^ExecStart=\S+ \S+\/dist\/cli\/main\.js run --config \S+$/m);
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).toMatch(/^KillMode=mixed$/m);
    expect(Number(/^TimeoutStopSec=(\d+)$/m.exec(unit)?.[1])).toBeGreaterThan(DEFAULT_DRAIN_S);
    expect(unit).toMatch(/^NoNewPrivileges=true$/m);
  });

  it("is ready only once jobclock says so, and a reload fails when the config is refused", () => {
    // Type=simple made `systemctl start` succeed on a bad config, and `kill -HUP` made
    // `systemctl reload` succeed whatever the daemon thought of the new config.
    expect(unit).toMatch(/^Type=notify$/m);
    expect(unit).toMatch(/^NotifyAccess=all$/m); // systemd-notify, a child, sends READY=1
    expect(unit).toMatch(/^ExecReload=\S+ \S+\/dist\/cli\/main\.js reload --config \S+$/m);
    expect(unit).not.toMatch(/kill -HUP/);
  });

  it("lets jobs write only to its own folders and a private /tmp, and says so", () => {
    // ProtectSystem=full left jobs able to write almost anywhere (ReadWritePaths then meant nothing).
    expect(unit).toMatch(/^ProtectSystem=strict$/m);
    expect(unit).toMatch(/^PrivateTmp=true$/m);
    expect(unit).toMatch(/^StateDirectory=jobclock$/m);
    expect(unit).toMatch(/^LogsDirectory=jobclock$/m);
    expect(unit).toMatch(/^RuntimeDirectory=jobclock$/m); // /run/jobclock is back after a reboot
    expect(unit).toMatch(/^# +ReadWritePaths=/m);
    expect(unit).toMatch(/NoNewPrivileges makes sudo .* fail/);
    expect(unit).toMatch(/After=.*postgresql\.service/);
    const ops = read("docs/operations.md");
    expect(ops).toMatch(/ProtectSystem=strict/);
    expect(ops).toMatch(/NoNewPrivileges/);
    expect(ops).toMatch(/After=postgresql\.service/);
    expect(ops).toMatch(/KillMode=mixed/);
  });

  it.skipIf(!hasTool("/usr/bin/systemd-analyze", "apt-get install systemd"))("passes systemd-analyze verify (and the check catches a broken unit)", () => {
    const dir = tempDir();
    copyFileSync(join(REPO, "deploy/systemd/jobclock.service"), join(dir, "jobclock.service"));
    const good = spawnSync("systemd-analyze", ["verify", join(dir, "jobclock.service")], { encoding: "utf8" });
    expect(good.status, good.stderr).toBe(0);
    expect(good.stderr).toBe("");
    writeFileSync(join(dir, "broken.service"), unit.replace("ExecStart=/usr/bin/node", "ExecStart=node-without-a-path"));
    const bad = spawnSync("systemd-analyze", ["verify", join(dir, "broken.service")], { encoding: "utf8" });
    expect(bad.status).not.toBe(0);
  });
});

describe("supervisord install recipe", () => {
  it("builds with the dev dependencies, then prunes them (`npm ci --omit=dev` has no tsc)", () => {
    const conf = read("deploy/supervisord/jobclock.conf");
    expect(conf).toContain("npm ci && npm run build && npm prune --omit=dev");
    expect(conf).not.toMatch(/npm ci --omit=dev/);
    expect(read("docs/operations.md")).toContain("npm ci && sudo npm run build && sudo npm prune --omit=dev");
  });

  it("gives the service user no login shell", () => {
    expect(read("docs/operations.md")).toMatch(/useradd --system .*--shell \/usr\/sbin\/nologin .*jobclock/);
  });

  it("ships a tmpfiles.d entry that recreates /run/jobclock at boot, and the docs install it", () => {
    expect(read("deploy/tmpfiles.d/jobclock.conf")).toMatch(/^d\s+\/run\/jobclock\s+0755\s+jobclock\s+jobclock\s+-$/m);
    expect(read("docs/operations.md")).toMatch(/deploy\/tmpfiles\.d\/jobclock\.conf \/etc\/tmpfiles\.d\//);
  });

  it("has no stray files at the repository's root", () => {
    expect(existsSync(join(REPO, "spawn.mjs"))).toBe(false);
  });
});

describe("container files (not run in CI: no Docker engine)", () => {
  it("Dockerfile: multi-stage, non-root, volumes, jobclock run as the entry point", () => {
    const df = read("deploy/docker/Dockerfile");
    expect(df.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(df).toMatch(/^USER jobclock$/m);
    expect(df).toMatch(/^VOLUME \["\/var\/lib\/jobclock", "\/var\/log\/jobclock"\]$/m);
    expect(df).toMatch(/^ENTRYPOINT \["node", "\/opt\/jobclock\/dist\/cli\/main\.js"\]$/m);
    expect(df).toMatch(/^CMD \["run"\]$/m);
  });

  it("compose.yaml: SQLite by default, PostgreSQL behind a profile, a stop grace above the drain", () => {
    const compose = parse(read("compose.yaml")) as { services: Record<string, { profiles?: string[]; stop_grace_period?: string; environment?: Record<string, string> }> };
    expect(compose.services.jobclock!.profiles).toBeUndefined();
    expect(compose.services["jobclock-pg"]!.profiles).toEqual(["postgres"]);
    expect(compose.services["jobclock-pg"]!.environment!.JOBCLOCK_STORE).toMatch(/^postgres:\/\//);
    expect(compose.services.postgres!.profiles).toEqual(["postgres"]);
    expect(parseInt(compose.services.jobclock!.stop_grace_period!)).toBeGreaterThan(DEFAULT_DRAIN_S);
  });

  it("the container's config is valid", () => {
    const out = spawnSync(process.execPath, [join(REPO, "dist/cli/main.js"), "--config", join(REPO, "deploy/docker/jobclock.yaml"), "validate"], { encoding: "utf8" });
    expect(out.status, out.stderr).toBe(0);
  });
});
