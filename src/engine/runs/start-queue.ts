import type { Cancellation } from "../../run/cancellation.js";
import { SlotHeap } from "../table/heap.js";

/**
 * Runs claimed ahead of their slot wait here until their fire time. The engine's one timer
 * wakes for whichever comes first: the next claim or the next start.
 */
export class StartQueue {
  private readonly heap = new SlotHeap();
  private readonly waiting = new Map<number, () => void>();
  private nextId = 1;

  get size(): number {
    return this.waiting.size;
  }

  /** Resolves at `at` (when the engine calls startDue), or earlier if the run is cancelled. */
  wait(at: number, cancel: Cancellation): Promise<void> {
    return new Promise((resolve) => {
      const id = this.nextId++;
      this.waiting.set(id, resolve);
      this.heap.push({ at, name: String(id), version: 0 });
      cancel.onCancel(() => resolve()); // its entry stays until its time: a no-op then
    });
  }

  nextAt(): number | undefined {
    return this.heap.peek()?.at;
  }

  /** Lets every run whose time has come begin, in fire-time order. */
  startDue(now: number): void {
    for (let top = this.heap.peek(); top && top.at <= now; top = this.heap.peek()) {
      this.heap.pop();
      const id = Number(top.name);
      this.waiting.get(id)?.();
      this.waiting.delete(id);
    }
  }
}
