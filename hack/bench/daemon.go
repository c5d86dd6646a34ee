package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/containerd/v2/client"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/hack/containerdconfig"
)

// daemon is the harness's private containerd: root, state, sockets, log and
// the shims' compile cache all live under dir.
type daemon struct {
	dir, address, cacheDir string
	cmd                    *exec.Cmd
	log                    *os.File
}

// startDaemon runs bin/containerd-VERSION/containerd in a new directory
// under /tmp (short: unix socket paths hold 107 bytes). PATH puts
// shimDirs first, so io.containerd.wasm.v1 and io.containerd.runc.v2 find
// the binaries we built, then /usr/sbin for Debian's runc. The runc shim
// takes its default options: cgroupfs, no systemd (this sandbox has none).
func startDaemon(repo, version string, shimDirs []string) (*daemon, error) {
	dir, err := os.MkdirTemp("/tmp", "bench.")
	if err != nil {
		return nil, err
	}
	d := &daemon{dir: dir, address: filepath.Join(dir, "containerd.sock"), cacheDir: filepath.Join(dir, "wasm-cache")}
	// The import unpacks the host platform (the native image, run by
	// runc) and wasi/wasm (the modules, run by the shim).
	cfg := containerdconfig.Plain(containerdconfig.Daemon{Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "state"), Address: d.address})
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(cfg), 0o644); err != nil {
		return d, err
	}
	if d.log, err = os.Create(filepath.Join(dir, "containerd.log")); err != nil {
		return d, err
	}
	bin := filepath.Join(repo, "bin", "containerd-"+version)
	path := strings.Join(append(shimDirs, bin, "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"), ":")
	d.cmd = exec.Command(filepath.Join(bin, "containerd"), "--config", filepath.Join(dir, "config.toml"))
	// containerd 2.x looks for shims in its working directory first.
	d.cmd.Dir = dir
	d.cmd.Env = append(os.Environ(), "PATH="+path, "CONTAINERD_SHIM_WASM_CACHE_DIR="+d.cacheDir)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := d.cmd.Start(); err != nil {
		return d, err
	}
	return d, d.waitReady(30 * time.Second)
}

func (d *daemon) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		c, err := client.New(d.address, client.WithTimeout(time.Second))
		if err == nil {
			_, err = c.Version(context.Background())
			c.Close()
			if err == nil {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("containerd did not answer on %s within %v", d.address, timeout)
}

// stop ends the daemon by its pid (TERM, then KILL after 10 s), unmounts
// what is left under the directory and removes it unless keep is set.
func (d *daemon) stop(keep bool) {
	if d.cmd != nil && d.cmd.Process != nil {
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = d.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = d.cmd.Process.Kill()
			<-done
		}
	}
	if d.log != nil {
		d.log.Close()
	}
	for _, mp := range mountsUnder(d.dir) {
		if err := syscall.Unmount(mp, 0); err != nil {
			_ = syscall.Unmount(mp, syscall.MNT_DETACH)
		}
	}
	if !keep {
		os.RemoveAll(d.dir)
	}
}

// mountsUnder lists mount points at or below dir, innermost first.
func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountinfo(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append([]string{mp}, out...)
		}
	}
	return out
}

// unescapeMountinfo decodes the \NNN octal escapes of /proc/self/mountinfo.
func unescapeMountinfo(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &c); err == nil {
				b.WriteByte(byte(c))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
