// A raw WebSocket connection to the engine (the `ws` package, no SDK), for
// sending frames the SDK never would. Every frame received is kept in order.
import WebSocket from 'ws';
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
