#!/bin/sh
# splinepot in LAMMPS through the KIM API (tools/kim): the driver and
# models installed by tools/kim/install.sh into a scratch collection, then
# LAMMPS's `pair_style kim` against independent results on the periodic
# frames of tests/data:
#   meam/spline (Si_1, Ti-O) and meam/sw/spline (Si.b): against LAMMPS's own
#     pair styles on frames 1, 4 and 5 (64 atoms, and cells smaller than the
#     cutoff): energy, per-atom energies, forces, pressure tensor; and 50
#     steps of NVE MD of 216 Si atoms (positions and energy at the end), on
#     one MPI rank and, where mpirun runs, on two;
#   UF2,3 and s-NNP models (fitted here by the tool): against `splinepot
#     eval` of the same files, same frames;
#   a potential whose file names no element refused without --element.
# Skipped (0 passed) without kim-api-collections-management, cmake, a LAMMPS
# with the KIM package, or python3.
SP=${SPLINEPOT:-build/splinepot}
POTS=${SPLINEPOT_POTENTIALS:-/usr/share/lammps/potentials}
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAILED: $*"; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }
for tool in kim-api-collections-management cmake lmp python3; do
    command -v "$tool" > /dev/null || { echo "skipped: no $tool"; finish; }
done
lmp -h 2>/dev/null | grep -q '^KIM ' || lmp -h 2>/dev/null | grep -q ' KIM ' || { echo "skipped: LAMMPS without the KIM package"; finish; }
[ -x "$SP" ] || { echo "skipped: no $SP"; finish; }
[ -f "$POTS/Si_1.meam.spline" ] || { echo "skipped: no LAMMPS potentials in $POTS"; finish; }
T=$(mktemp -d "${TMPDIR:-/tmp}/sp_kim.XXXXXX") || exit 2
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/md" "$T/pm" "$T/sm"
export KIM_API_MODEL_DRIVERS_DIR="$T/md" KIM_API_PORTABLE_MODELS_DIR="$T/pm" KIM_API_SIMULATOR_MODELS_DIR="$T/sm"
export OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export SPLINEPOT_KIM_OPT=-O1 # the driver's compile: 7 s instead of 20

# models fitted by the tool: a UF2,3 and a small s-NNP, to the Si frames
"$SP" fit uf3 --train tests/data/lmp_Si_1.meam.spline.xyz --r2 1.5:5.0:12 --r3 1.5:3.8:4 -o "$T/si23.uf3" \
    > "$T/fit.log" 2>&1 || bad "fit uf3: $(tail -n 1 "$T/fit.log")"
"$SP" fit snnp --train tests/data/lmp_Si_1.meam.spline.xyz --filters3 2 --filters2 2 --hidden 4 --epochs 3 \
    -o "$T/si.snnp" > "$T/fit.log" 2>&1 || bad "fit snnp: $(tail -n 1 "$T/fit.log")"

# a file without element names, installed without --element, is refused when LAMMPS creates the model
if tools/kim/install.sh --collection environment --name nameless__MO_000000000000_000 "$POTS/Si_1.meam.spline" \
        > "$T/install.log" 2>&1; then
    printf 'units metal\nregion b block 0 5 0 5 0 5\ncreate_box 1 b\nmass 1 28\npair_style kim nameless__MO_000000000000_000\n' \
        > "$T/in.nameless"
    if (cd "$T" && lmp -in in.nameless -log none > nameless.out 2>&1); then bad "a model without element names was created"
    elif grep -q "the file names none: install it with --element" "$T/kim.log"; then ok
    else bad "a model without element names: $(grep -i error "$T/kim.log" | head -n 2)"; fi
else
    bad "tools/kim/install.sh: $(tail -n 3 "$T/install.log")"
fi
if ! tools/kim/install.sh --collection environment --models-only --element Si "$POTS/Si_1.meam.spline" \
        "$POTS/Si.b.meam.sw.spline" > "$T/install.log" 2>&1 ||
   ! tools/kim/install.sh --collection environment --models-only "$POTS/TiO.meam.spline" "$T/si23.uf3" "$T/si.snnp" \
        >> "$T/install.log" 2>&1; then
    bad "tools/kim/install.sh: $(tail -n 5 "$T/install.log")"
    finish
fi
ok
mpi=0
if command -v mpirun > /dev/null && printf 'units metal\n' > "$T/in.mpi" &&
   (cd "$T" && timeout 60 mpirun -np 2 lmp -in in.mpi -log none > mpi.out 2>&1); then mpi=1
else echo "mpirun -np 2 lmp does not run here: the two-rank run is skipped"; fi

python3 - "$SP" "$POTS" "$T" "$mpi" > "$T/compare.log" 2>&1 <<'EOF'
import os, re, subprocess, sys
sp, pots, T, mpi = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "1"
BAR_PER_EVA3 = 1.6021765e6  # LAMMPS's metal-units factor (nktv2p): 1 eV/A^3 in bar
MASS = {"Si": 28.0855, "Ti": 47.867, "O": 15.9994}
npass = nfail = 0

def check(cond, what):
    global npass, nfail
    if cond: npass += 1
    else:
        nfail += 1
        print("FAILED:", what)

def frames(path):
    L = open(path).read().split("\n"); out = []; i = 0
    while i < len(L):
        if not L[i].strip(): i += 1; continue
        n = int(L[i]); com = L[i + 1]; rows = [l.split() for l in L[i + 2:i + 2 + n]]
        props = re.search(r'Properties=(\S+)', com).group(1).split(":")
        cols = {}; c = 0
        for k in range(0, len(props), 3):
            cols[props[k]] = (c, int(props[k + 2])); c += int(props[k + 2])
        f = {"n": n, "el": [r[0] for r in rows],
             "pos": [[float(x) for x in r[cols["pos"][0]:cols["pos"][0] + 3]] for r in rows]}
        m = re.search(r'Lattice="([^"]*)"', com)
        f["cell"] = [float(x) for x in m.group(1).split()] if m else None
        m = re.search(r'pbc="([^"]*)"', com)
        f["pbc"] = (m.group(1).split() == ["T", "T", "T"]) if m else f["cell"] is not None
        for key in ("forces", "energies"):
            if key in cols:
                a, w = cols[key]
                f[key] = [[float(x) for x in r[a:a + w]] for r in rows]
        m = re.search(r' energy=(\S+)', com)
        if m: f["energy"] = float(m.group(1))
        m = re.search(r'stress="([^"]*)"', com)
        if m: f["stress"] = [float(x) for x in m.group(1).split()]
        out.append(f); i += n + 2
    return out

def data_file(f, elems, path):
    h = f["cell"]
    assert h[1] == h[2] == h[5] == 0.0, "LAMMPS's form"
    with open(path, "w") as o:
        o.write("data\n\n%d atoms\n%d atom types\n" % (f["n"], len(elems)))
        o.write("0 %.17g xlo xhi\n0 %.17g ylo yhi\n0 %.17g zlo zhi\n%.17g %.17g %.17g xy xz yz\n\nMasses\n\n"
                % (h[0], h[4], h[8], h[3], h[6], h[7]))
        for k, e in enumerate(elems): o.write("%d %g\n" % (k + 1, MASS[e]))
        o.write("\nAtoms # atomic\n\n")
        for i in range(f["n"]):
            o.write("%d %d %.17g %.17g %.17g\n" % ((i + 1, elems.index(f["el"][i]) + 1) + tuple(f["pos"][i])))

def lammps(tag, pair, elems, data, steps=0, ranks=1):
    inp = os.path.join(T, "in." + tag)
    with open(inp, "w") as o:
        o.write("units metal\natom_style atomic\nboundary p p p\nbox tilt large\nread_data %s\n%s\n" % (data, pair))
        o.write("compute pe all pe/atom\nthermo_style custom step pe pxx pyy pzz pyz pxz pxy\n"
                "thermo_modify format float %.17g\n")
        if steps:
            o.write("velocity all create 1000 4928 loop geom\nfix nve all nve\ntimestep 0.001\n")
        o.write("dump d all custom %d %s.dump id x y z fx fy fz c_pe\ndump_modify d format float %%.17g sort id\n"
                "run %d\n" % (steps if steps else 1, os.path.join(T, tag), steps))
    cmd = (["timeout", "120"] + (["mpirun", "-np", str(ranks)] if ranks > 1 else []) +
           ["lmp", "-in", inp, "-log", os.path.join(T, "log." + tag)])
    r = subprocess.run(cmd, cwd=T, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    if r.returncode != 0:
        print(r.stdout[-1500:])
        return None
    log = open(os.path.join(T, "log." + tag)).read().split("\n")
    k = max(i for i, l in enumerate(log) if l.split()[:2] == ["Step", "PotEng"])
    th = [float(x) for x in [l.split() for l in log[k + 1:] if l.split() and l.split()[0] == str(steps)][0]]
    dump = open(os.path.join(T, tag + ".dump")).read().split("\n")
    s = max(i for i, l in enumerate(dump) if l.startswith("ITEM: ATOMS"))
    atoms = [[float(x) for x in l.split()] for l in dump[s + 1:] if l.strip()]
    return {"pe": th[1], "p": th[2:8], "x": [a[1:4] for a in atoms], "f": [a[4:7] for a in atoms],
            "ea": [a[7] for a in atoms]}

def compare(a, b, what, tol_f):
    """a: KIM run, b: reference (LAMMPS native or splinepot eval)"""
    de = abs(a["pe"] - b["pe"]) / (1 + abs(b["pe"]))
    df = max(abs(x - y) for p, q in zip(a["f"], b["f"]) for x, y in zip(p, q))
    da = max(abs(x - y) for x, y in zip(a["ea"], b["ea"]))
    dp = max(abs(x - y) for x, y in zip(a["p"], b["p"])) / (1 + max(abs(y) for y in b["p"]))
    print("%-58s energy %.1e (relative), forces %.1e eV/A, per-atom %.1e eV, pressure tensor %.1e (relative)"
          % (what, de, df, da, dp))
    check(de < 1e-13 and df < tol_f and da < 1e-12 and dp < 1e-11, what)

FRAMES = (0, 3, 4)  # periodic in every file: 64 atoms, and 2-8 atoms in cells smaller than the cutoff

def model(name): return "pair_style kim %s\npair_coeff * * %%s" % name

# 1. meam/spline and meam/sw/spline against LAMMPS's own pair styles
cases = [("Si_1.meam.spline", "splinepot_Si_1_meam_spline__MO_000000000000_000", "meam/spline", "Si", ["Si"]),
         ("TiO.meam.spline", "splinepot_TiO_meam_spline__MO_000000000000_000", "meam/spline", "Ti O", ["Ti", "O"]),
         ("Si.b.meam.sw.spline", "splinepot_Si_b_meam_sw_spline__MO_000000000000_000", "meam/sw/spline", "Si", ["Si"])]
for fname, kim, style, coeff, elems in cases:
    for k, f in enumerate(frames("tests/data/lmp_%s.xyz" % fname)):
        if k not in FRAMES: continue
        data = os.path.join(T, "f.data")
        data_file(f, elems, data)
        native = lammps("native", "pair_style %s\npair_coeff * * %s/%s %s" % (style, pots, fname, coeff), elems, data)
        viak = lammps("kim", model(kim) % " ".join(elems), elems, data)
        check(native is not None and viak is not None, "%s frame %d: LAMMPS ran" % (fname, k + 1))
        if native and viak:
            compare(viak, native, "%s frame %d (%d atoms), KIM vs LAMMPS %s" % (fname, k + 1, f["n"], style), 1e-11)

# MD: 216 Si atoms, 50 steps of NVE from 1000 K, native against KIM (one rank, and two)
subprocess.run([sys.executable, "tools/make_crystal.py", "diamond", "5.431", "3", "3", "3", "--sigma", "0.05", "--seed",
                "7", "-o", os.path.join(T, "si216.xyz")], check=True, stdout=subprocess.DEVNULL)
data = os.path.join(T, "md.data")
data_file(frames(os.path.join(T, "si216.xyz"))[0], ["Si"], data)
native = lammps("mdnative", "pair_style meam/spline\npair_coeff * * %s/Si_1.meam.spline Si" % pots, ["Si"], data, 50)
runs = [("one rank", 1)] + ([("two ranks", 2)] if mpi else [])
for what, ranks in runs:
    viak = lammps("mdkim%d" % ranks, model(cases[0][1]) % "Si", ["Si"], data, 50, ranks)
    check(native is not None and viak is not None, "MD runs (%s)" % what)
    if native and viak:
        dx = max(abs(x - y) for p, q in zip(viak["x"], native["x"]) for x, y in zip(p, q))
        de = abs(viak["pe"] - native["pe"]) / (1 + abs(native["pe"]))
        print("%-58s after 50 steps: positions %.1e A, energy %.1e (relative)" % ("Si_1, 216 atoms, MD, KIM vs LAMMPS (%s)" % what, dx, de))
        check(dx < 1e-9 and de < 1e-12, "MD, KIM vs LAMMPS meam/spline (%s)" % what)

# 2. UF2,3 and s-NNP against splinepot eval of the same files
for path, kim in ((os.path.join(T, "si23.uf3"), "splinepot_si23_uf3__MO_000000000000_000"),
                  (os.path.join(T, "si.snnp"), "splinepot_si_snnp__MO_000000000000_000")):
    ref = os.path.join(T, "eval.xyz")
    r = subprocess.run([sp, "eval", path, "tests/data/lmp_Si_1.meam.spline.xyz", "-o", ref],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    check(r.returncode == 0, "splinepot eval %s" % os.path.basename(path))
    if r.returncode != 0: continue
    src = frames("tests/data/lmp_Si_1.meam.spline.xyz")
    for k, f in enumerate(frames(ref)):
        if k not in FRAMES: continue
        data = os.path.join(T, "f.data")
        data_file(src[k], ["Si"], data)
        viak = lammps("kim", model(kim) % "Si", ["Si"], data)
        check(viak is not None, "%s frame %d: LAMMPS ran" % (os.path.basename(path), k + 1))
        if viak is None: continue
        # eval's stress is -W/V (ASE sign, eV/A^3, 9 components); LAMMPS's pressure W/V in bar (no velocities)
        s = f["stress"]
        evref = {"pe": f["energy"], "f": f["forces"], "ea": [e[0] for e in f["energies"]],
                 "p": [-BAR_PER_EVA3 * s[i] for i in (0, 4, 8, 5, 2, 1)]}
        compare(viak, evref, "%s frame %d (%d atoms), KIM vs splinepot eval" % (os.path.basename(path), k + 1, f["n"]), 1e-10)
print("RESULT %d %d" % (npass, nfail))
EOF
cat "$T/compare.log" | grep -v '^RESULT'
res=$(grep '^RESULT' "$T/compare.log")
if [ -n "$res" ]; then
    set -- $res
    pass=$((pass + $2))
    fail=$((fail + $3))
else
    bad "the comparison script did not finish"
fi
finish
