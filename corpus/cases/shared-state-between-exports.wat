;; Guards: several exports sharing state (memory and globals) across
;; suspensions.
;;
;; "produce" writes words and counts them in a hidden global; "consume" reads
;; back what "produce" wrote; "report" reads both the count and the last
;; hash that "consume" left in an exported global.  Suspensions happen in each
;; export, so state restored into a fresh instance must carry over from one
;; export call to the next (the driver calls them in order).  A restore that
;; loses earlier exports' effects, or re-runs an export, changes the later
;; exports' outputs and results.
(module
  (import "host" "out_i32" (func $out (param i32)))
  (memory 1)
  (global $count (mut i32) (i32.const 0))
  (global $last (export "last") (mut i32) (i32.const 0))
  (func (export "produce") (param $x i32) (local $i i32)
    (loop $l
      (i32.store (i32.mul (global.get $count) (i32.const 4))
                 (i32.xor (local.get $x) (i32.mul (local.get $i) (i32.const 0x01010101))))
      (global.set $count (i32.add (global.get $count) (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 4)))))
  (func (export "consume") (result i32) (local $p i32) (local $acc i32)
    (loop $l
      (local.set $acc (i32.add (i32.rotl (local.get $acc) (i32.const 1))
                               (i32.load (i32.mul (local.get $p) (i32.const 4)))))
      (call $out (local.get $acc))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $p) (global.get $count))))
    (global.set $last (local.get $acc))
    (global.get $count))
  (func (export "report") (result i64)
    (call $out (global.get $count))
    (i64.or (i64.shl (i64.extend_i32_u (global.get $count)) (i64.const 32))
            (i64.extend_i32_u (global.get $last)))))
