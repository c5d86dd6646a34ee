#!/usr/bin/env bash
# Build the toolchain demo (examples/README.md) with every toolchain into
# OUTDIR (default bin/examples/toolchains) as <toolchain>-demo.wasm, check that
# each module imports WASI preview 1 only, and pack them all into one image:
# IMAGE (default bin/images/toolchains.tar), ref localhost/wasm/toolchains:latest,
# each module at /<toolchain>-demo.wasm, entrypoint /go-demo.wasm.
#
# It also builds the networking examples (examples/README.md) into NET_OUTDIR
# (default bin/examples/net): the HTTP server as rust-server.wasm, c-server.wasm
# and go-server.wasm, and the WasmEdge-socket client as http-get.wasm and
# http-get-dns.wasm (with sock_getaddrinfo); and packs them into NET_IMAGE
# (default bin/images/net.tar), ref localhost/wasm/net:latest, each module at
# /<name>.wasm, /data/hello.txt beside them, entrypoint /c-server.wasm.
#
#   hack/build-toolchain-examples.sh [OUTDIR [IMAGE [NET_OUTDIR [NET_IMAGE]]]]
#   TOOLCHAINS="c wat" NET=0 hack/build-toolchain-examples.sh     # a subset, no networking examples
#
# Missing toolchains come from Debian's packages (as root, no stdin needed):
#   rust  rustc libstd-rust-dev-wasm32 lld   (Debian's /usr/bin/rustc 1.63, target wasm32-wasi)
#   c     clang lld wasi-libc libclang-rt-14-dev-wasm32
#   cpp   emscripten                        (3.1.x, -sSTANDALONE_WASM)
#   wat   wabt
#   go    the Go that builds this repository (GOOS=wasip1)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$ROOT/bin/examples/toolchains}
IMAGE=${2:-$ROOT/bin/images/toolchains.tar}
NET_OUT=${3:-$ROOT/bin/examples/net}
NET_IMAGE=${4:-$ROOT/bin/images/net.tar}
TOOLCHAINS=${TOOLCHAINS:-rust c cpp go wat}
NET=${NET:-1}
mkdir -p "$OUT" "$(dirname "$IMAGE")"
OUT=$(cd "$OUT" && pwd)
cd "$ROOT"

log() { echo "build-toolchain-examples: $*" >&2; }

# shellcheck source=need-debian.sh
source "$ROOT/hack/need-debian.sh"

# Debian's rustc, not a rustup one earlier in PATH: rustup's current Rust
# names the target wasm32-wasip1 and ships it only after `rustup target add`.
build_rust() {
	need rustc libstd-rust-dev-wasm32 lld
	/usr/bin/rustc --edition 2021 --target wasm32-wasi -C opt-level=s -C strip=debuginfo \
		-o "$1" examples/rust/main.rs
}

# Debian's wasi-libc lives in the multiarch folders (/usr/include/wasm32-wasi,
# /usr/lib/wasm32-wasi) that clang searches for --target=wasm32-wasi; no
# --sysroot. libclang-rt-14-dev-wasm32 holds the compiler builtins.
build_c() {
	need clang lld wasi-libc libclang-rt-14-dev-wasm32
	clang --target=wasm32-wasi -O2 -s -Wall -Wextra -Werror -o "$1" examples/c/main.c
}

# -sSTANDALONE_WASM makes a WASI command (_start, wasi_snapshot_preview1
# imports). No -sALLOW_MEMORY_GROWTH: that adds the import
# env.emscripten_notify_memory_growth, which wasmtime's WASI does not define. The
# --js-library only satisfies em++'s check of the WASI calls that main.cpp
# imports itself; see examples/cpp/wasi-imports.js.
# (Debian ships emscripten's prebuilt system libraries; no cache build.)
build_cpp() {
	need emscripten
	em++ -O2 -std=c++17 -Wall -Werror -sSTANDALONE_WASM \
		--js-library examples/cpp/wasi-imports.js -o "$1" examples/cpp/main.cpp
}

build_go() {
	GOOS=wasip1 GOARCH=wasm go build -trimpath -o "$1" ./examples/go
}

build_wat() {
	need wabt
	wat2wasm examples/wat/demo.wat -o "$1"
}

# check_imports fails when a module imports anything but WASI preview 1,
# which the shim would refuse at create with "unknown import".
check_imports() {
	local other
	other=$(wasm-objdump -x -j Import "$1" | grep -E '^ - ' | grep -v '<- wasi_snapshot_preview1\.' || true)
	if [[ -n $other ]]; then
		log "$1 imports more than WASI preview 1:"
		echo "$other" >&2
		return 1
	fi
}

need wabt # wasm-objdump
modules=()
for tc in $TOOLCHAINS; do
	declare -F "build_$tc" >/dev/null || { log "unknown toolchain $tc (rust c cpp go wat)"; exit 2; }
	"build_$tc" "$OUT/$tc-demo.wasm"
	check_imports "$OUT/$tc-demo.wasm"
	modules+=("$OUT/$tc-demo.wasm")
done

go run ./hack/wasm-image -o "$IMAGE" -ref localhost/wasm/toolchains:latest \
	-entrypoint /go-demo.wasm "${modules[@]}"

# The networking examples: the same HTTP server in Rust, C and Go, each
# serving on a listener that the host preopens, and a client on WasmEdge's
# socket extension (its imports are still wasi_snapshot_preview1's).
build_net() {
	need rustc libstd-rust-dev-wasm32 lld clang wasi-libc libclang-rt-14-dev-wasm32
	mkdir -p "$NET_OUT"
	/usr/bin/rustc --edition 2021 --target wasm32-wasi -C opt-level=s -C strip=debuginfo \
		-o "$NET_OUT/rust-server.wasm" examples/net/rust/server.rs
	clang --target=wasm32-wasi -O2 -s -Wall -Wextra -Werror -o "$NET_OUT/c-server.wasm" examples/net/c/server.c
	clang --target=wasm32-wasi -O2 -s -Wall -Wextra -Werror -o "$NET_OUT/http-get.wasm" examples/net/client/main.c
	clang --target=wasm32-wasi -O2 -s -Wall -Wextra -Werror -DWITH_GETADDRINFO \
		-o "$NET_OUT/http-get-dns.wasm" examples/net/client/main.c
	GOOS=wasip1 GOARCH=wasm go build -trimpath -o "$NET_OUT/go-server.wasm" ./examples/net/go
	local m net=()
	for m in c-server rust-server go-server http-get http-get-dns; do
		check_imports "$NET_OUT/$m.wasm"
		net+=("$NET_OUT/$m.wasm")
	done
	local data
	data=$(mktemp -d)
	printf 'hello from the image\n' >"$data/hello.txt"
	go run ./hack/wasm-image -o "$NET_IMAGE" -ref localhost/wasm/net:latest \
		-entrypoint /c-server.wasm "${net[@]}" "$data/hello.txt:/data/hello.txt"
	rm -rf "$data"
}

if [[ $NET == 1 ]]; then
	build_net
fi
