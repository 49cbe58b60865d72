// CPU time the processes of a benchmark spent, from /proc (Linux): on a machine where the
// browser and the server share the cores, what one path costs the others shows here, not in
// its wall time alone.
import { readFileSync } from 'node:fs';
import { processesWith } from '../lab/processes.js';

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** CPU milliseconds by role: `server`, and Chromium's `browser`, `renderer`, `gpu-process`, `utility`… */
export type CpuByRole = Map<string, number>;

/** CPU so far of `serverPid` and of every Chromium process whose command line contains `marker` (its profile path). */
export function cpuByRole(serverPid: number, marker: string): CpuByRole {
  const byRole: CpuByRole = new Map();
  const add = (role: string, pid: number): void => {
    const ms = cpuMs(pid);
    if (ms !== undefined) byRole.set(role, (byRole.get(role) ?? 0) + ms);
  };
  add('server', serverPid);
  for (const { pid, args } of processesWith(marker)) {
    if (pid !== serverPid) add(args.find((arg) => arg.startsWith('--type='))?.slice('--type='.length) ?? 'browser', pid);
  }
  return byRole;
}

/** What each role spent between two samples. */
export function cpuSpent(before: CpuByRole, after: CpuByRole): CpuByRole {
  const spent: CpuByRole = new Map();
  for (const [role, ms] of after) spent.set(role, ms - (before.get(role) ?? 0));
  return spent;
}

/** CPU milliseconds of the process so far; undefined once it has ended. */
function cpuMs(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // the process ended while we looked
  }
  // The fields after the command name, which may itself hold spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}
