;; Guards: traps after resume (unreachable reached inside a callee after
;; several suspensions).
;;
;; "fill" writes memory and emits one event per iteration, then calls $boom,
;; which loops once more and executes `unreachable` two frames deep.  The
;; trap code, the outputs before it and the memory written before it must
;; match between the straight and the interrupted runs; "never" must not run.
(module
  (import "host" "out_i32" (func $out (param i32)))
  (memory 1)
  (func $boom (param $n i32)
    (local $i i32)
    (loop $l
      (call $out (i32.add (i32.const 100) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    unreachable)
  (func (export "fill") (local $i i32)
    (loop $l
      (i32.store (i32.mul (local.get $i) (i32.const 4)) (i32.mul (local.get $i) (i32.const 0x01010101)))
      (call $out (local.get $i))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 6))))
    (call $boom (i32.const 2)))
  (func (export "never")
    (call $out (i32.const -1))))
