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

/** A job's spec without its name: the part many jobs have in common. */
export type SharedSpec = Readonly<Omit<JobSpec, "name">>;

/**
 * The engine's table holds one spec per distinct job definition rather than one per job: of
 * 100,000 jobs made from a handful of templates, each keeps only its name and its slot state
 * (about 200 bytes a job less).
 */
export class SharedSpecs {
  private readonly known = new Map<string, SharedSpec>();

  share(spec: JobSpec): SharedSpec {
    const { name: _name, ...rest } = spec;
    const key = JSON.stringify(rest);
    const known = this.known.get(key);
    if (known !== undefined) return known;
    if (this.known.size < 10_000) this.known.set(key, rest); // a job unlike any other is not worth a key
    return rest;
  }
}
