import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore, MemoryStore } from '../../server/index.js';
import { storageContract } from './storage-contract.js';

storageContract('FileStore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ru-store-'));
  let offset = 0;
  const clock = { now: () => Date.now() + offset };
  return {
    storage: new FileStore({ dir, clock }),
    advance: (ms) => {
      offset += ms;
    },
    reopen: () => new FileStore({ dir, clock }),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

storageContract('MemoryStore', async () => {
  let offset = 0;
  const clock = { now: () => Date.now() + offset };
  return {
    storage: new MemoryStore({ clock }),
    advance: (ms) => {
      offset += ms;
    },
    cleanup: async () => undefined,
  };
});
