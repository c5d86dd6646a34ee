package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The layer and config media types of the wasm-layer shape
// (hack/wasm-image/artifact.go).
const (
	layerComponent   = "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm"
	layerWasmToOCI   = "application/vnd.wasm.content.layer.v1+wasm"
	layerWasm        = "application/wasm"
	configCNCF       = "application/vnd.wasm.config.v0+json"
	configWasmToOCI  = "application/vnd.wasm.config.v1+json"
	helloGreeting    = "Hello from WebAssembly!"
	mismatchedLayers = "mismatched image rootfs and manifest layers"
)

// imageShapes are the two shapes the shim runs, the wasm-layer one with
// each layer media type in use.
var imageShapes = []struct {
	name      string
	args      []string
	wasmLayer bool
}{
	{"plain", []string{"-shape", "plain"}, false},
	{"component-layer", []string{"-shape", "wasm", "-layer-type", layerComponent}, true},
	{"wasm-to-oci-layer", []string{"-shape", "wasm", "-layer-type", layerWasmToOCI}, true},
	{"application-wasm", []string{"-shape", "wasm", "-layer-type", layerWasm}, true},
}

func example(name string) string { return filepath.Join(suite.repo, "bin", "examples", name) }

// skipOldCtr skips t when ctr is 1.x and refused a wasm-layer image for
// the reason it always does: its client unpacks every layer of an image
// and requires a diff_id for each, wasm layers included (2.x skips the
// layers that are not tars). The daemon itself runs such images: the Go
// client subtests show it.
func skipOldCtr(t *testing.T, wasmLayer bool, out string) {
	t.Helper()
	if wasmLayer && strings.HasPrefix(suite.daemon.Version, "1.") && strings.Contains(out, mismatchedLayers) {
		t.Skipf("ctr %s cannot unpack a wasm-layer image (%q); the Go client runs it on this daemon", suite.daemon.Version, mismatchedLayers)
	}
}

// ctrPull pulls ref from a private registry with ctr; false when ctr 1.x
// refused a wasm-layer image (t is then skipped).
func ctrPull(t *testing.T, ref string, wasmLayer bool) {
	t.Helper()
	out, errOut, exit := runCtr(t, "images", "pull", "--plain-http", "--platform", wasmPlatform, ref)
	if exit != 0 {
		skipOldCtr(t, wasmLayer, out+errOut)
		t.Fatalf("ctr images pull %s: exit %d: %s", ref, exit, errOut)
	}
}

// ctrRunImage runs ref with ctr run --rm; args replace the image's.
func ctrRunImage(t *testing.T, ref string, args ...string) (string, string, int) {
	t.Helper()
	a := append([]string{"run", "--rm"}, runFlags()...)
	a = append(a, ref, containerID(t))
	return runCtr(t, append(a, args...)...)
}

// checkHello checks hello's output for the given arguments.
func checkHello(t *testing.T, exit int, out, errOut, args string) {
	t.Helper()
	if exit != 0 {
		t.Fatalf("exit %d: %s", exit, errOut)
	}
	for _, want := range []string{helloGreeting, strings.TrimSpace("args: " + args)} {
		if !hasLine(out, want) {
			t.Errorf("stdout lacks the line %q:\n%s", want, out)
		}
	}
}

// TestImageRegistry: each shape is built, pushed to a registry on
// 127.0.0.1, pulled into the run's containerd (which has never seen it)
// and run, with the image's entrypoint and with args of the run's own,
// by ctr and by the Go client.
func TestImageRegistry(t *testing.T) {
	needDaemon(t)
	reg := startRegistry(t)
	for _, shape := range imageShapes {
		t.Run(shape.name, func(t *testing.T) {
			ref := reg.ref("wasm/hello-" + shape.name + ":v1")
			wasmImage(t, append(shape.args, "-push", "-ref", ref, example("hello.wasm"))...)
			t.Run("ctr", func(t *testing.T) {
				ctrPull(t, ref, shape.wasmLayer)
				out, errOut, exit := ctrRunImage(t, ref)
				checkHello(t, exit, out, errOut, "")
				out, errOut, exit = ctrRunImage(t, ref, helloModule, "a", "b")
				checkHello(t, exit, out, errOut, "a b")
			})
			t.Run("client", func(t *testing.T) {
				c, ctx := newClient(t)
				goPull(t, c, ctx, ref)
				r := runImageGo(t, c, ctx, ref, containerID(t), []oci.SpecOpts{oci.WithProcessArgs(helloModule, "x")})
				checkHello(t, int(r.exit), r.stdout, r.stderr, "x")
			})
		})
	}
}

// TestImageImport: the OCI layout tar of each shape imports with ctr
// images import and runs.
func TestImageImport(t *testing.T) {
	d := needDaemon(t)
	dir := t.TempDir()
	for _, shape := range imageShapes {
		t.Run(shape.name, func(t *testing.T) {
			ref := "localhost/wasm/e2e-import-" + shape.name + "-" + d.token + ":v1"
			tar := filepath.Join(dir, shape.name+".tar")
			wasmImage(t, append(shape.args, "-o", tar, "-ref", ref, example("hello.wasm"))...)
			out, errOut, exit := runCtr(t, "images", "import", "--platform", wasmPlatform, tar)
			if exit != 0 {
				skipOldCtr(t, shape.wasmLayer, out+errOut)
				t.Fatalf("ctr images import: exit %d: %s", exit, errOut)
			}
			out, errOut, exit = ctrRunImage(t, ref, helloModule, "a", "b")
			checkHello(t, exit, out, errOut, "a b")
		})
	}
}

// TestImageMultiLayer: a wasm-layer image of a module and a data file
// runs, the module reads the file at its title, and deleting the task
// takes both out of the container's snapshot again.
func TestImageMultiLayer(t *testing.T) {
	needDaemon(t)
	reg := startRegistry(t)
	data := filepath.Join(t.TempDir(), "hello.txt")
	if err := os.WriteFile(data, []byte("hello from a layer\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ref := reg.ref("wasm/demo-layers:v1")
	wasmImage(t, "-shape", "wasm", "-push", "-ref", ref, "-entrypoint", demoModule, "-cmd", "ls", "-cmd", "/",
		example("wasi-demo.wasm"), data+":/data/hello.txt")
	t.Run("ctr", func(t *testing.T) {
		ctrPull(t, ref, true)
		out, errOut, exit := ctrRunImage(t, ref)
		if exit != 0 || !hasLine(out, "data") || !hasLine(out, "wasi-demo.wasm") {
			t.Errorf("ls / of the image's own command: exit %d, stdout %q, stderr %q", exit, out, errOut)
		}
		out, errOut, exit = ctrRunImage(t, ref, demoModule, "read", "/data/hello.txt")
		if exit != 0 || out != "hello from a layer\n" {
			t.Errorf("read /data/hello.txt: exit %d, stdout %q, stderr %q", exit, out, errOut)
		}
	})
	t.Run("client", func(t *testing.T) {
		c, ctx := newClient(t)
		goPull(t, c, ctx, ref)
		id := containerID(t)
		ctr := newImageContainer(t, c, ctx, ref, id, oci.WithProcessArgs(demoModule, "read", "/data/hello.txt"))
		for i := range 2 {
			// A second task of the same container finds the layers gone
			// from the snapshot and places them again.
			r := runTask(t, ctx, ctr)
			if r.exit != 0 || r.stdout != "hello from a layer\n" {
				t.Errorf("task %d: exit %d, stdout %q, stderr %q", i+1, r.exit, r.stdout, r.stderr)
			}
			if files := snapshotFiles(t, c, ctx, id); len(files) != 0 {
				t.Errorf("after task %d was deleted, the snapshot still holds %q", i+1, files)
			}
		}
	})
}

// TestImageBadLayers: a wasm-layer image whose module layer is not wasm,
// whose layer was corrupted in containerd's content store, or whose
// entrypoint names no layer fails at create with an error naming the
// problem, and leaves nothing behind (nor anything in the snapshot).
func TestImageBadLayers(t *testing.T) {
	d := needDaemon(t)
	reg := startRegistry(t)
	dir := t.TempDir()
	// A module that no other image shares, so that corrupting its blob in
	// the store harms no other test: exit3 with a custom section naming
	// this run.
	fixture, err := os.ReadFile(example("exit3.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	name := "e2e-" + d.token
	unique := append(fixture, section(0, append(append(uleb(uint64(len(name))), name...), "corrupt me"...))...)
	uniquePath := filepath.Join(dir, "unique.wasm")
	if err := os.WriteFile(uniquePath, unique, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		args    []string
		corrupt bool // flip a byte of the module's blob after the pull
		want    []string
	}{
		{"not-wasm", []string{example("notwasm.txt") + ":/bad.wasm"}, false, []string{"/bad.wasm", "not a WebAssembly module"}},
		{"corrupt-blob", []string{uniquePath + ":/app.wasm"}, true, []string{"/app.wasm", "corrupt"}},
		{"entrypoint-names-no-layer", []string{"-entrypoint", "/nope.wasm", example("hello.wasm")}, false, []string{"/nope.wasm", "names no layer"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ref := reg.ref("wasm/bad-" + tc.name + ":v1")
			wasmImage(t, append([]string{"-shape", "wasm", "-push", "-ref", ref}, tc.args...)...)
			c, ctx := newClient(t)
			goPull(t, c, ctx, ref)
			if tc.corrupt {
				corruptBlob(t, d, unique)
			}
			t.Run("ctr", func(t *testing.T) {
				if strings.HasPrefix(d.Version, "1.") {
					t.Skipf("ctr %s cannot unpack a wasm-layer image (%q)", d.Version, mismatchedLayers)
				}
				id := containerID(t)
				before := snapshotLeftovers(id)
				a := append([]string{"run", "--rm"}, runFlags()...)
				out, errOut, exit := runCtr(t, append(a, ref, id)...)
				if exit == 0 || !namesProblem(out+errOut, tc.want, nil) {
					t.Errorf("want a failure naming all of %q, got exit %d:\n%s%s", tc.want, exit, out, errOut)
				}
				if ls, _, _ := runCtr(t, "containers", "ls", "-q"); hasLine(ls, id) {
					t.Errorf("container %s still listed after ctr run --rm failed", id)
					removeContainer(t, id)
				}
				expectNoLeftovers(t, before, id)
			})
			t.Run("client", func(t *testing.T) {
				id := containerID(t)
				before := snapshotLeftovers(id)
				ctr := newImageContainer(t, c, ctx, ref, id)
				_, err := ctr.NewTask(ctx, goIO(nil, nil, nil))
				if err == nil {
					t.Fatal("NewTask succeeded")
				}
				t.Logf("refused at create: %v", err)
				if !namesProblem(err.Error(), tc.want, nil) {
					t.Errorf("the error does not name all of %q: %v", tc.want, err)
				}
				if files := snapshotFiles(t, c, ctx, id); len(files) != 0 {
					t.Errorf("the failed create left %q in the snapshot", files)
				}
				expectNoLeftovers(t, before, id)
			})
		})
	}
}

// TestImageConfigMediaTypes: wasm-layer images whose config has the CNCF
// or wasm-to-oci media type. containerd stores and the shim would run
// them, but containerd's client refuses to read such a config: ctr run
// (2.x) and oci.WithImageConfig fail with "unknown image config media
// type"; ctr 1.6 fails earlier, at unpack. A Go client that builds the
// spec without the image config runs them.
func TestImageConfigMediaTypes(t *testing.T) {
	d := needDaemon(t)
	reg := startRegistry(t)
	for _, cfg := range []string{configCNCF, configWasmToOCI} {
		t.Run(strings.Trim(idUnsafe.ReplaceAllString(cfg, "-"), "-"), func(t *testing.T) {
			ref := reg.ref("wasm/config-" + strings.Trim(idUnsafe.ReplaceAllString(cfg, "-"), "-") + ":v1")
			wasmImage(t, "-shape", "wasm", "-config-type", cfg, "-push", "-ref", ref, example("hello.wasm"))
			t.Run("ctr", func(t *testing.T) {
				want := "unknown image config media type " + cfg
				out, errOut, exit := runCtr(t, "images", "pull", "--plain-http", "--platform", wasmPlatform, ref)
				if exit == 0 {
					out, errOut, exit = ctrRunImage(t, ref)
				} else if strings.HasPrefix(d.Version, "1.") {
					want = mismatchedLayers
				}
				if exit == 0 || !strings.Contains(out+errOut, want) {
					t.Errorf("want a failure with %q, got exit %d:\n%s%s", want, exit, out, errOut)
				}
			})
			t.Run("client-image-config", func(t *testing.T) {
				c, ctx := newClient(t)
				img := goPull(t, c, ctx, ref)
				_, err := c.NewContainer(ctx, containerID(t), client.WithImage(img),
					client.WithRuntime(runtimeName, nil), client.WithNewSpec(oci.WithImageConfig(img)))
				if err == nil || !strings.Contains(err.Error(), "unknown image config media type") {
					t.Errorf("NewContainer with the image config: %v, want unknown image config media type", err)
				}
			})
			t.Run("client-own-spec", func(t *testing.T) {
				c, ctx := newClient(t)
				goPull(t, c, ctx, ref)
				r := runImageGo(t, c, ctx, ref, containerID(t), []oci.SpecOpts{oci.WithProcessArgs(helloModule, "y")}, true)
				checkHello(t, int(r.exit), r.stdout, r.stderr, "y")
			})
		})
	}
}

// goPull pulls ref over plain HTTP with the Go client, without unpacking:
// the container's snapshot is prepared from the image's diff_ids.
func goPull(t *testing.T, c *client.Client, ctx context.Context, ref string) client.Image {
	t.Helper()
	resolver := docker.NewResolver(docker.ResolverOptions{
		Hosts: docker.ConfigureDefaultRegistries(docker.WithPlainHTTP(docker.MatchAllHosts)),
	})
	img, err := c.Pull(ctx, ref, client.WithResolver(resolver), client.WithPlatform(wasmPlatform))
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	return img
}

// newImageContainer creates a wasm container of ref with its own
// snapshot; its spec comes from the image's config unless ownSpec, and
// then opts. It is deleted with its snapshot when t ends.
func newImageContainer(t *testing.T, c *client.Client, ctx context.Context, ref, id string, opts ...oci.SpecOpts) client.Container {
	t.Helper()
	return newImageContainerSpec(t, c, ctx, ref, id, false, opts...)
}

func newImageContainerSpec(t *testing.T, c *client.Client, ctx context.Context, ref, id string, ownSpec bool, opts ...oci.SpecOpts) client.Container {
	t.Helper()
	img, err := c.GetImage(ctx, ref)
	if err != nil {
		t.Fatalf("get image %s: %v", ref, err)
	}
	if !ownSpec {
		opts = append([]oci.SpecOpts{oci.WithImageConfig(img)}, opts...)
	}
	return containerOf(t, c, ctx, img, id, opts)
}

// runImageGo creates a container of ref and runs one task of it.
func runImageGo(t *testing.T, c *client.Client, ctx context.Context, ref, id string, opts []oci.SpecOpts, ownSpec ...bool) goResult {
	t.Helper()
	ctr := newImageContainerSpec(t, c, ctx, ref, id, len(ownSpec) > 0 && ownSpec[0], opts...)
	return runTask(t, ctx, ctr)
}

// runTask runs a task of ctr to its end and deletes it.
func runTask(t *testing.T, ctx context.Context, ctr client.Container) goResult {
	t.Helper()
	var stdout, stderr bytes.Buffer
	st := runToExit(t, ctx, ctr, goIO(nil, &stdout, &stderr), nil)
	r := goResult{exit: st.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
	t.Logf("task %s -> exit %d\nstdout: %s\nstderr: %s", ctr.ID(), r.exit, clip(r.stdout), clip(r.stderr))
	return r
}

// snapshotFiles lists what the container's snapshot holds, by mounting it
// read-only on a temporary directory.
func snapshotFiles(t *testing.T, c *client.Client, ctx context.Context, id string) []string {
	t.Helper()
	info, err := c.ContainerService().Get(ctx, id)
	if err != nil {
		t.Fatalf("container %s: %v", id, err)
	}
	mounts, err := c.SnapshotService(info.Snapshotter).Mounts(ctx, info.SnapshotKey)
	if err != nil {
		t.Fatalf("mounts of snapshot %s: %v", info.SnapshotKey, err)
	}
	var files []string
	err = mount.WithReadonlyTempMount(ctx, mounts, func(root string) error {
		return filepath.WalkDir(root, func(p string, _ os.DirEntry, err error) error {
			if err == nil && p != root {
				files = append(files, strings.TrimPrefix(p, root))
			}
			return err
		})
	})
	if err != nil {
		t.Fatalf("read snapshot %s: %v", info.SnapshotKey, err)
	}
	slices.Sort(files)
	return files
}

// corruptBlob flips the last byte of the blob holding data in the
// daemon's content store, as a failing disk would.
func corruptBlob(t *testing.T, d *daemon, data []byte) {
	t.Helper()
	blobs, _ := filepath.Glob(filepath.Join(d.Root, "io.containerd.content.v1.content", "blobs", "sha256", "*"))
	for _, b := range blobs {
		got, err := os.ReadFile(b)
		if err != nil || !bytes.Equal(got, data) {
			continue
		}
		got[len(got)-1] ^= 0xff
		if err := os.WriteFile(b, got, 0o444); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatal("the module's blob is not in the content store")
}

// TestImageRemoved: a container whose image was removed after it was
// made still runs a module from a bind mount: the shim, finding args[0]
// outside the rootfs, asks containerd for the image's wasm layers, and an
// image that is gone has none.
func TestImageRemoved(t *testing.T) {
	d := needDaemon(t)
	ref := "localhost/wasm/e2e-removed-" + d.token + ":v1"
	tar := filepath.Join(t.TempDir(), "removed.tar")
	importWasmImage(t, tar, ref, example("notwasm.txt"))
	c, ctx := newClient(t)
	ctr := newImageContainerSpec(t, c, ctx, ref, containerID(t), true,
		oci.WithProcessArgs("/mnt/hello.wasm", "z"),
		oci.WithMounts([]specs.Mount{{Type: "bind", Source: filepath.Join(suite.repo, "bin", "examples"), Destination: "/mnt", Options: []string{"rbind", "ro"}}}))
	if err := c.ImageService().Delete(ctx, ref); err != nil {
		t.Fatalf("delete image %s: %v", ref, err)
	}
	r := runTask(t, ctx, ctr)
	checkHello(t, int(r.exit), r.stdout, r.stderr, "z")
}
