import type { Command } from "commander";
import { ConfigError } from "../../errors.js";
import { sqliteFileProblem } from "../../store/sqlite/open.js";
import { configFrom, stdio, type GlobalOptions } from "../context.js";
import { describeSchedule } from "../format.js";

type Exit = (code: number) => void;

/**
 * `jobclock validate`: every problem at once (exit 2), else OK with the jobs, then warnings:
 * what is not a config error but will fail at run time (a missing script, a program not in
 * PATH). Warnings alone exit 0, as `start` and `reload` accept such a config.
 */
export function registerValidate(program: Command, exit: Exit): void {
  const globals = () => program.opts<GlobalOptions>();
  program.command("validate").description("check the config and print every problem; exit 2 if any")
    .action(() => {
      const config = configFrom(globals()); // ConfigError → every problem, exit 2 (in main)
      const storeProblem = sqliteFileProblem(config.store);
      if (storeProblem) throw new ConfigError([storeProblem], `${config.path} has problems`);
      stdio.out(`${config.path}: OK, ${config.jobs.length} job(s)`);
      for (const job of config.jobs) stdio.out(`  ${job.name}: ${describeSchedule(job)}, ${job.action.kind}`);
      if (config.warnings.length > 0) {
        stdio.out(`${config.warnings.length} warning(s):`);
        for (const warning of config.warnings) stdio.out(`  - warning: ${warning}`);
      }
      exit(0);
    });
}
