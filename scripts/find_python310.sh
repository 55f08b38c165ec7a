#!/usr/bin/env bash
# Prints the path of a Python 3.10 interpreter, or fails with a message saying how to provide one.
# Order: $PYTHON, python3.10 on PATH, pyenv's newest 3.10.
set -euo pipefail

is_310() { "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' >/dev/null 2>&1; }

if [ -n "${PYTHON:-}" ]; then
  if is_310 "$PYTHON"; then echo "$PYTHON"; exit 0; fi
  echo "error: PYTHON=$PYTHON is not a working Python 3.10 interpreter" >&2
  exit 1
fi
if command -v python3.10 >/dev/null 2>&1 && is_310 python3.10; then
  command -v python3.10; exit 0
fi
if command -v pyenv >/dev/null 2>&1; then
  prefix=$(pyenv prefix 3.10 2>/dev/null || true)
  if [ -z "$prefix" ]; then
    latest=$(pyenv versions --bare 2>/dev/null | grep -E '^3\.10(\.[0-9]+)?$' | sort -V | tail -n 1 || true)
    [ -n "$latest" ] && prefix=$(pyenv prefix "$latest" 2>/dev/null || true)
  fi
  if [ -n "$prefix" ] && is_310 "$prefix/bin/python"; then echo "$prefix/bin/python"; exit 0; fi
fi
cat >&2 <<'MSG'
error: no Python 3.10 interpreter found.
TFX 1.16 supports Python 3.9 and 3.10 only, and this project pins 3.10.
Install one (for example `pyenv install 3.10`) or point to it: make install PYTHON=/path/to/python3.10
MSG
exit 1
