import { execFileSync, spawnSync } from "node:child_process";

/**
 * Tests that need root (a real service user, a tmpfs, another user's process). CI runs as root
 * (CI=true): there, not being root is an error, never a skip. Elsewhere the test is skipped
 * after saying why.
 */
export function isRoot(what: string): boolean {
  if (process.geteuid?.() === 0) return true;
  if (process.env.CI === "true") throw new Error(`${what} needs root, and CI runs as root`);
  console.warn(`skipping: ${what} needs root (a real service user); run the tests as root to include it`);
  return false;
}

export interface ServiceUser {
  name: string;
  uid: number;
  gid: number;
  /** Removes the user if this call created it. */
  remove(): void;
}

/**
 * A system user as the docs create it (no login shell). Made if missing; `useradd` is retried
 * while another test holds the passwd lock (it exits 10 then).
 */
export function serviceUser(name: string): ServiceUser {
  let created = false;
  if (spawnSync("id", ["-u", name]).status !== 0) {
    for (let attempt = 0; ; attempt++) {
      const r = spawnSync("useradd", ["--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", name], { encoding: "utf8" });
      if (r.status === 0 || r.status === 9) break; // 9: made meanwhile
      if (attempt >= 20) throw new Error(`useradd ${name} failed: ${r.stderr}`);
      execFileSync("sleep", ["0.2"]);
    }
    created = true;
  }
  const uid = Number(execFileSync("id", ["-u", name], { encoding: "utf8" }).trim());
  const gid = Number(execFileSync("id", ["-g", name], { encoding: "utf8" }).trim());
  return {
    name, uid, gid,
    remove() {
      if (!created) return;
      for (let attempt = 0; attempt < 20; attempt++) {
        const r = spawnSync("userdel", [name]);
        if (r.status === 0 || r.status === 6) return; // 6: no such user
        execFileSync("sleep", ["0.2"]);
      }
    },
  };
}
