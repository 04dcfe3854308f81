#!/usr/bin/env python3
"""Writes a crystal as extended XYZ (and optionally a LAMMPS data file) for
benchmarks and examples. Standard library only.

  make_crystal.py diamond|fcc|bcc|hcp A NX NY NZ [--el Si] [--sigma 0.05]
                  [--seed 1] [--c C] -o OUT.xyz [--lammps OUT.data]
"""
import argparse, math, random

BASES = {
    "diamond": [(0, 0, 0), (0, .5, .5), (.5, 0, .5), (.5, .5, 0),
                (.25, .25, .25), (.25, .75, .75), (.75, .25, .75), (.75, .75, .25)],
    "fcc": [(0, 0, 0), (0, .5, .5), (.5, 0, .5), (.5, .5, 0)],
    "bcc": [(0, 0, 0), (.5, .5, .5)],
    # orthohexagonal cell a x sqrt(3)a x c
    "hcp": [(0, 0, 0), (.5, .5, 0), (.5, 1 / 6, .5), (0, 2 / 3, .5)],
}

def main():
    p = argparse.ArgumentParser()
    p.add_argument("lattice", choices=BASES)
    p.add_argument("a", type=float)
    p.add_argument("n", type=int, nargs=3)
    p.add_argument("--el", default="Si")
    p.add_argument("--c", type=float, default=None)
    p.add_argument("--sigma", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("-o", required=True)
    p.add_argument("--lammps")
    a = p.parse_args()
    lx = a.a
    ly = a.a * (math.sqrt(3) if a.lattice == "hcp" else 1)
    lz = a.c if (a.lattice == "hcp" and a.c) else (a.a * math.sqrt(8 / 3) if a.lattice == "hcp" else a.a)
    rng = random.Random(a.seed)
    pos = []
    for i in range(a.n[0]):
        for j in range(a.n[1]):
            for k in range(a.n[2]):
                for b in BASES[a.lattice]:
                    x = [(i + b[0]) * lx, (j + b[1]) * ly, (k + b[2]) * lz]
                    pos.append([v + rng.gauss(0, a.sigma) for v in x])
    L = [a.n[0] * lx, a.n[1] * ly, a.n[2] * lz]
    pos = [[x % L[d] for d, x in enumerate(r)] for r in pos]
    with open(a.o, "w") as f:
        f.write("%d\n" % len(pos))
        f.write('Lattice="%r 0 0 0 %r 0 0 0 %r" Properties=species:S:1:pos:R:3 pbc="T T T"\n' % tuple(L))
        for r in pos:
            f.write("%s %r %r %r\n" % (a.el, r[0], r[1], r[2]))
    if a.lammps:
        with open(a.lammps, "w") as f:
            f.write("# %s\n\n%d atoms\n1 atom types\n\n" % (a.o, len(pos)))
            f.write("0 %r xlo xhi\n0 %r ylo yhi\n0 %r zlo zhi\n\nAtoms # atomic\n\n" % tuple(L))
            for n, r in enumerate(pos):
                f.write("%d 1 %r %r %r\n" % (n + 1, r[0], r[1], r[2]))

main()
