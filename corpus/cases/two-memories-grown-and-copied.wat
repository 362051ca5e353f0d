;; Guards: a second program memory, grown and written (memory.copy from the
;; first) before suspensions, is restored like the first.
;;
;; Memory $a holds a data segment; "run" grows memory $b by a page, copies
;; $a's bytes into $b's new page, and each iteration stores into $b and reads
;; it back, with yield points everywhere.  A restore that writes back only the
;; first memory (skip-second-memory) leaves $b as instantiation made it: one
;; page, zeros; the loads, memory.size and the final memories differ.
(module
  (import "host" "out_i32" (func $out (param i32)))
  (memory $a 1 2)
  (memory $b 1 3)
  (data (memory $a) (i32.const 0) "\01\02\03\04\05\06\07\08")
  (func (export "run") (result i32) (local $i i32) (local $acc i32)
    (call $out (memory.grow $b (i32.const 1)))
    (memory.copy $b $a (i32.const 65536) (i32.const 0) (i32.const 8))
    (loop $l
      (i32.store8 $b (i32.add (i32.const 65544) (local.get $i)) (i32.add (local.get $i) (i32.const 0x40)))
      (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31))
        (i32.add (i32.load8_u $b (i32.add (i32.const 65536) (local.get $i)))
                 (i32.load8_u $b (i32.add (i32.const 65544) (local.get $i))))))
      (call $out (local.get $acc))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 8))))
    (call $out (memory.size $b))
    (local.get $acc)))
