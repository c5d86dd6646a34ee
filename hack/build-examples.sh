#!/usr/bin/env bash
# Build every example workload and fixture into OUTDIR (default bin/examples):
# hello.wasm, wasi-demo.wasm, spin.wasm, memhog.wasm, one .wasm per examples/fixtures/*.wat, notwasm.txt,
# and net/go-server.wasm, the Go build of the networking example's HTTP server
# (the Rust and C builds come from hack/build-toolchain-examples.sh).
#
#   hack/build-examples.sh [OUTDIR]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$ROOT/bin/examples}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

if ! command -v wat2wasm >/dev/null; then
	[[ $(id -u) == 0 ]] || { echo "build-examples: wat2wasm missing; install Debian's wabt" >&2; exit 1; }
	export DEBIAN_FRONTEND=noninteractive
	apt-cache show wabt >/dev/null 2>&1 || apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends wabt </dev/null >/dev/null
fi

cd "$ROOT"
for prog in hello wasi-demo spin memhog; do
	GOOS=wasip1 GOARCH=wasm go build -trimpath -o "$OUT/$prog.wasm" "./examples/$prog"
done
# In a folder of its own, so that the images that take every $OUT/*.wasm
# do not grow by its 9 MB.
mkdir -p "$OUT/net"
GOOS=wasip1 GOARCH=wasm go build -trimpath -o "$OUT/net/go-server.wasm" ./examples/net/go
for wat in examples/fixtures/*.wat; do
	name=$(basename "$wat" .wat)
	# A fixture must not overwrite a Go example of the same name.
	if [[ -d examples/$name ]]; then
		echo "build-examples: fixture $wat would replace examples/$name's module" >&2
		exit 1
	fi
	wat2wasm "$wat" -o "$OUT/$name.wasm"
done
cp examples/fixtures/notwasm.txt "$OUT/notwasm.txt"
