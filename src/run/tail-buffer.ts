/**
 * Keeps only the last `limit` bytes written to it: a run's output can be gigabytes, its record
 * keeps the tail, which is where the error usually is.
 */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = 0;

  constructor(private readonly limit = 64 * 1024) {}

  write(data: Buffer | string): void {
    const chunk = typeof data === "string" ? Buffer.from(data) : data;
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.limit && this.chunks.length > 0) {
      const excess = this.size - this.limit;
      const first = this.chunks[0]!;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
        this.dropped += first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
        this.dropped += excess;
      }
    }
  }

  /** Bytes thrown away from the front. */
  get droppedBytes(): number {
    return this.dropped;
  }

  toString(): string {
    // A cut may land inside a multi-byte character; the decoder replaces that fragment.
    return Buffer.concat(this.chunks).toString("utf8");
  }
}
