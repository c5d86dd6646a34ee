package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// criPullCase is an image as a kubelet meets it in a registry.
type criPullCase struct {
	name string
	args []string
	// pullFails is the error PullImage gives on version, "" when it
	// pulls an image that runs.
	pullFails func(version string) string
}

// CRI's pull on 1.6 unpacks every layer and wants a diff_id for each: the
// wasm-layer shape has none, its layers are no tars.
func layersOn16(version string) string {
	if strings.HasPrefix(version, "1.") {
		return "mismatched image rootfs and manifest layers"
	}
	return ""
}

// Every version pulls an index for the node's platform alone, the kubelet's
// runtime handler or runtime_platforms notwithstanding.
func wasiIndex(string) string { return "no match for platform in manifest" }

func runs(string) string { return "" }

// criPullCases: wasi/wasm-only images, bare manifests (runwasi's
// oci-tar-builder, `wkg oci push`) of both shapes and an index of
// wasi/wasm alone (`docker buildx`), and the builder's default, an index
// with the node platforms too, of both shapes.
var criPullCases = []criPullCase{
	{"plain-wasi-only", []string{"-shape", "plain", "-single-platform"}, runs},
	{"layers-wasi-only", []string{"-shape", "wasm", "-layer-type", layerComponent, "-single-platform"}, layersOn16},
	{"plain-wasi-index", []string{"-shape", "plain", "-node-platforms", ""}, wasiIndex},
	{"plain-index", []string{"-shape", "plain"}, runs},
	{"layers-index", []string{"-shape", "wasm", "-layer-type", layerComponent}, layersOn16},
}

// TestCRIPullPlatforms: the images of criPullCases, pushed to the suite's
// registry, pulled through CRI as a kubelet with RuntimeClassInImageCriApi
// pulls (the runtime handler in the ImageSpec, the Pod's sandbox config),
// then run in a Pod of the wasm handler; the images that a daemon refuses
// must fail as README says.
func TestCRIPullPlatforms(t *testing.T) {
	cd := startCRIDaemon(t)
	reg := startRegistry(t)
	data := filepath.Join(t.TempDir(), "hello.txt")
	if err := os.WriteFile(data, []byte("hello from the registry\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range criPullCases {
		t.Run(tc.name, func(t *testing.T) {
			ref := reg.ref("wasm/cri-pull-" + tc.name + "-" + cd.token + ":v1")
			wasmImage(t, append(tc.args, "-push", "-ref", ref, "-entrypoint", demoModule,
				example("wasi-demo.wasm")+":"+demoModule, data+":/data/hello.txt")...)

			p := cd.runPod(t, "pull-"+tc.name, true)
			image := &runtimeapi.ImageSpec{Image: ref, RuntimeHandler: criHandler}
			pulled, err := cd.images.PullImage(criCtx(t), &runtimeapi.PullImageRequest{Image: image, SandboxConfig: p.config})
			want := tc.pullFails(cd.Version)
			switch {
			case want == "" && err != nil:
				t.Fatalf("PullImage %s: %v", ref, err)
			case want != "" && err == nil:
				t.Fatalf("PullImage %s succeeded on %s, want %q (README: update the table)", ref, cd.Version, want)
			case want != "" && !strings.Contains(err.Error(), want):
				t.Fatalf("PullImage %s: %v, want %q", ref, err, want)
			case want != "":
				// No route but another image: CRI's image store keeps
				// only images it resolves for the node's platform, so
				// even a `ctr images pull --platform wasi/wasm` of the
				// index leaves CreateContainer with "failed to resolve
				// image"; and 1.6 unpacks every layer as a tar.
				t.Logf("PullImage %s fails as documented: %v", ref, err)
				return
			default:
				t.Logf("PullImage %s: %s", ref, pulled.ImageRef)
			}
			config := p.containerConfig(ref, tc.name, 0, nil, []string{"read", "/data/hello.txt"}, nil)
			config.Image = image
			resp, err := cd.runtime.CreateContainer(criCtx(t), &runtimeapi.CreateContainerRequest{PodSandboxId: p.id, Config: config, SandboxConfig: p.config})
			if err != nil {
				t.Fatalf("CreateContainer of %s: %v", ref, err)
			}
			p.start(t, resp.ContainerId)
			expectLogLine(t, readLog(t, cd.expectExit(t, resp.ContainerId, 0, "Completed")), "stdout: hello from the registry")
		})
	}
}
