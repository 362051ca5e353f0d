;; Found by a 5-minute campaign on the correct engine (core, seed 7, case 433): $t0 and $t1 differ only
;; by a dead local.set; Binaryen's optimizer after --asyncify removes it and merges the two, so table
;; slot 1 names function 2 in B where A has function 3. Not observable: A vs B EQUAL with a note.
(module
  (import "host" "in_i32" (func $in_i32 (result i32)))
  (type $tsig (func (param i64) (result i32)))
  (table $tab 2 2 funcref)
  (elem (table $tab) (i32.const 0) func $t0 $t1)
  (func $f0 (export "f0")
    (local $l0 i32)
    (call_indirect $tab (type $tsig) (i64.const 0) (i32.rem_u (call $in_i32) (i32.const 2)))
    local.set $l0)
  (func $t0 (type $tsig) (param $p0 i64) (result i32)
    (local $l0 i32)
    (local.set $l0 (i32.const 0))
    (i32.const 0))
  (func $t1 (type $tsig) (param $p0 i64) (result i32)
    (i32.const 0)))
