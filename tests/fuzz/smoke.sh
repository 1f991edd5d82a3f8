#!/usr/bin/env bash
# CI smoke of the fuzz targets: build them (tests/fuzz/build.sh, stable
# toolchain, no cargo-fuzz needed), then run each for a short fixed time on
# its checked-in seed corpus. A crash, panic, leak of the oracle or timeout
# fails the smoke and prints the reproducer's path and how to replay it.
#
#   tests/fuzz/smoke.sh                 # every target, FUZZ_SECONDS each (default 20)
#   FUZZ_SECONDS=600 tests/fuzz/smoke.sh record stats   # longer, chosen targets
#
# New inputs libFuzzer finds go to a scratch corpus (tests/fuzz/target/
# smoke-corpus), never into the checked-in seeds. Reproducers go to
# tests/fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${FUZZ_SECONDS:-20}"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(record scanner clf actions stats config redact)
fi

start=$(date +%s)
mkdir -p target
if ! ./build.sh >target/smoke-build.log 2>&1; then
    tail -60 target/smoke-build.log
    echo "fuzz smoke: build FAILED"
    exit 1
fi
bin_dir="$(tail -1 target/smoke-build.log)"
echo "fuzz smoke: built ${#targets[@]} targets in $(( $(date +%s) - start ))s"

failed=()
for t in "${targets[@]}"; do
    scratch="target/smoke-corpus/$t"
    artifacts="artifacts/$t"
    mkdir -p "$scratch" "$artifacts"
    log="target/smoke-$t.log"
    if "$bin_dir/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" "$scratch" "corpus/$t" >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
        echo "fuzz smoke: $t: ok, ${runs:-?} executions in ${seconds}s"
    else
        echo "fuzz smoke: $t: FAILED"
        grep -a -E -A2 "panicked at|^==[0-9]+== ERROR" "$log" | head -20 || tail -30 "$log"
        for r in $(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log"); do
            echo "fuzz smoke: reproducer: tests/fuzz/$r"
            echo "fuzz smoke: replay with: tests/fuzz/$bin_dir/$t tests/fuzz/$r"
        done
        failed+=("$t")
    fi
done
echo "fuzz smoke: $(( $(date +%s) - start ))s in all"
echo "fuzz: $(( ${#targets[@]} - ${#failed[@]} )) passed, ${#failed[@]} failed"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz smoke: failed targets: ${failed[*]}"
    exit 1
fi
