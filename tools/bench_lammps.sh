#!/usr/bin/env bash
# tools/bench_lammps.sh - splinepot md against LAMMPS, side by side, on the same structure.
#
#   tools/bench_lammps.sh [--steps N] [--repeats R] [--uf3-steps N] [--seed S]
#                         [--wait-load L] [--only CASE] [--no-readme] [--keep]
#
# Cases (8000-atom diamond Si from tools/make_crystal.py, seed 8000, sigma 0.05):
#   meam_Si1     Si_1.meam.spline, meam/spline, NVE from 600 K, dt 1 fs, skin 1 A;
#                splinepot with OMP_NUM_THREADS=1 and 2, LAMMPS with 1 thread
#   meamsw_Sib   Si.b.meam.sw.spline, meam/sw/spline, same settings
#   uf3_bcc      UF3 pair model (UF3=path) on 8192-atom bcc (a = 3.16, 16^3) at rc 5.5 A against
#                LAMMPS lj/cut 5.5 (eps 0.1 eV, sigma 2.44 A: LJ minimum at the bcc nearest-neighbour
#                distance, pair_modify shift yes), NVE from 300 K; LAMMPS static (`run N`, no fix) is printed as well.
#                The LAMMPS side always runs; the splinepot side is skipped unless $UF3 is a file.
#   npt_Si1      as meam_Si1 at 0 bar: LAMMPS fix npt (temp 600 600 0.1 iso 0 0 1.0) against
#                splinepot md --thermostat --damp 100 --press 0 --pdamp 1000
#   mc_swap_TiO  Monte-Carlo swaps: TiO.meam.spline on 1440-atom hcp Ti (a 2.95, c 4.68, 10x6x6) with
#                every eighth atom O, 1500 K; LAMMPS fix atom/swap (types 1 2, ke no) against
#                splinepot mc --swaps 1, us per swap attempt, both on one thread.
#
# --only CASE runs just that case (meam_Si1, meamsw_Sib, npt_Si1, uf3_bcc or mc_swap_TiO).
# Every run of a case is interleaved round-robin (splinepot 1 thr, LAMMPS, splinepot 2 thr, ...),
# R repeats each; the reported figure is the median. us/atom-step is, for splinepot, its own
# 'perf:' line (wall time of the whole run / (atoms x (steps+1))), and for LAMMPS
# Loop time / (steps x atoms), as in /work/shared/reference/timing_lammps.md.
# LAMMPS: 1 MPI rank, OMP_NUM_THREADS=1, neighbor 1.0 bin, neigh_modify every 1 delay 0 check yes.
#
# Output: one line per case on stdout, and (unless --no-readme) a markdown table appended to
# bench/README.md (created with a header if absent).
#
# Environment: SPLINEPOT (binary; default: build/splinepot, made with `make build/splinepot`),
# LMP (default: lmp), POTDIR (default: /usr/share/lammps/potentials), UF3 (UF3 model file),
# UF3_EL (element written into the bcc crystal for the UF3 case, default W), UF3_TEMP (300).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STEPS=300
REPEATS=3
UF3_STEPS=""
SEED=8000
WAIT_LOAD=""
WRITE_README=1
KEEP=0
ONLY=""

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }
while [ $# -gt 0 ]; do
    case "$1" in
        --steps) STEPS=$2; shift 2 ;;
        --repeats) REPEATS=$2; shift 2 ;;
        --uf3-steps) UF3_STEPS=$2; shift 2 ;;
        --seed) SEED=$2; shift 2 ;;
        --wait-load) WAIT_LOAD=$2; shift 2 ;;
        --only) ONLY=$2; shift 2 ;;
        --no-readme) WRITE_README=0; shift ;;
        --keep) KEEP=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "bench_lammps.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
    esac
done
for v in "$STEPS" "$REPEATS" "$SEED"; do
    [[ "$v" =~ ^[0-9]+$ ]] && [ "$v" -gt 0 ] || { echo "bench_lammps.sh: --steps/--repeats/--seed need positive integers" >&2; exit 2; }
done
# The pair potential is ~20x cheaper per atom-step than s-MEAM: more steps for the same run time.
[ -n "$UF3_STEPS" ] || UF3_STEPS=$((STEPS * 10))

LMP=${LMP:-lmp}
POTDIR=${POTDIR:-/usr/share/lammps/potentials}
UF3=${UF3:-}
UF3_EL=${UF3_EL:-W}
UF3_TEMP=${UF3_TEMP:-300}
command -v "$LMP" >/dev/null || { echo "bench_lammps.sh: LAMMPS '$LMP' not found" >&2; exit 1; }
command -v python3 >/dev/null || { echo "bench_lammps.sh: python3 not found" >&2; exit 1; }

# --- splinepot binary: (re)build if needed, then use a private copy so a rebuild during the run
# cannot swap binaries between repeats.
BUILD_NOTE="given as SPLINEPOT"
if [ -z "${SPLINEPOT:-}" ]; then
    BUILD_NOTE="build/splinepot up to date"
    if ! make -s -C "$ROOT" build/splinepot >&2; then
        BUILD_NOTE="'make build/splinepot' failed, existing build/splinepot of $(date -u -r "$ROOT/build/splinepot" '+%Y-%m-%d %H:%M UTC' 2>/dev/null || echo '?')"
        if [ -x "$ROOT/build/splinepot" ]; then
            echo "bench_lammps.sh: warning: 'make build/splinepot' failed, using the existing binary" >&2
        else
            echo "bench_lammps.sh: cannot build build/splinepot" >&2; exit 1
        fi
    fi
    SPLINEPOT=$ROOT/build/splinepot
fi
[ -x "$SPLINEPOT" ] || { echo "bench_lammps.sh: '$SPLINEPOT' is not executable" >&2; exit 1; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/bench_lammps.XXXXXX")
cleanup() { if [ "$KEEP" = 1 ]; then echo "bench_lammps.sh: kept $TMP" >&2; else rm -rf "$TMP"; fi; }
trap cleanup EXIT
trap 'exit 130' INT TERM
cp "$SPLINEPOT" "$TMP/splinepot"
SP=$TMP/splinepot

load1() { cut -d' ' -f1 /proc/loadavg; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# --wait-load L: wait (at most 5 minutes) for the 1-minute load average to drop below L.
if [ -n "$WAIT_LOAD" ]; then
    for _ in $(seq 60); do
        python3 -c "import sys; sys.exit(0 if float('$(load1)') < float('$WAIT_LOAD') else 1)" && break
        echo "bench_lammps.sh: load $(loadavg) >= $WAIT_LOAD, waiting" >&2
        sleep 5
    done
fi
LOAD_START=$(loadavg)

# --- structures (the same coordinates for both codes)
python3 "$ROOT/tools/make_crystal.py" diamond 5.431 10 10 10 --sigma 0.05 --seed 8000 \
    -o "$TMP/si8000.xyz" --lammps "$TMP/si8000.data"
python3 "$ROOT/tools/make_crystal.py" bcc 3.16 16 16 16 --el "$UF3_EL" --sigma 0.05 --seed 8192 \
    -o "$TMP/bcc8192.xyz" --lammps "$TMP/bcc8192.data"

# lammps_input DATA MASS PAIRSTYLE PAIRCOEFF TEMP STEPS md|static [PAIR_MODIFY-LINE] > in-file
lammps_input() {
    cat <<EOF
units metal
atom_style atomic
boundary p p p
read_data $1
mass 1 $2
pair_style $3
pair_coeff $4
${8:-}
neighbor 1.0 bin
neigh_modify every 1 delay 0 check yes
timestep 0.001
thermo $6
EOF
    if [ "$7" = md ]; then
        echo "velocity all create $5 $SEED dist gaussian"
        echo "fix 1 all nve"
    elif [ "$7" = npt ]; then
        echo "velocity all create $5 $SEED dist gaussian"
        echo "fix 1 all npt temp $5 $5 0.1 iso 0.0 0.0 1.0"
    fi
    echo "run $6"
}

# run_lammps IN STEPS -> us/atom-step
run_lammps() {
    local log=$TMP/lmp.log
    (cd "$TMP" && OMP_NUM_THREADS=1 "$LMP" -in "$1" -log "$log" -screen none -echo none) \
        || { echo "bench_lammps.sh: LAMMPS failed on $1:" >&2; tail -5 "$log" >&2; return 1; }
    [ -s "$TMP/lmp.version" ] || sed -n '1{s/ *$//;p}' "$log" > "$TMP/lmp.version"
    # "Loop time of T on P procs for STEPS steps with ATOMS atoms"
    awk -v s="$2" '/^Loop time of/ && $9 == s { v = $4 / ($9 * $12) * 1e6 } END { if (v == "") exit 1; print v }' "$log"
}

# run_sp THREADS POT XYZ STEPS TEMP [MORE OPTIONS] -> us/atom-step
run_sp() {
    local out=$TMP/sp.out
    OMP_NUM_THREADS=$1 "$SP" md "$2" "$3" --steps "$4" --dt 1 --temp "$5" --seed "$SEED" --skin 1.0 "${@:6}" \
        > "$out" 2>&1 || { echo "bench_lammps.sh: splinepot failed:" >&2; tail -5 "$out" >&2; return 1; }
    awk '/^perf:/ { v = $2 } END { if (v == "") exit 1; print v }' "$out"
}

median() { python3 -c 'import sys, statistics; print("%.4g" % statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }
div() { python3 -c 'import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print("%.3g" % (a / b))' "$1" "$2"; }
spread() { python3 -c 'import sys; v = sorted(float(x) for x in sys.argv[1:]); print("%.4g..%.4g" % (v[0], v[-1]))' "$@"; }

ROWS=()   # markdown rows

# bench_meam NAME POTFILE PAIRSTYLE [npt]: splinepot 1 thr / LAMMPS / splinepot 2 thr, round-robin
bench_meam() {
    local name=$1 pot=$POTDIR/$2 style=$3 mode=${4:-md} more=()
    [ -f "$pot" ] || { echo "case=$name skipped: $pot not found"; return 0; }
    lammps_input si8000.data 28.0855 "$style" "* * $pot Si" 600 "$STEPS" "$mode" > "$TMP/in.$name"
    [ "$mode" = npt ] && more=(--thermostat --damp 100 --press 0 --pdamp 1000)
    local a=() b=() c=() r
    for r in $(seq "$REPEATS"); do
        a+=("$(run_sp 1 "$pot" "$TMP/si8000.xyz" "$STEPS" 600 "${more[@]}")")
        b+=("$(run_lammps "$TMP/in.$name" "$STEPS")")
        c+=("$(run_sp 2 "$pot" "$TMP/si8000.xyz" "$STEPS" 600 "${more[@]}")")
        echo "  $name repeat $r: splinepot ${a[-1]}  lammps ${b[-1]}  splinepot_2thr ${c[-1]}  (load $(load1))" >&2
    done
    local ma mb mc
    ma=$(median "${a[@]}"); mb=$(median "${b[@]}"); mc=$(median "${c[@]}")
    local ratio spd load
    ratio=$(div "$ma" "$mb"); spd=$(div "$ma" "$mc"); load=$(loadavg)
    echo "case=$name atoms=8000 steps=$STEPS splinepot_us=$ma lammps_us=$mb ratio=$ratio splinepot_2thr_us=$mc speedup_2thr=$spd load=\"$load\""
    [ "$mode" = npt ] && style="$style, NPT"
    ROWS+=("| $name | $2, $style | 8000 | $STEPS | $ma ($(spread "${a[@]}")) | $mb ($(spread "${b[@]}")) | **$ratio** | $mc ($(spread "${c[@]}")) | $spd | $load |")
}

echo "bench_lammps.sh: $(date -u +%Y-%m-%dT%H:%M:%SZ) nproc=$(nproc) steps=$STEPS repeats=$REPEATS load=\"$LOAD_START\"" >&2

# ===== 1. s-MEAM Si_1 (meam/spline) =====
if [ -z "$ONLY" ] || [ "$ONLY" = meam_Si1 ]; then bench_meam meam_Si1 Si_1.meam.spline meam/spline; fi

# ===== 2. meam/sw/spline Si.b =====
if [ -z "$ONLY" ] || [ "$ONLY" = meamsw_Sib ]; then bench_meam meamsw_Sib Si.b.meam.sw.spline meam/sw/spline; fi

# ===== 2b. Si_1 at constant pressure: fix npt (Nose-Hoover, iso) against md --press (c-rescale, Langevin) =====
if [ -z "$ONLY" ] || [ "$ONLY" = npt_Si1 ]; then bench_meam npt_Si1 Si_1.meam.spline meam/spline npt; fi

# ===== 3. UF3 (pair) against LAMMPS lj/cut 5.5 on bcc8192 ==========================================
# Enable the splinepot side with UF3=/path/to/model (a 2-body UF3 model with a 5.5 A cutoff;
# UF3_EL names its element). Without it only the LAMMPS numbers are printed.
bench_uf3() {
    local name=uf3_bcc ljc="1 1 0.1 2.44"
    lammps_input bcc8192.data 183.84 "lj/cut 5.5" "$ljc" "$UF3_TEMP" "$UF3_STEPS" md "pair_modify shift yes" > "$TMP/in.lj_md"
    lammps_input bcc8192.data 183.84 "lj/cut 5.5" "$ljc" "$UF3_TEMP" "$UF3_STEPS" static "pair_modify shift yes" > "$TMP/in.lj_static"
    local have_uf3=0
    if [ -n "$UF3" ] && [ -f "$UF3" ]; then have_uf3=1
    else echo "bench_lammps.sh: UF3 model not given or not found (UF3='$UF3'): splinepot side of $name skipped" >&2; fi
    local a=() b=() s=() r last
    for r in $(seq "$REPEATS"); do
        last=skipped
        if [ $have_uf3 = 1 ]; then
            if last=$(run_sp 1 "$UF3" "$TMP/bcc8192.xyz" "$UF3_STEPS" "$UF3_TEMP"); then
                a+=("$last")
            else
                echo "bench_lammps.sh: splinepot md failed on UF3 model '$UF3': splinepot side of $name skipped" >&2
                have_uf3=0; a=(); last=skipped
            fi
        fi
        b+=("$(run_lammps "$TMP/in.lj_md" "$UF3_STEPS")")
        s+=("$(run_lammps "$TMP/in.lj_static" "$UF3_STEPS")")
        echo "  $name repeat $r: splinepot $last  lammps_lj_md ${b[-1]}  lammps_lj_static ${s[-1]}  (load $(load1))" >&2
    done
    local ma="skipped" mb ms ratio="n/a" load
    mb=$(median "${b[@]}"); ms=$(median "${s[@]}"); load=$(loadavg)
    if [ $have_uf3 = 1 ]; then ma=$(median "${a[@]}"); ratio=$(div "$ma" "$mb"); fi
    echo "case=$name atoms=8192 steps=$UF3_STEPS splinepot_us=$ma lammps_us=$mb ratio=$ratio lammps_static_us=$ms load=\"$load\""
    local sa="skipped (no UF3 model)"
    [ $have_uf3 = 1 ] && sa="$ma ($(spread "${a[@]}"))"
    ROWS+=("| $name | UF3 $(basename "${UF3:-none}") vs lj/cut 5.5 (static: $ms) | 8192 | $UF3_STEPS | $sa | $mb ($(spread "${b[@]}")) | **$ratio** | - | - | $load |")
}
if [ -z "$ONLY" ] || [ "$ONLY" = uf3_bcc ]; then bench_uf3; fi
# ===== end of UF3 section ==========================================================================

# ===== 4. Monte-Carlo swaps: LAMMPS fix atom/swap against splinepot mc --swaps 1 ==================
# LAMMPS evaluates the whole energy for every attempt; its time per attempt is the difference of
# two 10-step runs with 10 and 410 attempts, over 400. splinepot's is its perf: line (us/trial).
bench_swap() {
    local name=mc_swap_TiO pot=$POTDIR/TiO.meam.spline n
    [ -f "$pot" ] || { echo "case=$name skipped: $pot not found"; return 0; }
    python3 "$ROOT/tools/make_crystal.py" hcp 2.95 10 6 6 --el Ti --c 4.68 --sigma 0 -o "$TMP/ti1440.xyz"
    # every eighth atom O, written as extxyz and as a two-type LAMMPS data file
    python3 - "$TMP/ti1440.xyz" "$TMP/tio1440.xyz" "$TMP/tio1440.data" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().split('\n')
n = int(lines[0])
h = [float(v) for v in re.search(r'Lattice="([^"]+)"', lines[1]).group(1).split()]
atoms = [lines[2 + k].split() for k in range(n)]
for k in range(n):
    if (k + 3) % 8 == 0:
        atoms[k][0] = 'O'
with open(sys.argv[2], 'w') as f:
    f.write('%d\n%s\n' % (n, lines[1]))
    for a in atoms:
        f.write(' '.join(a) + '\n')
with open(sys.argv[3], 'w') as f:
    f.write('Ti-O\n\n%d atoms\n2 atom types\n\n0 %.10f xlo xhi\n0 %.10f ylo yhi\n0 %.10f zlo zhi\n\n'
            % (n, h[0], h[4], h[8]))
    f.write('Masses\n\n1 47.867\n2 15.999\n\nAtoms # atomic\n\n')
    for k, a in enumerate(atoms):
        f.write('%d %d %s %s %s\n' % (k + 1, 1 if a[0] == 'Ti' else 2, a[1], a[2], a[3]))
PY
    for n in 1 41; do
        printf '%s\n' "units metal" "atom_style atomic" "read_data tio1440.data" "pair_style meam/spline" \
            "pair_coeff * * $pot Ti O" "neighbor 0.4 bin" "fix s all atom/swap 1 $n $SEED 1500 ke no types 1 2" \
            "run 10" > "$TMP/in.swap$n"
    done
    local a=() b=() r t1 t41
    for r in $(seq "$REPEATS"); do
        a+=("$(OMP_NUM_THREADS=1 "$SP" mc "$pot" "$TMP/tio1440.xyz" --sweeps 2 --swaps 1 --temp 1500 --step 0.05 \
               --seed "$SEED" --every 100 | awk '/^perf:/ { print $2 }')")
        for n in 1 41; do
            (cd "$TMP" && OMP_NUM_THREADS=1 "$LMP" -in "in.swap$n" -log "swap$n.log" -screen none -echo none) ||
                { echo "bench_lammps.sh: LAMMPS failed on in.swap$n:" >&2; tail -5 "$TMP/swap$n.log" >&2; return 1; }
        done
        t1=$(awk '/^Loop time of/ { print $4 }' "$TMP/swap1.log")
        t41=$(awk '/^Loop time of/ { print $4 }' "$TMP/swap41.log")
        b+=("$(python3 -c "print('%.1f' % (($t41 - $t1) / 400 * 1e6))")")
        echo "  $name repeat $r: splinepot ${a[-1]} us/swap  lammps ${b[-1]} us/swap  (load $(load1))" >&2
    done
    local ma mb ratio load
    ma=$(median "${a[@]}"); mb=$(median "${b[@]}"); ratio=$(div "$ma" "$mb"); load=$(loadavg)
    echo "case=$name atoms=1440 splinepot_us_per_swap=$ma lammps_us_per_swap=$mb ratio=$ratio load=\"$load\""
    ROWS+=("| $name | TiO.meam.spline, us per swap attempt: \`mc --swaps 1\` vs \`fix atom/swap\` | 1440 | - | $ma ($(spread "${a[@]}")) | $mb ($(spread "${b[@]}")) | **$ratio** | - | - | $load |")
}
if [ -z "$ONLY" ] || [ "$ONLY" = mc_swap_TiO ]; then bench_swap; fi

LOAD_END=$(loadavg)
echo "bench_lammps.sh: load average at start \"$LOAD_START\", at end \"$LOAD_END\"" >&2

if [ "$WRITE_README" = 1 ]; then
    README=$ROOT/bench/README.md
    mkdir -p "$ROOT/bench"
    if [ ! -f "$README" ]; then
        cat > "$README" <<'EOF'
# splinepot against LAMMPS: MD timings

Produced by `tools/bench_lammps.sh` (options `--steps N --repeats R`; `UF3=model` enables the UF3 case).

Method: both codes run velocity-Verlet NVE on the *same* structure, written by `tools/make_crystal.py`
as extxyz (splinepot) and as a LAMMPS data file: Si8000 is diamond Si 10x10x10 (a = 5.431, sigma 0.05,
seed 8000); bcc8192 is bcc 16x16x16 (a = 3.16, sigma 0.05, seed 8192). dt = 1 fs, skin 1.0 A, Si from
600 K. LAMMPS (Debian 29Sep2021, `/usr/bin/lmp`) runs on 1 MPI rank with OMP_NUM_THREADS=1,
`neighbor 1.0 bin`, `neigh_modify every 1 delay 0 check yes` and `velocity all create T seed`, like
`/work/shared/reference/timing_lammps.md`; splinepot uses `--temp T --seed S`, so the velocities differ.
Cost is us per atom-step: for LAMMPS `Loop time / (steps x atoms)`; for splinepot its `perf:` line,
wall time of the whole run / (atoms x (steps + 1)), which includes setup and the first force call
(slightly against splinepot). splinepot runs with OMP_NUM_THREADS=1, and again with 2 threads for the
speedup column. Runs are interleaved round-robin (splinepot 1 thr, LAMMPS, splinepot 2 thr, ...);
every figure is the **median of the interleaved repeats** (3 unless stated), min..max in brackets.
ratio = splinepot / LAMMPS (below 1: splinepot is faster). The UF3 row compares a splinepot UF3 pair
model with LAMMPS `lj/cut 5.5` (eps 0.1 eV, sigma 2.44 A, shifted, NVE from 300 K); the LAMMPS static figure
(`run N` without a fix) is given too. The machine is shared and noisy: the load average is recorded.
EOF
    fi
    model=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
    {
        echo
        echo "## $(date -u '+%Y-%m-%d %H:%M UTC'), $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
        echo
        echo "Machine: $model, nproc $(nproc); $(cat "$TMP/lmp.version" 2>/dev/null || echo LAMMPS) ($(command -v "$LMP"));"
        echo "splinepot: $BUILD_NOTE. Repeats $REPEATS (medians); load average (1/5/15 min) at start $LOAD_START, at end $LOAD_END."
        echo
        echo "| case | potential | atoms | steps | splinepot us/atom-step | LAMMPS us/atom-step | ratio | splinepot 2 thr | 2-thr speedup | load after |"
        echo "|---|---|---|---|---|---|---|---|---|---|"
        printf '%s\n' "${ROWS[@]}"
    } >> "$README"
    echo "bench_lammps.sh: table appended to $README" >&2
fi
