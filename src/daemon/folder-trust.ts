import { realpathSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { userName } from "../os/users.js";

/** Not trusted: `ownerUid` is the folder's owner (null when it cannot be looked at), `why` says what is wrong. */
export type FolderTrust = { trusted: true } | { trusted: false; ownerUid: number | null; why: string };

/**
 * Whether FOLDER can only have been made for USER by a trusted party, so that a pidfile USER
 * wrote in it may be believed by others (root's `start` and `stop` for a daemon that runs as
 * the service user in /run/jobclock). Owning the folder is not enough: mallory can make
 * /tmp/jcm in world-writable /tmp and plant a pidfile there. So the folder must belong to USER
 * and sit in a folder that nobody else may write (a group-writable one only for the root group)
 * and that belongs to root, who then made it for USER, or to USER, which must then be such a
 * folder in turn (/home/jobclock/run: /home/jobclock was made by root). The real path is
 * checked, so a symlink cannot stand in for a trusted folder.
 */
export function folderTrustedFor(folder: string, uid: number): FolderTrust {
  let real: string;
  try {
    real = realpathSync(folder);
  } catch (error) {
    return { trusted: false, ownerUid: null, why: `its folder ${folder} cannot be looked at (${(error as NodeJS.ErrnoException).code ?? String(error)})` };
  }
  const own = statSafe(real);
  if (!own) return { trusted: false, ownerUid: null, why: `its folder ${real} cannot be looked at` };
  const no = (why: string): FolderTrust => ({ trusted: false, ownerUid: own.uid, why });
  if (own.uid !== uid) return no(`its folder ${real} belongs to ${userName(own.uid)}`);
  for (let d = real; ; ) {
    const parent = dirname(d);
    if (parent === d) return no(`${d} belongs to ${userName(uid)}`); // / itself owned by them
    const st = statSafe(parent);
    if (!st) return no(`${parent}, which holds ${d}, cannot be looked at`);
    const others = (st.mode & 0o002) !== 0;
    const group = (st.mode & 0o020) !== 0 && st.gid !== 0;
    if (others || group) {
      return no(`${d} is in ${parent}, which ${others ? "every user" : "its group"} may write, so ${userName(uid)} could have made it`);
    }
    if (st.uid === 0) return { trusted: true }; // only root can have put d there
    if (st.uid !== uid) return no(`${d} is in ${parent}, which belongs to ${userName(st.uid)}`);
    d = parent; // their own folder: trusted only if it was made for them in turn
  }
}

function statSafe(path: string): { uid: number; gid: number; mode: number } | null {
  try {
    const st = statSync(path);
    return { uid: st.uid, gid: st.gid, mode: st.mode };
  } catch {
    return null;
  }
}
