;; Binaryen drops declarative element segments when it reads a module, so
;; every later element segment index shifts down by one.  Segment 0 is
;; declarative, segments 1 and 2 are passive.  `run` copies segment 1 ($a)
;; into table slot 0 and calls it: the right answer is 1.  After
;; `wasm-opt in.wasm -o out.wasm` (no passes), `table.init 1` names what was
;; segment 2 ($b) and `run` returns 2.
(module
  (type $t (func (result i32)))
  (table 1 funcref)
  (func $a (result i32) i32.const 1)
  (func $b (result i32) i32.const 2)
  (elem declare func $a)
  (elem $first func $a)
  (elem $second func $b)
  (func (export "run") (result i32)
    (table.init $first (i32.const 0) (i32.const 0) (i32.const 1))
    (call_indirect (type $t) (i32.const 0))))
