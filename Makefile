# The template repository's own commands. On a fresh machine:
#   make demo    scaffold, train, serve and query a model service
#   make test    install what the tests need and run every test

PYTHON ?= python3
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
SCHEMAS := tests/schemas
PYTEST_ARGS ?= -n auto --dist loadgroup --durations=15

# The generated repos' `make` calls uv; it comes from this virtual environment.
export PATH := $(BIN):$(PATH)
export BENTOML_DO_NOT_TRACK := true

.DEFAULT_GOAL := help
.PHONY: help install system-packages schemas demo test test-fast lint docs golden cookiecutter questions lock bench-image bench-fleet bench-fleet-report bench-serving bench-reliability bench-batch

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

# uv (a test dependency, pinned in pyproject.toml) installs the rest: a third of pip's time. With
# bytecode compiled, as pip does, so no test process compiles the same modules again.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "$$(grep -o '"uv[>=<,.0-9]*"' pyproject.toml | tr -d '"')"
	$(BIN)/uv pip install --quiet --python $(BIN)/python --compile-bytecode -e '.[test]'
	touch $@

install: $(VENV)/.installed ## Create .venv with the package and its test dependencies

system-packages: ## Install the Debian packages the test tiers need, when missing
	bash scripts/system-packages.sh

# gitlab-ci-local needs re2, a native module. Its prebuilt binaries come from GitHub releases, not a
# registry, so it is compiled here: unoptimised and without debug symbols, the install takes 44 s
# instead of 60 on 2 cores (the pipeline tests do not notice the regular expressions' speed).
$(SCHEMAS)/node_modules/.package-lock.json: $(SCHEMAS)/package-lock.json
	CFLAGS="-O0 -g0" CXXFLAGS="-O0 -g0" npm ci --prefix $(SCHEMAS) --no-audit --no-fund --loglevel=error

schemas: $(SCHEMAS)/node_modules/.package-lock.json ## Install the npm validators of tests/schemas/ (kept until the lock changes)

demo: install ## Scaffold the default service into build/, train, serve, send a prediction
	$(BIN)/python -m goldenpath demo

test: install system-packages schemas ## Run every test (installs what they need first)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: install schemas ## Run the unit and render tiers (tests/unit, tests/render): a few minutes
	$(BIN)/python -m pytest tests/unit tests/render $(PYTEST_ARGS)

lint: install ## Lint the template repo's own Python; check cookiecutter.json follows copier.yml
	$(BIN)/ruff check src devkit tests tools benchmarks
	$(BIN)/ruff format --check src devkit tests tools benchmarks
	$(BIN)/python -m tools.cookiecutter --check

docs: install ## Build the documentation site in strict mode into build/site/
	$(BIN)/mkdocs build --strict --quiet

golden: install ## Regenerate the shipped OpenAPI document, then tests/golden/default/ from the default answers
	$(BIN)/python -m tools.openapi
	$(BIN)/python -m tools.golden

cookiecutter: install ## Regenerate cookiecutter.json from copier.yml (the questions' one source)
	$(BIN)/python -m tools.cookiecutter

questions: install ## Regenerate the questions tables (README.md, docs/reference/questions.md) from copier.yml
	$(BIN)/python -m tools.questions

lock: install ## Re-lock the generated repo (templates/model-service/uv.lock.jinja); UPGRADE=1 upgrades every package
	$(BIN)/python -m tools.relock $(if $(UPGRADE),--upgrade)

bench-image: install system-packages ## Image size and cold start against BentoML's Dockerfile
	$(BIN)/python -m benchmarks.image.run

bench-fleet: install ## Fleet update: serial copier loop against goldenpath fleet update --jobs 2, interleaved
	$(BIN)/python -m benchmarks.fleet.run --repos $(or $(REPOS),20) --jobs $(or $(JOBS),2) \
		--rounds $(or $(ROUNDS),3) $(if $(COMPARE),--compare $(COMPARE))

bench-fleet-report: install ## Fleet report: 200 repositories on three releases, at most 60 s
	$(BIN)/python -m benchmarks.fleet.report --repos $(or $(REPOS),200) --rounds $(or $(ROUNDS),3)

bench-serving: install system-packages ## Serving: generated service against FastAPI + uvicorn (wrk)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m benchmarks.serving.run --duration $(or $(DURATION),5) --rounds $(or $(ROUNDS),3) \
		$(if $(BASELINE),--baseline $(BASELINE))

bench-reliability: install system-packages ## Reliability: fuzzing, soak, SIGTERM under load, overload
	$(BIN)/python -m benchmarks.reliability.run --soak $(or $(SOAK),60)

bench-batch: install system-packages ## Batch scoring: chunked `make score` against a naive pandas script; Spark local[1] vs [2]
	$(BIN)/python -m benchmarks.batch.run --rows $(or $(ROWS),1000000 10000000) --rounds $(or $(ROUNDS),2) \
		$(if $(BASELINE),--baseline $(BASELINE))
