import { existsSync } from "node:fs";

/**
 * Whether a system tool the test needs is installed. In CI (CI=true) a missing tool is an
 * error, never a skip: .ci/run installs it. Elsewhere the test is skipped after saying why.
 */
export function hasTool(path: string, installHint: string): boolean {
  if (existsSync(path)) return true;
  if (process.env.CI === "true") throw new Error(`${path} is required in CI (${installHint}); .ci/run installs it`);
  console.warn(`skipping: ${path} is not installed (${installHint})`);
  return false;
}
