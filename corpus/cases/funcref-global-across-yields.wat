;; Guards: a mutable funcref global (and a funcref table slot) restored into
;; a fresh instance by function identity.
;;
;; A funcref value is an instance-specific reference: a restore cannot copy
;; bits, it must map the saved function to the same function of the new
;; instance (and null to null).  $fn is null at first, is set from the table
;; before the loop and rotated through three functions inside it; after every
;; yield the loop stores $fn into table slot 3 and calls it through
;; call_indirect, so a global restored to another function, to null (call
;; to a null slot traps) or left at its initial value changes the outputs,
;; the result, the final global and the final table.  Reference values sit on
;; the operand stack: run with yield points `loop,call`.
(module
  (import "host" "out_i32" (func $out (param i32)))
  (type $op (func (param i32) (result i32)))
  (table $t 4 funcref)
  (elem (table $t) (i32.const 0) func $inc $dbl $rot)
  (global $fn (mut funcref) (ref.null func))
  (func $inc (type $op) (i32.add (local.get 0) (i32.const 1)))
  (func $dbl (type $op) (i32.mul (local.get 0) (i32.const 2)))
  (func $rot (type $op) (i32.rotl (local.get 0) (i32.const 9)))
  (func (export "run") (result i32) (local $i i32) (local $acc i32)
    (local.set $acc (i32.const 5))
    (global.set $fn (table.get $t (i32.const 1)))
    (loop $l
      (table.set $t (i32.const 3) (global.get $fn))
      (local.set $acc (call_indirect $t (type $op) (local.get $acc) (i32.const 3)))
      (call $out (local.get $acc))
      ;; next function: slot (i + 2) % 3
      (global.set $fn (table.get $t (i32.rem_u (i32.add (local.get $i) (i32.const 2)) (i32.const 3))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 7))))
    (local.get $acc))
  ;; a second export: is $fn (as left by "run") null?
  (func (export "is_null") (result i32)
    (ref.is_null (global.get $fn))))
