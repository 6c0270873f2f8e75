import type { Command } from "commander";
import { checkHealth } from "../../health/check.js";
import { operationalConfig, stdio, storeFrom, type GlobalOptions } from "../context.js";
import { ago, describeSchedule, iso, table } from "../format.js";

type Exit = (code: number) => void;

/**
 * `jobclock check`: what an outside monitor (cron, Healthchecks, Nagios) runs. It reads the
 * store, so it works while the daemon is down. Exit 0 when every job is healthy, 1 otherwise.
 */
export function registerHealth(program: Command, exit: Exit): void {
  const globals = () => program.opts<GlobalOptions>();
  program.command("check").description("print unhealthy jobs; exit 0 if all are healthy, 1 if not")
    .option("--json", "print JSON, as GET /api/v1/health answers")
    .action(async (o: { json?: boolean }) => {
      const config = operationalConfig(globals());
      const store = await storeFrom(config, false);
      if (!store) {
        // Nothing to check is itself a problem for whoever runs this from a monitor.
        stdio.err(`jobclock check: no store at ${config.store}; start the daemon or run \`jobclock reload\` first`);
        return exit(1);
      }
      const now = Date.now();
      const { result, unhealthyJobs: unhealthy } = await checkHealth(store, now);
      await store.close();
      if (o.json) {
        stdio.out(JSON.stringify(result, null, 2));
      } else if (unhealthy.length === 0) {
        stdio.out(`all ${result.jobs} job(s) healthy`);
      } else {
        stdio.out(table(
          ["JOB", "STATE", "SINCE", "SCHEDULE", "WHY"],
          unhealthy.map(({ job, health }) => [job.name, health.state, `${iso(health.since)} (${ago(health.since, now)})`, describeSchedule(job.spec), health.reason]),
        ));
        stdio.out(`${unhealthy.length} of ${result.jobs} job(s) unhealthy`);
      }
      exit(unhealthy.length === 0 ? 0 : 1);
    });
}
