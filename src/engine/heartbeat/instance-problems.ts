/**
 * What this instance reports wrong about itself (its log file on a full disk, say), keyed by
 * what it concerns. The heartbeat writes the list to the instance's row when it changed, so
 * `jobclock status` on any machine shows it; a failed heartbeat leaves it to the next one.
 */
export class InstanceProblems {
  private readonly byKey = new Map<string, string>();
  private version = 0;
  private writtenVersion = 0;

  /** `text` null: that problem is over. */
  set(key: string, text: string | null): void {
    const before = this.byKey.get(key) ?? null;
    if (before === text) return;
    if (text === null) this.byKey.delete(key);
    else this.byKey.set(key, text);
    this.version++;
  }

  list(): string[] {
    return [...this.byKey.values()];
  }

  /** The list to write, and a receipt to hand to `written` once it is in the store; undefined when nothing changed. */
  pending(): { problems: string[]; version: number } | undefined {
    return this.version === this.writtenVersion ? undefined : { problems: this.list(), version: this.version };
  }

  written(version: number): void {
    this.writtenVersion = Math.max(this.writtenVersion, version);
  }
}
