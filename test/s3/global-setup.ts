// Starts one real Ceph cluster (monitor, bluestore OSD, RADOS Gateway on 127.0.0.1) for the whole
// s3 project and stops it after, whatever the outcome. Missing packages fail the run with the
// command that installs them.
import type { TestProject } from 'vitest/node';
import { startCephCluster, type CephCluster } from '../../scripts/ceph-cluster.js';
import { TEST_BUCKET, type S3TestEnv } from './s3-env.js';

let cluster: CephCluster | undefined;

export async function setup(project: TestProject): Promise<void> {
  const t0 = Date.now();
  cluster = await startCephCluster();
  // A setup that throws gets no teardown: stop the daemons here.
  await cluster.createBucket(TEST_BUCKET).catch(async (err: unknown) => {
    await cluster?.stop();
    throw err;
  });
  console.log(`Ceph (mon, osd, rgw) ready for the s3 tests in ${((Date.now() - t0) / 1000).toFixed(1)} s at ${cluster.endpoint}`);
  project.provide('s3', { env: { ...cluster.env }, bucket: TEST_BUCKET } satisfies S3TestEnv);
}

export async function teardown(): Promise<void> {
  await cluster?.stop();
}
