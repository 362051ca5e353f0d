;; Guards: an engine defect stays recorded as one (issue 13).  Binaryen 132
;; (npm binaryen 132.0.0) rejects this valid module.
;;
;; An `if` with a block parameter whose condition comes from an unreachable
;; (polymorphic) stack.  After `unreachable` every operand is polymorphic, so
;; the condition and the i32 parameter are both available: wasm-tools and
;; wasmtime validate the module (spec: instruction sequences after
;; `unreachable` are typed against a polymorphic stack).  Binaryen's binary
;; reader pops the parameter after the condition and picks up the stale f32
;; below `unreachable` with no type check, then its own validator refuses the
;; result: "local.set's value type must be correct".  (When the stale value
;; has the parameter's type the module is accepted but reads a wrong value.)
;; Expected verdict: engine defect (`resumefuzz check` exit 5); replay flags
;; the day Binaryen reads it.
;;
;; Affected releases (measured, docs/binaryen/if-param-unreachable-condition.md):
;; `wasm-opt` on this module rejects it in 121-132; as this case judges it
;; (yield-point calls between `unreachable` and `if`) 130-132, recorded as
;; `affected_versions` (121-129 read that form correctly).
(module
  (func (export "f") (result i32)
    f32.const 0
    unreachable
    if (param i32) (result i32)
    else
    end))
