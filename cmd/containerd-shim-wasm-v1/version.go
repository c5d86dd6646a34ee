package main

import (
	"runtime/debug"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func versionInfo() shim.VersionInfo {
	info := shim.VersionInfo{Version: version, Wasmtime: "unknown"}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return info
	}
	info.GoVersion = bi.GoVersion
	for _, dep := range bi.Deps {
		if dep.Path == "github.com/bytecodealliance/wasmtime-go/v39" {
			info.Wasmtime = dep.Version
		}
	}
	return info
}
