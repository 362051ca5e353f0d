;; Binaryen: an `if` that is a branch target, whose condition comes from an
;; unreachable stack, with a `nop` between `unreachable` and the `if`.
;; Valid (the stack after `unreachable` is polymorphic).  Binaryen 121-129
;; read it correctly; 130-132 reject it.  Without the `nop` see
;; corpus/cases/binaryen-if-branch-target-unreachable-condition.wat (121-132).
(module
  (func (export "f") (result i32)
    i64.const 1
    unreachable
    nop
    if (result i32)
      i32.const 1
      br 0
    else
      i32.const 2
    end))
