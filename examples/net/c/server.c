// c-server: the C (clang + wasi-libc) build of the networking example's HTTP
// server (examples/README.md, "The networking examples"). It serves on a
// listening socket that the host opened for it: the first fd of
// WASI_LISTEN_FDS, or fd 3 when that is unset. One thread, non-blocking
// sockets and poll(), so that a slow client never holds up the others.
//
//   clang --target=wasm32-wasi -O2 -s -o c-server.wasm examples/net/c/server.c
//
// The same file builds natively (gcc -O2 -o c-server server.c) for the
// tests in examples/net/nettest, which hand it a listener on fd 3.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#ifndef __wasi__
#include <signal.h>
#endif

#define HELLO "hello from c\n"
#define DEFAULT_FILE "/data/hello.txt"
#define MAX_CONNS 128
#define HEAD_CAP 8192
// OUT_CAP holds a response head plus the body bytes that arrived with the
// request head, so it must exceed HEAD_CAP.
#define OUT_CAP 65536

enum body_mode { BODY_DISCARD, BODY_ECHO };

struct conn {
	int fd;
	int head_done;
	char head[HEAD_CAP];
	size_t head_len;
	char out[OUT_CAP];
	size_t out_off, out_len;
	long long body_left; // request body bytes still to read
	enum body_mode mode;
	int file; // file being sent, or -1
};

static struct conn *conns[MAX_CONNS];
static const char *serve_file = DEFAULT_FILE;

static int listener_fd(void) {
	const char *s = getenv("WASI_LISTEN_FDS");
	if (s == NULL || *s == '\0')
		return 3;
	char *end;
	long fd = strtol(s, &end, 10);
	if (end == s || (*end != '\0' && *end != ',') || fd < 0) {
		fprintf(stderr, "c-server: bad WASI_LISTEN_FDS %s\n", s);
		exit(2);
	}
	return (int)fd;
}

static void close_conn(int i) {
	struct conn *c = conns[i];
	if (c->file >= 0)
		close(c->file);
	close(c->fd);
	free(c);
	conns[i] = NULL;
}

// queue appends to the pending output; the callers never exceed OUT_CAP.
static void queue(struct conn *c, const char *p, size_t n) {
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
}

static void respond(struct conn *c, const char *status, const char *type, long long length) {
	char head[256];
	int n = snprintf(head, sizeof head,
	                 "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %lld\r\nConnection: close\r\n\r\n",
	                 status, type, length);
	queue(c, head, (size_t)n);
}

static void respond_text(struct conn *c, const char *status, const char *body) {
	respond(c, status, "text/plain", (long long)strlen(body));
	queue(c, body, strlen(body));
}

// header finds a header's value in the NUL-terminated head (names are
// case-insensitive); the value runs to the next CR.
static const char *header(const char *head, const char *name) {
	size_t n = strlen(name);
	for (const char *line = strstr(head, "\r\n"); line != NULL; line = strstr(line, "\r\n")) {
		line += 2;
		if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
			const char *v = line + n + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			return v;
		}
	}
	return NULL;
}

static void serve_path(struct conn *c, const char *method, const char *path) {
	if (strcmp(path, "/") == 0 && strcmp(method, "GET") == 0) {
		respond_text(c, "200 OK", HELLO);
	} else if (strcmp(path, "/file") == 0 && strcmp(method, "GET") == 0) {
		int fd = open(serve_file, O_RDONLY);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) != 0) {
			char msg[512];
			snprintf(msg, sizeof msg, "%s: %s\n", serve_file, strerror(errno));
			if (fd >= 0)
				close(fd);
			respond_text(c, "404 Not Found", msg);
			return;
		}
		respond(c, "200 OK", "text/plain", (long long)st.st_size);
		c->file = fd;
	} else if (strcmp(path, "/echo") == 0 && strcmp(method, "POST") == 0) {
		respond(c, "200 OK", "application/octet-stream", c->body_left);
		c->mode = BODY_ECHO;
	} else if (strcmp(path, "/") == 0 || strcmp(path, "/file") == 0 || strcmp(path, "/echo") == 0) {
		respond_text(c, "405 Method Not Allowed", "method not allowed\n");
	} else {
		respond_text(c, "404 Not Found", "not found\n");
	}
}

// parse_head handles a complete request head of length n (its blank line
// included) and queues the response head; the bytes after it are body.
static void parse_head(struct conn *c, size_t n) {
	char method[16], target[1024];
	c->head[n - 2] = '\0'; // keep the last header's CRLF, cut the blank line
	if (sscanf(c->head, "%15s %1023s HTTP/1.", method, target) != 2) {
		respond_text(c, "400 Bad Request", "bad request line\n");
		return;
	}
	char *query = strchr(target, '?');
	if (query != NULL)
		*query = '\0';
	if (header(c->head, "Transfer-Encoding") != NULL) {
		respond_text(c, "411 Length Required", "send a Content-Length\n");
		return;
	}
	const char *cl = header(c->head, "Content-Length");
	if (cl != NULL) {
		char *end;
		c->body_left = strtoll(cl, &end, 10);
		if (end == cl || c->body_left < 0 || (*end != '\r' && *end != ' ')) {
			c->body_left = 0;
			respond_text(c, "400 Bad Request", "bad Content-Length\n");
			return;
		}
	}
	const char *expect = header(c->head, "Expect");
	if (expect != NULL && strncasecmp(expect, "100-continue", 12) == 0 && c->body_left > 0) {
		static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
		queue(c, cont, sizeof cont - 1);
	}
	serve_path(c, method, target);
	// Body bytes that came with the head: echoed or dropped like the rest.
	size_t extra = c->head_len - n;
	if ((long long)extra > c->body_left)
		extra = (size_t)c->body_left;
	if (c->mode == BODY_ECHO)
		queue(c, c->head + n, extra);
	c->body_left -= (long long)extra;
}

// read_head reads what the socket has; 1 means the connection goes on.
static int read_head(struct conn *c) {
	ssize_t r = read(c->fd, c->head + c->head_len, HEAD_CAP - 1 - c->head_len);
	if (r < 0)
		return errno == EAGAIN || errno == EINTR;
	if (r == 0)
		return 0;
	c->head_len += (size_t)r;
	c->head[c->head_len] = '\0';
	char *end = strstr(c->head, "\r\n\r\n");
	if (end != NULL) {
		c->head_done = 1;
		parse_head(c, (size_t)(end - c->head) + 4);
	} else if (c->head_len == HEAD_CAP - 1) {
		c->head_done = 1;
		respond_text(c, "431 Request Header Fields Too Large", "request head too large\n");
	}
	return 1;
}

// read_body reads request body into the free output space (echo) or drops it.
static int read_body(struct conn *c) {
	static char sink[OUT_CAP];
	char *dst = c->mode == BODY_ECHO ? c->out + c->out_len : sink;
	size_t room = c->mode == BODY_ECHO ? OUT_CAP - c->out_len : sizeof sink;
	if ((long long)room > c->body_left)
		room = (size_t)c->body_left;
	ssize_t r = read(c->fd, dst, room);
	if (r < 0)
		return errno == EAGAIN || errno == EINTR;
	if (r == 0)
		return 0; // the client gave up before sending its whole body
	c->body_left -= r;
	if (c->mode == BODY_ECHO)
		c->out_len += (size_t)r;
	return 1;
}

static int fill_from_file(struct conn *c) {
	ssize_t r = read(c->file, c->out + c->out_len, OUT_CAP - c->out_len);
	if (r < 0)
		return 0;
	if (r == 0) {
		close(c->file);
		c->file = -1;
	}
	c->out_len += (size_t)r;
	return 1;
}

static int write_out(struct conn *c) {
	if (c->out_len == 0)
		return 1;
	ssize_t w = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
	if (w < 0)
		return errno == EAGAIN || errno == EINTR;
	c->out_off += (size_t)w;
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	return 1;
}

// step moves a connection on after poll said it is ready; 0 closes it.
static int step(struct conn *c, short revents) {
	if (revents & POLLOUT) {
		if (!write_out(c))
			return 0;
	}
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		if (!c->head_done) {
			if (!read_head(c))
				return 0;
		} else if (c->body_left > 0) {
			if (!read_body(c))
				return 0;
		}
	}
	if (c->head_done && c->out_len == 0 && c->file >= 0 && !fill_from_file(c))
		return 0;
	// Done once the response is out and the whole request was read, so that
	// close sends a FIN and not a reset that could cut the response short.
	return !(c->head_done && c->out_len == 0 && c->file < 0 && c->body_left == 0);
}

// events says what a connection waits for: output to drain first, then input.
static short events(const struct conn *c) {
	if (c->out_len > 0)
		return POLLOUT | (c->body_left > 0 && c->out_len < OUT_CAP ? POLLIN : 0);
	if (!c->head_done || c->body_left > 0)
		return POLLIN;
	return POLLOUT; // a file to read: the socket is ready for it at once
}

static void accept_conns(int lfd) {
	for (int i = 0; i < MAX_CONNS; i++) {
		if (conns[i] != NULL)
			continue;
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				fprintf(stderr, "c-server: accept: %s\n", strerror(errno));
			return;
		}
		struct conn *c = calloc(1, sizeof *c);
		if (c == NULL) {
			close(fd);
			return;
		}
		c->fd = fd;
		c->file = -1;
		conns[i] = c;
	}
}

int main(void) {
#ifndef __wasi__
	signal(SIGPIPE, SIG_IGN);
#endif
	const char *f = getenv("SERVE_FILE");
	if (f != NULL && *f != '\0')
		serve_file = f;
	int lfd = listener_fd();
	int fl = fcntl(lfd, F_GETFL);
	if (fl < 0 || fcntl(lfd, F_SETFL, fl | O_NONBLOCK) != 0) {
		fprintf(stderr, "c-server: listener fd %d: %s\n", lfd, strerror(errno));
		return 1;
	}
	fprintf(stderr, "c-server: serving on fd %d\n", lfd);

	struct pollfd pfds[MAX_CONNS + 1];
	int which[MAX_CONNS + 1];
	for (;;) {
		int n = 0, open = 0;
		for (int i = 0; i < MAX_CONNS; i++) {
			if (conns[i] == NULL)
				continue;
			pfds[n] = (struct pollfd){.fd = conns[i]->fd, .events = events(conns[i])};
			which[n++] = i;
			open++;
		}
		if (open < MAX_CONNS) {
			pfds[n] = (struct pollfd){.fd = lfd, .events = POLLIN};
			which[n++] = -1;
		}
		if (poll(pfds, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "c-server: poll: %s\n", strerror(errno));
			return 1;
		}
		for (int k = 0; k < n; k++) {
			if (pfds[k].revents == 0)
				continue;
			if (which[k] < 0)
				accept_conns(lfd);
			else if (!step(conns[which[k]], pfds[k].revents))
				close_conn(which[k]);
		}
	}
}
