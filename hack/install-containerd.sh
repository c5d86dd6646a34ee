#!/usr/bin/env bash
# Install a pinned containerd + ctr into bin/containerd-VERSION/ of this repo.
#
#   hack/install-containerd.sh [VERSION]     # default 2.4.2; also 2.1.9, 1.6.20
#
# Idempotent: a second run with the binaries in place and reporting the right
# version does nothing. Quiet unless something fails (build output is kept in
# a log that is printed on failure). Works non-interactively (CI=true, no stdin).
set -euo pipefail

VERSION=${1:-2.4.2}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEST="$ROOT/bin/containerd-$VERSION"
PKG=github.com/containerd/containerd/v2

die() { echo "install-containerd: $*" >&2; exit 1; }

# installed reports whether DEST already holds both binaries at VERSION.
installed() {
	[[ -x "$DEST/containerd" && -x "$DEST/ctr" ]] || return 1
	"$DEST/containerd" --version 2>/dev/null | grep -qF " $VERSION" || return 1
	"$DEST/ctr" --version 2>/dev/null | grep -qF " $VERSION"
}

LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT

# run executes a command with its output in LOG and shows LOG if it fails,
# so the script stays quiet on success but a failure is debuggable.
run() {
	if ! "$@" >>"$LOG" 2>&1; then
		cat "$LOG" >&2
		die "failed: $*"
	fi
}

# The version package defaults to "X.Y.Z+unknown"; stamp the plain version so
# `containerd --version` is easy to match in tests. CGO_ENABLED=0 keeps the
# build free of C headers (btrfs needs cgo; no_btrfs makes that explicit).
LDFLAGS="-s -w -X $PKG/version.Version=$VERSION"
export CGO_ENABLED=0
TAGS=no_btrfs

# go install works for releases whose go.mod has no exclude/replace directives.
install_go_install() {
	mkdir -p "$DEST"
	run env GOBIN="$DEST" go install -tags "$TAGS" -ldflags "$LDFLAGS" \
		"$PKG/cmd/containerd@v$VERSION" "$PKG/cmd/ctr@v$VERSION"
}

# Releases whose go.mod has exclude directives (2.1.x) make `go install
# pkg@version` refuse them; build them from a throwaway module that requires
# the release instead. The main module's excludes then do not apply, which is
# why the wrapper needs a tidy to pick consistent dependency versions.
install_wrapper() {
	local tmp
	tmp=$(mktemp -d)
	# shellcheck disable=SC2064 # expand now: tmp is local
	trap "rm -rf '$tmp' '$LOG'" EXIT
	mkdir -p "$DEST"
	cat >"$tmp/tools.go" <<EOF
//go:build tools

package tools

import (
	_ "$PKG/cmd/containerd"
	_ "$PKG/cmd/ctr"
)
EOF
	(
		cd "$tmp"
		export GOFLAGS=-mod=mod GOWORK=off
		run go mod init wrapper
		run go mod edit -go=1.24 -require="$PKG@v$VERSION"
		run go mod tidy
		run go build -trimpath -tags "$TAGS" -ldflags "$LDFLAGS" -o "$DEST/containerd" "$PKG/cmd/containerd"
		run go build -trimpath -tags "$TAGS" -ldflags "$LDFLAGS" -o "$DEST/ctr" "$PKG/cmd/ctr"
	)
}

# Debian bookworm ships containerd 1.6.20; link its binaries so every version
# is found under the same layout.
install_debian() {
	if ! [[ -x /usr/bin/containerd && -x /usr/bin/ctr ]] ||
		! /usr/bin/containerd --version 2>/dev/null | grep -qF " $VERSION"; then
		export DEBIAN_FRONTEND=noninteractive
		[[ $(id -u) == 0 ]] || die "installing the Debian package needs root"
		if ! apt-cache show containerd >/dev/null 2>&1; then
			run apt-get update -q
		fi
		run apt-get install -y -q --no-install-recommends containerd </dev/null
	fi
	/usr/bin/containerd --version | grep -qF " $VERSION" ||
		die "Debian's containerd is $(/usr/bin/containerd --version), want $VERSION"
	mkdir -p "$DEST"
	ln -sfn /usr/bin/containerd "$DEST/containerd"
	ln -sfn /usr/bin/ctr "$DEST/ctr"
}

installed && exit 0
case "$VERSION" in
2.1.*) install_wrapper ;;
1.6.*) install_debian ;;
2.*) install_go_install ;;
*) die "unsupported version $VERSION (want 2.4.2, 2.1.9 or 1.6.20)" ;;
esac
installed || die "installed $DEST but '$DEST/containerd --version' does not report $VERSION: $("$DEST/containerd" --version 2>&1 || true)"
