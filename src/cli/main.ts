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

/** Exit codes (PRODUCT §6): 0 success, 1 runtime failure, 2 usage or config error. */
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

/**
 * A user never sees a stack trace (PRODUCT §6): jobclock's own errors are one clear message; an
 * unexpected one is one line saying where it came from, and JOBCLOCK_DEBUG=1 adds the stack
 * for a bug report.
 */
function reportUnexpected(error: unknown): void {
  const err = error instanceof Error ? error : new Error(String(error));
  if (process.env.JOBCLOCK_DEBUG === "1") {
    stdio.err(`jobclock: unexpected error: ${err.stack ?? err.message}`);
    return;
  }
  const frame = /\n\s+at (?:.*\()?(?:file:\/\/)?([^()\n]+?:\d+):\d+\)?/.exec(err.stack ?? "")?.[1];
  const where = frame ? ` (at ${frame.replace(/^.*\/(src|dist|node_modules)\//, "$1/")})` : "";
  const text = `${err.name && !err.message.startsWith(err.name) ? `${err.name}: ` : ""}${err.message.split("\n")[0]}`;
  stdio.err(`jobclock: unexpected error: ${text}${where}; set JOBCLOCK_DEBUG=1 to see the stack, and please report it`);
}

// Outside the command's promise chain (an event handler, a timer): still one line and exit 1.
process.on("uncaughtException", (error) => {
  reportUnexpected(error);
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
    reportUnexpected(error);
    exit(1);
  }
}
