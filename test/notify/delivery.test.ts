import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { silentLogger } from "../../src/logger.js";
import { DeliveryDispatcher } from "../../src/notify/dispatcher.js";
import type { NotificationFacts } from "../../src/notify/facts.js";
import { notifiersFrom, type Notifier } from "../../src/notify/notifiers.js";
import { sign } from "../../src/notify/webhook.js";
import { MAX_RETRY_AFTER_MS, parseRetryAfter } from "../../src/notify/http.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { httpSink } from "../helpers/http-sink.js";
import { Engine } from "../../src/engine/engine.js";
import { makeSpec, tempDir } from "../helpers/spec.js";
import { waitFor } from "../helpers/engine-harness.js";
import { VERSION } from "../../src/version.js";
import { enqueueNotification, listDeliveries } from "../helpers/outbox.js";
import { systemClock, type Clock } from "../../src/clock.js";
import { FakeClock, settle } from "../../src/testing/fake-clock.js";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

function facts(over: Partial<NotificationFacts> = {}): NotificationFacts {
  return {
    version: 1, kind: "opened", job: "sync-orders", description: "Sync orders from the shop", state: "failing", previousState: null,
    since: Date.UTC(2026, 10, 26, 9, 0), reason: "its last run failed",
    lastRun: { id: 41, status: "failed", startedAt: Date.UTC(2026, 10, 26, 9, 0), finishedAt: Date.UTC(2026, 10, 26, 9, 0, 2), durationMs: 2_000 },
    nextSlot: Date.UTC(2026, 10, 26, 9, 5), errorLines: ["exited with code 3", "ERROR: connection refused"],
    host: "app-1", instance: "app-1-123-abcd", at: Date.UTC(2026, 10, 26, 9, 0, 3), ...over,
  };
}

/**
 * Waits for `work` (a dispatcher pass) while moving the fake clock through the waits it sets
 * (Slack's one message a second), a millisecond at a time: only while a timer is pending, so
 * time never runs ahead while the pass waits for the HTTP server.
 */
async function drive<T>(clock: FakeClock, work: Promise<T>): Promise<T> {
  let done = false;
  const result = work.finally(() => void (done = true));
  while (!done) {
    await settle(1);
    if (!done && clock.pendingTimers() > 0) await clock.advance(1);
  }
  return result;
}

/** Records the time (the dispatcher's clock) each request was sent at. */
function timed(notifiers: Notifier[], sentAt: number[]): Notifier[] {
  return notifiers.map((n) => ({ ...n, send: (batch, now, stop) => (sentAt.push(now), n.send(batch, now, stop)) }));
}

async function setup(script: Parameters<typeof httpSink>[0], opts: { timeoutMs?: number; clock?: Clock } = {}) {
  const sink = await httpSink(script);
  const store = SqliteStore.open(join(tempDir(), "n.db"));
  closers.push(() => sink.close(), () => store.close());
  const sentAt: number[] = [];
  const notifiers = timed(notifiersFrom({ slack: { webhook: sink.url, channel: "#dev-notify", username: "jobclock" } }, opts.timeoutMs ?? 10_000), sentAt);
  const warnings: string[] = [];
  const log = { ...silentLogger, warn: (o: object | string) => void warnings.push(JSON.stringify(o)), error: (o: object | string) => void warnings.push(JSON.stringify(o)) };
  const outcomes: string[] = [];
  const dispatcher = new DeliveryDispatcher({
    store, notifiers, instanceId: "i1", log, backoffBaseMs: 50, pollMs: 20, onOutcome: (n, o) => void outcomes.push(`${n} ${o}`), clock: opts.clock,
  });
  closers.push(() => dispatcher.stop());
  return { sink, store, dispatcher, notifiers, warnings, outcomes, sentAt };
}

describe("Slack notifier", () => {
  it("sends a message made for people: Block Kit, a text fallback, channel and username", async () => {
    const { sink, store, dispatcher, notifiers } = await setup([]);
    await enqueueNotification(store, { now: Date.now(), notify: { kind: "opened", payload: facts(), notifiers: notifiers.map((n) => n.id) } });
    await dispatcher.runOnce();
    expect(sink.delivered).toHaveLength(1);
    const body = sink.delivered[0]!.body as { text: string; channel: string; username: string; blocks: { text?: { text: string }; fields?: { text: string }[] }[] };
    expect(body.channel).toBe("#dev-notify");
    expect(body.username).toBe("jobclock");
    expect(body.text).toBe("sync-orders is failing: its last run failed. Last run: #41 failed at 2026-11-26 09:00:00Z, took 2s. Error: exited with code 3");
    const all = JSON.stringify(body.blocks);
    for (const expected of [
      "*sync-orders is failing*", "its last run failed", "failing since 2026-11-26 09:00:00Z", "#41 failed", "took 2s",
      "*Next slot*\\n2026-11-26 09:05:00Z", "app-1 (app-1-123-abcd)", "exited with code 3\\nERROR: connection refused", "Sync orders from the shop",
    ]) expect(all).toContain(expected);
    expect((await listDeliveries(store))[0]).toMatchObject({ status: "delivered", attempts: 1 });
  });

  it("retries through a 500, a timeout and a 429 with Retry-After, and delivers exactly once", async () => {
    const { sink, store, dispatcher, notifiers, warnings, outcomes } = await setup(
      [{ status: 500 }, { hang: true }, { status: 429, headers: { "retry-after": "1" } }],
      { timeoutMs: 300 },
    );
    await enqueueNotification(store, { now: Date.now(), notify: { kind: "opened", payload: facts(), notifiers: notifiers.map((n) => n.id) } });
    // A job every 200 ms runs in the same process while the endpoint fails and hangs.
    const lateness: number[] = [];
    const engine = new Engine({ store, handlers: new Map([["tick", (ctx) => void lateness.push(Date.now() - ctx.slot.getTime())]]) });
    await engine.apply([makeSpec("tick", { schedule: { kind: "every", everyMs: 200 } })]);
    await engine.start();
    closers.unshift(() => engine.stop(0));
    const t0 = Date.now();
    dispatcher.start();
    await waitFor("the notification to get through", () => sink.delivered.length > 0, 8_000);
    await engine.stop(0);
    expect(lateness.length).toBeGreaterThanOrEqual(8);
    expect(Math.max(...lateness)).toBeLessThan(100); // slots kept their time while delivery struggled
    expect(sink.requests).toHaveLength(4);
    expect(sink.delivered).toHaveLength(1);
    // The 429's Retry-After (1 s) was honoured before the fourth attempt.
    expect(sink.requests[3]!.at - sink.requests[2]!.at).toBeGreaterThanOrEqual(950);
    expect(Date.now() - t0).toBeLessThan(6_000);
    // The server answered; the dispatcher records that a moment later.
    await waitFor("the delivery to be recorded", async () => (await listDeliveries(store))[0]!.status !== "pending", 2_000);
    expect((await listDeliveries(store))[0]).toMatchObject({ status: "delivered", attempts: 4 });
    // Failures are logged without the webhook URL, which is a secret.
    expect(warnings.length).toBeGreaterThanOrEqual(3);
    expect(warnings.join("\n")).not.toMatch(/secret-token|127\.0\.0\.1/);
    expect(warnings.join("\n")).toMatch(/HTTP 500/);
    expect(warnings.join("\n")).toMatch(/no answer within 300ms/);
    // What /metrics counts (jobclock_notifications_total), by notifier label, never by URL.
    expect(outcomes).toEqual(["slack retry", "slack retry", "slack retry", "slack delivered"]);
  });

  it("turns a burst into one digest, and keeps to one message per second", async () => {
    const clock = new FakeClock(Date.now());
    const { sink, store, dispatcher, notifiers, sentAt } = await setup([], { clock });
    const ids = notifiers.map((n) => n.id);
    for (let i = 0; i < 200; i++) {
      await enqueueNotification(store, { now: clock.now(), notify: { kind: "opened", payload: facts({ job: `job-${i}`, state: "delayed" }), notifiers: ids } });
    }
    await dispatcher.runOnce();
    expect(sink.delivered).toHaveLength(1);
    expect((sink.delivered[0]!.body as { text: string }).text).toBe("jobclock: 200 job notifications (200 delayed)");
    expect(JSON.stringify(sink.delivered[0]!.body)).toContain("and 160 more");
    expect(await listDeliveries(store, { status: "delivered" })).toHaveLength(200);
    // Three separate ones go one by one, a second apart.
    for (let i = 0; i < 3; i++) await enqueueNotification(store, { now: clock.now(), notify: { kind: "opened", payload: facts({ job: `solo-${i}` }), notifiers: ids } });
    const t0 = clock.now();
    await drive(clock, dispatcher.runOnce());
    const solo = sink.delivered.slice(1);
    expect(solo).toHaveLength(3);
    expect(sentAt.slice(1).map((t) => t - t0)).toEqual([1_000, 2_000, 3_000]); // the digest went out at t0: a second after it, then one a second
  });

  it("gives up after the window and says so, without the URL", async () => {
    const sink = await httpSink([{ status: 404 }]);
    const store = SqliteStore.open(join(tempDir(), "n.db"));
    closers.push(() => sink.close(), () => store.close());
    const errors: string[] = [];
    const log = { ...silentLogger, error: (o: object | string) => void errors.push(JSON.stringify(o)) };
    const notifiers = notifiersFrom({ webhooks: [{ url: sink.url }] });
    const dispatcher = new DeliveryDispatcher({ store, notifiers, instanceId: "i1", log });
    await enqueueNotification(store, { now: Date.now(), notify: { kind: "opened", payload: facts(), notifiers: notifiers.map((n) => n.id) } });
    await dispatcher.runOnce();
    expect((await listDeliveries(store))[0]).toMatchObject({ status: "failed", lastError: "HTTP 404" }); // a 404 will not get better
    expect(errors.join("")).toMatch(/webhook 127\.0\.0\.1:\d+/);
    expect(errors.join("")).not.toMatch(/secret-token/);
  });

  it("delivers a notification left undelivered by a daemon that stopped, once, after a restart", async () => {
    const sink = await httpSink([]);
    closers.push(() => sink.close());
    const path = join(tempDir(), "n.db");
    const notifiers = notifiersFrom({ slack: { webhook: sink.url } });
    const before = SqliteStore.open(path);
    await enqueueNotification(before, { now: Date.now(), notify: { kind: "opened", payload: facts(), notifiers: notifiers.map((n) => n.id) } });
    await before.close(); // the daemon stops before sending
    const after = SqliteStore.open(path);
    closers.push(() => after.close());
    const dispatcher = new DeliveryDispatcher({ store: after, notifiers, instanceId: "i2", log: silentLogger });
    await dispatcher.runOnce();
    await dispatcher.runOnce();
    expect(sink.delivered).toHaveLength(1);
  });
});

describe("delivery lanes", () => {
  it("after a 429, later notifications wait out the Retry-After too", async () => {
    const clock = new FakeClock(Date.now());
    const { sink, store, dispatcher, notifiers, sentAt } = await setup([{ status: 429, headers: { "retry-after": "2" } }], { clock });
    const ids = notifiers.map((n) => n.id);
    const t0 = clock.now();
    await enqueueNotification(store, { now: clock.now(), notify: { kind: "opened", payload: facts({ job: "first" }), notifiers: ids } });
    await dispatcher.runOnce(); // 429
    await enqueueNotification(store, { now: clock.now(), notify: { kind: "opened", payload: facts({ job: "second" }), notifiers: ids } });
    await dispatcher.runOnce(); // still blocked: nothing is sent
    await clock.advance(1_999);
    await dispatcher.runOnce(); // a millisecond before the Retry-After ends: still nothing
    expect(sink.requests).toHaveLength(1);
    await clock.advance(101);
    await drive(clock, dispatcher.runOnce());
    expect(sink.delivered.map((r) => String(r.body.text).split(" ")[0])).toEqual(["first", "second"]);
    expect(sentAt.map((t) => t - t0)).toEqual([0, 2_100, 3_100]); // then one a second, as Slack asks
    expect(await listDeliveries(store, { status: "delivered" })).toHaveLength(2);
  });

  it("a hanging webhook holds up neither Slack nor stop()", async () => {
    const slack = await httpSink();
    const hung = await httpSink(Array.from({ length: 10 }, () => ({ hang: true as const })));
    const store = SqliteStore.open(join(tempDir(), "n.db"));
    closers.push(() => slack.close(), () => hung.close(), () => store.close());
    const notifiers = notifiersFrom({ slack: { webhook: slack.url }, webhooks: [{ url: hung.url }] }, 5_000);
    const dispatcher = new DeliveryDispatcher({ store, notifiers, instanceId: "i1", log: silentLogger, pollMs: 20 });
    for (let i = 0; i < 3; i++) {
      await enqueueNotification(store, { now: Date.now(), notify: { kind: "opened", payload: facts({ job: `j${i}` }), notifiers: notifiers.map((n) => n.id) } });
    }
    const t0 = Date.now();
    dispatcher.start();
    await waitFor("Slack's delivery", () => slack.delivered.length > 0, 4_000);
    expect(slack.delivered).toHaveLength(1);
    expect(Date.now() - t0).toBeLessThan(2_000); // not behind the webhook's 5 s timeouts
    const s0 = Date.now();
    await dispatcher.stop();
    expect(Date.now() - s0).toBeLessThan(1_000); // the hung request is aborted, not waited out
    expect((await listDeliveries(store)).filter((d) => d.notifier.startsWith("webhook")).every((d) => d.status === "pending")).toBe(true);
  });
});

describe("webhook notifier", () => {
  it("posts the facts as versioned JSON, signed with HMAC-SHA256 when a secret is set", async () => {
    const sink = await httpSink([]);
    const store = SqliteStore.open(join(tempDir(), "n.db"));
    closers.push(() => sink.close(), () => store.close());
    const notifiers = notifiersFrom({ webhooks: [{ url: sink.url, secret: "s3cret" }, { url: `${sink.url}?unsigned` }] });
    const dispatcher = new DeliveryDispatcher({ store, notifiers, instanceId: "i1", log: silentLogger });
    await enqueueNotification(store, { now: Date.now(), notify: { kind: "opened", payload: facts(), notifiers: notifiers.map((n) => n.id) } });
    await dispatcher.runOnce();
    expect(sink.delivered).toHaveLength(2);
    const signed = sink.delivered.find((r) => !r.path.includes("unsigned"))!;
    expect(signed.body).toEqual(JSON.parse(JSON.stringify(facts())));
    expect(signed.body.version).toBe(1);
    const timestamp = signed.headers["x-jobclock-timestamp"] as string;
    expect(signed.headers["x-jobclock-signature"]).toBe(`sha256=${sign("s3cret", timestamp, signed.raw)}`);
    const unsigned = sink.delivered.find((r) => r.path.includes("unsigned"))!;
    expect(unsigned.headers["x-jobclock-signature"]).toBeUndefined();
  });
});

describe("every request says it is jobclock", () => {
  it("Slack and webhook POSTs carry User-Agent: jobclock/VERSION", async () => {
    const sink = await httpSink([]);
    const store = SqliteStore.open(join(tempDir(), "n.db"));
    closers.push(() => sink.close(), () => store.close());
    const notifiers = notifiersFrom({ slack: { webhook: `${sink.url}?slack` }, webhooks: [{ url: `${sink.url}?hook`, secret: "s3cret" }] });
    const dispatcher = new DeliveryDispatcher({ store, notifiers, instanceId: "i1", log: silentLogger });
    await enqueueNotification(store, { now: Date.now(), notify: { kind: "opened", payload: facts(), notifiers: notifiers.map((n) => n.id) } });
    await dispatcher.runOnce();
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    expect(VERSION).toBe(pkg.version);
    expect(sink.delivered.map((r) => [r.path.split("?")[1], r.headers["user-agent"]]).sort()).toEqual([
      ["hook", `jobclock/${pkg.version}`], ["slack", `jobclock/${pkg.version}`],
    ]);
  });
});

describe("Retry-After is capped (a hostile or broken endpoint cannot stall delivery for days)", () => {
  /**
   * A dispatcher whose time the test moves forward by hand, over a real loopback endpoint. Its
   * timers are this machine's: the first test checks that none of them overflows.
   */
  async function blockedLane(script: Parameters<typeof httpSink>[0], giveUpAfterMs?: number) {
    const sink = await httpSink(script);
    const store = SqliteStore.open(join(tempDir(), "n.db"));
    closers.push(() => sink.close(), () => store.close());
    const notifiers = notifiersFrom({ webhooks: [{ url: sink.url }] });
    const clock = { ...systemClock, skipped: 0, now: () => Date.now() + clock.skipped };
    const dispatcher = new DeliveryDispatcher({
      store, notifiers, instanceId: "i1", log: silentLogger, pollMs: 20, backoffBaseMs: 50, giveUpAfterMs, clock,
    });
    closers.push(() => dispatcher.stop());
    const enqueue = (job: string, at = clock.now()) =>
      enqueueNotification(store, { now: at, notify: { kind: "opened", payload: facts({ job }), notifiers: notifiers.map((n) => n.id) } });
    const statusOf = async (job: string) => (await listDeliveries(store)).find((d) => (d.payload as NotificationFacts).job === job);
    return { sink, store, dispatcher, clock, enqueue, statusOf };
  }

  it("an absurd Retry-After neither overflows a timer nor silences the notifier until a restart", async () => {
    const overflow: string[] = [];
    const onWarning = (w: Error) => void (w.name === "TimeoutOverflowWarning" && overflow.push(w.message));
    process.on("warning", onWarning);
    const longTimers: number[] = [];
    const realSetTimeout = globalThis.setTimeout;
    const spy = vi.spyOn(globalThis, "setTimeout").mockImplementation(((fn: () => void, ms?: number, ...rest: unknown[]) => {
      if ((ms ?? 0) > 2 ** 31 - 1) longTimers.push(ms!);
      return (realSetTimeout as (fn: () => void, ms?: number, ...rest: unknown[]) => ReturnType<typeof setTimeout>)(fn, ms, ...rest);
    }) as typeof setTimeout);
    closers.push(async () => void (spy.mockRestore(), process.off("warning", onWarning)));

    const { sink, dispatcher, clock, enqueue, statusOf } = await blockedLane([{ status: 429, headers: { "retry-after": "99999999999" } }]);
    await enqueue("first");
    dispatcher.start();
    await waitFor("the 429 to be settled", async () => (await statusOf("first"))?.status !== "pending");
    // The wait asked for (and even the 10-minute cap) is past the 5-minute give-up time: it gives up now.
    expect(await statusOf("first")).toMatchObject({ status: "failed", lastError: expect.stringMatching(/^gave up after 1 attempt\(s\): HTTP 429/) });
    // One written during the block cannot be sent in time either: it gives up too, untried, not stuck pending.
    await enqueue("during");
    dispatcher.kick();
    await waitFor("the one written during the block to be settled", async () => (await statusOf("during"))?.status !== "pending");
    expect(await statusOf("during")).toMatchObject({ status: "failed", lastError: expect.stringMatching(/^gave up without an attempt: HTTP 429/) });
    expect(sink.requests).toHaveLength(1);
    // Past the cap (10 minutes, not 3,000 years), the notifier sends again.
    clock.skipped += 10 * 60_000 + 1_000;
    await enqueue("after");
    dispatcher.kick();
    await waitFor("the next notification to be delivered", async () => (await statusOf("after"))?.status === "delivered");
    expect(sink.delivered.map((r) => r.body.job)).toEqual(["after"]);
    expect(longTimers).toEqual([]);
    expect(overflow).toEqual([]);
  });

  it("parses seconds and HTTP dates, and caps both at 10 minutes", () => {
    const now = Date.UTC(2026, 0, 1);
    expect(parseRetryAfter("7", now)).toBe(7_000);
    expect(parseRetryAfter(new Date(now + 90_000).toUTCString(), now)).toBe(90_000);
    expect(parseRetryAfter("99999999999", now)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter("9".repeat(400), now)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter("Fri, 31 Dec 9999 23:59:59 GMT", now)).toBe(MAX_RETRY_AFTER_MS);
    expect(MAX_RETRY_AFTER_MS).toBe(10 * 60_000);
    expect(parseRetryAfter("soon", now)).toBeNull();
  });

  it("the give-up time wins over Retry-After for what waits during a block", async () => {
    const { sink, dispatcher, clock, enqueue, statusOf } = await blockedLane([{ status: 429, headers: { "retry-after": "50" } }], 60_000);
    await enqueue("first");
    await dispatcher.runOnce(); // "first" gets the 429: 50 s to wait, within its minute
    expect(await statusOf("first")).toMatchObject({ status: "pending" });
    await enqueue("older", clock.now() - 30_000); // written by another instance 30 s ago, not yet sent
    await enqueue("fresh");
    await dispatcher.runOnce(); // blocked: nothing is sent
    expect(sink.requests).toHaveLength(1);
    // "older" could only be tried 80 s after it was written: it gives up now, "fresh" waits.
    expect(await statusOf("older")).toMatchObject({ status: "failed", lastError: expect.stringMatching(/^gave up without an attempt: HTTP 429, asked to wait until /) });
    expect(await statusOf("fresh")).toMatchObject({ status: "pending" });
    clock.skipped += 51_000;
    await dispatcher.runOnce();
    expect(sink.delivered.map((r) => r.body.job)).toEqual(["first", "fresh"]);
  });
});
