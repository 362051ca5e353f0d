;; Guards: an i64 counter near overflow across yields (values above 2^53 and
;; around the signed and unsigned wrap points).
;;
;; The counter starts 3 below 2^63 (signed overflow) in one global and 3
;; below 2^64 (unsigned wrap) in another, and steps past both while the loop
;; suspends.  Signed and unsigned comparisons of the counters are emitted each
;; iteration.  A restore that passes an i64 through a double (53-bit
;; mantissa), or sign-converts it wrongly, changes the low bits or the
;; comparison results.
(module
  (import "host" "out_i64" (func $out64 (param i64)))
  (import "host" "out_i32" (func $out32 (param i32)))
  (global $s (mut i64) (i64.const 0x7ffffffffffffffc))
  (global $u (export "u") (mut i64) (i64.const 0xfffffffffffffffc))
  (func (export "run") (result i64) (local $i i32) (local $l i64)
    (local.set $l (i64.const 0x001fffffffffffff))            ;; 2^53 - 1
    (loop $l
      (global.set $s (i64.add (global.get $s) (i64.const 1)))
      (global.set $u (i64.add (global.get $u) (i64.const 1)))
      (local.set $l (i64.add (local.get $l) (i64.const 1)))   ;; 2^53, 2^53 + 1 ...
      (call $out64 (global.get $s))
      (call $out64 (global.get $u))
      (call $out32 (i64.lt_s (global.get $s) (i64.const 0)))
      (call $out32 (i64.lt_u (global.get $u) (i64.const 2)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 6))))
    (i64.xor (local.get $l) (i64.add (global.get $s) (global.get $u)))))
