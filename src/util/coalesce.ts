/**
 * A pass of work asked for from many places (a timer, events, a store notification) where
 * overlapping passes would race, and a request arriving mid-pass must not be lost: the pass
 * going now may already have read what the request is about.
 */
export interface Coalesced {
  /**
   * Runs a pass now, or, if one is going, once more when it ends (however many ask meanwhile).
   * Resolves when the pass that covers this request has ended; rejects with that pass's error.
   */
  run(): Promise<void>;
  /** Resolves once no pass is going and none is asked for (errors are the callers' of run()). */
  idle(): Promise<void>;
  /** A pass is going now. */
  readonly busy: boolean;
}

interface Waiting {
  promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

function waiting(): Waiting {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => ([resolve, reject] = [res, rej]));
  return { promise, resolve, reject };
}

/** At most one `pass` at a time, and one more if asked while it ran. */
export function coalescing(pass: () => Promise<void>): Coalesced {
  let busy = false;
  /** Callers who asked while a pass was going: the next pass is theirs. */
  let next: Waiting | null = null;
  let driving: Promise<void> | null = null;

  async function drive(first: Waiting): Promise<void> {
    busy = true;
    // The first pass starts synchronously, inside run(), as a direct call would.
    for (let current: Waiting | null = first; current; current = next, next = null) {
      try {
        await pass();
        current.resolve();
      } catch (error) {
        current.reject(error);
      }
    }
    busy = false;
    driving = null;
  }

  return {
    get busy() {
      return busy;
    },
    run() {
      if (busy) return (next ??= waiting()).promise;
      const first = waiting();
      driving = drive(first);
      return first.promise;
    },
    async idle() {
      while (driving) await driving;
    },
  };
}
