#!/usr/bin/env bash
# Melting temperature of a one-element UF2 (two-body spline) potential with
# LAMMPS, by two-phase (solid-liquid) coexistence: the reference that
# `splinepot melt` is compared with, same model (as a pair_style table written
# by `splinepot convert`) and same protocol.
#
# Protocol: Xie, Rupp, Hennig, "Ultra-fast interpretable machine-learning
# potentials", npj Comput. Mater. 9, 162 (2023), Sec. V D: a 16x8x8 bcc
# supercell is equilibrated at zero pressure for 40 000 steps; half of it is
# held fixed while the other half is melted (liquid heated to 5000 K and cooled
# over 80 000 steps); then the whole system runs 200 000 NPH steps, and the
# melting point is the mean temperature of the last 100 000.  Here:
#   1. bcc, lattice constant A, NX x NY x NZ conventional cells (2 atoms each),
#      periodic orthogonal box; x, the long direction, is the interface normal.
#   2. velocities at T0; fix langevin (damp 0.1 ps) + fix nph aniso 0 0 1 ps
#      (x, y, z independent) for --equil steps.
#   3. atoms with x < xlo + Lx/2 are "solid": velocity 0, force 0, not
#      integrated; the rest ("liquid") runs fix nve + fix langevin at fixed cell,
#      TH for the first half of --melt steps, then TH -> T0 over the second half
#      (temperature of the liquid atoms only).
#   4. all atoms: fix nph aniso 0 0 1 ps, no thermostat, --nph steps.  The
#      solid atoms, still at rest, are first given velocities at T0 (gaussian,
#      zero momentum) so that the NPH run starts with both halves near T0.
#   5. melting point = mean temperature over the second half of the NPH run
#      (thermo every 1000 steps), error = std of 10 block means / sqrt(10);
#      pressure likewise.
#   6. solid fraction at the first and last NPH step: NX slabs along x (by
#      fractional x); per slab psi = |<exp(2 pi i (NY sy + NZ sz))>| over its
#      atoms (the in-plane bcc (011) reflection: ~0.8-0.9 in the hot crystal,
#      ~1/sqrt(atoms per slab) in the liquid); solid fraction = share of slabs
#      with psi > 0.5.  Near 0.5 at the start; if it ends near 0 or 1 the run
#      did not stay at coexistence and T0 should be moved.
#
#   bench/melt_lammps.sh MODEL.uf3 --a A --temp T0 [--hot TH=1.5*T0]
#       [--cells NX,NY,NZ=16,8,8] [--equil N=40000] [--melt N=80000]
#       [--nph N=200000] [--seed S=1] [--element W] [--mass 183.84] [--rlo R=0.3] [--kim]
# --rlo: the table starts at R (splinepot convert --rlo), below the model's
# first knot, where V2 continues its first cubic piece as in splinepot and
# LAMMPS pair_style uf3: a hot liquid brings pairs far below a first knot at
# 1.5 A (a W UF2 fitted to crystals, melted at 9000 K: 0.30 A in LAMMPS, 0.60
# A in splinepot), which a table starting there stops with "Pair distance <
# table inner cutoff".  If the upper half is still crystal when NPH starts
# (solid fraction ~1 at the start), it did not melt: raise --hot.
# --kim: any model splinepot reads (a UF2,3 too), run in LAMMPS by
# splinepot's KIM driver (tools/kim/install.sh, into a scratch collection;
# `kim init` + `kim interactions`) instead of as a table: the forces are
# splinepot's, the dynamics, thermostat, barostat and order parameter
# LAMMPS's and this script's.  Needs LAMMPS with the KIM package,
# kim-api-collections-management and cmake.
# Needs lmp (LAMMPS with pair_style table; Debian: apt-get install lammps) and
# python3 with numpy.  Serial, one process.  Last line:
#   lammps melting point: T_MEAN K +- T_ERR (block standard error), P_MEAN bar, solid fraction START -> END
set -euo pipefail

usage() { sed -n '/^#   bench\/melt_lammps.sh/,/--rlo R=0.3\] \[--kim\]/p' "$0" | sed 's/^# \{0,3\}//' >&2; exit 2; }
[ $# -ge 1 ] || usage
model=$1; shift
[ -f "$model" ] || { echo "melt_lammps: no such model: $model" >&2; exit 2; }
model=$(cd "$(dirname "$model")" && pwd)/$(basename "$model")

a=; t0=; th=; cells=16,8,8; nequil=40000; nmelt=80000; nnph=200000; seed=1; element=W; mass=183.84; rlo=0.3; kim=0
while [ $# -gt 0 ]; do
    [ "$1" = --kim ] && { kim=1; shift; continue; }
    [ $# -ge 2 ] || usage
    case $1 in
        --a) a=$2 ;;
        --temp) t0=$2 ;;
        --hot) th=$2 ;;
        --cells) cells=$2 ;;
        --equil) nequil=$2 ;;
        --melt) nmelt=$2 ;;
        --nph) nnph=$2 ;;
        --seed) seed=$2 ;;
        --element) element=$2 ;;
        --mass) mass=$2 ;;
        --rlo) rlo=$2 ;;
        *) usage ;;
    esac
    shift 2
done
if [ -z "$a" ] || [ -z "$t0" ]; then usage; fi
[ -n "$th" ] || th=$(awk -v t="$t0" 'BEGIN { printf "%.6g", 1.5 * t }')
IFS=, read -r nx ny nz <<< "$cells"
[ -n "$nz" ] || usage
command -v lmp > /dev/null || { echo "melt_lammps: lmp not found (apt-get install -y lammps)" >&2; exit 1; }

cd "$(dirname "$0")/.."
make -s build/splinepot
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ "$kim" = 1 ]; then
    # the model through splinepot's KIM driver, in a collection of its own
    lmp -h 2>/dev/null | grep 'KIM' > /dev/null || { echo "melt_lammps: LAMMPS without the KIM package" >&2; exit 1; }
    mkdir -p "$work/md" "$work/pm" "$work/sm"
    export KIM_API_MODEL_DRIVERS_DIR="$work/md" KIM_API_PORTABLE_MODELS_DIR="$work/pm" KIM_API_SIMULATOR_MODELS_DIR="$work/sm"
    kim_model=splinepot_melt__MO_000000000000_000
    if ! tools/kim/install.sh --collection environment --name "$kim_model" "$model" \
            > "$work/install.log" 2>&1; then
        tail -n 20 "$work/install.log" >&2
        exit 1
    fi
    units="kim init $kim_model metal"
    pair_style="kim interactions $element"
    pair_coeff=
else
    # the model as a LAMMPS table, and the pair_style / pair_coeff lines to use it
    ./build/splinepot convert "$model" "$work/pot.table" --rlo "$rlo" > "$work/convert.txt"
    units="units metal"
    pair_style=$(grep '^pair_style' "$work/convert.txt")
    pair_coeff=$(grep '^pair_coeff' "$work/convert.txt")
    if ! grep -q "atom types in this order: $element\$" "$work/convert.txt"; then
        echo "melt_lammps: the model is not a one-element $element model:" >&2
        cat "$work/convert.txt" >&2
        exit 1
    fi
fi
half1=$((nmelt / 2)); half2=$((nmelt - half1))

cat > "$work/in.melt" <<EOF
# Two-phase coexistence melting point, written by bench/melt_lammps.sh
# model $model, $element, bcc a = $a A, ${nx}x${ny}x${nz} cells
$units
atom_style      atomic
boundary        p p p
lattice         bcc $a
region          box block 0 $nx 0 $ny 0 $nz
create_box      1 box
create_atoms    1 box
mass            1 $mass

$pair_style
$pair_coeff
neighbor        1.0 bin
neigh_modify    every 1 delay 0 check yes
timestep        0.001

thermo          1000
thermo_style    custom step temp press vol pe lx ly lz
thermo_modify   norm no flush yes

# ---- 1. equilibrate the crystal at T0, zero pressure, x y z independent ----
velocity        all create $t0 $seed mom yes rot no dist gaussian
fix             therm all langevin $t0 $t0 0.1 $seed
fix             baro all nph aniso 0.0 0.0 1.0
run             $nequil
unfix           therm
unfix           baro

# ---- 2. melt the upper half in x, the lower half held ----
run             0 post no                 # wrap atoms into the box
variable        xmid equal xlo+0.5*lx
region          lower block INF \${xmid} INF INF INF INF units box
group           solid region lower
group           liquid subtract all solid
velocity        solid set 0.0 0.0 0.0
fix             hold solid setforce 0.0 0.0 0.0
compute         tliq liquid temp
thermo_modify   temp tliq                 # temperature of the liquid atoms
fix             move liquid nve           # fixed cell
fix             therm liquid langevin $th $th 0.1 $((seed + 1))
run             $half1                    # hot liquid
unfix           therm
fix             therm liquid langevin $th $t0 0.1 $((seed + 2))
run             $half2                    # cooled to T0
unfix           therm
unfix           move
unfix           hold

# ---- 3. NPH: both phases, no thermostat ----
velocity        solid create $t0 $((seed + 3)) mom yes rot no dist gaussian
thermo_modify   temp thermo_temp          # all atoms again
fix             baro all nph aniso 0.0 0.0 1.0
write_dump      all custom $work/nph_start.dump id x y z modify sort id
run             $nnph
write_dump      all custom $work/nph_end.dump id x y z modify sort id
EOF

echo "lammps: $pair_style, $((2 * nx * ny * nz)) atoms, T0 $t0 K, hot $th K, steps $nequil + $nmelt + $nnph"
start=$(date +%s)
if ! (cd "$work" && lmp -in in.melt -log log.lammps -screen none -nocite); then # kim.log lands there too
    tail -n 30 "$work/log.lammps" >&2
    exit 1
fi
echo "lammps: $(($(date +%s) - start)) s wall; NPH run $(grep '^Performance:' "$work/log.lammps" | tail -n 1)"

/usr/bin/python3 - "$work" "$nx" "$ny" "$nz" "$nnph" <<'PY'
import sys
import numpy as np

work, nx, ny, nz, nnph = sys.argv[1], *map(int, sys.argv[2:])

# thermo blocks of the log: a header line "Step ..." then rows until "Loop time"
runs, cur = [], None
for line in open(f"{work}/log.lammps"):
    w = line.split()
    if w[:1] == ["Step"]:
        cur = {"cols": w, "rows": []}
        runs.append(cur)
    elif cur is not None:
        try:
            cur["rows"].append([float(x) for x in w])
            if len(w) != len(cur["cols"]):
                cur["rows"].pop()
        except ValueError:
            cur = None
# runs: equilibration, "run 0", hot liquid, cooling, NPH
for name, r in zip(["equil", "hot liquid", "cooling"], [runs[0], runs[2], runs[3]]):
    row = dict(zip(r["cols"], r["rows"][-1]))
    print(f"  end of {name:10s}: T {row['Temp']:8.1f} K  P {row['Press']:9.1f} bar  "
          f"box {row['Lx']:.3f} {row['Ly']:.3f} {row['Lz']:.3f}")
nph = runs[-1]
d = np.array(nph["rows"])
c = {k: i for i, k in enumerate(nph["cols"])}
step = d[:, c["Step"]] - d[0, c["Step"]]
last = d[step > nnph / 2]
nb = min(10, len(last))
def mean_err(x):
    if nb < 2:
        return x.mean(), float("nan")
    blocks = [b.mean() for b in np.array_split(x, nb)]
    return x.mean(), np.std(blocks, ddof=1) / np.sqrt(nb)
T, dT = mean_err(last[:, c["Temp"]])
P, dP = mean_err(last[:, c["Press"]])

def solid_fraction(path):
    lines = open(path).read().split("\n")
    i = next(k for k, l in enumerate(lines) if l.startswith("ITEM: BOX BOUNDS"))
    lo, hi = np.array([[float(v) for v in lines[i + 1 + k].split()[:2]] for k in range(3)]).T
    j = next(k for k, l in enumerate(lines) if l.startswith("ITEM: ATOMS"))
    cols = lines[j].split()[2:]
    a = np.loadtxt(lines[j + 1:], ndmin=2)
    xyz = a[:, [cols.index("x"), cols.index("y"), cols.index("z")]]
    s = ((xyz - lo) / (hi - lo)) % 1.0
    slab = np.minimum((s[:, 0] * nx).astype(int), nx - 1)
    ph = np.exp(2j * np.pi * (ny * s[:, 1] + nz * s[:, 2]))
    psi = np.array([abs(ph[slab == k].mean()) for k in range(nx)])
    return (psi > 0.5).mean(), psi

f0, psi0 = solid_fraction(f"{work}/nph_start.dump")
f1, psi1 = solid_fraction(f"{work}/nph_end.dump")
print("  psi per slab, NPH start:", " ".join(f"{p:.2f}" for p in psi0))
print("  psi per slab, NPH end:  ", " ".join(f"{p:.2f}" for p in psi1))
print(f"  NPH second half: {len(last)} samples, P {P:.1f} +- {dP:.1f} bar")
if f0 > 0.9:
    print("  warning: the upper half did not melt in the melt stage: raise --hot")
elif f1 < 0.1 or f1 > 0.9:
    print(f"  warning: NPH ended {'melted' if f1 < 0.1 else 'solid'}: not a coexistence temperature; "
          f"move --temp {'down' if f1 < 0.1 else 'up'}")
print(f"lammps melting point: {T:.1f} K +- {dT:.1f} (block standard error), {P:.1f} bar, "
      f"solid fraction {f0:.2f} -> {f1:.2f}")
PY
