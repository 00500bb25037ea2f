// A topic flood: connections that each own a room and change its topic as fast as the
// server allows, for a fixed number of frames (not a wall-clock time), so the disk writes
// it causes can be measured and bounded.
import type { RunningServer } from '../../signal-server/server.ts';
import { join, roundTrip, type TestClient } from './helpers.ts';
import type { ModScope } from './moderation-helpers.ts';

export interface FloodResult {
  /** Topic frames sent, over all connections. */
  sent: number;
}

/**
 * `connections` people each create a room of their own by joining it and send `frames`
 * topic frames in batches of `batch`, each batch followed by a ping round trip; a
 * connection the server closes (too many rate-limit errors) stops early.
 */
export async function topicFlood(scope: ModScope, server: RunningServer, connections: number, frames: number, batch = 10): Promise<FloodResult> {
  const people: TestClient[] = [];
  for (let i = 0; i < connections; i++) {
    const person = await scope.connect(server, { name: `flooder${i}` });
    await join(person, `flood-${i}`);
    people.push(person);
  }
  let sent = 0;
  await Promise.all(
    people.map(async (person, i) => {
      const closed = new Promise<void>((resolve) => person.ws.once('close', () => resolve()));
      for (let n = 0; n < frames; ) {
        if (person.ws.readyState !== person.ws.OPEN) return;
        for (let k = 0; k < batch && n < frames; k++, n++, sent++) {
          person.send({ type: 'topic', room: `flood-${i}`, topic: `topic ${n} from flooder ${i}: ${'x'.repeat(120)}` });
        }
        // A closed socket never answers the ping: stop at whichever comes first.
        await Promise.race([roundTrip(person).catch(() => undefined), closed]);
      }
    }),
  );
  return { sent };
}
