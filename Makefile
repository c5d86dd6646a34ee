# containerd-shim-wasm: run `make help` for the targets.

SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
PREFIX ?= /usr/local
# The daemons the e2e suite runs against; the first is the default one.
CONTAINERD_VERSIONS ?= 2.4.2 2.1.9 1.6.20
CONTAINERD_VERSION ?= $(firstword $(CONTAINERD_VERSIONS))

SHIM := bin/containerd-shim-wasm-v1
UNIT_PKGS = $(shell $(GO) list ./... | grep -v /shim/e2e)
# Packages meant to build on any platform (make check vets them for macOS);
# the rest need Linux (namespaces, cgroups, /proc).
PORTABLE_PKGS = ./hack/wasm-image ./hack/containerdconfig

.PHONY: help build examples modules toolchain-examples component-examples http-examples images containerd registry demo test test-unit test-e2e test-k8s install clean check bench

help: ## show this help
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-19s %s\n", $$1, $$2}'

build: ## build bin/containerd-shim-wasm-v1
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(SHIM) ./cmd/containerd-shim-wasm-v1

examples: modules toolchain-examples component-examples http-examples ## every example: the test modules, the demo of each toolchain, the WASI 0.2 components, the wasi:http handlers

modules: ## the Go examples and WAT fixtures the tests use, into bin/examples
	hack/build-examples.sh bin/examples

toolchain-examples: ## the demo built with Rust, C, C++, Go, WAT, and the networking examples (installs Debian's toolchains); bin/images/{toolchains,net}.tar
	hack/build-toolchain-examples.sh bin/examples/toolchains bin/images/toolchains.tar bin/examples/net bin/images/net.tar

component-examples: ## WASI 0.2 command components (C and WAT wrapped by jco, npm into bin/npm); bin/images/components.tar
	hack/build-component-examples.sh bin/examples/components bin/images/components.tar

http-examples: ## wasi:http/proxy handlers (JavaScript by componentize-js, C by hand; npm into bin/npm); bin/images/http.tar, http-linux.tar
	hack/build-http-examples.sh bin/examples/http bin/images/http.tar

images: modules ## the example OCI images, into bin/images
	hack/build-images.sh bin/images

containerd: ## install the pinned containerd versions into bin/containerd-VERSION
	@for v in $(CONTAINERD_VERSIONS); do hack/install-containerd.sh $$v || exit 1; done

registry: ## install the CNCF distribution registry into bin/registry (the image tests push to it)
	hack/install-registry.sh

demo: build images ## run the hello example through a private containerd with ctr run
	hack/install-containerd.sh $(CONTAINERD_VERSION)
	hack/demo.sh $(CONTAINERD_VERSION)

test: test-unit test-e2e test-k8s ## unit tests, the e2e suite against every containerd version, then a real kubelet

test-unit: check ## make check, then unit tests (the shim and cgroups build without cgo) and short fuzz runs
	CGO_ENABLED=0 $(GO) vet ./shim/... ./cgroups/...
	$(GO) test -race -count=1 $(UNIT_PKGS)
	# A short run of the fuzz target over the OCI spec translation (its
	# corpus is in shim/testdata/fuzz).
	CGO_ENABLED=0 $(GO) test -run '^$$' -fuzz FuzzChildOptions -fuzztime 15s ./shim/
	# The Go WASI host parses guest input: random call sequences against it.
	$(GO) test -run '^$$' -fuzz FuzzCalls -fuzztime 15s ./wasmexec/wasip1/

test-e2e: build images containerd registry ## the e2e suite against each of CONTAINERD_VERSIONS
	@for v in $(CONTAINERD_VERSIONS); do \
		echo "== e2e against containerd $$v"; \
		E2E_CONTAINERD_VERSION=$$v $(GO) test -count=1 -timeout 20m ./shim/e2e/ || exit 1; \
	done

test-k8s: build images http-examples containerd ## a single-node Kubernetes (built by hack/install-k8s.sh) runs examples/k8s through the shim
	hack/install-k8s.sh
	@for v in $(CONTAINERD_VERSIONS); do \
		echo "== kubelet against containerd $$v"; \
		E2E_K8S=1 E2E_CONTAINERD_VERSION=$$v $(GO) test -count=1 -timeout 15m -run '^TestKubernetes' ./shim/e2e/ || exit 1; \
	done

bench: build http-examples ## runc vs the shim through a private containerd: table and plot in bin/bench (BENCH_FLAGS="-n 30 -density 50 -tasks 1000"; "-soak 10m" adds the soaks)
	hack/install-containerd.sh $(CONTAINERD_VERSION)
	$(GO) run ./hack/bench -containerd $(CONTAINERD_VERSION) $(BENCH_FLAGS)

install: build ## install the shim into $(PREFIX)/bin
	install -D -m 0755 $(SHIM) $(DESTDIR)$(PREFIX)/bin/containerd-shim-wasm-v1

check: ## gofmt, go vet (also for macOS on PORTABLE_PKGS), go mod tidy must leave no diff
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	GOOS=darwin $(GO) vet $(PORTABLE_PKGS)
	$(GO) mod tidy && git diff --exit-code go.mod go.sum

clean: ## remove everything built
	rm -rf bin build
