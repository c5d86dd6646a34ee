;; idle.wat: the idle program of main.go without a language runtime: it
;; reads stdin until it ends (fd_read returns 0 bytes or fails), then
;; returns. One 64 KiB page of memory, so an idle container running it
;; costs what the shim and its task child cost, not a Go heap. hack/bench
;; builds it with:
;;
;;	wat2wasm examples/idle/idle.wat -o bin/bench/wasm/idle-wat.wasm
(module
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; iovec at 0: buffer at 16, 1024 bytes; bytes read stored at 8.
  (data (i32.const 0) "\10\00\00\00\00\04\00\00")
  (func (export "_start")
    (block $done
      (loop $read
        (br_if $done (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
        (br_if $done (i32.eqz (i32.load (i32.const 8))))
        (br $read)))))
