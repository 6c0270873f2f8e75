export interface HeapEntry {
  at: number;
  name: string;
  /** Entries go stale when a job is rescheduled; only the one matching the job's version counts. */
  version: number;
}

/** A binary min-heap of fire times: the one timer always waits for the top entry. */
export class SlotHeap {
  private items: HeapEntry[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): HeapEntry | undefined {
    return this.items[0];
  }

  push(entry: HeapEntry): void {
    const items = this.items;
    items.push(entry);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent]!.at <= entry.at) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = entry;
  }

  pop(): HeapEntry | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        const mAt = () => (m === i ? last.at : items[m]!.at);
        if (l < items.length && items[l]!.at < mAt()) m = l;
        if (r < items.length && items[r]!.at < mAt()) m = r;
        if (m === i) break;
        items[i] = items[m]!;
        i = m;
      }
      items[i] = last;
    }
    return top;
  }

  /** Drops stale entries in one pass when they pile up (many reschedules between fires). */
  compact(isLive: (e: HeapEntry) => boolean): void {
    const live = this.items.filter(isLive);
    this.items = [];
    for (const e of live) this.push(e);
  }
}
