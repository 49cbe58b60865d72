// OPTIONS /files/: what this tus server offers.
import { TUS_CHECKSUM_ALGORITHM, TUS_EXTENSION, TUS_MAX_SIZE, TUS_VERSION, TUS_VERSIONS } from '../../src/protocol/tus.js';
import type { UploadServices } from '../protocol.js';
import type { UploadResponse } from '../types.js';
import { CHECKSUM_ALGORITHMS } from './tus-checksum.js';

export function optionsTus(services: UploadServices): UploadResponse {
  const extensions = ['creation', 'creation-with-upload', 'creation-defer-length', 'termination', 'checksum'];
  // Uploads expire only where the sweep runs.
  if (services.expiry() !== undefined) extensions.push('expiration');
  return {
    status: 204,
    headers: {
      [TUS_VERSIONS.toLowerCase()]: TUS_VERSION,
      [TUS_EXTENSION.toLowerCase()]: extensions.join(','),
      [TUS_MAX_SIZE.toLowerCase()]: String(services.maxUploadSize),
      [TUS_CHECKSUM_ALGORITHM.toLowerCase()]: CHECKSUM_ALGORITHMS.join(','),
    },
    body: '',
  };
}
