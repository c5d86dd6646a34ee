// A wasi:http/proxy handler written against the generated wasi:http
// bindings (the `incomingHandler` export): every body is moved in pieces
// of at most PIECE bytes, so a 64 MiB echo never holds more than one piece.
// Routes: see examples/README.md (the same as fetch-event.js).
import {
  Fields,
  OutgoingBody,
  OutgoingRequest,
  OutgoingResponse,
  ResponseOutparam,
} from 'wasi:http/types@0.2.10';
import { handle as send } from 'wasi:http/outgoing-handler@0.2.10';
import { subscribeDuration } from 'wasi:clocks/monotonic-clock@0.2.10';

const NAME = 'http-js incoming-handler';
// blocking-write-and-flush takes at most 4096 bytes a call.
const PIECE = 4096;
// The /stream pattern: byte i is i % 251, as in examples/spew.
const PERIOD = 251;
const pattern = new Uint8Array(PIECE + PERIOD).map((_, i) => i % PERIOD);
// GET /sleep holds a request at most this long.
const MAX_SLEEP_MS = 10000;
const enc = new TextEncoder();
const dec = new TextDecoder();

export const incomingHandler = {
  handle(request, responseOut) {
    const method = methodName(request.method());
    const target = request.pathWithQuery() ?? '/';
    console.log(`${NAME}: ${method} ${target}`);
    const url = new URL(target, 'http://localhost');
    const route = `${method} ${url.pathname}`;
    let status = 200;
    let sent = 0;
    const reply = (code, headers, write) => {
      status = code;
      sent = respond(responseOut, code, headers, write);
    };
    if (route === 'GET /') {
      reply(200, [['content-type', 'text/plain'], ['x-wasi-http-example', 'http-js incoming-handler']],
        (out) => writeAll(out, enc.encode('hello from wasi:http\n')));
    } else if (route === 'GET /headers') {
      let text = `${method} ${target}\n`;
      for (const [name, value] of request.headers().entries()) {
        text += `${name}: ${dec.decode(value)}\n`;
      }
      reply(200, [['content-type', 'text/plain']], (out) => writeAll(out, enc.encode(text)));
    } else if (route === 'POST /echo') {
      const body = request.consume();
      const input = body.stream();
      reply(200, [['content-type', 'application/octet-stream']], (out) => copy(input, out));
      input[Symbol.dispose]();
    } else if (route === 'GET /stream') {
      const n = Number(url.searchParams.get('bytes') ?? '0');
      if (!Number.isSafeInteger(n) || n < 0) {
        reply(400, [], (out) => writeAll(out, enc.encode('bytes must be a whole number\n')));
      } else {
        reply(200, [['content-type', 'application/octet-stream']], (out) => writePattern(out, n));
      }
    } else if (route === 'GET /sleep') {
      const ms = sleepMillis(url);
      if (ms === undefined) {
        reply(400, [], (out) => writeAll(out, enc.encode(`ms must be 0..${MAX_SLEEP_MS}\n`)));
      } else {
        // handle is synchronous: block on a monotonic-clock pollable, so the
        // request stays in flight (and the instance busy) for ms.
        const timer = subscribeDuration(BigInt(ms) * 1000000n);
        timer.block();
        timer[Symbol.dispose]();
        reply(200, [['content-type', 'text/plain']], (out) => writeAll(out, enc.encode(`slept ${ms} ms\n`)));
      }
    } else if (route === 'GET /trap') {
      console.error(`${NAME}: trapping on purpose`);
      throw new Error('trap requested by GET /trap');
    } else if (method === 'GET' && url.pathname.startsWith('/status/')) {
      const code = Number(url.pathname.slice('/status/'.length));
      if (!Number.isInteger(code) || code < 200 || code > 599) {
        reply(400, [], (out) => writeAll(out, enc.encode('status must be 200..599\n')));
      } else {
        reply(code, [], (out) => writeAll(out, enc.encode(`status ${code}\n`)));
      }
    } else if (route === 'GET /fetch') {
      status = proxy(url.searchParams.get('url'), responseOut);
    } else {
      reply(404, [], (out) => writeAll(out, enc.encode('not found\n')));
    }
    console.error(`${NAME}: ${method} ${target} -> ${status}, ${sent} bytes`);
  },
};

// sleepMillis is the ms= of GET /sleep when it is a whole number
// 0..MAX_SLEEP_MS written in decimal digits, otherwise undefined.
function sleepMillis(url) {
  const text = url.searchParams.get('ms') ?? '';
  if (!/^[0-9]{1,5}$/.test(text)) return undefined;
  const ms = Number(text);
  return ms <= MAX_SLEEP_MS ? ms : undefined;
}

function methodName(m) {
  return m.tag === 'other' ? m.val : m.tag.toUpperCase();
}

// respond sends the head, then lets write fill the body; it returns the
// bytes written.
function respond(responseOut, status, headers, write) {
  const response = new OutgoingResponse(
    Fields.fromList(headers.map(([k, v]) => [k, enc.encode(v)])),
  );
  response.setStatusCode(status);
  const body = response.body();
  ResponseOutparam.set(responseOut, { tag: 'ok', val: response });
  const out = body.write();
  const n = write(out);
  // The stream is a child of the body: it must go before finish.
  out[Symbol.dispose]();
  OutgoingBody.finish(body, undefined);
  return n;
}

function writeAll(out, bytes) {
  for (let off = 0; off < bytes.length; off += PIECE) {
    out.blockingWriteAndFlush(bytes.subarray(off, off + PIECE));
  }
  return bytes.length;
}

function writePattern(out, n) {
  for (let off = 0; off < n; off += PIECE) {
    const phase = off % PERIOD;
    out.blockingWriteAndFlush(pattern.subarray(phase, phase + Math.min(PIECE, n - off)));
  }
  return n;
}

// copy moves input to out until input is closed.
function copy(input, out) {
  let n = 0;
  for (;;) {
    let chunk;
    try {
      chunk = input.blockingRead(BigInt(PIECE));
    } catch (e) {
      if (isClosed(e)) return n;
      throw e;
    }
    if (chunk.length > 0) {
      out.blockingWriteAndFlush(chunk);
      n += chunk.length;
    }
  }
}

function isClosed(e) {
  const err = e?.payload ?? e;
  return err?.tag === 'closed';
}

// proxy sends GET url through wasi:http/outgoing-handler and streams the
// upstream's status and body back; it returns the status sent.
function proxy(target, responseOut) {
  let u;
  try {
    u = new URL(target ?? '');
  } catch {
    respond(responseOut, 400, [], (out) => writeAll(out, enc.encode('url= must be an absolute http URL\n')));
    return 400;
  }
  const req = new OutgoingRequest(new Fields());
  req.setMethod({ tag: 'get' });
  req.setScheme(u.protocol === 'https:' ? { tag: 'HTTPS' } : { tag: 'HTTP' });
  req.setAuthority(u.host);
  req.setPathWithQuery(u.pathname + u.search);
  let upstream;
  try {
    const future = send(req, undefined);
    const ready = future.subscribe();
    ready.block();
    ready[Symbol.dispose]();
    upstream = unwrap(future.get());
  } catch (e) {
    const text = `upstream request failed: ${describe(e)}\n`;
    console.error(`${NAME}: ${text.trim()}`);
    respond(responseOut, 502, [], (out) => writeAll(out, enc.encode(text)));
    return 502;
  }
  const status = upstream.status();
  const body = upstream.consume();
  const input = body.stream();
  respond(responseOut, status, [['content-type', 'application/octet-stream']], (out) => copy(input, out));
  input[Symbol.dispose]();
  return status;
}

// unwrap takes the incoming-response out of future-incoming-response.get's
// option<result<result<incoming-response, error-code>>>.
function unwrap(got) {
  if (got === undefined) throw new Error('response not ready after the pollable fired');
  const outer = got.tag === undefined ? { tag: 'ok', val: got } : got;
  if (outer.tag !== 'ok') throw new Error('response already taken');
  const inner = outer.val?.tag === undefined ? { tag: 'ok', val: outer.val } : outer.val;
  if (inner.tag !== 'ok') throw inner.val;
  return inner.val;
}

function describe(e) {
  if (e instanceof Error) return e.message;
  try {
    return JSON.stringify(e?.payload ?? e);
  } catch {
    return String(e);
  }
}
