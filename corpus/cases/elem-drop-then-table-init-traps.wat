;; Guards: elem.drop before a snapshot; table.init afterwards must trap the
;; same way, and table.init'ed entries must survive restores.
;;
;; A passive element segment initializes two table slots and is dropped
;; before the loop that suspends.  A fresh instance would have the segment
;; again; the harness records elem.drop and replays it after restore, so the
;; expected verdict is EQUAL: "reinit" must trap (table out of bounds) in
;; every run, after emitting -1 but not -2.  The slots written by table.init
;; are called through call_indirect after every suspension, so entries lost
;; or corrupted by a restore change the outputs.  No reference value is ever
;; on the operand stack (table.init and call_indirect take i32 operands), so
;; yield points `all` are allowed.
(module
  (import "host" "out_i32" (func $out (param i32)))
  (type $op (func (param i32) (result i32)))
  (table $t 4 funcref)
  (elem (table $t) (i32.const 0) func $one $two)
  (elem $late func $three $four)
  (func $one (type $op) (i32.add (local.get 0) (i32.const 1)))
  (func $two (type $op) (i32.mul (local.get 0) (i32.const 3)))
  (func $three (type $op) (i32.xor (local.get 0) (i32.const 0x333)))
  (func $four (type $op) (i32.sub (local.get 0) (i32.const 4)))
  (func (export "setup") (result i32) (local $i i32) (local $acc i32)
    (table.init $t $late (i32.const 2) (i32.const 0) (i32.const 2))
    (elem.drop $late)
    (loop $l
      (local.set $acc (call_indirect $t (type $op) (local.get $acc) (i32.and (local.get $i) (i32.const 3))))
      (call $out (local.get $acc))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 6))))
    (local.get $acc))
  (func (export "reinit")
    (call $out (i32.const -1))
    ;; zero-length init of the dropped segment is allowed
    (table.init $t $late (i32.const 0) (i32.const 0) (i32.const 0))
    (table.init $t $late (i32.const 0) (i32.const 0) (i32.const 1))
    (call $out (i32.const -2))))
