;; Guards: try_table where no suspension can reach, under `list=only` (EQUAL).
;;
;; The module of try-table-instrumented.  With yield points `loop` only
;; `run` can reach the suspending import; the call-graph only-list names
;; `run` and the harness's yield function, so $guarded, which holds the
;; try_table and an indirect call, is left uninstrumented and Binaryen
;; transforms the module.  An only-list that wrongly dropped `run` would
;; break every resume (the case catches wrong-list).
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
