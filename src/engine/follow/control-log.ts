import type { Logger } from "../../logger.js";
import type { ControlEvent, ControlStore } from "../../store/types.js";

const PAGE = 500;

/**
 * Every pause, resume, trigger and config apply is logged by every instance with where it came
 * from, however it reached the store: this instance's API or signal, the CLI on
 * any machine, another instance. The engine reads the store's control events it has not seen
 * yet each time it follows the store.
 */
export class ControlLog {
  private cursor = 0;

  constructor(private readonly store: ControlStore, private readonly log: Logger) {}

  /** From here on: events already in the store when the instance starts are history, not news. */
  async begin(): Promise<void> {
    this.cursor = await this.store.lastControlEventId();
  }

  async follow(onEvent?: (event: ControlEvent) => void): Promise<void> {
    for (;;) {
      const events = await this.store.controlEventsSince(this.cursor, PAGE);
      for (const event of events) {
        this.cursor = event.id;
        this.write(event);
        onEvent?.(event);
      }
      if (events.length < PAGE) return;
    }
  }

  private write(e: ControlEvent): void {
    switch (e.action) {
      case "pause":
        return this.log.info({ job: e.job, by: e.source }, "job paused");
      case "resume":
        return this.log.info({ job: e.job, by: e.source }, "job resumed");
      case "trigger":
        return this.log.info({ job: e.job, by: e.source }, "run requested");
      case "apply_refused": {
        const detail = (e.detail ?? {}) as { reason?: string; message?: string };
        return this.log.warn({ by: e.source, reason: detail.reason }, `config refused (nothing changed): ${detail.message ?? ""}`);
      }
      case "apply": {
        const detail = (e.detail ?? {}) as { generation?: number; forced?: boolean; added?: string[]; updated?: string[]; retired?: string[]; counts?: Record<string, number> };
        const some = (list: string[] | undefined) => (list && list.length > 0 ? list : undefined);
        const line = { by: e.source, generation: detail.generation, forced: detail.forced || undefined, added: some(detail.added), updated: some(detail.updated), retired: some(detail.retired) };
        // Retiring jobs is what an operator most needs to notice (a stale or truncated config).
        if ((detail.counts?.retired ?? 0) > 0) this.log.warn(line, `config applied: ${detail.counts!.retired} job(s) retired`);
        else this.log.info(line, "config applied");
      }
    }
  }
}
