// Test and benchmark payloads: the same bytes for the same seed, so a failure can be replayed.

/** Deterministic pseudo-random bytes (incompressible enough, different per seed). */
export function makeBytes(size: number, seed: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}
