// A raw WebSocket connection to the engine (the `ws` package, no SDK), for
// sending frames the SDK never would. Every frame received is kept in order.
import WebSocket from 'ws';
import assert from 'node:assert/strict';
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { deferred, within } from './util.mjs';

export class RawConnection {
  /** Connects to `url`; resolves once the socket is open. */
  static async open(url, timeoutMs = 5000) {
    const conn = new RawConnection(url);
    await within(timeoutMs, conn.opened, `raw connection to ${url}`);
    return conn;
  }

  constructor(url) {
    // No compression, so that a frame's size on the wire is the size we send.
    this.ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: 5000 });
    this.received = []; // every frame, in order: {text, json (undefined if not JSON), binary}
    this.pending = []; // received but not yet taken by next()
    this.waiters = [];
    const opened = deferred();
    const closed = deferred();
    this.opened = opened.promise;
    this.closed = closed.promise; // resolves {code, reason}
    this.ws.on('open', () => opened.resolve());
    this.ws.on('error', (err) => {
      opened.reject(err);
      this.error = err;
    });
    this.ws.on('message', (data, isBinary) => {
      const text = data.toString();
      let json;
      try {
        json = JSON.parse(text);
      } catch {}
      const msg = { text, json, binary: isBinary };
      this.received.push(msg);
      this.pending.push(msg);
      this.#wake();
    });
    this.ws.on('close', (code, reason) => {
      this.closeInfo = { code, reason: reason.toString() };
      closed.resolve(this.closeInfo);
      this.#wake();
    });
    this.opened.catch(() => {});
  }

  get isOpen() {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends a string as a text frame, anything else JSON-encoded; `binary` sends bytes. */
  send(frame, { binary = false } = {}) {
    const text = typeof frame === 'string' ? frame : JSON.stringify(frame);
    return new Promise((resolve, reject) => {
      this.ws.send(binary ? Buffer.from(text) : text, { binary }, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Forgets frames received so far that no next() took. */
  discardPending() {
    this.pending.length = 0;
  }

  #wake() {
    for (const w of [...this.waiters]) w();
  }

  /**
   * Resolves with the first not-yet-taken JSON frame for which `pred(json)`
   * is true; frames before it are taken too (skipped). Rejects on timeout or
   * when the connection closes first.
   */
  next(pred = () => true, timeoutMs = 5000, what = 'a matching frame') {
    const take = () => {
      const i = this.pending.findIndex((m) => m.json !== undefined && pred(m.json));
      if (i < 0) return undefined;
      const [msg] = this.pending.splice(0, i + 1).slice(-1);
      return msg;
    };
    const found = take();
    if (found) return Promise.resolve(found.json);
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.splice(this.waiters.indexOf(check), 1);
      };
      const timer = setTimeout(() => {
        done();
        const seen = this.received.map((m) => m.text.slice(0, 200)).join(' | ');
        reject(new Error(`no ${what} within ${timeoutMs} ms; frames received so far: ${seen || '(none)'}`));
      }, timeoutMs);
      const check = () => {
        const msg = take();
        if (msg) {
          done();
          resolve(msg.json);
        } else if (this.closeInfo) {
          done();
          reject(new Error(`connection closed (${this.closeInfo.code} ${this.closeInfo.reason}) before ${what}`));
        }
      };
      this.waiters.push(check);
    });
  }

  /** Sends a sync invokefunction and resolves with the matching invocationresult. */
  async call(functionId, data, { invocationId = randomUUID(), timeoutMs = 5000 } = {}) {
    await this.send({ type: 'invokefunction', invocation_id: invocationId, function_id: functionId, data });
    return this.next(
      (m) => m.type === 'invocationresult' && m.invocation_id === invocationId,
      timeoutMs,
      `the invocationresult for ${invocationId}`,
    );
  }

  close() {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve(this.closeInfo);
    this.ws.close();
    return within(3000, this.closed, 'raw close').catch(() => this.ws.terminate());
  }
}

/** A TCP connection upgraded by hand; resolves once the 101 is read. */
export async function rawSocket(url) {
  const { hostname, port } = new URL(url);
  const sock = net.connect(Number(port), hostname);
  let buf = Buffer.alloc(0);
  sock.on('data', (d) => (buf = Buffer.concat([buf, d])));
  sock.on('error', (err) => (sock.lastError = err)); // checked by the tests
  const closed = new Promise((resolve) => sock.on('close', resolve));
  await within(5000, new Promise((resolve) => sock.on('connect', resolve)), 'tcp connect');
  sock.write(
    `GET / HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  const upgraded = async () => {
    while (!buf.includes('\r\n\r\n')) await new Promise((r) => setTimeout(r, 5));
    const end = buf.indexOf('\r\n\r\n') + 4;
    const head = buf.subarray(0, end).toString();
    buf = buf.subarray(end);
    return head;
  };
  const head = await within(5000, upgraded(), 'the 101 answer');
  assert.match(head, /^HTTP\/1\.1 101/);
  assert.match(head, /Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/i);
  return { sock, closed, bytes: () => buf };
}

/**
 * Opens a WebSocket to `url` with extra upgrade `headers`. Resolves
 * {ws, status: 101} once open, or {status, body, headers} of the HTTP answer
 * when the engine refuses the upgrade.
 */
export function openWebSocket(url, headers = {}) {
  return within(10000, new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('open', () => resolve({ ws, status: 101 }));
    ws.on('unexpected-response', (req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body, headers: res.headers }));
    });
    ws.on('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  }), `connecting to ${url}`);
}
