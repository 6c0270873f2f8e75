import type { JobSpec } from "../job-spec.js";

/**
 * Specs read back from the store are fresh objects, yet most jobs share the same schedule,
 * action, retries, env and tags. Sharing those parts keeps 100,000 jobs in tens of megabytes.
 * Specs are never mutated after they are built, so sharing is safe.
 */
export class SpecInterner {
  private readonly parts = new Map<string, unknown>();

  intern(spec: JobSpec): JobSpec {
    spec.schedule = this.part(spec.schedule);
    spec.action = this.part(spec.action);
    spec.retries = this.part(spec.retries);
    spec.env = this.part(spec.env);
    spec.tags = this.part(spec.tags);
    return spec;
  }

  private part<T>(value: T): T {
    const key = JSON.stringify(value);
    const known = this.parts.get(key);
    if (known !== undefined) return known as T;
    // Bound the table: parts unique to one job (say, a long command line) are not worth keeping.
    if (this.parts.size < 10_000) this.parts.set(key, value);
    return value;
  }
}
