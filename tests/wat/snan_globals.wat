;; Signalling NaNs in float globals, kept bit-exact across suspensions.
;; Payloads are changed through integer reinterpretation only (no float
;; arithmetic), so every value stays a signalling NaN.  They are emitted
;; through out_f32/out_f64 and returned as f32/f64 results.
(module
  (import "host" "out_f32" (func $out_f32 (param f32)))
  (import "host" "out_f64" (func $out_f64 (param f64)))
  (global $s32 (mut f32) (f32.const nan:0x200001))          ;; 0x7fa00001
  (global $s64 (mut f64) (f64.const nan:0x4000000000001))   ;; 0x7ff4000000000001
  (global $neg32 (export "neg32") (mut f32) (f32.const -nan:0x1))  ;; 0xff800001, exported
  (func $bump
    (global.set $s32 (f32.reinterpret_i32
      (i32.xor (i32.reinterpret_f32 (global.get $s32)) (i32.const 0x2))))
    (global.set $s64 (f64.reinterpret_i64
      (i64.add (i64.reinterpret_f64 (global.get $s64)) (i64.const 1))))
    (global.set $neg32 (f32.reinterpret_i32
      (i32.add (i32.reinterpret_f32 (global.get $neg32)) (i32.const 1)))))
  (func (export "run32") (result f32) (local $i i32)
    (loop $l
      (call $bump)
      (call $out_f32 (global.get $s32))
      (call $out_f64 (global.get $s64))
      (call $out_f32 (global.get $neg32))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 6))))
    (global.get $s32))
  (func (export "run64") (result f64 f32)
    (call $bump)
    (global.get $s64)
    (global.get $neg32)))
