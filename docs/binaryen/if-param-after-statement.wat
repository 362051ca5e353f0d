;; Binaryen: an `if` with a block parameter whose condition comes from an
;; unreachable stack, with a `nop` between `unreachable` and the `if`.
;; Valid (the stack after `unreachable` is polymorphic).  Binaryen 121-129
;; read it correctly; 130-132 reject it.  Without the `nop` see
;; corpus/cases/binaryen-if-param-unreachable-condition.wat (121-132).
(module
  (func (export "f") (result i32)
    f32.const 0
    unreachable
    nop
    if (param i32) (result i32)
    else
    end))
