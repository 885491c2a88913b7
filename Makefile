# The two commands of the README: `make book` and `make test`. Both set up .venv first.
VENV := .venv/bin
export PATH := $(CURDIR)/$(VENV):$(PATH)

.PHONY: setup data browser book test test-fast bench bench-grading clean

setup:
	@scripts/setup.sh

data: setup
	python -m lenet_ref data

# Debian's chromium and chromedriver for tests/test_site.py (apt-get when root; else it says what to install).
browser:
	@scripts/setup-browser.sh

# A clean build: an incremental rebuild after a failure can wrongly pass.
book: data
	rm -rf _build
	jupyter-book build . -W -n --keep-going

test: data browser
	python -m pytest

test-fast: setup
	python -m pytest -m "not slow"

bench: data
	python bench/epoch_time.py

# grade-class on a simulated class (100 students x every assignment), nbgrader's serial autograde beside it
bench-grading: data
	python bench/grade_class.py

clean:
	rm -rf _build .pytest_cache
