import type { Command } from "commander";
import { hostname } from "node:os";
import type { NotificationFacts } from "../../notify/facts.js";
import { notifiersFrom } from "../../notify/notifiers.js";
import { configFrom, stdio, type GlobalOptions } from "../context.js";

type Exit = (code: number) => void;

/** `jobclock notify test`: one test message to every configured notifier, each result reported. */
export function registerNotify(program: Command, exit: Exit): void {
  const globals = () => program.opts<GlobalOptions>();
  const notify = program.command("notify").description("notifications");
  notify.command("test").description("send a test message to every configured notifier and report each result")
    .action(async () => {
      const config = configFrom(globals());
      const notifiers = notifiersFrom(config.notify);
      if (notifiers.length === 0) {
        stdio.out("no notifiers configured (see notify: in the config)");
        return exit(1);
      }
      const now = Date.now();
      const facts: NotificationFacts = {
        version: 1, kind: "test", job: "(test)", description: "A test message from `jobclock notify test`.", state: "ok",
        previousState: null, since: null, reason: "this is a test; nothing is wrong", lastRun: null, nextSlot: null,
        errorLines: [], host: hostname(), instance: `cli-${process.pid}`, at: now,
      };
      let failed = 0;
      for (const n of notifiers) {
        const result = await n.send([facts], now);
        if (result.ok) stdio.out(`${n.label}: delivered`);
        else {
          failed++;
          stdio.out(`${n.label}: FAILED (${result.error}${result.retryable ? ", may work on a retry" : ""})`);
        }
      }
      exit(failed === 0 ? 0 : 1);
    });
}
