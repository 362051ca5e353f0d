;; Guards: NaN payloads in f32/f64 locals across a yield.
;;
;; Asyncify saves live locals into its buffer on unwind and reloads them on
;; rewind; doing that through any float conversion (or a host float) would
;; quiet a signalling NaN or lose its payload.  Locals $s (f32) and $d (f64)
;; hold signalling NaNs across every loop yield; the payloads change only
;; through integer reinterpretation and the sign-only operations neg/abs/
;; copysign (which the spec defines bit-exactly), and a `select` copies them
;; between locals.  The results are the raw bits (reinterpreted to i32/i64),
;; so a single changed payload bit shows.
(module
  (import "host" "out_i32" (func $out32 (param i32)))
  (func (export "run") (result i32 i64 i32)
    (local $s f32) (local $d f64) (local $t f32) (local $i i32)
    (local.set $s (f32.const nan:0x200001))                         ;; 0x7fa00001
    (local.set $d (f64.reinterpret_i64 (i64.const 0x7ff4000000000001)))
    (local.set $t (f32.const -nan:0x12345))                         ;; 0xff812345
    (loop $l
      ;; payload += 2 (the quiet bit stays clear)
      (local.set $s (f32.reinterpret_i32 (i32.add (i32.reinterpret_f32 (local.get $s)) (i32.const 2))))
      (local.set $d (f64.reinterpret_i64 (i64.add (i64.reinterpret_f64 (local.get $d)) (i64.const 0x100))))
      ;; sign games: bit-exact by definition
      (local.set $s (f32.neg (local.get $s)))
      (local.set $d (f64.copysign (local.get $d) (f64.const -1)))
      (local.set $d (f64.abs (local.get $d)))
      ;; swap in $t every other iteration via select (no arithmetic)
      (local.set $t (select (local.get $s) (local.get $t) (i32.and (local.get $i) (i32.const 1))))
      (call $out32 (i32.reinterpret_f32 (local.get $t)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 5))))
    (i32.reinterpret_f32 (local.get $s))
    (i64.reinterpret_f64 (local.get $d))
    (i32.reinterpret_f32 (local.get $t))))
