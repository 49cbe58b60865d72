// A throwaway single-node Ceph cluster with a RADOS Gateway (S3) on 127.0.0.1, for the tests and
// the benchmark: one monitor, one bluestore OSD on a sparse file, one radosgw, no cephx, pool size 1.
// Everything lives in one temp folder; the daemons' pids are written there, so a later start
// removes what a killed run left behind. By hand: `npx tsx scripts/ceph-cluster.ts` starts one and
// prints the AWS variables, Ctrl-C stops it.
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync, closeSync, existsSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const CEPH_PACKAGES = ['ceph-mon', 'ceph-osd', 'radosgw', 'ceph-common', 'uuid-runtime'] as const;
export const CEPH_INSTALL = `sudo apt-get update && sudo apt-get install -y --no-install-recommends ${CEPH_PACKAGES.join(' ')}`;
const BINARIES = ['ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin', 'ceph', 'monmaptool'] as const;
const DIR_PREFIX = 'ru-ceph-';

/** A running cluster and the S3 credentials of its one user. */
export interface CephCluster {
  readonly dir: string;
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** The standard AWS variables a server process needs to reach this cluster's S3 endpoint. */
  readonly env: Readonly<Record<string, string>>;
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

/** Thrown when the Debian packages are missing; the message is the command that installs them. */
export class CephMissingError extends Error {
  override readonly name = 'CephMissingError';
  constructor(missing: readonly string[]) {
    super(`Ceph is not installed (missing ${missing.join(', ')}). Install it with:\n  ${CEPH_INSTALL}`);
  }
}

function which(binary: string): boolean {
  return (process.env['PATH'] ?? '/usr/bin:/bin').split(':').some((d) => existsSync(join(d, binary)));
}

export function missingCephBinaries(): string[] {
  return BINARIES.filter((b) => !which(b));
}

export async function startCephCluster(options: { timeoutMs?: number } = {}): Promise<CephCluster> {
  const missing = missingCephBinaries();
  if (missing.length > 0) throw new CephMissingError(missing);
  removeStaleClusters();
  const dir = await mkdtemp(join(tmpdir(), DIR_PREFIX));
  await writeFile(join(dir, 'owner.pid'), String(process.pid));
  try {
    return await boot(dir, Date.now() + (options.timeoutMs ?? 90_000));
  } catch (err) {
    stopCluster(dir);
    throw err;
  }
}

async function boot(dir: string, deadline: number): Promise<CephCluster> {
  const left = (): number => Math.max(1000, deadline - Date.now());
  const [mon, rgw] = [await freePort(), await freePort()];
  const osdPorts = await freePortRange(8);
  const conf = join(dir, 'ceph.conf');
  for (const sub of ['mon', 'osd', 'run', 'log', 'rgw']) await mkdir(join(dir, sub));
  const fsid = randomUUID();
  await writeFile(conf, config({ dir, fsid, mon, rgw, osdPorts }));
  const c = ['-c', conf];
  await run('monmaptool', ['--create', '--addv', 'a', `[v2:127.0.0.1:${mon}]`, '--fsid', fsid, join(dir, 'monmap')], { timeout: left() });
  await run('ceph-mon', [...c, '--mkfs', '-i', 'a', '--monmap', join(dir, 'monmap')], { timeout: left() });
  daemon(dir, 'mon', 'ceph-mon', [...c, '-i', 'a', '-f']);
  const osdUuid = randomUUID();
  const { stdout: id } = await run('ceph', [...c, '--connect-timeout', String(Math.ceil(left() / 1000)), 'osd', 'new', osdUuid], { timeout: left() });
  await run('ceph-osd', [...c, '-i', id.trim(), '--mkfs', '--osd-uuid', osdUuid], { timeout: left() });
  daemon(dir, 'osd', 'ceph-osd', [...c, '-i', id.trim(), '-f']);
  daemon(dir, 'rgw', 'radosgw', [...c, '-n', 'client.rgw.a', '-f']);
  const accessKeyId = 'RU' + randomUUID().replace(/-/g, '').slice(0, 18).toUpperCase();
  const secretAccessKey = randomUUID().replace(/-/g, '');
  // Waits for the cluster itself: the gateway's pools need the OSD up.
  await run('radosgw-admin', [...c, 'user', 'create', '--uid', 'tests', '--display-name', 'tests', '--access-key', accessKeyId, '--secret', secretAccessKey], {
    timeout: left(),
  });
  const endpoint = `http://127.0.0.1:${rgw}`;
  await waitForGateway(endpoint, deadline, dir);
  const region = 'us-east-1';
  return {
    dir,
    endpoint,
    region,
    accessKeyId,
    secretAccessKey,
    env: {
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: secretAccessKey,
      // This gateway rejects the SDK's default checksum trailers (411/400).
      AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
      AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
    },
    createBucket: async (name) => {
      const client = new S3Client({
        endpoint,
        region,
        forcePathStyle: true,
        credentials: { accessKeyId, secretAccessKey },
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
      try {
        await client.send(new CreateBucketCommand({ Bucket: name }));
      } finally {
        client.destroy();
      }
    },
    stop: async () => stopCluster(dir),
  };
}

function config(o: { dir: string; fsid: string; mon: number; rgw: number; osdPorts: [number, number] }): string {
  return `[global]
fsid = ${o.fsid}
mon_host = v2:127.0.0.1:${o.mon}
public_addr = 127.0.0.1
ms_bind_msgr1 = false
ms_bind_port_min = ${o.osdPorts[0]}
ms_bind_port_max = ${o.osdPorts[1]}
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
osd_crush_chooseleaf_type = 0
osd_pool_default_pg_num = 1
osd_pool_default_pgp_num = 1
osd_pool_default_pg_autoscale_mode = off
mon_data_avail_crit = 1
# Each pool the gateway creates is a monitor proposal: the default 1 s interval makes start-up take 15 s.
paxos_propose_interval = 0.1
paxos_min_wait = 0.01
run_dir = ${o.dir}/run
admin_socket = ${o.dir}/run/$name.asok
log_file = ${o.dir}/log/$name.log
[mon]
mon_data = ${o.dir}/mon
[osd]
osd_data = ${o.dir}/osd
osd_objectstore = bluestore
# A sparse file: only what is written takes disk space (memstore would hold every byte in RAM).
bluestore_block_path = ${o.dir}/block.img
bluestore_block_create = true
bluestore_block_size = 10737418240
osd_memory_target = 939524096
[client.rgw.a]
rgw_frontends = beast endpoint=127.0.0.1:${o.rgw}
rgw_data = ${o.dir}/rgw
# Pacific's gateway defaults to secure mode, which cannot work without cephx: it loops on EACCES.
ms_mon_client_mode = crc
`;
}

/** Starts a daemon in the foreground of its own session, output to log/<name>.out, pid recorded. */
function daemon(dir: string, name: string, command: string, args: string[]): void {
  const out = openSync(join(dir, 'log', `${name}.out`), 'a');
  const child = spawn(command, args, { detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  // Recorded at once: the stop must find it even if a later step fails.
  appendFileSync(join(dir, 'pids'), `${child.pid}\n`);
}


async function waitForGateway(endpoint: string, deadline: number, dir: string): Promise<void> {
  for (;;) {
    const ok = await fetch(endpoint, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.status < 500,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`the RADOS Gateway did not answer on ${endpoint} in time; logs in ${dir}/log`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Kills the daemons of a cluster folder (SIGKILL: nothing in it is worth a clean shutdown) and removes it. */
export function stopCluster(dir: string): void {
  let pids: number[] = [];
  try {
    pids = readFileSync(join(dir, 'pids'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    // No daemon was started.
  }
  for (const pid of pids) {
    try {
      // Each daemon leads its own process group (detached).
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

/** Removes cluster folders whose owning process is gone (a run killed before its teardown). */
function removeStaleClusters(): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(DIR_PREFIX)) continue;
    const dir = join(tmpdir(), name);
    let owner = 0;
    try {
      owner = Number(readFileSync(join(dir, 'owner.pid'), 'utf8'));
    } catch {
      // Half-created: treat as stale.
    }
    if (owner > 0 && alive(owner)) continue;
    stopCluster(dir);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const a = probe.address();
      probe.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no free port'))));
    });
  });
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** A run of `count` consecutive free ports for the OSD's messengers. */
async function freePortRange(count: number): Promise<[number, number]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    let ok = true;
    for (let p = base; p < base + count && ok; p++) ok = await portFree(p);
    if (ok) return [base, base + count - 1];
  }
  throw new Error('no range of free ports for the OSD');
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\/scripts\//, '/scripts/'))) {
  const t0 = Date.now();
  const cluster = await startCephCluster();
  console.log(`Ceph ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (${cluster.dir})`);
  for (const [k, v] of Object.entries(cluster.env)) console.log(`export ${k}=${v}`);
  const stop = (): void => {
    void cluster.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  setInterval(() => undefined, 1 << 30);
}
