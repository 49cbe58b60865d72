// The Transport the engine is given: each upload goes to the transport of its protocol (the one
// its record names; records from before protocols existed are status/slice).
import type { UploadProtocol } from '../../src/protocol/index.js';
import type { AppendLimits, AppendRequest, ProgressOutcome, RequestContext, Transport, TransportOutcome, TransportUpload } from './port.js';

export class ProtocolRouter implements Transport {
  readonly #transports: Readonly<Record<UploadProtocol, Transport>>;

  constructor(transports: Readonly<Record<UploadProtocol, Transport>>) {
    this.#transports = transports;
  }

  status(upload: TransportUpload, ctx: RequestContext): Promise<TransportOutcome> {
    return this.#of(upload).status(upload, ctx);
  }

  append(upload: TransportUpload, chunk: AppendRequest, ctx: RequestContext): Promise<TransportOutcome> {
    return this.#of(upload).append(upload, chunk, ctx);
  }

  cancel(upload: TransportUpload, ctx: RequestContext): Promise<TransportOutcome> {
    return this.#of(upload).cancel(upload, ctx);
  }

  /** Whole-file digests where the upload's protocol has them (status/slice); tus and the draft check each chunk. */
  supportsFileDigest(upload: TransportUpload): boolean {
    return this.#of(upload).supportsFileDigest?.(upload) ?? false;
  }

  appendsFirst(upload: TransportUpload): boolean {
    return this.#of(upload).appendsFirst?.(upload) ?? false;
  }

  appendLimits(upload: TransportUpload): AppendLimits | undefined {
    return this.#of(upload).appendLimits?.(upload);
  }

  streams(upload: TransportUpload): boolean | undefined {
    const transport = this.#of(upload);
    return transport.progress === undefined ? false : transport.streams?.(upload);
  }

  progress(upload: TransportUpload, ctx: RequestContext): Promise<ProgressOutcome> {
    const transport = this.#of(upload);
    return transport.progress === undefined ? Promise.resolve({ kind: 'unsupported' }) : transport.progress(upload, ctx);
  }

  unstreamed(upload: TransportUpload): void {
    this.#of(upload).unstreamed?.(upload);
  }

  #of(upload: TransportUpload): Transport {
    return this.#transports[upload.protocol ?? 'status-slice'];
  }
}
