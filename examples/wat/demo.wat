;; wat-demo: the hand-written WebAssembly text build of the toolchain demo
;; that examples/README.md specifies; it imports WASI preview 1 only.
;;
;;   wat2wasm examples/wat/demo.wat -o wat-demo.wasm
;;
;; Memory: 0..1023 scratch for WASI results, 1024..4095 the constant strings
;; below (NUL-terminated, so $strlen finds their length), and from 64 KiB on
;; a bump allocator that grows memory as argv, environ and buffers need.
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $fd_prestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_prestat_dir_name" (func $fd_prestat_dir_name (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_unlink_file" (func $path_unlink_file (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))

  (memory (export "memory") 2)

  ;; scratch addresses
  (global $R0 i32 (i32.const 0))     ;; first i32 result
  (global $R1 i32 (i32.const 4))     ;; second i32 result
  (global $T i32 (i32.const 8))      ;; i64 result of clock_time_get
  (global $PRESTAT i32 (i32.const 16))
  (global $DIRNAME i32 (i32.const 24))
  (global $IOV i32 (i32.const 32))
  (global $NIO i32 (i32.const 40))   ;; bytes read or written
  (global $NEWFD i32 (i32.const 44))
  (global $NUMEND i32 (i32.const 96)) ;; decimal digits end here
  (global $SUB i32 (i32.const 128))  ;; poll_oneoff subscription, 48 bytes
  (global $EVENT i32 (i32.const 192)) ;; poll_oneoff event, 32 bytes

  (global $heap (mut i32) (i32.const 65536))

  ;; constant strings
  (data (i32.const 1024) "usage: wasi-demo args|env|random N|clock|rw PATH|echo|exit N\n\00")
  (data (i32.const 1152) "args\00")
  (data (i32.const 1216) "env\00")
  (data (i32.const 1280) "random\00")
  (data (i32.const 1344) "clock\00")
  (data (i32.const 1408) "rw\00")
  (data (i32.const 1472) "echo\00")
  (data (i32.const 1536) "exit\00")
  (data (i32.const 1600) "argc=\00")
  (data (i32.const 1664) "argv[\00")
  (data (i32.const 1728) "]=\00")
  (data (i32.const 1792) "\n\00")
  (data (i32.const 1856) "wasi-demo: \00")
  (data (i32.const 1920) ": errno \00")
  (data (i32.const 1984) "clock ok\n\00")
  (data (i32.const 2048) "created \00")
  (data (i32.const 2112) "read: \00")
  (data (i32.const 2176) "deleted \00")
  (data (i32.const 2240) "hello from wasi-demo\00")
  (data (i32.const 2304) "clock: realtime is before 2020\00")
  (data (i32.const 2368) "clock: monotonic advanced less than 10ms across a 10ms sleep\00")
  (data (i32.const 2496) "rw: create\00")
  (data (i32.const 2560) "rw: read\00")
  (data (i32.const 2624) "rw: delete\00")
  (data (i32.const 2688) "0123456789abcdef")

  ;; $alloc returns n fresh bytes, 8-aligned, growing memory when needed.
  (func $alloc (param $n i32) (result i32)
    (local $p i32) (local $end i32)
    (local.set $p (global.get $heap))
    (local.set $end (i32.and (i32.add (i32.add (local.get $p) (local.get $n)) (i32.const 7)) (i32.const -8)))
    (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
      (then
        (if (i32.eq (memory.grow (i32.sub
              (i32.shr_u (i32.add (local.get $end) (i32.const 65535)) (i32.const 16))
              (memory.size))) (i32.const -1))
          (then unreachable))))
    (global.set $heap (local.get $end))
    (local.get $p))

  (func $strlen (param $s i32) (result i32)
    (local $p i32)
    (local.set $p (local.get $s))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (i32.load8_u (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next)))
    (i32.sub (local.get $p) (local.get $s)))

  ;; $strcmp compares NUL-terminated strings byte by byte, unsigned.
  (func $strcmp (param $a i32) (param $b i32) (result i32)
    (local $ca i32) (local $cb i32)
    (loop $next
      (local.set $ca (i32.load8_u (local.get $a)))
      (local.set $cb (i32.load8_u (local.get $b)))
      (if (i32.ne (local.get $ca) (local.get $cb))
        (then (return (i32.sub (local.get $ca) (local.get $cb)))))
      (if (i32.eqz (local.get $ca)) (then (return (i32.const 0))))
      (local.set $a (i32.add (local.get $a) (i32.const 1)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $next))
    (i32.const 0))

  ;; $write writes all of ptr[0:len] to fd; it returns the WASI errno.
  (func $write (param $fd i32) (param $ptr i32) (param $len i32) (result i32)
    (local $errno i32)
    (block $done
      (loop $more
        (br_if $done (i32.eqz (local.get $len)))
        (i32.store (global.get $IOV) (local.get $ptr))
        (i32.store offset=4 (global.get $IOV) (local.get $len))
        (local.set $errno (call $fd_write (local.get $fd) (global.get $IOV) (i32.const 1) (global.get $NIO)))
        (if (local.get $errno) (then (return (local.get $errno))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.load (global.get $NIO))))
        (local.set $len (i32.sub (local.get $len) (i32.load (global.get $NIO))))
        (br $more)))
    (i32.const 0))

  (func $puts (param $fd i32) (param $s i32)
    (drop (call $write (local.get $fd) (local.get $s) (call $strlen (local.get $s)))))

  (func $out (param $s i32) (call $puts (i32.const 1) (local.get $s)))

  ;; $utoa writes n in decimal just before $NUMEND and returns where it starts.
  (func $utoa (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $NUMEND))
    (i32.store8 (local.get $p) (i32.const 0))
    (loop $digit
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p) (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $digit (local.get $n)))
    (local.get $p))

  (func $usage
    (call $puts (i32.const 2) (i32.const 1024))
    (call $proc_exit (i32.const 2)))

  ;; $die prints "wasi-demo: MSG" and, when errno is not 0, ": errno N",
  ;; on stderr, then exits 1.
  (func $die (param $msg i32) (param $errno i32)
    (call $puts (i32.const 2) (i32.const 1856))
    (call $puts (i32.const 2) (local.get $msg))
    (if (local.get $errno)
      (then
        (call $puts (i32.const 2) (i32.const 1920))
        (call $puts (i32.const 2) (call $utoa (local.get $errno)))))
    (call $puts (i32.const 2) (i32.const 1792))
    (call $proc_exit (i32.const 1)))

  ;; $number parses a decimal 0..max made of digits only; -1 means invalid.
  (func $number (param $s i32) (param $max i32) (result i32)
    (local $len i32) (local $n i32) (local $c i32)
    (local.set $len (call $strlen (local.get $s)))
    (if (i32.or (i32.eqz (local.get $len)) (i32.gt_u (local.get $len) (i32.const 9)))
      (then (return (i32.const -1))))
    (block $done
      (loop $digit
        (local.set $c (i32.load8_u (local.get $s)))
        (br_if $done (i32.eqz (local.get $c)))
        (if (i32.gt_u (i32.sub (local.get $c) (i32.const 48)) (i32.const 9))
          (then (return (i32.const -1))))
        (local.set $n (i32.add (i32.mul (local.get $n) (i32.const 10)) (i32.sub (local.get $c) (i32.const 48))))
        (local.set $s (i32.add (local.get $s) (i32.const 1)))
        (br $digit)))
    (if (i32.gt_u (local.get $n) (local.get $max)) (then (return (i32.const -1))))
    (local.get $n))

  (func $cmd_args (param $argc i32) (param $argv i32)
    (local $i i32)
    (call $out (i32.const 1600))
    (call $out (call $utoa (local.get $argc)))
    (call $out (i32.const 1792))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $argc)))
        (call $out (i32.const 1664))
        (call $out (call $utoa (local.get $i)))
        (call $out (i32.const 1728))
        (call $out (i32.load (i32.add (local.get $argv) (i32.shl (local.get $i) (i32.const 2)))))
        (call $out (i32.const 1792))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))

  ;; $cmd_env prints environ sorted with an insertion sort.
  (func $cmd_env
    (local $n i32) (local $env i32) (local $i i32) (local $j i32) (local $key i32)
    (drop (call $environ_sizes_get (global.get $R0) (global.get $R1)))
    (local.set $n (i32.load (global.get $R0)))
    (local.set $env (call $alloc (i32.shl (local.get $n) (i32.const 2))))
    (drop (call $environ_get (local.get $env) (call $alloc (i32.load (global.get $R1)))))
    (local.set $i (i32.const 1))
    (block $sorted
      (loop $outer
        (br_if $sorted (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $key (i32.load (i32.add (local.get $env) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $j (local.get $i))
        (block $placed
          (loop $inner
            (br_if $placed (i32.eqz (local.get $j)))
            (br_if $placed (i32.le_s (call $strcmp
              (i32.load (i32.add (local.get $env) (i32.shl (i32.sub (local.get $j) (i32.const 1)) (i32.const 2))))
              (local.get $key)) (i32.const 0)))
            (i32.store (i32.add (local.get $env) (i32.shl (local.get $j) (i32.const 2)))
              (i32.load (i32.add (local.get $env) (i32.shl (i32.sub (local.get $j) (i32.const 1)) (i32.const 2)))))
            (local.set $j (i32.sub (local.get $j) (i32.const 1)))
            (br $inner)))
        (i32.store (i32.add (local.get $env) (i32.shl (local.get $j) (i32.const 2))) (local.get $key))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $outer)))
    (local.set $i (i32.const 0))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (call $out (i32.load (i32.add (local.get $env) (i32.shl (local.get $i) (i32.const 2)))))
        (call $out (i32.const 1792))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))

  (func $cmd_random (param $arg i32)
    (local $n i32) (local $buf i32) (local $hex i32) (local $i i32) (local $b i32) (local $errno i32)
    (local.set $n (call $number (local.get $arg) (i32.const 1024)))
    (if (i32.lt_s (local.get $n) (i32.const 0)) (then (call $usage)))
    (local.set $buf (call $alloc (local.get $n)))
    (local.set $hex (call $alloc (i32.add (i32.shl (local.get $n) (i32.const 1)) (i32.const 1))))
    (local.set $errno (call $random_get (local.get $buf) (local.get $n)))
    (if (local.get $errno) (then (call $die (i32.const 1280) (local.get $errno))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $b (i32.load8_u (i32.add (local.get $buf) (local.get $i))))
        (i32.store8 (i32.add (local.get $hex) (i32.shl (local.get $i) (i32.const 1)))
          (i32.load8_u (i32.add (i32.const 2688) (i32.shr_u (local.get $b) (i32.const 4)))))
        (i32.store8 (i32.add (local.get $hex) (i32.add (i32.shl (local.get $i) (i32.const 1)) (i32.const 1)))
          (i32.load8_u (i32.add (i32.const 2688) (i32.and (local.get $b) (i32.const 15)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.store8 (i32.add (local.get $hex) (i32.shl (local.get $n) (i32.const 1))) (i32.const 10))
    (drop (call $write (i32.const 1) (local.get $hex) (i32.add (i32.shl (local.get $n) (i32.const 1)) (i32.const 1)))))

  (func $now (param $clock i32) (result i64)
    (local $errno i32)
    (local.set $errno (call $clock_time_get (local.get $clock) (i64.const 1) (global.get $T)))
    (if (local.get $errno) (then (call $die (i32.const 1344) (local.get $errno))))
    (i64.load (global.get $T)))

  (func $cmd_clock
    (local $start i64) (local $errno i32)
    ;; realtime (clock 0) after 2020-01-01T00:00:00Z
    (if (i64.lt_u (call $now (i32.const 0)) (i64.const 1577836800000000000))
      (then (call $die (i32.const 2304) (i32.const 0))))
    (local.set $start (call $now (i32.const 1)))
    ;; sleep 10 ms: one relative timeout on the monotonic clock
    (i64.store (global.get $SUB) (i64.const 0))                       ;; userdata
    (i32.store8 offset=8 (global.get $SUB) (i32.const 0))             ;; eventtype clock
    (i32.store offset=16 (global.get $SUB) (i32.const 1))             ;; clock id monotonic
    (i64.store offset=24 (global.get $SUB) (i64.const 10000000))      ;; timeout ns
    (i64.store offset=32 (global.get $SUB) (i64.const 0))             ;; precision
    (i32.store16 offset=40 (global.get $SUB) (i32.const 0))           ;; flags: relative
    (local.set $errno (call $poll_oneoff (global.get $SUB) (global.get $EVENT) (i32.const 1) (global.get $R0)))
    (if (local.get $errno) (then (call $die (i32.const 1344) (local.get $errno))))
    (if (i64.lt_u (i64.sub (call $now (i32.const 1)) (local.get $start)) (i64.const 10000000))
      (then (call $die (i32.const 2368) (i32.const 0))))
    (call $out (i32.const 1984)))

  ;; $root_fd finds the preopened directory named "/"; 0 when there is none.
  (func $root_fd (result i32)
    (local $fd i32)
    (local.set $fd (i32.const 3))
    (loop $next
      (if (call $fd_prestat_get (local.get $fd) (global.get $PRESTAT))
        (then (return (i32.const 0))))
      (if (i32.and
            (i32.eqz (i32.load8_u (global.get $PRESTAT)))                 ;; preopentype dir
            (i32.eq (i32.load offset=4 (global.get $PRESTAT)) (i32.const 1))) ;; name length 1
        (then
          (if (i32.eqz (call $fd_prestat_dir_name (local.get $fd) (global.get $DIRNAME) (i32.const 1)))
            (then
              (if (i32.eq (i32.load8_u (global.get $DIRNAME)) (i32.const 47)) ;; '/'
                (then (return (local.get $fd))))))))
      (local.set $fd (i32.add (local.get $fd) (i32.const 1)))
      (br $next))
    (i32.const 0))

  ;; $open opens rel (relative to dir) with oflags and rights; it returns
  ;; the new fd or dies with msg.
  (func $open (param $dir i32) (param $rel i32) (param $oflags i32) (param $rights i64) (param $msg i32) (result i32)
    (local $errno i32)
    (local.set $errno (call $path_open (local.get $dir) (i32.const 0)
      (local.get $rel) (call $strlen (local.get $rel))
      (local.get $oflags) (local.get $rights) (i64.const 0) (i32.const 0) (global.get $NEWFD)))
    (if (local.get $errno) (then (call $die (local.get $msg) (local.get $errno))))
    (i32.load (global.get $NEWFD)))

  (func $cmd_rw (param $path i32)
    (local $dir i32) (local $rel i32) (local $fd i32) (local $errno i32) (local $buf i32) (local $len i32)
    (local.set $dir (call $root_fd))
    (if (i32.eqz (local.get $dir)) (then (call $die (i32.const 2496) (i32.const 76)))) ;; ENOTCAPABLE
    (if (i32.ne (i32.load8_u (local.get $path)) (i32.const 47))
      (then (call $die (i32.const 2496) (i32.const 44)))) ;; ENOENT: not absolute
    (local.set $rel (i32.add (local.get $path) (i32.const 1)))
    ;; create/truncate (oflags creat|trunc) with right fd_write, write, close
    (local.set $fd (call $open (local.get $dir) (local.get $rel) (i32.const 9) (i64.const 64) (i32.const 2496)))
    (local.set $errno (call $write (local.get $fd) (i32.const 2240) (call $strlen (i32.const 2240))))
    (if (local.get $errno) (then (call $die (i32.const 2496) (local.get $errno))))
    (drop (call $fd_close (local.get $fd)))
    (call $out (i32.const 2048))
    (call $out (local.get $path))
    (call $out (i32.const 1792))
    ;; read back with right fd_read
    (local.set $fd (call $open (local.get $dir) (local.get $rel) (i32.const 0) (i64.const 2) (i32.const 2560)))
    (local.set $buf (call $alloc (i32.const 65536)))
    (block $eof
      (loop $more
        (i32.store (global.get $IOV) (i32.add (local.get $buf) (local.get $len)))
        (i32.store offset=4 (global.get $IOV) (i32.sub (i32.const 65536) (local.get $len)))
        (local.set $errno (call $fd_read (local.get $fd) (global.get $IOV) (i32.const 1) (global.get $NIO)))
        (if (local.get $errno) (then (call $die (i32.const 2560) (local.get $errno))))
        (br_if $eof (i32.eqz (i32.load (global.get $NIO))))
        (local.set $len (i32.add (local.get $len) (i32.load (global.get $NIO))))
        (br_if $eof (i32.ge_u (local.get $len) (i32.const 65536)))
        (br $more)))
    (drop (call $fd_close (local.get $fd)))
    (call $out (i32.const 2112))
    (drop (call $write (i32.const 1) (local.get $buf) (local.get $len)))
    (call $out (i32.const 1792))
    (local.set $errno (call $path_unlink_file (local.get $dir) (local.get $rel) (call $strlen (local.get $rel))))
    (if (local.get $errno) (then (call $die (i32.const 2624) (local.get $errno))))
    (call $out (i32.const 2176))
    (call $out (local.get $path))
    (call $out (i32.const 1792)))

  (func $cmd_echo
    (local $buf i32) (local $errno i32)
    (local.set $buf (call $alloc (i32.const 65536)))
    (loop $more
      (i32.store (global.get $IOV) (local.get $buf))
      (i32.store offset=4 (global.get $IOV) (i32.const 65536))
      (local.set $errno (call $fd_read (i32.const 0) (global.get $IOV) (i32.const 1) (global.get $NIO)))
      (if (local.get $errno) (then (call $die (i32.const 1472) (local.get $errno))))
      (if (i32.eqz (i32.load (global.get $NIO))) (then (return)))
      (local.set $errno (call $write (i32.const 1) (local.get $buf) (i32.load (global.get $NIO))))
      (if (local.get $errno) (then (call $die (i32.const 1472) (local.get $errno))))
      (br $more)))

  (func $is (param $arg i32) (param $name i32) (result i32)
    (i32.eqz (call $strcmp (local.get $arg) (local.get $name))))

  (func (export "_start")
    (local $argc i32) (local $argv i32) (local $cmd i32) (local $n i32)
    (drop (call $args_sizes_get (global.get $R0) (global.get $R1)))
    (local.set $argc (i32.load (global.get $R0)))
    (local.set $argv (call $alloc (i32.shl (local.get $argc) (i32.const 2))))
    (drop (call $args_get (local.get $argv) (call $alloc (i32.load (global.get $R1)))))
    (if (i32.lt_u (local.get $argc) (i32.const 2)) (then (call $usage)))
    (local.set $cmd (i32.load offset=4 (local.get $argv)))
    (if (call $is (local.get $cmd) (i32.const 1152))
      (then (call $cmd_args (local.get $argc) (local.get $argv)) (return)))
    (if (i32.and (call $is (local.get $cmd) (i32.const 1216)) (i32.eq (local.get $argc) (i32.const 2)))
      (then (call $cmd_env) (return)))
    (if (i32.and (call $is (local.get $cmd) (i32.const 1280)) (i32.eq (local.get $argc) (i32.const 3)))
      (then (call $cmd_random (i32.load offset=8 (local.get $argv))) (return)))
    (if (i32.and (call $is (local.get $cmd) (i32.const 1344)) (i32.eq (local.get $argc) (i32.const 2)))
      (then (call $cmd_clock) (return)))
    (if (i32.and (call $is (local.get $cmd) (i32.const 1408)) (i32.eq (local.get $argc) (i32.const 3)))
      (then (call $cmd_rw (i32.load offset=8 (local.get $argv))) (return)))
    (if (i32.and (call $is (local.get $cmd) (i32.const 1472)) (i32.eq (local.get $argc) (i32.const 2)))
      (then (call $cmd_echo) (return)))
    (if (i32.and (call $is (local.get $cmd) (i32.const 1536)) (i32.eq (local.get $argc) (i32.const 3)))
      (then
        (local.set $n (call $number (i32.load offset=8 (local.get $argv)) (i32.const 255)))
        (if (i32.lt_s (local.get $n) (i32.const 0)) (then (call $usage)))
        (call $proc_exit (local.get $n))))
    (call $usage))
)
