;; Guards: NaN payloads in host outputs (out_f32/out_f64) around suspensions.
;;
;; Signalling NaN bit patterns are loaded from memory with f32.load/f64.load
;; (loads and stores are bit-exact) or built with reinterpret, and passed to
;; out_f32/out_f64 in a loop that yields between the outputs.  The output
;; sequence is compared bit for bit: an event recorded through a host float,
;; or re-emitted after a restore, or lost by a restore, shows as a different
;; event sequence.
(module
  (import "host" "out_f32" (func $out_f32 (param f32)))
  (import "host" "out_f64" (func $out_f64 (param f64)))
  (memory 1)
  ;; f32 at 0: 0x7fa00001 (sNaN), 4: 0xff800001 (-sNaN), 8: 0x7f800001 (sNaN, payload 1),
  ;;       12: 0x7fc00000 (qNaN)
  (data (i32.const 0) "\01\00\a0\7f" "\01\00\80\ff" "\01\00\80\7f" "\00\00\c0\7f")
  ;; f64 at 16: 0x7ff4000000000001 (sNaN), 24: 0xfff0000000000abc (-sNaN)
  (data (i32.const 16) "\01\00\00\00\00\00\f4\7f" "\bc\0a\00\00\00\00\f0\ff")
  (func (export "emit") (local $i i32)
    (loop $l
      (call $out_f32 (f32.load (i32.shl (i32.and (local.get $i) (i32.const 3)) (i32.const 2))))
      (call $out_f64 (f64.load (i32.add (i32.const 16) (i32.shl (i32.and (local.get $i) (i32.const 1)) (i32.const 3)))))
      ;; a payload that changes each iteration: 0x7f800000 | (i + 1)
      (call $out_f32 (f32.reinterpret_i32 (i32.or (i32.const 0x7f800000) (i32.add (local.get $i) (i32.const 1)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 5)))))
  ;; a loaded sNaN stored back elsewhere, then emitted from there
  (func (export "copy") (result f64)
    (f32.store (i32.const 64) (f32.load (i32.const 8)))
    (f64.store (i32.const 72) (f64.load (i32.const 24)))
    (call $out_f32 (f32.load (i32.const 64)))
    (call $out_f64 (f64.load (i32.const 72)))
    (f64.load (i32.const 72))))
