;; Guards: select / local.tee / drop sequences with values stacked up
;; (stresses Asyncify's flattening of the operand stack into locals).
;;
;; The function keeps up to seven values of mixed types on the operand
;; stack, and interleaves select (including typed `select (result f64)`),
;; local.tee (a value kept both on the stack and in a local) and drop (values
;; computed and thrown away, including a call with side effects whose result
;; is dropped).  With yield points `all`, suspensions happen at every step.
;; Binaryen flattens these into temporaries; a temporary that is not saved
;; and restored, or a tee whose local and stack copies diverge, changes the
;; result, which combines every surviving value order-sensitively.
(module
  (import "host" "out_i32" (func $out (param i32)))
  (global $calls (mut i32) (i32.const 0))
  (func $side (param $v i32) (result i32) (local $i i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (loop $l
      (local.set $v (i32.rotl (local.get $v) (i32.const 3)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 2))))
    (call $out (local.get $v))
    (local.get $v))
  (func (export "stack") (param $x i32) (result i64)
    (local $t i32) (local $u i64) (local $d f64) (local $k i32)
    (local.get $x)                                      ;; s1: x
    (local.tee $t (i32.mul (local.get $x) (i32.const 3)))   ;; s2: 3x (also in $t)
    (i64.const 0x1234)                                  ;; s3
    (local.tee $u (i64.extend_i32_s (local.get $t)))    ;; s4 (also in $u)
    (drop (call $side (local.get $x)))                  ;; side effect, value dropped
    (f64.const 2.5)                                     ;; s5
    (f64.const -7.75)                                   ;; s6
    (i32.and (local.get $x) (i32.const 1))
    (select (result f64))                               ;; s5/s6 -> one f64
    (local.set $d)                                      ;; pop the f64
    ;; s1 s2 s3 s4 now; choose between s3 and s4 by a tee'd condition
    (local.tee $k (i32.gt_u (local.get $t) (i32.const 1000)))
    (select)                                            ;; s1 s2 s34
    (drop (select (i32.const 5) (call $side (i32.const 9)) (local.get $k)))
    (local.set $u (i64.add (local.get $u)))             ;; $u += s34; stack: s1 s2
    (local.tee $t (i32.sub))                            ;; s1 - s2, also into $t
    (local.get $t)
    (drop)
    (i32.const 77)
    (drop)
    (i64.extend_i32_u)                                  ;; s1 - s2 as i64
    (i64.xor (local.get $u))
    (i64.add (i64.reinterpret_f64 (local.get $d)))
    (i64.add (i64.extend_i32_u (global.get $calls)))))
