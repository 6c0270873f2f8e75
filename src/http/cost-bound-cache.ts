// Fresh enough for a dashboard that polls every 2 s, whatever the cost.
const MIN_AGE_MS = 1_000;
const COST_FACTOR = 10;

/**
 * Answers from the last computation while it is younger than ten times what it cost (at least
 * a second): an expensive read then takes at most about a tenth of the time, however often it
 * is asked for. Concurrent askers share one computation.
 */
export class CostBoundCache<T> {
  private readonly entries = new Map<string, { at: number; maxAgeMs: number; value: Promise<T> }>();

  constructor(private readonly now: () => number) {}

  get(key: string, compute: () => Promise<T>): Promise<T> {
    const hit = this.entries.get(key);
    if (hit && this.now() - hit.at < hit.maxAgeMs) return hit.value;
    const at = this.now();
    const entry = { at, maxAgeMs: Number.POSITIVE_INFINITY, value: compute() };
    this.entries.set(key, entry);
    entry.value.then(
      () => (entry.maxAgeMs = Math.max(MIN_AGE_MS, COST_FACTOR * (this.now() - at))),
      () => this.entries.get(key) === entry && this.entries.delete(key), // a failure is not remembered
    );
    return entry.value;
  }

  clear(): void {
    this.entries.clear();
  }
}
