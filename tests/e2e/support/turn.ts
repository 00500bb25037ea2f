// A real TURN server for the end-to-end tests: coturn's turnserver (Debian package
// "coturn") as a child process on loopback, with TURN REST credentials (use-auth-secret),
// the scheme the signal server hands out in `welcome`. Ended by PID in dispose().
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './server.ts';

export const TURNSERVER_PATH = process.env.TURNSERVER_PATH ?? '/usr/bin/turnserver';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** True when a UDP port can be bound on 127.0.0.1 right now. */
function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', () => resolve(false));
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

/** Sends a STUN Binding request and resolves true when a Binding success response comes back. */
function stunBinding(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    const id = randomBytes(12);
    const request = Buffer.concat([Buffer.from([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42]), id]);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('error', () => done(false));
    socket.on('message', (msg) => done(msg.length >= 20 && msg.readUInt16BE(0) === 0x0101 && msg.subarray(8, 20).equals(id)));
    socket.send(request, port, '127.0.0.1');
  });
}

export class TurnServer {
  private output = '';
  private exited = false;

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly secret: string,
    private readonly dir: string,
  ) {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.output += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.output += d));
    child.once('exit', () => (this.exited = true));
  }

  /** The URL for the signal server's --turn flag. */
  get url(): string {
    return `turn:127.0.0.1:${this.port}`;
  }

  get log(): string {
    return this.output;
  }

  static available(): boolean {
    return existsSync(TURNSERVER_PATH);
  }

  /** Starts turnserver on a free loopback port; resolves once it answers a STUN Binding request. */
  static async start(): Promise<TurnServer> {
    if (!TurnServer.available()) throw new Error(`${TURNSERVER_PATH} is missing: install Debian's coturn package (.ci/prepare --browser does).`);
    let port = await freePort();
    for (let i = 0; i < 20 && !(await udpFree(port)); i++) port = await freePort();
    // A relay port range of its own, away from the kernel's ephemeral ports where possible.
    const minPort = 40_000 + Math.floor(Math.random() * 200) * 100;
    const maxPort = minPort + 99;
    const secret = randomBytes(24).toString('hex');
    const dir = mkdtempSync(path.join(tmpdir(), 'wisp-e2e-turn-'));
    const args = [
      '-n', // no configuration file
      '--no-cli',
      '--listening-ip=127.0.0.1',
      '--relay-ip=127.0.0.1',
      `--listening-port=${port}`,
      `--min-port=${minPort}`,
      `--max-port=${maxPort}`,
      '--use-auth-secret',
      `--static-auth-secret=${secret}`,
      '--realm=wisp.test',
      '--no-tls',
      '--no-dtls',
      '--fingerprint',
      // Both browsers' relayed addresses are on 127.0.0.1: coturn refuses loopback peers by default.
      '--allow-loopback-peers',
      '--no-rfc5780',
      '--no-multicast-peers',
      '--verbose',
      '--log-file=stdout',
      '--simple-log',
      `--pidfile=${path.join(dir, 'turnserver.pid')}`,
      `--userdb=${path.join(dir, 'turndb')}`,
    ];
    const child = spawn(TURNSERVER_PATH, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const turn = new TurnServer(child, port, secret, dir);
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (turn.exited) break;
      if (await stunBinding(port)) return turn;
      await sleep(100);
    }
    await turn.dispose();
    throw new Error(`turnserver did not answer on 127.0.0.1:${port}. Output:\n${turn.output}`);
  }

  async dispose(): Promise<void> {
    if (!this.exited && this.child.pid !== undefined) {
      const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
      try {
        process.kill(this.child.pid, 'SIGTERM');
      } catch {
        // Gone already.
      }
      const timer = sleep(3000).then(() => 'timeout' as const);
      if ((await Promise.race([gone, timer])) === 'timeout' && !this.exited) {
        try {
          process.kill(this.child.pid, 'SIGKILL');
        } catch {
          // Gone already.
        }
        await gone;
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
