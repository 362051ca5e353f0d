;; Guards: non-exported (hidden) mutable globals changed before a suspension.
;;
;; A restore that only writes back the globals a module exports (the ones an
;; embedder can see) forgets these.  $hidden (the first mutable, non-exported
;; global: the one `faulty:skip-hidden-global` skips) and hidden i64/f64
;; globals are updated in every loop iteration, before the yield point at the
;; loop header, and read again after it: each new value depends on the old
;; one and is emitted, so a global reset to its initial value on restore shows
;; in the output sequence, the final globals and the exported result.
(module
  (import "host" "out_i32" (func $out32 (param i32)))
  (import "host" "out_i64" (func $out64 (param i64)))
  (global $hidden (mut i32) (i32.const 7))
  (global $hidden64 (mut i64) (i64.const 0x0123456789abcdef))
  (global $hiddenf (mut f64) (f64.const 1.5))
  (global $limit i32 (i32.const 6))   ;; immutable, never changes
  (func $step
    (global.set $hidden (i32.add (i32.mul (global.get $hidden) (i32.const 5)) (i32.const 1)))
    (global.set $hidden64 (i64.rotl (global.get $hidden64) (i64.const 9)))
    (global.set $hiddenf (f64.mul (global.get $hiddenf) (f64.const -1.25))))
  (func (export "run") (result i32) (local $i i32)
    (loop $l
      (call $step)
      (call $out32 (global.get $hidden))
      (call $out64 (global.get $hidden64))
      (call $out64 (i64.reinterpret_f64 (global.get $hiddenf)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (global.get $limit))))
    (global.get $hidden))
  ;; a second export reads the hidden state the first left behind
  (func (export "again") (result i64)
    (call $step)
    (i64.xor (global.get $hidden64) (i64.extend_i32_u (global.get $hidden)))))
