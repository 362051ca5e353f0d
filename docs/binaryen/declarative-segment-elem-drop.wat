;; Binaryen: a declarative element segment (0) before a passive one (1);
;; `elem.drop 1` names the passive segment.  Valid.  Binaryen drops the
;; declarative segment when reading, is left with one segment, and refuses
;; index 1: "invalid element segment index".
(module
  (table 1 funcref)
  (func $a)
  (elem declare func $a)
  (elem $p func $a)
  (func (export "run") (elem.drop $p)))
