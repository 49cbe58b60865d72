// The shared storage contract, unchanged, on S3Storage against the real Ceph cluster.
import { storageContract } from '../server/storage-contract.js';
import { S3Storage } from '../../server/index.js';
import { freshPrefix, s3Env, testClient } from './s3-env.js';

storageContract('S3Storage (Ceph RGW)', async () => {
  let offset = 0;
  const clock = { now: () => Date.now() + offset };
  const client = testClient();
  const prefix = freshPrefix('contract');
  const open = (): S3Storage => new S3Storage({ client, bucket: s3Env().bucket, prefix, clock });
  return {
    storage: open(),
    // Another process over the same bucket and prefix.
    reopen: open,
    advance: (ms) => {
      offset += ms;
    },
    cleanup: async () => client.destroy(),
  };
});
