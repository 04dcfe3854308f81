#!/usr/bin/env bash
# Peak memory of `splinepot eval` per atom on a 10^6-atom diamond-Si cell
# (50x50x50 conventional cells, a = 5.431 A, Gaussian displacements 0.05 A),
# with Si_1 (meam/spline, cutoff 4.5 A) and a UF2,3 model (2-body cutoff
# 5.0 A, 3-body 3.8 A) fitted here to Si_1 labels. Peak RSS comes from
# getrusage(RUSAGE_CHILDREN) and includes everything eval holds: the input
# text, the frame, the neighbour list, the workspace and the output buffers.
# Fails when a figure exceeds its bound, 1.5 x the figure measured when the
# check was written (1119 and 1341 bytes/atom; README "Memory"). The figures
# do not depend on the OpenMP thread count.
# usage: .ci/memory.sh [SPLINEPOT]   (default build/splinepot; `make` first)
set -euo pipefail
cd "$(dirname "$0")/.."
SP=${1:-build/splinepot}
POTS=${SPLINEPOT_POTENTIALS:-/usr/share/lammps/potentials}
# bounds in bytes per atom
BOUND_MEAM=${BOUND_MEAM:-1700}
BOUND_UF3=${BOUND_UF3:-2000}
T=build/memory
mkdir -p "$T"
[ -x "$SP" ] || { echo "memory: no $SP (run make)"; exit 1; }

# peak RSS (bytes) of a command, its stdout discarded
peak_rss() {
    python3 - "$@" <<'EOF'
import resource, subprocess, sys
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)
if r.returncode != 0:
    sys.exit("memory: %s exited with %d" % (" ".join(sys.argv[1:]), r.returncode))
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)  # Linux: KiB
EOF
}

t0=$(date +%s)
[ -f "$T/si1m.xyz" ] || python3 tools/make_crystal.py diamond 5.431 50 50 50 --sigma 0.05 --seed 5 -o "$T/si1m.xyz"
natoms=$(head -n 1 "$T/si1m.xyz")
# the UF2,3 model: fitted to Si_1 energies and forces of three displaced 64-atom cells
for s in 21 22 23; do
    python3 tools/make_crystal.py diamond 5.431 2 2 2 --sigma 0.15 --seed $s -o "$T/c$s.xyz"
    "$SP" eval "$POTS/Si_1.meam.spline" "$T/c$s.xyz" -o "$T/l$s.xyz" 2>/dev/null
done
cat "$T/l21.xyz" "$T/l22.xyz" "$T/l23.xyz" > "$T/train.xyz"
"$SP" fit uf3 --train "$T/train.xyz" --r2 1.5:5.0:16 --r3 1.5:3.8:6 -o "$T/si.uf3" > /dev/null 2>&1

bad=0
check() { # NAME POTENTIAL BOUND
    local rss per
    rss=$(peak_rss "$SP" eval "$2" "$T/si1m.xyz")
    per=$(awk -v r="$rss" -v n="$natoms" 'BEGIN { printf "%.0f", r / n }')
    if [ "$per" -le "$3" ]; then
        echo "memory: eval $1, $natoms atoms: peak RSS $((rss / 1048576)) MiB = $per bytes/atom (bound $3)"
    else
        echo "memory: FAILED: eval $1, $natoms atoms: peak RSS $((rss / 1048576)) MiB = $per bytes/atom > bound $3"
        bad=1
    fi
}
check "Si_1 meam/spline" "$POTS/Si_1.meam.spline" "$BOUND_MEAM"
check "UF2,3 (5.0/3.8 A)" "$T/si.uf3" "$BOUND_UF3"
echo "memory: $(($(date +%s) - t0)) s"
exit $bad
