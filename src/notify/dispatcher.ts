import type { Logger } from "../logger.js";
import type { DeliveryRecord, OutboxStore } from "../store/types.js";
import type { NotificationFacts } from "./facts.js";
import { MAX_RETRY_AFTER_MS, MAX_TIMER_MS, type PostResult } from "./http.js";
import type { Notifier } from "./notifiers.js";

export interface DispatcherOptions {
  store: Pick<OutboxStore, "claimDeliveries" | "settleDelivery">;
  notifiers: Notifier[];
  instanceId: string;
  log: Logger;
  pollMs?: number;
  /** Give up on a notification this long after it was written. */
  giveUpAfterMs?: number;
  backoffBaseMs?: number;
  now?: () => number;
  /** Told each delivery attempt's outcome (for /metrics). */
  onOutcome?: (notifier: string, outcome: "delivered" | "retry" | "failed") => void;
}

const LEASE_MS = 120_000;
const MAX_BACKOFF_MS = 60_000;
// A 429 without Retry-After still means "slow down".
const DEFAULT_RETRY_AFTER_MS = 5_000;

type Settings = Required<Omit<DispatcherOptions, "store" | "notifiers" | "instanceId" | "log" | "onOutcome">>;

/**
 * Sends the stored notifications, off the scheduling path: each notifier has its own lane
 * (its own loop and timers, plain async I/O), so a slow or dead endpoint delays only its own
 * messages, never another notifier's and never a slot. Deliveries are leased from the store
 * per notifier, so with several instances each is sent by one instance that has that notifier.
 */
export class DeliveryDispatcher {
  private readonly lanes: Lane[];
  private holds = 0;

  constructor(opts: DispatcherOptions) {
    const settings: Settings = {
      pollMs: opts.pollMs ?? 1_000,
      giveUpAfterMs: opts.giveUpAfterMs ?? 5 * 60_000,
      backoffBaseMs: opts.backoffBaseMs ?? 1_000,
      now: opts.now ?? Date.now,
    };
    this.lanes = opts.notifiers.map((n) => new Lane(n, opts, settings, () => this.holds > 0));
  }

  start(): void {
    for (const lane of this.lanes) lane.schedule(0);
  }

  /** Look now (a notification was just written). */
  kick(): void {
    if (this.holds === 0) for (const lane of this.lanes) lane.schedule(0);
  }

  /** While held, nothing is claimed: the monitor holds it while it writes a burst, so the burst goes out as one digest. */
  hold(): void {
    this.holds++;
  }

  release(): void {
    this.holds = Math.max(0, this.holds - 1);
  }

  async stop(): Promise<void> {
    await Promise.all(this.lanes.map((lane) => lane.stop()));
  }

  /** One pass of every lane; for tests. */
  async runOnce(): Promise<void> {
    await Promise.all(this.lanes.map((lane) => lane.pass()));
  }
}

class Lane {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private lastSent = 0;
  private blockedUntil = 0;
  /** Why the lane is blocked (the 429 and until when), kept for deliveries that give up meanwhile. */
  private blockedWhy = "";
  private readonly abort = new AbortController();

  constructor(
    private readonly n: Notifier,
    private readonly o: DispatcherOptions,
    private readonly s: Settings,
    private readonly held: () => boolean,
  ) {}

  schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.loop(), timerMs(ms));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.abort.abort(); // a request in flight is left for the next daemon (its lease expires)
    await this.running;
  }

  private async loop(): Promise<void> {
    this.timer = null;
    if (this.running || this.held()) return this.schedule(this.s.pollMs);
    this.running = this.pass().catch((error) => this.o.log.warn({ err: error, notifier: this.n.label }, "notification delivery pass failed"));
    await this.running;
    this.running = null;
    // Polled even while blocked by a 429, so notifications that cannot wait give up on time.
    this.schedule(this.s.pollMs);
  }

  async pass(): Promise<void> {
    const due = await this.o.store.claimDeliveries({ instanceId: this.o.instanceId, notifier: this.n.id, now: this.s.now(), leaseMs: LEASE_MS, limit: 1_000 });
    if (due.length === 0) return;
    if (this.s.now() < this.blockedUntil) {
      // Told to slow down (429): nothing is sent before blockedUntil. Each notification waits
      // until then, untried, or gives up now if its give-up time comes first.
      const blocked: PostResult = { ok: false, retryable: true, retryAfterMs: null, status: null, error: this.blockedWhy };
      for (const d of due) await this.settle(d, blocked, 1, false);
      return;
    }
    if (due.length > this.n.digestAbove) {
      const result = await this.send(due);
      for (const d of due) await this.settle(d, result, due.length);
      return;
    }
    for (let i = 0; i < due.length; i++) {
      const result = await this.send([due[i]!]);
      await this.settle(due[i]!, result, 1);
      if (!result.ok && result.retryable) {
        // The endpoint is struggling: the rest of this batch waits as long, untried.
        for (const rest of due.slice(i + 1)) await this.settle(rest, result, 1, false);
        return;
      }
    }
  }

  private async send(batch: DeliveryRecord[]): Promise<PostResult> {
    const wait = this.lastSent + this.n.minIntervalMs - this.s.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, timerMs(wait)));
    this.lastSent = this.s.now();
    return this.n.send(batch.map((d) => d.payload as NotificationFacts), this.s.now(), this.abort.signal);
  }

  private async settle(d: DeliveryRecord, result: PostResult, batch: number, attempted = true): Promise<void> {
    const now = this.s.now();
    const { store, log, instanceId } = this.o;
    const job = (d.payload as NotificationFacts).job;
    if (result.ok) {
      this.o.onOutcome?.(this.n.label, "delivered");
      await store.settleDelivery(d.id, instanceId, { kind: "delivered" }, now);
      log.debug({ notifier: this.n.label, job, kind: d.kind, batch }, "notification delivered");
      return;
    }
    if (this.stopped) return; // aborted by stop(): the lease runs out and the next daemon sends it
    const attempts = d.attempts + (attempted ? 1 : 0);
    const backoff = Math.min(MAX_BACKOFF_MS, this.s.backoffBaseMs * 2 ** Math.max(0, attempts - 1));
    // Capped (http.ts caps it too): an absurd Retry-After must neither silence the notifier until
    // a restart nor overflow a timer.
    const told = Math.min(MAX_RETRY_AFTER_MS, result.status === 429 ? (result.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS) : (result.retryAfterMs ?? 0));
    if (result.status === 429 && now + told > this.blockedUntil) {
      this.blockedUntil = now + told;
      this.blockedWhy = `HTTP 429, asked to wait until ${new Date(this.blockedUntil).toISOString()}`;
    }
    const why = result.status === 429 ? this.blockedWhy : result.error;
    // The give-up time wins over Retry-After: a retry that would come after it is not waited for.
    const at = Math.max(now + backoff, now + told, this.blockedUntil);
    if (!result.retryable || at - d.createdAt > this.s.giveUpAfterMs) {
      if (attempted) this.o.onOutcome?.(this.n.label, "failed");
      const tries = attempts === 0 ? "without an attempt" : `after ${attempts} attempt(s)`;
      const error = result.retryable ? `gave up ${tries}: ${why}` : why;
      await store.settleDelivery(d.id, instanceId, { kind: "failed", error }, now);
      log.error({ notifier: this.n.label, job, kind: d.kind, error }, "notification not delivered");
      return;
    }
    if (attempted) this.o.onOutcome?.(this.n.label, "retry");
    await store.settleDelivery(d.id, instanceId, { kind: "retry", at, error: why }, now);
    if (attempted) log.warn({ notifier: this.n.label, job, kind: d.kind, error: why, retryInMs: at - now }, "notification failed; will retry");
  }
}

/** A delay Node's timers can hold: beyond 2^31−1 ms they would fire after 1 ms. */
function timerMs(ms: number): number {
  return Math.min(MAX_TIMER_MS, Math.max(0, ms));
}
