// component-demo: the WASI 0.2 component example. It is an ordinary WASI
// preview 1 program in C; hack/build-component-examples.sh builds it with
// clang and wasi-libc and wraps it into a wasi:cli/run command component
// with jco's preview 1 command adapter:
//
//   clang --target=wasm32-wasi -O2 -s -o component-demo.wasm main.c
//   jco new component-demo.wasm --wasi-command -o component-demo.component.wasm
//
// argv[1] picks the subcommand:
//   args        "argc=N", then "argv[I]=ARG" for every element of argv
//   env         every environment variable as KEY=VALUE, in the given order
//   cat PATH    PATH's bytes, copied to stdout (PATH is absolute, in the rootfs)
//   exit N      exits with status N (a component can only report 0 or 1:
//               wasi:cli/exit takes a result, see README.md)
//   spin        a busy loop that never calls the host, until killed
// Anything else prints the usage on stderr and exits 2.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static int usage(void) {
	fputs("usage: component-demo args|env|cat PATH|exit N|spin\n", stderr);
	return 2;
}

static int cat(const char *path) {
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror("component-demo: cat");
		return 1;
	}
	// Static: wasm-ld gives the C stack 64 KiB in all.
	static char buf[16384];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		fwrite(buf, 1, n, stdout);
	int failed = ferror(f);
	fclose(f);
	return failed ? 1 : 0;
}

// spin keeps the CPU busy without a host call, so only a signal to the
// task can stop it; volatile keeps the loop from being optimised away.
static int spin(void) {
	volatile unsigned long n = 0;
	for (;;)
		n++;
}

int main(int argc, char **argv) {
	if (argc < 2)
		return usage();
	const char *cmd = argv[1];
	if (strcmp(cmd, "args") == 0) {
		printf("argc=%d\n", argc);
		for (int i = 0; i < argc; i++)
			printf("argv[%d]=%s\n", i, argv[i]);
		return 0;
	}
	if (strcmp(cmd, "env") == 0 && argc == 2) {
		for (char **e = environ; *e; e++)
			puts(*e);
		return 0;
	}
	if (strcmp(cmd, "cat") == 0 && argc == 3)
		return cat(argv[2]);
	if (strcmp(cmd, "exit") == 0 && argc == 3)
		return atoi(argv[2]);
	if (strcmp(cmd, "spin") == 0 && argc == 2)
		return spin();
	return usage();
}
