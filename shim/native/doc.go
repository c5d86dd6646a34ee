// Package native runs an OCI bundle's processes as ordinary Linux
// containers through runc, inside the wasm shim: a Pod's sandbox (pause)
// container and native sidecars share the shim of the Pod's wasm
// containers.
//
// The shim creates, starts, signals and deletes the container with the runc
// binary (github.com/containerd/go-runc) and reaps the container's
// processes itself: it is their subreaper, so once runc has set a process
// up and exited, the process becomes the shim's child. Every wait is for
// one known pid (wait4(pid)), never for any child, so the shim's other
// children, reaped by os/exec, keep their exits.
//
//	rt, err := native.New(native.Config{Root: "/run/containerd-shim-wasm/runc/default"})
//	c, err := rt.Create(ctx, id, bundle, native.Stdio{Stdout: w})
//	err = c.Start()
//	status := c.Wait()
package native
