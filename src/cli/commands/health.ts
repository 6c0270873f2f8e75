import type { Command } from "commander";
import { jobHealth } from "../../health/job-health.js";
import { UNHEALTHY } from "../../health/evaluate.js";
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
    .option("--json", "print JSON")
    .action(async (o: { json?: boolean }) => {
      const config = operationalConfig(globals());
      const store = await storeFrom(config, false);
      if (!store) {
        // Nothing to check is itself a problem for whoever runs this from a monitor.
        stdio.err(`jobclock check: no store at ${config.store}; start the daemon or run \`jobclock reload\` first`);
        return exit(1);
      }
      const jobs = await store.listJobs();
      await store.close();
      const now = Date.now();
      const unhealthy = jobs
        .map((job) => ({ job, health: jobHealth(job, now) }))
        .filter(({ health }) => UNHEALTHY.includes(health.state));
      if (o.json) {
        stdio.out(JSON.stringify({
          healthy: unhealthy.length === 0,
          jobs: jobs.length,
          unhealthy: unhealthy.map(({ job, health }) => ({
            job: job.name, state: health.state, since: health.since, reason: health.reason,
            lastRun: job.lastRunId === null ? null : { id: job.lastRunId, status: job.lastStatus, startedAt: job.lastStartedAt, finishedAt: job.lastFinishedAt },
          })),
        }, null, 2));
      } else if (unhealthy.length === 0) {
        stdio.out(`all ${jobs.length} job(s) healthy`);
      } else {
        stdio.out(table(
          ["JOB", "STATE", "SINCE", "SCHEDULE", "WHY"],
          unhealthy.map(({ job, health }) => [job.name, health.state, `${iso(health.since)} (${ago(health.since, now)})`, describeSchedule(job.spec), health.reason]),
        ));
        stdio.out(`${unhealthy.length} of ${jobs.length} job(s) unhealthy`);
      }
      exit(unhealthy.length === 0 ? 0 : 1);
    });
}
