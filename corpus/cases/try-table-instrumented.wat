;; Guards: try_table in a function Asyncify instruments is refused with a reason (exit 3).
;;
;; $guarded wraps an indirect call in a try_table.  No function in the table
;; can reach a yield point (yield points `loop`: only `run` has one), but
;; without a list Binaryen's Asyncify instruments every function that makes
;; an indirect call, and the flatten pass it runs on each instrumented
;; function does not handle try_table: Binaryen aborts.  The refusal must
;; say why (try_table, where Asyncify instruments), and it is not an engine
;; defect.  try-table-outside-only-list is the same module under
;; `list=only`, which leaves $guarded uninstrumented: judged EQUAL.
(module
  (type $t (func (param i32) (result i32)))
  (table 2 funcref)
  (elem (i32.const 0) func $double $negate)
  (global $acc (mut i32) (i32.const 0))
  (func $double (type $t) (i32.shl (local.get 0) (i32.const 1)))
  (func $negate (type $t) (i32.sub (i32.const 0) (local.get 0)))
  (func $guarded (param $x i32) (result i32)
    (block $caught
      (try_table (catch_all $caught)
        (local.set $x (call_indirect (type $t) (local.get $x) (i32.and (local.get $x) (i32.const 1)))))
      (return (local.get $x)))
    (i32.const -1))
  (func (export "run") (param $n i32) (result i32) (local $i i32)
    (loop $l
      (global.set $acc (i32.add (i32.mul (global.get $acc) (i32.const 3))
                                (call $guarded (i32.add (local.get $i) (local.get $n)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 6))))
    (global.get $acc)))
