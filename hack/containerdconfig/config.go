// Package containerdconfig writes the config.toml of the project's private
// containerd daemons: the e2e suite's, the benchmark's, and the one
// hack/containerd.sh starts (through hack/containerd-config). Each daemon
// keeps its root, state and sockets in a folder of its own and runs
// without the plugins that would reach shared host paths.
package containerdconfig

import (
	"fmt"
	"slices"
	"strings"
)

// CRIPlugins are CRI's plugins: the 1.x name and the 2.x split.
var CRIPlugins = []string{
	"io.containerd.grpc.v1.cri",
	"io.containerd.cri.v1.images",
	"io.containerd.cri.v1.runtime",
	"io.containerd.podsandbox.controller.v1.podsandbox",
}

// OffHostPlugins are disabled in every private daemon: NRI, whose socket
// is global, tracing, and snapshotters that need kernel features or
// devices a sandbox lacks. A version ignores the names it does not know.
var OffHostPlugins = []string{
	"io.containerd.nri.v1.nri",
	"io.containerd.internal.v1.tracing",
	"io.containerd.tracing.processor.v1.otlp",
	"io.containerd.snapshotter.v1.btrfs",
	"io.containerd.snapshotter.v1.zfs",
	"io.containerd.snapshotter.v1.aufs",
	"io.containerd.snapshotter.v1.devmapper",
	"io.containerd.snapshotter.v1.blockfile",
	"io.containerd.snapshotter.v1.erofs",
	"io.containerd.differ.v1.erofs",
}

// Daemon is where one private daemon keeps its files.
type Daemon struct {
	Root, State string
	// Address is the gRPC socket; the ttrpc one is Address + ".ttrpc".
	Address string
	// Opt is the opt plugin's folder; "" disables the plugin, which
	// would otherwise install into /opt/containerd on the host.
	Opt string
	// LogLevel is containerd's log level; "" leaves its default (info).
	LogLevel string
}

// Header is a config's body up to its plugin sections, after the version
// line: the folders, the sockets, the plugins disabled, the log level.
func Header(d Daemon, disabled []string) string {
	if d.Opt == "" {
		disabled = append(slices.Clone(disabled), "io.containerd.internal.v1.opt")
	}
	quoted := make([]string, len(disabled))
	for i, p := range disabled {
		quoted[i] = fmt.Sprintf("%q", p)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `root = %q
state = %q
disabled_plugins = [%s]

[grpc]
  address = %q

[ttrpc]
  address = %q
`, d.Root, d.State, strings.Join(quoted, ", "), d.Address, d.Address+".ttrpc")
	if d.LogLevel != "" {
		fmt.Fprintf(&b, "\n[debug]\n  level = %q\n", d.LogLevel)
	}
	if d.Opt != "" {
		fmt.Fprintf(&b, "\n[plugins.\"io.containerd.internal.v1.opt\"]\n  path = %q\n", d.Opt)
	}
	return b.String()
}

// unpackPlatforms: 2.x's transfer service (ctr images import and pull)
// unpacks only the platforms listed, by default the host's alone, which
// makes importing a wasi/wasm image fail with "no unpack platforms
// defined". Listing one replaces the default, so the host comes first.
// The differ is named because the walking differ declares only linux
// platforms. 1.6 has no transfer service and ignores the section.
const unpackPlatforms = `
[[plugins."io.containerd.transfer.v1.local".unpack_config]]
  platform = "linux"
  snapshotter = "overlayfs"
  differ = "walking"
[[plugins."io.containerd.transfer.v1.local".unpack_config]]
  platform = "wasi/wasm"
  snapshotter = "overlayfs"
  differ = "walking"
`

// Plain is the config of a daemon without CRI that unpacks linux and
// wasi/wasm images, in version 2: the one format that 1.6 reads and 2.x
// migrates on load.
func Plain(d Daemon) string {
	return "version = 2\n" + Header(d, slices.Concat(CRIPlugins, OffHostPlugins)) + unpackPlatforms
}
