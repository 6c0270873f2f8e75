import { hostname, userInfo } from "node:os";

/**
 * Where a CLI change comes from, as every daemon logs it: `cli alice@web1`, and through sudo
 * `cli root@web1 (sudo from alice)`, so the log answers "who paused this?".
 */
export function cliSource(env: NodeJS.ProcessEnv = process.env): string {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    user = `uid ${process.getuid?.() ?? "?"}`; // a uid without a passwd entry (containers)
  }
  const sudo = env.SUDO_USER && env.SUDO_USER !== user ? ` (sudo from ${env.SUDO_USER})` : "";
  return `cli ${user}@${hostname()}${sudo}`;
}
