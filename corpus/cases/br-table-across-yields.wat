;; Guards: br_table whose selected branch depends on state saved before a
;; yield.
;;
;; A small state machine: each loop iteration dispatches with br_table on the
;; $state local, and every branch computes the next state from the current
;; one and the accumulator.  With yield points `all`, suspensions happen with
;; the br_table index already on the operand stack (right before the
;; dispatch), and with the state in a local.  A wrongly restored index or
;; local takes another branch, which changes the emitted state sequence and
;; the result.  Out-of-range states take the default branch.
(module
  (import "host" "out_i32" (func $out (param i32)))
  (func (export "machine") (param $seed i32) (result i32)
    (local $state i32) (local $acc i32) (local $steps i32)
    (local.set $state (i32.and (local.get $seed) (i32.const 3)))
    (local.set $acc (i32.const 1))
    (loop $next
      (call $out (local.get $state))
      (block $done
        (block $default
          (block $s3
            (block $s2
              (block $s1
                (block $s0
                  (br_table $s0 $s1 $s2 $s3 $default (local.get $state)))
                ;; state 0
                (local.set $acc (i32.add (local.get $acc) (i32.const 3)))
                (local.set $state (i32.and (local.get $acc) (i32.const 7)))
                (br $done))
              ;; state 1
              (local.set $acc (i32.mul (local.get $acc) (i32.const 5)))
              (local.set $state (i32.const 3))
              (br $done))
            ;; state 2
            (local.set $acc (i32.xor (local.get $acc) (i32.const 0x55)))
            (local.set $state (i32.const 0))
            (br $done))
          ;; state 3
          (local.set $acc (i32.rotl (local.get $acc) (i32.const 4)))
          (local.set $state (i32.const 2))
          (br $done))
        ;; default (states 4..7)
        (local.set $acc (i32.sub (local.get $acc) (local.get $state)))
        (local.set $state (i32.const 1)))
      (local.set $steps (i32.add (local.get $steps) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $steps) (i32.const 10))))
    (i32.add (i32.shl (local.get $acc) (i32.const 3)) (local.get $state)))
  ;; br_table carrying a value to the chosen label
  (func (export "pick") (param $k i32) (result i32)
    (block $b2 (result i32)
      (block $b1 (result i32)
        (block $b0 (result i32)
          (i32.mul (local.get $k) (i32.const 7))       ;; the value carried
          (i32.rem_u (local.get $k) (i32.const 3))     ;; the index
          (br_table $b0 $b1 $b2))
        (i32.add (i32.const 1000)) (return))
      (i32.add (i32.const 2000)) (return))
    (i32.add (i32.const 3000))))
