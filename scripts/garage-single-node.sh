#!/usr/bin/env bash
# A single-node Garage S3 server for the tests, the benchmarks and trying --storage s3:// by
# hand: one bucket (`vira`) and one key allowed on it. Usage:
#   scripts/garage-single-node.sh DIR [S3_PORT]
# Installs Garage first if needed (scripts/garage-install.sh), keeps its data in DIR, prints the
# settings for vira as `export` lines and then `ready`, and runs until its standard input closes
# (Ctrl-D, or the process that started it exits), when it stops the server and removes DIR.
set -euo pipefail
dir="$1"
s3_port="${2:-3900}"
here="$(cd "$(dirname "$0")" && pwd)"
garage="$("$here/garage-install.sh" | tail -n 1)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rpc_port="$(free_port)"
admin_port="$(free_port)"
mkdir -p "$dir"
config="$dir/garage.toml"
cat >"$config" <<TOML
metadata_dir = "$dir/meta"
data_dir = "$dir/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$rpc_port"
rpc_public_addr = "127.0.0.1:$rpc_port"
rpc_secret = "$(python3 -c 'import secrets; print(secrets.token_hex(32))')"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$s3_port"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:$admin_port"
TOML
g() { "$garage" -c "$config" "$@"; }
# Not through g: $! must be the server itself, so that stop() kills it.
"$garage" -c "$config" server >"$dir/server.log" 2>&1 &
server=$!
stop() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$dir"; }
trap stop EXIT
for _ in $(seq 1 100); do g status >/dev/null 2>&1 && break; sleep 0.1; done
node="$(g node id -q 2>/dev/null | cut -d@ -f1)"
g layout assign -z dc1 -c 1G "$node" >/dev/null
g layout apply --version 1 >/dev/null
g bucket create vira >/dev/null
key_id="GK$(python3 -c 'import secrets; print(secrets.token_hex(12))')"
secret="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
g key import --yes -n vira "$key_id" "$secret" >/dev/null
g bucket allow --read --write --owner vira --key vira >/dev/null
cat <<ENV
export VIRA_S3_ENDPOINT=http://127.0.0.1:$s3_port
export VIRA_S3_REGION=garage
export VIRA_S3_ACCESS_KEY_ID=$key_id
export VIRA_S3_SECRET_ACCESS_KEY=$secret
# then: vira serve --storage s3://vira/<prefix>
ready
ENV
# Until standard input closes.
cat >/dev/null || true
