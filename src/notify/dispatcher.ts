import { sleep, systemClock, type Clock, type TimerHandle } from "../clock.js";
import type { Logger } from "../logger.js";
import { coalescing } from "../util/coalesce.js";
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
  /**
   * Time and timers: the engine's clock (corrected to the store's, like the deliveries'
   * timestamps), or a FakeClock in tests. Default: this machine's.
   */
  clock?: Clock;
  /** Told each delivery attempt's outcome (for /metrics). */
  onOutcome?: (notifier: string, outcome: "delivered" | "retry" | "failed") => void;
}

const LEASE_MS = 120_000;
const MAX_BACKOFF_MS = 60_000;
// A 429 without Retry-After still means "slow down".
const DEFAULT_RETRY_AFTER_MS = 5_000;

type Settings = Required<Omit<DispatcherOptions, "store" | "notifiers" | "instanceId" | "log" | "onOutcome" | "clock">>;

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
    };
    const clock = opts.clock ?? systemClock;
    this.lanes = opts.notifiers.map((notifier) => new Lane(notifier, opts, settings, clock, () => this.holds > 0));
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
  private timer: TimerHandle | null = null;
  /** A wake-up during a pass (a new notification) gets one more pass right after it. */
  private readonly passes = coalescing(() =>
    this.pass().catch((error) => this.options.log.warn({ err: error, notifier: this.notifier.label }, "notification delivery pass failed")),
  );
  private stopped = false;
  private lastSent = 0;
  private blockedUntil = 0;
  /** Why the lane is blocked (the 429 and until when), kept for deliveries that give up meanwhile. */
  private blockedWhy = "";
  private readonly abort = new AbortController();

  constructor(
    private readonly notifier: Notifier,
    private readonly options: DispatcherOptions,
    private readonly settings: Settings,
    private readonly clock: Clock,
    private readonly held: () => boolean,
  ) {}

  schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => void this.loop(), timerMs(ms));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.abort.abort(); // a request in flight is left for the next daemon (its lease expires)
    await this.passes.idle();
  }

  private async loop(): Promise<void> {
    this.timer = null;
    if (this.held()) return this.schedule(this.settings.pollMs);
    await this.passes.run();
    // Polled even while blocked by a 429, so notifications that cannot wait give up on time.
    this.schedule(this.settings.pollMs);
  }

  async pass(): Promise<void> {
    // A pass asked for just before stop() must not lease deliveries it will never send: the
    // next daemon (or another instance) could not send them until the lease ran out.
    if (this.stopped) return;
    const due = await this.options.store.claimDeliveries({ instanceId: this.options.instanceId, notifier: this.notifier.id, now: this.clock.now(), leaseMs: LEASE_MS, limit: 1_000 });
    if (due.length === 0) return;
    if (this.clock.now() < this.blockedUntil) {
      // Told to slow down (429): nothing is sent before blockedUntil. Each notification waits
      // until then, untried, or gives up now if its give-up time comes first.
      const blocked: PostResult = { ok: false, retryable: true, retryAfterMs: null, status: null, error: this.blockedWhy };
      for (const d of due) await this.settle(d, blocked, 1, false);
      return;
    }
    if (due.length > this.notifier.digestAbove) {
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
    const wait = this.lastSent + this.notifier.minIntervalMs - this.clock.now();
    if (wait > 0) await sleep(this.clock, timerMs(wait));
    this.lastSent = this.clock.now();
    return this.notifier.send(batch.map((d) => d.payload as NotificationFacts), this.clock.now(), this.abort.signal);
  }

  private async settle(d: DeliveryRecord, result: PostResult, batch: number, attempted = true): Promise<void> {
    const now = this.clock.now();
    const { store, log, instanceId } = this.options;
    const job = (d.payload as NotificationFacts).job;
    if (result.ok) {
      this.options.onOutcome?.(this.notifier.label, "delivered");
      await store.settleDelivery(d.id, instanceId, { kind: "delivered" }, now);
      log.debug({ notifier: this.notifier.label, job, kind: d.kind, batch }, "notification delivered");
      return;
    }
    if (this.stopped) return; // aborted by stop(): the lease runs out and the next daemon sends it
    const attempts = d.attempts + (attempted ? 1 : 0);
    const backoff = Math.min(MAX_BACKOFF_MS, this.settings.backoffBaseMs * 2 ** Math.max(0, attempts - 1));
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
    if (!result.retryable || at - d.createdAt > this.settings.giveUpAfterMs) {
      if (attempted) this.options.onOutcome?.(this.notifier.label, "failed");
      const tries = attempts === 0 ? "without an attempt" : `after ${attempts} attempt(s)`;
      const error = result.retryable ? `gave up ${tries}: ${why}` : why;
      await store.settleDelivery(d.id, instanceId, { kind: "failed", error }, now);
      log.error({ notifier: this.notifier.label, job, kind: d.kind, error }, "notification not delivered");
      return;
    }
    if (attempted) this.options.onOutcome?.(this.notifier.label, "retry");
    await store.settleDelivery(d.id, instanceId, { kind: "retry", at, error: why }, now);
    if (attempted) log.warn({ notifier: this.notifier.label, job, kind: d.kind, error: why, retryInMs: at - now }, "notification failed; will retry");
  }
}

/** A delay Node's timers can hold: beyond 2^31−1 ms they would fire after 1 ms. */
function timerMs(ms: number): number {
  return Math.min(MAX_TIMER_MS, Math.max(0, ms));
}
