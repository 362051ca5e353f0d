;; Guards: tables grown by table.grow before and between suspensions.
;;
;; The table starts with 2 slots and grows by one slot per loop iteration,
;; each new slot filled with a different function (by table.grow's init value
;; or a later table.set).  A restore must grow the fresh instance's table to
;; the saved size before writing entries back; otherwise call_indirect to a
;; grown slot traps (out of bounds) or calls the wrong function, and
;; table.size (emitted each iteration) differs.  Reference values sit on the
;; operand stack: run with yield points `loop,call`.
(module
  (import "host" "out_i32" (func $out (param i32)))
  (type $op (func (param i32) (result i32)))
  (table $t 2 10 funcref)
  (elem (table $t) (i32.const 0) func $a $b)
  (elem declare func $c $d)
  (func $a (type $op) (i32.add (local.get 0) (i32.const 0x100)))
  (func $b (type $op) (i32.xor (local.get 0) (i32.const 0x5555)))
  (func $c (type $op) (i32.rotl (local.get 0) (i32.const 3)))
  (func $d (type $op) (i32.sub (local.get 0) (i32.const 7)))
  (func (export "run") (result i32) (local $i i32) (local $acc i32) (local $n i32)
    (local.set $acc (i32.const 1))
    (loop $l
      ;; grow by one slot: $c on even iterations, $d on odd ones
      (local.set $n (table.grow $t
        (select (result funcref) (ref.func $d) (ref.func $c) (i32.and (local.get $i) (i32.const 1)))
        (i32.const 1)))
      (call $out (local.get $n))
      (call $out (table.size $t))
      ;; call every slot, the new one last
      (local.set $n (i32.const 0))
      (loop $each
        (local.set $acc (call_indirect $t (type $op) (local.get $acc) (local.get $n)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br_if $each (i32.lt_u (local.get $n) (table.size $t))))
      (call $out (local.get $acc))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 5))))
    ;; after the suspensions: grow once more with a null slot and report
    (call $out (table.grow $t (ref.null func) (i32.const 1)))
    (local.get $acc)))
