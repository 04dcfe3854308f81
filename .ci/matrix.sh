#!/usr/bin/env bash
# The hardening matrix, callable alone (`make matrix`) and from .ci/run:
#   compilers  the tests built and run with gcc and clang; C99, C11 and C++
#              (every test program and the tool compiled as C++); -O0 and
#              -O3; with and without OpenMP (tests/test_determinism.sh, whose
#              checks are across thread counts, in the OpenMP variants).
#              With `make test` (gcc C99 -O3 OpenMP) these five builds hold
#              every pair of settings of any two of the four factors, but
#              C11 with -O3, which only test_c11 of `make test` has (the
#              header's compile time makes -O3 builds the expensive ones):
#                clangxx-cxx17-O3      clang++ C++17  -O3  -
#                gcc-c11-O0            gcc     C11    -O0  -
#                clang-c99-O0          clang   C99    -O0  -
#                gxx-cxx11-O0-omp      g++     C++11  -O0  OpenMP
#                clang-c11-O0-omp      clang   C11    -O0  OpenMP
#              (-O3 here is -O3 -march=native, as the default build.) The
#              examples are built in clang-c99-O0 only.
#   valgrind   every test program (but test_c11, test_cpp, test_static) under memcheck (-O2 -g1, no -march=native:
#              valgrind does not know AVX-512), OpenMP on 2 threads, and the
#              splinepot tool on eval, fit uf3, md, plot, rdf, msd, filters and error paths; no
#              errors and no definite leaks
#   cppcheck   (in the background of the other two when run with them)
#              splinepot.h's implementation as C with OpenMP and as C++
#              without (both sides of every #ifdef _OPENMP), then
#              tests/, tools/ and examples/ against the header's declarations
# usage: .ci/matrix.sh [compilers|valgrind|cppcheck ...]   (default: all three)
# Builds go to build/matrix/ (never `make clean`); logs to build/matrix/*.log.
# Exits 1 if anything failed, after running everything asked for.
set -uo pipefail
SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
cd "$(dirname "$0")/.." || exit 2
M=build/matrix
J=${MATRIX_JOBS:-2}
FP=-ffp-contract=off
WARN="-Wall -Wextra -pedantic -Werror"
mkdir -p "$M"
failed=()
# OpenMP threads sleep rather than spin at barriers: test runs overlap builds
# here, and valgrind runs one thread at a time
export OMP_WAIT_POLICY=passive
# the long finite-difference sweeps (test_snnp) take a subset here; `make test` runs them all
export SP_TEST_QUICK=1
TESTLIST=$(make -s list-tests)   # the Makefile's test programs (not every tests/test_*.c)
LINKED=$(make -s list-linked)    # those linked with the implementation compiled once (tests/sp_impl.c)

# ---------------------------------------------------------------- helpers
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }'; }
# CPU seconds (user + sys) of the finished children of this shell; `times`
# must run in this shell, not in a $(...) subshell
cpu() {
    times > "$M/.times.$BASHPID"
    awk 'NR == 2 { n = split($1 " " $2, t, " "); s = 0
                   for (i = 1; i <= n; ++i) { split(t[i], x, /[ms]/); s += 60 * x[1] + x[2] }
                   printf "%.0f", s }' "$M/.times.$BASHPID"
}
# mark: MARK_W, MARK_C = wall and CPU time now; took W C: TOOK = "w s, CPU c s" since then
# (files per shell: cppcheck may run in a background subshell; $BASHPID read here, not in $(...))
mark() { local f=$M/.cpu.$BASHPID; cpu > "$f"; MARK_C=$(cat "$f"); MARK_W=$(now); }
took() { local f=$M/.cpu.$BASHPID; cpu > "$f"; TOOK="$(secs "$1") s, CPU $(($(cat "$f") - $2)) s"; }
fail() { failed+=("$1"); echo "FAILED: $1"; }

# the tail of a run.sh log: failing checks, crashes, and the summary
show_failures() {
    grep -E 'expected |no result line|exit status|FAILED|differs|failed:|^error|lmp failed' "$1" | head -n 30
    tail -n 1 "$1"
}

# one C build through the Makefile: NAME CC CXX STD OPT OMP [TARGET=tests] (not the Python
# layer's library: the same header, and tests/test_python.sh runs in `make test` only)
# (the examples, which `make examples` builds and runs with gcc -O3, in one
# clang variant: "all")
c_build() {
    local name=$1 cc=$2 cxx=$3 std=$4 opt=$5 omp=$6 target=${7:-tests}
    make -s -j"$J" B="$M/$name" CC="$cc" CXX="$cxx" OPT="$opt" PYLIB= \
        CFLAGS="-std=$std $opt $FP $WARN $omp" "$target" > "$M/$name.log" 2>&1
}

# every test program (and the tool) compiled as C++: NAME CXX STD OPT OMP
cxx_build() {
    local name=$1 cxx=$2 std=$3 opt=$4 omp=$5 d=$M/$1
    mkdir -p "$d"
    : > "$M/$name.log"
    # shellcheck disable=SC2086
    $cxx -x c++ -std="$std" $opt $FP $WARN $omp -c tests/sp_impl.c -o "$d/sp_impl.o" >> "$M/$name.log" 2>&1 ||
        { echo "BUILD FAILED: $d/sp_impl.o" >> "$M/$name.log"; return 1; }
    # one compile per line: output, sources
    {
        for t in $TESTLIST; do
            case $t in
                test_c11) ;; # test_meam.c again; the C standard does not apply
                test_cpp) echo "$d/$t tests/test_cpp.cpp" ;;
                test_static) echo "$d/$t tests/test_static.c tests/static_b.c" ;;
                *) case " $LINKED " in
                       *" $t "*) echo "$d/$t tests/$t.c -x none $d/sp_impl.o" ;;
                       *) echo "$d/$t tests/$t.c" ;;
                   esac ;;
            esac
        done
        echo "$d/splinepot tools/splinepot.c -ldl"
    } | xargs -P "$J" -L 1 sh -c 'out=$0; '"$cxx"' -x c++ -std='"$std $opt $FP $WARN $omp"' "$@" -o "$out" -lm || echo "BUILD FAILED: $out"' \
        >> "$M/$name.log" 2>&1
    ! grep -q 'BUILD FAILED' "$M/$name.log"
}

# the Makefile's test programs, the slow ones first (they run two at a time, and a
# slow one started last would run alone), but the ones named: slow_first EXCLUDED...
slow_first() {
    local t
    for t in test_props test_uf3_fast test_lammps test_cells test_uf3 test_json test_snnp test_meam $TESTLIST; do
        case " $TESTLIST " in *" $t "*) case " $* " in *" $t "*) ;; *) echo "$t" ;; esac ;; esac
    done | awk '!seen[$0]++'
}

# the tests of a built variant, but test_c11 (test_meam again: the variant's
# -std wins) and, without OpenMP, the determinism script (with OpenMP, first: it
# is the longest); two at a time; status in NAME.rc
variant_tests() {
    local name=$1 d=$M/$1 t progs=()
    case $name in *-omp) progs+=(tests/test_determinism.sh) ;; esac
    for t in $(slow_first test_c11); do [ -x "$d/$t" ] && progs+=("$d/$t"); done
    RUN_JOBS=$J SPLINEPOT=$d/splinepot ./tests/run.sh "${progs[@]}" >> "$M/$name.log" 2>&1
    echo $? > "$M/$name.rc"
}

# builds one variant while the tests of the previous one run (they mostly use
# one core and wait for lmp): KIND NAME ARGS..., or "finish" at the end
PENDING=""
pipeline() {
    local kind=$1 name=${2:-} ok=1
    if [ "$kind" != finish ]; then
        shift 2
        rm -f "$M/$name.rc"
        if [ "$kind" = c ]; then c_build "$name" "$@" || ok=0; else cxx_build "$name" "$@" || ok=0; fi
    fi
    if [ -n "$PENDING" ]; then wait "${PENDING#* }"; report "${PENDING%% *}"; PENDING=""; fi
    [ "$kind" = finish ] && return
    if [ $ok = 1 ]; then
        variant_tests "$name" &
        PENDING="$name $!"
    else
        tail -n 30 "$M/$name.log"; fail "$name: build"
    fi
}
report() {
    local name=$1
    if [ "$(cat "$M/$name.rc" 2>/dev/null)" = 0 ]; then
        echo "$name: $(tail -n 1 "$M/$name.log")"
    else
        show_failures "$M/$name.log"; fail "$name: tests"
    fi
}

# ---------------------------------------------------------------- compilers
compilers() {
    local w0 c0
    echo "== compiler matrix (logs: $M/<variant>.log)"
    command -v clang >/dev/null && command -v clang++ >/dev/null || { fail "clang/clang++ not installed"; return; }
    echo 'int main(void){return 0;}' | clang -fopenmp -x c - -o /dev/null 2>/dev/null ||
        { fail "clang -fopenmp does not link (libomp-dev missing?)"; return; }
    mark; w0=$MARK_W; c0=$MARK_C
    # the long build first, so that the short ones hide behind test runs
    pipeline cxx clangxx-cxx17-O3 clang++ c++17 "-O3 -march=native" ""
    pipeline c gcc-c11-O0 gcc g++ c11 "-O0" ""
    pipeline c clang-c99-O0 clang clang++ c99 "-O0" "" all
    pipeline cxx gxx-cxx11-O0-omp g++ c++11 "-O0" -fopenmp
    pipeline c clang-c11-O0-omp clang clang++ c11 "-O0" -fopenmp
    pipeline finish
    took "$w0" "$c0"; echo "compilers: $TOOK"
}

# ---------------------------------------------------------------- valgrind
# (add --track-origins=yes by hand to find where an uninitialised value came from)
VG=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
    --show-leak-kinds=definite)

# one test program under memcheck (called through xargs): prints one line
vg_one() {
    local t=$1 log t0 rc last
    log=$M/valgrind/$(basename "$t").vg.log
    t0=$(now)
    SP_TEST_QUICK=1 OMP_NUM_THREADS=2 "${VG[@]}" "$t" > "$log" 2>&1; rc=$?
    last=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
    if [ $rc -eq 0 ] && [ -n "$last" ]; then
        echo "  ok   $(basename "$t"): $last ($(secs "$t0") s)"
    else
        echo "  FAIL $(basename "$t"): exit $rc${last:+, $last} ($(secs "$t0") s), see $log"
        grep -E '^==[0-9]+== [A-Z]|^==[0-9]+==    (at|by) ' "$log" | head -n 20
    fi
}

# the tool under memcheck: EXPECTED_STATUS DESCRIPTION ARGS...
vg_tool() {
    local want=$1 what=$2 rc log
    shift 2
    log=$M/valgrind/tool.$(echo "$what" | tr -c 'a-zA-Z0-9\n' _).log
    OMP_NUM_THREADS=2 "${VG[@]}" "$M/valgrind/splinepot" "$@" > "$log" 2>&1; rc=$?
    if [ $rc -eq "$want" ]; then echo "  ok   splinepot $what"
    else
        echo "  FAIL splinepot $what: exit $rc (want $want), see $log"
        grep -E '^==[0-9]+== [A-Z]|^==[0-9]+==    (at|by) |^error' "$log" | head -n 20
        fail "valgrind: splinepot $what"
    fi
}

valgrind_step() {
    local w0 c0 out tmp pots=${SPLINEPOT_POTENTIALS:-/usr/share/lammps/potentials}
    echo "== valgrind memcheck (-O2 -g1, OpenMP, 2 threads; logs: $M/valgrind/*.log)"
    command -v valgrind >/dev/null || { fail "valgrind not installed"; return; }
    mark; w0=$MARK_W; c0=$MARK_C
    # (-g1: the line tables the reports need, a quarter less compile time than -g; test_cpp and
    # test_static, which test how the header compiles, are left out with test_c11)
    # shellcheck disable=SC2046  # (one word per program)
    if ! make -s -j"$J" B="$M/valgrind" OPT="-O2 -g1" CFLAGS="-std=c99 -O2 -g1 $FP $WARN -fopenmp" "$M/valgrind/splinepot" \
            $(slow_first test_c11 test_cpp test_static | sed "s|^|$M/valgrind/|") \
            > "$M/valgrind.log" 2>&1; then
        tail -n 30 "$M/valgrind.log"; fail "valgrind: build"; return
    fi
    took "$w0" "$c0"; echo "  built ($TOOK)"
    rm -f "$M"/valgrind/*.log
    # two at a time, the slow ones first
    # (test_c11 is test_meam again here: -std=c99 wins)
    out=$(slow_first test_c11 test_cpp test_static | sed "s|^|$M/valgrind/|" | xargs -P "$J" -n 1 bash "$SELF" __vg_one)
    printf '%s\n' "$out"
    if printf '%s\n' "$out" | grep -q '^  FAIL'; then fail "valgrind: test programs"; fi
    tmp=$M/valgrind/tool
    rm -rf "$tmp"; mkdir -p "$tmp"
    vg_tool 0 "eval meam/spline" eval "$pots/Si_1.meam.spline" tests/data/lmp_Si_1.meam.spline.xyz -o "$tmp/e1.xyz"
    vg_tool 0 "eval meam/sw/spline" eval "$pots/Si.b.meam.sw.spline" tests/data/lmp_Si.b.meam.sw.spline.xyz -o "$tmp/e2.xyz"
    vg_tool 0 "fit uf3" fit uf3 --train tests/data/lmp_Si_1.meam.spline.xyz --r2 1.5:5.0:12 --r3 1.5:3.8:4 \
        -o "$tmp/m.uf3" --report "$tmp/r.json"
    vg_tool 0 "fit uf3 (json)" fit uf3 --train tests/data/lmp_Si_1.meam.spline.xyz --r2 1.5:5.0:12 -o "$tmp/m.json"
    vg_tool 0 "eval uf3" eval "$tmp/m.uf3" tests/data/lmp_Si_1.meam.spline.xyz -o "$tmp/e3.xyz"
    vg_tool 0 "fit smeam (two elements, stresses)" fit smeam --train tests/data/lmp_TiO.meam.spline.xyz \
        --test tests/data/lmp_TiO.meam.spline.xyz --generations 2 --pop 4 --knots 5 --uknots 5 --stress 1 \
        -o "$tmp/tio.meam.spline" --report "$tmp/tio.json"
    sed '2s/$/ weight=1.5/' tests/data/lmp_TiO.meam.spline.xyz > "$tmp/tio_w.xyz"
    vg_tool 0 "fit smeam (weight=)" fit smeam --train "$tmp/tio_w.xyz" --generations 2 --pop 4 --knots 5 --uknots 5 \
        -o "$tmp/tio_w.meam.spline"
    vg_tool 0 "fit uf3 --stress" fit uf3 --train tests/data/lmp_Si_1.meam.spline.xyz --r2 1.5:5.0:12 --r3 1.5:3.8:4 \
        --stress 1 -o "$tmp/ms.uf3"
    vg_tool 0 "fit uf3 --cv (two elements, stresses)" fit uf3 --train tests/data/lmp_TiO.meam.spline.xyz \
        --r2 1.5:5.5:8 --cv 3 --cv-curv 1e-6,1e-3 --stress 0.5 -o "$tmp/cv.uf3"
    vg_tool 0 "convert (uf3 JSON, table)" convert "$tmp/m.json" "$tmp/m2.table"
    vg_tool 0 "eval (extxyz, 178 columns)" eval "$pots/Si_1.meam.spline" tests/fuzz/seeds/xyz/wide.xyz -o "$tmp/e4.xyz"
    vg_tool 0 "md --thermostat" md "$pots/Si_1.meam.spline" tests/data/lmp_Si_1.meam.spline.xyz --steps 20 \
        --thermostat --every 5 --dump "$tmp/traj.xyz"
    vg_tool 0 "md from a dumped frame (velocities)" md "$pots/Si_1.meam.spline" "$tmp/traj.xyz" --steps 5 --every 5
    vg_tool 0 "md --press" md "$pots/Si_1.meam.spline" tests/data/lmp_Si_1.meam.spline.xyz --steps 20 --thermostat \
        --press 0 --aniso --every 5
    vg_tool 0 "md --press --tri" md "$pots/Si_1.meam.spline" tests/data/lmp_Si_1.meam.spline.xyz --steps 20 --thermostat \
        --press 0 --tri --every 5
    vg_tool 0 "mc --press" mc "$pots/Si_1.meam.spline" tests/data/lmp_Si_1.meam.spline.xyz --sweeps 3 --press 0 \
        --skin 0.3 --step 0.05 --vstep 0.05 --every 1
    vg_tool 0 "mc --press --aniso" mc "$pots/Ti.meam.spline" tests/data/lmp_Ti.meam.spline.xyz --sweeps 2 --press 0 --aniso \
        --skin 0.3 --step 0.05 --every 1
    vg_tool 0 "mc --press --tri" mc "$pots/Ti.meam.spline" tests/data/lmp_Ti.meam.spline.xyz --sweeps 6 --press 0 --tri \
        --skin 0.3 --step 0.05 --vstep 0.1 --every 1
    vg_tool 0 "plot" plot "$pots/Si_1.meam.spline" -o "$tmp/p.svg"
    vg_tool 0 "rdf --ref" rdf "$tmp/traj.xyz" --ref "$tmp/traj.xyz" -o "$tmp/rdf.dat"
    vg_tool 1 "rdf (a frame not periodic)" rdf tests/data/lmp_Si_1.meam.spline.xyz
    vg_tool 0 "msd" msd "$tmp/traj.xyz" --dt 0.005 -o "$tmp/msd.dat"
    # a small s-NNP, fitted outside valgrind, for the filters report
    "$M/valgrind/splinepot" fit snnp --train tests/data/lmp_Si_1.meam.spline.xyz --filters3 2 --filters2 1 --hidden 4 \
        --epochs 2 -o "$tmp/s.snnp" > /dev/null 2>&1 || fail "valgrind: fit snnp (for filters)"
    vg_tool 0 "filters" filters "$tmp/s.snnp" tests/data/lmp_Si_1.meam.spline.xyz -o "$tmp/f.dat"
    vg_tool 0 "filters --drop --save" filters "$tmp/s.snnp" tests/data/lmp_Si_1.meam.spline.xyz --drop Si:1,3 \
        --save "$tmp/s2.snnp"
    vg_tool 1 "filters --drop (no such filter)" filters "$tmp/s.snnp" tests/data/lmp_Si_1.meam.spline.xyz --drop Si:9
    vg_tool 0 "filters --lattice" filters "$tmp/s.snnp" --lattice diamond --a 5.43 --points 3 -o "$tmp/curve.dat"
    vg_tool 0 "props hcp" props "$pots/Ti.meam.spline" --lattice hcp --vacancy -1 -o "$tmp/props.json"
    vg_tool 1 "props (--c-a on a cubic lattice)" props "$pots/Si_1.meam.spline" --lattice diamond --c-a 1.6
    vg_tool 0 "phonons" phonons "$pots/Si_1.meam.spline" --lattice diamond --element Si --points 8 -o "$tmp/bands.dat" \
        --svg "$tmp/bands.svg"
    vg_tool 1 "phonons (no element, no mass)" phonons "$pots/Si_1.meam.spline" --lattice diamond
    vg_tool 0 "gsfe" gsfe "$pots/Si_1.meam.spline" --lattice diamond --points 4 -o "$tmp/gsfe.dat"
    vg_tool 1 "eval (missing file)" eval "$pots/Si_1.meam.spline" "$tmp/does_not_exist.xyz"
    # melt --cell: the file read, its types mapped, then the error (a run of melt is minutes under valgrind)
    printf '2\nLattice="5.43 0 0 0 5.43 0 0 0 5.43" Properties=species:S:1:pos:R:3\nSi 0 0 0\nSi 0.3 1.1 2.2\n' > "$tmp/c.xyz"
    vg_tool 1 "melt --cell (no common reflection)" melt "$pots/Si_1.meam.spline" --cell "$tmp/c.xyz" --temp 1500
    sed 's/^Si 0 0 0/Ti 0 0 0/' "$tmp/c.xyz" > "$tmp/c2.xyz"
    vg_tool 1 "melt --cell (element not in the model)" melt "$pots/TiO.meam.spline" --cell "$tmp/c2.xyz" --temp 1500
    took "$w0" "$c0"; echo "valgrind: $TOOK"
}

# ---------------------------------------------------------------- cppcheck
# memsetClassFloat is off project-wide: the library assumes IEEE 754 doubles
# (bit-identical to LAMMPS; C99 Annex F), where all-bits-zero is +0.0, and
# zeroes structs with memset on purpose. Other suppressions are inline, each
# with its reason on the same line.
# shellcheck disable=SC2054
CPPCHECK=(cppcheck -q --error-exitcode=1 --enable=warning,performance,portability --inline-suppr
          --suppress=memsetClassFloat --template='{file}:{line}: {severity}: {message} [{id}]')

cppcheck_step() {
    local w0 c0 d=$M/cppcheck cfg rc=0 f srcs
    echo "== cppcheck $(cppcheck --version 2>/dev/null | sed 's/Cppcheck //')"
    command -v cppcheck >/dev/null || { fail "cppcheck not installed"; return; }
    mark; w0=$MARK_W; c0=$MARK_C
    rm -rf "$d"; mkdir -p "$d/src"
    # 1. the implementation, one configuration per run (a -D limits cppcheck to it)
    printf '#define SPLINEPOT_IMPLEMENTATION\n#include "splinepot.h"\n' > "$d/impl.c"
    local i=0 pids=() p
    for cfg in "--std=c99 -D_OPENMP" "--language=c++ --std=c++11 -D__cplusplus"; do
        # shellcheck disable=SC2086
        ( "${CPPCHECK[@]}" -I. -DSPLINEPOT_IMPLEMENTATION $cfg "$d/impl.c" > "$d/impl.$i.log" 2>&1 ||
              { echo "cppcheck $cfg:"; cat "$d/impl.$i.log"; exit 1; } ) &
        pids+=($!); i=$((i + 1))
        if [ ${#pids[@]} -ge "$J" ]; then wait "${pids[0]}" || rc=1; pids=("${pids[@]:1}"); fi
    done
    for p in "${pids[@]}"; do wait "$p" || rc=1; done
    # 2. tests, tools, examples, fuzz harnesses: copies with the
    #    SPLINEPOT_IMPLEMENTATION define blanked (same line numbers), so each
    #    file is checked against the declarations instead of re-analysing
    #    the implementation 25 times
    for f in splinepot.h tests/*.c tests/*.cpp tests/*.h tests/fuzz/*.c tests/fuzz/*.h tools/*.c tools/kim/*/*.c tools/python/*.c \
             examples/*.c examples/*.h; do
        [ -f "$f" ] || continue
        mkdir -p "$d/src/$(dirname "$f")"
        sed 's/^#define SPLINEPOT_IMPLEMENTATION\b.*$//' "$f" > "$d/src/$f"
    done
    # the Makefile's tests, the tool, and the tracked examples and fuzz harnesses
    srcs=$(for t in $TESTLIST; do case $t in test_c11|test_cpp) ;; test_static) echo tests/test_static.c tests/static_b.c ;;
           *) echo "tests/$t.c" ;; esac; done)
    srcs="$srcs tools/splinepot.c $(git ls-files 'examples/*.c' 'tests/fuzz/fuzz_*.c' 'tools/kim/*/*.c' \
                                    'tools/python/*.c' 2>/dev/null ||
                                    ls examples/*.c tests/fuzz/fuzz_*.c tools/kim/*/*.c tools/python/*.c)"
    # (a -D again keeps cppcheck to one configuration)
    # shellcheck disable=SC2086
    (cd "$d/src" && "${CPPCHECK[@]}" -j "$J" --std=c99 -DSP_CPPCHECK_DECLS -I. $srcs) || rc=1
    (cd "$d/src" && "${CPPCHECK[@]}" --language=c++ --std=c++11 -DSP_CPPCHECK_DECLS -I. tests/test_cpp.cpp) || rc=1
    took "$w0" "$c0"
    if [ $rc -eq 0 ]; then echo "cppcheck: clean ($TOOK)"; else fail "cppcheck ($TOOK)"; fi
}

# ---------------------------------------------------------------- main
if [ "${1:-}" = __vg_one ]; then vg_one "$2"; exit 0; fi
steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(cppcheck compilers valgrind)
mark; W0=$MARK_W; C0=$MARK_C
BG=""
for s in "${steps[@]}"; do
    case $s in
        compilers) compilers ;;
        valgrind) valgrind_step ;;
        cppcheck)
            if [ ${#steps[@]} -gt 1 ]; then
                # beside the other steps, whose test runs leave a core idle a third of the time;
                # its report at the end
                ( failed=(); cppcheck_step; [ ${#failed[@]} -eq 0 ] ) > "$M/cppcheck.out" 2>&1 &
                BG=$!
            else
                cppcheck_step
            fi ;;
        *) echo "unknown step '$s' (compilers, valgrind, cppcheck)"; exit 2 ;;
    esac
done
if [ -n "$BG" ]; then
    wait "$BG" || failed+=("cppcheck (see above)")
    cat "$M/cppcheck.out"
fi
took "$W0" "$C0"
if [ ${#failed[@]} -gt 0 ]; then
    echo "matrix: ${#failed[@]} failure(s) ($TOOK):"
    printf '  %s\n' "${failed[@]}"
    exit 1
fi
echo "matrix: all passed ($TOOK)"
