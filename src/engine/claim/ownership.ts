import { isLive, type InstanceRecord } from "../../store/types.js";

/**
 * Which live instance claims a job's slots first. Every instance may claim every slot (the
 * store's compare-and-set decides; there is no leader), but if all three of three instances
 * race for every slot, two thirds of the claims are wasted round trips and row-lock waits. So
 * each job has a preferred instance, by rendezvous hashing over the live instances: it claims
 * on time, and the others claim only if the slot is still unclaimed a little later (the
 * preferred one died, or cannot run the job). When an instance joins or leaves, only the jobs
 * it gains or loses move.
 */
export class Ownership {
  private live: string[];

  constructor(private readonly selfId: string) {
    this.live = [selfId];
  }

  /** Instances that heartbeated within `withinMs` (this one always counts). */
  update(instances: InstanceRecord[], now: number, withinMs: number): void {
    const ids = instances.filter((i) => isLive(i, now, withinMs)).map((i) => i.id);
    if (!ids.includes(this.selfId)) ids.push(this.selfId);
    this.live = ids.sort();
  }

  get liveCount(): number {
    return this.live.length;
  }

  /** Is this instance the job's preferred claimer? */
  owns(job: string): boolean {
    if (this.live.length === 1) return true;
    let best = "";
    let bestScore = -1;
    for (const id of this.live) {
      const score = fnv1a(id, job);
      if (score > bestScore || (score === bestScore && id < best)) [best, bestScore] = [id, score];
    }
    return best === this.selfId;
  }
}

/** 32-bit FNV-1a over "instance\0job": fast, and spread well enough to share jobs evenly. */
function fnv1a(instance: string, job: string): number {
  let h = 0x811c9dc5;
  const text = `${instance}\0${job}`;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // A final avalanche, so ids that differ only in their last characters still score apart.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}
