// Handles items one after another, in the order they came, even when a handler awaits:
// each starts when the one before it has finished. The Session puts server frames
// through one, so a frame after a slow one (signing a challenge, private-room storage)
// never overtakes it.

export class SerialQueue<T> {
  private tail: Promise<void> = Promise.resolve();
  /** Items queued or being handled. */
  private unfinished = 0;

  constructor(
    private readonly handle: (item: T) => void | Promise<void>,
    /** A handler that threw: reported here, and the next item is handled all the same. */
    private readonly onError: (error: unknown, item: T) => void,
  ) {}

  /**
   * Queues an item. When nothing is being handled it starts at once, in this turn (a
   * handler that does not await runs to its end before push returns).
   */
  push(item: T): void {
    const run = async (): Promise<void> => {
      try {
        await this.handle(item);
      } catch (error) {
        this.onError(error, item);
      } finally {
        this.unfinished -= 1;
      }
    };
    this.unfinished += 1;
    this.tail = this.unfinished === 1 ? run() : this.tail.then(run);
  }

  /** Resolves once everything queued so far has been handled. */
  settled(): Promise<void> {
    return this.tail;
  }
}
