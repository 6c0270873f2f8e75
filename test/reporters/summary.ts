import type { Reporter, TestModule } from "vitest/node";

/**
 * Ends the run with one plain line, `N passed, N failed, N skipped`, that any CI can read.
 * With CI=true a skipped test is a failure: in CI every server the tests need is installed,
 * so a skip can only hide a missing piece.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const module of testModules) {
      if (module.state() === "failed" && [...module.children.allTests()].length === 0) failed++;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") passed++;
        else if (state === "failed") failed++;
        else skipped++;
      }
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
    if (process.env.CI === "true" && skipped > 0) {
      process.stdout.write(`CI=true: ${skipped} test(s) were skipped, which CI does not allow\n`);
      process.exitCode = 1;
    }
  }
}
