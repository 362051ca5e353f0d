;; Guards: i32 values left on the operand stack at a yield point.
;;
;; Three i32 values (a, b, c) are pushed and left on the operand stack while a
;; loop runs above them.  With yield points at every instruction boundary
;; (`all`) the program suspends with 1, 2 and then 3 values stacked up, and in
;; every loop iteration with all three below the loop.  Asyncify must spill
;; them into its buffer on unwind and reload them on rewind.  Afterwards they
;; are combined with non-commutative operations (xor, sub, rotl), so a lost,
;; zeroed or reordered stack value changes the exported result.
(module
  (import "host" "out_i32" (func $out (param i32)))
  (func (export "run") (param $x i32) (result i32)
    (local $i i32) (local $acc i32)
    ;; a = x ^ 0x01234567
    local.get $x
    i32.const 0x01234567
    i32.xor
    ;; b = rotl(x, 13) + 1
    local.get $x
    i32.const 13
    i32.rotl
    i32.const 1
    i32.add
    ;; c = a constant with every byte distinct
    i32.const 0x7eadbeef
    ;; a loop runs while a, b, c sit below it on the stack
    (loop $l
      (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31)) (local.get $i)))
      (call $out (local.get $acc))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 4))))
    ;; result = rotl(a - (b ^ c), 7) + acc: order-sensitive, so swapped values show
    i32.xor
    i32.sub
    i32.const 7
    i32.rotl
    local.get $acc
    i32.add)

  ;; The same in folded form with a call nested inside the operands: the outer
  ;; operands are already evaluated (on the stack) when $mix runs its loop.
  (func $mix (param $v i32) (result i32) (local $i i32)
    (loop $l
      (local.set $v (i32.xor (i32.mul (local.get $v) (i32.const 0x9e3779b1)) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 3))))
    (local.get $v))
  (func (export "nested") (param $x i32) (result i32)
    (i32.sub
      (i32.shl (local.get $x) (i32.const 3))
      (i32.xor
        (i32.rotr (local.get $x) (i32.const 5))
        (i32.add (i32.const 0x11111111) (call $mix (local.get $x)))))))
