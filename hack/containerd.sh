#!/usr/bin/env bash
# A private containerd with its own root, state and sockets under DIR, so tests
# never touch a system containerd and several can run side by side.
#
#   hack/containerd.sh start DIR [VERSION]   # VERSION: 2.4.2 (default), 2.1.9, 1.6.20
#   hack/containerd.sh stop DIR              # kill it, unmount leftovers, remove DIR
#   hack/containerd.sh env DIR               # print export lines for ctr
#   hack/ctr.sh DIR ARGS...                  # run the matching ctr against it
#
# Unix socket paths are limited to 107 bytes: keep DIR short, for example
#   DIR=$(mktemp -d /tmp/ctrd.XXXX)
# Layout: DIR/config.toml, DIR/root, DIR/state, DIR/containerd.sock{,.ttrpc},
# DIR/containerd.log, DIR/containerd.pid, DIR/version.
# The binaries come from bin/containerd-VERSION (hack/install-containerd.sh),
# and containerd runs with the repo's bin/ first in PATH, so runtime
# io.containerd.wasm.v1 resolves to bin/containerd-shim-wasm-v1.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TIMEOUT=${CONTAINERD_START_TIMEOUT:-30}

die() { echo "containerd.sh: $*" >&2; exit 1; }

usage() {
	sed -n '4,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

# alive reports whether the pid in DIR/containerd.pid is a running process.
alive() {
	local pid
	pid=$(cat "$1/containerd.pid" 2>/dev/null) || return 1
	[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null
}

# The config (hack/containerdconfig, shared with the e2e suite and the
# benchmark) is version 2, the newest that 1.6 reads; 2.x migrates it on
# load. Plugins this rig does not need are disabled, so start is fast and
# nothing reaches outside DIR: CRI, NRI (a fixed socket under /var/run/nri
# that parallel daemons would fight over), snapshotters that need kernel
# features or devices this sandbox lacks, and the opt plugin (it would
# create /opt/containerd). 2.x's transfer service unpacks linux and wasi/wasm.
write_config() {
	local dir=$1
	go -C "$ROOT" run ./hack/containerd-config -dir "$dir" -log-level "${CONTAINERD_LOG_LEVEL:-info}" >"$dir/config.toml"
}

start() {
	[[ $# -ge 1 && $# -le 2 ]] || usage
	local dir version bin sock pid
	dir=$(realpath -m "$1")
	version=${2:-2.4.2}
	bin="$ROOT/bin/containerd-$version"
	sock="$dir/containerd.sock"
	[[ -x $bin/containerd ]] || die "$bin/containerd missing: run hack/install-containerd.sh $version"
	# The ttrpc socket has the longest path; sun_path holds 107 bytes + NUL.
	((${#sock} + 6 <= 107)) || die "DIR too long for a unix socket ($sock.ttrpc is $((${#sock} + 6)) bytes, max 107); use e.g. \$(mktemp -d /tmp/ctrd.XXXX)"
	mkdir -p "$dir"
	! alive "$dir" || die "a containerd (pid $(cat "$dir/containerd.pid")) already runs in $dir"

	mkdir -p "$dir/root" "$dir/state"
	rm -f "$dir/containerd.pid"
	echo "$version" >"$dir/version"
	write_config "$dir"
	# setsid detaches it from the caller's session so a test harness's
	# terminal signals do not reach it; the shell records its own pid and
	# then becomes containerd, so the pid file names the daemon itself.
	# The shim's compile cache lives and dies with this daemon.
	# shellcheck disable=SC2016 # expanded by the inner shell, on purpose
	CONTAINERD_SHIM_WASM_CACHE_DIR="$dir/wasm-cache" PATH="$ROOT/bin:$bin:$PATH" setsid bash -c 'echo $$ >"$1/containerd.pid"; exec "$2" --config "$1/config.toml"' \
		_ "$dir" "$bin/containerd" </dev/null >>"$dir/containerd.log" 2>&1 &

	local deadline=$((SECONDS + TIMEOUT))
	until "$bin/ctr" --address "$sock" version >/dev/null 2>&1; do
		if ! alive "$dir" && [[ -s $dir/containerd.pid ]]; then
			fail "$dir" "containerd exited during start"
		fi
		((SECONDS < deadline)) || fail "$dir" "containerd did not answer on $sock within ${TIMEOUT}s"
		sleep 0.1
	done
	pid=$(cat "$dir/containerd.pid")
	echo "containerd $version (pid $pid) listening on $sock" >&2
}

fail() {
	echo "containerd.sh: $2; last lines of $1/containerd.log:" >&2
	tail -n 30 "$1/containerd.log" >&2 || true
	exit 1
}

# mounts_under prints the mount points at or below DIR, innermost last as in
# mountinfo, with the \NNN octal escapes of mountinfo decoded.
mounts_under() {
	local dir=$1 mp
	while read -r _ _ _ _ mp _; do
		mp=$(printf '%b' "$mp")
		if [[ $mp == "$dir" || $mp == "$dir"/* ]]; then
			echo "$mp"
		fi
	done </proc/self/mountinfo
}

stop() {
	[[ $# -eq 1 ]] || usage
	[[ -d $1 ]] || return 0
	local dir pid i mp
	dir=$(cd "$1" && pwd -P)
	if alive "$dir"; then
		pid=$(cat "$dir/containerd.pid")
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	# Task rootfs mounts outlive a killed daemon; unmount the innermost first.
	mounts_under "$dir" | tac | while read -r mp; do
		umount "$mp" 2>/dev/null || umount -l "$mp" || echo "containerd.sh: cannot unmount $mp" >&2
	done
	rm -rf "$dir"
}

env_lines() {
	[[ $# -eq 1 ]] || usage
	local dir
	dir=$(cd "$1" && pwd -P)
	echo "export CONTAINERD_ADDRESS=$dir/containerd.sock"
	echo "export CONTAINERD_SUPPRESS_DEPRECATION_WARNINGS=\${CONTAINERD_SUPPRESS_DEPRECATION_WARNINGS:-1}"
	echo "export PATH=$ROOT/bin/containerd-$(cat "$dir/version"):\$PATH"
}

case "${1:-}" in
start) shift && start "$@" ;;
stop) shift && stop "$@" ;;
env) shift && env_lines "$@" ;;
*) usage ;;
esac
