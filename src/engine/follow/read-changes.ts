import type { JobRecord, SchedulingStore, TriggerRequest } from "../../store/types.js";

const PAGE = 2_000;

/**
 * Reads what changed in the store since `rev`, page by page, handing each job record to
 * `follow`: a first load of 100,000 jobs never sits in memory at once.
 */
export async function readChanges(
  store: SchedulingStore,
  rev: number,
  follow: (record: JobRecord) => void,
): Promise<{ rev: number; jobs: string[]; triggers: TriggerRequest[] }> {
  const names: string[] = [];
  let page = await store.changesSince(rev, { limit: PAGE });
  const { rev: current, triggers } = page;
  for (;;) {
    for (const record of page.jobs) {
      follow(record);
      names.push(record.name);
    }
    const last = page.jobs.at(-1);
    if (!last || page.jobs.length < PAGE) return { rev: current, jobs: names, triggers };
    page = await store.changesSince(rev, { after: { rev: last.rev, name: last.name }, limit: PAGE });
  }
}
