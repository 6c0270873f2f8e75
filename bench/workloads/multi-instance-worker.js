// One of the instances of the multi-instance workload: JOBS in-process no-op jobs every second
// on a shared PostgreSQL store. Each run's lateness (handler start − slot) is kept as
// [slot, lateness] pairs and written to SAMPLES_FILE on SIGTERM; a kill -9 loses them, which is
// fine: the parent measures failover from the survivors and from the runs table.
import { writeFileSync } from "node:fs";
import { createScheduler } from "../../dist/index.js";

const jobs = Number(process.env.JOBS ?? 1_000);
const samples = [];
const clock = createScheduler({ store: process.env.STORE_URL, heartbeat: process.env.HEARTBEAT ?? "1s", abandonAfter: process.env.ABANDON_AFTER ?? "3s" });
for (let i = 0; i < jobs; i++) {
  clock.job(`job-${i}`, { every: "1s" }, (ctx) => {
    const slot = ctx.slot.getTime();
    samples.push(slot, Date.now() - slot);
  });
}
await clock.start();
const cpu0 = process.cpuUsage();
process.stdout.write(JSON.stringify({ ready: true, instanceId: clock.instanceId }) + "\n");
process.once("SIGTERM", async () => {
  const cpu = process.cpuUsage(cpu0);
  await clock.stop({ timeout: 0 });
  writeFileSync(process.env.SAMPLES_FILE, JSON.stringify({ instanceId: clock.instanceId, cpuMicros: cpu.user + cpu.system, samples }));
  process.stdout.write(JSON.stringify({ done: true }) + "\n");
});
