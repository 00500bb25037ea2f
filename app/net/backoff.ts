/** Exponential backoff with jitter, so a restarted server is not hit by everyone at once. */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly baseMs = 500,
    private readonly maxMs = 30_000,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next try: grows 2x per failure up to `capMs`, drawn from [half, full]. */
  next(capMs = this.maxMs): number {
    const ceiling = Math.min(capMs, this.maxMs, this.baseMs * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 30);
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  reset(): void {
    this.attempt = 0;
  }
}
