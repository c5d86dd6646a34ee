package wasmexec

import (
	"context"
	"io"
	"testing"
)

// BenchmarkHTTPProxyInstantiate is the per-request instantiation cost
// alone of each wasi:http example, on the engine and linker its server
// uses (the pooling allocator, sized for the default in-flight bound):
// an instance made with a request's state, then closed; no request is
// handled. hack/bench runs it (make bench, with -cpu 1) beside the served
// figures. Compiled once per component, through a cache shared by the
// sub-benchmark's runs.
func BenchmarkHTTPProxyInstantiate(b *testing.B) {
	cache := b.TempDir()
	for _, name := range []string{"http-c.wasm", "http-js-incoming-handler.wasm"} {
		b.Run(name, func(b *testing.B) {
			prog, err := Prepare(Config{ModulePath: httpExample(b, name), CacheDir: cache})
			if err != nil {
				b.Fatal(err)
			}
			defer prog.Close()
			p, ok := prog.(*httpProxy)
			if !ok {
				b.Fatalf("%s prepared as %T, not a server", name, prog)
			}
			sc := p.newServer(ServeOptions{Stderr: io.Discard}).sc
			if !sc.pooled {
				b.Fatalf("%s: served without the pooling allocator", name)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				st := &httpRequestState{proxy: p, ctx: context.Background(),
					p2ctx: p2Context{stdout: io.Discard, stderr: io.Discard, env: p.env, args: p.cfg.Args}}
				h, err := sc.linker.instantiate(sc.comp, st, sc.maxMem)
				if err != nil {
					b.Fatal(err)
				}
				h.close()
			}
		})
	}
}
