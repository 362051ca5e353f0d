;; Guards: NaN payloads in float globals, above all the f32 signalling NaN.
;;
;; A restore that writes a float global through a host float (e.g. a Python
;; float via wasmtime-py's Global.set_value) quiets an f32 signalling NaN:
;; f32 -> double -> f32 sets the quiet bit (0x7fa00001 becomes 0x7fe00001).
;; $s32 holds an sNaN from the start; the loop changes its payload with
;; integer operations only (no float arithmetic, which may canonicalize NaNs)
;; and emits it after every yield, so a quieted value shows in the outputs, the
;; final globals and the f32 result.  An f64 sNaN and a negative f32 sNaN ride
;; along (on x86-64 the f64 round trip alone would keep its bits, which is why
;; the f32 one is the essential witness for `faulty:quiet-nan`).
(module
  (import "host" "out_f32" (func $out_f32 (param f32)))
  (import "host" "out_f64" (func $out_f64 (param f64)))
  (global $s32 (mut f32) (f32.const nan:0x200001))          ;; 0x7fa00001
  (global $s64 (mut f64) (f64.const nan:0x4000000000001))   ;; 0x7ff4000000000001
  (global $neg32 (export "neg32") (mut f32) (f32.const -nan:0x1))  ;; 0xff800001
  (func $bump
    ;; flip payload bits, never the quiet bit (0x00400000)
    (global.set $s32 (f32.reinterpret_i32
      (i32.xor (i32.reinterpret_f32 (global.get $s32)) (i32.const 0x2))))
    (global.set $s64 (f64.reinterpret_i64
      (i64.add (i64.reinterpret_f64 (global.get $s64)) (i64.const 1))))
    (global.set $neg32 (f32.reinterpret_i32
      (i32.add (i32.reinterpret_f32 (global.get $neg32)) (i32.const 1)))))
  (func (export "run") (result f32) (local $i i32)
    (loop $l
      (call $bump)
      (call $out_f32 (global.get $s32))
      (call $out_f64 (global.get $s64))
      (call $out_f32 (global.get $neg32))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 4))))
    (global.get $s32)))
