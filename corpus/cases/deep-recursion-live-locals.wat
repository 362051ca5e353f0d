;; Guards: deep recursion (250 frames) with live locals in every frame.
;;
;; Asyncify unwinds every frame on the call stack into its buffer and rebuilds
;; them on rewind; a frame dropped, duplicated or restored with another
;; frame's locals changes the result.  $rec descends 250 frames; each frame
;; keeps an i32, an i64 and an f64 local derived from its depth live across
;; the recursive call and folds them (order-sensitively) into what the deeper
;; frames return.  Suspensions happen on the way down (at entries), at the
;; bottom and on the way back up (after calls), so the snapshot holds up to
;; 250 frames.  The result is (i32, i64, f64).
(module
  (import "host" "out_i32" (func $out (param i32)))
  (func $rec (param $n i32) (result i32 i64 f64)
    (local $a i32) (local $b i64) (local $d f64)
    (local $ra i32) (local $rb i64) (local $rd f64)
    (local.set $a (i32.mul (local.get $n) (i32.const 0x9e3779b1)))
    (local.set $b (i64.mul (i64.extend_i32_u (local.get $n)) (i64.const 0x100000001b3)))
    (local.set $d (f64.div (f64.const 1) (f64.convert_i32_u (i32.add (local.get $n) (i32.const 1)))))
    (if (result i32 i64 f64) (i32.eqz (local.get $n))
      (then (i32.const 1) (i64.const 1) (f64.const 0.25))
      (else (call $rec (i32.sub (local.get $n) (i32.const 1)))))
    (local.set $rd) (local.set $rb) (local.set $ra)
    ;; every 50th frame reports on the way back up
    (if (i32.eqz (i32.rem_u (local.get $n) (i32.const 50)))
      (then (call $out (local.get $ra))))
    (i32.add (i32.rotl (local.get $ra) (i32.const 5)) (local.get $a))
    (i64.xor (i64.rotl (local.get $rb) (i64.const 7)) (local.get $b))
    (f64.add (f64.mul (local.get $rd) (f64.const 0.75)) (local.get $d)))
  (func (export "deep") (result i32 i64 f64)
    (call $rec (i32.const 250))))
