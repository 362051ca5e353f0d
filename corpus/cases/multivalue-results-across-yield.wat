;; Guards: multi-value function results held across a yield.
;;
;; $split returns four values (i32, i32, i64, f64) after looping (so it
;; suspends before returning them).  "run" leaves all four results on its
;; operand stack and calls $spin, which loops again (suspending with the four
;; results waiting in the caller), then consumes them in an order-sensitive
;; way.  A restore that keeps only the first result of a multi-value call, or
;; loses the tuple temporaries Asyncify creates for it, changes the result.
(module
  (import "host" "out_i32" (func $out (param i32)))
  (func $split (param $x i64) (result i32 i32 i64 f64) (local $i i32) (local $h i64)
    (local.set $h (local.get $x))
    (loop $l
      (local.set $h (i64.add (i64.mul (local.get $h) (i64.const 6364136223846793005)) (i64.const 1442695040888963407)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 3))))
    (i32.wrap_i64 (local.get $h))                                ;; low half
    (i32.wrap_i64 (i64.shr_u (local.get $h) (i64.const 32)))     ;; high half
    (i64.rotl (local.get $h) (i64.const 17))
    (f64.reinterpret_i64 (i64.shr_u (local.get $h) (i64.const 12))))  ;; a positive subnormal/normal f64
  (func $spin (param $n i32) (result i32) (local $i i32)
    (loop $l
      (call $out (local.get $i))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $i))
  (func (export "run") (param $x i64) (result i64)
    (local $lo i32) (local $hi i32) (local $r i64) (local $f f64) (local $s i32)
    (call $split (local.get $x))
    ;; four results on the stack while $spin runs
    (local.set $s (call $spin (i32.const 3)))
    (local.set $f) (local.set $r) (local.set $hi) (local.set $lo)
    (i64.add
      (i64.xor (local.get $r) (i64.reinterpret_f64 (local.get $f)))
      (i64.or (i64.shl (i64.extend_i32_u (i32.sub (local.get $hi) (local.get $s))) (i64.const 32))
              (i64.extend_i32_u (local.get $lo)))))
  ;; the results returned straight out of an export
  (func (export "direct") (param $x i64) (result i32 i32 i64 f64)
    (call $split (local.get $x))))
