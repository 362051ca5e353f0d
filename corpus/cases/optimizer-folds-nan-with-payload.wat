;; corpus case taken from finding output-7357425c4e12
(module
  (import "host" "out_f32" (func $out_f32 (param f32)))
  (func $f0 (export "f0") (result f32)
    (local $c0 i32) (local $l0 f32)
    (local.set $c0 (i32.const 0))
    (f32.const 0)
    (loop $L0 (param f32) (result f32)
      (f32.const nan:0x200001)
      f32.add
      (br_if $L0 (i32.lt_u (local.tee $c0 (i32.add (local.get $c0) (i32.const 1))) (i32.const 1))))
    local.set $l0
    (call $out_f32 (local.get $l0))
    (f32.const 0))
  (func $start
    (local $l0 i32) (local $l1 i64) (local $l2 i32)
    (local.set $l0 (i32.const 0))
    (local.set $l1 (i64.const 0))
    (local.set $l2 (i32.const 0))
    (call $out_f32 (f32.demote_f64 (f64.const nan:0x4000000000001))))
  (start $start))
