#!/usr/bin/python3
"""Crystal properties of diamond-cubic Si and hcp Ti computed with LAMMPS (references for the splinepot tests).

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
For each hcp Ti potential (meam/spline Ti.meam.spline, meam/sw/spline Ti.meam.sw.spline), on the
4-atom orthorhombic cell (a, a sqrt 3, c; atoms at (0,0,0), (.5,.5,0), (.5,1/6,.5), (0,2/3,.5)):
  a0, c0, e0   zero-stress lattice constants: for each c/a, bisection on thermo press
               (|da| < 1e-11 A); c/a by bisection on pzz - (pxx + pyy)/2 (|dq| < 1e-12);
  c11 c12 c13 c33 c44 c66 (and *_clamped)  as for Si, hexagonal averages of the 6x6;
  evf          vacancy in 4 x 3 x 3 orthorhombic cells (144 atoms), as for Si.
  gsfe_0001_<k>, gsfe_10-10_<k>  stacking-fault energies (J/m^2) at t = k/12 of (0001)[0-110]
               over a sqrt 3 and of (10-10)[2-1-10] over a (the wide gap between prism planes),
               slabs 6 periods thick, unrelaxed and relaxed along the normal (see gsfe_ti).
For all: phonon frequencies of the primitive cell at the path's points and one general point,
from force constants of LAMMPS forces (central differences, 0.001 A) in a supercell twice the
potential's reach wide, the dynamical matrix diagonalised by numpy.
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
DIAMOND = [(0, 0, 0), (0, .5, .5), (.5, 0, .5), (.5, .5, 0),
           (.25, .25, .25), (.25, .75, .75), (.75, .25, .75), (.75, .75, .25)]
HCP = [(0, 0, 0), (.5, .5, 0), (.5, 1.0 / 6.0, .5), (0, 2.0 / 3.0, .5)]
SQRT3 = 1.7320508075688772

POTENTIALS = [
    dict(file="Si_1.meam.spline", pair_style="meam/spline", element="Si", mass=28.0855, lattice="diamond"),
    dict(file="Si.b.meam.sw.spline", pair_style="meam/sw/spline", element="Si", mass=28.0855, lattice="diamond"),
    dict(file="Ti.meam.spline", pair_style="meam/spline", element="Ti", mass=47.867, lattice="hcp"),
    dict(file="Ti.meam.sw.spline", pair_style="meam/sw/spline", element="Ti", mass=47.867, lattice="hcp"),
]

STRAIN = 1.0e-5
A_BRACKET = (5.30, 5.60)       # P(a) changes sign inside for both Si potentials
A_BRACKET_HCP = (2.85, 3.00)   # the same for Ti at any c/a of Q_BRACKET
Q_BRACKET = (1.55, 1.65)       # pzz - (pxx + pyy)/2 changes sign inside for both Ti potentials
A_TOL = 1.0e-11
Q_TOL = 1.0e-12
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


def cell_sides(pot, a, q):
    """Sides of the potential's conventional cell: cubic a, or hcp (a, a sqrt 3, q a)."""
    return (a, a, a) if pot["lattice"] == "diamond" else (a, SQRT3 * a, q * a)


class Cell:
    """One LAMMPS instance holding n[0] x n[1] x n[2] conventional cells of sides L (diamond or
    orthorhombic hcp; triclinic box, zero tilts)."""

    def __init__(self, pot, L, n, tmpdir, tag):
        self.log = os.path.join(tmpdir, "log.%s" % tag)
        self.lmp = lammps.lammps(cmdargs=["-log", self.log, "-screen", "none", "-nocite"])
        basis = DIAMOND if pot["lattice"] == "diamond" else HCP
        cmds = [
            "units metal",
            "atom_style atomic",
            "atom_modify map array sort 0 0.0",
            "boundary p p p",
            "newton on",
            "region box prism 0.0 %r 0.0 %r 0.0 %r 0.0 0.0 0.0 units box" % (n[0] * L[0], n[1] * L[1], n[2] * L[2]),
            "create_box 1 box",
        ]
        for i in range(n[0]):
            for j in range(n[1]):
                for k in range(n[2]):
                    for f in basis:
                        x, y, z = ((i + f[0]) * L[0], (j + f[1]) * L[1], (k + f[2]) * L[2])
                        cmds.append("create_atoms 1 single %r %r %r units box" % (x, y, z))
        cmds += [
            "mass 1 %r" % pot["mass"],
            "pair_style " + pot["pair_style"],
            "pair_coeff * * %s %s" % (os.path.join(POTDIR, pot["file"]), pot["element"]),
            "neighbor 1.0 bin",
            "neigh_modify every 1 delay 0 check yes",
            "thermo_style custom step pe press pxx pyy pzz pyz pxz pxy fnorm fmax",
            "thermo_modify format float %.17g",
        ]
        for c in cmds:
            self.lmp.command(c)
        self.natoms = len(basis) * n[0] * n[1] * n[2]
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

def pressure_at(pot, a, tmpdir, q=None):
    c = Cell(pot, cell_sides(pot, a, q), (1, 1, 1), tmpdir, "a0")
    r = c.run0()
    c.close()
    return r


def bisect(f, lo, hi, tol):
    """The zero of f (positive at lo, negative at hi) to a bracket < tol; (x, width, evaluations)."""
    flo, fhi = f(lo), f(hi)
    assert flo > 0.0 > fhi, ("bracket does not contain the zero", lo, hi, flo, fhi)
    nev = 2
    while hi - lo >= tol:
        mid = 0.5 * (lo + hi)
        if mid == lo or mid == hi:
            break
        fm = f(mid)
        nev += 1
        if fm > 0.0:
            lo = mid
        elif fm < 0.0:
            hi = mid
        else:
            lo = hi = mid
    return 0.5 * (lo + hi), hi - lo, nev


def find_a0(pot, tmpdir, q=None):
    return bisect(lambda a: pressure_at(pot, a, tmpdir, q)["press"],
                  *(A_BRACKET if q is None else A_BRACKET_HCP), A_TOL)


def find_hcp(pot, tmpdir):
    """(a0, c/a): zero pressure for each c/a, and c/a where pzz = (pxx + pyy)/2."""
    def axial(q):
        a = find_a0(pot, tmpdir, q)[0]
        p = pressure_at(pot, a, tmpdir, q)["p"]
        return p[2] - 0.5 * (p[0] + p[1])
    q, width, nev = bisect(axial, *Q_BRACKET, Q_TOL)
    a0 = find_a0(pot, tmpdir, q)[0]
    return a0, q, width, nev


# ----------------------------------------------------------------------------- elastic constants

def strained_stress(pot, L, j, d, tmpdir, tag):
    """Apply x' = (I + e) x with Voigt component j (0..5) = d (engineering shear via tilt) to the
    cell of sides L; return (clamped stress, relaxed stress, min info) with stress = -p, bar,
    Voigt order."""
    c = Cell(pot, L, (1, 1, 1), tmpdir, tag)
    if j < 3:
        dim = "xyz"[j]
        c.cmd("change_box all %s final 0.0 %r remap units box" % (dim, L[j] * (1.0 + d)))
    else:
        tilt = {3: "yz", 4: "xz", 5: "xy"}[j]       # yz = d*lz, xz = d*lz, xy = d*ly
        c.cmd("change_box all %s final %r remap units box" % (tilt, d * (L[1] if j == 5 else L[2])))
    r0 = c.run0()
    crit, nit = c.minimize()
    r1 = c.run0()
    c.close()
    return -r0["p"], -r1["p"], dict(crit=crit, iters=nit, fnorm=r1["fnorm"], fmax=r1["fmax"],
                                    fnorm0=r0["fnorm"])


def elastic(pot, L, tmpdir):
    Cc = np.zeros((6, 6))
    Cr = np.zeros((6, 6))
    infos = []
    for j in range(6):
        sc_p, sr_p, ip = strained_stress(pot, L, j, +STRAIN, tmpdir, "el")
        sc_m, sr_m, im = strained_stress(pot, L, j, -STRAIN, tmpdir, "el")
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


HEX = ["c11", "c12", "c13", "c33", "c44", "c66"]


def hex_avg(C):
    return [float(np.mean([C[0, 0], C[1, 1]])), float(np.mean([C[0, 1], C[1, 0]])),
            float(np.mean([C[0, 2], C[1, 2], C[2, 0], C[2, 1]])), float(C[2, 2]),
            float(np.mean([C[3, 3], C[4, 4]])), float(C[5, 5])]


def hex_dev(C):
    c11, c12, c13, c33, c44, c66 = hex_avg(C)
    H = np.zeros((6, 6))
    H[0, 0] = H[1, 1] = c11
    H[0, 1] = H[1, 0] = c12
    H[0, 2] = H[1, 2] = H[2, 0] = H[2, 1] = c13
    H[2, 2] = c33
    H[3, 3] = H[4, 4] = c44
    H[5, 5] = 0.5 * (c11 - c12)
    return float(np.max(np.abs(C - H)))


# ----------------------------------------------------------------------------- phonons

PH_DELTA = 1.0e-3
THZ = 15.633304239856194          # sqrt(eV / (A^2 amu)) / 2 pi in THz


def phonon_points(pot, a0, q):
    """(label, q in 1/A) of the primitive cell's path points, and one general point."""
    tp = 2.0 * np.pi / a0
    if pot["lattice"] == "diamond":
        return [("G", (0, 0, 0)), ("X", (0, tp, 0)), ("L", (tp / 2, tp / 2, tp / 2)),
                ("Q", (0.31 * tp, 0.17 * tp, -0.23 * tp))]
    c = q * a0
    return [("G", (0, 0, 0)), ("M", (tp / 2, tp / (2 * SQRT3), 0)), ("K", (tp / 3, tp / SQRT3, 0)),
            ("A", (0, 0, np.pi / c)), ("Q", (0.31 * tp, 0.17 * tp, 0.23 * 2 * np.pi / c))]


def phonons(pot, L, nsc, points, tmpdir):
    """Frequencies (THz, ascending; imaginary as negative) of the primitive cell (2 atoms) at the
    points, from LAMMPS forces: each primitive atom of cell (0,0,0) of a supercell of the
    conventional cell (n[0] x n[1] x n[2], every side at least twice the potential's reach) moved
    by +-PH_DELTA along x, y, z (`set atom`), force constants by central differences, the
    dynamical matrix summed over the supercell's atoms through the nearest image (numpy)."""
    c = Cell(pot, L, nsc, tmpdir, "ph")
    nb = len(DIAMOND) if pot["lattice"] == "diamond" else len(HCP)
    prim = (0, 4) if pot["lattice"] == "diamond" else (0, 2)          # basis atoms of the two sublattices
    sub = np.array([0 if (k % nb) < prim[1] else 1 for k in range(c.natoms)])
    box = np.array([nsc[d] * L[d] for d in range(3)])
    x0 = np.ctypeslib.as_array(c.lmp.gather_atoms("x", 1, 3)).reshape(-1, 3).copy()
    phi = np.zeros((2, 3, c.natoms, 3))
    for s, ps in enumerate(prim):
        for a in range(3):
            F = []
            for sgn in (1.0, -1.0):
                xs = x0[ps].copy()
                xs[a] += sgn * PH_DELTA
                c.cmd("set atom %d x %r y %r z %r" % (ps + 1, xs[0], xs[1], xs[2]))
                c.lmp.command("run 0")
                F.append(np.ctypeslib.as_array(c.lmp.gather_atoms("f", 1, 3)).reshape(-1, 3).copy())
            c.cmd("set atom %d x %r y %r z %r" % (ps + 1, x0[ps][0], x0[ps][1], x0[ps][2]))
            phi[s, a] = -(F[0] - F[1]) / (2.0 * PH_DELTA)
    c.close()
    out = []
    for _, qv in points:
        qv = np.array(qv, dtype=float)
        D = np.zeros((6, 6), dtype=complex)
        for s, ps in enumerate(prim):
            d = x0 - x0[ps]
            d -= box * np.round(d / box)                                # nearest image (orthorhombic)
            ph = np.exp(1j * (d @ qv)) / pot["mass"]
            for t in range(2):
                m = sub == t
                D[3 * s:3 * s + 3, 3 * t:3 * t + 3] = np.einsum("ajb,j->ab", phi[s][:, m, :], ph[m])
        D = 0.5 * (D + D.conj().T)
        w = np.linalg.eigvalsh(D)
        out.append([float(np.sign(v) * np.sqrt(abs(v)) * THZ) for v in w])
    return out


# ----------------------------------------------------------------------------- stacking faults

GSFE_T = (2, 4, 6, 8)          # points k of a 13-point curve, t = k / 12


def gsfe_slab(pot, atoms, lx, ly, zhi, ztop, shift, tmpdir):
    """Generalized stacking-fault energy of a slab: atoms (x, y, z) in one plane cell lx x ly,
    periodic in x and y, open along z (boundary p p f, 20 A of vacuum each side of [0, zhi]); the
    atoms above ztop moved by t shift (`displace_atoms`) at t = k/12, k in GSFE_T; energies unrelaxed
    (`run 0`) and relaxed along z only (`fix setforce 0 0 NULL`, cg); (E(t) - E(0)) / area in J/m^2,
    keyed (k, relaxed)."""
    out = {}
    for relax in (False, True):
        energies = []
        for kt in (0,) + GSFE_T:
            lmp = lammps.lammps(cmdargs=["-log", os.path.join(tmpdir, "log.gsfe"), "-screen", "none", "-nocite"])
            for c in ["units metal", "atom_style atomic", "atom_modify map array sort 0 0.0", "boundary p p f",
                      "newton on",
                      "region box prism 0.0 %r 0.0 %r %r %r 0.0 0.0 0.0 units box" % (lx, ly, -20.0, zhi + 20.0),
                      "create_box 1 box"]:
                lmp.command(c)
            for x, y, z in atoms:
                lmp.command("create_atoms 1 single %r %r %r units box" % (x, y, z))
            for c in ["mass 1 %r" % pot["mass"], "pair_style " + pot["pair_style"],
                      "pair_coeff * * %s %s" % (os.path.join(POTDIR, pot["file"]), pot["element"]),
                      "neighbor 1.0 bin", "neigh_modify every 1 delay 0 check yes",
                      "region top block INF INF INF INF %r INF units box" % ztop,
                      "group top region top",
                      "displace_atoms top move %r %r 0.0 units box" % (kt / 12.0 * shift[0], kt / 12.0 * shift[1])]:
                lmp.command(c)
            if relax:
                lmp.command("fix z all setforce 0.0 0.0 NULL")
                lmp.command("min_style cg")
                lmp.command("minimize 0.0 1.0e-12 100000 1000000")
            lmp.command("run 0")
            energies.append(lmp.get_thermo("pe"))
            lmp.close()
        for kt, en in zip(GSFE_T, energies[1:]):
            out[(kt, relax)] = (en - energies[0]) / (lx * ly) * 16.021766208
    return out


def gsfe_si(pot, a0, tmpdir):
    """Diamond (111)[11-2], shuffle plane: the lattice turned so that [1-10], [11-2], [111] lie along
    x, y, z; one plane cell (a sqrt 2 x a sqrt 6); a slab two periods (2 a sqrt 3) thick between
    shuffle cuts (z / (a sqrt 3) = 1/8 + k); the upper period moved by t (a/2)[11-2] = t a sqrt 6 / 2
    along y."""
    e = np.array([[1, -1, 0], [1, 1, -2], [1, 1, 1]], dtype=float)
    e /= np.linalg.norm(e, axis=1)[:, None]
    lx, ly, lz = a0 * np.sqrt(2.0), a0 * np.sqrt(6.0), a0 * np.sqrt(3.0)
    atoms = []
    m = 6
    for i in range(-m, m + 1):
        for j in range(-m, m + 1):
            for k in range(-m, m + 1):
                for f in DIAMOND:
                    r = e @ (a0 * (np.array([i, j, k]) + np.array(f)))
                    fx, fy, fz = r[0] / lx, r[1] / ly, r[2] / lz
                    if -1e-9 <= fx < 1 - 1e-9 and -1e-9 <= fy < 1 - 1e-9 and 0.125 < fz < 2.125:
                        atoms.append((r[0] % lx, r[1] % ly, r[2]))
    assert len(atoms) == 96, len(atoms)
    return gsfe_slab(pot, atoms, lx, ly, 2 * lz, 1.125 * lz, (0.0, ly / 2.0), tmpdir)


GSFE_HCP_PERIODS = 6


def gsfe_ti(pot, a0, c0, plane, tmpdir):
    """hcp stacking faults in the frame of the 4-atom orthorhombic cell (x along a, y along a sqrt 3,
    z along c), turned so that the plane's rows lie along x, y and its normal along z: basal (0001)
    (rows a, a sqrt 3; cut between the A and B planes, every cut alike), the upper half moved by
    t a sqrt 3 along -y ([0-110], the I2 fault at t = 1/3); prism (10-10) (rows c, a; normal the
    orthorhombic y; cut in the wide gap, y / (a sqrt 3) = 1/3 + k), the upper half moved by t a along
    the orthorhombic x ([2-1-10]). Slabs GSFE_HCP_PERIODS periods thick."""
    L = (a0, a0 * np.sqrt(3.0), c0)
    P = GSFE_HCP_PERIODS
    if plane == "0001":
        perm, cut, lx, ly, lz, shift = (0, 1, 2), 0.25, L[0], L[1], L[2], (0.0, -L[1])
    else:
        perm, cut, lx, ly, lz, shift = (2, 0, 1), 1.0 / 3.0, L[2], L[0], L[1], (0.0, L[0])
    atoms = []
    for j in range(P + 1):
        for f in HCP:
            fz = f[perm[2]] + j
            if cut < fz < P + cut:
                atoms.append((f[perm[0]] * (lx), f[perm[1]] * (ly), (fz - cut) * lz))
    assert len(atoms) == 4 * P, len(atoms)
    return gsfe_slab(pot, atoms, lx, ly, P * lz, (P // 2) * lz, shift, tmpdir)


# ----------------------------------------------------------------------------- vacancy

def vacancy(pot, L, n, tmpdir):
    c = Cell(pot, L, n, tmpdir, "vac")
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
        "# Crystal properties of diamond-cubic Si and hcp Ti computed with LAMMPS %s (Debian lammps %s), "
        "one rank, newton on" % (ver, debian_version()),
        "# generator: %s   (deterministic; see tests/data/README_props.md for the method)" % REGEN,
    ]
    for pot in POTENTIALS:
        path = os.path.join(POTDIR, pot["file"])
        lines.append("# potential: pair_style %s, pair_coeff * * %s %s (sha256 %s)"
                     % (pot["pair_style"], pot["file"], pot["element"], sha256_prefix(path)))
    lines += [
        "# keys: a0 (A), e0 (eV/atom), c11 c12 c44 (GPa, relaxed ions), c11_clamped c12_clamped c44_clamped "
        "(GPa, clamped ions), b = (c11+2 c12)/3 (GPa), evf (eV, vacancy, constant volume, relaxed ions), "
        "vac_atoms (atoms of the perfect vacancy supercell), strain (finite-difference strain)",
        "# hcp keys: a0, c0 (A), e0, c11 c12 c13 c33 c44 c66 and their *_clamped (GPa; hexagonal averages), "
        "evf, vac_atoms, strain",
        "# diamond gsfe_111_<k>[_unrelaxed]: stacking-fault energy (J/m^2) of (111)[11-2], shuffle plane, at t = k/12 "
        "of the period (a/2)[11-2], relaxed along the normal (or not)",
        "# hcp gsfe_0001_<k>[_unrelaxed], gsfe_10-10_<k>[_unrelaxed]: the same for (0001)[0-110] over a sqrt 3 and "
        "(10-10)[2-1-10] over a (wide gap), slabs 6 periods thick",
        "# phonons of the primitive cell (2 atoms): phonon_q_<P> the wave vector (3 numbers, 1/A, phase exp(i q.r)), "
        "phonon_<P>_<k> the k-th frequency there (THz, ascending), phonon_displacement (A)",
        "# format: <potential file> <key> <value>   (value = Python repr)",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for pot in POTENTIALS:
            name = pot["file"]
            t0 = time.time()
            print("== %s (pair_style %s)" % (name, pot["pair_style"]))
            if pot["lattice"] == "diamond":
                a0, width, nev = find_a0(pot, tmp)
                q = None
                print("a0 = %r A  (bracket width %.3g, %d pressure evaluations)" % (a0, width, nev))
            else:
                a0, q, width, nev = find_hcp(pot, tmp)
                print("a0 = %r A, c/a = %r  (c/a bracket width %.3g, %d outer evaluations)" % (a0, q, width, nev))
            L = cell_sides(pot, a0, q)
            r = pressure_at(pot, a0, tmp, q)
            e0 = r["pe"] / r["natoms"]
            print("P(a0) = %.3e bar, stress(a0) = %s bar, fnorm(a0) = %.3g" % (r["press"], -r["p"], r["fnorm"]))
            print("e0 = %r eV/atom" % e0)
            Cc, Cr, infos = elastic(pot, L, tmp)
            print("relaxed-ion C (GPa, Voigt xx yy zz yz xz xy):")
            print(Cr)
            print("clamped-ion C (GPa):")
            print(Cc)
            for lab, inf in infos:
                print("  strain %-4s: min %-28s iters %4d  fnorm %.3e -> %.3e  fmax %.3e"
                      % (lab, inf["crit"], inf["iters"], inf["fnorm0"], inf["fnorm"], inf["fmax"]))
            if pot["lattice"] == "diamond":
                c11, c12, c44 = cubic_avg(Cr)
                c11c, c12c, c44c = cubic_avg(Cc)
                print("max |C - C_cubic(c11,c12,c44)|: relaxed %.3e GPa, clamped %.3e GPa; "
                      "max |C - C^T|: relaxed %.3e, clamped %.3e"
                      % (cubic_dev(Cr), cubic_dev(Cc), np.max(np.abs(Cr - Cr.T)), np.max(np.abs(Cc - Cc.T))))
                vals = [("a0", a0), ("e0", e0), ("c11", c11), ("c12", c12), ("c44", c44),
                        ("c11_clamped", c11c), ("c12_clamped", c12c), ("c44_clamped", c44c),
                        ("b", (c11 + 2.0 * c12) / 3.0)]
                nvac = (3, 3, 3)
            else:
                hr, hc = hex_avg(Cr), hex_avg(Cc)
                print("max |C - C_hex|: relaxed %.3e GPa, clamped %.3e GPa; max |C - C^T|: relaxed %.3e, "
                      "clamped %.3e" % (hex_dev(Cr), hex_dev(Cc), np.max(np.abs(Cr - Cr.T)),
                                        np.max(np.abs(Cc - Cc.T))))
                vals = [("a0", a0), ("c0", q * a0), ("e0", e0)] + list(zip(HEX, hr)) + \
                    [(k + "_clamped", v) for k, v in zip(HEX, hc)]
                nvac = (4, 3, 3)
            evf, N, vi = vacancy(pot, L, nvac, tmp)
            print("vacancy: N=%d E_N=%r E_(N-1)=%r (unrelaxed %r); min %s, iters %d, fnorm %.3e -> %.3e, "
                  "fmax %.3e" % (N, vi["eN"], vi["eN1"], vi["eN1_unrelaxed"], vi["crit"], vi["iters"],
                                 vi["fnorm0"], vi["fnorm"], vi["fmax"]))
            print("evf = %r eV (unrelaxed %r)" % (evf, vi["eN1_unrelaxed"] - (N - 1) / N * vi["eN"]))
            vals += [("evf", evf), ("vac_atoms", N), ("strain", STRAIN)]
            reach = 2.0 * (4.5 if pot["file"].startswith("Si_1") else 3.77 if pot["lattice"] == "diamond" else 5.5)
            nph = tuple(int(np.ceil(2.0 * reach / L[d])) for d in range(3))
            points = phonon_points(pot, a0, q)
            freqs = phonons(pot, L, nph, points, tmp)
            for (lab, qv), fr in zip(points, freqs):
                print("phonons at %s q=%s 1/A (supercell %s): %s THz" % (lab, np.round(qv, 6), nph,
                                                                      " ".join("%.6f" % v for v in fr)))
                vals += [("phonon_q_%s" % lab, " ".join(repr(float(v)) for v in qv))]
                vals += [("phonon_%s_%d" % (lab, k), v) for k, v in enumerate(fr)]
            vals += [("phonon_displacement", PH_DELTA)]
            if pot["lattice"] == "hcp":
                for plane in ("0001", "10-10"):
                    g = gsfe_ti(pot, a0, q * a0, plane, tmp)
                    for kt in GSFE_T:
                        print("GSFE (%s), t = %d/12: %.6f J/m^2 unrelaxed, %.6f relaxed along the normal"
                              % (plane, kt, g[(kt, False)], g[(kt, True)]))
                        vals += [("gsfe_%s_%d_unrelaxed" % (plane, kt), g[(kt, False)]),
                                 ("gsfe_%s_%d" % (plane, kt), g[(kt, True)])]
            if pot["lattice"] == "diamond":
                g = gsfe_si(pot, a0, tmp)
                for kt in GSFE_T:
                    print("GSFE (111)[11-2] shuffle, t = %d/12: %.6f J/m^2 unrelaxed, %.6f relaxed along z"
                          % (kt, g[(kt, False)], g[(kt, True)]))
                    vals += [("gsfe_111_%d_unrelaxed" % kt, g[(kt, False)]), ("gsfe_111_%d" % kt, g[(kt, True)])]
            print("  ".join("%s %.6f" % kv for kv in vals if kv[0] not in ("vac_atoms", "strain")
                            and not kv[0].startswith("phonon")) + "; %.1f s" % (time.time() - t0))
            for k, v in vals:
                if isinstance(v, str):                  # a vector, as "x y z"
                    lines.append("%s %s %s" % (name, k, v))
                    continue
                assert np.isfinite(v), (name, k, v)
                lines.append("%s %s %r" % (name, k, v))
    with open(args.out, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print("wrote %s (%.1f s)" % (args.out, time.time() - t_start))


if __name__ == "__main__":
    main()
