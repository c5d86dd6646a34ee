#!/usr/bin/env bash
# Run the ctr that matches the private containerd in DIR (see hack/containerd.sh).
#
#   hack/ctr.sh DIR [ctr args...]      e.g. hack/ctr.sh /tmp/ctrd.ab12 -n test images ls
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[[ $# -ge 1 ]] || { echo "usage: hack/ctr.sh DIR [ctr args...]" >&2; exit 2; }
dir=$(cd "$1" && pwd -P)
shift
version=$(cat "$dir/version") || { echo "ctr.sh: $dir has no private containerd" >&2; exit 1; }
# 2.x ctr repeats the daemon's deprecations (cgroup v1 here) on every call.
export CONTAINERD_SUPPRESS_DEPRECATION_WARNINGS=${CONTAINERD_SUPPRESS_DEPRECATION_WARNINGS:-1}
exec "$ROOT/bin/containerd-$version/ctr" --address "$dir/containerd.sock" "$@"
