;; Guards: the host input stream position across suspensions.
;;
;; in_i32/in_i64 return the next values of a deterministic stream; a restore
;; must continue the stream where the snapshot left it (not restart it, skip
;; or repeat values).  Inputs are consumed before and after every suspension
;; (the loop reads one of each per iteration), every i32 input is emitted and
;; all inputs are hashed into the results, and a second export keeps reading
;; where the first stopped.
(module
  (import "host" "in_i32" (func $in32 (result i32)))
  (import "host" "in_i64" (func $in64 (result i64)))
  (import "host" "out_i32" (func $out32 (param i32)))
  (import "host" "out_i64" (func $out64 (param i64)))
  (func (export "consume") (result i32 i64) (local $i i32) (local $h32 i32) (local $h64 i64) (local $x i32)
    ;; one input consumed before the first yield of the loop
    (local.set $h64 (call $in64))
    (loop $l
      (local.set $x (call $in32))
      (call $out32 (local.get $x))
      (local.set $h32 (i32.add (i32.rotl (local.get $h32) (i32.const 3)) (local.get $x)))
      (local.set $h64 (i64.xor (i64.mul (local.get $h64) (i64.const 1099511628211)) (call $in64)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 6))))
    (call $out64 (local.get $h64))
    (local.get $h32) (local.get $h64))
  ;; a second export continues the stream
  (func (export "more") (result i64)
    (i64.add (call $in64) (i64.extend_i32_u (call $in32)))))
