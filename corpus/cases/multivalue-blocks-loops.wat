;; Guards: multi-value blocks and loops carrying values across yields.
;;
;; An (i32, i64) pair is carried by a `loop (param i32 i64)` from one
;; iteration to the next, a block pushes a third value on top of the carried
;; pair, and blocks with params take and return the pair.  With yield points
;; `all`, suspensions happen while these block/loop values are on the operand
;; stack (at the loop header the pair *is* the loop's parameters).  Asyncify
;; lowers multi-value blocks to locals; a mis-saved tuple element changes the
;; exported (i32, i64) result or the emitted i64s.  "early" branches out of a
;; block with two values (or falls through with two others), and
;; "pass_through" moves an f64 NaN with a payload through a block and a loop.
(module
  (import "host" "out_i64" (func $out (param i64)))
  ;; (a, b, k) -> (a*31 + k, rotl(b, 9) + a); emits rotl(b, 9)
  (func $mix (param $a i32) (param $b i64) (param $k i32) (result i32 i64)
    (i32.add (i32.mul (local.get $a) (i32.const 31)) (local.get $k))
    (i64.add (i64.rotl (local.get $b) (i64.const 9)) (i64.extend_i32_u (local.get $a)))
    (call $out (i64.rotl (local.get $b) (i64.const 9))))
  (func (export "fold") (param $seed i32) (result i32 i64)
    (local $n i32)
    (local.set $n (i32.const 6))
    (local.get $seed)
    (i64.const 0x0123456789abcdef)
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
  ;; br out of a nested block with two values; the fallthrough path differs
  (func (export "early") (param $x i32) (result i64 i32)
    (block $out (result i64 i32)
      (i64.const 0x1111222233334444)
      (local.get $x)
      (br_if $out (i32.and (local.get $x) (i32.const 1)))
      (drop) (drop)
      (i64.const -5)
      (i32.const 0x600d))
    )
  (func (export "pass_through") (result i32 i64 f64)
    (i32.const 3) (i64.const -1) (f64.const nan:0x8000000000001)
    (block (param i32 i64 f64) (result i32 i64 f64)
      (loop (param i32 i64 f64) (result i32 i64 f64)))))
