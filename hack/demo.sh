#!/usr/bin/env bash
# make demo: start a private containerd that knows io.containerd.wasm.v1,
# import the hello image and run it with ctr, then tear everything down.
#
#   hack/demo.sh [VERSION]     # containerd version, default 2.4.2
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VERSION=${1:-2.4.2}
cd "$ROOT"

[[ -x bin/containerd-shim-wasm-v1 ]] || { echo "demo: run 'make build' first" >&2; exit 1; }
[[ -f bin/images/hello.tar ]] || { echo "demo: run 'make images' first" >&2; exit 1; }

DIR=$(mktemp -d /tmp/wasm-demo.XXXX)
trap 'hack/containerd.sh stop "$DIR"' EXIT
hack/containerd.sh start "$DIR" "$VERSION"

ctr() { hack/ctr.sh "$DIR" -n demo "$@"; }
run() { echo "+ ctr $*"; ctr "$@"; }

ctr images import bin/images/hello.tar >/dev/null
run run --rm --runtime io.containerd.wasm.v1 localhost/wasm/hello:latest demo-hello
run run --rm --runtime io.containerd.wasm.v1 localhost/wasm/hello:latest demo-args /hello.wasm from the demo
