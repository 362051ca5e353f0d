;; A loop calling a helper that mixes into memory and a global, asking the host for input every 8th
;; iteration: long enough (~0.1-0.3 s) for a control thread to raise the flag tens of times (issue 15).
;; Caught whatever the thread's timing: a flag never cleared (spurious suspension after the first one),
;; and a flag read or written non-atomically (the prepared module's flag audit, no run needed).
(module
  (import "host" "in_i32" (func $in (result i32)))
  (import "host" "out_i64" (func $out (param i64)))
  (memory 1)
  (global $acc (mut i64) (i64.const 7))
  (func $mix (param $i i32) (result i32)
    (local $x i32)
    (local.set $x (i32.mul (local.get $i) (i32.const 0x9e3779b1)))
    (if (i32.eqz (i32.and (local.get $i) (i32.const 7)))
      (then (local.set $x (i32.xor (local.get $x) (call $in)))))
    (i32.store (i32.and (i32.shl (local.get $i) (i32.const 2)) (i32.const 0xfffc))
      (i32.xor (local.get $x) (i32.load (i32.const 64))))
    (global.set $acc (i64.add (i64.rotl (global.get $acc) (i64.const 5)) (i64.extend_i32_u (local.get $x))))
    (local.get $x))
  (func (export "run") (result i64)
    (local $i i32) (local $sum i32)
    (loop $l
      (local.set $sum (i32.add (local.get $sum) (call $mix (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 20000))))
    (call $out (global.get $acc))
    (i64.extend_i32_u (local.get $sum))))
