;; Tables across yields: table.grow, table.init from a passive segment,
;; elem.drop, table.set/table.get rotations, a funcref global and call_indirect.
;; Reference values on the operand stack rule out `--yield-points all` (Binaryen
;; Asyncify refuses them); run with `--yield-points loop,call`.
(module
  (import "host" "out_i32" (func $out (param i32)))
  (type $op (func (param i32) (result i32)))
  (table $t 2 funcref)
  (elem (table $t) (i32.const 0) func $inc $dbl)
  (elem $late func $neg $sq)
  (global $fn (mut funcref) (ref.null func))
  (func $inc (type $op) (i32.add (local.get 0) (i32.const 1)))
  (func $dbl (type $op) (i32.mul (local.get 0) (i32.const 2)))
  (func $neg (type $op) (i32.sub (i32.const 0) (local.get 0)))
  (func $sq (type $op) (i32.mul (local.get 0) (local.get 0)))
  (func (export "rewire") (result i32) (local $i i32) (local $acc i32)
    (local.set $acc (i32.const 3))
    ;; grow by 2 slots, then overwrite slot 2 from the passive segment and drop it
    (drop (table.grow $t (ref.func $sq) (i32.const 2)))
    (table.init $t $late (i32.const 2) (i32.const 0) (i32.const 1))
    (elem.drop $late)
    (loop $l
      (local.set $acc (call_indirect $t (type $op) (local.get $acc)
                        (i32.rem_u (local.get $i) (table.size $t))))
      (call $out (local.get $acc))
      ;; rotate: slot i%4 now holds what slot (i+1)%4 held
      (table.set $t (i32.rem_u (local.get $i) (i32.const 4))
        (table.get $t (i32.rem_u (i32.add (local.get $i) (i32.const 1)) (i32.const 4))))
      (global.set $fn (table.get $t (i32.const 0)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 10))))
    (local.get $acc))
  (func (export "use_global") (result i32)
    (table.set $t (i32.const 1) (global.get $fn))
    (call_indirect $t (type $op) (i32.const 5) (i32.const 1)))
  ;; the segment was dropped before the suspensions: a non-empty init traps
  (func (export "reinit")
    (call $out (i32.const -1))
    (table.init $t $late (i32.const 0) (i32.const 0) (i32.const 1))
    (call $out (i32.const -2))))
