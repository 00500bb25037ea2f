// The whisper machinery (links, secure channel, outbox) is its own chunk: painting the
// room and its composer needs none of it. The Session starts loading it right after the
// first paint, not on first use, so a whisper never waits for a click. Whatever arrives
// before (signalling, relay frames, presence changes, commands) waits here and is handed
// over in the order it came, after the whispers kept on the device are back: nothing is
// dropped and nothing overtakes.
import type { WhisperOptions, Whispers } from './whispers.ts';

type Call = (whispers: Whispers) => unknown;

export class LazyWhispers {
  private loaded?: Whispers;
  private loading?: Promise<void>;
  /** The last load failed: the next call tries again. */
  private failed = false;
  private stopped = false;
  private readonly waiting: Call[] = [];

  constructor(
    private readonly options: WhisperOptions,
    /** The chunk could not be loaded (an update replaced it, or the network is gone). */
    private readonly onLoadFailed: () => void,
  ) {}

  /** The loaded machinery, once it is there and everything that waited has run. */
  get now(): Whispers | undefined {
    return this.loaded;
  }

  /** Loads the chunk and the whispers kept on the device, once; then runs what waited. */
  start(): Promise<void> {
    this.loading ??= import('./whispers.ts').then(
      async ({ Whispers }) => {
        if (this.stopped) return;
        this.failed = false;
        const whispers = new Whispers(this.options);
        await whispers.load();
        if (this.stopped) return whispers.close();
        // Calls made while one of these runs join the end of the line.
        for (let call = this.waiting.shift(); call; call = this.waiting.shift()) runLogged(call, whispers);
        this.loaded = whispers;
      },
      (error: unknown) => {
        console.error('wisp: the whisper machinery could not be loaded:', error);
        this.loading = undefined;
        this.failed = true;
        this.onLoadFailed();
      },
    );
    return this.loading;
  }

  /** Runs `call` now when loaded (its result returned), else once loaded, in order. */
  run<T>(call: (whispers: Whispers) => T): T | undefined {
    if (this.loaded) return call(this.loaded);
    this.waiting.push(call);
    if (this.failed) void this.start();
    return undefined;
  }

  /** As run, for a caller that wants the result either way. */
  when<T>(call: (whispers: Whispers) => T | Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.run((whispers) => {
        try {
          resolve(call(whispers));
        } catch (error) {
          reject(error);
        }
      });
    });
  }

  close(): void {
    this.stopped = true;
    this.loaded?.close();
    this.waiting.length = 0;
  }
}

/** One waiting call that throws must not keep the others from running. */
function runLogged(call: Call, whispers: Whispers): void {
  try {
    call(whispers);
  } catch (error) {
    console.error('wisp: a whisper call that waited for loading failed:', error);
  }
}
