;; Guards: a 64-bit memory (memory64) grown before suspensions, with data at
;; i64 addresses in the new pages.
;;
;; Everything about a 64-bit memory is i64: addresses, memory.size,
;; memory.grow's delta and result, memory.fill/copy lengths.  A restore must
;; handle the memory at its saved page count (grow the fresh instance first),
;; whatever its index type.  The program grows the memory by two pages (an i64
;; delta), writes words across the new pages through i64 addresses (with a
;; static offset past 64 KiB), suspends in loops after the growth, and reads
;; the words back afterwards; the last export loads past the end (an
;; out-of-bounds trap at an i64 address above 4 GiB).  Lost pages show as a
;; trap, different outputs and results, and a different memory image.
(module
  (import "host" "out_i64" (func $out64 (param i64)))
  (import "host" "out_i32" (func $out32 (param i32)))
  (memory $m i64 1 8)
  (data (i64.const 16) "hello memory64")
  (global $g (mut i64) (i64.const 0))
  ;; N words i * 0x0101010101010101 at BASE, BASE + 8, ...
  (func $fill (param $base i64) (param $n i64)
    (local $i i64)
    (loop $l
      (i64.store (i64.add (local.get $base) (i64.mul (local.get $i) (i64.const 8)))
                 (i64.mul (local.get $i) (i64.const 0x0101010101010101)))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br_if $l (i64.lt_u (local.get $i) (local.get $n)))))
  (func (export "grow") (result i64)
    (local $old i64)
    (local.set $old (memory.grow (i64.const 2)))        ;; old size: 1
    (call $out64 (local.get $old))
    (call $out64 (memory.size))                         ;; 3
    (call $fill (i64.const 0x18000) (i64.const 64))     ;; page 1
    (call $fill (i64.const 0x2fff0) (i64.const 2))      ;; the last 16 bytes of page 2
    (global.set $g (i64.load (i64.const 0x18008)))
    (call $out64 (i64.load offset=0x10000 (i64.const 0x8008)))
    (call $out32 (i32.load8_u (i64.const 20)))
    (local.get $old))
  (func (export "more") (result i64)
    (call $fill (i64.const 0x20000) (i64.const 16))
    (call $out64 (i64.load (i64.const 0x20040)))
    (memory.fill (i64.const 0x21000) (i32.const 0x5a) (i64.const 100))
    (memory.copy (i64.const 0x22000) (i64.const 16) (i64.const 14))
    (call $out64 (i64.load (i64.const 0x2fff8)))
    (call $out64 (memory.size))
    (i64.add (global.get $g) (i64.load (i64.const 0x22004))))
  (func (export "oob") (result i64)
    (i64.load (i64.const 0x1_0000_0008))))
