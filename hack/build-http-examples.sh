#!/usr/bin/env bash
# Build the wasi:http/proxy example handlers (components that export
# wasi:http/incoming-handler@0.2.10) into OUTDIR (default
# bin/examples/http) and pack them into one plain OCI image, IMAGE
# (default bin/images/http.tar), ref localhost/wasm/http:latest,
# entrypoint /http-js-incoming-handler.wasm, and the same files again as
# http-linux.tar beside IMAGE (localhost/wasm/http-linux:latest, a
# linux/amd64 manifest, for CRI's image store, which reads the node's
# platform: examples/k8s/http-deployment.yaml):
#   http-js-incoming-handler.wasm  examples/http-js/incoming-handler.js: the
#                                  generated wasi:http bindings (componentize-js)
#   http-js-fetch-event.wasm       examples/http-js/fetch-event.js:
#                                  addEventListener('fetch') (componentize-js)
#   http-c.wasm                    examples/http-c/handler.c: C without libc,
#                                  canonical ABI imports by hand, made a
#                                  component with jco's wasm-tools
# Each .wasm gets a .wit beside it, the world it imports and exports (`jco
# wit`), and an .imports.txt: every imported instance with the resources and
# functions the host must define (hack/component-imports.awk). The routes are in examples/README.md; what each imports and
# how each fares under `jco serve` in docs/wasi-http-examples.md.
#
#   hack/build-http-examples.sh [OUTDIR [IMAGE]]
#
# jco and componentize-js come from the npm registry, pinned, into bin/npm
# (never a global install); node and npm must be installed. clang and lld
# come from Debian when missing (as root). A JavaScript handler takes about
# two minutes to componentize here, so one whose output is newer than its
# inputs is not rebuilt.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$ROOT/bin/examples/http}
IMAGE=${2:-$ROOT/bin/images/http.tar}
# The WASI version the handlers speak: componentize-js 0.23's engine
# (StarlingMonkey) is built against wasi:http 0.2.10; jco ships the 0.2.12
# WIT, the same interfaces, which is relabelled.
WASI_SHIPPED=0.2.12
WASI_VERSION=0.2.10
mkdir -p "$OUT" "$(dirname "$IMAGE")"
OUT=$(cd "$OUT" && pwd)
cd "$ROOT"

log() { echo "build-http-examples: $*" >&2; }

# shellcheck source=need-debian.sh
source "$ROOT/hack/need-debian.sh"

need clang lld

# shellcheck source=npm-tools.sh
source "$ROOT/hack/npm-tools.sh"
export NPM_DIR

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The WASI WIT packages, relabelled to WASI_VERSION, as deps/ of a world.
shipped=$NPM_DIR/node_modules/@bytecodealliance/jco/lib/wit/builtin/$WASI_SHIPPED
[[ -d $shipped ]] || { log "no WASI $WASI_SHIPPED WIT in $shipped"; exit 1; }
for pkg in "$shipped"/wasi-*; do
	name=${pkg##*/wasi-}
	mkdir -p "$tmp/deps/$name"
	sed "s/@$WASI_SHIPPED/@$WASI_VERSION/g" "$pkg/package.wit" >"$tmp/deps/$name/package.wit"
done

# fresh OUTPUT INPUT...: OUTPUT exists and is newer than every INPUT.
fresh() {
	local out=$1 in
	shift
	[[ -f $out ]] || return 1
	for in in "$@"; do [[ $in -nt $out ]] && return 1; done
	return 0
}

mkdir -p "$tmp/js"
cp -r "$tmp/deps" "$tmp/js/deps"
cp examples/http-js/world.wit "$tmp/js/world.wit"
for form in incoming-handler fetch-event; do
	src=examples/http-js/$form.js
	wasm=$OUT/http-js-$form.wasm
	if fresh "$wasm" "$src" examples/http-js/world.wit examples/http-js/componentize.mjs "${BASH_SOURCE[0]}"; then
		log "$wasm is up to date"
		continue
	fi
	log "componentizing $src (about two minutes)"
	node examples/http-js/componentize.mjs "$tmp/js" "$src" "$tmp/$form.wasm" >&2
	mv "$tmp/$form.wasm" "$wasm"
done

# C with no libc: the module imports only the WASI functions it declares,
# so the component needs no preview 1 adapter.
clang --target=wasm32-unknown-unknown -nostdlib -O2 -Wall -Wextra -Werror -Wl,--no-entry \
	-o "$tmp/http-c.core.wasm" examples/http-c/handler.c
node examples/http-c/component.mjs examples/http-c/world.wit "$tmp/deps" "$tmp/http-c.core.wasm" "$OUT/http-c.wasm"

for wasm in "$OUT"/http-js-incoming-handler.wasm "$OUT"/http-js-fetch-event.wasm "$OUT"/http-c.wasm; do
	"$jco" wit "$wasm" -o "${wasm%.wasm}.wit" >&2
	"$jco" print "$wasm" | awk -f hack/component-imports.awk >"${wasm%.wasm}.imports.txt"
	grep -q "export wasi:http/incoming-handler@$WASI_VERSION;" "${wasm%.wasm}.wit" ||
		{ log "$wasm does not export wasi:http/incoming-handler@$WASI_VERSION"; exit 1; }
done

go run ./hack/wasm-image -o "$IMAGE" -ref localhost/wasm/http:latest \
	-entrypoint /http-js-incoming-handler.wasm \
	"$OUT/http-js-incoming-handler.wasm" "$OUT/http-js-fetch-event.wasm" "$OUT/http-c.wasm"
go run ./hack/wasm-image -o "$(dirname "$IMAGE")/http-linux.tar" -ref localhost/wasm/http-linux:latest \
	-platform linux/amd64 -entrypoint /http-js-incoming-handler.wasm \
	"$OUT/http-js-incoming-handler.wasm" "$OUT/http-js-fetch-event.wasm" "$OUT/http-c.wasm"
log "wrote $OUT/*.wasm, $IMAGE and $(dirname "$IMAGE")/http-linux.tar"
