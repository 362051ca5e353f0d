;; B vs C must stay strict about the trap code under an optimizing engine.  With the
;; planted fault zero-last-byte, C sees the last byte of memory as 0 after its restore
;; and traps on division by zero where B reaches `unreachable`; the byte is rewritten
;; before either trap, so the trap code is the only difference.
(module
  (memory 1 1)
  (data (i32.const 65535) "\2a")
  (func (export "run")
    (local $b i32)
    (local.set $b (i32.load8_u (i32.const 65535)))
    (i32.store8 (i32.const 65535) (i32.const 7))
    (if (local.get $b)
      (then unreachable))
    (drop (i32.div_u (i32.const 1) (local.get $b)))))
