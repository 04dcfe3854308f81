#!/usr/bin/python3
"""Generate small LAMMPS reference frames for the splinepot test suite.

Usage (from the repository root):

    /usr/bin/python3 tools/refgen/gen_refs.py [--out tests/data]

Writes tests/data/lmp_<potential>.xyz (extended XYZ, one file per potential) and
tests/data/lmp_phi_Si_1.txt (phi(r) of Si_1.meam.spline sampled through LAMMPS dimers).

Requirements: /usr/bin/python3 with numpy and the Debian `python3-lammps` module
(LAMMPS 29 Sep 2021 - Update 2), potentials in /usr/share/lammps/potentials, and
/work/shared/reference/potentials/Si_1_phi_only.meam.spline (or --phi-only PATH).
Everything is deterministic (numpy.random.default_rng with fixed seeds).

Conventions (same as /work/shared/reference/README.md):
  * metal units, one MPI rank, `newton on`, `atom_modify map array sort 0 0.0`;
  * positions and the cell are read back from LAMMPS after `run 0` (restricted
    triclinic: a along x, b in xy plane, box origin 0);
  * energies = compute pe/atom, energy = thermo pe;
  * virial W_ab = sum_i r_ia f_ib (LAMMPS sign) = (compute pressure NULL virial) * V / nktv2p,
    V = lx*ly*lz of the LAMMPS box (also for non-periodic boxes);
  * stress = -W/V, written only for fully periodic frames;
  * all numbers written with Python repr (exact round trip).
"""
import argparse
import ctypes
import hashlib
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

# The Debian package ships only liblammps.so.0 (the unversioned .so is in -dev);
# make the python module find it.
import lammps.core as _lc
_CDLL = _lc.CDLL
_lc.CDLL = lambda p, *a, **k: _CDLL("liblammps.so.0" if p == "liblammps.so" else p, *a, **k)
import lammps  # noqa: E402
from lammps import LMP_STYLE_GLOBAL, LMP_STYLE_ATOM, LMP_TYPE_SCALAR, LMP_TYPE_VECTOR  # noqa: E402

POTDIR = "/usr/share/lammps/potentials"
PHI_ONLY_DEFAULT = "/work/shared/reference/potentials/Si_1_phi_only.meam.spline"
REGEN = "/usr/bin/python3 tools/refgen/gen_refs.py"
MASS = {"Si": 28.0855, "Ti": 47.867, "O": 15.999, "Ar": 39.948}

A_SI = 5.431
A_TI, C_TI = 2.931, 4.64
A_AR = 5.26


def lammps_version_string():
    try:
        out = subprocess.run(["/usr/bin/lmp", "-h"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if "Simulator -" in line:
                v = line.split("Simulator -")[1].strip()          # "29 Sep 2021 - Update 2"
                return v
    except OSError:
        pass
    return "unknown"


LMP_VERSION_LONG = lammps_version_string()
LMP_VERSION_KEY = LMP_VERSION_LONG.replace(" - ", "_").replace(" ", "").replace("Update", "update")


def sha256_prefix(path):
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()[:16]


# ----------------------------------------------------------------------------- geometry

def supercell(prim, basis_frac, species, M):
    """prim rows = primitive vectors; basis in fractional coords of prim;
    M integer 3x3, supercell rows = M @ prim. Returns (cell, cart positions, species)."""
    prim = np.asarray(prim, float)
    M = np.asarray(M, int)
    cell = M @ prim
    inv = np.linalg.inv(cell)
    # range of integer translations that can land in the supercell
    corners = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)], float) @ M
    lo = np.floor(corners.min(0)).astype(int) - 1
    hi = np.ceil(corners.max(0)).astype(int) + 1
    pos, spc = [], []
    for i in range(lo[0], hi[0] + 1):
        for j in range(lo[1], hi[1] + 1):
            for k in range(lo[2], hi[2] + 1):
                for b, s in zip(basis_frac, species):
                    r = (np.array([i, j, k], float) + np.asarray(b, float)) @ prim
                    f = r @ inv
                    if np.all(f > -1e-9) and np.all(f < 1 - 1e-9):
                        pos.append(r)
                        spc.append(s)
    ncell = round(abs(np.linalg.det(M)))
    assert len(pos) == ncell * len(basis_frac), (len(pos), ncell, len(basis_frac))
    return cell, np.array(pos), spc


def diamond_conv():
    fcc = [[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]]
    basis = fcc + [[x + .25, y + .25, z + .25] for x, y, z in fcc]
    return np.eye(3) * A_SI, basis, ["Si"] * 8


def diamond_prim():
    p = 0.5 * A_SI * np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]], float)
    return p, [[0, 0, 0], [.25, .25, .25]], ["Si"] * 2


def hcp_ortho(with_octa=False):
    cell = np.diag([A_TI, math.sqrt(3) * A_TI, C_TI])
    basis = [[0, 0, 0], [.5, .5, 0], [0, 1 / 3, .5], [.5, 5 / 6, .5]]
    spc = ["Ti"] * 4
    octa = [[.5, 1 / 6, .25], [0, 2 / 3, .25], [.5, 1 / 6, .75], [0, 2 / 3, .75]]
    return cell, basis, spc, octa


def hcp_prim():
    cell = np.array([[A_TI, 0, 0], [-A_TI / 2, math.sqrt(3) / 2 * A_TI, 0], [0, 0, C_TI]])
    basis = [[0, 0, 0], [1 / 3, 2 / 3, .5]]
    octa = [[2 / 3, 1 / 3, .25], [2 / 3, 1 / 3, .75]]
    return cell, basis, ["Ti"] * 2, octa


def fcc_conv():
    return np.eye(3) * A_AR, [[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]], ["Ar"] * 4


def fcc_prim():
    return 0.5 * A_AR * np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]], float), [[0, 0, 0]], ["Ar"]


def octa_sites_cart(cell, M, octa_frac):
    """All octahedral sites of an hcp supercell (species 'O')."""
    c, p, s = supercell(cell, octa_frac, ["O"] * len(octa_frac), M)
    return p


def pick_separated(rng, cands, cell, n, dmin):
    """Pick n of the candidate positions, pairwise (minimum-image) distance >= dmin."""
    idx = rng.permutation(len(cands))
    chosen = []
    for i in idx:
        if all(min_image_dist(cands[i], cands[j], cell) >= dmin for j in chosen):
            chosen.append(i)
        if len(chosen) == n:
            break
    assert len(chosen) == n
    return cands[chosen]


def min_image_dist(r1, r2, cell, pbc=(True, True, True)):
    d = r2 - r1
    best = np.inf
    rngs = [(-1, 0, 1) if p else (0,) for p in pbc]
    for i in rngs[0]:
        for j in rngs[1]:
            for k in rngs[2]:
                v = d + np.array([i, j, k], float) @ cell
                best = min(best, float(np.sqrt(v @ v)))
    return best


def random_strain(rng, amp):
    return np.eye(3) + rng.uniform(-amp, amp, (3, 3))


def random_packing(rng, cell, n, dmin, maxtry=200000):
    """Random sequential placement with a minimum (periodic) distance."""
    cell = np.asarray(cell, float)
    shifts = np.array([[i, j, k] for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)], float) @ cell
    pos = np.zeros((0, 3))
    tries = 0
    while len(pos) < n:
        tries += 1
        if tries > maxtry:
            raise RuntimeError("random_packing: too dense")
        r = rng.uniform(0, 1, 3) @ cell
        if len(pos):
            d = (pos[:, None, :] + shifts[None, :, :]) - r
            if np.min(np.einsum("ijk,ijk->ij", d, d)) < dmin * dmin:
                continue
        pos = np.vstack([pos, r])
    return pos


def all_pair_min(cell, pos, pbc):
    n = len(pos)
    best = np.inf
    for i in range(n):
        for j in range(i + 1, n):
            best = min(best, min_image_dist(pos[i], pos[j], cell, pbc))
    # an atom and its own periodic images
    rngs = [(-1, 0, 1) if p else (0,) for p in pbc]
    for i in rngs[0]:
        for j in rngs[1]:
            for k in rngs[2]:
                if (i, j, k) != (0, 0, 0):
                    v = np.array([i, j, k], float) @ np.asarray(cell, float)
                    best = min(best, float(np.sqrt(v @ v)))
    return best


# ----------------------------------------------------------------------------- LAMMPS

def to_restricted(cell, pos):
    """General periodic cell (rows) -> LAMMPS restricted triclinic, tilts reduced;
    positions mapped by fractional coordinates and wrapped into [0,1)."""
    cell = np.asarray(cell, float)
    a, b, c = cell
    lx = np.linalg.norm(a)
    ah = a / lx
    xy = b @ ah
    ly = math.sqrt(b @ b - xy * xy)
    xz = c @ ah
    yz = (b @ c - xy * xz) / ly
    lz = math.sqrt(c @ c - xz * xz - yz * yz)
    L = np.array([[lx, 0, 0], [xy, ly, 0], [xz, yz, lz]])
    frac = np.asarray(pos, float) @ np.linalg.inv(cell)
    cart = frac @ L
    # reduce tilts
    if abs(L[2, 1]) > 0.5 * L[1, 1]:
        L[2] -= round(L[2, 1] / L[1, 1]) * L[1]
    if abs(L[2, 0]) > 0.5 * L[0, 0]:
        L[2] -= round(L[2, 0] / L[0, 0]) * L[0]
    if abs(L[1, 0]) > 0.5 * L[0, 0]:
        L[1] -= round(L[1, 0] / L[0, 0]) * L[0]
    frac = cart @ np.linalg.inv(L)
    frac -= np.floor(frac)
    frac[frac >= 1.0] -= 1.0
    return L, frac @ L


def write_data(path, L, pos, types, ntypes, masses):
    lx, ly, lz = L[0, 0], L[1, 1], L[2, 2]
    xy, xz, yz = L[1, 0], L[2, 0], L[2, 1]
    with open(path, "w") as fh:
        fh.write("splinepot reference frame\n\n%d atoms\n%d atom types\n\n" % (len(pos), ntypes))
        fh.write("0.0 %r xlo xhi\n0.0 %r ylo yhi\n0.0 %r zlo zhi\n" % (lx, ly, lz))
        if xy != 0.0 or xz != 0.0 or yz != 0.0:
            fh.write("%r %r %r xy xz yz\n" % (xy, xz, yz))
        fh.write("\nMasses\n\n")
        for t in range(ntypes):
            fh.write("%d %r\n" % (t + 1, masses[t]))
        fh.write("\nAtoms # atomic\n\n")
        for i, (r, t) in enumerate(zip(pos, types)):
            fh.write("%d %d %r %r %r\n" % (i + 1, t, float(r[0]), float(r[1]), float(r[2])))


def new_lammps(log="none"):
    return lammps.lammps(cmdargs=["-log", log, "-screen", "none", "-nocite"])


def run_frame(pot, L, pos, species, pbc, tmpdir, replicate=None):
    """Evaluate one frame. Returns dict with LAMMPS cell, positions, forces, energies, energy, virial."""
    elems = pot["elements"]
    types = [elems.index(s) + 1 for s in species]
    datafile = os.path.join(tmpdir, "frame.data")
    write_data(datafile, L, pos, types, len(elems), [MASS[e] for e in elems])
    logfile = os.path.join(tmpdir, "log.lammps")
    lmp = new_lammps(logfile)
    bnd = " ".join("p" if p else "f" for p in pbc)
    cmds = [
        "units metal",
        "atom_style atomic",
        "atom_modify map array sort 0 0.0",
        "boundary " + bnd,
        "newton on",
        "read_data " + datafile,
    ] + (["replicate %d %d %d" % tuple(replicate)] if replicate else []) + [
        "pair_style " + pot["pair_style"],
        "pair_coeff " + pot["pair_coeff_lmp"],
        "neighbor 1.0 bin",
        "compute peatom all pe/atom",
        "compute pesum all reduce sum c_peatom",
        "compute vir all pressure NULL virial",
        "thermo_style custom step pe c_pesum c_vir[1] c_vir[2] c_vir[3] c_vir[4] c_vir[5] c_vir[6]",
        "thermo_modify format float %.17g",
        "run 0",
    ]
    for c in cmds:
        lmp.command(c)
    nlocal = lmp.extract_global("nlocal")
    assert nlocal == len(pos) * (int(np.prod(replicate)) if replicate else 1), "LAMMPS lost atoms"
    ids = np.array(lmp.numpy.extract_atom("id")[:nlocal], dtype=np.int64)
    order = np.argsort(ids)
    x = np.array(lmp.numpy.extract_atom("x")[:nlocal], dtype=float)[order]
    f = np.array(lmp.numpy.extract_atom("f")[:nlocal], dtype=float)[order]
    typ = np.array(lmp.numpy.extract_atom("type")[:nlocal])[order]
    pe_atom = np.array(lmp.numpy.extract_compute("peatom", LMP_STYLE_ATOM, LMP_TYPE_VECTOR)[:nlocal],
                       dtype=float)[order]
    energy = float(lmp.extract_compute("thermo_pe", LMP_STYLE_GLOBAL, LMP_TYPE_SCALAR))
    pesum = float(lmp.extract_compute("pesum", LMP_STYLE_GLOBAL, LMP_TYPE_SCALAR))
    pv = np.array(lmp.numpy.extract_compute("vir", LMP_STYLE_GLOBAL, LMP_TYPE_VECTOR)[:6], dtype=float)
    nktv2p = lmp.extract_global("nktv2p")
    boxlo, boxhi, xy, yz, xz, periodicity, box_change = lmp.extract_box()
    lmp.close()
    warnings = sorted(set(l.strip() for l in open(logfile) if "WARNING" in l))
    if replicate:
        return dict(energy=energy, warnings=warnings, n=nlocal)
    assert list(typ) == types
    lx, ly, lz = boxhi[0] - boxlo[0], boxhi[1] - boxlo[1], boxhi[2] - boxlo[2]
    assert boxlo == [0.0, 0.0, 0.0], boxlo
    cellL = np.array([[lx, 0, 0], [xy, ly, 0], [xz, yz, lz]])
    V = lx * ly * lz
    W6 = pv * V / nktv2p           # xx yy zz xy xz yz
    W = np.array([[W6[0], W6[3], W6[4]], [W6[3], W6[1], W6[5]], [W6[4], W6[5], W6[2]]])
    return dict(cell=cellL, x=x, f=f, e=pe_atom, energy=energy, pesum=pesum, virial=W, V=V,
                periodicity=periodicity, warnings=warnings)


def fmt_mat(m):
    return " ".join(repr(float(v)) for v in np.asarray(m).ravel())


def xyz_frame(res, species, pbc, pot, name, seed, sigma, desc):
    n = len(species)
    allp = all(pbc)
    head = ['Lattice="%s"' % fmt_mat(res["cell"]),
            "Properties=species:S:1:pos:R:3:forces:R:3:energies:R:1",
            "energy=%r" % res["energy"],
            'virial="%s"' % fmt_mat(res["virial"])]
    if allp:
        head.append('stress="%s"' % fmt_mat(-res["virial"] / res["V"]))
    head += ['pbc="%s"' % " ".join("T" if p else "F" for p in pbc),
             "config_name=%s" % name,
             "potential=%s" % pot["label"],
             "pair_style=%s" % pot["pair_style"].split()[0],
             'pair_coeff="%s"' % pot["pair_coeff_key"],
             "seed=%d" % seed,
             "sigma=%r" % sigma,
             "lammps_version=%s" % LMP_VERSION_KEY,
             'generator="%s"' % REGEN]
    lines = ["%d" % n, " ".join(head)]
    for i in range(n):
        vals = list(res["x"][i]) + list(res["f"][i]) + [res["e"][i]]
        lines.append(species[i] + " " + " ".join(repr(float(v)) for v in vals))
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- structures

def element_structs(elem, pot):
    """Return a list of frames: (name, seed, sigma, description, cell, pos, species, pbc)."""
    frames = []
    dmin = pot["dmin"]
    knot = pot["first_knot"]

    def disp(rng, pos, sigma):
        return pos + rng.normal(0.0, sigma, pos.shape)

    # --- crystal building blocks
    if elem == "Si":
        c, b, s = diamond_conv()
        cryst = supercell(c, b, s, np.eye(3, dtype=int) * 2)                           # 64
        prim_small = supercell(*diamond_prim(), np.eye(3, dtype=int))                   # 2
        tri8 = supercell(c, b, s, np.eye(3, dtype=int))                                  # 8
        slab = supercell(c, b, s, np.diag([2, 2, 2]))                                   # 64
        clus_src = supercell(c, b, s, np.eye(3, dtype=int) * 3)
        clus_R, vac = 5.6, 8.0
        crys_desc = "diamond Si 2x2x2 conventional (a=5.431)"
        nd = 64
        rho0 = 8 / A_SI ** 3
    elif elem in ("Ti", "TiO"):
        c, b, s, octa = hcp_ortho()
        M = np.diag([4, 2, 2])
        cryst = supercell(c, b, s, M)                                                    # 64 Ti
        pc, pb, ps, poct = hcp_prim()
        prim_small = supercell(pc, pb, ps, np.eye(3, dtype=int))                        # 2 Ti
        tri8 = supercell(c, b, s, np.diag([1, 1, 2]))                                    # 8 Ti
        Ms = np.array([[4, 0, 0], [1, 4, 0], [0, 0, 2]])                                  # hex in-plane slab, xy tilt
        slab = supercell(pc, pb, ps, Ms)                                                 # 64 Ti
        clus_src = supercell(c, b, s, np.diag([5, 3, 3]))
        clus_R, vac = 5.6, 8.0
        crys_desc = "hcp Ti orthohexagonal 4x2x2 (a=2.931, c=4.64)"
        nd = 64
        rho0 = 4 / (A_TI * math.sqrt(3) * A_TI * C_TI)
    elif elem == "Ar":
        c, b, s = fcc_conv()
        cryst = supercell(c, b, s, np.eye(3, dtype=int) * 3)                             # 108
        pc, pb, ps = fcc_prim()
        prim_small = supercell(pc, pb, ps, np.diag([2, 1, 1]))                          # 2
        tri8 = supercell(c, b, s, np.eye(3, dtype=int))                                  # 4
        slab = supercell(c, b, s, np.diag([3, 3, 2]))                                   # 72
        clus_src = supercell(c, b, s, np.eye(3, dtype=int) * 4)
        clus_R, vac = 7.0, 9.0
        crys_desc = "fcc Ar 3x3x3 conventional (a=5.26)"
        nd = 64
        rho0 = 4 / A_AR ** 3
    else:
        raise ValueError(elem)
    sp = "Ti" if elem == "TiO" else elem
    base = pot["seed_base"]

    # 1. strongly disordered periodic cell
    seed = base + 1
    rng = np.random.default_rng(seed)
    nO = 0
    side = (nd / rho0) ** (1 / 3)
    cell = (np.eye(3) * side) @ random_strain(rng, 0.06)
    cell *= (nd / rho0 / abs(np.linalg.det(cell))) ** (1 / 3)
    pos = random_packing(rng, cell, nd, dmin)
    frames.append(("%s_disordered%d" % (sp, nd), seed, 0.0,
                   "random sequential placement, %d %s at crystal density, min distance %.2f A "
                   "(first knot %s), mildly triclinic cell" % (nd, sp, dmin, knot),
                   cell, pos, [sp] * nd, (True, True, True)))

    # 2. crystal +-10% volume
    for tag, fac, sd in (("vol+10", 1.1, 2), ("vol-10", 0.9, 3)):
        seed = base + sd
        rng = np.random.default_rng(seed)
        cc, pp, ss = cryst
        s_ = fac ** (1 / 3)
        cell = cc * s_
        pos = pp * s_
        ss = list(ss)
        desc = crys_desc + ", volume x%.1f" % fac
        if elem == "TiO":
            oc = octa_sites_cart(hcp_ortho()[0], np.diag([4, 2, 2]), hcp_ortho()[3]) * s_
            o = pick_separated(rng, oc, cell, 4, 4.5 * s_)
            pos = np.vstack([pos, o])
            ss = ss + ["O"] * len(o)
            desc += " + 4 O in octahedral sites"
        pos = disp(rng, pos, 0.05)
        n = len(pos)
        frames.append(("%s_%s_%d" % (sp if elem != "TiO" else "TiO", tag, n), seed, 0.05,
                       desc + ", gaussian displacements sigma=0.05 A", cell, pos, ss, (True, True, True)))

    # 3. small general triclinic cells
    for tag, src, amp, sd, extra in (("tri_prim", prim_small, 0.10, 4, 1), ("tri_small", tri8, 0.15, 5, 2)):
        seed = base + sd
        rng = np.random.default_rng(seed)
        cc, pp, ss = src
        if elem == "TiO" and tag == "tri_small":
            cc, pp, ss = supercell(*hcp_ortho()[:3], np.eye(3, dtype=int))          # 4 Ti (+2 O below)
        ss = list(ss)
        F = random_strain(rng, amp)
        R, _ = np.linalg.qr(rng.normal(size=(3, 3)))   # random rotation -> general (non-LAMMPS) orientation
        cell = cc @ F @ R
        frac = pp @ np.linalg.inv(cc)
        desc = "%d-atom cell from %s, random strain U(-%.2f,%.2f), random rotation" % (
            len(pp), "primitive cell" if tag == "tri_prim" else "conventional/orthohexagonal cell", amp, amp)
        if elem == "TiO":
            if tag == "tri_prim":
                ofrac = np.array([hcp_prim()[3][0]])
            else:
                ofrac = np.array([[.5, 1 / 6, .25], [0, 2 / 3, .75]])
            frac = np.vstack([frac, ofrac])
            ss = ss + ["O"] * len(ofrac)
            desc += " + %d O (octahedral)" % len(ofrac)
        pos = frac @ cell
        pos = disp(rng, pos, 0.1)
        Lr, _ = to_restricted(cell, pos)
        widths = abs(np.linalg.det(Lr)) / np.array([np.linalg.norm(np.cross(Lr[1], Lr[2])),
                                                     np.linalg.norm(np.cross(Lr[2], Lr[0])),
                                                     np.linalg.norm(np.cross(Lr[0], Lr[1]))])
        desc += ", gaussian sigma=0.1; perpendicular widths %s A, cutoff %s A" % (
            "/".join("%.2f" % w for w in widths), pot["rc"])
        frames.append(("%s_%s%d" % (elem, tag, len(pos)), seed, 0.1, desc, cell, pos, ss, (True, True, True)))

    # 4. slab, boundary p p f
    seed = base + 6
    rng = np.random.default_rng(seed)
    cc, pp, ss = slab
    ss = list(ss)
    pos = pp.copy()
    if elem == "TiO":
        oc = octa_sites_cart(hcp_prim()[0], np.array([[4, 0, 0], [1, 4, 0], [0, 0, 2]]), hcp_prim()[3])
        o = pick_separated(rng, oc, cc, 3, 4.5)
        pos = np.vstack([pos, o])
        ss = ss + ["O"] * 3
    pos = disp(rng, pos, 0.05)
    zmin, zmax = pos[:, 2].min(), pos[:, 2].max()
    Lz = (zmax - zmin) + 2 * vac
    pos[:, 2] += vac - zmin
    cell = cc.copy()
    cell[2] = [0, 0, Lz]
    Lr, pr = to_restricted(cell, pos)          # wrap x,y; z stays in (0, Lz) since c is along z
    desc = {"Si": "diamond (001) slab, 2x2 conventional cells in plane, 2 conventional cells (8 atomic layers) thick",
            "Ti": "hcp basal (0001) slab, 4x4 hexagonal in-plane supercell [[4,0],[1,4]] (xy tilt), 4 layers",
            "TiO": "hcp basal (0001) Ti slab [[4,0],[1,4]] (xy tilt), 4 layers + 3 O octahedral",
            "Ar": "fcc (001) slab, 3x3 conventional in plane, 4 layers"}[elem]
    frames.append(("%s_slab%d" % (elem, len(pos)), seed, 0.05,
                   desc + ", gaussian sigma=0.05, vacuum %.0f A each side, boundary p p f" % vac,
                   cell, pos, ss, (True, True, False)))

    # 5. cluster, boundary f f f
    seed = base + 7
    rng = np.random.default_rng(seed)
    cc, pp, ss = clus_src
    centre = 0.5 * cc.sum(0) + rng.uniform(-0.3, 0.3, 3)
    keep = np.linalg.norm(pp - centre, axis=1) < clus_R
    pos = pp[keep]
    ss = [ss[i] for i in np.nonzero(keep)[0]]
    if elem == "TiO":
        oc = octa_sites_cart(hcp_ortho()[0], np.diag([5, 3, 3]), hcp_ortho()[3])
        oc = oc[np.linalg.norm(oc - centre, axis=1) < clus_R - 1.5]
        o = pick_separated(rng, oc, cc * 10, 3, 4.0)
        pos = np.vstack([pos, o])
        ss = ss + ["O"] * 3
    pos = disp(rng, pos, 0.05)
    box = 40.0
    pos = pos - pos.mean(0) + box / 2
    frames.append(("%s_cluster%d" % (elem, len(pos)), seed, 0.05,
                   "sphere R=%.1f A cut from the crystal, gaussian sigma=0.05, %.0f A cubic box, boundary f f f"
                   % (clus_R, box), np.eye(3) * box, pos, ss, (False, False, False)))

    # 6. two-element disordered (TiO only)
    if elem == "TiO":
        seed = base + 8
        rng = np.random.default_rng(seed)
        nTi, nO = 48, 10
        n = nTi + nO
        cell = (np.eye(3) * (n / rho0) ** (1 / 3)) @ random_strain(rng, 0.06)
        cell *= (n / rho0 / abs(np.linalg.det(cell))) ** (1 / 3)
        pos = random_packing(rng, cell, n, dmin)
        ss = ["Ti"] * nTi + ["O"] * nO
        perm = rng.permutation(n)
        ss = [ss[i] for i in perm]
        frames.append(("TiO_disordered%d" % n, seed, 0.0,
                       "random sequential placement, %d Ti + %d O (types interleaved randomly), "
                       "min distance %.2f A (Ti-O knots start at 1.9)" % (nTi, nO, dmin),
                       cell, pos, ss, (True, True, True)))

    # extra: Si.b close pair below the phi first knot (tests the d0 extrapolation / malformed token)
    if pot.get("closepair"):
        seed = base + 9
        rng = np.random.default_rng(seed)
        side = (nd / rho0) ** (1 / 3)
        cell = np.eye(3) * side
        pos = random_packing(rng, cell, nd, 1.6)
        # move atom 1 to 0.85 A from atom 0 in a random direction, then make sure nothing else is too close
        for attempt in range(1000):
            u = rng.normal(size=3)
            u /= np.linalg.norm(u)
            cand = pos[0] + pot["closepair"] * u
            others = [min_image_dist(cand, pos[j], cell) for j in range(2, nd)]
            if min(others) > 1.6:
                pos[1] = cand
                break
        else:
            raise RuntimeError("closepair")
        frames.append(("Si_closepair%d" % nd, seed, 0.0,
                       "disordered %d Si (min distance 1.6 A) with one pair at %.2f A, below the phi first knot "
                       "0.9297 (phi extrapolated with the malformed d0 token, read as -5.511362311759948)"
                       % (nd, pot["closepair"]), cell, pos, ["Si"] * nd, (True, True, True)))
    return frames


POTENTIALS = [
    dict(label="Si_1.meam.spline", file="Si_1.meam.spline", pair_style="meam/spline", elements=["Si"],
         elem="Si", dmin=1.3, first_knot="1.5", rc=4.5, seed_base=1000),
    dict(label="Si_2.meam.spline", file="Si_2.meam.spline", pair_style="meam/spline", elements=["Si"],
         elem="Si", dmin=1.8, first_knot="2.067", rc=5.24, seed_base=2000),
    dict(label="Ti.meam.spline", file="Ti.meam.spline", pair_style="meam/spline", elements=["Ti"],
         elem="Ti", dmin=1.5, first_knot="1.743 (phi), 2.056 (rho, f)", rc=5.5, seed_base=3000),
    dict(label="TiO.meam.spline", file="TiO.meam.spline", pair_style="meam/spline", elements=["Ti", "O"],
         elem="TiO", dmin=1.5, first_knot="1.743 (phi TiTi), 1.9 (O splines)", rc=5.5, seed_base=4000),
    dict(label="Si.b.meam.sw.spline", file="Si.b.meam.sw.spline", pair_style="meam/sw/spline",
         elements=["Si"], elem="Si", dmin=1.3, first_knot="0.9297 (phi), 0.5 (F), 2.0 (rho, f)", rc=4.4,
         seed_base=5000, closepair=0.85),
    dict(label="Ti.meam.sw.spline", file="Ti.meam.sw.spline", pair_style="meam/sw/spline", elements=["Ti"],
         elem="Ti", dmin=1.5, first_knot="1.743 (phi), 2.056 (rho, f, F)", rc=5.5, seed_base=6000),
    dict(label="Si.sw", file="Si.sw", pair_style="sw", elements=["Si"], elem="Si", dmin=1.3,
         first_knot="n/a", rc=3.77118, seed_base=7000),
    dict(label="LJ_Ar", file=None, pair_style="lj/cut 8.5", elements=["Ar"], elem="Ar", dmin=2.8,
         first_knot="n/a (sigma 3.4)", rc=8.5, seed_base=8000),
]


def finish_pot(pot):
    if pot["file"]:
        pot["pair_coeff_lmp"] = "* * %s/%s %s" % (POTDIR, pot["file"], " ".join(pot["elements"]))
        pot["pair_coeff_key"] = "* * %s %s" % (pot["file"], " ".join(pot["elements"]))
        pot["sha"] = sha256_prefix(os.path.join(POTDIR, pot["file"]))
    else:
        pot["pair_coeff_lmp"] = pot["pair_coeff_key"] = "1 1 0.0104 3.4"
        pot["sha"] = "-"
    return pot


def check(res, pbc, name):
    msgs = []
    for k in ("x", "f", "e"):
        assert np.all(np.isfinite(res[k])), (name, k)
    assert math.isfinite(res["energy"]) and np.all(np.isfinite(res["virial"]))
    de = abs(res["e"].sum() - res["energy"])
    fs = np.abs(res["f"].sum(0)).max()
    fmax = np.abs(res["f"]).max()
    tol_e = 1e-11 * max(1.0, abs(res["energy"]))
    ok = de <= tol_e and fs <= 1e-9 * max(1.0, fmax)
    msgs.append("sum(e)-E=%.2e  |sum F|=%.2e  max|F|=%.3g  E=%.10g" % (de, fs, fmax, res["energy"]))
    return ok, msgs[0]


def generate_xyz(outdir, tmpdir, summary):
    for pot in POTENTIALS:
        finish_pot(pot)
        frames = element_structs(pot["elem"], pot)
        chunks = []
        for (name, seed, sigma, desc, cell, pos, species, pbc) in frames:
            if all(pbc):
                L, p = to_restricted(cell, pos)
            else:
                L, p = np.asarray(cell, float), np.asarray(pos, float)
                if pbc[0] and pbc[1]:
                    L, p = to_restricted(cell, pos)
                    assert L[2, 0] == 0.0 and L[2, 1] == 0.0
            res = run_frame(pot, L, p, species, pbc, tmpdir)
            ok, msg = check(res, pbc, name)
            # min distance over the LAMMPS positions (min image where periodic)
            dmin = all_pair_min(res["cell"], res["x"], pbc)
            widths = abs(np.linalg.det(res["cell"])) / np.array(
                [np.linalg.norm(np.cross(res["cell"][1], res["cell"][2])),
                 np.linalg.norm(np.cross(res["cell"][2], res["cell"][0])),
                 np.linalg.norm(np.cross(res["cell"][0], res["cell"][1]))])
            line = "%-22s %-26s n=%3d pbc=%s dmin=%.3f minwidth=%.2f %s %s" % (
                pot["label"], name, len(p), "".join("T" if q else "F" for q in pbc), dmin, widths.min(), msg,
                "OK" if ok else "CHECK FAILED")
            print(line, flush=True)
            if not ok:
                raise SystemExit("sanity check failed: " + line)
            for w in [w for w in res["warnings"] if "No fixes defined" not in w]:
                print("    LAMMPS:", w)
            if "_tri_" in name:
                # LAMMPS self-consistency for cells smaller than the cutoff: a 3x3x3 replica must give 27 E
                rep = run_frame(pot, L, p, species, pbc, tmpdir, replicate=(3, 3, 3))
                rel = abs(rep["energy"] / 27 - res["energy"]) / abs(res["energy"])
                print("    replicate 3x3x3: E/27 - E = %.2e relative" % rel)
                if rel > 1e-12:
                    raise SystemExit("replicate check failed for " + name)
                for w in [w for w in rep["warnings"] if "No fixes defined" not in w]:
                    print("    LAMMPS (replicated):", w)
            chunks.append(xyz_frame(res, species, pbc, pot, name, seed, sigma, desc))
            summary.append(dict(file="lmp_%s.xyz" % pot["label"], potential=pot["label"],
                                pair_style=pot["pair_style"], pair_coeff=pot["pair_coeff_key"], sha=pot["sha"],
                                name=name, n=len(p), pbc=pbc, desc=desc, dmin=dmin, energy=res["energy"],
                                minwidth=widths.min(), rc=pot["rc"]))
        fn = os.path.join(outdir, "lmp_%s.xyz" % pot["label"])
        with open(fn, "w") as fh:
            fh.write("".join(chunks))


# ----------------------------------------------------------------------------- phi of Si_1

def parse_first_spline_knots(path):
    """Knot x values of the first spline (phi) of an old-format meam/spline file, parsed with float()
    (glibc atof and Python float are both correctly rounded)."""
    lines = open(path).read().splitlines()
    n = int(lines[1].split()[0])
    # lines[2] = d0 dN, lines[3] = flag line
    return [float(lines[4 + k].split()[0]) for k in range(n)]


def phi_distances(knots, n_total=2000, lo=0.5, hi=4.49):
    pts = {lo, hi}
    for x in knots:
        if not (lo <= x <= hi):
            continue
        pts.add(x)
        pts.add(float(np.nextafter(x, -np.inf)))
        pts.add(float(np.nextafter(x, np.inf)))
        for d in (1e-12, 1e-9, 1e-6, 1e-3):
            pts.add(x - d)
            pts.add(x + d)
    pts = sorted(p for p in pts if lo <= p <= hi)
    m = n_total - len(pts)
    grid = [float(v) for v in np.linspace(lo, hi, m + 2)[1:-1]]
    pts = sorted(set(pts) | set(grid))
    k = 0
    rng = np.random.default_rng(12345)
    while len(pts) < n_total:          # top up (duplicates between grid and special points)
        pts = sorted(set(pts) | {float(rng.uniform(lo, hi))})
        k += 1
    return pts[:n_total] if len(pts) > n_total else pts


def generate_phi(outdir, tmpdir, phi_only):
    knots = parse_first_spline_knots(phi_only)
    rs = phi_distances(knots)
    assert len(rs) == 2000
    datafile = os.path.join(tmpdir, "dimer.data")
    with open(datafile, "w") as fh:
        fh.write("dimer\n\n2 atoms\n1 atom types\n\n-20.0 20.0 xlo xhi\n-20.0 20.0 ylo yhi\n"
                 "-20.0 20.0 zlo zhi\n\nMasses\n\n1 28.0855\n\nAtoms # atomic\n\n1 1 0.0 0.0 0.0\n"
                 "2 1 1.0 0.0 0.0\n")
    lmp = new_lammps()
    for c in ["units metal", "atom_style atomic", "atom_modify map array sort 0 0.0", "boundary f f f",
              "newton on", "read_data " + datafile, "pair_style meam/spline",
              "pair_coeff * * %s Si" % phi_only, "neighbor 1.0 bin",
              "neigh_modify every 1 delay 0 check no",
              "thermo_style custom step pe", "run 0"]:
        lmp.command(c)
    out = []
    for r in rs:
        x = lmp.numpy.extract_atom("x")
        ids = lmp.numpy.extract_atom("id")
        i1 = int(np.nonzero(ids[:2] == 1)[0][0])
        i2 = 1 - i1
        x[i1, :] = 0.0
        x[i2, 0] = r
        x[i2, 1] = 0.0
        x[i2, 2] = 0.0
        lmp.command("run 0")
        x = lmp.numpy.extract_atom("x")
        ids = lmp.numpy.extract_atom("id")
        f = lmp.numpy.extract_atom("f")
        i1 = int(np.nonzero(ids[:2] == 1)[0][0])
        i2 = 1 - i1
        rr = float(x[i2, 0] - x[i1, 0])
        assert rr == r and x[i1, 0] == 0.0
        e = float(lmp.extract_compute("thermo_pe", LMP_STYLE_GLOBAL, LMP_TYPE_SCALAR))
        fx1 = float(f[i1, 0])
        assert math.isfinite(e) and math.isfinite(fx1)
        assert abs(f[i1, 0] + f[i2, 0]) <= 1e-12 * max(1, abs(fx1)), "dimer forces not opposite"
        assert f[i1, 1] == 0.0 and f[i1, 2] == 0.0
        out.append((rr, e, fx1))
    lmp.close()
    fn = os.path.join(outdir, "lmp_phi_Si_1.txt")
    with open(fn, "w") as fh:
        fh.write("# phi(r) of Si_1.meam.spline (Lenosky 2000) evaluated by LAMMPS %s (Debian lammps "
                 "20220106.git7586adbb6a+ds1-2+b2), pair_style meam/spline, newton on, one rank\n" % LMP_VERSION_LONG)
        fh.write("# potential: %s (sha256 %s): phi of Si_1.meam.spline verbatim, rho=U=f=g=0\n"
                 % (os.path.basename(phi_only), sha256_prefix(phi_only)))
        fh.write("# two-atom dimer, boundary f f f, atom 1 at (0,0,0), atom 2 at (r,0,0): "
                 "thermo pe = phi(r) exactly (U(0)-U(0) = 0)\n")
        fh.write("# %d distances in [0.5, 4.49]: uniform grid + every knot x_k (as parsed), nextafter(x_k,-+inf), "
                 "x_k -+ 1e-12, 1e-9, 1e-6, 1e-3; points below the first knot 1.5 use the linear extrapolation "
                 "with d0\n" % len(out))
        fh.write("# columns: r  energy(eV)  force_x_on_atom1(eV/A)   (Python repr, exact doubles; force on atom1 "
                 "= +phi'(r) in x)\n")
        fh.write("# regenerate: %s\n" % REGEN)
        for r, e, fx in out:
            fh.write("%r %r %r\n" % (r, e, fx))
    print("lmp_phi_Si_1.txt: %d lines, phi(0.5)=%r phi(1.5)=%r" % (len(out), out[0][1],
          [o[1] for o in out if o[0] == 1.5][0]), flush=True)
    return knots


# ----------------------------------------------------------------------------- README

def write_readme(outdir, summary, phi_only):
    by_file = {}
    for s in summary:
        by_file.setdefault(s["file"], []).append(s)
    L = []
    L.append("# LAMMPS reference frames for the splinepot tests\n")
    L.append("Generated by `tools/refgen/gen_refs.py` with **LAMMPS (%s)**, Debian package "
             "`lammps 20220106.git7586adbb6a+ds1-2+b2` through `python3-lammps` (`liblammps.so.0`), "
             "potential files from `/usr/share/lammps/potentials` (package `lammps-data`). One MPI rank, "
             "`newton on`, `neighbor 1.0 bin`, metal units, double precision.\n" % LMP_VERSION_LONG)
    L.append("Regenerate everything (deterministic, fixed numpy seeds, about 10 s), from the repository root:\n")
    L.append("    %s\n" % REGEN)
    L.append("Format: identical to `/work/shared/reference/*.xyz` (extended XYZ): "
             "`Properties=species:S:1:pos:R:3:forces:R:3:energies:R:1`, `energy` (thermo pe), `energies` "
             "(compute pe/atom), `virial` (row-major 3x3, W_ab = sum_i r_ia f_ib, LAMMPS sign, = compute pressure "
             "NULL virial x V / nktv2p with V = lx*ly*lz of the LAMMPS box), `stress` = -W/V only for fully "
             "periodic frames, `pbc`, and the keys `config_name potential pair_style pair_coeff seed sigma "
             "lammps_version generator`. `Lattice` is the LAMMPS restricted-triclinic box (a along x, b in the xy "
             "plane, origin 0, tilts reduced); for non-periodic directions it is the LAMMPS box vector, with pbc F "
             "(boundary `f`). Positions are the doubles LAMMPS used, read back after `run 0` (wrapped in periodic "
             "directions). All numbers are Python `repr` (exact round trip). Types follow the element order of the "
             "file (TiO: Ti=1, O=2).\n")
    L.append("Checks done by the generator on every frame: all values finite, |sum(energies) - energy| <= 1e-11 "
             "max(1,|E|), |sum of forces| <= 1e-9 max(1, max|F|).\n")
    L.append("| file | potential (sha256 prefix) | frames | frame: atoms, pbc, what it is | regenerate |")
    L.append("|---|---|---|---|---|")
    for fn, ss in by_file.items():
        s0 = ss[0]
        desc = "<br>".join("`%s`: %d, %s, %s; min dist %.3f A, min perp. width %.2f A (rc %s)" % (
            s["name"], s["n"], "".join("T" if q else "F" for q in s["pbc"]), s["desc"], s["dmin"],
            s["minwidth"], s["rc"]) for s in ss)
        L.append("| `%s` | `pair_style %s`, `pair_coeff %s` (%s) | %d | %s | `%s` |" % (
            fn, s0["pair_style"], s0["pair_coeff"], s0["sha"], len(ss), desc, REGEN))
    L.append("| `lmp_phi_Si_1.txt` | `meam/spline`, `%s` (%s): phi of Si_1.meam.spline, rho=U=f=g=0 | 2000 lines "
             "| open-boundary dimers, r in [0.5, 4.49] (grid + knots, nextafter and small offsets around every "
             "knot, r < 1.5 below the first knot); columns `r energy force_x_on_atom1`; energy = phi(r) exactly | `%s` |"
             % (os.path.basename(phi_only), sha256_prefix(phi_only), REGEN))
    L.append("")
    L.append("Frame kinds: `disordered*` strongly disordered periodic cells at crystal density (random sequential "
             "placement, minimum distance below the first spline knot, so splines are extrapolated); "
             "`*_vol+10*`/`*_vol-10*` crystal at +10 % / -10 % volume; `*_tri_prim*` primitive cell, general "
             "triclinic, cutoff larger than the full perpendicular cell width; `*_tri_small*` 4-8 atom general "
             "triclinic cell, cutoff larger than half the width; `*_slab*` boundary p p f; `*_cluster*` boundary "
             "f f f in a 40 A box; `TiO_disordered58` two-element disordered cell; `Si_closepair64` (Si.b only) "
             "one pair at 0.85 A, below phi's first knot 0.9297, where LAMMPS extrapolates with the malformed d0 "
             "token `-5.511362311759948+02` read by atof as -5.511362311759948.\n")
    L.append("Per-atom energies follow the LAMMPS convention (pair energy split half/half, embedding energy "
             "U(rho_i)-U(0) to atom i, three-body terms as LAMMPS tallies them), so compare sums, or per-atom values "
             "only with the same partition. See the notes below.\n")
    L.append("## Notes and LAMMPS quirks seen while generating\n")
    L.append("* **Per-atom energy partition** (checked on a bent Si trimer in which only the middle atom has both "
             "neighbours inside the three-body range): `meam/spline` gives phi half/half and U(rho_i) - U(0) to "
             "atom i; `meam/sw/spline` additionally puts the **whole** SW triplet energy F(r_ij) F(r_ik) "
             "G(cos theta_jik) on the **central** atom i (not split 1/3 like `pair_style sw`, which gives 1/3 to "
             "each of the three atoms). In every frame |sum(energies) - energy| <= 1.1e-12 eV.")
    L.append("* **Cutoff larger than the cell:** LAMMPS 29Sep2021 (one rank) accepts periodic cells whose "
             "perpendicular width is far below the cutoff (e.g. `Ti_tri_prim2`: width 2.3 A, rc 5.5 A; "
             "`Ar_tri_prim2`: 3.0 A vs 8.5 A) without error or warning (the only warning printed is "
             "`No fixes defined, atoms won't move`). The generator checks every `*_tri_*` frame against a "
             "`replicate 3 3 3` run: E(replica)/27 agrees with E to <= 2e-14 relative.")
    L.append("* **Positions:** for triclinic boxes LAMMPS converts x -> lamda -> x during setup, so the positions "
             "it uses differ in the last bits from the data file; the files hold the positions read back after "
             "`run 0`. Ghost images are built in lamda space too, so a reimplementation that adds lattice vectors "
             "in Cartesian space sees round-off-level (1e-15) differences.")
    L.append("* **Virial of non-periodic boxes:** `compute pressure` divides by the box volume lx*ly*lz even for "
             "`f` boundaries; multiplying back by the same V gives W = sum_i r_i f_i (translation invariant "
             "because the total force is zero). `stress` is omitted for slabs and clusters.")
    L.append("* **Strongly disordered frames are stiff:** energies up to +516 eV and forces up to 134 eV/A "
             "(pairs below the first knot, so phi/rho/f are linearly extrapolated; rho may also leave the U knot "
             "range, e.g. Ti's U knots span [-55.1, -23.9]); compare them with relative tolerances.")
    L.append("* **Si.b.meam.sw.spline** phi d0 is the malformed token `-5.511362311759948+02`; LAMMPS (atof) "
             "reads -5.511362311759948. d0 enters the clamped spline everywhere (weakly away from the first knot); "
             "`Si_closepair64` (one pair at 0.85 A, phi's first knot is 0.9297) also uses it for the linear "
             "extrapolation below the knot.")
    L.append("* **Python module:** Debian's `python3-lammps` looks for `liblammps.so`, but only `liblammps.so.0` "
             "is installed (the unversioned link is in `liblammps-dev`); `gen_refs.py` redirects the loader.")
    L.append("* **pe/atom** is tallied on the `run 0` step because `compute reduce sum c_peatom` is referenced "
             "in `thermo_style`; `compute pressure NULL virial` likewise.")
    L.append("")
    L.append("Crystal properties of diamond Si (`lmp_props.txt`, `tools/refgen/gen_props.py`): see `README_props.md`.")
    with open(os.path.join(outdir, "README.md"), "w") as fh:
        fh.write("\n".join(L) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.normpath(os.path.join(here, "..", "..", "tests", "data")))
    ap.add_argument("--phi-only", default=PHI_ONLY_DEFAULT)
    ap.add_argument("--no-readme", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    summary = []
    with tempfile.TemporaryDirectory() as tmp:
        generate_xyz(args.out, tmp, summary)
        generate_phi(args.out, tmp, args.phi_only)
    if not args.no_readme:
        write_readme(args.out, summary, args.phi_only)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
