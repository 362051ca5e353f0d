;; corpus case taken from finding global+memory-3320e800634b
(module
  (import "host" "out_i32" (func $out_i32 (param i32)))
  (import "host" "in_i32" (func $in_i32 (result i32)))
  (memory $mem 1 8)
  (data $p0 "\00")
  (func $f0 (export "f0")
    (data.drop $p0)
    (call $out_i32 (call $in_i32))
    (memory.init $p0 (i32.const 0) (i32.const 0) (i32.const 1))))
