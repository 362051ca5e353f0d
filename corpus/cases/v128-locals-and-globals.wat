;; Guards: v128 values in locals, globals and on the operand stack across
;; yields.
;;
;; A hidden mutable v128 global and two v128 locals change every iteration
;; (lane-wise adds, a byte shuffle and lane replacement) and live across the
;; yield points; one v128 value also waits on the operand stack below the
;; loop.  The lanes hold distinct values in all 16 bytes (and one lane is an
;; f32 signalling NaN pattern), so a restore that saves only 64 of the 128
;; bits, swaps halves or goes through float lanes changes the emitted lanes,
;; the final global and the v128 result.
(module
  (import "host" "out_i64" (func $out (param i64)))
  (global $g (mut v128) (v128.const i32x4 0x7fa00001 0x01234567 0x89abcdef 0xfedcba98))
  (global $pub (export "pub") (mut v128) (v128.const i64x2 -1 0x8000000000000000))
  (func (export "run") (param $x i32) (result v128)
    (local $v v128) (local $w v128) (local $i i32)
    (local.set $v (i32x4.splat (local.get $x)))
    (local.set $w (v128.const i8x16 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15))
    ;; left on the stack below the loop
    (i64x2.splat (i64.const 0x0f0e0d0c0b0a0908))
    (loop $l
      (local.set $v (i32x4.add (local.get $v) (global.get $g)))
      (local.set $w (i8x16.shuffle 15 0 14 1 13 2 12 3 11 4 10 5 9 6 8 7 (local.get $w) (local.get $v)))
      (global.set $g (i32x4.replace_lane 1 (global.get $g) (i32.add (local.get $i) (i32.const 0x100))))
      (global.set $pub (i64x2.add (global.get $pub) (i64x2.splat (i64.const 0x0000000100000001))))
      (call $out (i64x2.extract_lane 0 (local.get $w)))
      (call $out (i64x2.extract_lane 1 (local.get $w)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 4))))
    (v128.xor (local.get $w))
    (i64x2.sub (local.get $v))))
