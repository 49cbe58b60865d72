// Child processes that print "listening on http://HOST:PORT" once ready, and their memory.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';

export interface Listening {
  readonly url: string;
  readonly port: number;
  readonly process: ChildProcess;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export function spawnListening(command: string, args: string[], env: Record<string, string>, timeoutMs = 20_000): Promise<Listening> {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} did not start in ${timeoutMs} ms: ${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /listening on (http:\/\/[^\s]+)/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      const url = match[1]!.replace(/\/$/, '');
      resolve({
        url,
        port: Number(new URL(url).port),
        process: child,
        kill: (signal: NodeJS.Signals = 'SIGKILL') =>
          new Promise((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.once('exit', () => done());
            child.kill(signal);
          }),
      });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited (${code ?? signal}) before listening: ${output}`));
    });
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Resident memory of a process in bytes (Linux /proc), 0 when it is gone. */
export function rssOf(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** A running process and its command-line arguments. */
export interface ProcessInfo {
  readonly pid: number;
  readonly args: readonly string[];
}

/** Every process whose command line contains `marker` (e.g. a browser profile path), from /proc (Linux). */
export function processesWith(marker: string): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      // Chromium rewrites its children's command lines into one space-separated string.
      if (cmdline.includes(marker)) found.push({ pid: Number(entry), args: cmdline.split(/[\0 ]/) });
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

/** Total resident memory of every process whose command line contains `marker`. */
export function rssOfProcessesWith(marker: string): number {
  return processesWith(marker).reduce((total, { pid }) => total + rssOf(pid), 0);
}

/** Samples a value every `everyMs` until stopped, keeping the peak. */
export function peakSampler(sample: () => number, everyMs = 100): { stop(): number } {
  let peak = sample();
  const timer = setInterval(() => (peak = Math.max(peak, sample())), everyMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, sample());
    },
  };
}
