// Size limits and per-namespace limits, checked alike for every protocol before a byte of a body is
// read. What concurrent appends of one namespace may still add is reserved while they run, so a
// burst of simultaneous new uploads cannot slip past a limit between a check and its write.
import { UploadServerError } from './errors.js';
import type { NamespaceLimits } from './options.js';
import type { AppendRequest } from './protocol.js';
import type { UploadRef, UploadStorage } from './storage.js';

export interface Admission {
  /** Most bytes this body may add. */
  readonly maxBytes: number;
  /** The storage's TOO_LARGE becomes TOO_MANY_BYTES where the namespace's budget, not the file, set the limit. */
  explain(err: unknown): unknown;
  release(): void;
}

interface Reserved {
  uploads: number;
  bytes: number;
}

export class UploadLimits {
  readonly #maxUploadSize: number;
  readonly #perNamespace: NamespaceLimits;
  readonly #storage: UploadStorage;
  readonly #reserved = new Map<string, Reserved>();

  constructor(maxUploadSize: number, perNamespace: NamespaceLimits, storage: UploadStorage) {
    this.#maxUploadSize = maxUploadSize;
    this.#perNamespace = perNamespace;
    this.#storage = storage;
  }

  /** Admits one append (the caller holds the upload's lease), or throws with the offset held. */
  async admit(ref: UploadRef, a: AppendRequest): Promise<Admission> {
    const at = (code: 'TOO_LARGE' | 'TOO_MANY_UPLOADS' | 'TOO_MANY_BYTES', message?: string): UploadServerError =>
      new UploadServerError(code, message, { offset: a.start });
    const max = this.#maxUploadSize;
    if (a.size !== undefined && a.size > max) throw at('TOO_LARGE', `the upload is larger than this server's limit of ${max} bytes`);
    const declared = a.held?.size ?? a.size;
    const toLimit = Math.min(declared ?? Number.POSITIVE_INFINITY, max) - a.start;
    const room = Math.min(toLimit, a.maxBytes ?? Number.POSITIVE_INFINITY);
    if ((a.contentLength ?? 0) > room) throw at('TOO_LARGE');
    // Where the protocol's cap on one body, not the upload's size, stops a body: say so (Upload-Offset says what was kept).
    const byCap = (err: unknown): unknown =>
      a.maxBytes !== undefined && a.maxBytes < toLimit && err instanceof UploadServerError && err.code === 'TOO_LARGE'
        ? new UploadServerError('TOO_LARGE', `one request may carry at most ${a.maxBytes} bytes`, { offset: err.offset ?? a.start })
        : err;

    const { maxPartialUploads, maxPartialBytes } = this.#perNamespace;
    if (maxPartialUploads === undefined && maxPartialBytes === undefined) return { maxBytes: room, explain: byCap, release: () => undefined };
    const usage = await this.#storage.usage(ref.namespace);
    // From here to the reservation nothing awaits: concurrent admissions see each other's.
    const reserved = this.#reserved.get(ref.namespace) ?? { uploads: 0, bytes: 0 };
    const isNew = a.held === undefined;
    if (isNew && maxPartialUploads !== undefined && usage.uploads + reserved.uploads >= maxPartialUploads) {
      throw at('TOO_MANY_UPLOADS', `this client already holds ${maxPartialUploads} unfinished uploads; finish or cancel one first`);
    }
    let maxBytes = room;
    let byBudget = false;
    // What this append adds to the namespace's count (see NamespaceUsage.bytes).
    let adds = 0;
    if (maxPartialBytes !== undefined) {
      if ((declared ?? a.start + (a.contentLength ?? 0)) > maxPartialBytes) {
        throw at('TOO_LARGE', `the upload is larger than the ${maxPartialBytes} bytes one client may hold unfinished`);
      }
      const budget = maxPartialBytes - usage.bytes - reserved.bytes;
      const full = (): UploadServerError =>
        at('TOO_MANY_BYTES', `this client's unfinished uploads would hold more than ${maxPartialBytes} bytes; finish or cancel one first`);
      if (a.held?.size !== undefined) adds = 0; // its whole size is counted already
      else if (declared !== undefined) adds = declared - a.start;
      else if (a.contentLength !== undefined) adds = a.contentLength;
      else {
        // A streamed body of unknown length: as much as the budget allows.
        if (budget <= 0) throw full();
        adds = Math.min(room, budget);
        byBudget = budget < room;
        maxBytes = adds;
      }
      if (adds > budget) throw full();
    }
    const take = { uploads: isNew ? 1 : 0, bytes: adds };
    this.#reserved.set(ref.namespace, { uploads: reserved.uploads + take.uploads, bytes: reserved.bytes + take.bytes });
    let released = false;
    return {
      maxBytes,
      explain: (err) =>
        byBudget && err instanceof UploadServerError && err.code === 'TOO_LARGE'
          ? new UploadServerError('TOO_MANY_BYTES', `this client's unfinished uploads hold ${maxPartialBytes} bytes, the most allowed`, {
              offset: err.offset ?? a.start,
            })
          : byCap(err),
      release: () => {
        if (released) return;
        released = true;
        const now = this.#reserved.get(ref.namespace)!;
        const left = { uploads: now.uploads - take.uploads, bytes: now.bytes - take.bytes };
        if (left.uploads === 0 && left.bytes === 0) this.#reserved.delete(ref.namespace);
        else this.#reserved.set(ref.namespace, left);
      },
    };
  }
}
