;; Guards: values on the caller's operand stack across a call whose callee
;; suspends.
;;
;; Yield points are only at loop headers, and the only loop is in $inner, so
;; every suspension happens two calls deep: $middle has an i64 on its operand
;; stack, and "run" has an i32 and an f64 on its own, all waiting for the
;; calls to return.  Asyncify must save each frame's pending operands, not
;; only the innermost frame.  Every pending value feeds the exported i64
;; result, so a lost caller operand changes it.
(module
  (import "host" "out_i32" (func $out (param i32)))
  ;; the suspending callee: loops (crossing yield points) and returns a hash
  (func $inner (param $n i32) (result i32) (local $i i32) (local $h i32)
    (local.set $h (i32.const 5381))
    (loop $l
      (local.set $h (i32.xor (i32.mul (local.get $h) (i32.const 33)) (i32.add (local.get $n) (local.get $i))))
      (call $out (local.get $h))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 5))))
    (local.get $h))
  ;; (x << 32) | inner(x + 3): the shifted value waits on the stack
  (func $middle (param $x i32) (result i64)
    (i64.shl (i64.extend_i32_u (local.get $x)) (i64.const 32))
    (i64.extend_i32_u (call $inner (i32.add (local.get $x) (i32.const 3))))
    (i64.or))
  (func (export "run") (param $x i32) (result i64) (local $r i64) (local $t i64)
    ;; k and d wait on the stack across the call to $middle
    (i32.xor (local.get $x) (i32.const 0x55aa55aa))                 ;; k
    (f64.const -0x1.23456789abcdep+100)                              ;; d
    (call $middle (local.get $x))                                    ;; r
    ;; stack: k d r  ->  result = extend(k) + (bits(d) ^ r)
    (local.set $r)
    (i64.reinterpret_f64)
    (i64.xor (local.get $r))
    (local.set $t)
    (i64.extend_i32_u)
    (i64.add (local.get $t))))
