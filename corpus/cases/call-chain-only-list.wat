;; Guards: Asyncify's list options derived from the call graph (`list=only`).
;;
;; Suspensions happen four calls deep: run -> $outer -> $middle (directly,
;; and through a call_indirect whose table also holds $never) -> $leaf,
;; with $even/$odd recursing into each other below $outer, and locals and
;; operands live in every frame.  Yield points `call` put a yield point after
;; every call, so every caller can reach the suspending import and leaves
;; do not: $leaf and $never have none, and $unused is never called.
;; The only-list must name every function on the unwind path: wrong-list
;; drops `run` (the function the export's wrapper calls), which then runs on
;; after its callee unwound and again from its start on the rewind.
(module
  (import "host" "out_i32" (func $out (param i32)))
  (type $t (func (param i32) (result i32)))
  (table 2 funcref)
  (elem (i32.const 0) func $middle $never)
  (global $calls (mut i32) (i32.const 0))
  (func $leaf (param $x i32) (result i32)
    (i32.xor (i32.mul (local.get $x) (i32.const 0x9e3779b1)) (i32.const 0x55)))
  (func $never (type $t) (i32.const -1))
  (func $unused (result i32) (call $leaf (i32.const 3)))
  (func $middle (type $t) (local $keep i32)
    (local.set $keep (i32.add (local.get 0) (i32.const 7)))
    (i32.add (local.get $keep) (call $leaf (local.get 0))))
  (func $even (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (i32.const 1))
      (else (i32.add (i32.const 2) (call $odd (i32.sub (local.get $n) (i32.const 1)))))))
  (func $odd (param $n i32) (result i32)
    (if (result i32) (i32.eqz (local.get $n))
      (then (call $middle (i32.const 0)))
      (else (i32.mul (i32.const 3) (call $even (i32.sub (local.get $n) (i32.const 1)))))))
  (func $outer (param $x i32) (result i32) (local $a i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (local.set $a (call $middle (local.get $x)))
    (call $out (local.get $a))
    (i32.add
      (i32.add (local.get $a) (call_indirect (type $t) (local.get $x) (i32.const 0)))
      (call $even (i32.and (local.get $x) (i32.const 3)))))
  (func (export "run") (param $n i32) (result i32)
    (i32.add (call $outer (local.get $n)) (call $outer (i32.add (local.get $n) (i32.const 1))))))
