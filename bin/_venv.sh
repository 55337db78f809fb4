# Sourced by bin/run and bin/test: make sure .venv exists and holds what pyproject.toml asks for.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

is_py311() { "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' >/dev/null 2>&1; }

if [ ! -x .venv/bin/python ]; then
  # Python 3.11 exactly: torch==2.13.0's CPU wheel and Django 5.2 are pinned for it.
  PY="${PYTHON:-}"
  if [ -z "$PY" ]; then
    for candidate in python3.11 python3; do
      if command -v "$candidate" >/dev/null 2>&1 && is_py311 "$candidate"; then
        PY="$candidate"
        break
      fi
    done
  fi
  if [ -z "$PY" ] || ! is_py311 "$PY"; then
    echo "riff: Python 3.11 is needed to create .venv; set PYTHON=/path/to/python3.11" >&2
    exit 1
  fi
  echo "riff: creating .venv with $("$PY" --version)"
  "$PY" -m venv .venv
fi

# Reinstall only when pyproject.toml changed since the last successful install.
STAMP=.venv/.riff-installed
WANT="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null || true)" != "$WANT" ]; then
  echo "riff: installing dependencies into .venv (the first run takes a few minutes)"
  .venv/bin/python -m pip install --quiet --upgrade pip \
    || echo "riff: could not upgrade pip; going on with $(.venv/bin/pip --version)" >&2
  # torch==2.13.0 is pinned in pyproject.toml: that exact pin selects the CPU wheel.
  .venv/bin/pip install --quiet -e '.[dev]'
  echo "$WANT" > "$STAMP"
fi

export PATH="$ROOT/.venv/bin:$PATH"
export DJANGO_SETTINGS_MODULE=config.settings
