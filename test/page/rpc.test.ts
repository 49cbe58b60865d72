import { afterEach, describe, expect, it, vi } from 'vitest';
import { Patience, request, type MessageTarget } from '../../src/rpc.js';
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

describe('requests sharing a Patience', () => {
  afterEach(() => vi.useRealTimers());

  /** A worker stand-in that keeps each request's port until the test answers it. */
  function heldTarget() {
    const held: { id: string; port: MessagePort }[] = [];
    const target: MessageTarget = {
      postMessage(message, transfer) {
        if (!isRequestEnvelope(message)) throw new Error('not a request envelope');
        held.push({ id: message.id, port: transfer[0] as MessagePort });
      },
    };
    const answer = (): void => {
      const next = held.shift()!;
      next.port.postMessage({ kind: 'resilient-upload:reply', id: next.id, ok: true, result: next.id } satisfies ReplyEnvelope);
    };
    return { target, answer };
  }

  /** Three requests sharing a Patience of 1 s (fake timers), each outcome noted in order. */
  function threeSharingPatience() {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { target, answer } = heldTarget();
    const patience = new Patience(1_000);
    const outcomes: string[] = [];
    const requests = [0, 1, 2].map((i) =>
      request(target, { type: 'list' }, patience).then(
        () => outcomes.push(`answered ${i}`),
        (e: UploadError) => outcomes.push(`${e.code} ${i}`),
      ),
    );
    return { answer, outcomes, requests };
  }

  /** Lets the ports deliver (real event-loop turns; only the timers are fake). */
  const deliver = async (): Promise<void> => {
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  };

  it('answers one after another, each within the patience of the last, never time out, however long the whole takes', async () => {
    const { answer, outcomes, requests } = threeSharingPatience();
    for (let i = 0; i < 3; i++) {
      await vi.advanceTimersByTimeAsync(900);
      answer();
      await deliver();
    }
    await Promise.all(requests);
    expect(outcomes).toEqual(['answered 0', 'answered 1', 'answered 2']);
  });

  it('a worker silent for the whole patience: every request still waiting times out at once', async () => {
    const { answer, outcomes, requests } = threeSharingPatience();
    await vi.advanceTimersByTimeAsync(900);
    answer();
    await deliver();
    await vi.advanceTimersByTimeAsync(999);
    expect(outcomes).toEqual(['answered 0']);
    await vi.advanceTimersByTimeAsync(1);
    await Promise.all(requests);
    expect(outcomes).toEqual(['answered 0', 'TIMEOUT 1', 'TIMEOUT 2']);
  });
});
