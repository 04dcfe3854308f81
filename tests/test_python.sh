#!/bin/sh
# tools/python/splinepot.py, the ctypes layer and ASE calculator, through
# tests/test_python.py (what it checks is written there). Fits the UF2,3 and
# s-NNP models it differentiates with the tool first. Skipped (0 passed)
# without a python3 that has numpy and ASE, without build/libsplinepot_py.so
# (`make python`) or without the LAMMPS potential files.
SP=${SPLINEPOT:-build/splinepot}
POTS=${SPLINEPOT_POTENTIALS:-/usr/share/lammps/potentials}
LIB=${SPLINEPOT_LIB:-build/libsplinepot_py.so}
skip() { echo "skipped: $*"; echo "0 passed, 0 failed"; exit 0; }
PY=""
for p in ${PYTHON:-python3} /usr/bin/python3; do
    if command -v "$p" > /dev/null && "$p" -c 'import numpy, ase' 2> /dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || skip "no python3 with numpy and ASE"
[ -f "$LIB" ] || skip "no $LIB (make python)"
[ -x "$SP" ] || skip "no $SP"
[ -f "$POTS/TiO.meam.spline" ] || skip "no LAMMPS potentials in $POTS"
T=$(mktemp -d "${TMPDIR:-/tmp}/sp_py.XXXXXX") || exit 2
trap 'rm -rf "$T"' EXIT
fail() { echo "FAILED: $*"; echo "0 passed, 1 failed"; exit 1; }
"$SP" fit uf3 --train tests/data/lmp_Si_1.meam.spline.xyz --r2 1.5:5.0:12 --r3 1.5:3.8:4 -o "$T/si23.uf3" \
    > "$T/fit.log" 2>&1 || fail "fit uf3: $(tail -n 1 "$T/fit.log")"
"$SP" fit snnp --train tests/data/lmp_Si_1.meam.spline.xyz --filters3 2 --filters2 2 --hidden 4 --epochs 3 \
    -o "$T/si.snnp" > "$T/fit.log" 2>&1 || fail "fit snnp: $(tail -n 1 "$T/fit.log")"
SPLINEPOT_LIB=$LIB OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} TMPDIR=$T "$PY" tests/test_python.py "$POTS" "$T/si23.uf3" "$T/si.snnp"
