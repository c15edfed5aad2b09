# Quick start targets. Each sets up what it needs first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEBIAN_PACKAGES := redis-server redis-sentinel redis-tools haproxy prometheus \
	prometheus-alertmanager prometheus-node-exporter prometheus-redis-exporter \
	prometheus-pushgateway iproute2 busybox awscli

.PHONY: venv system-packages preview preview-prod test unit e2e-tools e2e

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

venv: $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt

# Debian programs the integration tests run (needs root or sudo).
system-packages:
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(DEBIAN_PACKAGES)

# Offline render of the dev stack: no cluster, cloud or Pulumi CLI needed.
preview: venv
	$(BIN)/python -m stacks.render dev --out build/dev

preview-prod: venv
	$(BIN)/python -m stacks.render prod --out build/prod

unit: venv
	$(BIN)/python -m pytest tests/unit -q

# Every test: unit (mocks) and integration (real programs on loopback).
# Four workers on two cores: the integration tests mostly wait on the
# programs they run (measured: 583 s with 4 workers against 996 s with 2,
# each test about as long as before; 6 workers saved 78 s more but stretched
# every test by a fifth). A module keeps to one worker (its addresses,
# its module-scoped programs).
test: venv system-packages
	$(BIN)/python -m pytest -q -n 4 --dist loadfile --durations=20

# Real programs for the end-to-end tier, built from Go modules into a cache
# outside the repo (scripts/e2e-versions.env pins them); warm cache: no build.
e2e-tools:
	bash scripts/e2e-tools.sh

# End-to-end: the offline render against a real kube-apiserver and
# kube-controller-manager on 127.0.0.1, and Prometheus 3's promtool.
e2e: venv e2e-tools
	$(BIN)/python -m pytest -q -n 2 --dist loadfile tests/e2e
