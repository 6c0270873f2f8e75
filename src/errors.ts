/**
 * Every error jobclock raises on purpose has a stable `code` (for scripts and tests) and an
 * `exitCode` scripts can rely on: 2 for usage or config problems, 1 for runtime failures.
 * Messages say what went wrong and what to do next.
 */
export class JobclockError extends Error {
  readonly code: string;
  readonly exitCode: number;

  constructor(code: string, message: string, exitCode = 1) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** The config file (or a library job definition) is wrong; `problems` lists every issue found. */
export class ConfigError extends JobclockError {
  readonly problems: string[];
  /** How far reading got: the file, its YAML, or the meaning of its keys. */
  readonly stage: "read" | "yaml" | "validate";

  constructor(problems: string[], header = "invalid configuration", stage: ConfigError["stage"] = "validate") {
    super("CONFIG_INVALID", `${header}:\n${problems.map((p) => `  - ${p}`).join("\n")}`, 2);
    this.problems = problems;
    this.stage = stage;
  }
}

export class UsageError extends JobclockError {
  constructor(message: string) {
    super("USAGE", message, 2);
  }
}

export class UnknownJobError extends JobclockError {
  constructor(name: string) {
    super("JOB_NOT_FOUND", `no job named "${name}"; run \`jobclock jobs\` to list the jobs`, 1);
  }
}

/**
 * A store call failed. `transient`: the store could not be reached, or was busy (a connection
 * refused or cut, a lock held elsewhere, no answer in time): the same call may well work in a
 * moment, and is worth trying again as soon as the store answers. Otherwise the store refused
 * it (a full disk, a file that is not a database, bad credentials): retrying will not help
 * until someone acts.
 */
export class StoreError extends JobclockError {
  readonly transient: boolean;

  constructor(code: string, message: string, options: { transient?: boolean } = {}) {
    super(code, message, 1);
    this.transient = options.transient ?? false;
  }
}

export class PidfileError extends JobclockError {
  constructor(code: string, message: string) {
    super(code, message, 1);
  }
}
