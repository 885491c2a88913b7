# The two commands of the README: `make book` and `make test`. Both set up .venv first.
VENV := .venv/bin
export PATH := $(CURDIR)/$(VENV):$(PATH)

.PHONY: setup data browser book test test-fast bench bench-grading clean student-release install-cells

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
	python bench/class_grading.py

# The students' repository (exercises, the lenet_ref wheel, binder/, a README; no solutions)
# in _build/student-release (`make book` clears _build: run this after it). README: For instructors.
student-release: setup
	python scripts/student-release.py

# The install cell of every solutions/ notebook (lenet_ref/install.py, html.baseurl of
# _config.yml), then exercises/ regenerated from solutions/.
install-cells: setup
	python scripts/install-cells.py
	for a in solutions/*/; do nbgrader generate_assignment $$(basename $$a) --force || exit 1; done

clean:
	rm -rf _build .pytest_cache
