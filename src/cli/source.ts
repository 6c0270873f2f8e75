import { hostname, userInfo } from "node:os";

// What sudo writes: a login name (POSIX portable characters; Samba/AD names may end in "$").
const USER_CHARS = /[^A-Za-z0-9._$-]/g;
const MAX_USER_LENGTH = 32;

/**
 * Where a CLI change comes from, as every daemon logs it: `cli alice@web1`, and through sudo
 * `cli root@web1 (sudo from alice)`, so the log answers "who paused this?".
 */
export function cliSource(env: NodeJS.ProcessEnv = process.env, uid: number | undefined = process.getuid?.()): string {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    user = `uid ${uid ?? "?"}`; // a uid without a passwd entry (containers)
  }
  const from = sudoUser(env, uid);
  const sudo = from && from !== user ? ` (sudo from ${from})` : "";
  return `cli ${user}@${hostname()}${sudo}`;
}

/**
 * SUDO_USER is any user's to set, so it is believed only as root (sudo sets it when it makes us
 * root), and cut to what a user name may hold: it ends up in the daemon's log, where a newline
 * in it once started a forged line.
 */
function sudoUser(env: NodeJS.ProcessEnv, uid: number | undefined): string | null {
  if (uid !== 0 || !env.SUDO_USER) return null;
  const name = env.SUDO_USER.replace(USER_CHARS, "").slice(0, MAX_USER_LENGTH);
  return name === "" ? null : name;
}
