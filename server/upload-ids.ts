// Uploads the server names (tus and the IETF draft, at `/files/<token>`) beside uploads the client
// names (status/slice's X-File-Id), in one storage and one namespace: two id spaces that never meet.
// A server-named upload's id is SERVER_NAMED + its token; status/slice refuses client ids there.
import { randomBytes } from 'node:crypto';
import type { UploadRef } from './storage.js';

/** Where server-named uploads live, relative to the base path (tusd's default). */
export const FILES_PATH = '/files';

/** The id prefix of server-named uploads: reserved, a client-chosen id may not start with it. */
export const SERVER_NAMED = '@files/';

/** 24 characters of base64url: 144 random bits, never derived from client text. */
const TOKEN = /^[A-Za-z0-9_-]{24}$/;

export function newUploadToken(): string {
  return randomBytes(18).toString('base64url');
}

export function isServerNamed(id: string): boolean {
  return id.startsWith(SERVER_NAMED);
}

export function serverNamedRef(namespace: string, token: string): UploadRef {
  return { namespace, id: SERVER_NAMED + token };
}

/** The upload's URL path relative to the base path. */
export function uploadPath(token: string): string {
  return `${FILES_PATH}/${token}`;
}

/**
 * What a path under FILES_PATH names: the collection (`/files`, `/files/`: where uploads are
 * created), one upload (`/files/<token>`; `token` undefined when it is not one of ours, which
 * answers 404), or undefined for a path outside it.
 */
export function parseFilesPath(path: string): { readonly kind: 'collection' } | { readonly kind: 'upload'; readonly token: string | undefined } | undefined {
  if (path === FILES_PATH || path === `${FILES_PATH}/`) return { kind: 'collection' };
  if (!path.startsWith(`${FILES_PATH}/`)) return undefined;
  const rest = path.slice(FILES_PATH.length + 1);
  return { kind: 'upload', token: TOKEN.test(rest) ? rest : undefined };
}
