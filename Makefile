# The two commands: `make run` and `make test`. Both install whatever is missing first
# (scripts/setup.sh: Debian packages, the .venv, the SoundFont link), then do their job.
# A second run installs nothing (dpkg check + a stamp keyed on the dependency files).
PY := .venv/bin/python
PYTEST_ARGS ?=
# `make fuzz FUZZ_ARGS="--cases 5000"`: fewer cases than the 100,000 per surface of a full run.
FUZZ_ARGS ?=
SOAK_ARGS ?=

.PHONY: setup run test bench fuzz soak screenshot clean
setup:
	@bash scripts/setup.sh

run: setup
	@$(PY) -m gui

test: setup
	@$(PY) -m pytest $(PYTEST_ARGS)

bench: setup
	@$(PY) bench/run_all.py

# Long fuzz of every input surface (MIDI, text, model folders, audio files) on both cores at the lowest
# priority; runs add up (bench/fuzz_state.json: each run continues where the last stopped) and write
# the section "Fuzz" of bench/RESULTS.md, e.g. `make fuzz FUZZ_ARGS="--stop-at 07:30"`. `make test` runs a few hundred of its cases (tests/test_fuzz.py).
fuzz: setup
	@nice -n 19 $(PY) bench/fuzz.py $(FUZZ_ARGS)

# 100 kill -9 of history writes, MIDI writes and `moodchords train --out` each; bench/RESULTS.md.
soak: setup
	@nice -n 10 $(PY) bench/soak.py $(SOAK_ARGS)

screenshot: setup
	@xvfb-run -a -s "-screen 0 1400x900x24" $(PY) scripts/screenshot.py docs/screenshot.png

clean:
	rm -rf .venv .pytest_cache
