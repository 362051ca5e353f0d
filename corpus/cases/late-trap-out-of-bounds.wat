;; Guards: an out-of-bounds memory trap after resume, at an address computed
;; before the yield.
;;
;; The loop stores at an address that advances by 16 KiB per iteration and
;; grows the memory once midway, so the first out-of-bounds store happens
;; only after several suspensions and after a memory.grow.  The address is on
;; the operand stack at the yield before the store (yield points `all`).  The
;; trap must happen at the same iteration in every run: a restore that loses
;; the grown page traps too early, one that restores a wrong address traps
;; elsewhere or not at all.  "never" must not run.
(module
  (import "host" "out_i32" (func $out (param i32)))
  (memory 1 2)
  (func (export "walk") (local $addr i32) (local $i i32)
    (loop $l
      (if (i32.eq (local.get $i) (i32.const 3))
        (then (call $out (memory.grow (i32.const 1)))))
      (call $out (local.get $addr))
      (i32.store (local.get $addr) (i32.add (i32.const 0xa000) (local.get $i)))
      (local.set $addr (i32.add (local.get $addr) (i32.const 16384)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
  (func (export "never")
    (call $out (i32.const -1))))
