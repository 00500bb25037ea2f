// Keeps the HTTPS listener's certificate current while the server runs: re-checked every
// serverCertRecheckMs and whenever the machine's addresses change (polled), and swapped
// in with setSecureContext so open connections stay up. Time and addresses are injectable.
import type https from 'node:https';
import { hostname as systemHostname } from 'node:os';
import { LIMITS } from './protocol/protocol.ts';
import { openLocalCa, openTlsDir, type LocalCa } from './local-ca.ts';
import { currentServerCertificate, type ServerCertificate } from './server-certificate.ts';
import { machineNames, sameNames, systemInterfaces, type InterfaceSource, type MachineNames } from './lan-names.ts';

export interface Clock {
  now(): number;
  /** Calls `run` every `ms` until the returned function is called. */
  every(ms: number, run: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  every(ms, run) {
    const timer = setInterval(run, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
};

export interface LocalTlsOptions {
  readonly dataDir: string;
  readonly extraNames: readonly string[];
  readonly hostname?: string;
  readonly interfaces?: InterfaceSource;
  readonly clock?: Clock;
}

export class LocalTls {
  private stops: (() => void)[] = [];
  private pending: Promise<void> = Promise.resolve();
  private lastNames: MachineNames;

  private constructor(
    readonly ca: LocalCa,
    private certificate: ServerCertificate,
    private readonly dir: string,
    private readonly names: () => MachineNames,
    private readonly clock: Clock,
  ) {
    this.lastNames = names();
  }

  /** Opens (or makes) the CA and a server certificate for the current names. Throws StoreError for a bad CA. */
  static async open(options: LocalTlsOptions): Promise<LocalTls> {
    const clock = options.clock ?? systemClock;
    const hostname = options.hostname ?? systemHostname();
    const interfaces = options.interfaces ?? systemInterfaces;
    const names = () => machineNames(interfaces, hostname, options.extraNames);
    const dir = await openTlsDir(options.dataDir);
    const ca = await openLocalCa(dir, { hostname, extraNames: [...options.extraNames, ...names().ips], now: clock.now() });
    const certificate = await currentServerCertificate(dir, ca, names(), clock.now());
    return new LocalTls(ca, certificate, dir, names, clock);
  }

  get current(): ServerCertificate {
    return this.certificate;
  }

  /** Starts the re-checks; a renewed certificate goes into `server` for new connections. */
  watch(server: https.Server): void {
    const recheck = () => this.recheck(server);
    this.stops.push(this.clock.every(LIMITS.serverCertRecheckMs, recheck));
    this.stops.push(
      this.clock.every(LIMITS.addressPollMs, () => {
        const names = this.names();
        if (sameNames(names, this.lastNames)) return;
        this.lastNames = names;
        recheck();
      }),
    );
  }

  /** Resolves once every re-check started so far has finished. */
  settled(): Promise<void> {
    return this.pending;
  }

  stop(): void {
    for (const stop of this.stops.splice(0)) stop();
  }

  /** One re-check at a time; a failure keeps the current certificate and is reported. */
  private recheck(server: https.Server): void {
    this.pending = this.pending.then(async () => {
      try {
        const next = await currentServerCertificate(this.dir, this.ca, this.names(), this.clock.now());
        if (next.serialNumber === this.certificate.serialNumber) return;
        this.certificate = next;
        server.setSecureContext({ cert: next.certPem, key: next.keyPem });
      } catch (error) {
        console.error(`wisp: could not renew the HTTPS certificate, keeping the current one: ${(error as Error).message}`);
      }
    });
  }
}
