#!/usr/bin/env bash
# Try the files of this directory as an operator would, on one machine: two instances configured by
# a.env and b.env (addresses moved to 127.0.0.1), one PostgreSQL, one data path, HAProxy in front
# with haproxy.cfg's health check (TLS left out). Then stop one instance and see the balancer keep
# serving. Needs: vira on PATH (or VIRA=...), haproxy, psql, curl, a PostgreSQL at 127.0.0.1:5432.
set -euo pipefail
cd "$(dirname "$0")"
VIRA="${VIRA:-vira}"
PG="${PG:-postgres://postgres@127.0.0.1:5432}"
export PGOPTIONS="-c client_min_messages=warning"
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS vira_try WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS vira_try WITH (FORCE)" -c "CREATE DATABASE vira_try" >/dev/null
mkdir -p "$work/data"
# The example files, on this machine: instance a on 1995x, b on 2995x; one database and data path.
local_env() { # file port-prefix
  sed -e "s#10\.0\.0\.1[12]:9950#127.0.0.1:${2}50#; s#10\.0\.0\.1[12]:9951#127.0.0.1:${2}51#" \
      -e "s#10\.0\.0\.1[12]:9464#127.0.0.1:${2}64#" \
      -e "s#^VIRA_DATABASE_URL=.*#VIRA_DATABASE_URL=$PG/vira_try#" \
      -e "s#^VIRA_DATA_PATH=.*#VIRA_DATA_PATH=$work/data#" \
      -e "s#^VIRA_READY_MIN_FREE_BYTES=.*#VIRA_READY_MIN_FREE_BYTES=1048576#" "$1"
}
local_env a.env 199 > "$work/a.env"
local_env b.env 299 > "$work/b.env"
start() { # env file, log
  ( set -a; . "$1"; set +a; exec "$VIRA" serve ) 2>"$2" &
  pids+=($!)
}
start "$work/a.env" "$work/a.log"
start "$work/b.env" "$work/b.log"
sed -e '/bind :443/d; /redirect scheme https/d; s#bind :80#bind 127.0.0.1:18080#' \
    -e 's#10\.0\.0\.11:9950#127.0.0.1:19950#; s#10\.0\.0\.12:9950#127.0.0.1:29950#' \
    -e 's#inter 2s#inter 500ms#' haproxy.cfg > "$work/haproxy.cfg"
haproxy -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
pids+=($!)

lb=http://127.0.0.1:18080
wait_for() { # url expected-status
  for _ in $(seq 1 100); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = "$2" ] && return 0
    sleep 0.1
  done
  echo "no $2 from $1" >&2; return 1
}
wait_for http://127.0.0.1:19950/api/health/ready 200
wait_for http://127.0.0.1:29950/api/health/ready 200
sleep 1.5 # the balancer's first checks
echo "ready through the balancer: $(curl -s $lb/api/health/ready)"

key=$( set -a; . "$work/a.env"; set +a; "$VIRA" user create --handle admin --admin )
sample=$(curl -sf -u "admin:$key" -d '{"name": "Grapevine 1"}' $lb/api/samples | grep -o '"id":"[^"]*"' | head -1 | cut -d'"' -f4)
for _ in $(seq 1 10); do
  curl -sf -u "admin:$key" -o /dev/null $lb/api/samples/"$sample"
done
count() { curl -s "http://127.0.0.1:$1/metrics" | grep '^vira_http_requests_total{method="GET",route="/api/samples/{sample_id}",status="2xx"}' | awk '{print $2}'; }
echo "GET sample answered by a: $(count 19964), by b: $(count 29964)"

echo "stopping instance a (SIGTERM)"
kill -TERM "${pids[0]}"
sleep 1.5
ok=0
for _ in $(seq 1 10); do
  code=$(curl -s -u "admin:$key" -o /dev/null -w '%{http_code}' $lb/api/samples/"$sample")
  [ "$code" = 200 ] && ok=$((ok + 1))
done
echo "with a stopped: $ok of 10 requests answered 200 (by b: $(count 29964) in all)"
[ "$ok" = 10 ]
echo "vira --version: $("$VIRA" --version)"
echo "tried: OK"
