package privatecontainerd_test

import (
	"fmt"
	"os"
	"os/exec"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/hack/privatecontainerd"
)

// A daemon without CRI, run from the repo's root after
// hack/install-containerd.sh 2.4.2: its log is printed only if something
// went wrong, and Stop leaves nothing behind.
func Example() {
	d, err := privatecontainerd.StartPlain(privatecontainerd.Options{Repo: ".", Version: "2.4.2", Prefix: "example"})
	if d != nil {
		defer d.Stop()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		if d != nil {
			fmt.Fprintln(os.Stderr, d.TailLog(30))
		}
		return
	}
	out, err := exec.Command(d.Ctr, "--address", d.Address, "namespaces", "ls").CombinedOutput()
	if err != nil {
		d.CopyLog(os.Stderr, 0)
	}
	fmt.Printf("%s", out)
}
