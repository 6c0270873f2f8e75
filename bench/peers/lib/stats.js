// Numbers from the raw samples: percentiles, and slot accounting (missed / doubled).

export const PERCENTILES = [0, 1, 5, 10, 25, 50, 75, 90, 95, 99, 99.9, 100];

/** Nearest-rank percentile of an ascending array (the same rule as bench/workloads). */
export function pct(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** The percentile profile kept in the results file and drawn in the SVG chart. */
export function distribution(values) {
  const sorted = Float64Array.from(values).sort();
  const out = { samples: sorted.length };
  for (const p of PERCENTILES) out[`p${p}`] = pct(sorted, p);
  out.mean = sorted.length ? Number((sorted.reduce((a, b) => a + b, 0) / sorted.length).toFixed(2)) : null;
  return out;
}

/**
 * Misses and doubles over a window of slots. Each schedule has its own grid (slot0 + k × period:
 * wall-clock seconds for cron libraries, the registration instant for interval libraries); its
 * phase is read from the slots it did run. A schedule that never ran misses every slot of the
 * window. Only slots in [from, to) count.
 */
export function slotAccounting({ schedules, periodMs, from, to, runs }) {
  const seen = new Map(); // schedule → Map(slot → count)
  for (const [s, slot] of runs) {
    let m = seen.get(s);
    if (!m) seen.set(s, (m = new Map()));
    m.set(slot, (m.get(slot) ?? 0) + 1);
  }
  let expected = 0, missed = 0, doubled = 0, offGrid = 0;
  for (let s = 0; s < schedules; s++) {
    const m = seen.get(s);
    const phase = m ? mod(m.keys().next().value, periodMs) : mod(from, periodMs);
    const first = from + mod(phase - from, periodMs);
    for (let g = first; g < to; g += periodMs) {
      expected++;
      const n = m?.get(g) ?? 0;
      if (n === 0) missed++;
      else if (n > 1) doubled += n - 1;
    }
    if (m) for (const slot of m.keys()) if (slot >= from && slot < to && mod(slot - phase, periodMs) !== 0) offGrid++;
  }
  return { expected, missed, doubled, offGrid };
}

const mod = (a, n) => ((a % n) + n) % n;
