import type { MissedRange } from "../schedule/catchup.js";

/** The error text of a `missed` record, the same on every store: "3 slots missed from … to …", "1 slot missed at …". */
export function missedNote(m: MissedRange): string {
  const at = (ms: number) => new Date(ms).toISOString();
  const count = `${m.atLeast ? "at least " : ""}${m.count} slot${m.count === 1 ? "" : "s"} missed`;
  return m.first === m.last ? `${count} at ${at(m.first)}` : `${count} from ${at(m.first)} to ${at(m.last)}`;
}
