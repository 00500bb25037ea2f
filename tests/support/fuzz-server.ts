// The signal server from source in a child process, for the live fuzzer: it counts
// uncaught exceptions and unhandled rejections (and prints them to stderr) instead of
// dying of the first, and answers `stats` over IPC with its memory, those counts and
// its connection count. Started by tests/support/live-fuzzer.ts with
// `node --import tsx --expose-gc tests/support/fuzz-server.ts <dataDir>`.
import { testConfig } from '../../signal-server/config.ts';
import { startServer } from '../../signal-server/server.ts';

export interface ServerStats {
  type: 'stats';
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  externalBytes: number;
  uncaughtExceptions: number;
  unhandledRejections: number;
  connections: number;
}

export type ChildMessage = { type: 'ready'; port: number } | ServerStats;
export type ParentMessage = { type: 'stats' } | { type: 'stop' };

let uncaughtExceptions = 0;
let unhandledRejections = 0;
process.on('uncaughtException', (error) => {
  uncaughtExceptions++;
  console.error('fuzz-server: uncaught exception:', error);
});
process.on('unhandledRejection', (reason) => {
  unhandledRejections++;
  console.error('fuzz-server: unhandled rejection:', reason);
});

const dataDir = process.argv[2];
if (!dataDir || !process.send) {
  console.error('usage: fork fuzz-server.ts <dataDir> with an IPC channel');
  process.exit(2);
}

// The honest clients chat steadily for the whole run: a looser chat rate than the default.
const server = await startServer(testConfig({ dataDir, sayPerMinute: 600, sayBurst: 20 }));
const send = (message: ChildMessage) => process.send!(message);

process.on('message', (message: ParentMessage) => {
  if (message.type === 'stats') {
    // Collected first, so the figure is what the server keeps, not garbage not yet freed.
    (globalThis as { gc?: () => void }).gc?.();
    const memory = process.memoryUsage();
    send({ type: 'stats', rssBytes: memory.rss, heapUsedBytes: memory.heapUsed, heapTotalBytes: memory.heapTotal, externalBytes: memory.external, uncaughtExceptions, unhandledRejections, connections: server.hub.size });
  } else if (message.type === 'stop') {
    void server.close().then(() => process.exit(0));
  }
});
// The parent went away without saying stop: do not outlive it.
process.on('disconnect', () => void server.close().then(() => process.exit(0)));
send({ type: 'ready', port: server.port });
