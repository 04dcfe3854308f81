#!/usr/bin/python3
"""Crystal properties of diamond-cubic Si computed with LAMMPS (references for the splinepot tests).

Usage (from the repository root):

    /usr/bin/python3 tools/refgen/gen_props.py [--out tests/data/lmp_props.txt]

For each potential (meam/spline Si_1.meam.spline, meam/sw/spline Si.b.meam.sw.spline):
  a0, e0       zero-pressure lattice constant (bisection on thermo press of the 8-atom
               conventional cell, |da| < 1e-11 A) and pe/atom there (eV);
  c11 c12 c44  relaxed-ion elastic constants (GPa) at a0, central differences of the
               stress, strain 1e-5, 8-atom cell, cg minimisation of the ions;
  *_clamped    the same with clamped ions;  b = (c11 + 2 c12)/3 (relaxed);
  evf          constant-volume vacancy formation energy in a 3x3x3 (216-atom) cell at a0,
               ions relaxed (cg, ftol 1e-12) from the ideal sites: E_{N-1} - (N-1)/N E_N.
Output lines: `<potential file> <key> <value>` (Python repr).

Requirements: /usr/bin/python3 with numpy and the Debian `python3-lammps` module
(LAMMPS 29 Sep 2021 - Update 2), potentials in /usr/share/lammps/potentials.
Deterministic (no random numbers; the output has no date).
Conventions as in gen_refs.py: metal units, one rank, `newton on`,
`atom_modify map array sort 0 0.0`, `neighbor 1.0 bin`, `neigh_modify every 1 delay 0 check yes`.
"""
import argparse
import hashlib
import os
import re
import subprocess
import tempfile
import time

import numpy as np

# The Debian package ships only liblammps.so.0 (the unversioned .so is in -dev);
# make the python module find it.
import lammps.core as _lc
_CDLL = _lc.CDLL
_lc.CDLL = lambda p, *a, **k: _CDLL("liblammps.so.0" if p == "liblammps.so" else p, *a, **k)
import lammps  # noqa: E402

POTDIR = "/usr/share/lammps/potentials"
REGEN = "/usr/bin/python3 tools/refgen/gen_props.py"
MASS_SI = 28.0855

POTENTIALS = [
    dict(file="Si_1.meam.spline", pair_style="meam/spline"),
    dict(file="Si.b.meam.sw.spline", pair_style="meam/sw/spline"),
]

DIAMOND = [(0, 0, 0), (0, .5, .5), (.5, 0, .5), (.5, .5, 0),
           (.25, .25, .25), (.25, .75, .75), (.75, .25, .75), (.75, .75, .25)]

STRAIN = 1.0e-5
A_BRACKET = (5.30, 5.60)       # P(a) changes sign inside for both potentials
A_TOL = 1.0e-11
ETOL, FTOL, MAXITER, MAXEVAL = 0.0, 1.0e-13, 100000, 1000000
# The 215-atom vacancy cell cannot reach fnorm 1e-13: its round-off floor is ~3e-13 eV/A (the
# perfect 216-atom crystal already has fnorm ~3e-13), so cg would run into MAXITER (100000
# iterations, ~2 min) without changing the energy.  1e-12 is reached in ~40 cg iterations.
FTOL_VAC = 1.0e-12
BAR_TO_GPA = 1.0e-4
VOIGT = ["xx", "yy", "zz", "yz", "xz", "xy"]


def lammps_version_string():
    try:
        out = subprocess.run(["/usr/bin/lmp", "-h"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if "Simulator -" in line:
                return line.split("Simulator -")[1].strip()          # "29 Sep 2021 - Update 2"
    except OSError:
        pass
    return "unknown"


def debian_version():
    try:
        return subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "lammps"],
                              capture_output=True, text=True).stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def sha256_prefix(path):
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()[:16]


class Cell:
    """One LAMMPS instance holding an n x n x n diamond supercell (triclinic box, zero tilts)."""

    def __init__(self, pot, a, n, tmpdir, tag):
        self.log = os.path.join(tmpdir, "log.%s" % tag)
        self.lmp = lammps.lammps(cmdargs=["-log", self.log, "-screen", "none", "-nocite"])
        L = n * a
        cmds = [
            "units metal",
            "atom_style atomic",
            "atom_modify map array sort 0 0.0",
            "boundary p p p",
            "newton on",
            "region box prism 0.0 %r 0.0 %r 0.0 %r 0.0 0.0 0.0 units box" % (L, L, L),
            "create_box 1 box",
        ]
        for i in range(n):
            for j in range(n):
                for k in range(n):
                    for f in DIAMOND:
                        x, y, z = ((i + f[0]) * a, (j + f[1]) * a, (k + f[2]) * a)
                        cmds.append("create_atoms 1 single %r %r %r units box" % (x, y, z))
        cmds += [
            "mass 1 %r" % MASS_SI,
            "pair_style " + pot["pair_style"],
            "pair_coeff * * %s Si" % os.path.join(POTDIR, pot["file"]),
            "neighbor 1.0 bin",
            "neigh_modify every 1 delay 0 check yes",
            "thermo_style custom step pe press pxx pyy pzz pyz pxz pxy fnorm fmax",
            "thermo_modify format float %.17g",
        ]
        for c in cmds:
            self.lmp.command(c)
        self.natoms = 8 * n ** 3
        assert self.lmp.get_natoms() == self.natoms, "create_atoms lost atoms"

    def cmd(self, c):
        self.lmp.command(c)

    def run0(self):
        self.lmp.command("run 0")
        g = self.lmp.get_thermo
        return dict(pe=g("pe"), press=g("press"),
                    p=np.array([g("p" + c) for c in VOIGT]),       # bar, Voigt order
                    fnorm=g("fnorm"), fmax=g("fmax"), natoms=self.lmp.get_natoms())

    def minimize(self, ftol=FTOL):
        """cg minimisation at fixed box; returns (stop criterion, iterations)."""
        start = os.path.getsize(self.log) if os.path.exists(self.log) else 0
        self.lmp.command("min_style cg")
        self.lmp.command("minimize %r %r %d %d" % (ETOL, ftol, MAXITER, MAXEVAL))
        self.lmp.command("log %s append" % self.log)        # flush
        with open(self.log) as fh:
            fh.seek(start)
            txt = fh.read()
        crit = re.findall(r"Stopping criterion = (.*)", txt)
        it = re.findall(r"Iterations, force evaluations = (\d+) (\d+)", txt)
        return (crit[-1].strip() if crit else "?", int(it[-1][0]) if it else -1)

    def close(self):
        self.lmp.close()


# ----------------------------------------------------------------------------- a0

def pressure_at(pot, a, tmpdir):
    c = Cell(pot, a, 1, tmpdir, "a0")
    r = c.run0()
    c.close()
    return r


def find_a0(pot, tmpdir):
    lo, hi = A_BRACKET
    plo, phi = pressure_at(pot, lo, tmpdir)["press"], pressure_at(pot, hi, tmpdir)["press"]
    assert plo > 0.0 > phi, ("bracket does not contain a0", pot["file"], plo, phi)
    nev = 2
    while hi - lo >= A_TOL:
        mid = 0.5 * (lo + hi)
        if mid == lo or mid == hi:
            break
        pm = pressure_at(pot, mid, tmpdir)["press"]
        nev += 1
        if pm > 0.0:
            lo = mid
        elif pm < 0.0:
            hi = mid
        else:
            lo = hi = mid
    a0 = 0.5 * (lo + hi)
    return a0, hi - lo, nev


# ----------------------------------------------------------------------------- elastic constants

def strained_stress(pot, a0, j, d, tmpdir, tag):
    """Apply x' = (I + e) x with Voigt component j (0..5) = d (engineering shear via tilt);
    return (clamped stress, relaxed stress, min info) with stress = -p, bar, Voigt order."""
    c = Cell(pot, a0, 1, tmpdir, tag)
    L = a0
    if j < 3:
        dim = "xyz"[j]
        c.cmd("change_box all %s final 0.0 %r remap units box" % (dim, L * (1.0 + d)))
    else:
        tilt = {3: "yz", 4: "xz", 5: "xy"}[j]       # yz = d*lz, xz = d*lz, xy = d*ly; lz = ly = L
        c.cmd("change_box all %s final %r remap units box" % (tilt, d * L))
    r0 = c.run0()
    crit, nit = c.minimize()
    r1 = c.run0()
    c.close()
    return -r0["p"], -r1["p"], dict(crit=crit, iters=nit, fnorm=r1["fnorm"], fmax=r1["fmax"],
                                    fnorm0=r0["fnorm"])


def elastic(pot, a0, tmpdir):
    Cc = np.zeros((6, 6))
    Cr = np.zeros((6, 6))
    infos = []
    for j in range(6):
        sc_p, sr_p, ip = strained_stress(pot, a0, j, +STRAIN, tmpdir, "el")
        sc_m, sr_m, im = strained_stress(pot, a0, j, -STRAIN, tmpdir, "el")
        Cc[:, j] = (sc_p - sc_m) / (2.0 * STRAIN) * BAR_TO_GPA
        Cr[:, j] = (sr_p - sr_m) / (2.0 * STRAIN) * BAR_TO_GPA
        infos += [("%s+" % VOIGT[j], ip), ("%s-" % VOIGT[j], im)]
    return Cc, Cr, infos


def cubic_avg(C):
    c11 = float(np.mean([C[0, 0], C[1, 1], C[2, 2]]))
    c12 = float(np.mean([C[0, 1], C[0, 2], C[1, 0], C[1, 2], C[2, 0], C[2, 1]]))
    c44 = float(np.mean([C[3, 3], C[4, 4], C[5, 5]]))
    return c11, c12, c44


def cubic_dev(C):
    c11, c12, c44 = cubic_avg(C)
    Ccub = np.zeros((6, 6))
    Ccub[:3, :3] = c12
    np.fill_diagonal(Ccub[:3, :3], c11)
    Ccub[3:, 3:] = np.eye(3) * c44
    return float(np.max(np.abs(C - Ccub)))


# ----------------------------------------------------------------------------- vacancy

def vacancy(pot, a0, tmpdir):
    c = Cell(pot, a0, 3, tmpdir, "vac")
    N = c.natoms
    rN = c.run0()
    # atom id 1 is the one created first, at (0,0,0) = nearest the origin
    c.cmd("group vac id 1")
    c.cmd("delete_atoms group vac compress no")
    r = c.run0()
    assert r["natoms"] == N - 1
    fnorm_start = r["fnorm"]
    crit, nit = c.minimize(FTOL_VAC)
    r1 = c.run0()
    c.close()
    evf = r1["pe"] - (N - 1) / N * rN["pe"]
    return evf, N, dict(crit=crit, iters=nit, fnorm=r1["fnorm"], fmax=r1["fmax"], fnorm0=fnorm_start,
                        eN=rN["pe"], eN1=r1["pe"], eN1_unrelaxed=r["pe"])


# ----------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.normpath(os.path.join(here, "..", "..", "tests", "data",
                                                                   "lmp_props.txt")))
    args = ap.parse_args()
    t_start = time.time()
    np.set_printoptions(linewidth=150, precision=6, suppress=True)
    ver = lammps_version_string()
    lines = [
        "# Crystal properties of diamond-cubic Si computed with LAMMPS %s (Debian lammps %s), "
        "one rank, newton on" % (ver, debian_version()),
        "# generator: %s   (deterministic; see tests/data/README_props.md for the method)" % REGEN,
    ]
    for pot in POTENTIALS:
        path = os.path.join(POTDIR, pot["file"])
        lines.append("# potential: pair_style %s, pair_coeff * * %s Si (sha256 %s)"
                     % (pot["pair_style"], pot["file"], sha256_prefix(path)))
    lines += [
        "# keys: a0 (A), e0 (eV/atom), c11 c12 c44 (GPa, relaxed ions), c11_clamped c12_clamped c44_clamped "
        "(GPa, clamped ions), b = (c11+2 c12)/3 (GPa), evf (eV, vacancy, constant volume, relaxed ions), "
        "vac_atoms (atoms of the perfect vacancy supercell), strain (finite-difference strain)",
        "# format: <potential file> <key> <value>   (value = Python repr)",
    ]
    summary = {}
    with tempfile.TemporaryDirectory() as tmp:
        for pot in POTENTIALS:
            name = pot["file"]
            t0 = time.time()
            a0, width, nev = find_a0(pot, tmp)
            r = pressure_at(pot, a0, tmp)
            e0 = r["pe"] / 8.0
            print("== %s (pair_style %s)" % (name, pot["pair_style"]))
            print("a0 = %r A  (bracket width %.3g, %d pressure evaluations), P(a0) = %.3e bar, "
                  "stress(a0) = %s bar, fnorm(a0) = %.3g" % (a0, width, nev, r["press"], -r["p"], r["fnorm"]))
            print("e0 = %r eV/atom" % e0)
            Cc, Cr, infos = elastic(pot, a0, tmp)
            c11, c12, c44 = cubic_avg(Cr)
            c11c, c12c, c44c = cubic_avg(Cc)
            b = (c11 + 2.0 * c12) / 3.0
            devr, devc = cubic_dev(Cr), cubic_dev(Cc)
            print("relaxed-ion C (GPa, Voigt xx yy zz yz xz xy):")
            print(Cr)
            print("clamped-ion C (GPa):")
            print(Cc)
            print("max |C - C_cubic(c11,c12,c44)|: relaxed %.3e GPa, clamped %.3e GPa; "
                  "max |C - C^T|: relaxed %.3e, clamped %.3e"
                  % (devr, devc, np.max(np.abs(Cr - Cr.T)), np.max(np.abs(Cc - Cc.T))))
            for lab, inf in infos:
                print("  strain %-4s: min %-28s iters %4d  fnorm %.3e -> %.3e  fmax %.3e"
                      % (lab, inf["crit"], inf["iters"], inf["fnorm0"], inf["fnorm"], inf["fmax"]))
            evf, N, vi = vacancy(pot, a0, tmp)
            print("vacancy: N=%d E_N=%r E_(N-1)=%r (unrelaxed %r); min %s, iters %d, fnorm %.3e -> %.3e, "
                  "fmax %.3e" % (N, vi["eN"], vi["eN1"], vi["eN1_unrelaxed"], vi["crit"], vi["iters"],
                                 vi["fnorm0"], vi["fnorm"], vi["fmax"]))
            print("evf = %r eV (unrelaxed %r)" % (evf, vi["eN1_unrelaxed"] - (N - 1) / N * vi["eN"]))
            print("c11 c12 c44 = %.6f %.6f %.6f GPa (clamped %.6f %.6f %.6f), B = %.6f GPa; %.1f s"
                  % (c11, c12, c44, c11c, c12c, c44c, b, time.time() - t0))
            vals = [("a0", a0), ("e0", e0), ("c11", c11), ("c12", c12), ("c44", c44),
                    ("c11_clamped", c11c), ("c12_clamped", c12c), ("c44_clamped", c44c),
                    ("b", b), ("evf", evf), ("vac_atoms", N), ("strain", STRAIN)]
            for k, v in vals:
                assert np.isfinite(v), (name, k, v)
                lines.append("%s %s %r" % (name, k, v))
            summary[name] = dict(devr=devr, devc=devc)
    with open(args.out, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print("wrote %s (%.1f s)" % (args.out, time.time() - t_start))


if __name__ == "__main__":
    main()
