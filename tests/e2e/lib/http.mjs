// Plain HTTP requests to the engine's iii-http port with node:http, so tests
// control bodies, headers and keep-alive agents, and see which socket each
// answer came on.
import http from 'node:http';

/**
 * Sends one request to `baseUrl` + `path`. `body`: a string or Buffer is
 * sent as is; any other value is JSON-encoded and gets `content-type:
 * application/json` unless `headers` name one. Resolves {status, headers
 * (lower-case names), text, json (undefined unless the body parses),
 * localPort}.
 */
export function httpRequest(baseUrl, path, { method = 'GET', headers = {}, body, agent, timeoutMs = 15000 } = {}) {
  const sent = { ...headers };
  let payload;
  if (body !== undefined) {
    const raw = typeof body === 'string' || Buffer.isBuffer(body);
    payload = raw ? body : JSON.stringify(body);
    if (!raw && !Object.keys(sent).some((k) => k.toLowerCase() === 'content-type')) {
      sent['content-type'] = 'application/json';
    }
  }
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(path, baseUrl), { method, headers: sent, agent }, (res) => {
      const localPort = res.socket?.localPort; // the socket goes back to the agent at 'end'
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json;
        try {
          json = JSON.parse(text);
        } catch {}
        resolve({ status: res.statusCode, headers: res.headers, text, json, localPort });
      });
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}
