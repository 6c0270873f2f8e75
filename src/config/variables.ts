/** What `${NAME}` found: a value, a variable that is set but empty (and where), or nothing. */
export type Lookup = { value: string } | { emptyIn: string } | null;

/**
 * Where `${NAME}` takes its values: the process environment, then the env_file. A non-empty
 * environment value wins over the file (so a supervisor can override one value without editing it); an empty one does not hide the file's,
 * as `${NAME:-default}` also treats empty as unset. Only own entries count, so `${toString}` or
 * `${__proto__}` is an unset variable, never a piece of JavaScript.
 */
export class Variables {
  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly file: ReadonlyMap<string, string> | null = null,
    /** The env_file's path, for messages. */
    private readonly filePath: string | null = null,
    /** Set when the env_file could not be read, so a missing variable's message says why. */
    private readonly fileProblem: string | null = null,
  ) {}

  find(name: string): Lookup {
    const fromEnv = Object.hasOwn(this.env, name) ? this.env[name] : undefined;
    if (fromEnv !== undefined && fromEnv !== "") return { value: fromEnv };
    const fromFile = this.file?.get(name);
    if (fromFile !== undefined && fromFile !== "") return { value: fromFile };
    if (fromEnv !== undefined) return { emptyIn: "the environment" };
    if (fromFile !== undefined) return { emptyIn: `env_file ${this.filePath}` };
    return null;
  }

  /** Appended to "NAME is not set": where else it was looked for. */
  whereLooked(): string {
    if (this.fileProblem) return ` (env_file ${this.filePath} could not be used: ${this.fileProblem})`;
    if (this.filePath) return ` in the environment or env_file ${this.filePath}`;
    return "";
  }
}
