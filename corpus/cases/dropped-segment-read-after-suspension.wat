;; Guards: a data segment and an element segment dropped before suspensions
;; stay dropped in the restored instance.
;;
;; "drop_then_loop" copies the passive data segment $msg into memory, sets a
;; table slot from the passive element segment $fns, drops both, then loops
;; (suspending) over what it copied.  "read_again" runs after the suspensions:
;; memory.init from the dropped $msg must trap (out of bounds), as in the
;; straight runs.  A fresh instance has every segment again, so a restore
;; that does not replay the drops (forget-drops) lets the init succeed: the
;; call returns instead of trapping and writes memory.  "init_elem_again"
;; checks the same for table.init of the dropped element segment.
(module
  (import "host" "out_i32" (func $out (param i32)))
  (type $op (func (param i32) (result i32)))
  (memory 1 1)
  (table $t 2 funcref)
  (data $msg "suspend me")
  (elem $fns func $inc)
  (func $inc (type $op) (i32.add (local.get 0) (i32.const 1)))
  (func (export "drop_then_loop") (local $i i32)
    (memory.init $msg (i32.const 0) (i32.const 0) (i32.const 10))
    (table.init $t $fns (i32.const 0) (i32.const 0) (i32.const 1))
    (data.drop $msg)
    (elem.drop $fns)
    (loop $l
      (call $out (call_indirect $t (type $op) (i32.load8_u (local.get $i)) (i32.const 0)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 10)))))
  (func (export "read_again")
    (call $out (i32.const -1))
    (memory.init $msg (i32.const 100) (i32.const 0) (i32.const 10))
    (call $out (i32.load8_u (i32.const 100))))
  (func (export "init_elem_again")
    (call $out (i32.const -2))
    (table.init $t $fns (i32.const 1) (i32.const 0) (i32.const 1))
    (call $out (call_indirect $t (type $op) (i32.const 41) (i32.const 1)))))
