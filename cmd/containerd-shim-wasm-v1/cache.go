package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim"
	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/taskchild"
	"github.com/containerd-shim-wasm/containerd-shim-wasm/wasmexec"
)

// cacheArg is os.Args[1] of the cache commands. containerd always passes
// flags first, so it never collides with a shim invocation.
const cacheArg = "cache"

const cacheUsage = `usage: containerd-shim-wasm-v1 cache [-dir DIR] COMMAND
  warm FILE.wasm...  compile modules into the cache, so that their first task starts warm
  ls                 list the entries, least recently used first
  wipe               remove every entry
The directory is $` + taskchild.CacheDirEnv + ` (default ` + taskchild.DefaultCacheDir + `), as for the shim.
`

// cacheMain runs a cache command and returns the exit status.
func cacheMain(args []string, stdout, stderr io.Writer) int {
	dir, maxBytes := taskchild.CacheFromEnv(os.Getenv)
	fs := flag.NewFlagSet("cache", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, cacheUsage) }
	fs.StringVar(&dir, shim.FlagCacheDir, dir, "cache directory")
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	if err := runCacheCommand(dir, maxBytes, fs.Args(), stdout); err != nil {
		fmt.Fprintf(stderr, "containerd-shim-wasm-v1 cache: %v\n", err)
		return 1
	}
	return 0
}

func runCacheCommand(dir string, maxBytes int64, args []string, stdout io.Writer) error {
	if dir == "" {
		return fmt.Errorf("the cache is off (%s=%s)", taskchild.CacheDirEnv, taskchild.CacheOff)
	}
	cache, err := wasmexec.OpenCache(dir, maxBytes)
	if err != nil {
		return err
	}
	switch args[0] {
	case "warm":
		return warm(cache, args[1:], stdout)
	case "ls":
		return list(cache, stdout)
	case "wipe":
		return cache.Wipe()
	default:
		return fmt.Errorf("unknown command %q\n%s", args[0], cacheUsage)
	}
}

func warm(cache *wasmexec.Cache, files []string, stdout io.Writer) error {
	var errs []error
	for _, f := range files {
		st, err := cache.Warm(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(stdout, "%s: %s (compile %v, load %v) %s\n", f, st.Cache, st.Compile.Round(time.Millisecond), st.Load.Round(time.Microsecond), st.Key)
	}
	return errors.Join(errs...)
}

func list(cache *wasmexec.Cache, stdout io.Writer) error {
	entries, err := cache.List()
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "KEY\tSIZE\tLAST USED")
	var total int64
	for _, e := range entries {
		total += e.Size
		fmt.Fprintf(w, "%s\t%d\t%s\n", e.Key, e.Size, e.LastUsed.Format(time.RFC3339))
	}
	fmt.Fprintf(w, "%d entries, %d bytes in %s\n", len(entries), total, cache.Dir())
	return w.Flush()
}
