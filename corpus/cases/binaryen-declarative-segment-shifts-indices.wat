;; Guards: a transform that changes behaviour silently is a divergence of
;; the transform itself (A vs B), issue 13.  Binaryen 132 (npm binaryen
;; 132.0.0) skips declarative element segments when it reads a binary, so
;; every later segment index shifts down by one.
;;
;; Segment 0 is declarative (`elem declare`), segments 1 and 2 passive.
;; `run` copies segment 1 ($a, returning 1) into table slot 0 and calls it
;; through `call_indirect`: 1 is the right output (spec: `table.init x`
;; names element segment x, declarative segments included in the index
;; space).  After a plain Binaryen round trip, `table.init 1` names what was
;; segment 2 ($b): the transformed module outputs 2.  Expected verdict:
;; divergent on the transform facets (run A vs run B), never suspended.
;;
;; Affected releases (measured, docs/binaryen/declarative-segment-shifts-indices.md):
;; 119-132, every release that reads `table.init` (earlier ones refuse it).
(module
  (import "host" "out_i32" (func $out (param i32)))
  (type $t (func (result i32)))
  (table 1 funcref)
  (func $a (result i32) i32.const 1)
  (func $b (result i32) i32.const 2)
  (elem declare func $a)
  (elem $first func $a)
  (elem $second func $b)
  (func (export "run")
    (table.init $first (i32.const 0) (i32.const 0) (i32.const 1))
    (call $out (call_indirect (type $t) (i32.const 0)))))
