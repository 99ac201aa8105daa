#!/usr/bin/env bash
# Run every cargo-fuzz (libFuzzer) target for a bounded time, then report per target the number
# of executions and whether a crash artifact was written. Not part of CI's test command.
#
#   fuzz/run.sh SECONDS [TARGET...]      e.g. fuzz/run.sh 60, or fuzz/run.sh 300 coverage headers
#
# Needs `cargo install cargo-fuzz` and python3 (seed corpus, standard library only).
# Exits non-zero when any target crashed (or failed to build or start).
#
# cargo fuzz passes nightly-only flags to rustc (-Zsanitizer=address, -Cpasses=sancov-module, ...).
# The project builds on the stable toolchain only, so RUSTC_BOOTSTRAP=1 lets stable rustc accept
# those flags here. It is set for this script's cargo invocations alone, never for normal builds.
set -uo pipefail

usage() { echo "usage: $0 SECONDS [TARGET...]" >&2; exit 2; }
[[ $# -ge 1 && $1 =~ ^[0-9]+$ && $1 -gt 0 ]] || usage
SECS=$1
shift

HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE/.." || exit 2
export RUSTC_BOOTSTRAP=1

ALL=(finalize_pathoscope finalize_nuvs json_bodies query_and_paths multipart gzip_imports
     headers ncbi_replies blastn_output coverage export_floats)
TARGETS=("${@:-${ALL[@]}}")

# Largest input per target: the finalize bodies need room for real results.
max_len() {
  case $1 in
    finalize_pathoscope | finalize_nuvs) echo 1048576 ;;
    multipart | gzip_imports | coverage) echo 262144 ;;
    ncbi_replies | blastn_output) echo 131072 ;;
    json_bodies) echo 16384 ;;
    query_and_paths) echo 4096 ;;
    headers | export_floats) echo 512 ;;
    *) echo 4096 ;;
  esac
}

python3 "$HERE/seeds.py" || exit 2
# -a: debug assertions and overflow checks on, so arithmetic overflow is a crash.
cargo fuzz build -O -a || exit 2
BIN="$HERE/target/$(rustc -vV | sed -n 's/^host: //p')/release"

LOGS="$HERE/logs"
mkdir -p "$LOGS"
status=0
summary=()
for target in "${TARGETS[@]}"; do
  artifacts="$HERE/artifacts/$target"
  mkdir -p "$artifacts" "$HERE/corpus/$target"
  before=$(find "$artifacts" -type f | sort)
  log="$LOGS/$target.log"
  echo "== $target: ${SECS}s, -max_len=$(max_len "$target")"
  # The binary built above, run directly: `cargo fuzz run` would rebuild whenever src/ changed.
  "$BIN/$target" "$HERE/corpus/$target" -artifact_prefix="$artifacts/" \
    -max_total_time="$SECS" -max_len="$(max_len "$target")" -timeout=60 \
    -rss_limit_mb=4096 -print_final_stats=1 >"$log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  [[ -n $execs ]] || execs=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')
  new=$(comm -13 <(echo "$before") <(find "$artifacts" -type f | sort) | sed '/^$/d')
  if [[ -n $new || $rc -ne 0 ]]; then
    status=1
    result="CRASH (exit $rc) ${new//$'\n'/ }"
    grep -m3 -E 'panicked at|ERROR: (libFuzzer|AddressSanitizer)' "$log" | sed 's/^/   /'
  else
    result="ok"
  fi
  summary+=("$(printf '%-20s %12s  %s' "$target" "${execs:-?}" "$result")")
done

echo
printf '%-20s %12s  %s\n' target executions result
printf '%s\n' "${summary[@]}"
exit $status
