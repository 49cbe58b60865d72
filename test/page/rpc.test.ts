import { describe, expect, it } from 'vitest';
import { request, type MessageTarget } from '../../src/rpc.js';
import { UploadError } from '../../src/protocol/errors.js';
import { isRequestEnvelope, type ReplyEnvelope } from '../../src/protocol/messages.js';

/** A worker stand-in that answers each request through the transferred port. */
function target(answer: (id: string) => ReplyEnvelope | undefined): MessageTarget {
  return {
    postMessage(message, transfer) {
      if (!isRequestEnvelope(message)) throw new Error('not a request envelope');
      const port = transfer[0] as MessagePort;
      const reply = answer(message.id);
      if (reply) port.postMessage(reply);
      port.close();
    },
  };
}

describe('request/reply over MessageChannel', () => {
  it('resolves with the result of the matching reply', async () => {
    const t = target((id) => ({ kind: 'resilient-upload:reply', id, ok: true, result: 3 }));
    await expect(request(t, { type: 'clear-completed' }, 1000)).resolves.toBe(3);
  });

  it('rejects with the typed error the worker sent', async () => {
    const t = target((id) => ({
      kind: 'resilient-upload:reply',
      id,
      ok: false,
      error: { code: 'QUOTA_EXCEEDED', message: 'no room' },
    }));
    const error = await request(t, { type: 'list' }, 1000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UploadError);
    expect((error as UploadError).code).toBe('QUOTA_EXCEEDED');
    expect((error as UploadError).message).toBe('no room');
  });

  it('ignores replies to other requests and times out with TIMEOUT', async () => {
    const t = target(() => ({ kind: 'resilient-upload:reply', id: 'someone-else', ok: true, result: [] }));
    const error = await request(t, { type: 'list' }, 50).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UploadError);
    expect((error as UploadError).code).toBe('TIMEOUT');
  });

  it('rejects with INTERNAL when the message cannot be posted', async () => {
    const t: MessageTarget = {
      postMessage() {
        throw new DOMException('could not clone', 'DataCloneError');
      },
    };
    const error = await request(t, { type: 'list' }, 1000).catch((e: unknown) => e);
    expect((error as UploadError).code).toBe('INTERNAL');
  });
});
