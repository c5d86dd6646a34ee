package wasmexec

// wasmtime's WASI is configured here, once, for modules and components
// alike: the same argv, environment, stdio and preopens, built from the
// same Config, through the C API (wasmtime-go's WasiConfig cannot be given
// to a component's store). The declarations are checked against
// wasmtime's headers as those of component_capi.go are.

/*
#include "capi_types.h"

typedef struct wasi_config_t wasi_config_t;

wasmtime_error_t *wasmtime_context_set_wasi(wasmtime_context_t *, wasi_config_t *);

wasi_config_t *wasi_config_new(void);
void wasi_config_delete(wasi_config_t *);
bool wasi_config_set_argv(wasi_config_t *, size_t, const char *[]);
bool wasi_config_set_env(wasi_config_t *, size_t, const char *[], const char *[]);
void wasi_config_inherit_stdin(wasi_config_t *);
void wasi_config_inherit_stdout(wasi_config_t *);
void wasi_config_inherit_stderr(wasi_config_t *);
bool wasi_config_preopen_dir(wasi_config_t *, const char *, const char *, size_t, size_t);
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"unsafe"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// WASI's directory and file permission bits (wasi_dir_perms_flags,
// wasi_file_perms_flags).
const (
	cPermRead  = 1
	cPermWrite = 2
)

// setWASI gives the store behind ctx wasmtime's WASI context, configured
// from cfg: argv, environment, the process's stdio and the preopens.
func setWASI(ctx *C.wasmtime_context_t, cfg Config) error {
	w, err := newWASIConfig(cfg)
	if err != nil {
		return err
	}
	// set_wasi takes ownership of w, even when it fails.
	if err := takeError(C.wasmtime_context_set_wasi(ctx, w)); err != nil {
		return fmt.Errorf("configure WASI: %w", err)
	}
	return nil
}

// setStoreWASI is setWASI for a store of wasmtime-go.
func setStoreWASI(store *wasmtime.Store, cfg Config) error {
	err := setWASI((*C.wasmtime_context_t)(unsafe.Pointer(store.Context())), cfg)
	runtime.KeepAlive(store)
	return err
}

// newWASIConfig builds WASI's configuration from cfg. The caller owns the
// result (wasmtime_context_set_wasi takes it over).
func newWASIConfig(cfg Config) (*C.wasi_config_t, error) {
	w := C.wasi_config_new()
	argv, freeArgv := cStrings(cfg.Args)
	defer freeArgv()
	ok := C.wasi_config_set_argv(w, C.size_t(len(cfg.Args)), argv)
	keys, values := splitEnv(cfg.Env)
	ckeys, freeKeys := cStrings(keys)
	defer freeKeys()
	cvalues, freeValues := cStrings(values)
	defer freeValues()
	ok = ok && C.wasi_config_set_env(w, C.size_t(len(keys)), ckeys, cvalues)
	if !ok {
		C.wasi_config_delete(w)
		return nil, errors.New("configure WASI: argv or environment refused (not UTF-8?)")
	}
	C.wasi_config_inherit_stdin(w)
	C.wasi_config_inherit_stdout(w)
	C.wasi_config_inherit_stderr(w)
	for _, p := range cfg.Preopens {
		if err := preopen(w, p); err != nil {
			C.wasi_config_delete(w)
			return nil, err
		}
	}
	return w, nil
}

func preopen(w *C.wasi_config_t, p Preopen) error {
	host, guest := C.CString(p.HostPath), C.CString(p.GuestPath)
	defer C.free(unsafe.Pointer(host))
	defer C.free(unsafe.Pointer(guest))
	perms := C.size_t(cPermRead | cPermWrite)
	if p.ReadOnly {
		perms = cPermRead
	}
	if !C.wasi_config_preopen_dir(w, host, guest, perms, perms) {
		return fmt.Errorf("preopen %s at %s: refused (missing or not a directory?)", p.HostPath, p.GuestPath)
	}
	return nil
}

func splitEnv(env []string) (keys, values []string) {
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		keys = append(keys, k)
		values = append(values, v)
	}
	return keys, values
}

// cStrings copies strs into C strings; free releases them. The array of
// pointers may stay in Go memory: it holds only C pointers, and C reads it
// during the call only (wasi_config copies what it keeps).
func cStrings(strs []string) (arr **C.char, free func()) {
	if len(strs) == 0 {
		return nil, func() {}
	}
	ptrs := make([]*C.char, len(strs))
	for i, s := range strs {
		ptrs[i] = C.CString(s)
	}
	return &ptrs[0], func() {
		for _, p := range ptrs {
			C.free(unsafe.Pointer(p))
		}
	}
}
