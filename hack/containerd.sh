#!/usr/bin/env bash
# A private containerd with its own root, state and sockets under DIR, so tests
# never touch a system containerd and several can run side by side.
#
#   hack/containerd.sh start DIR [VERSION]   # VERSION: 2.4.2 (default), 2.1.9, 1.6.20
#   hack/containerd.sh stop DIR              # stop it by pid, unmount leftovers, remove DIR
#   hack/containerd.sh env DIR               # print export lines for ctr
#   hack/ctr.sh DIR ARGS...                  # run the matching ctr against it
#
# Unix socket paths are limited to 107 bytes: keep DIR short, for example
#   DIR=$(mktemp -d /tmp/ctrd.XXXX)
# Layout: DIR/config.toml, DIR/root, DIR/state, DIR/containerd.sock{,.ttrpc},
# DIR/containerd.log, DIR/containerd.pid, DIR/version, DIR/wasm-cache.
# The binaries come from bin/containerd-VERSION (hack/install-containerd.sh),
# and containerd runs with the repo's bin/ first in PATH, so runtime
# io.containerd.wasm.v1 resolves to bin/containerd-shim-wasm-v1.
# The work is done by hack/containerd-ctl (hack/privatecontainerd, the
# launcher the e2e suite and the benchmark use); CONTAINERD_LOG_LEVEL
# (default info) and CONTAINERD_START_TIMEOUT (seconds, default 30) tune start.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
	sed -n '4,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

# Built rather than run with go run, which would add "exit status 1" to
# every error; it runs from the repo, where it finds bin/.
ctl() {
	go -C "$ROOT" build -o bin/containerd-ctl ./hack/containerd-ctl
	(cd "$ROOT" && bin/containerd-ctl "$@")
}

[[ $# -ge 2 ]] || usage
cmd=$1 dir=$(realpath -m "$2")
shift 2
case "$cmd" in
start)
	[[ $# -le 1 ]] || usage
	ctl start -log-level "${CONTAINERD_LOG_LEVEL:-info}" -timeout "${CONTAINERD_START_TIMEOUT:-30}s" "$dir" "$@"
	;;
stop | env)
	[[ $# -eq 0 ]] || usage
	ctl "$cmd" "$dir"
	;;
*) usage ;;
esac
