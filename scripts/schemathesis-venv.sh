#!/usr/bin/env bash
# The Python tools of the OpenAPI tests, in target/schemathesis-venv: Schemathesis (`st`) and
# openapi-spec-validator, pinned. Quick when the pinned versions are already installed.
set -euo pipefail
cd "$(dirname "$0")/.."
SCHEMATHESIS=4.32.5
VALIDATOR=0.7.2
venv=target/schemathesis-venv
stamp="$venv/.pinned-$SCHEMATHESIS-$VALIDATOR"
if [ -x "$venv/bin/st" ] && [ -f "$stamp" ]; then
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check \
  "schemathesis==$SCHEMATHESIS" "openapi-spec-validator==$VALIDATOR"
touch "$stamp"
