;; Outputs and a global on both sides of a few suspensions, each restored in another process: the
;; restoring side must load the very module the snapshot names and carry the host state across.
(module
  (import "host" "out_i32" (func $out (param i32)))
  (global $acc (mut i32) (i32.const 5))
  (func (export "run") (result i32)
    (local $i i32)
    (loop $l
      (global.set $acc (i32.add (i32.mul (global.get $acc) (i32.const 3)) (local.get $i)))
      (call $out (global.get $acc))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 12))))
    (global.get $acc)))
