;; A component for wasip2_*_test.go: it imports a little of each WASI 0.2
;; interface group, at mixed 0.2.x versions as real components do
;; (wasi:io at 0.2.0, wasi:cli at 0.2.3, random at 0.2.12), and exports
;; test:p2/guest, whose functions make the host calls a test checks:
;; say writes to stdout with blocking-write-and-flush, read reads stdin
;; with blocking-read, random asks for random bytes, wait blocks on a
;; monotonic-clock pollable, exit calls wasi:cli/exit.
(component
  (import "wasi:io/error@0.2.0" (instance $error
    (export "error" (type (sub resource)))))
  (alias export $error "error" (type $error-t))
  (import "wasi:io/poll@0.2.0" (instance $poll
    (export "pollable" (type $p (sub resource)))
    (export "[method]pollable.block" (func (param "self" (borrow $p))))))
  (alias export $poll "pollable" (type $pollable))
  (import "wasi:io/streams@0.2.0" (instance $streams
    (alias outer 1 $error-t (type $e))
    (export "error" (type $err (eq $e)))
    (export "input-stream" (type $in (sub resource)))
    (export "output-stream" (type $out (sub resource)))
    (type $se (variant (case "last-operation-failed" (own $err)) (case "closed")))
    (export "stream-error" (type $stream-error (eq $se)))
    (export "[method]input-stream.blocking-read"
      (func (param "self" (borrow $in)) (param "len" u64) (result (result (list u8) (error $stream-error)))))
    (export "[method]output-stream.blocking-write-and-flush"
      (func (param "self" (borrow $out)) (param "contents" (list u8)) (result (result (error $stream-error)))))))
  (alias export $streams "input-stream" (type $in))
  (alias export $streams "output-stream" (type $out))
  (import "wasi:cli/stdout@0.2.3" (instance $stdout
    (alias outer 1 $out (type $o))
    (export "output-stream" (type $os (eq $o)))
    (export "get-stdout" (func (result (own $os))))))
  (import "wasi:cli/stdin@0.2.3" (instance $stdin
    (alias outer 1 $in (type $i))
    (export "input-stream" (type $is (eq $i)))
    (export "get-stdin" (func (result (own $is))))))
  (import "wasi:cli/exit@0.2.3" (instance $exit
    (export "exit" (func (param "status" (result))))))
  (import "wasi:random/random@0.2.12" (instance $random
    (export "get-random-bytes" (func (param "len" u64) (result (list u8))))))
  (import "wasi:clocks/monotonic-clock@0.2.5" (instance $mono
    (alias outer 1 $pollable (type $p))
    (export "pollable" (type $pt (eq $p)))
    (export "subscribe-duration" (func (param "when" u64) (result (own $pt))))))

  ;; Memory and a bump allocator (as in hostapi.wat).
  (core module $libc
    (memory (export "memory") 1)
    (global $bump (mut i32) (i32.const 1024))
    (func (export "realloc") (param $old i32) (param $oldsize i32) (param $align i32) (param $size i32) (result i32)
      (local $p i32) (local $end i32) (local $have i32)
      (local.set $p (i32.and
        (i32.add (global.get $bump) (i32.sub (local.get $align) (i32.const 1)))
        (i32.sub (i32.const 0) (local.get $align))))
      (local.set $end (i32.add (local.get $p) (local.get $size)))
      (local.set $have (i32.shl (memory.size) (i32.const 16)))
      (if (i32.gt_u (local.get $end) (local.get $have))
        (then
          (if (i32.eq (memory.grow (i32.shr_u (i32.add (i32.sub (local.get $end) (local.get $have)) (i32.const 65535)) (i32.const 16)))
                      (i32.const -1))
            (then unreachable))))
      (global.set $bump (local.get $end))
      (local.get $p))
    (func (export "reset") (param i32) (global.set $bump (i32.const 1024))))
  (core instance $libc (instantiate $libc))
  (alias core export $libc "memory" (core memory $mem))
  (alias core export $libc "realloc" (core func $realloc))
  (alias core export $libc "reset" (core func $reset))

  (core func $get-stdout (canon lower (func $stdout "get-stdout")))
  (core func $get-stdin (canon lower (func $stdin "get-stdin")))
  (core func $bwf (canon lower (func $streams "[method]output-stream.blocking-write-and-flush") (memory $mem)))
  (core func $bread (canon lower (func $streams "[method]input-stream.blocking-read") (memory $mem) (realloc $realloc)))
  (core func $rand (canon lower (func $random "get-random-bytes") (memory $mem) (realloc $realloc)))
  (core func $sub (canon lower (func $mono "subscribe-duration")))
  (core func $block (canon lower (func $poll "[method]pollable.block")))
  (core func $exit (canon lower (func $exit "exit")))
  (core func $drop-out (canon resource.drop $out))
  (core func $drop-in (canon resource.drop $in))
  (core func $drop-poll (canon resource.drop $pollable))
  (core instance $host
    (export "get-stdout" (func $get-stdout))
    (export "get-stdin" (func $get-stdin))
    (export "bwf" (func $bwf))
    (export "bread" (func $bread))
    (export "rand" (func $rand))
    (export "sub" (func $sub))
    (export "block" (func $block))
    (export "exit" (func $exit))
    (export "drop-out" (func $drop-out))
    (export "drop-in" (func $drop-in))
    (export "drop-poll" (func $drop-poll)))

  ;; A host call's result lands in the return area at 16; an export's
  ;; result that is not the host's as is goes at 32.
  (core module $main
    (import "libc" "memory" (memory 1))
    (import "p2" "get-stdout" (func $get-stdout (result i32)))
    (import "p2" "get-stdin" (func $get-stdin (result i32)))
    (import "p2" "bwf" (func $bwf (param i32 i32 i32 i32)))
    (import "p2" "bread" (func $bread (param i32 i64 i32)))
    (import "p2" "rand" (func $rand (param i64 i32)))
    (import "p2" "sub" (func $sub (param i64) (result i32)))
    (import "p2" "block" (func $block (param i32)))
    (import "p2" "exit" (func $exit (param i32)))
    (import "p2" "drop-out" (func $drop-out (param i32)))
    (import "p2" "drop-in" (func $drop-in (param i32)))
    (import "p2" "drop-poll" (func $drop-poll (param i32)))
    ;; say: true when blocking-write-and-flush of msg to stdout is ok.
    (func (export "say") (param $p i32) (param $n i32) (result i32) (local $o i32)
      (local.set $o (call $get-stdout))
      (call $bwf (local.get $o) (local.get $p) (local.get $n) (i32.const 16))
      (call $drop-out (local.get $o))
      (i32.eqz (i32.load8_u (i32.const 16))))
    (func (export "random") (param $n i64) (result i32)
      (call $rand (local.get $n) (i32.const 16))
      (i32.const 16))
    ;; read: some(bytes) when blocking-read of stdin is ok, none on a
    ;; stream-error.
    (func (export "read") (param $n i64) (result i32) (local $i i32)
      (local.set $i (call $get-stdin))
      (call $bread (local.get $i) (local.get $n) (i32.const 16))
      (call $drop-in (local.get $i))
      (if (i32.load8_u (i32.const 16))
        (then (i32.store8 (i32.const 32) (i32.const 0)))
        (else
          (i32.store8 (i32.const 32) (i32.const 1))
          (i32.store (i32.const 36) (i32.load (i32.const 20)))
          (i32.store (i32.const 40) (i32.load (i32.const 24)))))
      (i32.const 32))
    (func (export "wait") (param $ns i64) (local $p i32)
      (local.set $p (call $sub (local.get $ns)))
      (call $block (local.get $p))
      (call $drop-poll (local.get $p)))
    ;; exit(ok): exit with result ok (status 0) or err (1).
    (func (export "exit") (param $ok i32) (call $exit (i32.eqz (local.get $ok)))))
  (core instance $main (instantiate $main (with "libc" (instance $libc)) (with "p2" (instance $host))))

  (func $say (param "msg" (list u8)) (result bool)
    (canon lift (core func $main "say") (memory $mem) (realloc $realloc) (post-return $reset)))
  (func $random (param "n" u64) (result (list u8))
    (canon lift (core func $main "random") (memory $mem) (post-return $reset)))
  (func $read (param "n" u64) (result (option (list u8)))
    (canon lift (core func $main "read") (memory $mem) (post-return $reset)))
  (func $wait (param "ns" u64) (canon lift (core func $main "wait")))
  (func $exit-export (param "ok" bool) (canon lift (core func $main "exit")))
  (instance $guest
    (export "say" (func $say))
    (export "random" (func $random))
    (export "read" (func $read))
    (export "wait" (func $wait))
    (export "exit" (func $exit-export)))
  (export "test:p2/guest@0.1.0" (instance $guest)))
