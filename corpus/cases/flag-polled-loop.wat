;; A loop that outputs and writes memory address 0 on every iteration, prepared in yield-point mode flag:
;; each scheduled crossing sets the flag, the resume clears it. A flag never cleared suspends again at
;; the next crossing (spurious), a flag placed at byte 0 of the program's memory is set by the program.
(module
  (import "host" "out_i32" (func $out (param i32)))
  (memory 1)
  (func (export "run") (result i32)
    (local $i i32)
    (loop $l
      (i32.store8 (i32.const 0) (i32.and (local.get $i) (i32.const 1)))
      (call $out (i32.load (i32.const 0)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 40))))
    (local.get $i)))
