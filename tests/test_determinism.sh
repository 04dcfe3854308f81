#!/bin/sh
# Determinism of the splinepot tool (SPEC §1: bitwise identical across runs and
# across OpenMP thread counts; md reproducible from a seed).
#   eval: 8000-atom diamond Si (Gaussian displacements, so forces are nonzero)
#         with Si_1 (meam/spline), Si.b (meam/sw/spline) and a UF2,3 model,
#         twice on 1 thread and on 2 and 8 threads: byte-identical output files.
#   fit uf3, fit smeam (both methods, and a Ti-O fit, 5 generations), fit
#         snnp (with its stress term): the model file on 1, 2 and 8 threads:
#         byte-identical.
#   props: the reports of Si_1 diamond (relaxations, elastic constants,
#         surfaces; no vacancy: its band runs 1500 steps, and below 256 atoms
#         a force call is serial anyway) and of Ti hcp (c/a search, surfaces) on 1, 2 and 8
#         threads: byte-identical; so are the phonon dispersion of Ti hcp
#         and the stacking-fault curves of Si_1 (111) and Ti (10-10).
#   md: Langevin (--thermostat) on 512 atoms, same seed: identical stdout (less
#       the timing lines) and --dump trajectory on 1, 2 and 8 threads, twice;
#       a different seed gives a different trajectory.
#   mc: Metropolis on 512 atoms, same seed: identical stdout (less the timing
#       lines) and trajectory on 1, 2 and 8 threads, twice; the energy summed
#       from the accepted moves equals a full evaluation to 1e-8 eV; with
#       --swaps on a Ti-O cell too, the O atoms kept in number; with
#       --retypes at a high O chemical potential, O atoms gained.
#   options: a misspelt option is named in a warning; no run above raises one.
# The binary is $SPLINEPOT (default build/splinepot; `make test` passes $(B)).
# Closes with "N passed, N failed" like the test programs (tests/run.sh).
SP=${SPLINEPOT:-build/splinepot}
POTS=${SPLINEPOT_POTENTIALS:-/usr/share/lammps/potentials}
passed=0; failed=0
ok()   { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "$0: $*"; }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

if [ ! -x "$SP" ]; then fail "no $SP"; finish; fi
if [ ! -f "$POTS/Si_1.meam.spline" ] || [ ! -f "$POTS/Si.b.meam.sw.spline" ]; then
    echo "skipped: LAMMPS potential files not installed"; finish
fi
if ! command -v python3 >/dev/null; then echo "skipped: python3 (tools/make_crystal.py) missing"; finish; fi
T=$(mktemp -d "${TMPDIR:-/tmp}/sp_det.XXXXXX") || { fail "mktemp"; finish; }
trap 'rm -rf "$T"' EXIT
# oversubscribed runs (8 threads on a small machine) should sleep, not spin
export OMP_WAIT_POLICY=passive
# runs: twice on one thread, then on 2 and 8; a tool built without OpenMP
# (the sanitizer build) runs on one thread whatever is asked: twice only
RUNS="1b 2 8"
if OMP_NUM_THREADS=2 "$SP" bench cells --max 1000 2>/dev/null | grep -q ', 1 thread(s)$'; then
    RUNS="1b"
    echo "built without OpenMP: each run twice on one thread"
fi

python3 tools/make_crystal.py diamond 5.431 10 10 10 --sigma 0.1 --seed 11 -o "$T/si8000.xyz" &&
python3 tools/make_crystal.py diamond 5.431 4 4 4 --sigma 0.05 --seed 12 -o "$T/si512.xyz" || { fail "make_crystal.py"; finish; }

# runs "$SP" with OMP_NUM_THREADS=$2, the argument @ replaced by the path $1
run_one() {
    out=$1; th=$2; shift 2
    for a in "$@"; do shift; [ "$a" = @ ] && a=$out; set -- "$@" "$a"; done
    OMP_NUM_THREADS=$th "$SP" "$@" > "$out.stdout" 2> "$out.stderr"
}

# the same output bytes from every run: $1 tag (output $T/RUN.TAG), then the
# command with @ for the output path; runs 1a and 1b on one thread, then 2 and 8
same_bytes() {
    tag=$1; shift
    for run in 1a $RUNS; do
        out="$T/$run.$tag"
        if ! run_one "$out" "${run%[ab]}" "$@"; then
            fail "$tag: run $run failed: $(tail -n 1 "$out.stderr")"; return 1
        fi
        [ "$run" = 1a ] && continue
        if cmp -s "$T/1a.$tag" "$out"; then ok
        else fail "$tag: output of run $run (${run%[ab]} thread(s)) differs from run 1a: $(cmp "$T/1a.$tag" "$out" | head -n 1)"
        fi
    done
}

# forces are really nonzero (columns 5-7 of the eval output), so the check has teeth
nonzero_forces() {
    if awk 'NR > 2 { for (c = 5; c <= 7; ++c) if ($c > m || -$c > m) m = ($c > 0 ? $c : -$c) } END { exit !(m > 0.1) }' "$1"
    then ok; else fail "$1: forces are all (near) zero"; fi
}

same_bytes si1 eval "$POTS/Si_1.meam.spline" "$T/si8000.xyz" -o @ && nonzero_forces "$T/1a.si1"
same_bytes sib eval "$POTS/Si.b.meam.sw.spline" "$T/si8000.xyz" -o @ && nonzero_forces "$T/1a.sib"
same_bytes props.json props "$POTS/Si_1.meam.spline" --lattice diamond --vacancy -1 -o @
same_bytes props_hcp.json props "$POTS/Ti.meam.spline" --lattice hcp --vacancy -1 -o @
same_bytes bands.dat phonons "$POTS/Ti.meam.spline" --lattice hcp --element Ti --points 10 -o @
same_bytes gsfe.dat gsfe "$POTS/Si_1.meam.spline" --lattice diamond --points 7 -o @
same_bytes gsfe_hcp.dat gsfe "$POTS/Ti.meam.spline" --lattice hcp --plane 10-10 --slip 1,0,0 --points 7 -o @

# UF2,3 model: fitted to Si_1 labels of three small displaced cells
for s in 21 22 23; do
    python3 tools/make_crystal.py diamond 5.431 2 2 2 --sigma 0.15 --seed $s -o "$T/c$s.xyz" &&
    "$SP" eval "$POTS/Si_1.meam.spline" "$T/c$s.xyz" -o "$T/l$s.xyz" 2>/dev/null || fail "labelling cell $s"
done
cat "$T/l21.xyz" "$T/l22.xyz" "$T/l23.xyz" > "$T/train.xyz"
if same_bytes model.uf3 fit uf3 --train "$T/train.xyz" --r2 1.5:5.0:16 --r3 1.5:3.8:6 -o @; then
    same_bytes uf3 eval "$T/1a.model.uf3" "$T/si8000.xyz" -o @ && nonzero_forces "$T/1a.uf3"
fi
# a small s-NNP, its stress term on (fit snnp's minibatches run in parallel)
same_bytes snnp.model fit snnp --train "$T/train.xyz" --filters3 2 --filters2 2 --hidden 4 --epochs 12 --batch 3 \
    --w-stress 0.01 -o @
same_bytes vp.meam.spline fit smeam --train "$T/train.xyz" --generations 5 --pop 8 -o @
same_bytes full.meam.spline fit smeam --method full --train "$T/train.xyz" --generations 5 --pop 8 -o @
# two elements: hcp Ti cells with every fifth atom O, labelled by TiO.meam.spline
if [ -f "$POTS/TiO.meam.spline" ]; then
    : > "$T/tio_train.xyz"
    for s in 31 32 33; do
        python3 tools/make_crystal.py hcp 2.95 2 1 2 --el Ti --c 4.68 --sigma 0.1 --seed $s -o "$T/h$s.xyz" &&
        awk 'NR > 2 && NR % 5 == 0 { sub(/^Ti/, "O") } { print }' "$T/h$s.xyz" > "$T/ho$s.xyz" &&
        "$SP" eval "$POTS/TiO.meam.spline" "$T/ho$s.xyz" -o "$T/hl$s.xyz" 2>/dev/null &&
        cat "$T/hl$s.xyz" >> "$T/tio_train.xyz" || fail "labelling Ti-O cell $s"
    done
    same_bytes vp_tio.meam.spline fit smeam --train "$T/tio_train.xyz" --generations 5 --pop 8 -o @
fi

# md with the Langevin thermostat: stdout less timing lines, and the dumped trajectory
md_run() { # $1 tag, $2 threads, $3 seed, then more options
    tag=$1 th=$2 sd=$3
    shift 3
    OMP_NUM_THREADS=$th "$SP" md "$POTS/Si_1.meam.spline" "$T/si512.xyz" --steps 200 --dt 1 --temp 900 \
        --thermostat --damp 50 --seed "$sd" --every 10 --dump "$T/$tag.traj" "$@" > "$T/$tag.raw" 2> "$T/$tag.stderr" ||
        { fail "md $tag failed: $(tail -n 1 "$T/$tag.stderr")"; return 1; }
    grep -v '^time:\|^perf:' "$T/$tag.raw" > "$T/$tag.log"
}
if md_run md1a 1 7; then
    for run in $RUNS; do
        md_run "md$run" "${run%b}" 7 || continue
        if cmp -s "$T/md1a.log" "$T/md$run.log"; then ok; else fail "md: log on run $run differs"; fi
        if cmp -s "$T/md1a.traj" "$T/md$run.traj"; then ok; else fail "md: trajectory on run $run differs"; fi
    done
    if md_run mdseed 2 8; then
        if cmp -s "$T/md1a.traj" "$T/mdseed.traj"; then fail "md: seeds 7 and 8 give the same trajectory"; else ok; fi
    fi
    # the trajectory holds 21 frames of 512 atoms
    if [ "$(grep -c '^512$' "$T/md1a.traj")" = 21 ]; then ok; else fail "md: expected 21 dumped frames"; fi
fi

# md at constant pressure: the same bits, and a cell that moves
if md_run np1a 1 7 --press 20000 --pdamp 50; then
    for run in $RUNS; do
        md_run "np$run" "${run%b}" 7 --press 20000 --pdamp 50 || continue
        if cmp -s "$T/np1a.log" "$T/np$run.log" && cmp -s "$T/np1a.traj" "$T/np$run.traj"; then ok
        else fail "md --press: log or trajectory on run $run differs"; fi
    done
    if [ "$(grep -o 'Lattice="[^"]*"' "$T/np1a.traj" | sort -u | wc -l)" -gt 10 ]; then ok
    else fail "md --press: the dumped cell does not change"; fi
fi

# md goes on from a dumped frame (positions, cell, velocities): 200 steps, then
# 100 from the last frame, end where 300 steps in one run end
if OMP_NUM_THREADS=1 "$SP" md "$POTS/Si_1.meam.spline" "$T/si512.xyz" --steps 200 --temp 900 --seed 4 --every 100 \
        --dump "$T/part.traj" > /dev/null 2> "$T/part.stderr" &&
    tail -n 514 "$T/part.traj" > "$T/part.xyz" &&
    OMP_NUM_THREADS=1 "$SP" md "$POTS/Si_1.meam.spline" "$T/part.xyz" --steps 100 --every 100 > "$T/part2.log" 2>&1 &&
    OMP_NUM_THREADS=1 "$SP" md "$POTS/Si_1.meam.spline" "$T/si512.xyz" --steps 300 --temp 900 --seed 4 --every 100 \
        > "$T/whole.log" 2>&1; then
    a=$(awk '$1 == "step" && $2 == 100 { print $4, $8 }' "$T/part2.log")
    b=$(awk '$1 == "step" && $2 == 300 { print $4, $8 }' "$T/whole.log")
    if [ -n "$a" ] && awk -v a="$a" -v b="$b" 'BEGIN { split(a, x); split(b, y); d1 = x[1] - y[1]; d2 = x[2] - y[2];
            exit !(d1 < 1e-8 && d1 > -1e-8 && d2 < 1e-8 && d2 > -1e-8) }'; then ok
    else fail "md: 200 + 100 steps end at '$a', 300 steps at '$b'"; fi
else
    fail "md continuation failed: $(tail -n 1 "$T/part.stderr")"
fi

# mc: the same, and the energy summed from the accepted moves equal to a full evaluation
mc_run() { # $1 tag, $2 threads
    OMP_NUM_THREADS=$2 "$SP" mc "$POTS/Si_1.meam.spline" "$T/si512.xyz" --sweeps 20 --temp 900 --seed 5 \
        --every 5 --skin 0.4 --dump "$T/$1.traj" > "$T/$1.raw" 2> "$T/$1.stderr" ||
        { fail "mc $1 failed: $(tail -n 1 "$T/$1.stderr")"; return 1; }
    grep -v '^time:\|^perf:' "$T/$1.raw" > "$T/$1.log"
}
if mc_run mc1a 1; then
    for run in $RUNS; do
        mc_run "mc$run" "${run%b}" || continue
        if cmp -s "$T/mc1a.log" "$T/mc$run.log" && cmp -s "$T/mc1a.traj" "$T/mc$run.traj"; then ok
        else fail "mc: log or trajectory on run $run differs"; fi
    done
    if [ "$(grep -c '^512$' "$T/mc1a.traj")" = 4 ]; then ok; else fail "mc: expected 4 dumped frames"; fi
    # list rebuilds happened (skin 0.4 A), and the running energy is that of a full evaluation
    if awk '/^energy check:/ { d = $(NF - 4); if (d < 0) d = -d; ok = d < 1e-8 && $(NF - 2) > 1 } END { exit !ok }' \
        "$T/mc1a.log"; then ok; else fail "mc: $(grep '^energy check:' "$T/mc1a.log")"; fi
fi
# mc at constant pressure, isotropic and --tri (cell elements and tilts):
# large steps and a thin skin, so lists are rebuilt and mapped back; the same
# bits on 1 and 2 threads, cell trials accepted, a cell that moves, the
# running energy that of a full evaluation
for mode in iso tri; do
    opt=; [ $mode = tri ] && opt=--tri
    for th in 1 2; do
        OMP_NUM_THREADS=$th "$SP" mc "$POTS/Si_1.meam.spline" "$T/si512.xyz" --sweeps 20 --temp 900 --seed 3 --every 1 \
            --skin 0.3 --step 0.05 --press 50000 --vstep 0.03 $opt --dump "$T/mcp$th.traj" > "$T/mcp$th.raw" \
            2> "$T/mcp$th.stderr" || fail "mc --press $opt on $th thread(s): $(tail -n 1 "$T/mcp$th.stderr")"
        grep -v '^time:\|^perf:' "$T/mcp$th.raw" > "$T/mcp$th.log"
    done
    if cmp -s "$T/mcp1.log" "$T/mcp2.log" && cmp -s "$T/mcp1.traj" "$T/mcp2.traj"; then ok
    else fail "mc --press $opt: 1 and 2 threads differ"; fi
    if awk '/^volume / { for (i = 1; i < NF; ++i) if ($i == "trials:") a = $(i + 1) + 0 }
            /^energy check:/ { d = $(NF - 4); if (d < 0) d = -d; b = $(NF - 2) }
            END { exit !(a > 0 && d < 1e-8 && b > 1) }' "$T/mcp1.log" &&
        [ "$(grep -o 'Lattice="[^"]*"' "$T/mcp1.traj" | sort -u | wc -l)" -gt 5 ]; then ok
    else fail "mc --press $opt: $(grep '^volume \|^energy check:' "$T/mcp1.log" | tr '\n' ' ')"; fi
done
# mc with swaps: hcp Ti with every eighth atom O (TiO.meam.spline), on 1 and 2 threads
if [ -f "$POTS/TiO.meam.spline" ] && python3 tools/make_crystal.py hcp 2.95 4 4 3 --el Ti --c 4.68 --sigma 0 -o "$T/ti.xyz"; then
    awk 'NR > 2 && NR % 8 == 0 { sub(/^Ti/, "O") } { print }' "$T/ti.xyz" > "$T/tio.xyz"
    for th in 1 2; do
        OMP_NUM_THREADS=$th "$SP" mc "$POTS/TiO.meam.spline" "$T/tio.xyz" --sweeps 4 --swaps 0.3 --temp 1500 \
            --skin 0.4 --every 2 --dump "$T/tio$th.traj" > "$T/tio$th.raw" 2> "$T/tio$th.stderr" ||
            fail "mc --swaps on $th thread(s): $(tail -n 1 "$T/tio$th.stderr")"
        grep -v '^time:\|^perf:' "$T/tio$th.raw" > "$T/tio$th.log"
    done
    if cmp -s "$T/tio1.log" "$T/tio2.log" && cmp -s "$T/tio1.traj" "$T/tio2.traj"; then ok
    else fail "mc --swaps: 1 and 2 threads differ"; fi
    # swaps were accepted, the trajectory keeps 24 O, and the energy is that of a full evaluation
    if awk '/^swaps:/ { s = $2 } /^energy check:/ { d = $(NF - 4); if (d < 0) d = -d } END { exit !(s > 0 && d < 1e-8) }' \
        "$T/tio1.log" && [ "$(grep -c '^O ' "$T/tio1.traj")" = 48 ]; then ok
    else fail "mc --swaps: $(grep '^swaps:\|^energy check:' "$T/tio1.log" | tr '\n' ' ')"; fi
    # semi-grand-canonical: changes of element at chemical potentials, on 1 and 2 threads
    for th in 1 2; do
        OMP_NUM_THREADS=$th "$SP" mc "$POTS/TiO.meam.spline" "$T/tio.xyz" --sweeps 4 --retypes 0.3 --mu Ti=0,O=6 \
            --temp 1500 --skin 0.4 --every 2 > "$T/sgc$th.raw" 2> "$T/sgc$th.stderr" ||
            fail "mc --retypes on $th thread(s): $(tail -n 1 "$T/sgc$th.stderr")"
        grep -v '^time:\|^perf:' "$T/sgc$th.raw" > "$T/sgc$th.log"
    done
    if cmp -s "$T/sgc1.log" "$T/sgc2.log"; then ok; else fail "mc --retypes: 1 and 2 threads differ"; fi
    # changes were accepted, more O than the 24 at the start (mu_O = 6 eV), the energy that of a full evaluation
    if awk '/^changes of element:/ { c = $4; o = $NF } /^energy check:/ { d = $(NF - 4); if (d < 0) d = -d }
            END { exit !(c > 0 && o > 24 && d < 1e-8) }' "$T/sgc1.log"; then ok
    else fail "mc --retypes: $(grep '^changes of element:\|^energy check:' "$T/sgc1.log" | tr '\n' ' ')"; fi
fi

# an option the command never reads (a typo) is named in a warning; the runs above raised none
if "$SP" eval "$POTS/Si_1.meam.spline" "$T/c21.xyz" -o "$T/typo.xyz" --stres 1 > /dev/null 2> "$T/typo.stderr" &&
    grep -q "^warning: eval: option '--stres' was not used" "$T/typo.stderr"; then ok
else fail "misspelt option: $(tail -n 1 "$T/typo.stderr")"; fi
if grep -l 'was not used' "$T"/*.stderr | grep -v typo.stderr > "$T/unused.txt"; then
    fail "unexpected unused-option warnings in $(tr '\n' ' ' < "$T/unused.txt")"
else ok; fi
finish
