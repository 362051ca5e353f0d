;; Multi-value loops and blocks: (i32, i64) pairs live on the operand stack
;; across loop iterations, block boundaries and calls.  With yield points at
;; every instruction boundary, suspensions happen with these values on the stack.
(module
  (import "host" "out_i64" (func $out (param i64)))
  ;; (a, b, k) -> (a*31 + k, rotl(b, 9) + a); emits rotl(b, 9)
  (func $mix (param $a i32) (param $b i64) (param $k i32) (result i32 i64)
    (i32.add (i32.mul (local.get $a) (i32.const 31)) (local.get $k))
    (i64.add (i64.rotl (local.get $b) (i64.const 9)) (i64.extend_i32_u (local.get $a)))
    (call $out (i64.rotl (local.get $b) (i64.const 9))))
  (func (export "fold") (param $seed i32) (result i32 i64)
    (local $n i32)
    (local.set $n (i32.const 12))
    (local.get $seed)
    (i64.const 0x0123456789abcdef)
    ;; the loop carries (i32, i64) from one iteration to the next
    (loop $l (param i32 i64) (result i32 i64)
      ;; a block whose result lands on top of the carried pair
      (block (param i32 i64) (result i32 i64 i32)
        (i32.add (local.get $n) (i32.const 7)))
      (call $mix)
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (local.get $n)))
    ;; a block that takes the pair and changes its top
    (block (param i32 i64) (result i32 i64)
      (i64.const 1)
      (i64.xor)))
  ;; three values (one a NaN with a payload) pass through a block and a loop
  (func (export "pass_through") (result i32 i64 f64)
    (i32.const 3) (i64.const -1) (f64.const nan:0x8000000000001)
    (block (param i32 i64 f64) (result i32 i64 f64)
      (loop (param i32 i64 f64) (result i32 i64 f64)))))
