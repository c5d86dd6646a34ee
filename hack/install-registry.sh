#!/usr/bin/env bash
# Install the CNCF distribution registry (the reference OCI registry) into
# bin/registry of this repo, for the image tests that push and pull over
# 127.0.0.1.
#
#   hack/install-registry.sh            # REGISTRY_VERSION, default 3.1.2
#
# Idempotent (nothing to do when bin/registry reports the version), quiet
# unless it fails, needs no stdin.
set -euo pipefail

VERSION=${REGISTRY_VERSION:-3.1.2}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PKG=github.com/distribution/distribution/v3

if [[ -x $ROOT/bin/registry ]] && "$ROOT/bin/registry" --version 2>/dev/null | grep -qF "v$VERSION"; then
	exit 0
fi
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
mkdir -p "$ROOT/bin"
# The version package is stamped as the release's own build does, so that
# --version tells which registry a test talked to.
if ! CGO_ENABLED=0 GOBIN="$ROOT/bin" go install \
	-ldflags "-s -w -X $PKG/version.version=v$VERSION" \
	"$PKG/cmd/registry@v$VERSION" >"$LOG" 2>&1; then
	cat "$LOG" >&2
	echo "install-registry: go install $PKG/cmd/registry@v$VERSION failed" >&2
	exit 1
fi
