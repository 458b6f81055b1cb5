#!/usr/bin/env bash
# Create .venv and install the project with its test and bench extras. Safe to rerun: it skips the install
# when pyproject.toml has not changed since the last successful one.
#   PYTHON=python3.11      the interpreter for the venv (default: python3)
#   TORCH_SPEC="torch"     another torch (e.g. a CUDA build on a GPU machine); the default is the
#                          CPU wheel torch==2.13.0 (a plain `torch` pulls GBs of CUDA packages)
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1
[ -x .venv/bin/python ] || "${PYTHON:-python3}" -m venv .venv
stamp=".venv/.setup-$( (cat pyproject.toml; echo "${TORCH_SPEC:-torch==2.13.0}") | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo "setup: installing into .venv (first run takes a few minutes)" >&2
  .venv/bin/python -m pip install -q "${TORCH_SPEC:-torch==2.13.0}"
  .venv/bin/python -m pip install -q -e ".[test,bench]"
  rm -f .venv/.setup-* && touch "$stamp"
fi
