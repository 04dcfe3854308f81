#!/usr/bin/python3
"""Radial distribution functions computed by LAMMPS `compute rdf` (references for tests/test_cells.c).

Usage (from the repository root):

    /usr/bin/python3 tools/refgen/gen_rdf.py [--out tests/data/lmp_rdf.txt]

For the fully periodic frames of tests/data/lmp_TiO.meam.spline.xyz (Ti and O, triclinic,
LAMMPS's own boxes and positions): `pair_style zero 4.5`, `compute rdf 45 1 1 1 2 2 2`
(cutoff 4.5 A, the pair style's), `run 0`. Output lines:
`<frame index, 1-based> <pair: 11, 12 or 22> <bin> <r> <g> <coordination>` (Python repr).

Requirements: /usr/bin/python3 with numpy and the Debian `python3-lammps` module
(LAMMPS 29 Sep 2021 - Update 2). Conventions as gen_refs.py: metal units, one rank,
`newton on`, `atom_modify map array sort 0 0.0`, `neighbor 1.0 bin`. Deterministic.
"""
import argparse
import os
import re
import sys
import tempfile

import numpy as np

# The Debian package ships only liblammps.so.0 (as in gen_refs.py)
import lammps.core as _lc
_CDLL = _lc.CDLL
_lc.CDLL = lambda p, *a, **k: _CDLL("liblammps.so.0" if p == "liblammps.so" else p, *a, **k)
import lammps  # noqa: E402
from lammps import LMP_STYLE_GLOBAL, LMP_TYPE_ARRAY  # noqa: E402

NBIN, RC = 45, 4.5
MASS = {"Ti": 47.867, "O": 15.999}


def frames(path):
    """(cell rows, pbc, species, positions) of every frame of an extended XYZ file."""
    out = []
    with open(path) as fh:
        lines = fh.read().splitlines()
    k = 0
    while k < len(lines) and lines[k].strip():
        n = int(lines[k])
        head = lines[k + 1]
        cell = np.array([float(v) for v in re.search(r'Lattice="([^"]*)"', head).group(1).split()]).reshape(3, 3)
        pbc = [p == "T" for p in re.search(r'pbc="([^"]*)"', head).group(1).split()]
        rows = [lines[k + 2 + i].split() for i in range(n)]
        out.append((cell, pbc, [r[0] for r in rows], np.array([[float(v) for v in r[1:4]] for r in rows])))
        k += n + 2
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/data/lmp_rdf.txt")
    args = ap.parse_args()
    src = "tests/data/lmp_TiO.meam.spline.xyz"
    lines = ["# LAMMPS compute rdf %d bins to %g A of the periodic frames of %s (tools/refgen/gen_rdf.py)" % (NBIN, RC, src),
             "# frame pair bin r g coordination"]
    with tempfile.TemporaryDirectory() as tmp:
        for fi, (cell, pbc, species, pos) in enumerate(frames(src)):
            if not all(pbc):
                continue
            assert abs(cell[0, 1]) + abs(cell[0, 2]) + abs(cell[1, 2]) == 0.0, "not a LAMMPS box"
            data = os.path.join(tmp, "frame.data")
            with open(data, "w") as fh:
                fh.write("rdf frame\n\n%d atoms\n2 atom types\n\n" % len(pos))
                fh.write("0.0 %r xlo xhi\n0.0 %r ylo yhi\n0.0 %r zlo zhi\n" % (cell[0, 0], cell[1, 1], cell[2, 2]))
                fh.write("%r %r %r xy xz yz\n\nMasses\n\n1 %r\n2 %r\n\nAtoms # atomic\n\n"
                         % (cell[1, 0], cell[2, 0], cell[2, 1], MASS["Ti"], MASS["O"]))
                for i, (s, r) in enumerate(zip(species, pos)):
                    fh.write("%d %d %r %r %r\n" % (i + 1, 1 if s == "Ti" else 2, r[0], r[1], r[2]))
            lmp = lammps.lammps(cmdargs=["-log", "none", "-screen", "none", "-nocite"])
            for c in ["units metal", "atom_style atomic", "atom_modify map array sort 0 0.0", "boundary p p p",
                      "newton on", "read_data " + data, "pair_style zero %g" % RC, "pair_coeff * *",
                      "neighbor 1.0 bin", "compute rdf all rdf %d 1 1 1 2 2 2" % NBIN, "run 0"]:
                lmp.command(c)
            a = np.array(lmp.numpy.extract_compute("rdf", LMP_STYLE_GLOBAL, LMP_TYPE_ARRAY), dtype=float)
            lmp.close()
            for p, name in enumerate(["11", "12", "22"]):
                for b in range(NBIN):
                    lines.append("%d %s %d %r %r %r" % (fi + 1, name, b, a[b, 0], a[b, 1 + 2 * p], a[b, 2 + 2 * p]))
    with open(args.out, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print("wrote %s (%d lines)" % (args.out, len(lines)), file=sys.stderr)


if __name__ == "__main__":
    main()
