/**
 * What a config holds as secrets, beyond the values it writes out itself:
 * - the environment variables it uses for jobclock's own secrets (a `${NAME}` under `notify:`,
 *   `http:` or `store`): a job inherits the daemon's environment, and `env` in a job would print
 *   the Slack webhook or the API token into its stored output, readable through the API;
 * - the values `${NAME}` brought in (every env_file value, and each substituted variable): a
 *   `command` or `shell` that uses one holds it verbatim in the job's spec, which `jobs --json`
 *   and the API show.
 */
export interface ConfigSecrets {
  /** Names of variables the config uses for its own secrets: never inherited by jobs. */
  variables: string[];
  /** `[NAME, value]` of every env_file entry and every substituted `${NAME}`. */
  values: [name: string, value: string][];
}

/**
 * Shorter values are left alone: "1", "true" or "prod" from an env_file would otherwise turn
 * up as `${NAME}` all over the listings, and a secret that short protects nothing anyway.
 */
export const MIN_REDACTED_LENGTH = 6;

// One process reads few configs (start, then each reload); this bounds a pathological one.
const MAX_VALUES = 10_000;

/**
 * Every secret of every config this process has read (the daemon: at start and at each reload;
 * a CLI command: its one config). Kept, not replaced, on reload: a job applied from the old
 * config may still hold an old value, and the old notifier keeps its variable until a restart.
 * When in doubt, more is hidden, never less.
 */
class KnownSecrets {
  private readonly hidden = new Set<string>();
  /** value → NAME; the first name seen for a value is the one shown. */
  private readonly values = new Map<string, string>();
  private pattern: RegExp | null = null;

  remember(secrets: ConfigSecrets): void {
    for (const name of secrets.variables) this.hidden.add(name);
    for (const [name, value] of secrets.values) {
      if (value.length < MIN_REDACTED_LENGTH || this.values.has(value)) continue;
      if (this.values.size >= MAX_VALUES) this.values.delete(this.values.keys().next().value!);
      this.values.set(value, name);
      this.pattern = null;
    }
  }

  /** The variables jobs must not inherit. */
  get variables(): ReadonlySet<string> {
    return this.hidden;
  }

  /** `text` with each known value replaced by `${NAME}` (longest values first, in one pass). */
  redact(text: string): string {
    if (this.values.size === 0) return text;
    this.pattern ??= new RegExp(
      [...this.values.keys()].sort((a, b) => b.length - a.length).map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"),
      "g",
    );
    return text.replace(this.pattern, (value) => `\${${this.values.get(value)}}`);
  }
}

export const knownSecrets = new KnownSecrets();

/** For tests: a fresh set of known secrets. */
export function newKnownSecrets(): KnownSecrets {
  return new KnownSecrets();
}

export type { KnownSecrets };
