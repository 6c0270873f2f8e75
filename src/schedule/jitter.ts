/**
 * Jitter spreads load by delaying each slot by a value in [0, jitterMs).
 * It is a hash of (job, slot) rather than Math.random(), so every instance and every restart
 * agrees on when a slot fires: the delay looks random across jobs and slots but is reproducible.
 */
export function jitterFor(job: string, slot: number, jitterMs: number): number {
  if (jitterMs <= 0) return 0;
  // FNV-1a over the job name and the slot's decimal digits: fast, well spread, no allocations
  // beyond the string walk.
  let h = 0x811c9dc5;
  for (let i = 0; i < job.length; i++) h = Math.imul(h ^ job.charCodeAt(i), 0x01000193);
  const s = String(slot);
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0) % Math.ceil(jitterMs);
}
