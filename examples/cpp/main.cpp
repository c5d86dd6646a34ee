// cpp-demo: the C++ (Emscripten, -sSTANDALONE_WASM) build of the toolchain
// demo that examples/README.md specifies. hack/build-toolchain-examples.sh
// has the exact em++ command line and why each flag is there.
//
// Emscripten 3.1's standalone libc has no files (open() answers EPERM for
// anything but /dev/std*, unlink() is a JavaScript import), no getentropy
// (JavaScript), no sleep that a WASI runtime ends (nanosleep spins on clock(),
// the process CPU-time clock, which wasmtime does not provide, so it never
// returns) and no exception catching (a throw aborts). So this demo calls WASI
// directly through <wasi/api.h> for files, random bytes and sleeping, and
// reports errors by return value.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include <unistd.h>
#include <wasi/api.h>

extern "C" char **environ;

namespace {

const char usage_text[] = "usage: wasi-demo args|env|random N|clock|rw PATH|echo|exit N";
const char rw_content[] = "hello from wasi-demo";
constexpr long max_random = 1024;

constexpr int exit_usage = 2;
constexpr int exit_failed = 1;

int usage() {
	std::cerr << usage_text << '\n';
	return exit_usage;
}

int failed(const std::string &what, int errno_) {
	std::cerr << "wasi-demo: " << what << ": " << std::strerror(errno_) << '\n';
	return exit_failed;
}

// number parses a decimal 0..max made of digits only, as every demo does;
// -1 means a usage error.
long number(const std::string &s, long max) {
	if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos)
		return -1;
	long n = std::stol(s);
	return n > max ? -1 : n;
}

int print_args(const std::vector<std::string> &args) {
	std::cout << "argc=" << args.size() << '\n';
	for (std::size_t i = 0; i < args.size(); i++)
		std::cout << "argv[" << i << "]=" << args[i] << '\n';
	return 0;
}

int print_env() {
	std::vector<std::string> env;
	for (char **e = environ; e && *e; e++)
		env.emplace_back(*e);
	std::sort(env.begin(), env.end());
	for (const auto &kv : env)
		std::cout << kv << '\n';
	return 0;
}

int random_hex(const std::string &arg) {
	long n = number(arg, max_random);
	if (n < 0)
		return usage();
	std::vector<std::uint8_t> buf(n);
	if (auto e = __wasi_random_get(buf.data(), buf.size()); e != 0)
		return failed("random", e);
	static const char digits[] = "0123456789abcdef";
	std::string hex;
	for (auto b : buf) {
		hex += digits[b >> 4];
		hex += digits[b & 15];
	}
	std::cout << hex << '\n';
	return 0;
}

// sleep_ns waits on one relative timeout of the monotonic clock.
__wasi_errno_t sleep_ns(__wasi_timestamp_t ns) {
	__wasi_subscription_t sub{};
	sub.type = __WASI_EVENTTYPE_CLOCK;
	sub.u.clock.id = __WASI_CLOCKID_MONOTONIC;
	sub.u.clock.timeout = ns;
	__wasi_event_t event;
	__wasi_size_t n = 0;
	return __wasi_poll_oneoff(&sub, &event, 1, &n);
}

int clock_check() {
	using namespace std::chrono;
	auto now = duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
	if (now < 1577836800) {
		std::cerr << "wasi-demo: clock: realtime " << now << " s is before 2020\n";
		return exit_failed;
	}
	auto start = steady_clock::now();
	if (auto e = sleep_ns(10000000); e != 0)
		return failed("clock", e);
	auto d = duration_cast<nanoseconds>(steady_clock::now() - start).count();
	if (d < 10000000) {
		std::cerr << "wasi-demo: clock: monotonic advanced " << d << " ns across a 10ms sleep\n";
		return exit_failed;
	}
	std::cout << "clock ok\n";
	return 0;
}

// Dir is an absolute path resolved against the preopen named "/".
struct Dir {
	__wasi_fd_t fd;
	std::string rel;
};

__wasi_errno_t resolve(const std::string &path, Dir &out) {
	if (path.size() < 2 || path[0] != '/')
		return __WASI_ERRNO_NOENT;
	for (__wasi_fd_t fd = 3;; fd++) {
		__wasi_prestat_t ps;
		if (__wasi_fd_prestat_get(fd, &ps) != 0)
			return __WASI_ERRNO_NOTCAPABLE; // no preopen left
		if (ps.pr_type != __WASI_PREOPENTYPE_DIR || ps.u.dir.pr_name_len != 1)
			continue;
		char name;
		if (__wasi_fd_prestat_dir_name(fd, reinterpret_cast<std::uint8_t *>(&name), 1) == 0 && name == '/') {
			out = Dir{fd, path.substr(1)};
			return 0;
		}
	}
}

__wasi_errno_t open_file(const Dir &d, __wasi_oflags_t oflags, __wasi_rights_t rights, __wasi_fd_t &fd) {
	return __wasi_path_open(d.fd, 0, d.rel.c_str(), d.rel.size(), oflags, rights, 0, 0, &fd);
}

__wasi_errno_t write_file(const Dir &d, const std::string &content) {
	__wasi_fd_t fd;
	auto e = open_file(d, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, __WASI_RIGHTS_FD_WRITE, fd);
	if (e != 0)
		return e;
	__wasi_ciovec_t iov{reinterpret_cast<const std::uint8_t *>(content.data()), content.size()};
	__wasi_size_t n = 0;
	e = __wasi_fd_write(fd, &iov, 1, &n);
	(void)__wasi_fd_close(fd);
	return e != 0 ? e : n == content.size() ? 0 : __WASI_ERRNO_IO;
}

__wasi_errno_t read_file(const Dir &d, std::string &content) {
	__wasi_fd_t fd;
	auto e = open_file(d, 0, __WASI_RIGHTS_FD_READ, fd);
	if (e != 0)
		return e;
	char buf[4096];
	for (;;) {
		__wasi_iovec_t iov{reinterpret_cast<std::uint8_t *>(buf), sizeof buf};
		__wasi_size_t n = 0;
		if ((e = __wasi_fd_read(fd, &iov, 1, &n)) != 0 || n == 0)
			break;
		content.append(buf, n);
	}
	(void)__wasi_fd_close(fd);
	return e;
}

int rw(const std::string &path) {
	Dir d;
	if (auto e = resolve(path, d); e != 0)
		return failed("rw: create", e);
	if (auto e = write_file(d, rw_content); e != 0)
		return failed("rw: create", e);
	std::cout << "created " << path << '\n';
	std::string got;
	if (auto e = read_file(d, got); e != 0)
		return failed("rw: read", e);
	std::cout << "read: " << got << '\n';
	if (auto e = __wasi_path_unlink_file(d.fd, d.rel.c_str(), d.rel.size()); e != 0)
		return failed("rw: delete", e);
	std::cout << "deleted " << path << '\n';
	return 0;
}

int echo() {
	std::vector<char> buf(65536);
	for (;;) {
		ssize_t n = read(0, buf.data(), buf.size());
		if (n == 0)
			return 0;
		if (n < 0)
			return failed("echo", errno);
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(1, buf.data() + off, n - off);
			if (w < 0)
				return failed("echo", errno);
			off += w;
		}
	}
}

int run(const std::vector<std::string> &args) {
	if (args.size() < 2)
		return usage();
	const std::string &cmd = args[1];
	auto n = args.size();
	if (cmd == "args")
		return print_args(args);
	if (cmd == "env" && n == 2)
		return print_env();
	if (cmd == "random" && n == 3)
		return random_hex(args[2]);
	if (cmd == "clock" && n == 2)
		return clock_check();
	if (cmd == "rw" && n == 3)
		return rw(args[2]);
	if (cmd == "echo" && n == 2)
		return echo();
	if (cmd == "exit" && n == 3) {
		long code = number(args[2], 255);
		if (code < 0)
			return usage();
		std::cout.flush();
		std::exit(static_cast<int>(code));
	}
	return usage();
}

} // namespace

int main(int argc, char **argv) {
	return run(std::vector<std::string>(argv, argv + argc));
}
