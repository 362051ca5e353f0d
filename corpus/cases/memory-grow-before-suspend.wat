;; Guards: memory grown before a suspension, with data written in the new
;; pages.
;;
;; A restore must grow the fresh instance's memory to the saved page count
;; before writing the saved bytes back; otherwise the data in the new pages is
;; lost (or the write-back fails) and memory.size reports the old size.  The
;; program grows by two pages, writes marker words into both new pages, then
;; loops (suspending at the loop header) and afterwards reads the markers back
;; from the grown pages and records memory.size in page 0.  Lost pages show as
;; a trap (out-of-bounds load), different outputs, a different result and a
;; different memory image.
(module
  (import "host" "out_i32" (func $out (param i32)))
  (memory 1 4)
  (func (export "run") (result i32) (local $i i32) (local $acc i32)
    (call $out (memory.grow (i32.const 2)))            ;; old size: 1
    ;; markers in the grown pages (page 1 and the last word of page 2)
    (i32.store (i32.const 65540) (i32.const 0xfeedface))
    (i32.store (i32.const 196604) (i32.const 0x0badcafe))
    (loop $l
      (local.set $acc (i32.add (local.get $acc) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 4))))
    ;; after the suspensions: size and markers as the program sees them
    (i32.store (i32.const 0x120) (memory.size))
    (call $out (memory.size))
    (call $out (i32.load (i32.const 65540)))
    (call $out (i32.load (i32.const 196604)))
    (i32.add (local.get $acc) (i32.load (i32.const 196604)))))
