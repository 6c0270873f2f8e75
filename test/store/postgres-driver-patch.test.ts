import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script, no types
import { patch } from "../../scripts/patch-postgres.mjs";

const driver = resolve(fileURLToPath(import.meta.url), "../../../node_modules/postgres");

describe("the PostgreSQL driver's patch (porsager/postgres#1154)", () => {
  it("is applied by the install to every build of the driver", () => {
    for (const file of ["src/connection.js", "cjs/src/connection.js"]) {
      const text = readFileSync(join(driver, file), "utf8");
      expect(text, file).toMatch(/function nextWrite\(fn\) \{\n {4}if \(!socket\) \{ \/\/ jobclock patch/);
      expect(text.match(/clearImmediate\(nextWriteTimer\)\n {4}nextWriteTimer = null/g), file).toHaveLength(2);
    }
  });

  it("guards nextWrite and clears the timer on both teardowns, once however often it runs", () => {
    const original = [
      "  function nextWrite(fn) {", "    const x = socket.write(chunk, fn)", "  }",
      "  function terminate() {", "    clearImmediate(nextWriteTimer)", "  }",
      "  async function closed(hadError) {", "    clearImmediate(nextWriteTimer)", "  }", "",
    ].join("\n");
    const once = patch(original);
    expect(once).toContain("if (!socket) {");
    expect(once.match(/nextWriteTimer = null \/\/ jobclock patch/g)).toHaveLength(2);
    expect(patch(once)).toBe(once);
    expect(patch("something else entirely")).toBeNull();
  });
});
