import type { Logger } from "../logger.js";
import type { DeliveryRecord, Store } from "../store/types.js";
import type { NotificationFacts } from "./facts.js";
import type { PostResult } from "./http.js";
import type { Notifier } from "./notifiers.js";

export interface DispatcherOptions {
  store: Store;
  notifiers: Notifier[];
  instanceId: string;
  log: Logger;
  pollMs?: number;
  /** Give up on a notification this long after it was written. */
  giveUpAfterMs?: number;
  backoffBaseMs?: number;
  now?: () => number;
}

const LEASE_MS = 120_000;
const MAX_BACKOFF_MS = 60_000;

/**
 * Sends the stored notifications, off the scheduling path: its own loop, its own timers, plain
 * async I/O, so a slow or dead endpoint delays only other notifications, never a slot.
 * Deliveries are leased from the store, so with several instances each is sent by one of them.
 */
export class DeliveryDispatcher {
  private readonly byId: Map<string, Notifier>;
  private readonly lastSent = new Map<string, number>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private holds = 0;
  private readonly o: Required<Omit<DispatcherOptions, "store" | "notifiers" | "instanceId" | "log">>;

  constructor(private readonly opts: DispatcherOptions) {
    this.byId = new Map(opts.notifiers.map((n) => [n.id, n]));
    this.o = {
      pollMs: opts.pollMs ?? 1_000,
      giveUpAfterMs: opts.giveUpAfterMs ?? 5 * 60_000,
      backoffBaseMs: opts.backoffBaseMs ?? 1_000,
      now: opts.now ?? Date.now,
    };
  }

  start(): void {
    this.schedule(0);
  }

  /** Look now (a notification was just written). */
  kick(): void {
    if (!this.stopped && this.holds === 0) this.schedule(0);
  }

  /** While held, nothing is claimed: the health monitor holds it while it writes a burst, so the burst goes out as one digest. */
  hold(): void {
    this.holds++;
  }

  release(): void {
    this.holds = Math.max(0, this.holds - 1);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One pass: claim what is due and send it. Exposed for tests and `notify test`. */
  async runOnce(): Promise<void> {
    const { store, instanceId } = this.opts;
    const due = await store.claimDeliveries({ instanceId, now: this.o.now(), leaseMs: LEASE_MS, limit: 1_000 });
    const groups = new Map<string, DeliveryRecord[]>();
    for (const d of due) groups.set(d.notifier, [...(groups.get(d.notifier) ?? []), d]);
    await Promise.all([...groups].map(([id, group]) => this.sendGroup(id, group)));
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.loop(), ms);
  }

  private async loop(): Promise<void> {
    this.timer = null;
    if (this.running || this.holds > 0) return this.schedule(this.o.pollMs);
    this.running = this.runOnce().catch((error) => this.opts.log.warn({ err: error }, "notification delivery pass failed"));
    await this.running;
    this.running = null;
    this.schedule(this.o.pollMs);
  }

  private async sendGroup(id: string, group: DeliveryRecord[]): Promise<void> {
    const notifier = this.byId.get(id);
    if (!notifier) {
      for (const d of group) await this.opts.store.settleDelivery(d.id, { kind: "failed", error: "its notifier is no longer configured" }, this.o.now());
      return;
    }
    if (group.length > notifier.digestAbove) {
      await this.waitTurn(notifier);
      const result = await notifier.send(group.map((d) => d.payload as NotificationFacts), this.o.now());
      for (const d of group) await this.settle(notifier, d, result, group.length);
      return;
    }
    for (let i = 0; i < group.length; i++) {
      await this.waitTurn(notifier);
      const d = group[i]!;
      const result = await notifier.send([d.payload as NotificationFacts], this.o.now());
      await this.settle(notifier, d, result, 1);
      if (!result.ok && result.retryAfterMs !== null) {
        // Told to back off (429): the rest of this batch waits as long.
        for (const rest of group.slice(i + 1)) await this.settle(notifier, rest, result, 1, false);
        return;
      }
    }
  }

  private async settle(n: Notifier, d: DeliveryRecord, result: PostResult, batch: number, attempted = true): Promise<void> {
    const now = this.o.now();
    const { store, log } = this.opts;
    if (result.ok) {
      await store.settleDelivery(d.id, { kind: "delivered" }, now);
      log.debug({ notifier: n.label, job: (d.payload as NotificationFacts).job, kind: d.kind, batch }, "notification delivered");
      return;
    }
    const attempts = d.attempts + (attempted ? 1 : 0);
    const backoff = Math.min(MAX_BACKOFF_MS, this.o.backoffBaseMs * 2 ** Math.max(0, attempts - 1));
    const at = now + Math.max(backoff, result.retryAfterMs ?? 0);
    const job = (d.payload as NotificationFacts).job;
    if (!result.retryable || at - d.createdAt > this.o.giveUpAfterMs) {
      const error = result.retryable ? `gave up after ${attempts} attempt(s): ${result.error}` : result.error;
      await store.settleDelivery(d.id, { kind: "failed", error }, now);
      log.error({ notifier: n.label, job, kind: d.kind, error }, "notification not delivered");
      return;
    }
    await store.settleDelivery(d.id, { kind: "retry", at, error: result.error }, now);
    if (attempted) log.warn({ notifier: n.label, job, kind: d.kind, error: result.error, retryInMs: at - now }, "notification failed; will retry");
  }

  private async waitTurn(n: Notifier): Promise<void> {
    const wait = (this.lastSent.get(n.id) ?? 0) + n.minIntervalMs - this.o.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    this.lastSent.set(n.id, this.o.now());
  }
}
