import { describe, expect, it } from "vitest";
import { describeUnexpected } from "../../src/cli/unexpected.js";

describe("an unexpected error is one line, the stack only with JOBCLOCK_DEBUG=1", () => {
  const error = new TypeError("Cannot read properties of undefined (reading 'x')\nsecond line");
  error.stack = [
    "TypeError: Cannot read properties of undefined (reading 'x')",
    "    at readSync (node:fs:750:18)",
    "    at Thing.go (file:///opt/jobclock/dist/engine/engine.js:12:5)",
    "    at /opt/jobclock/node_modules/commander/lib/command.js:1604:14",
  ].join("\n");

  it("one line: what, where in jobclock's code, and how to see more", () => {
    const text = describeUnexpected(error, false);
    expect(text).toBe(
      "jobclock: unexpected error: TypeError: Cannot read properties of undefined (reading 'x') (at dist/engine/engine.js:12); set JOBCLOCK_DEBUG=1 to see the stack, and please report it",
    );
    expect(text).not.toMatch(/\n/);
    expect(describeUnexpected("a string thrown", false)).toMatch(/^jobclock: unexpected error: Error: a string thrown/);
  });

  it("the whole stack with debug", () => {
    expect(describeUnexpected(error, true)).toContain("    at Thing.go (file:///opt/jobclock/dist/engine/engine.js:12:5)");
  });
});
