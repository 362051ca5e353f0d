;; corpus case taken from finding engine-rejects-valid-asyncify-699831a08c5d
(module
  (type $#type0 (;0;) (func (param f64) (result f64)))
  (type $#type1 (;1;) (func (param f64 i32) (result f64 f64)))
  (table $#table0 (;0;) 3 9 funcref)
  (elem $#elem0 (;0;) declare func $#func1)
  (elem $#elem1 (;1;) func $#func2 $#func2 $#func1)
  (func $#func0 (;0;) (type $#type1) (param $#local0 f64) (param $#local1 i32) (result f64 f64)
    local.get $#local1
    table.size $#table0
    i32.const 2
    table.init $#elem1
    local.get $#local0
    f64.const nan:0x12 (;=NaN;)
  )
  (func $#func1 (;1;) (type $#type0) (param $#local0 f64) (result f64)
    unreachable
  )
  (func $#func2 (;2;) (type $#type0) (param $#local0 f64) (result f64)
    unreachable
  )
)
