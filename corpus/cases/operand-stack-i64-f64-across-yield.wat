;; Guards: i64 and f64 values left on the operand stack at a yield point.
;;
;; Two i64 values and one f64 (with every mantissa bit significant) sit on the
;; operand stack below a loop.  With yield points `all` the program suspends
;; with them stacked up (and while they are being computed).  A spill of the
;; f64 through a narrower type, a truncated i64 (only the low 32 bits saved)
;; or a reordering changes the exported i64 result, which folds the f64 in by
;; its raw bits.
(module
  (import "host" "out_i64" (func $out64 (param i64)))
  (import "host" "out_f64" (func $outf (param f64)))
  (func (export "run") (param $x i64) (result i64)
    (local $i i32) (local $f f64)
    ;; a = x * 0x0123456789abcdef (high half matters)
    local.get $x
    i64.const 0x0123456789abcdef
    i64.mul
    ;; b = rotr(x, 41) | 0x8000000100000000 (bits set in both halves)
    local.get $x
    i64.const 41
    i64.rotr
    i64.const 0x8000000100000000
    i64.or
    ;; d = f64(x) * 0.16666666666666666 (a full 52-bit mantissa)
    local.get $x
    f64.convert_i64_s
    f64.const 0x1.5555555555555p-3
    f64.mul
    ;; a loop runs while a, b, d sit below it
    (loop $l
      (local.set $f (f64.add (local.get $f) (f64.const 0.1)))
      (call $outf (local.get $f))
      (call $out64 (i64.extend_i32_u (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 4))))
    ;; result = a - (b ^ bits(d)) + bits(f)
    i64.reinterpret_f64
    i64.xor
    i64.sub
    local.get $f
    i64.reinterpret_f64
    i64.add))
