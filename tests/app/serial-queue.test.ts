// Server frames go through a SerialQueue: in order even when a handler awaits, on at
// once when idle, and on past a handler that throws.
import { expect } from '@esm-bundle/chai';
import { SerialQueue } from '../../app/state/serial-queue.ts';

const tick = (ms = 0) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('SerialQueue', () => {
  it('an item after one whose handler awaits waits for it to finish', async () => {
    const log: string[] = [];
    const queue = new SerialQueue<string>(async (item) => {
      log.push(`start ${item}`);
      if (item === 'slow') await tick(20);
      log.push(`end ${item}`);
    }, () => undefined);
    queue.push('slow');
    queue.push('a');
    queue.push('b');
    await queue.settled();
    expect(log).to.deep.equal(['start slow', 'end slow', 'start a', 'end a', 'start b', 'end b']);
  });

  it('when idle, a handler that does not await runs before push returns', async () => {
    const log: string[] = [];
    const queue = new SerialQueue<string>((item) => void log.push(item), () => undefined);
    queue.push('first');
    expect(log).to.deep.equal(['first']);
    await queue.settled();
    queue.push('second');
    expect(log).to.deep.equal(['first', 'second']);
  });

  it('a handler that throws (or rejects) is reported and the next item is still handled', async () => {
    const handled: string[] = [];
    const errors: string[] = [];
    const queue = new SerialQueue<string>(
      async (item) => {
        if (item === 'throws') throw new Error('boom');
        if (item === 'rejects') {
          await tick();
          throw new Error('later');
        }
        handled.push(item);
      },
      (error, item) => errors.push(`${item}: ${(error as Error).message}`),
    );
    for (const item of ['throws', 'a', 'rejects', 'b']) queue.push(item);
    await queue.settled();
    expect(handled).to.deep.equal(['a', 'b']);
    expect(errors).to.deep.equal(['throws: boom', 'rejects: later']);
  });
});
