// A TCP proxy in front of a server that plays a bad network: it cuts connections when the
// client→server byte count reaches chosen positions, and goes "offline" by closing its listener
// and destroying every socket (connections are refused), then listens again on the same port;
// it can also limit the upload rate, hold each request back until its body is whole (as nginx
// does by default), and play a server that hangs.
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface FaultProxyOptions {
  readonly targetPort: number;
  readonly targetHost?: string;
  /** Default 0: any free port (kept across offline/online). */
  readonly port?: number;
}

export interface FaultProxyStats {
  /** Every byte forwarded client → server. */
  readonly clientToServerBytes: number;
  /** Of those, HTTP/1.1 request heads (request line + headers). */
  readonly headerBytes: number;
  /** Of those, request bodies (by Content-Length). */
  readonly bodyBytes: number;
  /** Requests whose head went through. */
  readonly requests: number;
  readonly connections: number;
  /** The largest request body announced (Content-Length): the biggest chunk sent. */
  readonly maxBodyBytes: number;
  /** The `X-Start-Byte` of every POST whose head went through, in order (status/slice requests). */
  readonly postStarts: readonly number[];
  /** Connections cut by `cutAt`. */
  readonly cuts: number;
  /** Socket reads on the client side: bytes / reads is how finely the client's sends arrive. */
  readonly reads: number;
}

export interface FaultProxy {
  readonly port: number;
  readonly url: string;
  setOffline(on: boolean): Promise<void>;
  /** Cut the connection carrying client→server byte number `position` (total count), for each position. */
  cutAt(positions: readonly number[]): void;
  /** Limit client→server bytes per second over all connections (undefined: no limit). */
  setRate(bytesPerSecond: number | undefined): void;
  /**
   * Request buffering, as nginx's `proxy_request_buffering on` (its default): each request reaches
   * the server only once its whole body arrived (Content-Length bodies), then all at once.
   */
  setBuffering(on: boolean): void;
  /** A hung server: connections stay open but nothing is forwarded either way until `setHang(false)`. */
  setHang(on: boolean): void;
  stats(): FaultProxyStats;
  close(): Promise<void>;
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const host = options.targetHost ?? '127.0.0.1';
  const sockets = new Set<Socket>();
  const totals = { clientToServerBytes: 0, headerBytes: 0, bodyBytes: 0, maxBodyBytes: 0, requests: 0, connections: 0, cuts: 0, reads: 0, postStarts: [] as number[] };
  let cuts: number[] = [];

  let rate: number | undefined;
  let buffering = false;
  let nextFreeAt = 0;
  let hang: { promise: Promise<void>; release: () => void } | undefined;

  /** Waits until this many bytes may pass at the current rate (one bucket shared by all connections). */
  const throttle = async (bytes: number): Promise<void> => {
    if (rate === undefined) return;
    const now = Date.now();
    const start = Math.max(now, nextFreeAt);
    nextFreeAt = start + (bytes * 1000) / rate;
    if (start > now) await new Promise((r) => setTimeout(r, start - now));
  };

  const server: Server = createServer((client) => {
    totals.connections++;
    const upstream = connect(options.targetPort, host);
    const meter = new RequestMeter(totals);
    /** Client bytes held back while buffering, until they end on a request boundary. */
    let held: Buffer[] = [];
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('close', () => upstream.destroy());
    upstream.on('data', (data: Buffer) => {
      if (hang === undefined) {
        client.write(data);
        return;
      }
      // A hung server: the answer is held back until the hang ends.
      upstream.pause();
      void hang.promise.then(() => {
        client.write(data);
        upstream.resume();
      });
    });
    upstream.on('end', () => client.end());
    client.on('end', () => upstream.end());

    const forward = (data: Buffer): void => {
      const cut = cuts[0];
      if (cut !== undefined && totals.clientToServerBytes + data.length >= cut) {
        cuts.shift();
        totals.cuts++;
        const part = data.subarray(0, Math.max(0, cut - totals.clientToServerBytes));
        totals.clientToServerBytes += part.length;
        meter.feed(part);
        // The server gets the bytes before the cut, then the connection is gone both ways; a
        // buffering proxy drops the request it held instead.
        if (buffering || held.length > 0) upstream.destroy();
        else upstream.end(part, () => upstream.destroy());
        held = [];
        client.destroy();
        return;
      }
      totals.clientToServerBytes += data.length;
      meter.feed(data);
      if (!buffering && held.length === 0) {
        upstream.write(data);
        return;
      }
      held.push(data);
      if (!meter.atBoundary) return;
      upstream.write(Buffer.concat(held));
      held = [];
    };
    // One chunk at a time per connection, in order; the client is paused meanwhile (backpressure).
    let pending = Promise.resolve();
    client.on('data', (data: Buffer) => {
      totals.reads++;
      client.pause();
      pending = pending.then(async () => {
        while (hang !== undefined) await hang.promise;
        await throttle(data.length);
        if (client.destroyed) return;
        forward(data);
        client.resume();
      });
    });
  });

  await listen(server, options.port ?? 0);
  const port = (server.address() as { port: number }).port;
  let offline = false;

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    async setOffline(on) {
      if (on === offline) return;
      offline = on;
      if (on) {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const s of sockets) s.destroy();
        await closed;
      } else {
        await listen(server, port);
      }
    },
    cutAt(positions) {
      cuts = [...cuts, ...positions].sort((a, b) => a - b);
    },
    setRate(bytesPerSecond) {
      rate = bytesPerSecond;
      nextFreeAt = 0;
    },
    setBuffering(on) {
      buffering = on;
    },
    setHang(on) {
      if (on && hang === undefined) {
        let release: () => void = () => undefined;
        const promise = new Promise<void>((r) => (release = r));
        hang = { promise, release };
      } else if (!on && hang !== undefined) {
        const { release } = hang;
        hang = undefined;
        release();
      }
    },
    stats: () => ({ ...totals, postStarts: [...totals.postStarts] }),
    async close() {
      // Clear the hang before releasing it: a connection waiting in `while (hang !== undefined)`
      // would otherwise await the same resolved promise forever, a microtask loop that starves
      // the event loop (it hung a whole vitest worker at 100 % CPU).
      const held = hang;
      hang = undefined;
      held?.release();
      for (const s of sockets) s.destroy();
      if (!offline) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

const HEAD_END = Buffer.from('\r\n\r\n');

interface MeterTotals {
  headerBytes: number;
  bodyBytes: number;
  maxBodyBytes: number;
  requests: number;
  postStarts: number[];
}

/** Splits one connection's client→server bytes into request heads and bodies (Content-Length only). */
class RequestMeter {
  #head = Buffer.alloc(0);
  #bodyLeft = 0;
  readonly #totals: MeterTotals;

  constructor(totals: MeterTotals) {
    this.#totals = totals;
  }

  /** Every byte fed so far belongs to a whole request: none is partway through a head or a body. */
  get atBoundary(): boolean {
    return this.#bodyLeft === 0 && this.#head.length === 0;
  }

  feed(data: Buffer): void {
    let rest = data;
    while (rest.length > 0) {
      if (this.#bodyLeft > 0) {
        const n = Math.min(this.#bodyLeft, rest.length);
        this.#totals.bodyBytes += n;
        this.#bodyLeft -= n;
        rest = rest.subarray(n);
        continue;
      }
      const before = this.#head.length;
      this.#head = Buffer.concat([this.#head, rest]);
      const end = this.#head.indexOf(HEAD_END);
      if (end < 0) {
        this.#totals.headerBytes += rest.length;
        return;
      }
      const headLength = end + HEAD_END.length;
      this.#totals.headerBytes += headLength - before;
      this.#totals.requests++;
      const head = this.#head.subarray(0, headLength).toString('latin1');
      const start = head.startsWith('POST ') ? /\r\nx-start-byte:\s*(\d+)/i.exec(head) : null;
      if (start) this.#totals.postStarts.push(Number(start[1]));
      const match = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      this.#bodyLeft = match ? Number(match[1]) : 0;
      this.#totals.maxBodyBytes = Math.max(this.#totals.maxBodyBytes, this.#bodyLeft);
      rest = this.#head.subarray(headLength);
      this.#head = Buffer.alloc(0);
    }
  }
}
