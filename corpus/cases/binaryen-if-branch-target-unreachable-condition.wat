;; Guards: an engine defect stays recorded as one (issue 13).  Binaryen 132
;; (npm binaryen 132.0.0) rejects this valid module.
;;
;; An `if` that is a branch target (`br 0` inside it) whose condition comes
;; from an unreachable stack.  Valid: after `unreachable` the stack is
;; polymorphic, and the i64 below it is simply left there (the function's
;; end is unreachable).  Binaryen wraps the `if` in a labelled block of the
;; `if`'s own type (i32), which hides the `if`'s unreachable type, so the i64
;; below it is never dropped and its validator refuses its own reading:
;; "non-final block elements returning a value must be dropped" (with an
;; operator after the `if`: "binary child types must be equal").
;; Expected verdict: engine defect (`resumefuzz check` exit 5).
;;
;; Affected releases (measured, docs/binaryen/if-branch-target-unreachable-condition.md):
;; `wasm-opt` on this module (binary) rejects it in 121-132; as this case
;; judges it (yield-point calls between `unreachable` and `if`) 130-132,
;; recorded as `affected_versions` (121-129 read that form correctly).
(module
  (func (export "f") (result i32)
    i64.const 1
    unreachable
    if (result i32)
      i32.const 1
      br 0
    else
      i32.const 2
    end))
