(module
  (import "host" "out_i32" (func $out_i32 (param i32)))
  (import "host" "out_f32" (func $out_f32 (param f32)))
  (func $f0 (export "f0") (param $d i32) (param $p1 i32) (param $p2 i32)
    (local $l0 i32) (local $l1 i32) (local $c0 i32) (local $l2 f32)
    (local.set $l0 (local.get $d))
    (local.set $l1 (local.get $d))
    (local.set $c0 (i32.const 0))
    (f32.const 0)
    (loop $L0 (param f32) (result f32)
      (f32.const nan:0x200001)
      f32.add
      (br_if $L0 (i32.lt_u (local.tee $c0 (i32.add (local.get $c0) (i32.const 1))) (i32.const 3))))
    local.set $l2
    (if (i32.lt_u (i32.sub (local.get $d) (i32.const 1)) (i32.const 63))
      (then
        (call $f0 (i32.sub (local.get $d) (i32.const 1)) (i32.const 0) (local.get $d))))
    (call $out_i32 (local.get $d))
    (call $out_i32 (local.get $p1))
    (call $out_i32 (local.get $p2))
    (call $out_i32 (local.get $l0))
    (call $out_i32 (local.get $l1))
    (call $out_f32 (local.get $l2)))
  (func $f1))
