;; Guards: traps after resume (integer division by zero late in a loop).
;;
;; The loop divides by a global counting down from 6; the 7th iteration
;; divides by zero, after several suspensions and restores.  The trap (and its
;; code) is part of the compared outcome: a resumed run must trap at the same
;; point with the same code, with the same outputs before it, and the second
;; export must never run (a trap ends the call sequence).
(module
  (import "host" "out_i32" (func $out (param i32)))
  (global $left (mut i32) (i32.const 6))
  (func (export "countdown") (result i32) (local $acc i32)
    (loop $l
      (call $out (global.get $left))
      (local.set $acc (i32.add (local.get $acc) (i32.div_s (i32.const 1000) (global.get $left))))
      (call $out (local.get $acc))
      (global.set $left (i32.sub (global.get $left) (i32.const 1)))
      (br $l))
    (local.get $acc))
  (func (export "never") (result i32)
    (call $out (i32.const -1))
    (i32.const 1)))
