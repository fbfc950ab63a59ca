# em-lectures: every task, from a fresh machine with Python 3.11, npm and (for the
# browser checks) Debian's chromium.  `make book` and `make test` do all the set-up.

PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
# `make bench` only: the outside references of benchmarks/bench_models.py and bench_dask.py (pyproject's bench extra)
BENCH_STAMP := $(VENV)/.installed-bench
MATHJAX_VERSION := 3.2.2
MATHJAX := .mathjax/static/mathjax/tex-mml-chtml.js
# axe-core, injected into every page by tests/test_accessibility.py
AXE_VERSION := 4.11.1
AXE     := .axe/axe.min.js
# Lighthouse for `make lighthouse` (benchmarks/lighthouse.py; not part of make test)
LIGHTHOUSE_VERSION := 12.8.2
LIGHTHOUSE := .lighthouse/.installed-$(LIGHTHOUSE_VERSION)
# Wheels of what a chapter run on its own installs (tests/test_standalone.py, offline in CI)
WHEELHOUSE := .wheelhouse/.complete
PORT    ?= 8000
TIMEOUT ?= 300
# One BLAS thread: the same numbers everywhere, and no oversubscription on 2 cores.
export OPENBLAS_NUM_THREADS := 1
export OMP_NUM_THREADS := 1
# nbval as every target runs it: in this environment, with the sanitiser for addresses and paths
NBVAL := --nbval --nbval-current-env --nbval-sanitize-with tests/sanitize.cfg

.PHONY: help install mathjax book pdf pdf-only test test-portability unit notebooks site-test serve lab execute assignments grade grade-all pins bench lighthouse clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

install: $(STAMP) $(WHEELHOUSE) $(AXE)  ## create .venv and install emlib with the pinned book and test tools

# A downloaded chapter's first cell installs emlib and what the chapter imports; the test that
# it runs on its own installs them offline from these wheels (and emlib's, built from here).
$(WHEELHOUSE): pyproject.toml constraints.txt | $(STAMP)
	rm -rf .wheelhouse
	$(BIN)/python -m pip download --quiet --only-binary=:all: -c constraints.txt -d .wheelhouse \
		numpy scipy pandas matplotlib scikit-learn numba threadpoolctl ipykernel "setuptools>=77"
	touch $@

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[book,test]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[bench]"
	touch $@

mathjax: $(MATHJAX)  ## MathJax 3 from the npm registry, served by the site itself (no CDN)

$(MATHJAX):
	rm -rf .mathjax && mkdir -p .mathjax/static
	npm install --silent --no-audit --no-fund --prefix .mathjax mathjax@$(MATHJAX_VERSION)
	cp -r .mathjax/node_modules/mathjax/es5 .mathjax/static/mathjax

$(AXE):
	rm -rf .axe && mkdir -p .axe
	cd .axe && npm pack --silent axe-core@$(AXE_VERSION) >/dev/null \
		&& tar -xzf axe-core-$(AXE_VERSION).tgz --strip-components=1 package/axe.min.js package/LICENSE \
		&& rm axe-core-$(AXE_VERSION).tgz

book: $(STAMP) $(MATHJAX)  ## build the website into _build/html (warnings are errors)
	$(BIN)/jupyter-book build --all -W -n --keep-going .  # --all: an incremental build can leave the bibliography without new citations
	@if [ -x /usr/bin/chromium ]; then $(MAKE) --no-print-directory pdf-only; \
	else echo "No /usr/bin/chromium: the PDF of the book (_build/html/em-lectures.pdf) is not built."; fi
	@echo "Site built: open _build/html/index.html, or run 'make serve'."

pdf: book  ## the whole book as one PDF, _build/html/em-lectures.pdf (part of make book when chromium is installed; ~45 s)

pdf-only: $(STAMP)
	$(BIN)/python _theme/book_pdf.py

test: book $(WHEELHOUSE) $(AXE)  ## unit tests, nbval over every chapter, stored-output and browser checks of the site
	$(BIN)/python -m pytest tests chapters $(NBVAL) -p no:cacheprovider

# A second floating-point environment, one a student's laptop could have: OpenBLAS's generic
# SSE3 kernels instead of the ones it picks for this CPU, numpy without the SIMD kernels it
# dispatches at run time (AVX2/FMA, AVX-512: every optional feature this CPU has), numba's
# kernels (k-means) compiled for a generic x86-64 (SSE2) instead of this CPU, and another
# seed for chapter 7's samplers.  Deterministic outputs must agree with the stored ones up to
# one unit in the last printed digit (chapters/conftest.py); Monte Carlo cells must pass
# their MCSE-based asserts.
CPU_DISPATCHED = $(BIN)/python -c "from numpy._core._multiarray_umath import \
	__cpu_dispatch__ as d, __cpu_features__ as f; print(' '.join(x for x in d if f.get(x)))"
PERTURBED = OPENBLAS_CORETYPE=Prescott NPY_DISABLE_CPU_FEATURES="$$($(CPU_DISPATCHED))" \
	NUMBA_CPU_NAME=generic EMLECTURES_SAMPLER_SEED=7

test-portability: $(STAMP)  ## unit tests and every chapter again, under a second floating-point environment
	$(PERTURBED) $(BIN)/python -c "import numpy; numpy.show_runtime()" | grep -A3 simd
	$(PERTURBED) $(BIN)/python -m pytest tests chapters $(NBVAL) -p no:cacheprovider \
		--ignore=tests/test_site.py --ignore=tests/test_links.py --ignore=tests/test_accessibility.py

assignments: $(STAMP)  ## student versions and grading material into _build/assignments/ (otter-grader)
	$(BIN)/python assignments/course.py build

grade: $(STAMP)  ## grade one notebook offline: make grade SUBMISSION=path/to/notebook.ipynb
	@test -n "$(SUBMISSION)" || { echo "usage: make grade SUBMISSION=path/to/notebook.ipynb"; exit 2; }
	@$(BIN)/python assignments/course.py grade "$(SUBMISSION)" --timeout $(TIMEOUT)

grade-all: $(STAMP)  ## grade a class: make grade-all SUBMISSIONS=dir/ [ASSIGNMENT=a03_gmm_em] [TIMEOUT=300]
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade-all SUBMISSIONS=dir/ [ASSIGNMENT=name] [TIMEOUT=300]"; exit 2; }
	@$(BIN)/python assignments/course.py grade-all "$(SUBMISSIONS)" --timeout $(TIMEOUT) \
		$(if $(ASSIGNMENT),--assignment $(ASSIGNMENT))

unit: $(STAMP)  ## the emlib tests only (fast)
	$(BIN)/python -m pytest tests --ignore=tests/test_site.py --ignore=tests/test_links.py --ignore=tests/test_accessibility.py

notebooks: $(STAMP)  ## nbval over the chapters only
	$(BIN)/python -m pytest chapters $(NBVAL)

execute: $(STAMP)  ## re-run every chapter and store its outputs (after editing a chapter)
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace \
		--ExecutePreprocessor.timeout=600 --ExecutePreprocessor.record_timing=False chapters/*.ipynb

serve: book  ## serve the built site on 127.0.0.1
	@echo "Serving _build/html at http://127.0.0.1:$(PORT)/  (Ctrl-C to stop)"
	$(BIN)/python -m http.server $(PORT) --bind 127.0.0.1 --directory _build/html

lab: $(STAMP)  ## JupyterLab on the chapters
	$(BIN)/jupyter lab --notebook-dir=chapters

pins:  ## regenerate constraints.txt from pyproject.toml ranges (then commit it)
	rm -rf /tmp/emlib-pins && $(PYTHON) -m venv /tmp/emlib-pins
	/tmp/emlib-pins/bin/pip install --quiet -e ".[book,test,bench]"
	{ echo "# Exact versions installed by the Makefile and CI (generated by 'make pins' from pyproject.toml)."; \
	  echo "# Stored notebook outputs are checked against re-execution, so the environment must be exact."; \
	  /tmp/emlib-pins/bin/pip freeze --exclude-editable; } > constraints.txt

bench: $(BENCH_STAMP)  ## speed ratios against scikit-learn, hmmlearn, stepmix, pystatistics and dask-ml; emlib.dask out of core (not part of make test)
	$(BIN)/python benchmarks/bench_fit.py
	$(BIN)/python benchmarks/bench_gmm.py
	$(BIN)/python benchmarks/bench_hmm.py
	$(BIN)/python benchmarks/bench_models.py
	$(BIN)/python benchmarks/bench_dask.py

lighthouse: book $(LIGHTHOUSE)  ## Lighthouse scores of every page, desktop and mobile (not part of make test)
	$(BIN)/python benchmarks/lighthouse.py

$(LIGHTHOUSE):
	rm -rf .lighthouse && mkdir -p .lighthouse
	npm install --silent --no-audit --no-fund --save-exact --prefix .lighthouse lighthouse@$(LIGHTHOUSE_VERSION)
	touch $@

clean:  ## remove the built site (keeps .venv)
	rm -rf _build
