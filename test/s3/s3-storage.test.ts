// The shared storage contract, unchanged, on S3Storage against the real Ceph cluster.
import { storageContract } from '../server/storage-contract.js';
import { S3Storage } from '../../server/index.js';
import { freshPrefix, s3Env, testClient } from './s3-env.js';

storageContract('S3Storage (Ceph RGW)', async () => {
  let offset = 0;
  const clock = { now: () => Date.now() + offset };
  const client = testClient();
  return {
    storage: new S3Storage({ client, bucket: s3Env().bucket, prefix: freshPrefix('contract'), clock }),
    advance: (ms) => {
      offset += ms;
    },
    cleanup: async () => client.destroy(),
  };
});
