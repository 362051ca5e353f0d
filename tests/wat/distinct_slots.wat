;; Two functions of one type whose bodies differ (+7 vs +8) in table slots 0 and 1; the
;; program never calls through the table, so a transform that swaps the slots changes
;; only the table facet.  Even under an optimizing engine that must be a divergence.
(module
  (import "host" "out_i32" (func $out_i32 (param i32)))
  (table 2 funcref)
  (elem (i32.const 0) func $f $h)
  (func $f (param i32) (result i32)
    (i32.add (i32.mul (local.get 0) (i32.const 3)) (i32.const 7)))
  (func $h (param i32) (result i32)
    (i32.add (i32.mul (local.get 0) (i32.const 3)) (i32.const 8)))
  (func (export "run") (param i32)
    (call $out_i32 (local.get 0))))
