/**
 * Puts every method of a store behind its database's error translation, so no caller ever sees
 * a raw driver error: each failure is a StoreError, transient (unreachable, busy: retry) or not.
 * Done once per store instance, for every method of its class and its bases, sync or async.
 */
export function withTypedErrors<T extends object>(store: T, translate: (error: unknown) => Error): T {
  const seen = new Set<string>();
  for (let proto = Object.getPrototypeOf(store); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name === "constructor" || seen.has(name)) continue;
      const descriptor = Object.getOwnPropertyDescriptor(proto, name);
      if (!descriptor || typeof descriptor.value !== "function") continue;
      seen.add(name);
      const method = descriptor.value as (...args: unknown[]) => unknown;
      Object.defineProperty(store, name, {
        configurable: true,
        writable: true,
        value(this: T, ...args: unknown[]) {
          let result: unknown;
          try {
            result = method.apply(this, args);
          } catch (error) {
            throw translate(error);
          }
          return result instanceof Promise ? result.catch((error: unknown) => Promise.reject(translate(error))) : result;
        },
      });
    }
  }
  return store;
}
