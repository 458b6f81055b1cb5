#!/usr/bin/env bash
# Set up (if needed) and run the test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# loadgroup: the tests sharing a module fixture stay on one worker (tests/conftest.py)
exec .venv/bin/python -m pytest -q -n 2 --dist loadgroup "$@"
