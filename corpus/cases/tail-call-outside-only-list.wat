;; Guards: a tail call no suspension can reach is still refused, list or not.
;;
;; The module of tail-call-refused, judged with yield points `loop` and
;; `list=only`: only `run` can reach the suspending import, and the
;; only-list leaves $step (the tail call) uninstrumented.  Binaryen 132
;; still refuses: its Asyncify scans every function for tail calls before
;; it reads any list.  Expected unsupported with that reason; the day a
;; Binaryen release accepts it this case regresses, and should then expect
;; EQUAL.
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
