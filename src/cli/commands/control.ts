import type { Command } from "commander";
import { UnknownJobError } from "../../errors.js";
import { readPidfile } from "../../daemon/pidfile.js";
import { cliSource } from "../source.js";
import { operationalConfig, stdio, withStore, type GlobalOptions } from "../context.js";

type Exit = (code: number) => void;

/**
 * pause, resume and trigger are written to the store, the one source of truth: a running
 * daemon follows within a second, and a stopped one finds them when it starts.
 */
export function registerControl(program: Command, exit: Exit): void {
  const globals = () => program.opts<GlobalOptions>();

  const act = (verb: "pause" | "resume" | "trigger", description: string) =>
    program.command(`${verb} <job>`).description(description).action(async (job: string) => {
      const config = operationalConfig(globals());
      await withStore(config, async (store) => {
        const now = Date.now();
        const source = cliSource();
        const ok = verb === "trigger" ? (await store.requestTrigger(job, now, source)) !== null : await store.setPaused(job, verb === "pause", now, source);
        if (!ok) throw new UnknownJobError(job);
      });
      const running = readPidfile(config.pidfile).state === "running";
      const when = running ? "the daemon picks it up within a second" : "no daemon is running; it takes effect when one starts";
      const done = verb === "trigger" ? `triggered ${job}` : `${verb === "pause" ? "paused" : "resumed"} ${job}`;
      stdio.out(`${done}; ${when}`);
      exit(0);
    });

  act("pause", "stop starting new runs of a job (running ones finish)");
  act("resume", "let a paused job run again from its next slot");
  act("trigger", "run a job now, once (its overlap policy applies)");
}
