#!/usr/bin/env bash
# Lint (ruff), format check (ruff format) and type check (mypy) as configured in pyproject.toml; the
# Dockerfile with hadolint.
set -euo pipefail
cd "$(dirname "$0")/.."
paths=(tryon tests bench scripts server.py setup.py)
.venv/bin/ruff check "${paths[@]}"
.venv/bin/ruff format --check "${paths[@]}"
.venv/bin/mypy
.venv/bin/hadolint Dockerfile
