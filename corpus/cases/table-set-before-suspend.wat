;; Guards: tables changed by table.set before a suspension and used by
;; call_indirect after it.
;;
;; Before the loop, "run" rewires the table with table.set (slot 0 gets $sq,
;; slot 2 gets what slot 1 held) and inside the loop it rotates one slot per
;; iteration.  Every iteration reaches the table through call_indirect after
;; the yield point, so a restore that writes table entries back wrongly (or
;; not at all, leaving the element segment's initial contents) calls a
;; different function: the outputs, the result and the final table differ.
;; Reference values (ref.func, table.get) sit on the operand stack, which
;; Asyncify refuses at yield points: run with yield points `loop,call`.
(module
  (import "host" "out_i32" (func $out (param i32)))
  (type $op (func (param i32) (result i32)))
  (table $t 4 funcref)
  (elem (table $t) (i32.const 0) func $inc $dbl $inc $neg)
  (elem declare func $sq)
  (func $inc (type $op) (i32.add (local.get 0) (i32.const 1)))
  (func $dbl (type $op) (i32.mul (local.get 0) (i32.const 2)))
  (func $neg (type $op) (i32.sub (i32.const 0) (local.get 0)))
  (func $sq (type $op) (i32.add (i32.mul (local.get 0) (local.get 0)) (i32.const 3)))
  (func (export "run") (result i32) (local $i i32) (local $acc i32)
    (local.set $acc (i32.const 2))
    (table.set $t (i32.const 0) (ref.func $sq))
    (table.set $t (i32.const 2) (table.get $t (i32.const 1)))
    (loop $l
      (local.set $acc (call_indirect $t (type $op) (local.get $acc) (i32.and (local.get $i) (i32.const 3))))
      (call $out (local.get $acc))
      ;; rotate: slot i%4 takes what slot (i+1)%4 holds
      (table.set $t (i32.and (local.get $i) (i32.const 3))
        (table.get $t (i32.and (i32.add (local.get $i) (i32.const 1)) (i32.const 3))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 7))))
    (local.get $acc)))
