// The release as a Pi runs it (tests/support/release-install.ts):
// - install_prod_mb: the unpacked release after `npm ci --omit=dev --omit=optional` (a Pi: no Redis client), the whole directory
//   on disk;
// - server_rss_mb_idle: the RSS of its server, started as its start script does, with no
//   client, after a few seconds idle.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../e2e/support/server.ts';
import { buildRelease, diskBytes, installRelease, releaseServerCommand, spawnGroup, stopGroup, waitHealthy } from '../support/release-install.ts';
import { type Benchmark, round1 } from './bench.ts';
import { mb, rssKb } from './load-harness.ts';

/** Time the server sits idle before its RSS is read: start-up garbage is collected by then. */
const IDLE_MS = 5000;
const START_TIMEOUT_MS = 30_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const releaseInstall: Benchmark = {
  title: 'the release installed with npm ci --omit=dev --omit=optional: size on disk, idle server RSS',
  async run(ctx) {
    ctx.log('release-install: npm run release, then npm ci --omit=dev --omit=optional in an empty directory...');
    const dir = installRelease(buildRelease());
    const dataDir = mkdtempSync(path.join(tmpdir(), 'wisp-bench-release-data-'));
    try {
      const installBytes = diskBytes(dir);
      const port = await freePort();
      // node itself, not npm, so the PID read below is the server's.
      const server = spawnGroup(process.execPath, [...releaseServerCommand(dir), '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir], { cwd: dir });
      let rss: number;
      try {
        await waitHealthy(`http://127.0.0.1:${port}`, server, START_TIMEOUT_MS);
        await sleep(IDLE_MS);
        rss = rssKb(server.pid!);
      } finally {
        await stopGroup(server);
      }
      return [
        { key: 'install_prod_mb', label: 'release installed with npm ci --omit=dev --omit=optional (whole directory on disk)', value: round1(installBytes / 1e6), unit: 'MB' },
        { key: 'server_rss_mb_idle', label: `server RSS with no clients, ${IDLE_MS / 1000} s after start`, value: mb(rss), unit: 'MB' },
      ];
    } finally {
      rmSync(path.dirname(dir), { recursive: true, force: true });
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
};

export default releaseInstall;
