import { join } from "node:path";
import { expect } from "vitest";
import { parseConfig } from "../../src/config/load.js";
import { ConfigError } from "../../src/errors.js";
import { tempDir } from "./spec.js";

/** The problems a config is refused with (exit 2), read as if it were a file in a fresh folder. */
export function problems(yaml: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(yaml, join(tempDir(), "jobclock.yaml"), env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).exitCode).toBe(2);
    return (error as ConfigError).problems;
  }
  throw new Error("expected the config to be refused");
}
