#!/usr/bin/env bash
# Load test: start a release `vira serve` on the real fixtures and run wrk for DURATION seconds at
# CONNECTIONS connections against a mix of GET analysis, list, CSV export and file download.
# Prints requests/s, p50/p99 latency, the non-2xx count (must be 0) and vira's peak RSS.
#
#   scripts/load.sh [DURATION=60] [CONNECTIONS=64]
#
# Needs: wrk, curl, jq (apt-get install -y wrk curl jq). Everything stays on 127.0.0.1.
set -euo pipefail
DURATION=${1:-60}
CONNECTIONS=${2:-64}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FIXTURES=${VIRA_FIXTURES:-$ROOT/../shared/fixtures}
for tool in wrk curl jq; do
  command -v "$tool" >/dev/null || { echo "load.sh needs $tool (apt-get install -y $tool)" >&2; exit 2; }
done

cargo build --release --quiet --bin vira --manifest-path "$ROOT/Cargo.toml"
VIRA="$ROOT/target/release/vira"
DATA=$(mktemp -d)
PORT=$((20000 + RANDOM % 20000))
BASE="http://127.0.0.1:$PORT"
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$DATA"' EXIT

KEY=$("$VIRA" user create --handle admin --admin --data-path "$DATA")
AUTH="admin:$KEY"
VIRA_LOG=warn "$VIRA" serve --listen "127.0.0.1:$PORT" --data-path "$DATA" --no-blast-worker &
PID=$!
for _ in $(seq 1 100); do curl -sf -u "$AUTH" "$BASE/api/analyses" >/dev/null && break; sleep 0.1; done

api() { curl -sf -u "$AUTH" "$@"; }
REF=$(api -F "file=@$FIXTURES/reference/otus.json.gz" "$BASE/api/refs/import" | jq -r .id)
api -X POST "$BASE/api/refs/$REF/indexes" >/dev/null
SAMPLE=$(api -d '{"name": "load"}' "$BASE/api/samples" | jq -r .id)
ANALYSIS=$(api -d "{\"ref_id\": \"$REF\", \"workflow\": \"pathoscope_bowtie\"}" "$BASE/api/samples/$SAMPLE/analyses")
ID=$(echo "$ANALYSIS" | jq -r .id)
JOB=$(echo "$ANALYSIS" | jq -r .job.id)
JOBKEY=$(curl -sf -X PATCH -d '{"acquired": true}' "$BASE/jobs-api/jobs/$JOB" | jq -r .key)
jq -c '{results: .}' "$FIXTURES/pathoscope/results.fitted.derived.json" > "$DATA/finalize.json"
curl -sf -u "job-$JOB:$JOBKEY" -X PATCH --data-binary "@$DATA/finalize.json" "$BASE/jobs-api/analyses/$ID" >/dev/null
FILE=$(curl -sf -u "job-$JOB:$JOBKEY" -F "file=@$FIXTURES/pathoscope/report.tsv" \
  "$BASE/jobs-api/analyses/$ID/files?name=report.tsv&format=tsv" | jq -r .id)
for _ in $(seq 1 50); do
  api -d "{\"ref_id\": \"$REF\", \"workflow\": \"nuvs\"}" "$BASE/api/samples/$SAMPLE/analyses" >/dev/null
done

AUTH_HEADER="Basic $(printf '%s' "$AUTH" | base64 -w0)"
cat > "$DATA/mix.lua" <<LUA
local paths = {
  "/api/analyses/$ID", "/api/analyses/$ID", "/api/analyses?per_page=25",
  "/api/analyses/document/$ID.csv", "/api/analyses/$ID/files/$FILE",
}
local i = 0
wrk.headers["Authorization"] = "$AUTH_HEADER"
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
LUA
IDLE=$(awk '/VmRSS/ {print $2}' /proc/$PID/status)
OUT=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$DATA/mix.lua" "$BASE")
echo "$OUT"
PEAK=$(awk '/VmHWM/ {print $2}' /proc/$PID/status)
RPS=$(echo "$OUT" | awk '/Requests\/sec/ {print $2}')
P50=$(echo "$OUT" | awk '$1 == "50%" {print $2}')
P99=$(echo "$OUT" | awk '$1 == "99%" {print $2}')
NON2XX=$(echo "$OUT" | awk '/Non-2xx/ {print $NF}')
ERRORS=$(echo "$OUT" | awk '/Socket errors/ {print $0}')
echo
echo "load: ${DURATION}s, $CONNECTIONS connections, mix GET analysis/list/CSV/download"
echo "requests/s: $RPS   p50: $P50   p99: $P99   non-2xx: ${NON2XX:-0}   ${ERRORS:-socket errors: none}"
echo "vira RSS: idle $((IDLE / 1024)) MiB, peak $((PEAK / 1024)) MiB"
[ "${NON2XX:-0}" = "0" ]
