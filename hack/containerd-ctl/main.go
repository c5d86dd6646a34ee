// Command containerd-ctl starts and stops a private containerd whose files
// all live under DIR, for shell scripts (hack/containerd.sh, hack/demo.sh);
// Go code uses hack/privatecontainerd directly.
//
//	go run ./hack/containerd-ctl start [-log-level L] [-timeout D] DIR [VERSION]
//	go run ./hack/containerd-ctl stop DIR
//	go run ./hack/containerd-ctl env DIR
//
// start leaves the daemon running when it returns; stop finds it again by
// the pid file in DIR.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/hack/privatecontainerd"
)

const usage = `usage:
  containerd-ctl start [-log-level LEVEL] [-timeout DURATION] DIR [VERSION]   # VERSION: 2.4.2 (default), 2.1.9, 1.6.20
  containerd-ctl stop DIR      # stop it by pid, unmount leftovers, remove DIR
  containerd-ctl env DIR       # print export lines for ctr`

func main() {
	if len(os.Args) < 2 {
		fail(2, usage)
	}
	repo, err := privatecontainerd.RepoRoot()
	if err != nil {
		fail(1, err.Error())
	}
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "start":
		err = start(repo, args)
	case "stop":
		err = stop(repo, args)
	case "env":
		err = env(repo, args)
	default:
		fail(2, usage)
	}
	if errors.Is(err, errUsage) {
		fail(2, usage)
	}
	if err != nil {
		fail(1, "containerd-ctl: "+err.Error())
	}
}

var errUsage = errors.New("usage")

func fail(code int, msg string) {
	fmt.Fprintln(os.Stderr, msg)
	os.Exit(code)
}

func start(repo string, args []string) error {
	fs := flag.NewFlagSet("start", flag.ContinueOnError)
	level := fs.String("log-level", "info", "containerd's log level")
	timeout := fs.Duration("timeout", 30*time.Second, "how long to wait for the API")
	if err := fs.Parse(args); err != nil || fs.NArg() < 1 || fs.NArg() > 2 {
		return errUsage
	}
	version := "2.4.2"
	if fs.NArg() == 2 {
		version = fs.Arg(1)
	}
	dir := fs.Arg(0)
	if pid := privatecontainerd.Running(dir); pid != 0 {
		return fmt.Errorf("a containerd (pid %d) already runs in %s", pid, dir)
	}
	// The folder is kept if the start fails: stop removes it, and the
	// log stays readable until then.
	d, err := privatecontainerd.New(privatecontainerd.Options{Repo: repo, Version: version, Dir: dir, LogLevel: *level, ReadyTimeout: *timeout, Keep: true})
	if err != nil {
		return err
	}
	if err := d.Start(d.PlainConfig()); err != nil {
		if d.Pid() != 0 {
			err = fmt.Errorf("%w; last lines of %s:\n%s", err, d.Log, d.TailLog(30))
		}
		d.Stop()
		return err
	}
	fmt.Fprintf(os.Stderr, "containerd %s (pid %d) listening on %s\n", version, d.Pid(), d.Address)
	return nil
}

func stop(repo string, args []string) error {
	if len(args) != 1 {
		return errUsage
	}
	if _, err := os.Stat(args[0]); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	d, err := privatecontainerd.Attach(repo, args[0])
	if err != nil {
		return err
	}
	return d.Stop()
}

func env(repo string, args []string) error {
	if len(args) != 1 {
		return errUsage
	}
	d, err := privatecontainerd.Attach(repo, args[0])
	if err != nil {
		return err
	}
	if d.Version == "" {
		return fmt.Errorf("%s has no private containerd", d.Dir)
	}
	fmt.Printf("export CONTAINERD_ADDRESS=%s\n", d.Address)
	fmt.Println("export CONTAINERD_SUPPRESS_DEPRECATION_WARNINGS=${CONTAINERD_SUPPRESS_DEPRECATION_WARNINGS:-1}")
	fmt.Printf("export PATH=%s:$PATH\n", d.Bin)
	return nil
}
