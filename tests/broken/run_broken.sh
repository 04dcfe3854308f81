#!/bin/sh
# Runs `splinepot eval` on every broken input written by gen_broken.py and
# checks that each one fails cleanly (or, where the defect is harmless,
# succeeds with the energies of the valid pair).
#
#   tests/broken/run_broken.sh [DIR] [-- GEN_OPTIONS...]
#
#   DIR           where the cases go (default: a fresh temporary directory)
#   GEN_OPTIONS   passed to gen_broken.py (--quick, --uf3 FILE, --uf3-synthetic)
#   SPLINEPOT=... the binary (default build/splinepot)
#   VALGRIND=1    run each case under valgrind --error-exitcode=99
#                 (memcheck, definite leaks count as errors); unless SPLINEPOT
#                 is set, a plain -O2 -g build of tools/splinepot.c is used
#                 (-march=native code can stop valgrind with SIGILL)
#   KEEP=1        keep DIR afterwards
#
# Checks, per case:
#   clean error   exit status 1; stderr has exactly one line starting with
#                 "error:", of the form "error: FILE:LINE: what" with FILE the
#                 broken file's path and LINE >= 1; no other output than
#                 "warning:" lines; -o OUT and its temporary file absent
#   accepted      exit status 0; output has no nan/inf; energies equal to the
#                 valid pair's (relative 1e-9) -> "same", else "DIFFERENT"
#   failure       any other exit status (crash, sanitizer, valgrind 99),
#                 a missing or malformed error line, an output file left behind
#
# Writes DIR/results.tsv (id, family, kind, expect, broken file, verdict,
# status, error line) and prints a summary; exit status 1 if any case fails.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SP=${SPLINEPOT:-$ROOT/build/splinepot}
DIR=
case ${1:-} in --|"") ;; *) DIR=$1; shift ;; esac
[ "${1:-}" = "--" ] && shift
if [ -z "$DIR" ]; then DIR=$(mktemp -d "${TMPDIR:-/tmp}/sp_broken.XXXXXX"); fi
[ -x "$SP" ] || { echo "run_broken.sh: $SP not built (make)" >&2; exit 2; }
mkdir -p "$DIR"
python3 "$ROOT/tests/broken/gen_broken.py" "$DIR" "$@" >/dev/null || exit 2
VG=
if [ "${VALGRIND:-0}" = 1 ]; then
    VG="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite"
fi
RES=$DIR/results.tsv
printf 'id\tfamily\tkind\texpect\tbroken_file\tverdict\tstatus\tstderr\n' > "$RES"
WORK=$DIR/.run
mkdir -p "$WORK"
# a private copy: a rebuild of build/splinepot during the run does not disturb it
if [ "${VALGRIND:-0}" = 1 ] && [ -z "${SPLINEPOT:-}" ]; then
    # the default build uses -march=native, whose instructions valgrind may not
    # know (SIGILL): build a plain -O2 -g copy for memcheck, without OpenMP
    ${CC:-cc} -std=c99 -O2 -g -ffp-contract=off "$ROOT/tools/splinepot.c" -I"$ROOT" -o "$WORK/splinepot" -lm -ldl || exit 2
else
    cp "$SP" "$WORK/splinepot" || exit 2
fi
SP=$WORK/splinepot

energies() { # the energy= values of an output file, one per line
    grep -o ' energy=[^ ]*' "$1" | sed 's/ energy=//'
}

# baselines: energies of every valid pair
for fam in Si_1 TiO uf3; do
    line=$(awk -F'\t' -v f="$fam" '$1 == f "_good"' "$DIR/manifest.tsv")
    [ -n "$line" ] || continue
    pot=$(printf '%s' "$line" | cut -f5); xyz=$(printf '%s' "$line" | cut -f6)
    if ! (cd "$DIR" && $SP eval "$pot" "$xyz" -o ".run/base_$fam.xyz" 2>/dev/null); then
        echo "run_broken.sh: the valid pair $pot + $xyz fails" >&2; exit 2
    fi
    energies "$WORK/base_$fam.xyz" > "$WORK/base_$fam.e"
done

nfail=0; n=0
tail -n +2 "$DIR/manifest.tsv" | while IFS='	' read -r id fam kind expect pot xyz broken desc; do
    [ "$broken" = "-" ] && continue
    n=$((n + 1))
    bf=$pot; [ "$broken" = xyz ] && bf=$xyz
    rm -rf "$WORK/o"; mkdir -p "$WORK/o"
    (cd "$DIR" && $VG $SP eval "$pot" "$xyz" -o .run/o/out.xyz > .run/stdout 2> .run/stderr)
    st=$?
    nerr=$(grep -a -c '^error:' "$WORK/stderr")
    other=$(grep -a -v -c -e '^error:' -e '^warning:' -e '^frame [0-9]*:' "$WORK/stderr")
    eline=$(grep -a -m1 '^error:' "$WORK/stderr" | tr '\t' ' ' | cut -c1-300)
    left=$(ls -A "$WORK/o")
    verdict=
    if [ $st -eq 1 ]; then
        if [ "$nerr" -ne 1 ]; then verdict="FAIL:error-lines=$nerr"
        elif ! printf '%s\n' "$eline" | grep -a -q -E "^error: $bf:[1-9][0-9]*: [^ ]"; then verdict="FAIL:format"
        elif [ "$other" -ne 0 ]; then verdict="FAIL:extra-stderr"
        elif [ -n "$left" ]; then verdict="FAIL:output-left($left)"
        elif [ "$expect" = ok ]; then verdict="FAIL:rejected-harmless"
        else verdict="error"
        fi
    elif [ $st -eq 0 ]; then
        if [ ! -f "$WORK/o/out.xyz" ]; then verdict="FAIL:no-output"
        elif grep -q -i -E '(^|[ "])[-+]?(nan|inf)' "$WORK/o/out.xyz"; then verdict="FAIL:non-finite-output"
        else
            energies "$WORK/o/out.xyz" > "$WORK/e"
            if python3 - "$WORK/e" "$WORK/base_$fam.e" <<'EOF'
import sys
a = [float(x) for x in open(sys.argv[1]).read().split()]
b = [float(x) for x in open(sys.argv[2]).read().split()]
ok = len(a) == len(b) and all(abs(x - y) <= 1e-9 * max(1.0, abs(y)) for x, y in zip(a, b))
sys.exit(0 if ok else 1)
EOF
            then verdict="accepted-same"
            else verdict="accepted-DIFFERENT"
            fi
            if [ "$expect" = error ]; then verdict="FAIL:accepted($verdict)"
            elif [ "$expect" = ok ] && [ "$verdict" != accepted-same ]; then verdict="FAIL:$verdict"
            fi
        fi
    elif [ $st -eq 99 ]; then verdict="FAIL:valgrind"
    else verdict="FAIL:status-$st"
    fi
    case $verdict in FAIL*) nfail=$((nfail + 1)) ;; esac
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$id" "$fam" "$kind" "$expect" "$bf" "$verdict" "$st" "$eline" >> "$RES"
    if [ "${VALGRIND:-0}" = 1 ] && [ $st -eq 99 ]; then
        cp "$WORK/stderr" "$DIR/valgrind_$id.txt"
    fi
done
total=$(tail -n +2 "$RES" | wc -l)
fails=$(tail -n +2 "$RES" | cut -f6 | grep -c '^FAIL')
echo "run_broken.sh: $total cases in $DIR"
tail -n +2 "$RES" | cut -f6 | sed 's/(.*//' | sort | uniq -c | sed 's/^/  /'
if [ "$fails" -gt 0 ]; then
    echo "failures:"
    tail -n +2 "$RES" | awk -F'\t' '$6 ~ /^FAIL/ {print "  " $1 ": " $6 "  " $8}' | head -60
fi
if [ "${KEEP:-0}" != 1 ] && [ "$fails" -eq 0 ]; then rm -rf "$DIR"; fi
[ "$fails" -eq 0 ]
