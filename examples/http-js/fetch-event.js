// The same wasi:http/proxy handler as incoming-handler.js, written with
// StarlingMonkey's service-worker API (addEventListener('fetch')):
// componentize-js exports wasi:http/incoming-handler and turns each call of
// handle into one fetch event. Bodies are ReadableStreams, moved in pieces.
const NAME = 'http-js fetch-event';
const PIECE = 4096;
// The /stream pattern: byte i is i % 251, as in examples/spew.
const PERIOD = 251;
const pattern = new Uint8Array(PIECE + PERIOD).map((_, i) => i % PERIOD);
// GET /sleep holds a request at most this long.
const MAX_SLEEP_MS = 10000;

addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  const target = url.pathname + url.search;
  console.log(`${NAME}: ${req.method} ${target}`);
  if (req.method === 'GET' && url.pathname === '/trap') {
    console.error(`${NAME}: trapping on purpose`);
    throw new Error('trap requested by GET /trap');
  }
  event.respondWith(
    route(req, url, target).then((res) => {
      console.error(`${NAME}: ${req.method} ${target} -> ${res.status}`);
      return res;
    }),
  );
});

async function route(req, url, target) {
  const route = `${req.method} ${url.pathname}`;
  if (route === 'GET /') {
    return new Response('hello from wasi:http\n', {
      headers: { 'content-type': 'text/plain', 'x-wasi-http-example': NAME },
    });
  }
  if (route === 'GET /headers') {
    let text = `${req.method} ${target}\n`;
    for (const [name, value] of req.headers) text += `${name}: ${value}\n`;
    return new Response(text, { headers: { 'content-type': 'text/plain' } });
  }
  if (route === 'POST /echo') {
    return new Response(req.body, { headers: { 'content-type': 'application/octet-stream' } });
  }
  if (route === 'GET /stream') {
    const n = Number(url.searchParams.get('bytes') ?? '0');
    if (!Number.isSafeInteger(n) || n < 0) {
      return new Response('bytes must be a whole number\n', { status: 400 });
    }
    return new Response(patternStream(n), { headers: { 'content-type': 'application/octet-stream' } });
  }
  if (req.method === 'GET' && url.pathname.startsWith('/status/')) {
    const code = Number(url.pathname.slice('/status/'.length));
    if (!Number.isInteger(code) || code < 200 || code > 599) {
      return new Response('status must be 200..599\n', { status: 400 });
    }
    return new Response(`status ${code}\n`, { status: code });
  }
  if (route === 'GET /sleep') {
    const ms = sleepMillis(url);
    if (ms === undefined) {
      return new Response(`ms must be 0..${MAX_SLEEP_MS}\n`, { status: 400 });
    }
    await new Promise((resolve) => setTimeout(resolve, ms));
    return new Response(`slept ${ms} ms\n`, { headers: { 'content-type': 'text/plain' } });
  }
  if (route === 'GET /fetch') {
    let upstream;
    try {
      upstream = await fetch(url.searchParams.get('url') ?? '');
    } catch (e) {
      console.error(`${NAME}: upstream request failed: ${e}`);
      return new Response(`upstream request failed: ${e}\n`, { status: 502 });
    }
    return new Response(upstream.body, {
      status: upstream.status,
      headers: { 'content-type': 'application/octet-stream' },
    });
  }
  return new Response('not found\n', { status: 404 });
}

// sleepMillis is the ms= of GET /sleep when it is a whole number
// 0..MAX_SLEEP_MS written in decimal digits, otherwise undefined.
function sleepMillis(url) {
  const text = url.searchParams.get('ms') ?? '';
  if (!/^[0-9]{1,5}$/.test(text)) return undefined;
  const ms = Number(text);
  return ms <= MAX_SLEEP_MS ? ms : undefined;
}

// patternStream yields n bytes of the pattern, PIECE bytes a pull.
function patternStream(n) {
  let off = 0;
  return new ReadableStream({
    type: 'bytes',
    pull(controller) {
      if (off >= n) {
        controller.close();
        return;
      }
      const phase = off % PERIOD;
      const len = Math.min(PIECE, n - off);
      controller.enqueue(pattern.slice(phase, phase + len));
      off += len;
    },
  });
}
