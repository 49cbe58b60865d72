// Without Ceph's packages the S3 tests fail, never skip, and say how to install them.
import { afterEach, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CEPH_INSTALL, CephMissingError, startCephCluster } from '../../scripts/ceph-cluster.js';

const path = process.env['PATH'];
afterEach(() => {
  process.env['PATH'] = path;
});

it('fails with the exact install command when the Ceph binaries are not on PATH', async () => {
  const empty = await mkdtemp(join(tmpdir(), 'ru-no-ceph-'));
  process.env['PATH'] = empty;
  try {
    const err = await startCephCluster().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CephMissingError);
    expect((err as Error).message).toContain(CEPH_INSTALL);
    expect(CEPH_INSTALL).toBe('sudo apt-get update && sudo apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw ceph-common uuid-runtime');
  } finally {
    await rm(empty, { recursive: true, force: true });
  }
});
