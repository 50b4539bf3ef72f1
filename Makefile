# The two commands of the README: `make run` (the whole flow on embedded defaults) and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv system-deps kubeplane image test lint typecheck pytest run demo kube bench soak clean

$(STAMP): pyproject.toml dev/pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]' -e ./dev
	@touch $(STAMP)

venv: $(STAMP)

system-deps:
	@bash .ci/system-deps

lint: $(STAMP)
	$(BIN)/ruff check operator web dev tests benchmarks
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy operator/spiris_client operator/spiris_store operator/spiris_sync operator/spiris_connection \
		operator/spiris_operator operator/spiris_read operator/spiris_kubectl web/spiris_web dev/spiris_sandbox dev/spiris_localstack

pytest: $(STAMP) system-deps kubeplane image
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

# The repository parts the local stack runs: given to it, never found by walking up from its own files.
LOCAL_PARTS := --crds crds --chart charts/spiris-operator --kubeplane-src dev/kubeplane

# The control plane (etcd, kube-apiserver, kube-controller-manager, kubectl from Kubernetes' Go modules), built
# once per machine and cached outside the checkout, keyed by its inputs.
kubeplane:
	@bash dev/kubeplane/build.sh >/dev/null

# The product image (the Dockerfile, built with podman on a base made from Debian's packages), tagged
# localhost/spiris-operator:dev; the base and the image are cached in podman's storage, keyed by their inputs.
image: system-deps
	@bash dev/image/build.sh >/dev/null

run: $(STAMP) system-deps kubeplane
	$(BIN)/spiris-local run $(LOCAL_PARTS)

demo: $(STAMP) system-deps kubeplane
	$(BIN)/spiris-local demo $(LOCAL_PARTS)

kube: $(STAMP) system-deps kubeplane
	$(BIN)/spiris-local kube --dir .local/kube $(LOCAL_PARTS)

bench: $(STAMP) system-deps kubeplane
	$(BIN)/python benchmarks/run.py

# The soak test alone: three companies sync while operator, web, sync pods, Postgres and S3 are killed at seeded
# random points (SOAK_ARGS, e.g. --duration 600 --seed 42); the last line is its verdict.
soak: $(STAMP) system-deps kubeplane
	$(BIN)/python -m spiris_localstack.soak $(LOCAL_PARTS) $(SOAK_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache test-artifacts
