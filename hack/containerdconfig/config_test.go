package containerdconfig

import (
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
