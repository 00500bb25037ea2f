// The real, compiled signal server as a child process: what an operator runs, serving
// the real build. Each server gets its own temporary data directory and a free port,
// can be stopped with SIGTERM (exit code checked) and started again on the same port.
// dispose() fails the test when the server crashed, did not exit cleanly, or printed an
// error line nobody expected (allow-list the ones a test provokes with expectErrors).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureFreshBuild } from '../../../scripts/build-freshness.mjs';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SERVER_ENTRY = path.join(ROOT, 'dist/signal-server/main.js');

/** Every server child still running, so a crashing test process does not leave one behind. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
  }
});

let buildChecked = false;

/**
 * Builds once when dist/ is missing or older than a source file, so a test never runs
 * against a stale build. After `npm test`'s build tier this finds it fresh and does nothing.
 */
export function ensureBuilt(): void {
  if (buildChecked) return;
  ensureFreshBuild((message) => console.error(`# e2e: ${message}`));
  buildChecked = true;
}

/** A TCP port that nothing listens on right now (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => (port ? resolve(port) : reject(new Error('no port'))));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ServerOptions {
  /** Extra command-line flags, e.g. ['--rate-per-minute', '600']. */
  args?: string[];
  /** stderr lines a test provokes on purpose (the server prints errors, and only errors, there). */
  expectErrors?: RegExp[];
  /**
   * The server serves HTTPS (and WSS), its /healthz checked trusting only this CA (a PEM
   * file; a function of the data directory for the CA the server makes itself there).
   * Without httpsPort it is on the server's port (--tls-cert/--tls-key: url is
   * https://127.0.0.1:<port>); with httpsPort (the local CA) url stays plain HTTP and
   * /healthz must answer on both.
   */
  tls?: { caFile: string | ((dataDir: string) => string); httpsPort?: number };
}

/** GET /healthz over HTTPS, trusting only `caFile` (read on each try: the server may write it). */
function httpsHealthy(url: string, caFile: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const ca = readFileSync(caFile);
    const req = httpsRequest(`${url}/healthz`, { ca, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.once('end', () => resolve(res.statusCode === 200 && (JSON.parse(body) as { ok?: boolean }).ok === true));
    });
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', reject);
    req.end();
  });
}

export class WispServer {
  readonly url: string;
  readonly dataDir: string;
  private child?: ChildProcess;
  private exited?: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private output = '';
  /** Everything the server wrote to stderr: its own error lines, warnings, crash stacks. */
  private stderr = '';
  /** Exits nobody asked for (a crash), and SIGTERMs that did not end in a clean exit 0. */
  private readonly badExits: string[] = [];
  private readonly expectedErrors: RegExp[];
  private disposed = false;
  /** True from a successful start until stop() or kill(): an exit in that time is a crash. */
  private live = false;

  private constructor(
    readonly port: number,
    private readonly options: ServerOptions,
  ) {
    this.url = `${options.tls && options.tls.httpsPort === undefined ? 'https' : 'http'}://127.0.0.1:${port}`;
    this.expectedErrors = [...(options.expectErrors ?? [])];
    this.dataDir = mkdtempSync(path.join(tmpdir(), 'wisp-e2e-data-'));
  }

  /** Builds if needed, picks a free port and starts the server; resolves once /healthz answers. */
  static async start(options: ServerOptions = {}): Promise<WispServer> {
    ensureBuilt();
    const server = new WispServer(await freePort(), options);
    try {
      await server.start();
    } catch (error) {
      await server.close();
      throw error;
    }
    return server;
  }

  get isRunning(): boolean {
    return this.child !== undefined;
  }

  /** What the server printed (stdout and stderr), for failure messages. */
  get log(): string {
    return this.output;
  }

  /** Starts (again) on the same port with the same data directory. */
  async start(): Promise<void> {
    if (this.disposed) throw new Error('this server was disposed');
    if (this.child) throw new Error('the server is already running');
    // Right after a stop the port is normally free at once; allow a few tries anyway.
    for (let attempt = 1; ; attempt++) {
      const stderrBefore = this.stderr.length;
      const outcome = await this.spawnOnce();
      if (outcome === 'ok') return;
      if (outcome === 'port-busy' && attempt < 10) {
        // A busy port right after a stop is expected here, not a server problem.
        this.stderr = this.stderr.slice(0, stderrBefore);
        await sleep(300);
        continue;
      }
      throw new Error(`the server did not start on port ${this.port} (${outcome}). Output:\n${this.output}`);
    }
  }

  private async spawnOnce(): Promise<'ok' | 'port-busy' | string> {
    const child = spawn(
      process.execPath,
      [SERVER_ENTRY, '--port', String(this.port), '--host', '127.0.0.1', '--data-dir', this.dataDir, '--quiet', ...(this.options.args ?? [])],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PORT: undefined, HOST: undefined } },
    );
    running.add(child);
    this.child = child;
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.output += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.output += d;
      this.stderr += d;
    });
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        running.delete(child);
        // Still our running server (not stopped, not killed): it crashed or exited by itself.
        if (this.child === child && this.live) this.badExits.push(`the server exited by itself (code ${code}, signal ${signal}) while the test ran`);
        resolve({ code, signal });
      });
      child.once('error', (error) => {
        running.delete(child);
        this.output += `\nspawn error: ${error.message}`;
        resolve({ code: null, signal: null });
      });
    });

    const deadline = Date.now() + 20_000;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    void this.exited.then((e) => (exit = e));
    while (Date.now() < deadline) {
      if (exit) {
        this.child = undefined;
        return /already in use/.test(this.output) ? 'port-busy' : `exited with code ${exit.code}, signal ${exit.signal}`;
      }
      try {
        if (await this.healthy()) {
          this.live = true;
          return 'ok';
        }
      } catch {
        // Not listening yet.
      }
      await sleep(50);
    }
    await this.kill();
    return 'no answer from /healthz within 20 s';
  }

  private async healthy(): Promise<boolean> {
    const tls = this.options.tls;
    if (tls) {
      const caFile = typeof tls.caFile === 'string' ? tls.caFile : tls.caFile(this.dataDir);
      if (tls.httpsPort === undefined) return httpsHealthy(this.url, caFile);
      if (!(await httpsHealthy(`https://127.0.0.1:${tls.httpsPort}`, caFile))) return false;
    }
    const response = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(2000) });
    return response.ok && ((await response.json()) as { ok?: boolean }).ok === true;
  }

  /** SIGTERM, as an operator (or systemd) would; resolves with the exit code. */
  async stop(timeoutMs = 15_000): Promise<number | null> {
    const child = this.child;
    if (!child || !this.exited) throw new Error('the server is not running');
    this.live = false;
    child.kill('SIGTERM');
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs).unref());
    const result = await Promise.race([this.exited, timer]);
    if (result === 'timeout') {
      await this.kill();
      throw new Error(`the server did not exit within ${timeoutMs} ms of SIGTERM. Output:\n${this.output}`);
    }
    this.child = undefined;
    if (result.signal) throw new Error(`the server was killed by ${result.signal} instead of exiting. Output:\n${this.output}`);
    return result.code;
  }

  /** Ends our child for sure (SIGKILL), without judging how it went. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    this.live = false;
    if (!child || !this.exited) return;
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
    await this.exited;
  }

  /** Allows stderr lines matching these patterns: errors the test provokes on purpose. */
  expectErrors(...patterns: RegExp[]): void {
    this.expectedErrors.push(...patterns);
  }

  /** What went wrong in the server so far: unexpected stderr lines and bad exits. */
  problems(): string[] {
    const lines = this.stderr.split('\n').map((line) => line.trimEnd()).filter(Boolean);
    const unexpected = lines.filter((line) => !this.expectedErrors.some((pattern) => pattern.test(line)));
    return [...this.badExits, ...unexpected.map((line) => `stderr: ${line}`)];
  }

  /** Stops the server if it still runs (SIGTERM must end it with 0) and removes its data directory; never throws. */
  async close(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    // A server that already exited by itself was judged when it did.
    if (this.child && (this.child.exitCode !== null || this.child.signalCode !== null)) this.child = undefined;
    if (this.child) {
      try {
        const code = await this.stop(5000);
        if (code !== 0) this.badExits.push(`the server exited with code ${code} on SIGTERM at the end of the test`);
      } catch (error) {
        this.badExits.push((error as Error).message.split('\n', 1)[0]!);
        await this.kill();
      }
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** For after hooks: close(), then fails when the server crashed or printed an unexpected error. */
  async dispose(): Promise<void> {
    await this.close();
    const problems = this.problems();
    if (problems.length > 0) throw new Error(`the server at ${this.url} had unexpected problems:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}
