;; Guards: bulk memory operations (memory.fill, memory.copy, memory.init)
;; around suspensions.
;;
;; Each iteration fills a region, copies an overlapping range (memmove
;; semantics) and initializes a stripe from a passive data segment, with
;; yield points between (and, with `all`, while the operands of the bulk
;; instructions are on the stack).  The regions feed each other, so a memory
;; image restored stale or partially, or a bulk operation whose operands were
;; mis-restored, changes later copies, the emitted checksums and the final
;; memory.
(module
  (import "host" "out_i32" (func $out (param i32)))
  (memory 1)
  (data $pattern "0123456789abcdefRESUMEFUZZ")
  ;; hash of LEN 8-byte words starting at FROM
  (func $checksum (param $from i32) (param $len i32) (result i32) (local $h i64) (local $i i32)
    (local.set $h (i64.const 0xcbf29ce484222325))
    (loop $l
      (local.set $h (i64.mul (i64.xor (local.get $h) (i64.load (i32.add (local.get $from) (i32.shl (local.get $i) (i32.const 3)))))
                             (i64.const 0x100000001b3)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $len))))
    (i32.wrap_i64 (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 32)))))
  (func (export "run") (result i32) (local $i i32)
    (memory.init $pattern (i32.const 0) (i32.const 0) (i32.const 26))
    (loop $l
      ;; fill 8 bytes after the pattern with a per-iteration byte
      (memory.fill (i32.add (i32.const 26) (local.get $i)) (i32.add (i32.const 0x41) (local.get $i)) (i32.const 8))
      ;; overlapping copy forward by 3 bytes
      (memory.copy (i32.add (local.get $i) (i32.const 3)) (local.get $i) (i32.const 20))
      ;; re-stamp part of the segment at a moving offset
      (memory.init $pattern (i32.add (i32.const 40) (i32.mul (local.get $i) (i32.const 5)))
                            (local.get $i) (i32.const 10))
      (call $out (call $checksum (i32.const 0) (i32.const 12)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 4))))
    ;; a backward-overlapping copy at the end
    (memory.copy (i32.const 2) (i32.const 7) (i32.const 30))
    (call $checksum (i32.const 0) (i32.const 12))))
