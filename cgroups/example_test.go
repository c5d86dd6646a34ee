package cgroups_test

import (
	"fmt"
	"log"
	"os"
	"os/exec"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/cgroups"
)

// Path reads a spec's linux.cgroupsPath as runc does; an empty one gets
// the shim's own default under the namespace and container id.
func ExamplePath() {
	for _, cgroupsPath := range []string{"", "/pods/web", "kubepods-besteffort.slice:cri-containerd:abc"} {
		path, err := cgroups.Path(cgroupsPath, "default", "web")
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(path)
	}
	// Output:
	// /containerd-shim-wasm/default/web
	// /pods/web
	// /kubepods.slice/kubepods-besteffort.slice/cri-containerd-abc.scope
}

// The life of a container's cgroup: create it with the spec's resources,
// move the task in, freeze and thaw it, and delete it once the task is
// gone. This creates a real cgroup, so it needs root, like the package's
// other tests.
func ExampleNew() {
	limit := int64(64 << 20)
	path := fmt.Sprintf("/containerd-shim-wasm-example-%d", os.Getpid())
	cg, err := cgroups.New(path, &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit}})
	if err != nil {
		log.Fatal(err)
	}
	task := exec.Command("sleep", "60")
	if err := task.Start(); err != nil {
		log.Fatal(err)
	}
	if err := cg.Add(task.Process.Pid); err != nil {
		log.Fatal(err)
	}
	pids, err := cg.Pids()
	fmt.Println("processes in the cgroup:", len(pids), err)
	fmt.Println("freeze:", cg.Freeze())
	fmt.Println("thaw:", cg.Thaw())

	_ = task.Process.Kill()
	_ = task.Wait()
	fmt.Println("delete:", cg.Delete())
	// Output:
	// processes in the cgroup: 1 <nil>
	// freeze: <nil>
	// thaw: <nil>
	// delete: <nil>
}
