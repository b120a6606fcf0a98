# The two commands: `make run` and `make test`. Both install whatever is missing first
# (scripts/setup.sh: Debian packages, the .venv, the SoundFont link), then do their job.
# A second run installs nothing (dpkg check + a stamp keyed on the dependency files).
PY := .venv/bin/python
PYTEST_ARGS ?=

.PHONY: setup run test bench screenshot clean
setup:
	@bash scripts/setup.sh

run: setup
	@$(PY) -m gui

test: setup
	@$(PY) -m pytest $(PYTEST_ARGS)

bench: setup
	@$(PY) bench/run_all.py

screenshot: setup
	@xvfb-run -a -s "-screen 0 1400x900x24" $(PY) scripts/screenshot.py docs/screenshot.png

clean:
	rm -rf .venv .pytest_cache
