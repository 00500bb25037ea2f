// CPU per Chromium process and thread, read from /proc (Linux): where a file round's
// work goes (which renderer, the network service, the GPU process; main thread, WebRTC
// threads, workers). process-cpu.ts gives the total only.
import { readFileSync, readdirSync } from 'node:fs';
import { ownChromiumPids, ticksOf } from './process-cpu.ts';

const TICKS_PER_SECOND = 100;

export interface ThreadCpu {
  pid: number;
  /** Chromium's --type (browser, renderer, gpu-process, utility:network…). */
  process: string;
  thread: string;
  ms: number;
}

function processType(cmdline: string): string {
  // Chromium's children rewrite their title: arguments end up separated by spaces, not NULs.
  const args = cmdline.split(/[\0 ]/);
  const type = args.find((a) => a.startsWith('--type='))?.slice('--type='.length) ?? 'browser';
  const sub = args.find((a) => a.startsWith('--utility-sub-type='))?.slice('--utility-sub-type='.length);
  return sub ? `${type}:${sub.split('.').slice(-2).join('.')}` : type;
}

/** Every thread of this process's Chromium (process-cpu.ts), keyed "pid/tid", with its CPU so far. */
export function chromiumThreads(): Map<string, ThreadCpu> {
  const out = new Map<string, ThreadCpu>();
  for (const pid of ownChromiumPids()) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const process = processType(cmdline);
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        try {
          const thread = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
          const ms = (ticksOf(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')) * 1000) / TICKS_PER_SECOND;
          out.set(`${pid}/${tid}`, { pid: Number(pid), process, thread, ms });
        } catch {
          // The thread ended between the listing and the read.
        }
      }
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return out;
}

/** CPU per process and thread name between two snapshots; `names` labels pids (e.g. "sender renderer"). */
export function cpuBetween(before: Map<string, ThreadCpu>, after: Map<string, ThreadCpu>, names: Map<number, string> = new Map()): Map<string, number> {
  const by = new Map<string, number>();
  for (const [id, now] of after) {
    const spent = now.ms - (before.get(id)?.ms ?? 0);
    if (spent <= 0) continue;
    // Numbered pool threads (ThreadPoolForeg, DedicatedWorker…) are summed under one name.
    const key = `${names.get(now.pid) ?? now.process} / ${now.thread.replace(/\d+$/, '')}`;
    by.set(key, (by.get(key) ?? 0) + spent);
  }
  return by;
}

/** CPU per process (summed over its threads) between two snapshots. */
export function cpuByProcess(between: Map<string, number>): Map<string, number> {
  const by = new Map<string, number>();
  for (const [key, ms] of between) {
    const process = key.split(' / ')[0]!;
    by.set(process, (by.get(process) ?? 0) + ms);
  }
  return by;
}

/** CPU of each process of a given pid so far (to tell two renderers apart). */
export function pidCpuMs(pid: number): number {
  let ms = 0;
  for (const t of chromiumThreads().values()) if (t.pid === pid) ms += t.ms;
  return ms;
}
