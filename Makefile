# Two commands on a fresh machine (see README):
#   make run    install into .venv, ingest the bundled corpus, answer a question, start the UI
#   make test   install into .venv (with test tools and Chromium), run the whole test suite
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 7860
QUESTION ?= Combien de territoires d'industrie compte le Grand Est ?

.PHONY: install run ask test test-fast eval-gate gate-lines eval-heldout eval-unseen reader schemes-model chromium bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# The CPU build of torch first: a bare `torch` requirement would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/tia ingest --bundled
	$(BIN)/tia ask "$(QUESTION)"
	@echo "Starting the web UI on http://$(HOST):$(PORT) (Ctrl-C to stop)"
	$(BIN)/tia serve --host $(HOST) --port $(PORT)

ask: install
	$(BIN)/tia ask "$(QUESTION)"

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser).
chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
		echo "Installing Debian's chromium for the browser tests"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

# The quality gate (issue 9): every set at its measured figures (the worse of two runs on knowledge bases built
# anew: HNSW indexes differ between builds, which moves a set by a record or two) less a margin of about two records (2 / the
# number of records a rate is over, rounded down), the sets the reader learns from at their in-sample figures
# (their cross-validated ones are in evals/README.md); lengths at 1.1 x the measured ones
# (at least 300 / 1200). A regression anywhere fails the build. Figures: evals/README.md, "Current figures".
# Latency is reported, never gated: a timed threshold on a shared 2-core runner fails on noise (CI once read
# 324 ms against 300 on a set whose runs here read 49-107 ms); bench/ measures speed.
EVAL_GATE_DEV ?= --fail-under fact_recall=0.96 --fail-under all_facts=0.94 --fail-under citation_hit=0.97 --fail-under abstention_accuracy=0.33 --fail-over false_abstention=0.03 --fail-over length_median=304 --fail-over length_max=1200
EVAL_GATE_DEV2 ?= --fail-under fact_recall=0.88 --fail-under all_facts=0.88 --fail-under citation_hit=0.94 --fail-under abstention_accuracy=0.0 --fail-over false_abstention=0.06 --fail-over length_median=334 --fail-over length_max=1200
EVAL_GATE_DEV3 ?= --fail-under fact_recall=0.74 --fail-under all_facts=0.66 --fail-under citation_hit=0.9 --fail-under abstention_accuracy=0.0 --fail-over false_abstention=0.07 --fail-over length_median=428 --fail-over length_max=1200
EVAL_GATE_BLIND4 ?= --fail-under fact_recall=0.71 --fail-under all_facts=0.7 --fail-under citation_hit=0.77 --fail-under abstention_accuracy=0.24 --fail-over false_abstention=0.09 --fail-over length_median=344 --fail-over length_max=1200
EVAL_GATE_BLIND5 ?= --fail-under fact_recall=0.76 --fail-under all_facts=0.74 --fail-under citation_hit=0.87 --fail-under abstention_accuracy=0.07 --fail-over false_abstention=0.07 --fail-over length_median=363 --fail-over length_max=1200
EVAL_GATE_BLIND6 ?= --fail-under fact_recall=0.83 --fail-under all_facts=0.8 --fail-under citation_hit=0.9 --fail-under abstention_accuracy=0.13 --fail-over false_abstention=0.04 --fail-over length_median=312 --fail-over length_max=1200
EVAL_GATE_BLIND7 ?= --fail-under fact_recall=0.91 --fail-under all_facts=0.9 --fail-under citation_hit=0.93 --fail-under abstention_accuracy=0.22 --fail-over false_abstention=0.06 --fail-over length_median=304 --fail-over length_max=1200
EVAL_GATE_HELDOUT ?= --fail-under fact_recall=0.62 --fail-under all_facts=0.54 --fail-under citation_hit=0.78 --fail-under abstention_accuracy=0.0 --fail-over false_abstention=0.13 --fail-over length_median=385 --fail-over length_max=1200
EVAL_GATE_FROZEN ?= --fail-under fact_recall=0.74 --fail-under all_facts=0.69 --fail-under citation_hit=0.78 --fail-under abstention_accuracy=0.14 --fail-over false_abstention=0.14 --fail-over length_median=300 --fail-over length_max=1200
EVAL_GATE_FROZEN2 ?= --fail-under fact_recall=0.85 --fail-under all_facts=0.82 --fail-under citation_hit=0.82 --fail-under abstention_accuracy=0.0 --fail-over false_abstention=0.14 --fail-over length_median=325 --fail-over length_max=1200
EVAL_GATE_FROZEN3 ?= --fail-under fact_recall=0.82 --fail-under all_facts=0.82 --fail-under citation_hit=0.86 --fail-under abstention_accuracy=0.0 --fail-over false_abstention=0.09 --fail-over length_median=300 --fail-over length_max=1200
EVAL_GATE_FROZEN4 ?= --fail-under fact_recall=0.65 --fail-under all_facts=0.56 --fail-under citation_hit=0.78 --fail-under abstention_accuracy=0.0 --fail-over false_abstention=0.09 --fail-over length_median=300 --fail-over length_max=1200
EVAL_GATE_FROZEN5 ?= --fail-under fact_recall=0.65 --fail-under all_facts=0.6 --fail-under citation_hit=0.86 --fail-under abstention_accuracy=0.0 --fail-over false_abstention=0.1 --fail-over length_median=300 --fail-over length_max=1200
EVAL_GATE_FROZEN6 ?= --fail-under fact_recall=0.82 --fail-under all_facts=0.8 --fail-under citation_hit=0.89 --fail-under abstention_accuracy=0.0 --fail-over false_abstention=0.07 --fail-over length_median=370 --fail-over length_max=1200
EVAL_GATE_FROZEN7 ?= --fail-under fact_recall=0.71 --fail-under all_facts=0.65 --fail-under citation_hit=0.79 --fail-under abstention_accuracy=0.11 --fail-over false_abstention=0.12 --fail-over length_median=311 --fail-over length_max=1200
EVAL_GATE_FROZEN8 ?= --fail-under fact_recall=0.77 --fail-under all_facts=0.72 --fail-under citation_hit=0.86 --fail-under abstention_accuracy=0.18 --fail-over false_abstention=0.07 --fail-over length_median=351 --fail-over length_max=1200
EVAL_GATE_FROZEN9 ?= --fail-under fact_recall=0.66 --fail-under all_facts=0.66 --fail-under citation_hit=0.79 --fail-under abstention_accuracy=0.11 --fail-over false_abstention=0.14 --fail-over length_median=310 --fail-over length_max=1200
EVAL_GATE_UNSEEN ?= --fail-under fact_recall=0.52 --fail-under all_facts=0.43 --fail-under citation_hit=0.86 --fail-under abstention_accuracy=0.05 --fail-over false_abstention=0.05 --fail-over length_median=408 --fail-over length_max=1269
EVAL_GATE_FROZEN_UNSEEN ?= --fail-under fact_recall=0.56 --fail-under all_facts=0.43 --fail-under citation_hit=0.82 --fail-under abstention_accuracy=0.0 --fail-over false_abstention=0.09 --fail-over length_median=368 --fail-over length_max=1269
EVAL_GATE_FROZEN2_UNSEEN ?= --fail-under fact_recall=0.59 --fail-under all_facts=0.43 --fail-under citation_hit=0.91 --fail-under abstention_accuracy=0.0 --fail-over false_abstention=0.09 --fail-over length_median=375 --fail-over length_max=1200
EVAL_GATE_FROZEN3_UNSEEN ?= --fail-under fact_recall=0.51 --fail-under all_facts=0.39 --fail-under citation_hit=0.82 --fail-under abstention_accuracy=0.0 --fail-over false_abstention=0.14 --fail-over length_median=406 --fail-over length_max=1269
EVAL_GATE_FROZEN4_UNSEEN ?= --fail-under fact_recall=0.63 --fail-under all_facts=0.56 --fail-under citation_hit=0.91 --fail-under abstention_accuracy=0.0 --fail-over false_abstention=0.09 --fail-over length_median=499 --fail-over length_max=1297
EVAL_GATE_FROZEN5_UNSEEN ?= --fail-under fact_recall=0.38 --fail-under all_facts=0.33 --fail-under citation_hit=0.73 --fail-under abstention_accuracy=0.0 --fail-over false_abstention=0.07 --fail-over length_median=393 --fail-over length_max=1313
EVAL_GATE_FROZEN6_UNSEEN ?= --fail-under fact_recall=0.47 --fail-under all_facts=0.43 --fail-under citation_hit=0.89 --fail-under abstention_accuracy=0.0 --fail-over false_abstention=0.07 --fail-over length_median=405 --fail-over length_max=1436
EVAL_GATE_UNSEEN2 ?= --fail-under fact_recall=0.46 --fail-under all_facts=0.4 --fail-under citation_hit=0.91 --fail-under abstention_accuracy=0.2 --fail-over false_abstention=0.07 --fail-over length_median=317 --fail-over length_max=1200
EVAL_GATE_UNSEEN2B ?= --fail-under fact_recall=0.51 --fail-under all_facts=0.45 --fail-under citation_hit=0.93 --fail-under abstention_accuracy=0.06 --fail-over false_abstention=0.07 --fail-over length_median=358 --fail-over length_max=1200
EVAL_GATE_UNSEEN3 ?= --fail-under fact_recall=0.46 --fail-under all_facts=0.34 --fail-under citation_hit=0.88 --fail-under abstention_accuracy=0.0 --fail-over false_abstention=0.07 --fail-over length_median=315 --fail-over length_max=1200
EVAL_GATE_UNSEEN4 ?= --fail-under fact_recall=0.44 --fail-under all_facts=0.39 --fail-under citation_hit=0.96 --fail-under abstention_accuracy=0.36 --fail-over false_abstention=0.04 --fail-over length_median=300 --fail-over length_max=1200

test: install chromium
	$(BIN)/python -m pytest
	$(MAKE) --no-print-directory eval-gate

export $(filter EVAL_GATE_%,$(.VARIABLES))
BUNDLED_SETS := dev dev2 dev3 blind4 blind5 blind6 blind7 heldout frozen frozen2 frozen3 frozen4 frozen5 frozen6 frozen7 frozen8 frozen9
UNSEEN_SETS := unseen frozen_unseen frozen2_unseen frozen3_unseen frozen4_unseen frozen5_unseen frozen6_unseen

# EVAL_OUT: where the reports go (one folder per set); NO_GATE=1 runs every set without its thresholds.
EVAL_OUT ?= .eval-out/ci
eval-gate: install
	@tmp=$$(mktemp -d) && status=0 && \
	run() { local name=$$(basename $$1 .jsonl); local gate=EVAL_GATE_$${name^^}; \
		$(BIN)/tia eval $$1 --out $(EVAL_OUT)/$$name --quiet $(if $(NO_GATE),,$${!gate}) || status=1; } && \
	export TIA_DATA_DIR=$$tmp/bundled && $(BIN)/tia ingest --bundled >/dev/null && \
	for set in $(BUNDLED_SETS); do run evals/datasets/$$set.jsonl; done && \
	export TIA_DATA_DIR=$$tmp/unseen && $(BIN)/tia ingest evals/unseen/corpus >/dev/null && \
	for set in $(UNSEEN_SETS); do run evals/unseen/$$set.jsonl; done && \
	export TIA_DATA_DIR=$$tmp/unseen2 && $(BIN)/tia ingest evals/unseen2/corpus >/dev/null && \
	run evals/unseen2/unseen2.jsonl && run evals/unseen2/unseen2b.jsonl && \
	export TIA_DATA_DIR=$$tmp/unseen3 && $(BIN)/tia ingest evals/unseen3/corpus >/dev/null && \
	run evals/unseen3/unseen3.jsonl && \
	export TIA_DATA_DIR=$$tmp/unseen4 && $(BIN)/tia ingest evals/unseen4/corpus >/dev/null && \
	run evals/unseen4/unseen4.jsonl || status=1; \
	rm -rf $$tmp; exit $$status

# Rewrite every EVAL_GATE_* line above from two runs on knowledge bases built anew (evals/gates.py: the worse
# run less two records); about 15 minutes. Review the diff: a gate that moves down is a regression to explain.
gate-lines: install
	rm -rf .eval-out/gates-1 .eval-out/gates-2
	$(MAKE) --no-print-directory eval-gate NO_GATE=1 EVAL_OUT=.eval-out/gates-1
	$(MAKE) --no-print-directory eval-gate NO_GATE=1 EVAL_OUT=.eval-out/gates-2
	$(BIN)/python -m evals.gates .eval-out/gates-1 .eval-out/gates-2 --write Makefile

# The held-out set: how well answers generalise to questions nobody tuned on (reported, not gated).
eval-heldout: install
	@tmp=$$(mktemp -d) && TIA_DATA_DIR=$$tmp/data $(BIN)/tia eval --bundled evals/datasets/heldout.jsonl \
		--out .eval-out/heldout --quiet; status=$$?; rm -rf $$tmp; exit $$status

# The documents never seen (evals/unseen/: 12 synthetic documents about other programmes, evals/unseen2/, evals/unseen3/ and
# evals/unseen4/: 10 more each)
# and their blind sets, reported (not gated; eval-gate gates them).
eval-unseen: install
	@tmp=$$(mktemp -d) && status=0 && export TIA_DATA_DIR=$$tmp/data && $(BIN)/tia ingest evals/unseen/corpus >/dev/null && \
	for set in $(UNSEEN_SETS); do $(BIN)/tia eval evals/unseen/$$set.jsonl --out .eval-out/$$set --quiet || status=1; done && \
	export TIA_DATA_DIR=$$tmp/data2 && $(BIN)/tia ingest evals/unseen2/corpus >/dev/null && \
	$(BIN)/tia eval evals/unseen2/unseen2.jsonl --out .eval-out/unseen2 --quiet || status=1; \
	$(BIN)/tia eval evals/unseen2/unseen2b.jsonl --out .eval-out/unseen2b --quiet || status=1; \
	export TIA_DATA_DIR=$$tmp/data3 && $(BIN)/tia ingest evals/unseen3/corpus >/dev/null && \
	$(BIN)/tia eval evals/unseen3/unseen3.jsonl --out .eval-out/unseen3 --quiet || status=1; \
	export TIA_DATA_DIR=$$tmp/data4 && $(BIN)/tia ingest evals/unseen4/corpus >/dev/null && \
	$(BIN)/tia eval evals/unseen4/unseen4.jsonl --out .eval-out/unseen4 --quiet || status=1; \
	rm -rf $$tmp; exit $$status

# Refit the extractive reader (assistant/reader.json) on the training sets, with the leave-one-set-out table.
reader: install
	$(BIN)/python -m evals.reader

# Refit the scheme-name model (ingest/scheme_names.json) on the labelled schemes, with its leave-one-set-out table.
schemes-model: install
	$(BIN)/python -m evals.scheme_model

# The quick loop: no real-model, server or browser tests.
test-fast: install
	$(BIN)/python -m pytest -m "not slow and not server and not browser"

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts .eval-out
