;; Guards the transform policy for traps (issue 10): an optimizing transform may
;; reorder two trapping operations (Binaryen's effect analysis lets traps pass each
;; other; it keeps trap vs. no trap and the order against other side effects), so A
;; traps out of bounds where B traps on integer overflow.  Wasm has one kind of
;; trap: under an optimizing engine A vs B compares whether and where a run trapped
;; and all state, not the trap code, and says so in a note.  B vs C stays strict.
;; Here Binaryen's optimizer (optimize-level=2 inside --asyncify) sinks $b's
;; division into the i32.sub, ahead of the load of $a; the trapping call comes
;; after a call that returned, with outputs, a store and a global around it.
(module
  (import "host" "out_i32" (func $out_i32 (param i32)))
  (import "host" "in_i32" (func $in_i32 (result i32)))
  (memory 1 1)
  (global $calls (mut i32) (i32.const 0))
  (func (export "first") (result i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (i32.store (i32.const 8) (i32.const 0x1234))
    (call $out_i32 (global.get $calls))
    (global.get $calls))
  (func (export "second") (result i32)
    (local $a i32) (local $b i32) (local $addr i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    ;; an address past the one-page memory, unknown to the optimizer
    (local.set $addr (i32.or (call $in_i32) (i32.const 0x80000000)))
    (call $out_i32 (local.get $addr))
    (local.set $a (i32.load (local.get $addr)))                       ;; A traps here: out of bounds
    (local.set $b (i32.div_s (i32.const 0x80000000) (i32.const -1)))  ;; B's sunk division: overflow
    (i32.sub (local.get $b) (local.get $a)))
  (func (export "never") (result i32)
    ;; not called: the trap ends the call sequence
    (global.get $calls)))
