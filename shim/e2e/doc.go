// Package e2e runs the shim under a real containerd, started by the tests
// with a private root, state and socket (hack/privatecontainerd, which
// the benchmark and hack/containerd.sh use too), and drives it both
// through the ctr binary and through the containerd Go client. A failing
// test prints the part of containerd's log written during it.
//
// The daemon version is chosen with E2E_CONTAINERD_VERSION (default 2.4.2);
// its binaries come from bin/containerd-VERSION/ (hack/install-containerd.sh),
// the shim from bin/containerd-shim-wasm-v1 and the images from bin/images/.
// Without root or without those files every test is skipped.
//
//	sudo go test ./shim/e2e/ -count=1 -v
//	E2E_CONTAINERD_VERSION=1.6.20 go test ./shim/e2e/ -count=1 -v
package e2e
