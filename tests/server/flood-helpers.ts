// A topic flood: connections that each own a room and change its topic as fast as the
// server allows, for a fixed number of frames (not a wall-clock time), so the disk writes
// it causes can be measured and bounded.
import type { RunningServer } from '../../signal-server/server.ts';
import { TestClient, join, roundTrip } from './helpers.ts';
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

/**
 * For `ms` of wall-clock time, `workers` flooders each connect with a fresh identity (so
 * no per-person bucket holds them back for long), create a room of their own, change its
 * topic until refused or closed, leave, and start over with another fresh identity.
 */
export async function freshIdentityFlood(server: RunningServer, workers: number, ms: number): Promise<FloodResult & { identities: number }> {
  const until = Date.now() + ms;
  let sent = 0;
  let identities = 0;
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      for (let round = 0; Date.now() < until; round++) {
        identities++;
        // Not kept by the scope: the heap measured afterwards is the server's, not the clients'.
        const person = await TestClient.connect(server.url, { name: `f${w}x${round}` }).catch(() => undefined);
        if (!person) continue;
        const room = `fresh-${w}-${round}`;
        try {
          await join(person, room);
          while (Date.now() < until && person.ws.readyState === person.ws.OPEN && !person.all('error').length) {
            for (let k = 0; k < 5; k++, sent++) person.send({ type: 'topic', room, topic: `topic ${k} ${'x'.repeat(150)}` });
            await roundTrip(person);
          }
        } catch {
          // Refused or closed by a limit: the next round starts with a new identity.
        }
        person.ws.terminate();
      }
    }),
  );
  return { sent, identities };
}

/** Counts what the store hands to the disk from now on: atomic rewrites and audit-log appends. */
export function countWrites(store: RunningServer['hub']['store']): { bytes: number; writes: number } {
  const counts = { bytes: 0, writes: 0 };
  const count = (text: string) => {
    counts.bytes += Buffer.byteLength(text);
    counts.writes++;
  };
  const atomic = store.writer;
  store.writer = (file, text) => {
    count(text);
    return atomic(file, text);
  };
  const append = store.auditLog.append;
  store.auditLog.append = (file, text) => {
    count(text);
    return append(file, text);
  };
  return counts;
}
