// One data file written at a bounded rate, whatever the rate of changes: at most one write
// per interval, one write in flight plus at most one pending, and the pending one renders
// the newest state when it starts (changes in between are coalesced into it). flush()
// starts the pending write at once and resolves when nothing is left to write.

/** Writes `text` to `file` (atomically, in the store). */
export type FileWriter = (file: string, text: string) => Promise<void>;

interface Timers {
  now(): number;
  set(run: () => void, ms: number): unknown;
  clear(timer: unknown): void;
}

const realTimers: Timers = {
  now: () => Date.now(),
  set: (run, ms) => setTimeout(run, ms),
  clear: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

interface Pending {
  promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
  timer?: unknown;
}

function pending(): Pending {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export class CoalescedFile {
  private inFlight?: Promise<void>;
  private next?: Pending;
  private lastStart = -Infinity;

  constructor(
    readonly file: string,
    private readonly render: () => string,
    private readonly writer: FileWriter,
    private readonly intervalMs: number,
    private readonly timers: Timers = realTimers,
  ) {}

  /** Asks for the current state to be written; resolves once a write that includes it is on disk. */
  schedule(): Promise<void> {
    if (this.next) return this.next.promise;
    const next = pending();
    this.next = next;
    this.arm();
    return next.promise;
  }

  /** Starts the pending write now (not waiting for the interval); resolves when all is written. */
  async flush(): Promise<void> {
    while (this.inFlight || this.next) {
      if (this.next && !this.inFlight) this.start();
      await this.inFlight?.catch(() => undefined);
    }
  }

  /** Starts the pending write when the interval allows and nothing is in flight. */
  private arm(): void {
    const next = this.next;
    if (!next || this.inFlight || next.timer !== undefined) return;
    const wait = this.lastStart + this.intervalMs - this.timers.now();
    if (wait <= 0) return this.start();
    // Not unref'd: a change waiting to be written keeps the process alive until it is.
    next.timer = this.timers.set(() => {
      next.timer = undefined;
      this.start();
    }, wait);
  }

  private start(): void {
    const next = this.next;
    if (!next || this.inFlight) return;
    if (next.timer !== undefined) this.timers.clear(next.timer);
    this.next = undefined;
    this.lastStart = this.timers.now();
    let text: string;
    try {
      text = this.render();
    } catch (error) {
      next.reject(error);
      return this.arm();
    }
    const write = this.writer(this.file, text).then(next.resolve, next.reject);
    this.inFlight = write.finally(() => {
      this.inFlight = undefined;
      this.arm();
    });
  }
}
