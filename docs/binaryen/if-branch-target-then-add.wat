;; Binaryen: the branch-target `if` with an unreachable condition, its value
;; then consumed by `i32.add`.  Valid; Binaryen 132 hands the i64 from below
;; `unreachable` to `i32.add` ("binary child types must be equal").
(module
  (func (export "f") (result i32)
    i64.const 1
    unreachable
    if (result i32)
      i32.const 1
      br 0
    else
      i32.const 2
    end
    i32.add))
