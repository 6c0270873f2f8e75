import { describe, expect, it } from "vitest";
import { Ownership } from "../../src/engine/claim/ownership.js";
import type { InstanceRecord } from "../../src/store/types.js";

const NOW = Date.UTC(2026, 0, 1);
const JOBS = Array.from({ length: 6_000 }, (_, i) => `job-${i}`);

function instance(id: string, over: Partial<InstanceRecord> = {}): InstanceRecord {
  return { id, host: "h", pid: 1, version: "t", startedAt: NOW - 60_000, lastSeen: NOW, stoppedAt: null, ...over };
}

/** Each instance's view of the same live set, as they would all read it from the store. */
function cluster(ids: string[]): Map<string, Ownership> {
  const views = new Map<string, Ownership>();
  for (const id of ids) {
    const o = new Ownership(id);
    o.update(ids.map((i) => instance(i)), NOW, 11_000);
    views.set(id, o);
  }
  return views;
}

/** Which instance each job belongs to; fails if a job has no owner or two. */
function owners(views: Map<string, Ownership>): Map<string, string> {
  const out = new Map<string, string>();
  for (const job of JOBS) {
    const claimers = [...views].filter(([, o]) => o.owns(job)).map(([id]) => id);
    if (claimers.length !== 1) throw new Error(`${job} is owned by ${claimers.length} instances (${claimers.join(", ")}), not one`);
    out.set(job, claimers[0]!);
  }
  return out;
}

describe("Ownership: which instance claims a job's slots first", () => {
  it("alone, an instance owns every job", () => {
    const o = new Ownership("solo");
    expect(JOBS.every((j) => o.owns(j))).toBe(true);
    o.update([], NOW, 11_000); // not even its own row read yet: it still counts itself
    expect(o.liveCount).toBe(1);
    expect(JOBS.every((j) => o.owns(j))).toBe(true);
  });

  it("every job has exactly one owner, and the jobs are spread evenly: each of n instances within ±10 % of 1/n", () => {
    for (const n of [2, 3, 5]) {
      const ids = Array.from({ length: n }, (_, i) => `web${i + 1}-${1000 + i}-abcd${i}`);
      const byOwner = new Map<string, number>();
      for (const owner of owners(cluster(ids)).values()) byOwner.set(owner, (byOwner.get(owner) ?? 0) + 1);
      expect([...byOwner.keys()].sort()).toEqual([...ids].sort());
      const fair = JOBS.length / n;
      for (const count of byOwner.values()) {
        expect(count).toBeGreaterThan(fair * 0.9);
        expect(count).toBeLessThan(fair * 1.1);
      }
    }
  });

  it("is stable: a fourth instance joining takes about a quarter of the jobs, all from the others, and moves none between them", () => {
    const three = ["web1", "web2", "web3"];
    const before = owners(cluster(three));
    const after = owners(cluster([...three, "web4"]));
    const moved = JOBS.filter((j) => before.get(j) !== after.get(j));
    expect(moved.length / JOBS.length).toBeGreaterThan(0.2);
    expect(moved.length / JOBS.length).toBeLessThan(0.3);
    expect(moved.every((j) => after.get(j) === "web4")).toBe(true);
    // …and when it leaves again, every job goes back where it was.
    expect(owners(cluster(three))).toEqual(before);
  });

  it("counts only instances seen within the window and not stopped; the dead one's jobs go to the living", () => {
    const o = new Ownership("web1");
    const all = [instance("web1"), instance("web2"), instance("web3")];
    o.update(all, NOW, 11_000);
    const withThree = JOBS.filter((j) => o.owns(j)).length;
    o.update([instance("web1"), instance("web2", { lastSeen: NOW - 11_001 }), instance("web3", { stoppedAt: NOW - 1 })], NOW, 11_000);
    expect(o.liveCount).toBe(1);
    expect(JOBS.every((j) => o.owns(j))).toBe(true);
    o.update([instance("web1"), instance("web2", { lastSeen: NOW - 11_000 }), instance("web3", { stoppedAt: NOW - 1 })], NOW, 11_000);
    expect(o.liveCount).toBe(2); // seen exactly at the window's edge still counts
    expect(JOBS.filter((j) => o.owns(j)).length).toBeGreaterThan(withThree);
  });

  it("ids that differ only in their last character still share the jobs evenly", () => {
    const ids = ["host-123-aaaa1", "host-123-aaaa2"];
    const counts = [...owners(cluster(ids)).values()].filter((o) => o === ids[0]).length;
    expect(counts / JOBS.length).toBeGreaterThan(0.45);
    expect(counts / JOBS.length).toBeLessThan(0.55);
  });
});
