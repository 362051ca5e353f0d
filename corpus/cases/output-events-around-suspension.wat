;; Guards: host output events before and after suspensions.
;;
;; The recorded output sequence is part of the observable behaviour: a
;; restore must neither drop events recorded before the snapshot, nor record
;; them twice, nor reorder them.  Every loop iteration emits one event of each
;; type (i32, i64, f32, f64), each value distinct (derived from the counter),
;; with yield points between the calls, so any lost or duplicated event shifts
;; the whole sequence.
(module
  (import "host" "out_i32" (func $o32 (param i32)))
  (import "host" "out_i64" (func $o64 (param i64)))
  (import "host" "out_f32" (func $of32 (param f32)))
  (import "host" "out_f64" (func $of64 (param f64)))
  (func (export "run") (local $i i32)
    (call $o32 (i32.const -1))                            ;; before any suspension
    (loop $l
      (call $o32 (i32.mul (local.get $i) (i32.const 0x1111)))
      (call $o64 (i64.shl (i64.extend_i32_u (i32.add (local.get $i) (i32.const 1))) (i64.const 40)))
      (call $of32 (f32.convert_i32_s (i32.sub (i32.const -3) (local.get $i))))
      (call $of64 (f64.div (f64.const 1) (f64.convert_i32_u (i32.add (local.get $i) (i32.const 3)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 5))))
    (call $o32 (i32.const 0x7fffffff))))                  ;; after every suspension
