"""tools/python/splinepot.py (ctypes + ASE calculator) against independent results.

  - LAMMPS: every frame of tests/data/lmp_*.xyz for the meam/spline and
    meam/sw/spline files (periodic, slab and cluster cells, several atom
    counts), all through one calculator, so that its kept neighbour list must
    follow each change of cell, periodicity and atom count: energy, forces,
    per-atom energies, stress (periodic frames only).
  - Finite differences: forces and stress of UF2,3 and s-NNP models (fitted
    by the tool, argv[2], argv[3]) on strained, displaced cells, against
    ASE's numerical forces and stress.
  - ASE molecular dynamics (200 steps of velocity Verlet) with the list kept
    over a 0.3 A skin against the same run rebuilding it at every call, and
    the energy it conserves; then per-atom stresses summed against the stress.
  - One potential shared by 4 threads, frames of several cells in turn, against LAMMPS.
  - Errors: unknown element, truncated file (file and line), missing file,
    NaN position, overlapping atoms, degenerate cell; the calculator still
    works after each; copies and pickles get their own handle.
Prints "N passed, N failed" last. argv[1]: the LAMMPS potentials directory.
"""

import copy
import ctypes
from concurrent.futures import ThreadPoolExecutor
import os
import pickle
import sys

import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.calculators.calculator import PropertyNotImplementedError
from ase.io import read
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution
from ase.md.verlet import VelocityVerlet
from ase import units

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "python"))
import splinepot  # noqa: E402
from splinepot import Potential, SplinePot, SplinepotError  # noqa: E402

POTS, UF3, SNNP = sys.argv[1], sys.argv[2], sys.argv[3]
npass = nfail = 0


def check(ok, what):
    global npass, nfail
    if ok:
        npass += 1
    else:
        nfail += 1
        print("FAILED:", what)


def lammps_frames():
    """LAMMPS against the calculator, one calculator per potential for all its frames."""
    files = {"Si_1.meam.spline": "lmp_Si_1.meam.spline.xyz", "Si_2.meam.spline": "lmp_Si_2.meam.spline.xyz",
             "Ti.meam.spline": "lmp_Ti.meam.spline.xyz", "TiO.meam.spline": "lmp_TiO.meam.spline.xyz",
             "Si.b.meam.sw.spline": "lmp_Si.b.meam.sw.spline.xyz", "Ti.meam.sw.spline": "lmp_Ti.meam.sw.spline.xyz"}
    worst = np.zeros(4)
    nframes = 0
    for pot, data in files.items():
        calc = SplinePot(os.path.join(POTS, pot))
        for k, ref in enumerate(read(os.path.join("tests", "data", data), ":")):
            e0, f0, ea0 = ref.get_potential_energy(), ref.get_forces(), ref.arrays["energies"]
            s0 = ref.info.get("stress")
            a = ref.copy()
            a.calc = calc
            de = abs(a.get_potential_energy() - e0) / max(1.0, abs(e0))
            df = np.abs(a.get_forces() - f0).max()
            da = np.abs(a.get_potential_energies() - ea0).max()
            where = f"{pot} frame {k + 1} ({len(a)} atoms, pbc {a.pbc.tolist()})"
            check(de <= 1e-13, f"{where}: energy differs by {de:.3g} relative")
            check(df <= 1e-11, f"{where}: forces differ by {df:.3g} eV/A")
            check(da <= 1e-11, f"{where}: per-atom energies differ by {da:.3g} eV")
            ds = 0.0
            if a.pbc.all():
                s = np.asarray(s0, dtype=float).reshape(3, 3)
                ds = np.abs(a.get_stress() - np.array([s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]])).max()
                check(ds <= 1e-13, f"{where}: stress differs by {ds:.3g} eV/A^3")
            else:
                try:
                    a.get_stress()
                    check(False, f"{where}: a stress for a cell that is not periodic")
                except PropertyNotImplementedError:
                    check(True, "")
            worst = np.maximum(worst, [de, df, da, ds])
            nframes += 1
    print(f"LAMMPS, {nframes} frames of 6 files: energy {worst[0]:.2g} relative, forces {worst[1]:.2g} eV/A, "
          f"per-atom {worst[2]:.2g} eV, stress {worst[3]:.2g} eV/A^3")


def threads():
    """One Potential shared by 4 Python threads (ctypes lets them run at once), frames of different cells
    and sizes in turn: each energy still LAMMPS's."""
    pot = Potential(os.path.join(POTS, "TiO.meam.spline"))
    frames = read(os.path.join("tests", "data", "lmp_TiO.meam.spline.xyz"), ":")

    def job(k):
        a = frames[k % len(frames)]
        e = pot.compute(a.positions, pot.types(a.get_chemical_symbols()), a.cell.array, a.pbc)["energy"]
        return abs(e - a.get_potential_energy()) / max(1.0, abs(a.get_potential_energy()))

    with ThreadPoolExecutor(4) as ex:
        worst = max(ex.map(job, range(64)))
    check(worst <= 1e-13, f"threads sharing a potential: energy differs from LAMMPS by {worst:.3g} relative")
    print(f"4 threads, one potential, 64 frames: energy {worst:.2g} relative to LAMMPS")


def finite_differences():
    """Forces and stress against ASE's central differences, UF2,3 and s-NNP, two cells each."""
    rng = np.random.default_rng(5)
    for path in (UF3, SNNP):
        pot = Potential(path)
        for rep in (2, 3):
            a = bulk("Si", "diamond", a=5.43, cubic=True).repeat((rep, 2, 2))
            a.set_cell(a.cell.array @ (np.eye(3) + 0.02 * rng.standard_normal((3, 3))), scale_atoms=True)
            a.positions += 0.1 * rng.standard_normal(a.positions.shape)
            a.calc = SplinePot(pot)
            f = a.get_forces()
            fn = a.calc.calculate_numerical_forces(a, d=1e-5)
            s = a.get_stress()
            sn = a.calc.calculate_numerical_stress(a, d=1e-6)
            df, ds = np.abs(f - fn).max(), np.abs(s - sn).max()
            where = f"{pot.kind} {os.path.basename(path)}, {len(a)} atoms"
            check(df <= 1e-6, f"{where}: forces differ from finite differences by {df:.3g} eV/A")
            check(ds <= 1e-7, f"{where}: stress differs from finite differences by {ds:.3g} eV/A^3")
            print(f"{where}: forces - differences {df:.2g} eV/A, stress - differences {ds:.2g} eV/A^3")


def dynamics():
    """The kept list (0.3 A skin: rebuilt whenever an atom has moved 0.15 A) against a rebuild at every
    call, over 200 MD steps of 0.5 fs."""
    start = bulk("Si", "diamond", a=5.431, cubic=True).repeat(3)
    start.positions += np.random.default_rng(3).normal(0.0, 0.05, start.positions.shape)
    MaxwellBoltzmannDistribution(start, temperature_K=1500, rng=np.random.default_rng(4))
    runs = []
    for skin in (0.3, 0.0):
        a = start.copy()
        a.calc = SplinePot(os.path.join(POTS, "Si_1.meam.spline"), skin=skin)
        e0 = a.get_total_energy()
        VelocityVerlet(a, 0.5 * units.fs).run(200)
        runs.append((a.get_positions(), a.get_total_energy() - e0, a))
    dx = np.abs(runs[0][0] - runs[1][0]).max()
    moved = np.abs(runs[0][0] - start.positions).max()
    check(moved > 0.3, f"the atoms moved only {moved:.3g} A: the kept list was not put to the test")
    check(dx <= 1e-9, f"kept list and rebuilt list: positions differ by {dx:.3g} A after 200 steps")
    check(abs(runs[0][1]) <= 5e-5 * len(start), f"energy not conserved: {runs[0][1]:.3g} eV over 200 steps")
    a = runs[0][2]
    ds = np.abs(a.get_stresses().sum(axis=0) - a.get_stress()).max()
    check(ds <= 1e-14, f"per-atom stresses sum to the stress within {ds:.3g} eV/A^3")
    print(f"MD, 216 Si, 200 steps: kept vs rebuilt list {dx:.2g} A (largest move {moved:.2f} A), "
          f"energy drift {runs[0][1]:.2g} eV; per-atom stresses vs stress {ds:.2g}")


def errors():
    """Each bad input raises SplinepotError with a specific code and message; the calculator goes on."""
    si = os.path.join(POTS, "Si_1.meam.spline")
    tio = SplinePot(os.path.join(POTS, "TiO.meam.spline"))
    good = bulk("Ti", "hcp", a=2.93, c=4.65).repeat((3, 3, 2))
    good.calc = tio
    e_good = good.get_potential_energy()

    def raises(fn, code, text, what):
        try:
            fn()
        except SplinepotError as err:
            ok = err.code == code and text in str(err)
            check(ok, f"{what}: got code {err.code} '{err}', expected code {code} with '{text}'")
            return
        check(False, f"{what}: no error")

    bad = good.copy()
    bad.symbols[4] = "Fe"
    bad.calc = tio
    raises(bad.get_potential_energy, splinepot.ERR_UNKNOWN_ELEMENT, "atom 5: element Fe is not in the potential",
           "unknown element")
    bad = good.copy()
    bad.positions[2, 1] = np.nan
    bad.calc = tio
    raises(bad.get_potential_energy, 4, "atom 3 has a non-finite position", "NaN position")
    bad = good.copy()
    bad.positions[7] = bad.positions[3]
    bad.calc = tio
    raises(bad.get_potential_energy, 13, "atoms 4 and 8 overlap", "overlapping atoms")
    bad = good.copy()
    bad.set_cell([[3, 0, 0], [6, 0, 0], [0, 0, 5]])
    bad.calc = tio
    raises(bad.get_potential_energy, 12, "degenerate", "degenerate cell")
    again = good.copy()
    again.calc = tio
    check(again.get_potential_energy() == e_good, "the calculator after the errors gives another energy")
    with open(si) as f:
        lines = f.read().splitlines()
    cut = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"sp_py_{os.getpid()}.meam.spline")
    with open(cut, "w") as f:
        f.write("\n".join(lines[:12]) + "\n")
    raises(lambda: Potential(cut), 5, f"{cut}:", "truncated file")
    os.remove(cut)
    raises(lambda: Potential(cut), 6, cut, "missing file")
    raises(lambda: Potential(si, skin=-1.0), splinepot.ERR_BAD_ARG, "skin", "negative skin")
    lib = splinepot._library()
    lib.sp_result_str.restype = ctypes.c_char_p
    names = {c: lib.sp_result_str(c).decode() for c in (1, 4, 5, 6, 11, 12, 13)}
    check(names == {1: "bad argument", 4: "non-finite number", 5: "parse error", 6: "input/output error",
                    11: "unknown element", 12: "degenerate cell", 13: "overlapping atoms"},
          f"the codes this test expects are not the library's: {names}")
    # a file naming no element (the old meam/spline format) takes any symbol, as the tool does
    any_el = Atoms("Ge8", positions=bulk("Si", "diamond", a=5.431, cubic=True).positions,
                   cell=[5.431] * 3, pbc=True)
    any_el.calc = SplinePot(si)
    ref = bulk("Si", "diamond", a=5.431, cubic=True)
    ref.calc = SplinePot(si)
    check(any_el.get_potential_energy() == ref.get_potential_energy(), "a nameless file and another symbol")
    # copies and pickles open the file again (never two owners of one handle); a closed potential refuses
    calc = SplinePot(si)
    ref.calc = calc
    e_ref = ref.get_potential_energy()
    twin = copy.deepcopy(calc)
    back = pickle.loads(pickle.dumps(calc.potential))
    check(twin.potential._h.value != calc.potential._h.value and back._h.value != calc.potential._h.value,
          "a copy or a pickle shares the handle")
    again = ref.copy()
    again.calc = twin
    check(again.get_potential_energy() == e_ref, "a deep copy of the calculator gives another energy")
    check(back.compute(ref.positions, back.types(ref.get_chemical_symbols()), ref.cell, True)["energy"] == e_ref,
          "an unpickled potential gives another energy")
    back.close()
    raises(lambda: back.compute(ref.positions, [0] * len(ref), ref.cell, True), splinepot.ERR_BAD_ARG, "closed",
           "a closed potential")
    # an open cluster with no cell at all: the Si trimer of FORMATS.md (1.4), LAMMPS's energy to the bit
    trimer = Atoms("Si3", positions=[[0, 0, 0], [2.35, 0, 0], [0.7, 2.1, 0.3]])
    trimer.calc = SplinePot(si)
    check(trimer.get_potential_energy() == -5.845431565516754,
          f"Si trimer without a cell: {trimer.get_potential_energy()!r}, LAMMPS -5.845431565516754")
    print("errors: unknown element, NaN, overlap, degenerate cell, truncated and missing files, bad skin")


lammps_frames()
threads()
finite_differences()
dynamics()
errors()
print(f"{npass} passed, {nfail} failed")
sys.exit(1 if nfail else 0)
