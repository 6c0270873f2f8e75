import { readFileSync } from "node:fs";
import { userInfo } from "node:os";

/**
 * User names for messages ("owned by jobclock, running as root"). /etc/passwd is read directly:
 * Node has no getpwuid, and a uid without an entry (containers) is shown as "uid N".
 */
export function userName(uid: number): string {
  try {
    for (const line of readFileSync("/etc/passwd", "utf8").split("\n")) {
      const [name, , id] = line.split(":");
      if (name && Number(id) === uid && id !== "") return name;
    }
  } catch {
    // no passwd file: fall through
  }
  return `uid ${uid}`;
}

/** The user this process runs as (its effective uid). */
export function currentUserName(): string {
  const uid = process.geteuid?.();
  if (uid === undefined) {
    try {
      return userInfo().username;
    } catch {
      return "this user";
    }
  }
  return userName(uid);
}
