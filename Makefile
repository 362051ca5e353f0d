# resumefuzz — the two commands a newcomer runs are `make fuzz` and `make test`.
# Both set everything up first (Python venv + pinned deps, Binaryen from npm).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup fuzz test smoke bench nightly clean

setup: $(STAMP) node_modules/.installed

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

node_modules/.installed: package.json package-lock.json .npmrc
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# A short default campaign (seconds, not minutes); findings land in out/fuzz/findings.
# `resumefuzz fuzz` exits 1 when it found something: that is the fuzzer working, so it is
# reported here rather than failing the make; any other non-zero exit still fails.
fuzz: setup
	@$(BIN)/resumefuzz fuzz --generator mixed --jobs 2 --time 30s --out out/fuzz; rc=$$?; \
	if [ $$rc -eq 1 ]; then echo "make fuzz: findings recorded under out/fuzz/findings (replay each with its ./replay)"; \
	elif [ $$rc -ne 0 ]; then exit $$rc; fi

# The per-change check: replay the corpus, then fuzz for the rest of a 60 s budget.
smoke: setup
	$(BIN)/resumefuzz smoke --time 60s --out out/smoke

# Throughput, where the time goes, the plain-wasmtime floor, snapshot codec speed.
bench: setup
	$(BIN)/python bench/run.py --json out/bench.json

# The fast suite (under ~10 minutes on 2 cores). Long suites are marked `nightly`.
test: setup
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
