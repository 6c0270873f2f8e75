#!/usr/bin/env node
import { Command, CommanderError } from "commander";
import { fileURLToPath } from "node:url";
import { ConfigError, JobclockError } from "../errors.js";
import { VERSION } from "../version.js";
import { registerControl } from "./commands/control.js";
import { registerHealth } from "./commands/health.js";
import { registerNotify } from "./commands/notify.js";
import { registerInspect } from "./commands/inspect.js";
import { registerLifecycle } from "./commands/lifecycle.js";
import { registerValidate } from "./commands/validate.js";
import { stdio } from "./context.js";
import { describeUnexpected } from "./unexpected.js";

/** Exit codes, for scripts: 0 success, 1 runtime failure, 2 usage or config error. */
function exit(code: number): void {
  process.exitCode = code;
  // Let stdout drain, then leave even if a library left a handle open.
  process.stdout.write("", () => process.exit(code));
}

const program = new Command("jobclock")
  .description("scheduler for repeating jobs: interval and cron, no overlaps, every run recorded")
  .version(VERSION)
  .option("-c, --config <path>", "config file (default: $JOBCLOCK_CONFIG, else ./jobclock.yaml)")
  .showHelpAfterError()
  .exitOverride();

const cliPath = fileURLToPath(import.meta.url);
registerLifecycle(program, cliPath, exit);
registerValidate(program, exit);
registerInspect(program, exit);
registerControl(program, exit);
registerHealth(program, exit);
registerNotify(program, exit);

// Outside the command's promise chain (an event handler, a timer): still one line and exit 1.
process.on("uncaughtException", (error) => {
  // The daemon installs its own handler (it logs the stack to its log and releases its pidfile).
  if (process.listenerCount("uncaughtException") > 1) return;
  stdio.err(describeUnexpected(error, process.env.JOBCLOCK_DEBUG === "1"));
  exit(1);
});

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    const ok = error.code === "commander.helpDisplayed" || error.code === "commander.version" || error.code === "commander.help";
    exit(ok ? 0 : 2);
  } else if (error instanceof ConfigError) {
    stdio.err(error.message);
    exit(2);
  } else if (error instanceof JobclockError) {
    stdio.err(`jobclock: ${error.message}`);
    exit(error.exitCode);
  } else {
    stdio.err(describeUnexpected(error, process.env.JOBCLOCK_DEBUG === "1"));
    exit(1);
  }
}
