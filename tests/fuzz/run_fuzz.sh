#!/bin/sh
# Builds the libFuzzer harnesses (ASan + UBSan) and runs each one in turn.
#   tests/fuzz/run_fuzz.sh [RUNS] [HARNESS...]
# RUNS: executions per harness (default 10000000); harnesses default to all.
# Working corpora live in build/fuzz/corpus/<name> (seeded from
# tests/fuzz/seeds and /usr/share/lammps/potentials); crashes are written to
# build/fuzz/artifacts/. Logs: build/fuzz/<name>.log.
set -eu
cd "$(dirname "$0")/../.."
RUNS=${1:-10000000}
[ $# -gt 0 ] && shift
HARNESSES=${*:-"meam meam_sw xyz eval uf3 json snnp"}
CC=${CC:-clang}
P=/usr/share/lammps/potentials
mkdir -p build/fuzz/artifacts
for h in $HARNESSES; do
    $CC -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -ffp-contract=off \
        -I. tests/fuzz/fuzz_$h.c -o build/fuzz_$h -lm
    c=build/fuzz/corpus/$h
    mkdir -p "$c"
    case $h in
        meam)    cp tests/fuzz/seeds/meam/* "$c"/; for f in Si_1 Si_2 Ti TiO; do [ -f $P/$f.meam.spline ] && cp $P/$f.meam.spline "$c"/; done ;;
        meam_sw) cp tests/fuzz/seeds/meam_sw/* "$c"/; for f in Si.b Ti; do [ -f $P/$f.meam.sw.spline ] && cp $P/$f.meam.sw.spline "$c"/; done ;;
        xyz)     cp tests/fuzz/seeds/xyz/* "$c"/ ;;
        eval)    cp tests/fuzz/seeds/meam/* tests/fuzz/seeds/meam_sw/* "$c"/; for f in Si_1 TiO Ti; do [ -f $P/$f.meam.spline ] && cp $P/$f.meam.spline "$c"/; done ;;
        uf3)     cp tests/fuzz/seeds/uf3/* "$c"/ ;;
        json)    cp tests/fuzz/seeds/json/* "$c"/ ;;
        snnp)    cp tests/fuzz/seeds/snnp/* "$c"/ ;;
    esac
    # regressions first: they must not crash
    if ls tests/fuzz/regressions/$h-* >/dev/null 2>&1; then
        ./build/fuzz_$h tests/fuzz/regressions/$h-* >/dev/null 2>&1 || { echo "regression failed: $h (tests/fuzz/run_regressions.sh shows which)"; exit 1; }
    fi
    echo "== fuzz_$h: $RUNS runs"
    ASAN_OPTIONS=allocator_release_to_os_interval_ms=-1 ./build/fuzz_$h -runs="$RUNS" -max_len=16384 -timeout=60 -rss_limit_mb=4096 \
        -dict=tests/fuzz/fuzz.dict -artifact_prefix=build/fuzz/artifacts/$h- -print_final_stats=1 \
        "$c" > build/fuzz/$h.log 2>&1 || { echo "fuzz_$h found a problem: see build/fuzz/$h.log"; tail -40 build/fuzz/$h.log; exit 1; }
    grep -E 'stat::number_of_executed_units|Done' build/fuzz/$h.log | tail -2
done
