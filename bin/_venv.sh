# Sourced by bin/run and bin/test: make sure .venv exists and holds what pyproject.toml asks for.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  echo "riff: creating .venv with $("$PY" --version)"
  "$PY" -m venv .venv
fi
STAMP=.venv/.riff-installed
WANT="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  echo "riff: installing dependencies into .venv (first run takes a few minutes)"
  .venv/bin/python -m pip install --quiet --upgrade pip
  # torch==2.13.0 is pinned in pyproject.toml: that exact pin selects the CPU wheel.
  .venv/bin/python -m pip install --quiet -e '.[dev]'
  echo "$WANT" > "$STAMP"
fi
export PATH="$ROOT/.venv/bin:$PATH"
export DJANGO_SETTINGS_MODULE=config.settings
