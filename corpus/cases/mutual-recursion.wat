;; Guards: mutual recursion (a cycle of three functions) with live locals.
;;
;; $a calls $b calls $c calls $a ... 90 frames deep, each function with its
;; own frame layout (different local counts and types): $a keeps an operand
;; on its stack below the call, $b and $c keep locals live across it.  A rewind must
;; re-enter each frame in the right function with the right locals; a mix-up
;; between the three frame shapes changes the result or outputs.
(module
  (import "host" "out_i32" (func $out (param i32)))
  (func $a (param $n i32) (result i32) (local $x i32)
    (local.set $x (i32.xor (local.get $n) (i32.const 0xa5a5)))
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 17))
      (else
        ;; $x*3 waits on the stack across the call
        (i32.add (i32.mul (local.get $x) (i32.const 3))
                 (call $b (i32.sub (local.get $n) (i32.const 1)))))))
  (func $b (param $n i32) (result i32) (local $y i64) (local $z f32)
    (local.set $y (i64.shl (i64.extend_i32_u (local.get $n)) (i64.const 33)))
    (local.set $z (f32.convert_i32_u (local.get $n)))
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 29))
      (else
        (i32.xor (call $c (i32.sub (local.get $n) (i32.const 1)))
                 (i32.add (i32.wrap_i64 (i64.shr_u (local.get $y) (i64.const 32)))
                          (i32.trunc_f32_u (local.get $z)))))))
  (func $c (param $n i32) (result i32) (local $w f64) (local $k i32) (local $j i32)
    (local.set $w (f64.convert_i32_s (i32.sub (i32.const 0) (local.get $n))))
    (local.set $k (i32.rotl (local.get $n) (i32.const 11)))
    (if (i32.eqz (i32.rem_u (local.get $n) (i32.const 5)))
      (then (call $out (local.get $n))))
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 43))
      (else
        (i32.sub (i32.rotl (call $a (i32.sub (local.get $n) (i32.const 1))) (i32.const 1))
                 (i32.add (local.get $k) (i32.trunc_f64_s (local.get $w)))))))
  (func (export "run") (param $p i32) (result i32)
    (i32.add (call $a (i32.const 90)) (i32.and (local.get $p) (i32.const 0xff)))))
