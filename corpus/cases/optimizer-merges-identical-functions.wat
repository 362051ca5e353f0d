;; Guards the transform policy for function identity (issue 10): with Binaryen's
;; optimizer after --asyncify, duplicate-function-elimination merges $f and $g
;; (identical bodies), so in B table slot 1, the funcref global $fp and the result
;; of "pick" name $f where A names $g.  A program cannot observe funcref identity:
;; under an optimizing engine A vs B compares function references by body (two
;; functions with identical bodies are the same value) and says so in a note.
;; B vs C stays strict.  Neither function has a loop, so `loop` yield points leave
;; their bodies identical; the loop in "run" suspends between indirect calls
;; through both slots and a slot written from the global.
(module
  (import "host" "out_i32" (func $out_i32 (param i32)))
  (table 4 funcref)
  (elem (i32.const 0) func $f $g)
  (global $fp (mut funcref) (ref.func $g))
  (global $sum (mut i32) (i32.const 0))
  (func $f (param i32) (result i32)
    (i32.add (i32.mul (local.get 0) (i32.const 3)) (i32.const 7)))
  (func $g (param i32) (result i32)
    (i32.add (i32.mul (local.get 0) (i32.const 3)) (i32.const 7)))
  (func (export "pick") (result funcref)
    (ref.func $g))
  (func (export "run") (result i32)
    (local $i i32)
    (table.set (i32.const 2) (global.get $fp))
    (loop $l
      (global.set $sum (i32.add (global.get $sum)
        (call_indirect (param i32) (result i32) (local.get $i) (i32.rem_u (local.get $i) (i32.const 3)))))
      (call $out_i32 (global.get $sum))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 6))))
    (global.get $sum)))
