// CPU time used by this process's own Chromium (every process below it), read from /proc
// (Linux): on a shared machine a round's wall time swings with the neighbours' load, but
// the CPU it needs does not. Only descendants count: another test run's browsers on the
// same machine once added up to 1.8 s to a round here, at random (tests/bench/file-profile.ts).
import { readFileSync, readdirSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

/** Parent pid of each process, from /proc/<pid>/stat. */
function parents(): Map<number, number> {
  const out = new Map<number, number>();
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
  } catch {
    return out;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      out.set(Number(pid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return out;
}

/** The Chromium processes started (directly or not) by this Node process. */
export function ownChromiumPids(): number[] {
  const parentOf = parents();
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of parentOf) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const found: number[] = [];
  const stack = [...(children.get(process.pid) ?? [])];
  while (stack.length) {
    const pid = stack.pop()!;
    stack.push(...(children.get(pid) ?? []));
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('chromium')) found.push(pid);
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

export function ticksOf(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Milliseconds of CPU (user + system) used so far by this process's Chromium; 0 off Linux. */
export function chromiumCpuMs(): number {
  let ticks = 0;
  for (const pid of ownChromiumPids()) {
    try {
      ticks += ticksOf(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return (ticks * 1000) / TICKS_PER_SECOND;
}
