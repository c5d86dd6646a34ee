#!/usr/bin/env bash
# Build a single-node Kubernetes (etcd, kube-apiserver, kube-scheduler,
# kube-controller-manager, kubelet, kubectl) from the Go module proxy into
# bin/k8s-VERSION/ of this repo, for `make test-k8s`.
#
#   hack/install-k8s.sh [VERSION]     # default 1.36.3
#
# Idempotent: with every binary in place at VERSION it does nothing. Quiet
# unless a step fails. About 27 minutes of CPU the first time (46 minutes of
# wall time on a busy 2-core machine); the Go build cache keeps it after.
set -euo pipefail

VERSION=${1:-1.36.3}
ETCD_VERSION=3.7.3
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEST="$ROOT/bin/k8s-$VERSION"
COMPONENTS=(kube-apiserver kube-scheduler kube-controller-manager kubelet kubectl)

die() { echo "install-k8s: $*" >&2; exit 1; }

installed() {
	[[ -x "$DEST/etcd" ]] || return 1
	# Captured first: with pipefail, grep -q closing the pipe early would
	# fail the writer.
	local v
	v=$("$DEST/etcd" --version 2>/dev/null) || return 1
	grep -qF "etcd Version: $ETCD_VERSION" <<<"$v" || return 1
	local c
	for c in "${COMPONENTS[@]}"; do
		[[ -x "$DEST/$c" ]] || return 1
	done
	v=$("$DEST/kubelet" --version 2>/dev/null) || return 1
	grep -qF "v$VERSION" <<<"$v"
}

installed && exit 0

TMP=$(mktemp -d)
LOG="$TMP/log"
trap 'rm -rf "$TMP"' EXIT

run() {
	if ! "$@" >>"$LOG" 2>&1; then
		cat "$LOG" >&2
		die "failed: $*"
	fi
}

export GOFLAGS=-mod=mod GOWORK=off CGO_ENABLED=0
mkdir -p "$DEST"

# k8s.io/kubernetes points its staging modules at ./staging/src/... in its
# own go.mod, which a module that requires it cannot follow; the same code
# is published as k8s.io/<name> v0.<minor>.<patch>, so the throwaway module
# replaces each staging path with that release.
STAGING_VERSION="v0.${VERSION#*.}"
mkdir -p "$TMP/k8s"
(
	cd "$TMP/k8s"
	run go mod init k8s-build
	run go mod edit -require="k8s.io/kubernetes@v$VERSION"
	gomod=$(go mod download -json "k8s.io/kubernetes@v$VERSION" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')
	[[ -f "$gomod" ]] || die "no go.mod for k8s.io/kubernetes@v$VERSION"
	staging=$(sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => \./staging/.*#\1#p' "$gomod")
	[[ -n "$staging" ]] || die "found no staging replacements in $gomod"
	for m in $staging; do
		run go mod edit -replace="$m=$m@$STAGING_VERSION"
	done
	cat >tools.go <<EOF
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
EOF
	run go mod tidy
	for c in "${COMPONENTS[@]}"; do
		run go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=v$VERSION -X k8s.io/client-go/pkg/version.gitVersion=v$VERSION" \
			-o "$DEST/$c" "k8s.io/kubernetes/cmd/$c"
	done
)

# etcd's server module carries its main as etcdmain.Main.
mkdir -p "$TMP/etcd"
(
	cd "$TMP/etcd"
	run go mod init etcd-build
	cat >main.go <<'EOF'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
	run go mod edit -require="go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
	run go mod tidy
	run go build -trimpath -ldflags "-s -w" -o "$DEST/etcd" .
)

installed || die "built $DEST, but the binaries do not report v$VERSION / etcd $ETCD_VERSION"
