;; Guards: a tail call is refused with Binaryen's reason (exit 3, not a defect).
;;
;; $step ends in return_call and runs with a yield point (yield points
;; `all`), so it can unwind.  Binaryen's Asyncify refuses every module with a
;; tail call ("tail calls not yet supported in asyncify"): the refusal must
;; carry that reason and stay `unsupported`.
(module
  (global $acc (mut i32) (i32.const 0))
  (func $twice (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  (func $step (param i32) (result i32)
    (return_call $twice (i32.add (local.get 0) (i32.const 1))))
  (func (export "run") (param $n i32) (result i32) (local $i i32)
    (loop $l
      (global.set $acc (i32.add (global.get $acc) (call $step (i32.add (local.get $i) (local.get $n)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 4))))
    (global.get $acc)))
