// Base64 of bytes, strictly checked, for the digests and metadata of every protocol. No DOM or Node
// APIs beyond atob/btoa, which page, worker and Node all have.

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function bytesToBase64(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** The bytes of standard base64 with its padding, or undefined for anything else. */
export function base64ToBytes(b64: string): Uint8Array | undefined {
  if (!BASE64.test(b64) || b64.length % 4 !== 0) return undefined;
  let s: string;
  try {
    s = atob(b64);
  } catch {
    return undefined;
  }
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}
