// The browser's copy of src/util/coalesce.ts (the dashboard is plain files served as they are,
// so it cannot import the server's TypeScript); test/util/coalesce.test.ts runs the same cases
// on both. At most one pass at a time, and one more if asked for while it ran.

/** @param {() => Promise<void>} pass */
export function coalescing(pass) {
  let busy = false;
  let next = null; // callers who asked while a pass was going: the next pass is theirs
  let driving = null;

  const waiting = () => {
    let resolve, reject;
    const promise = new Promise((res, rej) => ([resolve, reject] = [res, rej]));
    return { promise, resolve, reject };
  };

  async function drive(first) {
    busy = true;
    // The first pass starts synchronously, inside run(), as a direct call would.
    for (let current = first; current; current = next, next = null) {
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
    /** Runs a pass now, or once more when the one going ends; resolves when that pass has ended. */
    run() {
      if (busy) return (next ??= waiting()).promise;
      const first = waiting();
      driving = drive(first);
      return first.promise;
    },
    /** Resolves once no pass is going and none is asked for. */
    async idle() {
      while (driving) await driving;
    },
  };
}
