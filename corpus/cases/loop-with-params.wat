;; Guards: a loop with parameters (`loop (param i32 i64)`) crossing yields.
;;
;; The running state (a counter and a hash) travels as the loop's (i32, i64)
;; parameters: every branch back to the loop passes the new values on the
;; operand stack, so at each loop-header yield the state is on the stack, not
;; in a local (the scratch locals $c/$h are overwritten from the parameters at
;; the top of each iteration).  A nested loop carries a single f64 parameter
;; the same way.  Losing or reordering the parameters on restore changes the
;; emitted values and the (i32, i64, f64) result.
(module
  (import "host" "out_i64" (func $out (param i64)))
  (func (export "run") (param $seed i64) (result i32 i64 f64)
    (local $c i32) (local $h i64) (local $f f64) (local $g f64)
    (i32.const 0)                                        ;; counter
    (local.get $seed)                                    ;; hash
    (loop $l (param i32 i64) (result i32 i64)
      (local.set $h)
      (local.set $c)
      (call $out (local.get $h))
      ;; next counter and hash, pushed as the next iteration's parameters
      (i32.add (local.get $c) (i32.const 1))
      (i64.add (i64.mul (i64.rotl (local.get $h) (i64.const 13)) (i64.const 5))
               (i64.extend_i32_u (local.get $c)))
      ;; inner loop: an f64 parameter multiplied until it exceeds 10
      (f64.convert_i32_u (i32.add (local.get $c) (i32.const 1)))
      (loop $m (param f64) (result f64)
        (f64.mul (f64.const 1.5))
        (local.tee $f)
        (br_if $m (f64.lt (local.get $f) (f64.const 10))))
      (local.set $g (f64.add (local.get $g)))
      ;; back to the top with (counter', hash') as parameters
      (br_if $l (i32.lt_u (local.get $c) (i32.const 4))))
    (local.get $g)))
