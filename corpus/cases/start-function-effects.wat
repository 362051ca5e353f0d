;; Guards: start-function effects must happen exactly once.
;;
;; The start function emits a marker output and counts up a global in a loop
;; (so the run can also be suspended inside it).  A restore must not run the
;; start function again (as instantiating a fresh module with a start section
;; would): a re-run would emit the marker twice, reset-and-recount or
;; double-count $boot, cross extra yield points, and add into memory.  The
;; exported function emits $boot and the memory word the start function
;; wrote, so every re-run effect is visible in outputs, globals and memory.
(module
  (import "host" "out_i32" (func $out (param i32)))
  (memory 1)
  (global $boot (mut i32) (i32.const 0))
  (func $init (local $i i32)
    (call $out (i32.const 0x57a27))
    (loop $l
      (global.set $boot (i32.add (global.get $boot) (i32.const 1)))
      ;; a read-modify-write of memory: a re-run adds again
      (i32.store (i32.const 16) (i32.add (i32.load (i32.const 16)) (i32.const 0x101)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 3)))))
  (start $init)
  (func (export "work") (result i32) (local $i i32)
    (loop $l
      (call $out (i32.add (global.get $boot) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 5))))
    (call $out (i32.load (i32.const 16)))
    (global.get $boot)))
