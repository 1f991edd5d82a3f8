#!/usr/bin/env bash
# Builds the fuzz targets on the stable toolchain with the flags that
# `cargo fuzz build -s none` passes (sanitizer coverage for libFuzzer, no
# sanitizer, debug assertions and overflow checks on, `--cfg fuzzing`), so
# neither nightly nor cargo-fuzz is needed. Binaries land in
# tests/fuzz/target/x86_64-unknown-linux-gnu/release/<target>.
# Usage: tests/fuzz/build.sh [cargo build args, e.g. --bin record]
set -euo pipefail
cd "$(dirname "$0")"
triple="$(rustc -vV | sed -n 's/^host: //p')"
export RUSTFLAGS="${RUSTFLAGS:-} -Cpasses=sancov-module \
 -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
 -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares \
 -Cllvm-args=-simplifycfg-branch-fold-threshold=0 \
 --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
# --target keeps these flags off build scripts and proc-macros, as cargo-fuzz does.
cargo build --release --target "$triple" "$@"
echo "target/$triple/release"
