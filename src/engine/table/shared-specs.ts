import type { JobSpec } from "../../job-spec.js";

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
