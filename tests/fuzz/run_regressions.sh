#!/bin/sh
# Replays tests/fuzz/regressions/* and the seed corpora through every harness,
# without libFuzzer: each harness is linked with fuzz_main.c (a file-replay
# driver) and the implementation compiled once (tests/sp_impl.c, or $SP_IMPL_O), under
# ASan + UBSan when the compiler has them, else plainly.
#   tests/fuzz/run_regressions.sh        exit 0 when nothing crashes
# Regression files are named <harness>-<what>, e.g. xyz-comment-key-at-eof.
set -u
cd "$(dirname "$0")/../.."
CC=${CC:-cc}
OUT=build/fuzz_replay
mkdir -p "$OUT"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
echo 'int main(void){return 0;}' | $CC $SAN -x c - -o "$OUT/.t" 2>/dev/null || SAN=
fail=0
CFL="-g1 -O1 $SAN -ffp-contract=off"
# SP_IMPL_O: an implementation object already built with these sanitizers (`make fuzz-regressions`
# passes the one of `make sanitize`)
IMPL=${SP_IMPL_O:-}
if [ -z "$IMPL" ] || [ -z "$SAN" ]; then
    IMPL=$OUT/sp_impl.o
    # shellcheck disable=SC2086
    $CC $CFL -c tests/sp_impl.c -o "$IMPL" || exit 1
fi
for h in meam meam_sw xyz eval uf3 json snnp; do
    [ -f tests/fuzz/fuzz_$h.c ] || continue
    # shellcheck disable=SC2086
    $CC $CFL -I. -Itests/fuzz -DSPF_LINK_IMPL -DSPF_HARNESS="\"fuzz_$h.c\"" tests/fuzz/fuzz_main.c "$IMPL" \
        -o "$OUT/replay_$h" -lm || { fail=1; continue; }
    case $h in meam|eval) s=meam ;; meam_sw) s=meam_sw ;; *) s=$h ;; esac
    files=$(ls tests/fuzz/regressions/$h-* tests/fuzz/seeds/$s/* 2>/dev/null)
    [ -n "$files" ] || continue
    hf=0
    for f in $files; do
        if ! "$OUT/replay_$h" "$f" > "$OUT/log" 2>&1; then
            echo "FAIL $h $f"; grep -m3 -E 'ERROR|SUMMARY|#[01] ' "$OUT/log"; hf=1; fail=1
        fi
    done
    [ $hf = 0 ] && echo "ok   $h ($(echo "$files" | wc -w) inputs)"
done
exit $fail
