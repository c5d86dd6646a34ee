// c-demo: the C (clang + wasi-libc) build of the toolchain demo that
// examples/README.md specifies.
//
//   clang --target=wasm32-wasi --sysroot=/usr/share/wasi-sysroot -O2 -s \
//       -o c-demo.wasm examples/c/main.c
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define USAGE "usage: wasi-demo args|env|random N|clock|rw PATH|echo|exit N"
#define RW_CONTENT "hello from wasi-demo"
#define MAX_RANDOM 1024

extern char **environ;

static int usage(void) {
	fprintf(stderr, "%s\n", USAGE);
	return 2;
}

static int fail(const char *what) {
	fprintf(stderr, "wasi-demo: %s: %s\n", what, strerror(errno));
	return 1;
}

// number parses a decimal 0..max made of digits only, as every demo does;
// -1 means a usage error.
static long number(const char *s, long max) {
	size_t len = strlen(s);
	if (len == 0 || len > 9 || strspn(s, "0123456789") != len)
		return -1;
	long n = strtol(s, NULL, 10);
	return n > max ? -1 : n;
}

static int print_args(int argc, char **argv) {
	printf("argc=%d\n", argc);
	for (int i = 0; i < argc; i++)
		printf("argv[%d]=%s\n", i, argv[i]);
	return 0;
}

static int compare(const void *a, const void *b) {
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int print_env(void) {
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = calloc(n + 1, sizeof *env);
	if (!env)
		return fail("env");
	memcpy(env, environ, n * sizeof *env);
	qsort(env, n, sizeof *env, compare);
	for (size_t i = 0; i < n; i++)
		puts(env[i]);
	free(env);
	return 0;
}

static int random_hex(const char *arg) {
	long n = number(arg, MAX_RANDOM);
	if (n < 0)
		return usage();
	unsigned char buf[MAX_RANDOM];
	// getentropy takes at most 256 bytes per call.
	for (long off = 0; off < n; off += 256) {
		long chunk = n - off < 256 ? n - off : 256;
		if (getentropy(buf + off, chunk) != 0)
			return fail("random");
	}
	for (long i = 0; i < n; i++)
		printf("%02x", buf[i]);
	putchar('\n');
	return 0;
}

static int64_t nanos(clockid_t id) {
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int clock_check(void) {
	int64_t now = nanos(CLOCK_REALTIME);
	if (now < INT64_C(1577836800) * 1000000000) {
		fprintf(stderr, "wasi-demo: clock: realtime %lld ns is before 2020\n", (long long)now);
		return 1;
	}
	int64_t start = nanos(CLOCK_MONOTONIC);
	struct timespec ten_ms = {0, 10000000};
	nanosleep(&ten_ms, NULL);
	int64_t d = nanos(CLOCK_MONOTONIC) - start;
	if (d < 10000000) {
		fprintf(stderr, "wasi-demo: clock: monotonic advanced %lld ns across a 10ms sleep\n", (long long)d);
		return 1;
	}
	puts("clock ok");
	return 0;
}

static int rw(const char *path) {
	FILE *f = fopen(path, "w");
	if (!f || fputs(RW_CONTENT, f) < 0 || fclose(f) != 0)
		return fail("rw: create");
	printf("created %s\n", path);
	char buf[64] = {0};
	f = fopen(path, "r");
	if (!f)
		return fail("rw: read");
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	printf("read: %.*s\n", (int)n, buf);
	if (unlink(path) != 0)
		return fail("rw: delete");
	printf("deleted %s\n", path);
	return 0;
}

// The buffer is static: wasm-ld gives the C stack 64 KiB in all, so a
// 64 KiB local would overrun it into the data below.
static char echo_buf[65536];

static int echo(void) {
	char *buf = echo_buf;
	for (;;) {
		ssize_t n = read(0, buf, sizeof echo_buf);
		if (n == 0)
			return 0;
		if (n < 0)
			return fail("echo");
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(1, buf + off, n - off);
			if (w < 0)
				return fail("echo");
			off += w;
		}
	}
}

int main(int argc, char **argv) {
	if (argc < 2)
		return usage();
	const char *cmd = argv[1];
	if (strcmp(cmd, "args") == 0)
		return print_args(argc, argv);
	if (strcmp(cmd, "env") == 0 && argc == 2)
		return print_env();
	if (strcmp(cmd, "random") == 0 && argc == 3)
		return random_hex(argv[2]);
	if (strcmp(cmd, "clock") == 0 && argc == 2)
		return clock_check();
	if (strcmp(cmd, "rw") == 0 && argc == 3)
		return rw(argv[2]);
	if (strcmp(cmd, "echo") == 0 && argc == 2)
		return echo();
	if (strcmp(cmd, "exit") == 0 && argc == 3) {
		long n = number(argv[2], 255);
		if (n < 0)
			return usage();
		fflush(stdout);
		exit((int)n);
	}
	return usage();
}
