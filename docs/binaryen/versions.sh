#!/bin/sh
# Run the Binaryen reproducers of docs/binaryen/ against released Binaryen npm
# packages installed side by side; one line per release.
#
#   docs/binaryen/versions.sh [MAJOR...]     (from the repo root, after `make setup`)
#
# Default: every release from 110 to 132 published on npm (115 and 126-128 were
# not).  They are installed as npm aliases binaryen-NNN under
# out/binaryen/versions/ (network access to the npm registry needed once).
# Each reproducer is read by that release's own `bin/wasm-opt --all-features`
# (run with node: some packages ship it without the executable bit).
#
# Columns:
#   if-param      corpus/cases/binaryen-if-param-unreachable-condition.wat
#   if-param+nop  docs/binaryen/if-param-after-statement.wat
#   if-br         corpus/cases/binaryen-if-branch-target-unreachable-condition.wat
#   if-br+nop     docs/binaryen/if-branch-target-after-statement.wat
#   declarative   docs/binaryen/declarative-segment-shifts-indices.wat: `run()` of
#                 the round-tripped binary under wasmtime (1 is right, 2 = shifted)
#   elem.drop     docs/binaryen/declarative-segment-elem-drop.wat
# A cell is "ok" (read, and what wasm-opt wrote validates), "ok/INVALID" (read,
# but its output does not validate) or the start of wasm-opt's first line.
set -eu
VERSIONS=${*:-"110 111 112 113 114 116 117 118 119 120 121 122 123 124 125 129 130 131 132"}
DIR=out/binaryen/versions
WT=.venv/bin/wasm-tools
PY=.venv/bin/python
mkdir -p "$DIR"
[ -f "$DIR/package.json" ] || echo '{"name": "binaryen-versions", "private": true}' > "$DIR/package.json"
want=""
for v in $VERSIONS; do
  [ -f "$DIR/node_modules/binaryen-$v/bin/wasm-opt" ] || want="$want binaryen-$v@npm:binaryen@$v.0.0"
done
[ -z "$want" ] || (cd "$DIR" && npm install --no-audit --no-fund --loglevel=error $want >/dev/null)

$WT parse corpus/cases/binaryen-if-param-unreachable-condition.wat -o "$DIR/if-param.wasm"
$WT parse docs/binaryen/if-param-after-statement.wat -o "$DIR/if-param-nop.wasm"
$WT parse corpus/cases/binaryen-if-branch-target-unreachable-condition.wat -o "$DIR/if-br.wasm"
$WT parse docs/binaryen/if-branch-target-after-statement.wat -o "$DIR/if-br-nop.wasm"
$WT parse docs/binaryen/declarative-segment-shifts-indices.wat -o "$DIR/declarative.wasm"
$WT parse docs/binaryen/declarative-segment-elem-drop.wat -o "$DIR/elem-drop.wasm"

reads() {  # OPT IN.wasm: "ok", "ok/INVALID" or the start of what wasm-opt said
  if node "$1" "$2" --all-features -o "$DIR/out.wasm" 2>"$DIR/stderr"; then
    if $WT validate --features all "$DIR/out.wasm" 2>/dev/null; then echo ok; else echo ok/INVALID; fi
  else
    head -1 "$DIR/stderr" | sed 's/^\[wasm-validator error in function [0-9]*\] //; s/^unexpected false: //; s/^\[parse exception: //; s/, on *$//' | cut -c1-32
  fi
}
run() {  # the round-tripped declarative module's run() under wasmtime
  "$PY" -c "
import sys, wasmtime as w
s = w.Store()
print(w.Instance(s, w.Module.from_file(s.engine, sys.argv[1]), []).exports(s)['run'](s))" "$1" 2>&1 | tail -1 | cut -c1-32
}
row='%-4s| %-33s| %-33s| %-33s| %-33s| %-33s| %s\n'
printf "$row" rel if-param if-param+nop if-br if-br+nop "declarative run()" elem.drop
for v in $VERSIONS; do
  opt="$DIR/node_modules/binaryen-$v/bin/wasm-opt"
  if node "$opt" "$DIR/declarative.wasm" --all-features -o "$DIR/declarative.$v.wasm" 2>"$DIR/stderr"; then
    d=$(run "$DIR/declarative.$v.wasm")
  else
    d="$(head -1 "$DIR/stderr" | sed 's/^\[parse exception: //' | cut -c1-32)"
  fi
  printf "$row" "$v" "$(reads "$opt" "$DIR/if-param.wasm")" "$(reads "$opt" "$DIR/if-param-nop.wasm")" \
    "$(reads "$opt" "$DIR/if-br.wasm")" "$(reads "$opt" "$DIR/if-br-nop.wasm")" "$d" "$(reads "$opt" "$DIR/elem-drop.wasm")"
done
