// What the local CA's HTTPS costs a connect: the p50 of a full WSS connect (TCP, TLS
// handshake with a fresh session, WebSocket upgrade) to a server run by main.ts with the
// local CA on, on loopback, beside the p50 of a plain WS connect to the same server in
// the same run. Connects alternate, one at a time, so both see the same machine state.
// Reported only: there is no budget for it in DESIGN.md §9.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { type Benchmark, type Row, REPO_ROOT } from './bench.ts';
import { SUBPROTOCOL, WS_PATH } from '../../signal-server/protocol/protocol.ts';

const CONNECTS = 200;
const WARM_UP = 10;

/** Loopback connects take about a millisecond: two decimals keep the difference visible. */
function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Starts main.ts with the local CA on and free ports; resolves with both ports once it prints them. */
function startMain(dataDir: string, staticDir: string): Promise<{ child: ChildProcess; port: number; httpsPort: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'signal-server/main.ts'), '--port', '0', '--https-port', '0', '--data-dir', dataDir, '--static-dir', staticDir], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const https = out.match(/https:\/\/\S+:(\d+)\n/);
      const plain = out.match(/http:\/\/localhost:(\d+)/);
      if (https && plain) resolve({ child, port: Number(plain[1]), httpsPort: Number(https[1]) });
    });
    child.once('exit', (code) => reject(new Error(`the server exited with ${code}: ${out}`)));
  });
}

/** ms from creating the socket to the upgrade being accepted; the socket is then closed. */
function connectOnce(url: string, options: WebSocket.ClientOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const ws = new WebSocket(url, SUBPROTOCOL, options);
    ws.once('open', () => {
      const ms = performance.now() - started;
      ws.once('close', () => resolve(ms));
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

const benchmark: Benchmark = {
  title: `WSS vs WS connect on loopback, local CA on: ${CONNECTS} sequential connects each, alternating`,
  async run(ctx) {
    const base = mkdtempSync(path.join(tmpdir(), 'wisp-bench-tls-'));
    const staticDir = path.join(base, 'app');
    mkdirSync(staticDir);
    writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>Wisp</title>');
    const { child, port, httpsPort } = await startMain(path.join(base, 'data'), staticDir);
    try {
      const ca = readFileSync(path.join(base, 'data', 'tls', 'ca.pem'), 'utf8');
      const plainUrl = `ws://127.0.0.1:${port}${WS_PATH}`;
      const secureUrl = `wss://127.0.0.1:${httpsPort}${WS_PATH}`;
      const plain: number[] = [];
      const secure: number[] = [];
      for (let i = 0; i < WARM_UP + CONNECTS; i++) {
        const ws = await connectOnce(plainUrl, {});
        // The CA is the only trust; no agent, so no TLS session is resumed.
        const wss = await connectOnce(secureUrl, { ca });
        if (i < WARM_UP) continue;
        plain.push(ws);
        secure.push(wss);
      }
      ctx.log(`tls: WSS p50 ${median(secure).toFixed(2)} ms, WS p50 ${median(plain).toFixed(2)} ms`);
      const rows: Row[] = [
        { key: 'tls_connect_ms_p50', label: 'WSS connect with the local CA (TCP + TLS + upgrade), p50', value: round2(median(secure)), unit: 'ms' },
        { key: 'ws_connect_ms_p50', label: 'plain WS connect in the same run, p50', value: round2(median(plain)), unit: 'ms' },
      ];
      return rows;
    } finally {
      child.kill('SIGTERM');
      rmSync(base, { recursive: true, force: true });
    }
  },
};

export default benchmark;
