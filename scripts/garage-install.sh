#!/usr/bin/env bash
# Installs the Garage S3 server the tests start (issue 15), once per machine:
# the binary is cached outside the checkout, so a clean clone's later runs are quick.
# Prints the binary's path on its last line.
set -euo pipefail
version=2.5.0
root="${VIRA_TOOLS_DIR:-$HOME/.cache/vira-tools}/garage-$version"
bin="$root/bin/garage"
if [ ! -x "$bin" ]; then
    # metrics and k2v are not needed by the tests; leaving them out shortens the build.
    cargo install garage --version "$version" --locked --root "$root" \
        --no-default-features --features bundled-libs,lmdb,sqlite >&2
fi
"$bin" --version >&2
echo "$bin"
