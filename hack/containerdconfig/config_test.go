package containerdconfig

import (
	"maps"
	"slices"
	"testing"

	"github.com/pelletier/go-toml/v2"
)

// parsed is the part of a config these tests read back.
type parsed struct {
	Version  int      `toml:"version"`
	Root     string   `toml:"root"`
	State    string   `toml:"state"`
	Disabled []string `toml:"disabled_plugins"`
	GRPC     struct {
		Address string `toml:"address"`
	} `toml:"grpc"`
	TTRPC struct {
		Address string `toml:"address"`
	} `toml:"ttrpc"`
	Debug struct {
		Level string `toml:"level"`
	} `toml:"debug"`
	Plugins map[string]any `toml:"plugins"`
}

func parse(t *testing.T, cfg string) parsed {
	t.Helper()
	var p parsed
	if err := toml.Unmarshal([]byte(cfg), &p); err != nil {
		t.Fatalf("the config is not TOML: %v\n%s", err, cfg)
	}
	return p
}

func TestPlain(t *testing.T) {
	d := Daemon{Root: "/d/root", State: "/d/state", Address: `/d/a "quoted" sock`, LogLevel: "debug"}
	p := parse(t, Plain(d))
	if p.Version != 2 || p.Root != d.Root || p.State != d.State {
		t.Errorf("version %d root %q state %q", p.Version, p.Root, p.State)
	}
	if p.GRPC.Address != d.Address || p.TTRPC.Address != d.Address+".ttrpc" || p.Debug.Level != "debug" {
		t.Errorf("grpc %q ttrpc %q debug %q", p.GRPC.Address, p.TTRPC.Address, p.Debug.Level)
	}
	for _, name := range append(slices.Concat(CRIPlugins, OffHostPlugins), "io.containerd.internal.v1.opt") {
		if !slices.Contains(p.Disabled, name) {
			t.Errorf("%s is not disabled", name)
		}
	}
	transfer, _ := p.Plugins["io.containerd.transfer.v1.local"].(map[string]any)
	unpack, _ := transfer["unpack_config"].([]any)
	var platforms []string
	for _, u := range unpack {
		platforms = append(platforms, u.(map[string]any)["platform"].(string))
	}
	if !slices.Equal(platforms, []string{"linux", "wasi/wasm"}) {
		t.Errorf("unpack platforms %v, want linux and wasi/wasm", platforms)
	}
}

// TestHeaderOpt: with a folder for the opt plugin it runs there; CRI's
// plugins stay on when the caller does not disable them.
func TestHeaderOpt(t *testing.T) {
	p := parse(t, Header(Daemon{Root: "/r", State: "/s", Address: "/a", Opt: "/d/opt"}, OffHostPlugins))
	if slices.Contains(p.Disabled, "io.containerd.internal.v1.opt") || slices.Contains(p.Disabled, CRIPlugins[0]) {
		t.Errorf("disabled %v: opt and CRI should run", p.Disabled)
	}
	opt, _ := p.Plugins["io.containerd.internal.v1.opt"].(map[string]any)
	if opt["path"] != "/d/opt" {
		t.Errorf("opt plugin %v, want path /d/opt", opt)
	}
	if p.Debug.Level != "" {
		t.Errorf("debug level %q, want containerd's default", p.Debug.Level)
	}
}

// TestWithCRI: 1.x gets a version 2 config with the grpc.v1.cri plugin
// and runc named again, 2.x a version 3 one with the split plugin; both
// keep the paths, the handlers and their options, and leave CRI on.
func TestWithCRI(t *testing.T) {
	d := Daemon{Root: "/d/root", State: "/d/state", Address: "/d/c.sock"}
	c := CRI{
		SandboxImage: "localhost/pause:1",
		CNIBinDir:    "/usr/lib/cni",
		CNIConfDir:   "/d/cni",
		Runtimes: []Runtime{
			{Handler: "wasm", Type: "io.containerd.wasm.v1", Platform: "wasi/wasm"},
			{Handler: "wasm-opt", Type: "io.containerd.wasm.v1", Options: map[string]string{"BinaryName": "/d/runc", "A": "b"}},
		},
	}
	type runtimes map[string]struct {
		Type    string            `toml:"runtime_type"`
		Options map[string]string `toml:"options"`
	}
	want := runtimes{
		"wasm":     {Type: "io.containerd.wasm.v1"},
		"wasm-opt": {Type: "io.containerd.wasm.v1", Options: c.Runtimes[1].Options},
	}
	checkRuntimes := func(t *testing.T, got runtimes) {
		t.Helper()
		for name, w := range want {
			g, ok := got[name]
			if !ok || g.Type != w.Type || !maps.Equal(g.Options, w.Options) {
				t.Errorf("runtime %s = %+v, want %+v", name, g, w)
			}
		}
	}
	t.Run("1.6", func(t *testing.T) {
		var p struct {
			parsed
			Plugins struct {
				CRI struct {
					Sandbox  string `toml:"sandbox_image"`
					Restrict bool   `toml:"restrict_oom_score_adj"`
					CNI      struct {
						BinDir  string `toml:"bin_dir"`
						ConfDir string `toml:"conf_dir"`
					} `toml:"cni"`
					Containerd struct {
						Runtimes runtimes `toml:"runtimes"`
					} `toml:"containerd"`
				} `toml:"io.containerd.grpc.v1.cri"`
			} `toml:"plugins"`
		}
		cfg := WithCRI(d, "1.6.20", c)
		if err := toml.Unmarshal([]byte(cfg), &p); err != nil {
			t.Fatalf("not TOML: %v\n%s", err, cfg)
		}
		cri := p.Plugins.CRI
		if p.Version != 2 || cri.Sandbox != c.SandboxImage || !cri.Restrict || cri.CNI.BinDir != c.CNIBinDir || cri.CNI.ConfDir != c.CNIConfDir {
			t.Errorf("version %d, cri %+v", p.Version, cri)
		}
		checkRuntimes(t, cri.Containerd.Runtimes)
		if cri.Containerd.Runtimes["runc"].Type != "io.containerd.runc.v2" {
			t.Errorf("runc runtime %+v", cri.Containerd.Runtimes["runc"])
		}
		if slices.Contains(p.Disabled, CRIPlugins[0]) {
			t.Errorf("CRI disabled: %v", p.Disabled)
		}
	})
	t.Run("2.x", func(t *testing.T) {
		var p struct {
			parsed
			Plugins struct {
				Images struct {
					LocalPull bool `toml:"use_local_image_pull"`
					Pinned    struct {
						Sandbox string `toml:"sandbox"`
					} `toml:"pinned_images"`
					Platforms map[string]struct {
						Platform    string `toml:"platform"`
						Snapshotter string `toml:"snapshotter"`
					} `toml:"runtime_platforms"`
				} `toml:"io.containerd.cri.v1.images"`
				Runtime struct {
					Restrict bool `toml:"restrict_oom_score_adj"`
					CNI      struct {
						BinDirs []string `toml:"bin_dirs"`
						ConfDir string   `toml:"conf_dir"`
					} `toml:"cni"`
					Containerd struct {
						Runtimes runtimes `toml:"runtimes"`
					} `toml:"containerd"`
				} `toml:"io.containerd.cri.v1.runtime"`
				GRPC struct {
					DisableTCP bool `toml:"disable_tcp_service"`
				} `toml:"io.containerd.grpc.v1.cri"`
			} `toml:"plugins"`
		}
		cfg := WithCRI(d, "2.4.2", c)
		if err := toml.Unmarshal([]byte(cfg), &p); err != nil {
			t.Fatalf("not TOML: %v\n%s", err, cfg)
		}
		rt := p.Plugins.Runtime
		if p.Version != 3 || p.Plugins.Images.Pinned.Sandbox != c.SandboxImage || !rt.Restrict || !slices.Equal(rt.CNI.BinDirs, []string{c.CNIBinDir}) || rt.CNI.ConfDir != c.CNIConfDir || !p.Plugins.GRPC.DisableTCP {
			t.Errorf("version %d, plugins %+v", p.Version, p.Plugins)
		}
		checkRuntimes(t, rt.Containerd.Runtimes)
		if rp := p.Plugins.Images.Platforms; len(rp) != 1 || rp["wasm"].Platform != "wasi/wasm" || rp["wasm"].Snapshotter != "overlayfs" {
			t.Errorf("runtime_platforms %+v, want wasm on wasi/wasm", rp)
		}
		if !p.Plugins.Images.LocalPull {
			t.Error("use_local_image_pull is off")
		}
		if p.Root != d.Root || p.GRPC.Address != d.Address {
			t.Errorf("root %q address %q", p.Root, p.GRPC.Address)
		}
	})
}
