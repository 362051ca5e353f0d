;; Recursion 300 frames deep.  Every frame holds a live local of each value
;; type (i32, i64, f32, f64, v128) derived from its depth, and folds them into
;; the values returned from below on the way back up, so a lost or corrupted
;; local in any frame changes the results.
(module
  (func $rec (param $n i32) (result i32 i64 f32 f64 v128)
    (local $a i32) (local $b i64) (local $c f32) (local $d f64) (local $v v128)
    (local $ra i32) (local $rb i64) (local $rc f32) (local $rd f64) (local $rv v128)
    (local.set $a (i32.mul (local.get $n) (i32.const 0x9e3779b1)))
    (local.set $b (i64.mul (i64.extend_i32_u (local.get $n)) (i64.const 0x100000001b3)))
    (local.set $c (f32.convert_i32_u (local.get $n)))
    (local.set $d (f64.div (f64.const 1) (f64.convert_i32_u (i32.add (local.get $n) (i32.const 1)))))
    (local.set $v (i32x4.replace_lane 3 (i32x4.splat (local.get $a)) (local.get $n)))
    (if (result i32 i64 f32 f64 v128) (i32.eqz (local.get $n))
      (then (i32.const 1) (i64.const 1) (f32.const 0.5) (f64.const 0.25) (v128.const i64x2 1 2))
      (else (call $rec (i32.sub (local.get $n) (i32.const 1)))))
    (local.set $rv) (local.set $rd) (local.set $rc) (local.set $rb) (local.set $ra)
    (i32.add (i32.rotl (local.get $ra) (i32.const 5)) (local.get $a))
    (i64.xor (i64.rotl (local.get $rb) (i64.const 7)) (local.get $b))
    (f32.add (f32.mul (local.get $rc) (f32.const 1.0009765625)) (local.get $c))
    (f64.add (f64.mul (local.get $rd) (f64.const 0.75)) (local.get $d))
    (i32x4.add
      (i8x16.shuffle 4 5 6 7 8 9 10 11 12 13 14 15 0 1 2 3 (local.get $rv) (local.get $rv))
      (local.get $v)))
  (func (export "deep") (result i32 i64 f32 f64 v128)
    (call $rec (i32.const 300))))
