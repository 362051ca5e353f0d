;; Guards: a program table grown and rewritten before suspensions is restored
;; at its grown size, with the entries the program wrote.
;;
;; The leaf $mutate grows table $t by one slot per call and fills it with
;; table.set ($c or $d), and on its first call overwrites slot 1 ($b -> $c):
;; the table differs from instantiation's in size and in contents.  "run"
;; calls $mutate, then every slot through call_indirect, each iteration, with
;; yield points everywhere; a restore that loses the grown slots
;; (lose-table-growth) or a slot's contents changes the accumulated outputs,
;; table.size and the final table.  $mutate handles reference values and makes
;; no call, so it gets no yield points (Asyncify cannot save references);
;; "run" handles none (call_indirect and table.size take and give i32).
(module
  (import "host" "out_i32" (func $out (param i32)))
  (type $op (func (param i32) (result i32)))
  (table $t 2 16 funcref)
  (elem (table $t) (i32.const 0) func $a $b)
  (elem declare func $c $d)
  (func $a (type $op) (i32.add (local.get 0) (i32.const 0x100)))
  (func $b (type $op) (i32.xor (local.get 0) (i32.const 0x5555)))
  (func $c (type $op) (i32.rotl (local.get 0) (i32.const 3)))
  (func $d (type $op) (i32.sub (local.get 0) (i32.const 7)))
  (func $mutate (param $i i32) (result i32)
    (drop (table.grow $t (ref.null func) (i32.const 1)))
    (table.set $t (i32.sub (table.size $t) (i32.const 1))
      (select (result funcref) (ref.func $d) (ref.func $c) (i32.and (local.get $i) (i32.const 1))))
    (if (i32.eqz (local.get $i))
      (then (table.set $t (i32.const 1) (ref.func $c))))
    (table.size $t))
  (func (export "run") (result i32) (local $i i32) (local $acc i32) (local $n i32)
    (local.set $acc (i32.const 1))
    (loop $l
      (call $out (call $mutate (local.get $i)))
      (local.set $n (i32.const 0))
      (loop $each
        (local.set $acc (call_indirect $t (type $op) (local.get $acc) (local.get $n)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br_if $each (i32.lt_u (local.get $n) (table.size $t))))
      (call $out (local.get $acc))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 6))))
    (local.get $acc)))
