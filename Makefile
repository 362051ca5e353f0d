# resumefuzz — the two commands a newcomer runs are `make fuzz` and `make test`.
# Both set everything up first (Python venv + pinned deps incl. zig, Binaryen from npm, Csmith from
# Debian where it can) and build the corpus's C programs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CSMITH_PACKAGES := csmith libcsmith-dev
# Debian packages only some tests need: a real redis-server (shared example database) and headless
# Chromium (the HTML report opened in a real browser); those tests skip in one line without them.
TEST_PACKAGES := redis-server chromium
PROGRAMS := $(wildcard corpus/programs/*.c)

.PHONY: setup csmith debian programs fuzz test smoke bench nightly clean

setup: $(STAMP) node_modules/.installed csmith debian

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

node_modules/.installed: package.json package-lock.json .npmrc
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Csmith (the `csmith` generator's programs) comes from Debian: installed when missing and running as
# root (apt-get update only if the install fails), otherwise named; without it everything else runs and
# the csmith generator fails with a one-line error saying what to install.
csmith: $(STAMP)
	@if $(BIN)/python -c 'from resumefuzz.fuzz import csmith; csmith.include_dir()' 2>/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "make setup: installing $(CSMITH_PACKAGES) (apt-get)"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -qq --no-install-recommends $(CSMITH_PACKAGES) >/dev/null 2>&1 \
	  || { apt-get update -qq && apt-get install -y -qq --no-install-recommends $(CSMITH_PACKAGES) >/dev/null; } \
	  || echo "make setup: could not install $(CSMITH_PACKAGES); the csmith generator will fail until they are"; \
	else echo "make setup: Csmith is missing: run \`sudo apt-get install $(CSMITH_PACKAGES)\` (needed by the csmith generator only)"; fi

# redis-server and chromium, installed the same way (as root, when missing); named otherwise.
debian:
	@missing=""; command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "make setup: installing$$missing (apt-get)"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -qq --no-install-recommends $$missing >/dev/null 2>&1 \
	  || { apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; } \
	  || echo "make setup: could not install$$missing; the tests that need them will skip"; \
	else echo "make setup:$$missing missing: run \`sudo apt-get install$$missing\` (only some tests need them)"; fi

# The corpus's C programs, built for wasm32-wasi at every optimization level into the compiler's cache
# (~/.cache/resumefuzz/cc; a no-op when built before).  The first build at a level also builds zig's
# wasi-libc for it (about 20 s each, once per machine).
programs: setup
	@out=$$($(BIN)/python -m resumefuzz.compiler --all-levels $(PROGRAMS)) || exit $$?; \
	echo "make programs: $(words $(PROGRAMS)) C program(s) in corpus/programs, $$(echo "$$out" | wc -l) module(s) built or cached"

# A short default campaign (seconds, not minutes); findings land in out/fuzz/findings.
# `resumefuzz fuzz` exits 1 when it found something: that is the fuzzer working, so it is
# reported here rather than failing the make; any other non-zero exit still fails.
fuzz: setup programs
	@$(BIN)/resumefuzz fuzz --generator mixed --jobs 2 --time 30s --out out/fuzz; rc=$$?; \
	if [ $$rc -eq 1 ]; then echo "make fuzz: findings recorded under out/fuzz/findings (replay each with its ./replay)"; \
	elif [ $$rc -ne 0 ]; then exit $$rc; fi

# The per-change check: replay the corpus, then fuzz for the rest of a 60 s budget.
smoke: setup programs
	$(BIN)/resumefuzz smoke --time 60s --out out/smoke

# Throughput, where the time goes, the plain-wasmtime floor, snapshot codec speed.
bench: setup
	$(BIN)/python bench/run.py --json out/bench.json

# The fast suite (under ~10 minutes on 2 cores). Long suites are marked `nightly`.
test: setup programs
	$(BIN)/python -m pytest -q -n 2 --timeout=600

nightly: setup
	$(BIN)/python -m pytest -q -n 2 -m nightly --timeout=3600

# The atheris snapshot target's seed corpus (fuzz/seeds/snapshot, committed): real snapshots
# written by `resumefuzz check --out` for a few corpus cases, plus oversized-claim files.
.PHONY: snapshot-seeds
snapshot-seeds: setup
	$(BIN)/python fuzz/seeds/make_snapshot_seeds.py fuzz/seeds/snapshot

clean:
	rm -rf $(VENV) node_modules out .pytest_cache .hypothesis
