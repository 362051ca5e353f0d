;; Guards: data.drop before a snapshot; memory.init afterwards must trap the
;; same way.
;;
;; A passive segment is copied into memory and then dropped, before the loop
;; that suspends.  A fresh instance (the one a restore creates) has the
;; segment again: memory.init from it would succeed there instead of trapping.
;; The harness records data.drop and replays the drops after restore, so the
;; expected verdict is EQUAL: "init_again" must trap (out of bounds) in every
;; run, including ones suspended inside it, after emitting 1 but not 2.  A
;; zero-length memory.init of a dropped segment at offset 0 is still allowed
;; and is exercised too.
(module
  (import "host" "out_i32" (func $out (param i32)))
  (memory 1)
  (data $seg "resumefuzz")
  (data $kept "KEPT")
  (func (export "copy_then_drop") (local $i i32)
    (memory.init $seg (i32.const 0) (i32.const 0) (i32.const 10))
    (data.drop $seg)
    ;; yield points after the drop
    (loop $l
      (call $out (i32.load8_u (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 4)))))
  (func (export "init_again") (local $i i32)
    ;; the segment that was not dropped still works after a restore
    (memory.init $kept (i32.const 16) (i32.const 0) (i32.const 4))
    ;; length 0 from a dropped segment: allowed
    (memory.init $seg (i32.const 24) (i32.const 0) (i32.const 0))
    (loop $l
      (call $out (i32.load8_u (i32.add (i32.const 16) (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 4))))
    (call $out (i32.const 1))
    ;; the segment is dropped: a non-empty init traps, also in a restored instance
    (memory.init $seg (i32.const 32) (i32.const 0) (i32.const 1))
    (call $out (i32.const 2))))
