import type { Command } from "commander";
import { UnknownJobError, UsageError, JobclockError } from "../../errors.js";
import { isLive, RUN_STATUSES, type InstanceRecord, type RunRecord, type RunStatus } from "../../store/types.js";
import { knownSecrets } from "../../config/secrets.js";
import { jobDetailView, runOutputView, runView } from "../../views.js";
import { operationalConfig, stdio, storeFrom, type GlobalOptions } from "../context.js";
import { jobHealth } from "../../health/job-health.js";
import { ago, describeSchedule, firstLine, iso, runDuration, table } from "../format.js";

type Exit = (code: number) => void;

export function registerInspect(program: Command, exit: Exit): void {
  const globals = () => program.opts<GlobalOptions>();

  registerJobs(program, globals, exit);
  registerRuns(program, globals, exit);
  registerLogs(program, globals, exit);
}

type Globals = () => GlobalOptions;

function registerJobs(program: Command, globals: Globals, exit: Exit): void {
  program.command("jobs").description("table: name, schedule, state, last run, next slot")
    .option("--json", "print JSON: each job as GET /api/v1/jobs/NAME shows it")
    .option("--all", "include retired jobs")
    .action(async (o: { json?: boolean; all?: boolean }) => {
      const config = operationalConfig(globals());
      knownSecrets.remember(config.secrets); // for jobDetailView below
      const store = await storeFrom(config, false);
      const jobs = store ? await store.listJobs({ includeRetired: o.all === true }) : [];
      await store?.close();
      if (o.json) {
        const now = Date.now();
        return exit((stdio.out(JSON.stringify(jobs.map((j) => jobDetailView(j, now)), null, 2)), 0));
      }
      if (jobs.length === 0) return exit((stdio.out("no jobs in the store yet (start the daemon, or run `jobclock reload`)"), 0));
      const now = Date.now();
      stdio.out(table(
        ["NAME", "SCHEDULE", "HEALTH", "LAST RUN", "NEXT SLOT"],
        jobs.map((j) => [
          j.name, describeSchedule(j.spec), j.retiredAt !== null ? "retired" : jobHealth(j, now).state,
          j.lastStatus ? `${j.lastStatus} ${ago(j.lastFinishedAt ?? j.lastStartedAt)}` : j.lastStartedAt ? `started ${ago(j.lastStartedAt)}` : "never",
          j.paused || j.retiredAt ? "-" : `${iso(j.nextSlot)} (${ago(j.nextSlot)})`,
        ]),
      ));
      exit(0);
    });
}

function registerRuns(program: Command, globals: Globals, exit: Exit): void {
  program.command("runs [job]").description("recent runs, newest first")
    .option("--limit <n>", "how many", "20")
    .option("--status <status>", `only runs with this status (${RUN_STATUSES.join(", ")})`)
    .option("--json", "print JSON: each run as the API shows it")
    .action(async (job: string | undefined, o: { limit: string; status?: string; json?: boolean }) => {
      const limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit: "${o.limit}" is not a positive whole number`);
      if (o.status !== undefined && !RUN_STATUSES.includes(o.status as RunStatus)) {
        throw new UsageError(`--status: "${o.status}" is not a run status (${RUN_STATUSES.join(", ")})`);
      }
      const config = operationalConfig(globals());
      const store = await storeFrom(config, false);
      try {
        if (job && store && !(await store.getJob(job))) throw new UnknownJobError(job);
        if (job && !store) throw new UnknownJobError(job);
        const runs = store ? await store.listRuns({ job, status: o.status as RunStatus | undefined, limit }) : [];
        if (o.json) return exit((stdio.out(JSON.stringify(runs.map(runView), null, 2)), 0));
        if (runs.length === 0) return exit((stdio.out(o.status || job ? "no runs match" : "no runs yet"), 0));
        // Which instance ran what matters once several share the store.
        const shared = sharedStore(await store!.listInstances(), runs, config.abandonAfterMs);
        stdio.out(table(
          ["ID", "JOB", "TRIGGER", "SLOT", "STATUS", "STARTED", "DURATION", "TRY", ...(shared ? ["INSTANCE"] : []), "RESULT"],
          runs.map((r) => [
            String(r.id), r.job, r.trigger, iso(r.slot), r.status, ago(r.startedAt), runDuration(r), String(r.attempt),
            ...(shared ? [r.instanceId ?? "-"] : []),
            r.exitCode !== null ? `exit ${r.exitCode}${r.error ? `: ${firstLine(r.error)}` : ""}` : firstLine(r.error),
          ]),
        ));
        exit(0);
      } finally {
        await store?.close();
      }
    });
}

function registerLogs(program: Command, globals: Globals, exit: Exit): void {
  program.command("logs <job>").description("stdout and stderr of a run (the latest by default)")
    .option("--run <id>", "a run id from `jobclock runs`")
    .option("--json", "print JSON: the run and its output, as the API shows them")
    .action(async (job: string, o: { run?: string; json?: boolean }) => {
      const store = await storeFrom(operationalConfig(globals()), false);
      if (!store) throw new UnknownJobError(job);
      try {
        if (!(await store.getJob(job))) throw new UnknownJobError(job);
        // By default the latest run that finished: a running run's output is recorded when it ends.
        const run = o.run !== undefined ? await store.getRun(parseRunId(o.run)) : (await store.listRuns({ job, limit: 50 })).find((r) => r.finishedAt !== null && r.startedAt !== null);
        if (!run || run.job !== job) {
          throw new JobclockError("RUN_NOT_FOUND", o.run ? `job ${job} has no run #${o.run}; see \`jobclock runs ${job}\`` : `job ${job} has not finished a run yet`);
        }
        if (run.status === "running") stdio.out(`(run #${run.id} is still running; its output is recorded when it ends)`);
        const output = (await store.getRunOutput(run.id))!;
        if (o.json) return exit((stdio.out(JSON.stringify({ run: runView(run), ...runOutputView(run.id, output) }, null, 2)), 0));
        stdio.out(`run #${run.id} of ${job}: ${run.status}, started ${iso(run.startedAt)}, took ${runDuration(run)}${run.error ? `\n${run.error}` : ""}`);
        stdio.out(`--- stdout ---\n${output.stdout.trimEnd()}`);
        stdio.out(`--- stderr ---\n${output.stderr.trimEnd()}`);
        exit(0);
      } finally {
        await store.close();
      }
    });
}

/**
 * More than one instance shares this store: more than one is alive now, or the runs listed
 * came from more than one host (a daemon restarted on the same host is a new instance, but
 * not a second one).
 */
function sharedStore(instances: InstanceRecord[], runs: RunRecord[], liveWithinMs: number): boolean {
  const now = Date.now();
  if (instances.filter((i) => isLive(i, now, liveWithinMs)).length > 1) return true;
  const hostOf = new Map(instances.map((i) => [i.id, i.host]));
  return new Set(runs.map((r) => (r.instanceId ? hostOf.get(r.instanceId) ?? r.instanceId : null)).filter((h) => h !== null)).size > 1;
}

function parseRunId(text: string): number {
  const id = Number(text);
  if (!Number.isInteger(id) || id < 1) throw new UsageError(`--run: "${text}" is not a run id (a positive whole number)`);
  return id;
}
