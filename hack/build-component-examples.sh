#!/usr/bin/env bash
# Build the WASI 0.2 component examples into OUTDIR (default
# bin/examples/components) and pack them into one plain OCI image (the
# .wasm files in a tar layer), IMAGE (default bin/images/components.tar),
# ref localhost/wasm/components:latest, entrypoint /component-demo.component.wasm:
#   component-demo.component.wasm  examples/component/main.c (clang, wasi-libc)
#                                  wrapped into a wasi:cli/run command
#   wat-demo.component.wasm        the WAT toolchain demo (examples/wat),
#                                  wrapped the same way
#   component-demo.wasm            the C core module itself, to run beside them
#   /data/hello.txt                a file to read from the rootfs
# and IMAGE's directory/wasm-layer/components.tar, localhost/wasm/components-layer:latest:
# the component as a wasm-layer image (component layer media type) with its
# /data/hello.txt in a second layer.
#
#   hack/build-component-examples.sh [OUTDIR [IMAGE]]
#
# The wrapping is jco's `new --wasi-command`, with the wasi_snapshot_preview1
# command adapter that jco ships. jco comes from the npm registry, pinned in
# hack/npm-tools.sh, into bin/npm (never a global install); node and npm must be
# installed. clang, wasi-libc and wabt come from Debian when missing (as root).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$ROOT/bin/examples/components}
IMAGE=${2:-$ROOT/bin/images/components.tar}
mkdir -p "$OUT" "$(dirname "$IMAGE")"
OUT=$(cd "$OUT" && pwd)
cd "$ROOT"

log() { echo "build-component-examples: $*" >&2; }

# shellcheck source=need-debian.sh
source "$ROOT/hack/need-debian.sh"

need clang lld wasi-libc libclang-rt-14-dev-wasm32 wabt

# shellcheck source=npm-tools.sh
source "$ROOT/hack/npm-tools.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A C program, not a Go one: examples/wasi-demo wrapped this way traps at
# start-up in the adapter ("assertion failed at adapter line 2857", in
# clock_time_get), most likely because Go's wasip1 runtime and the adapter
# both grow the one linear memory and each takes the new pages for its own.
clang --target=wasm32-wasi -O2 -s -Wall -Wextra -Werror -o "$OUT/component-demo.wasm" examples/component/main.c
wat2wasm examples/wat/demo.wat -o "$tmp/wat-demo.wasm"
"$jco" new "$OUT/component-demo.wasm" --wasi-command -o "$OUT/component-demo.component.wasm" >&2
"$jco" new "$tmp/wat-demo.wasm" --wasi-command -o "$OUT/wat-demo.component.wasm" >&2

printf 'hello from the component image\n' >"$tmp/hello.txt"
go run ./hack/wasm-image -o "$IMAGE" -ref localhost/wasm/components:latest \
	-entrypoint /component-demo.component.wasm \
	"$OUT/component-demo.component.wasm" "$OUT/wat-demo.component.wasm" "$OUT/component-demo.wasm" \
	"$tmp/hello.txt:/data/hello.txt"
# The same component as a wasm-layer image: the component itself is the
# layer (component layer media type), its data file another; the shim reads
# both from containerd's content store. ctr 1.6 cannot import it.
LAYER_IMAGE=$(dirname "$IMAGE")/wasm-layer/components.tar
mkdir -p "$(dirname "$LAYER_IMAGE")"
go run ./hack/wasm-image -shape wasm -o "$LAYER_IMAGE" -ref localhost/wasm/components-layer:latest \
	-entrypoint /component-demo.component.wasm \
	"$OUT/component-demo.component.wasm" "$tmp/hello.txt:/data/hello.txt"
log "wrote $IMAGE and $LAYER_IMAGE"
