// Writing a response value to a node:http response, and what happens to a request body the
// handler did not read: drained (bounded) so the client sees the answer, or cut.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { UploadResponse } from './types.js';

/**
 * A refused request's body is read and discarded before the connection closes, so a client still
 * sending gets the answer instead of a reset (closing with unread data makes the kernel send RST,
 * which destroys the answer in flight). At most this much, for at most this long.
 */
const DRAIN_MAX_BYTES = 64 * 1024 * 1024;
const DRAIN_MAX_MS = 20_000;

export async function send(req: IncomingMessage, res: ServerResponse, response: UploadResponse, idleTimeoutMs: number): Promise<void> {
  if (res.destroyed || res.headersSent) return;
  const unread = !req.complete;
  res.statusCode = response.status;
  for (const [k, v] of Object.entries(response.headers)) res.setHeader(k, v);
  if (unread && response.closeConnection) res.setHeader('connection', 'close');
  const finished = new Promise<void>((resolve) => res.once('close', resolve));
  const body = response.body;
  if (typeof body === 'string' || body instanceof Uint8Array) {
    if (!res.hasHeader('content-length')) res.setHeader('content-length', Buffer.byteLength(body));
    res.end(body);
  } else {
    try {
      for await (const chunk of body) {
        // A reader that stops reading is cut after the idle timeout, as a silent sender is.
        if (!res.write(chunk) && !(await drained(res, idleTimeoutMs))) throw new Error('response stalled');
        if (res.destroyed) break;
      }
      res.end();
    } catch {
      res.destroy();
    }
  }
  if (unread) afterUnreadBody(req, res, response.closeConnection === true, idleTimeoutMs);
  await finished;
}

function drained(res: ServerResponse, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = (): void => done(true);
    const onClose = (): void => done(false);
    const timer = setTimeout(() => done(false), timeoutMs);
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}

/**
 * The body was not read to its end. A client that is gone or too slow gets its socket closed once
 * the answer is out. One still sending has its body read and discarded (bounded in bytes, time and
 * idleness), so it reads the answer before any close; a body read to its end leaves the connection
 * usable for the next request.
 */
function afterUnreadBody(req: IncomingMessage, res: ServerResponse, close: boolean, idleTimeoutMs: number): void {
  if (close) {
    res.once('finish', () => req.socket.destroy());
    return;
  }
  let discarded = 0;
  const cut = (): void => {
    stop();
    req.socket.destroy();
  };
  const idle = setTimeout(cut, idleTimeoutMs);
  const total = setTimeout(cut, DRAIN_MAX_MS);
  const onData = (chunk: Buffer): void => {
    discarded += chunk.length;
    if (discarded > DRAIN_MAX_BYTES) cut();
    else idle.refresh();
  };
  const stop = (): void => {
    clearTimeout(idle);
    clearTimeout(total);
    req.off('data', onData);
  };
  req.removeAllListeners('readable');
  req.on('data', onData);
  req.once('end', stop);
  req.once('close', stop);
  req.on('error', () => undefined);
  req.resume();
}

