// The one module that talks to S3: the few operations S3 storage and its leases use, each with
// its failure turned into a typed error. A 412 on a conditional write is an answer (someone else
// wrote first), not a failure; anything the store could not do is UNAVAILABLE (503).
import { createHash, randomUUID } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { UploadServerError } from '../errors.js';

/** A JSON object as stored, with the ETag that conditional writes compare against. */
export interface Stored<T> {
  readonly value: T;
  readonly etag: string;
}

/** Write only if absent (`'*'`), or only if the stored ETag is still this one. */
export type Condition = { readonly ifNoneMatch: '*' } | { readonly ifMatch: string };

export interface ListedObject {
  readonly key: string;
  readonly lastModified: number;
}

export interface CompletedPart {
  readonly n: number;
  readonly etag: string;
}

/** The store's failure as a 503 for the client; the cause (with the SDK's details) goes to logs. */
export function unavailable(what: string, err: unknown): UploadServerError {
  if (err instanceof UploadServerError) return err;
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  const status = e?.$metadata?.httpStatusCode;
  const why = `${e?.name ?? 'Error'}${status === undefined ? '' : ` ${status}`}`;
  return new UploadServerError('UNAVAILABLE', `the object store failed to ${what} (${why}); retry later`, { cause: err });
}

function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

const isMissing = (err: unknown): boolean => statusOf(err) === 404;
const isConflict = (err: unknown): boolean => statusOf(err) === 412 || statusOf(err) === 409;

export class Bucket {
  readonly client: S3Client;
  readonly name: string;
  /** RGW (Pacific) compares If-Match to the bare hex digest; AWS takes the quoted ETag. Found by probe(). */
  #quoteIfMatch = true;

  constructor(client: S3Client, name: string) {
    this.client = client;
    this.name = name;
  }

  async getJson<T>(key: string): Promise<Stored<T> | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.name, Key: key }));
      const text = (await out.Body?.transformToString('utf8')) ?? '';
      return { value: JSON.parse(text) as T, etag: out.ETag ?? '' };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw unavailable(`read ${kind(key)}`, err);
    }
  }

  /** The new ETag, or undefined when the condition failed (412). */
  async putJson(key: string, value: unknown, condition?: Condition): Promise<string | undefined> {
    return this.put(key, Buffer.from(JSON.stringify(value)), condition, 'application/json');
  }

  /** Stores bytes with their MD5, so the store refuses them if they were damaged on the way. */
  async put(key: string, body: Buffer, condition?: Condition, contentType = 'application/octet-stream'): Promise<string | undefined> {
    try {
      const out = await this.client.send(
        new PutObjectCommand({
          Bucket: this.name,
          Key: key,
          Body: body,
          ContentType: contentType,
          ContentMD5: md5(body),
          ...(condition === undefined ? {} : 'ifMatch' in condition ? { IfMatch: this.#match(condition.ifMatch) } : { IfNoneMatch: '*' }),
        }),
      );
      return out.ETag ?? '';
    } catch (err) {
      if (condition !== undefined && isConflict(err)) return undefined;
      throw unavailable(`write ${kind(key)}`, err);
    }
  }

  async getBytes(key: string): Promise<Buffer | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.name, Key: key }));
      return Buffer.from((await out.Body?.transformToByteArray()) ?? new Uint8Array());
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw unavailable(`read ${kind(key)}`, err);
    }
  }

  async stream(key: string): Promise<AsyncIterable<Uint8Array> | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.name, Key: key }));
      return out.Body as AsyncIterable<Uint8Array>;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw unavailable(`read ${kind(key)}`, err);
    }
  }

  async head(key: string): Promise<{ size: number } | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.name, Key: key }));
      return { size: out.ContentLength ?? 0 };
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw unavailable(`look up ${kind(key)}`, err);
    }
  }

  /**
   * Deletes unconditionally where the store ignores If-Match on DELETE (Ceph Pacific); AWS honours
   * it. Callers delete only objects nobody can write any more, or re-check just before.
   */
  async delete(key: string, ifMatch?: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.name, Key: key, ...(ifMatch === undefined ? {} : { IfMatch: this.#match(ifMatch) }) }));
    } catch (err) {
      if (isMissing(err) || isConflict(err)) return;
      throw unavailable(`delete ${kind(key)}`, err);
    }
  }

  /** Objects under `prefix`; with a delimiter, only those not below a further `delimiter`. */
  async *list(prefix: string, delimiter?: string): AsyncGenerator<ListedObject> {
    let token: string | undefined;
    do {
      let out;
      try {
        out = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.name,
            Prefix: prefix,
            ...(delimiter === undefined ? {} : { Delimiter: delimiter }),
            ...(token === undefined ? {} : { ContinuationToken: token }),
          }),
        );
      } catch (err) {
        throw unavailable('list objects', err);
      }
      for (const o of out.Contents ?? []) if (o.Key) yield { key: o.Key, lastModified: o.LastModified?.getTime() ?? 0 };
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }

  async *listMultipartUploads(prefix: string): AsyncGenerator<{ key: string; uploadId: string; initiated: number }> {
    let keyMarker: string | undefined;
    let idMarker: string | undefined;
    for (;;) {
      let out;
      try {
        out = await this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.name,
            Prefix: prefix,
            ...(keyMarker === undefined ? {} : { KeyMarker: keyMarker }),
            ...(idMarker === undefined ? {} : { UploadIdMarker: idMarker }),
          }),
        );
      } catch (err) {
        throw unavailable('list multipart uploads', err);
      }
      for (const u of out.Uploads ?? []) {
        if (u.Key && u.UploadId) yield { key: u.Key, uploadId: u.UploadId, initiated: u.Initiated?.getTime() ?? 0 };
      }
      if (!out.IsTruncated) return;
      keyMarker = out.NextKeyMarker;
      idMarker = out.NextUploadIdMarker;
    }
  }

  async createMultipart(key: string): Promise<string> {
    try {
      const out = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.name, Key: key, ContentType: 'application/octet-stream' }));
      if (!out.UploadId) throw new Error('no UploadId in the answer');
      return out.UploadId;
    } catch (err) {
      throw unavailable('start a multipart upload', err);
    }
  }

  async uploadPart(key: string, uploadId: string, n: number, body: Buffer): Promise<string> {
    try {
      const out = await this.client.send(
        new UploadPartCommand({ Bucket: this.name, Key: key, UploadId: uploadId, PartNumber: n, Body: body, ContentMD5: md5(body) }),
      );
      return out.ETag ?? '';
    } catch (err) {
      throw unavailable('store a part', err);
    }
  }

  /** False when the upload is gone (completed or aborted before). */
  async completeMultipart(key: string, uploadId: string, parts: readonly CompletedPart[]): Promise<boolean> {
    try {
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.name,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.n, ETag: p.etag })) },
        }),
      );
      return true;
    } catch (err) {
      if (isMissing(err)) return false;
      throw unavailable('complete a multipart upload', err);
    }
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.name, Key: key, UploadId: uploadId }));
    } catch (err) {
      if (isMissing(err)) return;
      throw unavailable('abort a multipart upload', err);
    }
  }

  /**
   * Checks at start that the bucket is there and answers, and that the store enforces the
   * conditional writes fencing depends on (a store that ignored them would let a stale writer
   * overwrite); learns how it wants If-Match written. Throws one clear line otherwise.
   */
  async probe(prefix: string): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.name }));
    } catch (err) {
      throw new UploadServerError('UNAVAILABLE', startupReason(this.name, err), { cause: err });
    }
    const key = `${prefix}probe/${randomUUID()}`;
    try {
      const first = await this.put(key, Buffer.from('1'), { ifNoneMatch: '*' });
      const again = await this.put(key, Buffer.from('2'), { ifNoneMatch: '*' });
      if (first === undefined || again !== undefined) throw notEnforced(this.name, 'If-None-Match: *');
      let next = await this.put(key, Buffer.from('3'), { ifMatch: first });
      if (next === undefined) {
        this.#quoteIfMatch = false;
        next = await this.put(key, Buffer.from('3'), { ifMatch: first });
      }
      const stale = await this.put(key, Buffer.from('4'), { ifMatch: first });
      if (next === undefined || stale !== undefined) throw notEnforced(this.name, 'If-Match');
    } finally {
      await this.delete(key).catch(() => undefined);
    }
  }

  #match(etag: string): string {
    const bare = etag.replace(/^"|"$/g, '');
    return this.#quoteIfMatch ? `"${bare}"` : bare;
  }
}

function md5(body: Buffer): string {
  return createHash('md5').update(body).digest('base64');
}

/** What kind of object a key names, for error messages that do not echo keys. */
function kind(key: string): string {
  if (/(^|\/)leases\//.test(key)) return 'a lease';
  if (key.endsWith('.json')) return 'upload state';
  return 'upload data';
}

function notEnforced(bucket: string, what: string): UploadServerError {
  return new UploadServerError('UNAVAILABLE', `bucket ${bucket}: the store ignores ${what} on PutObject; S3 storage needs conditional writes to fence stale writers`);
}

function startupReason(bucket: string, err: unknown): string {
  const status = statusOf(err);
  const e = err as { name?: string; code?: string; message?: string } | undefined;
  if (status === 404) return `bucket ${bucket} does not exist`;
  if (status === 403 || status === 401) return `access to bucket ${bucket} denied: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`;
  if (status === 301 || status === 400) return `bucket ${bucket}: the store refused the request (HTTP ${status}); check AWS_REGION and AWS_ENDPOINT_URL`;
  return `cannot reach the object store for bucket ${bucket}: ${e?.code ?? e?.name ?? 'error'} ${e?.message ?? ''}`.trim();
}
