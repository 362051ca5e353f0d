;; Guards: memory grown several times across several suspensions.
;;
;; Each loop iteration grows the memory by one page, writes a marker into the
;; page just added and a byte at the very end of memory, so every suspension
;; (at the loop header and, with yield points `all`, everywhere in between)
;; sees a different page count with live data in the newest page.  A restore
;; that does not grow to the saved size, or grows by the wrong amount (e.g. to
;; the size of the first snapshot), loses pages: the second export sums the
;; first word of every page and the final memory image is compared.
(module
  (import "host" "out_i32" (func $out (param i32)))
  (memory 1 8)
  (func (export "grow") (result i32) (local $i i32) (local $old i32)
    (loop $l
      (local.set $old (memory.grow (i32.const 1)))
      (call $out (local.get $old))
      (i32.store (i32.add (i32.mul (local.get $old) (i32.const 65536)) (i32.mul (local.get $i) (i32.const 4)))
                 (i32.add (i32.const 0x5a5a0000) (local.get $i)))
      ;; the last byte of memory as it is now
      (i32.store8 (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 1)) (local.get $i))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 4))))
    (memory.size))
  ;; reads back the first word of every page; a missing page traps
  (func (export "sum") (result i32) (local $p i32) (local $acc i32)
    (loop $l
      (local.set $acc (i32.add (i32.rotl (local.get $acc) (i32.const 3)) (i32.load (local.get $p))))
      (local.set $p (i32.add (local.get $p) (i32.const 65536)))
      (br_if $l (i32.lt_u (local.get $p) (i32.mul (memory.size) (i32.const 65536)))))
    (local.get $acc)))
