// http-get: an outbound HTTP client on WasmEdge's socket extension to WASI
// preview 1 (docs/wasmedge-sockets.md): sock_open, sock_connect, sock_send,
// and sock_recv, and with -DWITH_GETADDRINFO sock_getaddrinfo
// for host names. It fetches one URL and prints the body on stdout.
//
//   http-get http://HOST:PORT/PATH
//
// HOST is a dotted IPv4 address (or, with -DWITH_GETADDRINFO, a name).
// Exit 0 on status 200, 1 on any other status or a failure (the status or
// the error on stderr), 2 on a usage error.
//
//   clang --target=wasm32-wasi -O2 -s -o http-get.wasm examples/net/client/main.c
//   clang --target=wasm32-wasi -O2 -s -DWITH_GETADDRINFO -o http-get-dns.wasm examples/net/client/main.c
//
// wasi-libc has no socket()/connect(), so the WasmEdge calls are declared
// here. The same file builds natively (gcc), where the few lines under
// "native" stand in for the host with BSD sockets, so the client's logic is
// testable without a WASI host (examples/net/nettest).
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define USAGE "usage: http-get http://HOST:PORT/PATH"

// The WasmEdge enums count from unspec/any = 0 (not the Linux values).
enum { WE_AF_INET4 = 1, WE_AF_INET6 = 2 };
enum { WE_SOCK_DGRAM = 1, WE_SOCK_STREAM = 2 };

// An address: 4 or 16 bytes in network order; the port is passed apart.
typedef struct {
	uint8_t *buf;
	uint32_t buf_len;
} we_address;

typedef struct {
	const void *buf;
	uint32_t len;
} we_ciovec;

typedef struct {
	void *buf;
	uint32_t len;
} we_iovec;

#ifdef __wasi__
#define WASMEDGE(name) __attribute__((import_module("wasi_snapshot_preview1"), import_name(name)))
WASMEDGE("sock_open") uint32_t we_sock_open(uint32_t family, uint32_t type, uint32_t *fd);
WASMEDGE("sock_connect") uint32_t we_sock_connect(uint32_t fd, we_address *addr, uint32_t port);
WASMEDGE("sock_send")
uint32_t we_sock_send(uint32_t fd, const we_ciovec *si, uint32_t si_len, uint32_t flags, uint32_t *sent);
WASMEDGE("sock_recv")
uint32_t we_sock_recv(uint32_t fd, we_iovec *ri, uint32_t ri_len, uint32_t flags, uint32_t *received,
                      uint32_t *oflags);
#ifdef WITH_GETADDRINFO
// getaddrinfo's structures as WasmEdge lays them out in guest memory.
typedef struct {
	uint8_t family; // padded to 4
	uint32_t data_len;
	uint8_t *data; // port (2 bytes, big-endian), then the address
} we_sockaddr;

typedef struct we_addrinfo {
	uint16_t flags;
	uint8_t family, socktype, protocol; // padded to 8
	uint32_t addrlen;
	we_sockaddr *addr;
	char *canonname;
	uint32_t canonname_len;
	struct we_addrinfo *next;
} we_addrinfo;

_Static_assert(sizeof(we_sockaddr) == 12, "we_sockaddr layout");
_Static_assert(sizeof(we_addrinfo) == 28, "we_addrinfo layout");

WASMEDGE("sock_getaddrinfo")
uint32_t we_sock_getaddrinfo(const char *node, uint32_t node_len, const char *service, uint32_t service_len,
                             const we_addrinfo *hints, we_addrinfo **res, uint32_t max_len, uint32_t *res_len);
#endif
#else
// native: the same calls with BSD sockets, errno for the WASI errno (the
// client only prints it).
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

static uint32_t we_sock_open(uint32_t family, uint32_t type, uint32_t *fd) {
	int s = socket(family == WE_AF_INET6 ? AF_INET6 : AF_INET, type == WE_SOCK_STREAM ? SOCK_STREAM : SOCK_DGRAM, 0);
	if (s < 0)
		return (uint32_t)errno;
	*fd = (uint32_t)s;
	return 0;
}

static uint32_t we_sock_connect(uint32_t fd, we_address *addr, uint32_t port) {
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (addr->buf_len != 4)
		return EINVAL;
	memcpy(&sin.sin_addr, addr->buf, 4);
	return connect((int)fd, (struct sockaddr *)&sin, sizeof sin) == 0 ? 0 : (uint32_t)errno;
}

static uint32_t we_sock_send(uint32_t fd, const we_ciovec *si, uint32_t si_len, uint32_t flags, uint32_t *sent) {
	(void)flags;
	if (si_len != 1)
		return EINVAL;
	ssize_t n = send((int)fd, si->buf, si->len, MSG_NOSIGNAL);
	if (n < 0)
		return (uint32_t)errno;
	*sent = (uint32_t)n;
	return 0;
}

static uint32_t we_sock_recv(uint32_t fd, we_iovec *ri, uint32_t ri_len, uint32_t flags, uint32_t *received,
                             uint32_t *oflags) {
	(void)flags;
	if (ri_len != 1)
		return EINVAL;
	ssize_t n = recv((int)fd, ri->buf, ri->len, 0);
	if (n < 0)
		return (uint32_t)errno;
	*received = (uint32_t)n;
	*oflags = 0;
	return 0;
}
#endif

static int usage(void) {
	fprintf(stderr, "%s\n", USAGE);
	return 2;
}

static int fail(const char *what, uint32_t err) {
	fprintf(stderr, "http-get: %s: error %u\n", what, err);
	return 1;
}

// parse_ipv4 reads a dotted quad into out (network order).
static int parse_ipv4(const char *s, uint8_t out[4]) {
	for (int i = 0; i < 4; i++) {
		char *end;
		if (*s < '0' || *s > '9')
			return 0;
		long v = strtol(s, &end, 10);
		if (v > 255 || end - s > 3 || *end != (i < 3 ? '.' : '\0'))
			return 0;
		out[i] = (uint8_t)v;
		s = end + 1;
	}
	return 1;
}

#if defined(__wasi__) && defined(WITH_GETADDRINFO)
// resolve looks host up with sock_getaddrinfo and takes its first IPv4
// address. The guest lends the host a chain of result records to fill.
static int resolve(const char *host, uint8_t out[4]) {
	enum { MAX = 4 };
	static uint8_t data[MAX][26]; // 26 bytes hold the IPv6 form too
	static char canon[MAX][64];
	static we_sockaddr sa[MAX];
	static we_addrinfo ai[MAX];
	for (int i = 0; i < MAX; i++) {
		sa[i] = (we_sockaddr){.data_len = sizeof data[i], .data = data[i]};
		ai[i] = (we_addrinfo){.addr = &sa[i], .canonname = canon[i], .canonname_len = sizeof canon[i],
		                      .next = i + 1 < MAX ? &ai[i + 1] : NULL};
	}
	we_addrinfo hints = {.family = WE_AF_INET4, .socktype = WE_SOCK_STREAM};
	we_addrinfo *res = ai;
	uint32_t n = 0;
	uint32_t err = we_sock_getaddrinfo(host, (uint32_t)strlen(host), "", 0, &hints, &res, MAX, &n);
	if (err != 0) {
		fprintf(stderr, "http-get: resolve %s: error %u\n", host, err);
		return 0;
	}
	for (uint32_t i = 0; i < n && i < MAX; i++) {
		if (ai[i].addrlen > 0 && sa[i].family == WE_AF_INET4) {
			memcpy(out, data[i] + 2, 4);
			return 1;
		}
	}
	fprintf(stderr, "http-get: resolve %s: no IPv4 address among %u results\n", host, n);
	return 0;
}
#elif !defined(__wasi__)
static int resolve(const char *host, uint8_t out[4]) {
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return 0;
	memcpy(out, &((struct sockaddr_in *)res->ai_addr)->sin_addr, 4);
	freeaddrinfo(res);
	return 1;
}
#endif

static int send_all(uint32_t fd, const char *p, size_t n) {
	while (n > 0) {
		we_ciovec iov = {p, (uint32_t)n};
		uint32_t sent = 0, err = we_sock_send(fd, &iov, 1, 0, &sent);
		if (err != 0)
			return fail("send", err);
		p += sent;
		n -= sent;
	}
	return 0;
}

static int write_all(const char *p, size_t n) {
	while (n > 0) {
		ssize_t w = write(1, p, n);
		if (w < 0) {
			fprintf(stderr, "http-get: stdout: %s\n", strerror(errno));
			return 1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

// fetch sends the request and streams the response body to stdout.
static int fetch(uint32_t fd, const char *hostport, const char *path) {
	static char buf[65536];
	int n = snprintf(buf, sizeof buf, "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: http-get\r\n\r\n", path, hostport);
	if (n < 0 || (size_t)n >= sizeof buf)
		return usage();
	if (send_all(fd, buf, (size_t)n) != 0)
		return 1;

	size_t have = 0;
	int status = -1;
	for (;;) {
		we_iovec iov = {buf + have, (uint32_t)(sizeof buf - 1 - have)};
		uint32_t got = 0, oflags = 0;
		if (status < 0 && iov.len == 0) {
			fprintf(stderr, "http-get: response head too large\n");
			return 1;
		}
		uint32_t err = we_sock_recv(fd, &iov, 1, 0, &got, &oflags);
		if (err != 0)
			return fail("recv", err);
		if (got == 0)
			break;
		if (status >= 0) { // the head is done: stream the body
			if (write_all(buf, got) != 0)
				return 1;
			continue;
		}
		have += got;
		buf[have] = '\0';
		char *end = strstr(buf, "\r\n\r\n");
		if (end == NULL)
			continue;
		if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) {
			fprintf(stderr, "http-get: bad status line\n");
			return 1;
		}
		size_t head = (size_t)(end - buf) + 4;
		if (write_all(buf + head, have - head) != 0)
			return 1;
		have = 0;
	}
	if (status < 0) {
		fprintf(stderr, "http-get: connection closed before a response head\n");
		return 1;
	}
	if (status != 200) {
		fprintf(stderr, "http-get: status %d\n", status);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv) {
	if (argc != 2 || strncmp(argv[1], "http://", 7) != 0)
		return usage();
	char hostport[256], host[256];
	const char *rest = argv[1] + 7;
	const char *slash = strchr(rest, '/');
	const char *path = slash != NULL ? slash : "/";
	size_t hp = slash != NULL ? (size_t)(slash - rest) : strlen(rest);
	if (hp == 0 || hp >= sizeof hostport)
		return usage();
	memcpy(hostport, rest, hp);
	hostport[hp] = '\0';
	char *colon = strrchr(hostport, ':');
	if (colon == NULL || colon == hostport)
		return usage();
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || end == colon + 1 || port < 1 || port > 65535)
		return usage();
	memcpy(host, hostport, (size_t)(colon - hostport));
	host[colon - hostport] = '\0';

	uint8_t ip[4];
	if (!parse_ipv4(host, ip)) {
#if defined(WITH_GETADDRINFO) || !defined(__wasi__)
		if (!resolve(host, ip))
			return 1;
#else
		fprintf(stderr, "http-get: %s is not an IPv4 address (this build does not resolve names)\n", host);
		return 2;
#endif
	}

	uint32_t fd = 0, err = we_sock_open(WE_AF_INET4, WE_SOCK_STREAM, &fd);
	if (err != 0)
		return fail("sock_open", err);
	we_address addr = {ip, 4};
	err = we_sock_connect(fd, &addr, (uint32_t)port);
	if (err != 0)
		return fail("connect", err);
	int rc = fetch(fd, hostport, path);
	close((int)fd);
	return rc;
}
