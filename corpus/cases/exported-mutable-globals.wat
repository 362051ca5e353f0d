;; Guards: exported mutable globals of every numeric type changed before a
;; suspension.
;;
;; Exported i32/i64/f32/f64 globals are updated at every loop iteration and
;; read back after the yield point.  The values are chosen to trip lossy
;; restores: i64 values above 2^53 (lost through a double), negative zero,
;; an f32 subnormal and an f64 with a full mantissa.  Each iteration's values
;; are emitted (floats by their bits), so a global restored wrongly shows in
;; the output sequence, in the final globals and in the result.
(module
  (import "host" "out_i32" (func $out32 (param i32)))
  (import "host" "out_i64" (func $out64 (param i64)))
  (global $g32 (export "g32") (mut i32) (i32.const -2))
  (global $g64 (export "g64") (mut i64) (i64.const 0x7ffffffffffffff1))
  (global $gf32 (export "gf32") (mut f32) (f32.const -0.0))
  (global $gf64 (export "gf64") (mut f64) (f64.const 0x1.fffffffffffffp-1))
  (global $k (export "k") i32 (i32.const 0x5eed))   ;; immutable and exported
  (func (export "run") (result i64) (local $i i32)
    (loop $l
      (global.set $g32 (i32.sub (global.get $g32) (i32.const 0x10001)))
      (global.set $g64 (i64.add (global.get $g64) (i64.const 0x0000000100000001)))
      ;; f32: -0.0, then the subnormal 0x00000001 and beyond (integer steps on the bits)
      (global.set $gf32 (f32.reinterpret_i32
        (i32.add (i32.and (i32.reinterpret_f32 (global.get $gf32)) (i32.const 0x7fffffff)) (i32.const 1))))
      (global.set $gf64 (f64.mul (global.get $gf64) (f64.const 0x1.0000000000001p+0)))
      (call $out32 (global.get $g32))
      (call $out64 (global.get $g64))
      (call $out32 (i32.reinterpret_f32 (global.get $gf32)))
      (call $out64 (i64.reinterpret_f64 (global.get $gf64)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 5))))
    (i64.add (global.get $g64) (i64.extend_i32_s (i32.add (global.get $g32) (global.get $k))))))
