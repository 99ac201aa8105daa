#!/usr/bin/env bash
# CPU profile of GET S NuVs (the real fixture analysis) on PostgreSQL: a release `vira serve` on a
# fresh database, wrk at 16 connections for SECONDS, `perf record -g` of the server meanwhile.
# Prints wrk's figures and perf's top symbols; writes OUT.perf.data (and OUT.svg when inferno's
# `inferno-collapse-perf`/`inferno-flamegraph` are installed: `cargo install inferno`).
#
#   scripts/profile.sh [SECONDS=10] [OUT=/tmp/vira-profile] [PATH=nuvs|pathoscope|floor]
#   (VIRA_READ_CACHE_BYTES=0 scripts/profile.sh … profiles the reads that miss the read cache)
#
# Needs: wrk, curl, jq, perf (linux-perf), a PostgreSQL at VIRA_TEST_DATABASE_URL's server.
set -euo pipefail
SECONDS_=${1:-10}
OUT=${2:-/tmp/vira-profile}
WHAT=${3:-nuvs}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FIXTURES=${VIRA_FIXTURES:-$ROOT/../shared/fixtures}
ADMIN_URL=${VIRA_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
for tool in wrk curl jq perf psql; do
  command -v "$tool" >/dev/null || { echo "profile.sh needs $tool" >&2; exit 2; }
done
cargo build --release --quiet --bin vira --manifest-path "$ROOT/Cargo.toml"
VIRA="$ROOT/target/release/vira"
DATA=$(mktemp -d)
DB=vira_profile_$$
psql -q "$ADMIN_URL" -c "CREATE DATABASE $DB"
URL="${ADMIN_URL%/*}/$DB"
PORT=$((20000 + RANDOM % 20000))
BASE="http://127.0.0.1:$PORT"
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$DATA"; psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"' EXIT

KEY=$("$VIRA" user create --handle admin --admin --data-path "$DATA" --database-url "$URL")
AUTH="admin:$KEY"
VIRA_LOG=warn "$VIRA" serve --listen "127.0.0.1:$PORT" --data-path "$DATA" --database-url "$URL" --no-blast-worker &
PID=$!
for _ in $(seq 1 100); do curl -sf -u "$AUTH" "$BASE/api/analyses" >/dev/null && break; sleep 0.1; done
api() { curl -sf -u "$AUTH" "$@"; }
REF=$(api -F "file=@$FIXTURES/reference/otus.json.gz" "$BASE/api/refs/import" | jq -r .id)
api -X POST "$BASE/api/refs/$REF/indexes" >/dev/null
jq -c .annotations "$FIXTURES/hmm/nuvs_results_hmm_ids.derived.json" > "$DATA/ann.json"
api -F "file=@$DATA/ann.json" "$BASE/api/hmms/annotations" >/dev/null
SAMPLE=$(api -d '{"name": "profile"}' "$BASE/api/samples" | jq -r .id)
finalized() {  # workflow results-file jq-filter
  local analysis id job key
  analysis=$(api -d "{\"ref_id\": \"$REF\", \"workflow\": \"$1\"}" "$BASE/api/samples/$SAMPLE/analyses")
  id=$(echo "$analysis" | jq -r .id); job=$(echo "$analysis" | jq -r .job.id)
  key=$(curl -sf -X PATCH -d '{"acquired": true}' "$BASE/jobs-api/jobs/$job" | jq -r .key)
  jq -c "$3" "$2" > "$DATA/results.json"
  curl -sf -u "job-$job:$key" -X PATCH --data-binary "@$DATA/results.json" "$BASE/jobs-api/analyses/$id" >/dev/null
  echo "$id"
}
case "$WHAT" in
  nuvs) ID=$(finalized nuvs "$FIXTURES/nuvs/results.json" '{results: {hits: .}}'); TARGET="/api/analyses/$ID" ;;
  pathoscope) ID=$(finalized pathoscope_bowtie "$FIXTURES/pathoscope/results.fitted.derived.json" '{results: .}'); TARGET="/api/analyses/$ID" ;;
  floor) TARGET="/api/nope" ;;
esac
AUTH_HEADER="Basic $(printf '%s' "$AUTH" | base64 -w0)"
wrk -t2 -c16 -d2s -H "Authorization: $AUTH_HEADER" "$BASE$TARGET" >/dev/null
perf record -F 1999 -g --call-graph dwarf,16384 -o "$OUT.perf.data" -p "$PID" -- sleep "$SECONDS_" 2>/dev/null &
PERF=$!
wrk -t2 -c16 -d"${SECONDS_}s" --latency -H "Authorization: $AUTH_HEADER" "$BASE$TARGET"
wait $PERF || true
# (`head` closes the pipe early: not a failure.)
perf report -i "$OUT.perf.data" --no-children --sort dso,symbol -g none --stdio 2>/dev/null | grep -E "^ +[0-9]" | cut -c1-140 | head -40 || true
if command -v inferno-collapse-perf >/dev/null && command -v inferno-flamegraph >/dev/null; then
  perf script -i "$OUT.perf.data" 2>/dev/null | inferno-collapse-perf | inferno-flamegraph --minwidth 1.5 > "$OUT.svg"
  echo "flame graph: $OUT.svg"
fi
