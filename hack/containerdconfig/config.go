// Package containerdconfig writes the config.toml of the project's private
// containerd daemons (hack/privatecontainerd starts them: the e2e suite's,
// the benchmark's, hack/containerd.sh's). Each daemon keeps its root, state
// and sockets in a folder of its own and runs without the plugins that
// would reach shared host paths. It builds on every platform.
package containerdconfig

import (
	"fmt"
	"maps"
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

// CRI is what the CRI plugin of a private daemon needs.
type CRI struct {
	// SandboxImage is the Pod sandbox image, imported beforehand.
	SandboxImage string
	// CNIBinDir holds the CNI plugins, CNIConfDir the daemon's networks.
	CNIBinDir, CNIConfDir string
	// Runtimes are the runtime handlers besides runc.
	Runtimes []Runtime
}

// Runtime is one CRI runtime handler, the name a RuntimeClass gives.
type Runtime struct {
	Handler string
	// Type is the containerd runtime, io.containerd.wasm.v1 say.
	Type string
	// Options is the runtime's options table, as strings; 1.6 passes
	// only ConfigPath (an options file) to the shim, 2.x the table.
	Options map[string]string
	// Platform is the handler's image platform (2.x's runtime_platforms,
	// e.g. wasi/wasm); "" lists none. 2.1 and 2.4 take only the
	// snapshotter from it for a PullImage that names the handler (the
	// kubelet's RuntimeClassInImageCriApi): they pull and unpack for the
	// node's platform whatever it says (README, Kubernetes). 1.6 has no
	// such table.
	Platform string
}

// WithCRI is the config of a daemon with the CRI plugin on, in the format
// of version: 2 for 1.x, 3 for 2.x, whose CRI plugin is split in two. The
// sandbox may lower no oom_score_adj (this rig lacks CAP_SYS_RESOURCE),
// network namespaces live under the state folder, and the streaming server
// listens on an ephemeral port of 127.0.0.1.
func WithCRI(d Daemon, version string, c CRI) string {
	common := Header(d, OffHostPlugins)
	if strings.HasPrefix(version, "1.") {
		return "version = 2\n" + common + fmt.Sprintf(`
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %q
    conf_dir = %q
  # 1.6 drops its default runtimes once one is listed: runc is named again.
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
`, c.SandboxImage, c.CNIBinDir, c.CNIConfDir) + runtimes(`plugins."io.containerd.grpc.v1.cri".containerd.runtimes`, c.Runtimes)
	}
	return "version = 3\n" + common + fmt.Sprintf(`
[plugins."io.containerd.cri.v1.images"]
  # The client's pull, not the transfer service's: it unpacks the manifest
  # it picked whatever platform its config says, so a bare wasi/wasm
  # manifest gets a rootfs; the transfer service unpacks only configs of
  # the node's platform (2.1 falls back to this pull on its defaults,
  # 2.4 does not).
  use_local_image_pull = true

[plugins."io.containerd.cri.v1.images".pinned_images]
  sandbox = %q
%s
[plugins."io.containerd.cri.v1.runtime"]
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = [%q]
    conf_dir = %q
`, c.SandboxImage, runtimePlatforms(c.Runtimes), c.CNIBinDir, c.CNIConfDir) + runtimes(`plugins."io.containerd.cri.v1.runtime".containerd.runtimes`, c.Runtimes) + `
[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
`
}

// runtimes are the tables of rs under the section prefix.
func runtimes(prefix string, rs []Runtime) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "  [%s.%s]\n    runtime_type = %q\n", prefix, r.Handler, r.Type)
		if len(r.Options) == 0 {
			continue
		}
		fmt.Fprintf(&b, "    [%s.%s.options]\n", prefix, r.Handler)
		for _, k := range slices.Sorted(maps.Keys(r.Options)) {
			fmt.Fprintf(&b, "      %s = %q\n", k, r.Options[k])
		}
	}
	return b.String()
}

// runtimePlatforms are 2.x's runtime_platforms tables of the runtimes that
// name a platform, on the default snapshotter.
func runtimePlatforms(rs []Runtime) string {
	var b strings.Builder
	for _, r := range rs {
		if r.Platform == "" {
			continue
		}
		fmt.Fprintf(&b, "\n[plugins.\"io.containerd.cri.v1.images\".runtime_platforms.%s]\n  platform = %q\n  snapshotter = \"overlayfs\"\n", r.Handler, r.Platform)
	}
	return b.String()
}
