;; Guards: saturating float-to-int truncation (trunc_sat) of values that live
;; across yields, including NaN, infinities, -0.0 and out-of-range values.
;;
;; A table of f64 inputs in memory is converted with every f64 trunc_sat
;; variant (and, demoted to f32, with two f32 ones).  Each input is loaded
;; into a local before the yield points and converted after them (with `all`
;; yield points it is also on the operand stack at a yield, right before each
;; conversion).  A float restored with a changed value (a NaN turned into a
;; number, a value just inside a saturation boundary moved across it) changes
;; the emitted integers and the i64 result.
(module
  (import "host" "out_i32" (func $out32 (param i32)))
  (import "host" "out_i64" (func $out64 (param i64)))
  (memory 1)
  ;; f64 inputs at 0: sNaN 0x7ff4000000000001, +inf, -inf, 2^31 - 0.5, -2^31 - 1, 2^63, -0.0,
  ;; 2^32 - 0.25
  (data (i32.const 0)
    "\01\00\00\00\00\00\f4\7f" "\00\00\00\00\00\00\f0\7f" "\00\00\00\00\00\00\f0\ff"
    "\00\00\e0\ff\ff\ff\df\41" "\00\00\20\00\00\00\e0\c1" "\00\00\00\00\00\00\e0\43"
    "\00\00\00\00\00\00\00\80" "\00\00\f8\ff\ff\ff\ef\41")
  (func (export "run") (result i64) (local $i i32) (local $d f64) (local $acc i64)
    (loop $l
      (local.set $d (f64.load (i32.shl (local.get $i) (i32.const 3))))
      (call $out32 (i32.trunc_sat_f64_s (local.get $d)))
      (call $out32 (i32.trunc_sat_f64_u (local.get $d)))
      (call $out64 (i64.trunc_sat_f64_s (local.get $d)))
      (call $out64 (i64.trunc_sat_f64_u (local.get $d)))
      ;; the f32 view of the same input (demotion of a NaN is not bit-exact,
      ;; but its truncation is always 0)
      (call $out32 (i32.trunc_sat_f32_s (f32.demote_f64 (local.get $d))))
      (call $out64 (i64.trunc_sat_f32_u (f32.demote_f64 (local.get $d))))
      (local.set $acc (i64.add (i64.rotl (local.get $acc) (i64.const 5))
                               (i64.trunc_sat_f64_s (local.get $d))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 8))))
    (local.get $acc)))
