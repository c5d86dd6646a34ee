// A wasi:http/incoming-handler written in C with no libc and no binding
// generator: the imports below are wasi:http 0.2.10's functions lowered by
// the component model's canonical ABI, declared by hand. Routes:
//   GET /              200 "hello from wasi:http" and x-wasi-http-example
//   GET /hello         the same answer without the header and without the
//                      log lines every other request prints: a bare hello,
//                      as the benchmarks of other hosts load
//   POST /echo         the request body back, 4 KiB at a time
//   GET /stream?bytes=N  N bytes of the pattern byte i = i % 251
//   GET /status/NNN    that status (200..599)
//   GET /trap          executes `unreachable`
//   GET /ticks?ms=M    "tick 1", a wait of M ms on a clock pollable, "tick 2",
//                      each line flushed as it is written
//   GET /busy-ticks?ms=M  the same, spinning on the clock instead of waiting
//   GET /grow?mb=N     grows the memory by N MiB and writes to every page
//                      of it: 200, or 507 when memory.grow is refused
// Build (hack/build-http-examples.sh):
//   clang --target=wasm32-unknown-unknown -nostdlib -O2 -Wl,--no-entry handler.c
//   jco embed --wit world.wit ...; jco new ...
#include <stddef.h>
#include <stdint.h>

#define IMPORT(module, name) __attribute__((import_module(module), import_name(name)))
#define HTTP "wasi:http/types@0.2.10"
#define IO "wasi:io/streams@0.2.10"

typedef int32_t handle;

// Canonical ABI return areas: results that flatten to more than one value
// are written by the host into memory the caller passes.
struct ret_string { uint8_t tag; char *ptr; size_t len; };  // option<string>, method
struct ret_handle { uint8_t tag; handle h; };                // result<own<T>>
struct ret_bytes { uint8_t tag; union { struct { uint8_t *ptr; size_t len; } ok; struct { uint8_t tag; handle err; } err; }; };
struct ret_unit { uint8_t tag; struct { uint8_t tag; handle err; } err; };  // result<_, stream-error>
struct ret_error_code { uint8_t tag; _Alignas(8) uint8_t payload[32]; };    // result<_, error-code>

IMPORT(HTTP, "[method]incoming-request.method") void request_method(handle, struct ret_string *);
IMPORT(HTTP, "[method]incoming-request.path-with-query") void request_path(handle, struct ret_string *);
IMPORT(HTTP, "[method]incoming-request.consume") void request_consume(handle, struct ret_handle *);
IMPORT(HTTP, "[resource-drop]incoming-request") void drop_request(handle);
IMPORT(HTTP, "[method]incoming-body.stream") void body_stream(handle, struct ret_handle *);
IMPORT(HTTP, "[resource-drop]incoming-body") void drop_incoming_body(handle);
IMPORT(HTTP, "[constructor]fields") handle fields_new(void);
IMPORT(HTTP, "[method]fields.append") void fields_append(handle, const char *, size_t, const char *, size_t, uint8_t *);
IMPORT(HTTP, "[constructor]outgoing-response") handle response_new(handle headers);
IMPORT(HTTP, "[method]outgoing-response.set-status-code") int32_t response_set_status(handle, int32_t);
IMPORT(HTTP, "[method]outgoing-response.body") void response_body(handle, struct ret_handle *);
IMPORT(HTTP, "[method]outgoing-body.write") void body_write(handle, struct ret_handle *);
IMPORT(HTTP, "[static]outgoing-body.finish") void body_finish(handle, int32_t has_trailers, handle trailers, struct ret_error_code *);
// set(param, result<own<outgoing-response>, error-code>): the result
// flattens to 8 values (discriminant, then error-code's widest case).
IMPORT(HTTP, "[static]response-outparam.set") void outparam_set(handle, int32_t tag, int32_t, int32_t, int64_t, int32_t, int32_t, int32_t, int32_t);
IMPORT(IO, "[method]input-stream.blocking-read") void stream_read(handle, int64_t, struct ret_bytes *);
IMPORT(IO, "[method]output-stream.blocking-write-and-flush") void stream_write(handle, const void *, size_t, struct ret_unit *);
IMPORT(IO, "[resource-drop]input-stream") void drop_input(handle);
IMPORT(IO, "[resource-drop]output-stream") void drop_output(handle);
IMPORT("wasi:io/error@0.2.10", "[resource-drop]error") void drop_error(handle);
IMPORT("wasi:clocks/monotonic-clock@0.2.10", "now") uint64_t clock_now(void);
IMPORT("wasi:clocks/monotonic-clock@0.2.10", "subscribe-duration") handle clock_after(uint64_t);
IMPORT("wasi:io/poll@0.2.10", "[method]pollable.block") void pollable_block(handle);
IMPORT("wasi:io/poll@0.2.10", "[resource-drop]pollable") void drop_pollable(handle);
IMPORT("wasi:cli/stdout@0.2.10", "get-stdout") handle get_stdout(void);
IMPORT("wasi:cli/stderr@0.2.10", "get-stderr") handle get_stderr(void);

enum { PIECE = 4096, PERIOD = 251, ARENA = 256 << 10 };

// The host writes strings and lists it returns into memory it gets from
// cabi_realloc: a bump arena, rewound after each piece of a body and at
// the start of each request, so nothing outlives its use.
static _Alignas(16) uint8_t arena[ARENA];
static size_t arena_top;
static uint8_t pattern[PIECE + PERIOD];

void *memcpy(void *dst, const void *src, size_t n) {
	uint8_t *d = dst;
	const uint8_t *s = src;
	while (n--) *d++ = *s++;
	return dst;
}

__attribute__((export_name("cabi_realloc")))
void *cabi_realloc(void *old, size_t old_size, size_t align, size_t new_size) {
	size_t start = (arena_top + align - 1) & ~(align - 1);
	if (start > ARENA || new_size > ARENA - start) __builtin_trap();
	arena_top = start + new_size;
	if (old) memcpy(arena + start, old, old_size < new_size ? old_size : new_size);
	return arena + start;
}

static size_t length(const char *s) {
	size_t n = 0;
	while (s[n]) n++;
	return n;
}

static int equal(const char *a, size_t alen, const char *b) {
	size_t blen = length(b);
	if (alen != blen) return 0;
	for (size_t i = 0; i < alen; i++)
		if (a[i] != b[i]) return 0;
	return 1;
}

static int prefix(const char *a, size_t alen, const char *p) {
	size_t plen = length(p);
	return alen >= plen && equal(a, plen, p);
}

// write sends all of buf to out in pieces; it returns 0 once the stream
// failed (the client went away), and drops the error.
static int write(handle out, const void *buf, size_t n) {
	const uint8_t *p = buf;
	while (n > 0) {
		size_t k = n < PIECE ? n : PIECE;
		struct ret_unit r;
		stream_write(out, p, k, &r);
		if (r.tag != 0) {
			if (r.err.tag == 0) drop_error(r.err.err);
			return 0;
		}
		p += k;
		n -= k;
	}
	return 1;
}

// log_to writes the parts as one line (cut at 512 bytes) in one call, as
// a buffered print does, and drops the stream it got.
static void log_to(handle stream, const char *parts[], int count) {
	char line[512];
	size_t n = 0;
	for (int i = 0; i < count; i++)
		for (const char *c = parts[i]; *c && n < sizeof line - 1; c++) line[n++] = *c;
	line[n++] = '\n';
	write(stream, line, n);
	drop_output(stream);
}

// decimal formats v into buf (at least 21 bytes) and returns buf.
static char *decimal(uint64_t v, char *buf) {
	char tmp[21];
	int n = 0;
	do tmp[n++] = '0' + v % 10; while ((v /= 10) != 0);
	for (int i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
	buf[n] = 0;
	return buf;
}

// parse reads a whole decimal number of at most 15 digits; -1 if s is not one.
static int64_t parse(const char *s, size_t n) {
	if (n == 0 || n > 15) return -1;
	int64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9') return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

// start sends the response head and returns the body's output stream
// (*body gets the outgoing-body, to finish).
static handle start(handle outparam, int status, const char *content_type, int hello, handle *body) {
	handle headers = fields_new();
	uint8_t err[2];
	fields_append(headers, "content-type", 12, content_type, length(content_type), err);
	if (hello) fields_append(headers, "x-wasi-http-example", 19, "http-c", 6, err);
	handle resp = response_new(headers);
	if (response_set_status(resp, status) != 0) __builtin_trap();
	struct ret_handle r;
	response_body(resp, &r);
	if (r.tag != 0) __builtin_trap();
	*body = r.h;
	outparam_set(outparam, 0, resp, 0, 0, 0, 0, 0, 0);
	body_write(*body, &r);
	if (r.tag != 0) __builtin_trap();
	return r.h;
}

static void finish(handle out, handle body) {
	drop_output(out);
	struct ret_error_code r;
	body_finish(body, 0, 0, &r);
}

static uint64_t reply(handle outparam, int status, const char *text) {
	handle body;
	handle out = start(outparam, status, "text/plain", 0, &body);
	write(out, text, length(text));
	finish(out, body);
	return length(text);
}

// echo copies the request body to the response body a piece at a time.
static uint64_t echo(handle request, handle outparam) {
	struct ret_handle r;
	request_consume(request, &r);
	if (r.tag != 0) return reply(outparam, 400, "no request body\n");
	handle in_body = r.h;
	body_stream(in_body, &r);
	if (r.tag != 0) __builtin_trap();
	handle in = r.h;
	handle body;
	handle out = start(outparam, 200, "application/octet-stream", 0, &body);
	uint64_t total = 0;
	size_t mark = arena_top;
	for (;;) {
		struct ret_bytes b;
		stream_read(in, PIECE, &b);
		if (b.tag != 0) {
			// closed is the end of the body; a failure drops its error.
			if (b.err.tag == 0) drop_error(b.err.err);
			break;
		}
		int ok = write(out, b.ok.ptr, b.ok.len);
		total += b.ok.len;
		arena_top = mark;
		if (!ok) break;
	}
	drop_input(in);
	drop_incoming_body(in_body);
	finish(out, body);
	return total;
}

static uint64_t stream(handle outparam, int64_t n) {
	handle body;
	handle out = start(outparam, 200, "application/octet-stream", 0, &body);
	for (int i = 0; i < PIECE + PERIOD; i++) pattern[i] = i % PERIOD;
	for (int64_t off = 0; off < n; off += PIECE) {
		size_t k = n - off < PIECE ? (size_t)(n - off) : PIECE;
		if (!write(out, pattern + off % PERIOD, k)) break;
	}
	finish(out, body);
	return (uint64_t)n;
}

enum { MAX_TICK_MS = 10000, MAX_GROW_MB = 4096, WASM_PAGE = 65536 };

// grow asks for mb MiB more memory; the host refuses what would pass the
// container's memory limit, and memory.grow then returns -1.
static uint64_t grow(handle outparam, int64_t mb, int *status) {
	size_t pages = (size_t)mb * (1 << 20) / WASM_PAGE;
	size_t old = __builtin_wasm_memory_grow(0, pages);
	if (old == (size_t)-1) return reply(outparam, *status = 507, "memory.grow refused\n");
	volatile uint8_t *base = (uint8_t *)(old * WASM_PAGE);
	for (size_t off = 0; off < pages * WASM_PAGE; off += 4096) base[off] = 1;
	return reply(outparam, 200, "grown\n");
}

// ticks sends two lines ms apart: between them the guest waits on a
// clock pollable, or (busy) spins on the clock without waiting. Each
// line is flushed, so a client sees the first before the second.
static uint64_t ticks(handle outparam, int64_t ms, int busy) {
	handle body;
	handle out = start(outparam, 200, "text/plain", 0, &body);
	static const char first[] = "tick 1\n", second[] = "tick 2\n";
	uint64_t sent = 0;
	if (write(out, first, sizeof first - 1)) {
		sent += sizeof first - 1;
		uint64_t ns = (uint64_t)ms * 1000000;
		if (busy) {
			uint64_t until = clock_now() + ns;
			while (clock_now() < until) {
			}
		} else {
			handle p = clock_after(ns);
			pollable_block(p);
			drop_pollable(p);
		}
		if (write(out, second, sizeof second - 1)) sent += sizeof second - 1;
	}
	finish(out, body);
	return sent;
}

__attribute__((export_name("wasi:http/incoming-handler@0.2.10#handle")))
void handle_request(handle request, handle outparam) {
	arena_top = 0;
	struct ret_string m, p;
	request_method(request, &m);
	request_path(request, &p);
	static const char *names[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"};
	const char *method = m.tag < 9 ? names[m.tag] : "OTHER";
	const char *path = p.tag ? p.ptr : "/";
	size_t plen = p.tag ? p.len : 1;
	size_t qpos = 0;
	while (qpos < plen && path[qpos] != '?') qpos++;
	if (m.tag == 0 && equal(path, qpos, "/hello")) {
		reply(outparam, 200, "hello from wasi:http\n");
		drop_request(request);
		return;
	}
	// The path is the host's string, not NUL-terminated: copy it for the log.
	char shown[256];
	size_t slen = plen < sizeof shown - 1 ? plen : sizeof shown - 1;
	memcpy(shown, path, slen);
	shown[slen] = 0;
	log_to(get_stdout(), (const char *[]){"http-c: ", method, " ", shown}, 4);

	int get = m.tag == 0, post = m.tag == 2;
	uint64_t sent;
	int status = 200;
	if (get && equal(path, qpos, "/")) {
		handle body;
		handle out = start(outparam, 200, "text/plain", 1, &body);
		static const char hello[] = "hello from wasi:http\n";
		write(out, hello, sizeof hello - 1);
		finish(out, body);
		sent = sizeof hello - 1;
	} else if (post && equal(path, qpos, "/echo")) {
		sent = echo(request, outparam);
	} else if (get && equal(path, qpos, "/stream") && prefix(path + qpos, plen - qpos, "?bytes=")) {
		int64_t n = parse(path + qpos + 7, plen - qpos - 7);
		if (n < 0) sent = reply(outparam, status = 400, "bytes must be a whole number\n");
		else sent = stream(outparam, n);
	} else if (get && (equal(path, qpos, "/ticks") || equal(path, qpos, "/busy-ticks")) && prefix(path + qpos, plen - qpos, "?ms=")) {
		int64_t ms = parse(path + qpos + 4, plen - qpos - 4);
		if (ms < 0 || ms > MAX_TICK_MS) sent = reply(outparam, status = 400, "ms must be 0..10000\n");
		else sent = ticks(outparam, ms, path[1] == 'b');
	} else if (get && equal(path, qpos, "/grow") && prefix(path + qpos, plen - qpos, "?mb=")) {
		int64_t mb = parse(path + qpos + 4, plen - qpos - 4);
		if (mb < 0 || mb > MAX_GROW_MB) sent = reply(outparam, status = 400, "mb must be 0..4096\n");
		else sent = grow(outparam, mb, &status);
	} else if (get && equal(path, qpos, "/trap")) {
		log_to(get_stderr(), (const char *[]){"http-c: trapping on purpose"}, 1);
		__builtin_trap();
	} else if (get && prefix(path, qpos, "/status/")) {
		int64_t code = parse(path + 8, qpos - 8);
		if (code < 200 || code > 599) sent = reply(outparam, status = 400, "status must be 200..599\n");
		else sent = reply(outparam, status = (int)code, "status\n");
	} else {
		sent = reply(outparam, status = 404, "not found\n");
	}
	drop_request(request);
	char sbuf[21], nbuf[21];
	log_to(get_stderr(), (const char *[]){"http-c: ", method, " ", shown, " -> ", decimal(status, sbuf), ", ", decimal(sent, nbuf), " bytes"}, 9);
}
