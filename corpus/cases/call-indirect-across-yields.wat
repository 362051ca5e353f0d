;; Guards: call_indirect across yields (yield points `all`).
;;
;; The table index and the arguments are computed from the accumulator and
;; sit on the operand stack at the yield points before each call_indirect;
;; the callees loop too, so suspensions also happen inside an indirect
;; callee.  A wrongly restored index calls another function (or traps on a
;; type mismatch: slot 4 has a different signature and is never the right
;; target), and a restore that loses the callee's frame changes the result.
;; The table is never changed, so no reference values are on the stack and
;; yield points `all` are allowed.
(module
  (import "host" "out_i32" (func $out (param i32)))
  (type $bin (func (param i32 i32) (result i32)))
  (type $other (func (param i64) (result i64)))
  (table 5 funcref)
  (elem (i32.const 0) func $add $sub $mulx $loopy $wrong)
  (func $add (type $bin) (i32.add (local.get 0) (local.get 1)))
  (func $sub (type $bin) (i32.sub (local.get 0) (local.get 1)))
  (func $mulx (type $bin) (i32.xor (i32.mul (local.get 0) (local.get 1)) (i32.const 0x3c3c)))
  (func $loopy (type $bin) (local $i i32)
    (loop $l
      (local.set 0 (i32.rotl (local.get 0) (local.get 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 2))))
    (local.get 0))
  (func $wrong (type $other) (local.get 0))
  (func (export "run") (param $x i32) (result i32) (local $acc i32) (local $i i32)
    (local.set $acc (i32.or (local.get $x) (i32.const 1)))
    (loop $l
      (local.set $acc
        (call_indirect (type $bin)
          (local.get $acc)
          (i32.add (local.get $i) (i32.const 3))
          (i32.rem_u (i32.add (local.get $acc) (local.get $i)) (i32.const 4))))
      (call $out (local.get $acc))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 8))))
    (local.get $acc)))
