package e2e

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The toolchain demos (examples/README.md) come from
// hack/build-toolchain-examples.sh as one image; the suite imports it with
// every other archive of the images folder.
const (
	toolchainsImage   = "localhost/wasm/toolchains:latest"
	toolchainsArchive = "toolchains.tar"
	// requireToolchainsVar turns a missing toolchain demo from a skip into
	// a failure; CI sets it.
	requireToolchainsVar = "E2E_REQUIRE_TOOLCHAINS"
	// ctrDefaultPath is the environment that ctr gives a container whose
	// image config has none (containerd's default Unix spec).
	ctrDefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	toolchainUsage = "usage: wasi-demo args|env|random N|clock|rw PATH|echo|exit N\n"
)

var toolchains = []string{"rust", "c", "cpp", "go", "wat"}

// toolchainCase is one run of a demo and the transcript that every
// toolchain's build must produce. In stdout, MODULE stands for the module
// path (argv[0]).
type toolchainCase struct {
	name   string
	flags  []string // ctr run flags before the image
	args   []string // after the module path
	stdin  string
	stdout string
	// stdoutMatch, when set, replaces the exact stdout comparison.
	stdoutMatch *regexp.Regexp
	// stderrPrefix, when set, must start stderr; otherwise stderr is not checked.
	stderrPrefix string
	exit         int
}

// toolchainEcho ends without a newline and is larger than the stdin fifo
// and pipe buffers together, so ctr is still writing when the task starts.
var toolchainEcho = strings.Repeat("the quick brown fox jumps over the lazy dog\n", 7000) + "no newline at the end"

var toolchainCases = []toolchainCase{
	{
		name: "args",
		args: []string{"args", "two words", "", "ünïcødé"},
		stdout: "argc=5\nargv[0]=MODULE\nargv[1]=args\nargv[2]=two words\nargv[3]=\n" +
			"argv[4]=ünïcødé\n",
	},
	{
		name:   "env",
		flags:  []string{"--env", "FOO=bar", "--env", "A_FIRST=1", "--env", "Z=last=with=equals"},
		args:   []string{"env"},
		stdout: "A_FIRST=1\nFOO=bar\n" + ctrDefaultPath + "\nZ=last=with=equals\n",
	},
	{
		name:        "random",
		args:        []string{"random", "16"},
		stdoutMatch: regexp.MustCompile(`^[0-9a-f]{32}\n$`),
	},
	{name: "random-none", args: []string{"random", "0"}, stdout: "\n"},
	{name: "clock", args: []string{"clock"}, stdout: "clock ok\n"},
	{
		name:   "rw",
		args:   []string{"rw", "/demo-rw.txt"},
		stdout: "created /demo-rw.txt\nread: hello from wasi-demo\ndeleted /demo-rw.txt\n",
	},
	{
		name:         "rw-missing-dir",
		args:         []string{"rw", "/no-such-dir/demo-rw.txt"},
		stderrPrefix: "wasi-demo: rw: create",
		exit:         1,
	},
	{name: "echo", args: []string{"echo"}, stdin: toolchainEcho, stdout: toolchainEcho},
	{name: "exit-0", args: []string{"exit", "0"}},
	{name: "exit-3", args: []string{"exit", "3"}, exit: 3},
	// wasmtime's own proc_exit refuses statuses from 126 up; the shim's
	// passes any status on, as a native exit(2) would.
	{name: "exit-125", args: []string{"exit", "125"}, exit: 125},
	{name: "exit-200", args: []string{"exit", "200"}, exit: 200},
	{name: "usage", stderrPrefix: toolchainUsage, exit: 2},
	{name: "usage-bad-number", args: []string{"exit", "3x"}, stderrPrefix: toolchainUsage, exit: 2},
}

// TestToolchains runs the demo built by each toolchain through ctr run and
// checks the same transcript for all of them.
func TestToolchains(t *testing.T) {
	needDaemon(t)
	archive := filepath.Join(imagesDir(suite.repo), toolchainsArchive)
	present, err := toolchainModules(archive)
	if err != nil {
		t.Fatalf("reading %s: %v", archive, err)
	}
	for _, tc := range toolchains {
		t.Run(tc, func(t *testing.T) {
			module := "/" + tc + "-demo.wasm"
			if !present[module] {
				why := fmt.Sprintf("%s is not in %s (hack/build-toolchain-examples.sh builds it)", module, archive)
				if os.Getenv(requireToolchainsVar) == "" {
					t.Skip(why)
				}
				t.Fatalf("%s, and %s is set", why, requireToolchainsVar)
			}
			for _, c := range toolchainCases {
				t.Run(c.name, func(t *testing.T) { runToolchainCase(t, module, c) })
			}
		})
	}
}

func runToolchainCase(t *testing.T, module string, c toolchainCase) {
	a := append([]string{"run", "--rm"}, runFlags()...)
	a = append(a, c.flags...)
	id := containerID(t)
	t.Cleanup(func() {
		if t.Failed() {
			removeContainer(t, id) // a timed-out ctr leaves its task behind
		}
	})
	a = append(a, toolchainsImage, id, module)
	a = append(a, c.args...)
	var stdin io.Reader
	if c.stdin != "" {
		stdin = strings.NewReader(c.stdin)
	}
	stdout, stderr, exit := runCtrIO(t, stdin, nil, a...)
	if exit != c.exit {
		t.Errorf("exit %d, want %d", exit, c.exit)
	}
	if c.stdoutMatch != nil {
		if !c.stdoutMatch.MatchString(stdout) {
			t.Errorf("stdout %q does not match %s", clip(stdout), c.stdoutMatch)
		}
	} else if want := strings.ReplaceAll(c.stdout, "MODULE", module); stdout != want {
		t.Errorf("stdout differs from the transcript at byte %d:\ngot:  %q\nwant: %q",
			firstDiff(stdout, want), clip(stdout), clip(want))
	}
	if c.stderrPrefix != "" && !strings.HasPrefix(stderr, c.stderrPrefix) {
		t.Errorf("stderr %q does not start with %q", clip(stderr), c.stderrPrefix)
	}
}

// toolchainModules lists the files of the image in an OCI layout archive
// (index, manifest, gzip'd tar layers) as absolute paths; a missing archive
// has none.
// imageManifest is what toolchainModules reads of a manifest or an index.
type imageManifest struct {
	Manifests []struct {
		Digest   string `json:"digest"`
		Platform struct {
			OS           string `json:"os"`
			Architecture string `json:"architecture"`
		} `json:"platform"`
	} `json:"manifests"`
	Layers []struct{ Digest string } `json:"layers"`
}

// wasiManifest reads the manifest at digest, or, when it is an index (the
// builder's default: wasi/wasm beside the node platforms, one set of
// layers), the wasi/wasm manifest it lists.
func wasiManifest(blobs map[string][]byte, digest string) (imageManifest, error) {
	var m imageManifest
	if err := json.Unmarshal(blobs[blobPath(digest)], &m); err != nil {
		return m, fmt.Errorf("manifest %s: %w", digest, err)
	}
	if len(m.Manifests) == 0 {
		return m, nil
	}
	for _, entry := range m.Manifests {
		if entry.Platform.OS == "wasi" && entry.Platform.Architecture == "wasm" {
			return wasiManifest(blobs, entry.Digest)
		}
	}
	return m, fmt.Errorf("index %s lists no wasi/wasm manifest", digest)
}

func toolchainModules(archive string) (map[string]bool, error) {
	files := map[string]bool{}
	blobs, err := ociBlobs(archive)
	if errors.Is(err, os.ErrNotExist) {
		return files, nil
	}
	if err != nil {
		return nil, err
	}
	var index struct {
		Manifests []struct{ Digest string } `json:"manifests"`
	}
	if err := json.Unmarshal(blobs["index.json"], &index); err != nil || len(index.Manifests) != 1 {
		return nil, fmt.Errorf("index.json: want one manifest (%v)", err)
	}
	manifest, err := wasiManifest(blobs, index.Manifests[0].Digest)
	if err != nil {
		return nil, err
	}
	for _, l := range manifest.Layers {
		if err := listLayer(blobs[blobPath(l.Digest)], files); err != nil {
			return nil, fmt.Errorf("layer %s: %w", l.Digest, err)
		}
	}
	return files, nil
}

func blobPath(digest string) string {
	return "blobs/" + strings.Replace(digest, ":", "/", 1)
}

// ociBlobs reads every file of an OCI layout tar into memory; the toolchain
// image is a few MB.
func ociBlobs(archive string) (map[string][]byte, error) {
	f, err := os.Open(archive)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	blobs := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return blobs, nil
		}
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		blobs[strings.TrimPrefix(h.Name, "./")] = b
	}
}

func listLayer(blob []byte, files map[string]bool) error {
	zr, err := gzip.NewReader(strings.NewReader(string(blob)))
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		files["/"+strings.TrimPrefix(strings.TrimPrefix(h.Name, "./"), "/")] = true
	}
}
