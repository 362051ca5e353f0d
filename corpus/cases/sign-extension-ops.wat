;; Guards: sign-extension operators (i32.extend8_s/16_s, i64.extend8_s/16_s/
;; 32_s) on values that live across yields.
;;
;; The operands are chosen so the bit being extended is set in some
;; iterations and clear in others (0x80, 0x8000, 0x80000000 boundaries).  The
;; values are kept on the operand stack and in locals across the yield points
;; (`all`); a restore that saves an i64 through 32 bits, or an i32 through a
;; sign- or zero-extending spill, changes the extended results, which are
;; emitted and summed into the i64 result.
(module
  (import "host" "out_i64" (func $out (param i64)))
  (func (export "run") (param $x i32) (result i64)
    (local $v i32) (local $w i64) (local $acc i64) (local $i i32)
    (local.set $v (i32.or (local.get $x) (i32.const 0x7f)))
    (local.set $w (i64.const 0x000000007fff7f7f))
    (loop $l
      ;; step the values across the sign boundaries
      (local.set $v (i32.add (local.get $v) (i32.const 0x00408081)))
      (local.set $w (i64.add (local.get $w) (i64.const 0x0000000040008080)))
      (i64.extend_i32_s (i32.extend8_s (local.get $v)))
      (i64.extend_i32_s (i32.extend16_s (local.get $v)))
      (i64.extend8_s (local.get $w))
      (i64.extend16_s (local.get $w))
      (i64.extend32_s (local.get $w))
      ;; five extended values on the stack: fold them order-sensitively
      (i64.xor) (i64.sub) (i64.rotl (i64.const 7)) (i64.add) (i64.xor)
      (local.tee $acc (i64.add (local.get $acc)))
      (call $out)
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 6))))
    (local.get $acc)))
