#!/usr/bin/env bash
# Build the example images as OCI layout tars in OUTDIR (default bin/images),
# from the modules of hack/build-examples.sh (built first if missing):
#   hello.tar      localhost/wasm/hello:latest      entrypoint /hello.wasm
#   wasi-demo.tar  localhost/wasm/wasi-demo:latest  entrypoint /wasi-demo.wasm
#   testdata.tar   localhost/wasm/testdata:latest   entrypoint /hello.wasm; every
#                  module and fixture at /<name>.wasm, /notwasm.txt, /data/hello.txt,
#                  and /exit3.wat, a fixture's text (a module in the text format)
#   pause.tar      localhost/wasm/pause:latest      linux/amd64, entrypoint /pause: the
#                  Pod sandbox image for CRI (import into the k8s.io namespace)
#   hello-linux.tar localhost/wasm/hello-linux:latest linux/amd64, entrypoint /hello.wasm:
#                  hello for Kubernetes, whose CRI image store reads the node's platform
#   native.tar     localhost/wasm/native:latest     linux/amd64, entrypoint /native (a
#                  static Linux program), /script.sh (#!/native), every module at /<name>.wasm
#   net-linux.tar  localhost/wasm/net-linux:latest  linux/amd64, entrypoint /go-server.wasm
#                  (the networking example's Go HTTP server), /data/hello.txt: the
#                  server for Kubernetes (examples/k8s/net-deployment.yaml)
# and, in the wasm-layer shape (each file its own layer, read by the shim from
# containerd's content store), in OUTDIR/wasm-layer/ (the e2e suite imports
# only OUTDIR/*.tar: ctr 1.6 cannot import these):
#   hello.tar      localhost/wasm/hello-layer:latest      entrypoint /hello.wasm
#   wasi-demo.tar  localhost/wasm/wasi-demo-layer:latest  entrypoint /wasi-demo.wasm,
#                  /data/hello.txt beside it
# Import one with: ctr -n NS images import --platform wasi/wasm bin/images/hello.tar
#
#   hack/build-images.sh [OUTDIR]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$ROOT/bin/images}
EX=${EXAMPLES_DIR:-$ROOT/bin/examples}
cd "$ROOT"

if [[ ! -f $EX/hello.wasm || ! -f $EX/wasi-demo.wasm || ! -f $EX/notwasm.txt || ! -f $EX/net/go-server.wasm ]]; then
	hack/build-examples.sh "$EX"
fi
mkdir -p "$OUT"
tool=$(mktemp -d)
trap 'rm -rf "$tool"' EXIT
go build -o "$tool/wasm-image" ./hack/wasm-image

"$tool/wasm-image" -o "$OUT/hello.tar" -ref localhost/wasm/hello:latest \
	-entrypoint /hello.wasm "$EX/hello.wasm"
"$tool/wasm-image" -o "$OUT/wasi-demo.tar" -ref localhost/wasm/wasi-demo:latest \
	-entrypoint /wasi-demo.wasm "$EX/wasi-demo.wasm"

printf 'hello from the image\n' >"$tool/hello.txt"
"$tool/wasm-image" -o "$OUT/testdata.tar" -ref localhost/wasm/testdata:latest \
	-entrypoint /hello.wasm "$EX"/*.wasm "$EX/notwasm.txt" "$tool/hello.txt:/data/hello.txt" \
	examples/fixtures/exit3.wat

mkdir -p "$OUT/wasm-layer"
"$tool/wasm-image" -shape wasm -o "$OUT/wasm-layer/hello.tar" -ref localhost/wasm/hello-layer:latest \
	"$EX/hello.wasm"
"$tool/wasm-image" -shape wasm -o "$OUT/wasm-layer/wasi-demo.tar" -ref localhost/wasm/wasi-demo-layer:latest \
	-entrypoint /wasi-demo.wasm "$EX/wasi-demo.wasm" "$tool/hello.txt:/data/hello.txt"

# Native (Linux) programs for Pods: static, so that they need nothing else
# in the image.
CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -ldflags "-s -w" -o "$tool/pause" ./examples/pause
CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -ldflags "-s -w" -o "$tool/native" ./examples/native
"$tool/wasm-image" -o "$OUT/pause.tar" -ref localhost/wasm/pause:latest \
	-platform linux/amd64 -entrypoint /pause "$tool/pause"
printf '#!/native\n' >"$tool/script.sh"
"$tool/wasm-image" -o "$OUT/native.tar" -ref localhost/wasm/native:latest \
	-platform linux/amd64 -entrypoint /native "$tool/native" "$tool/script.sh" "$EX"/*.wasm
"$tool/wasm-image" -o "$OUT/hello-linux.tar" -ref localhost/wasm/hello-linux:latest \
	-platform linux/amd64 -entrypoint /hello.wasm "$EX/hello.wasm"
"$tool/wasm-image" -o "$OUT/net-linux.tar" -ref localhost/wasm/net-linux:latest \
	-platform linux/amd64 -entrypoint /go-server.wasm "$EX/net/go-server.wasm" "$tool/hello.txt:/data/hello.txt"
