"""08_ase.py: splinepot from Python, through ASE, against splinepot's own C routines.

    make python && /usr/bin/python3 examples/08_ase.py

Lenosky's Si_1 (LAMMPS meam/spline) as an ASE calculator. The numbers a
potential is judged by are worked out twice: once the ASE way (its cell
optimiser, stresses under finite strains, its finite-displacement phonons),
once by `splinepot props` and `splinepot phonons` (sp_cubic_props and
sp_phonons in C). Only the potential is shared; the program checks that the
two roads meet. Then 2 ps of Langevin MD at 600 K with ASE's integrator.
Needs numpy and ASE; the LAMMPS potential files (lammps-data).
"""

import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from ase import units
from ase.build import bulk
from ase.constraints import ExpCellFilter
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution
from ase.optimize import BFGS
from ase.phonons import Phonons

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "tools", "python"))
from splinepot import SplinePot  # noqa: E402

POT = os.path.join(os.environ.get("SPLINEPOT_POTENTIALS", "/usr/share/lammps/potentials"), "Si_1.meam.spline")
TOOL = os.environ.get("SPLINEPOT", os.path.join(ROOT, "build", "splinepot"))
GPA = 1.0 / units.GPa
failed = []


def agree(what, ase_value, c_value, tol):
    ok = abs(ase_value - c_value) <= tol
    print(f"  {what:28s} ASE {ase_value:12.6f}   splinepot C {c_value:12.6f}   {'ok' if ok else 'DIFFERENT'}")
    if not ok:
        failed.append(what)


with tempfile.TemporaryDirectory() as tmp:
    subprocess.run([TOOL, "props", POT, "--lattice", "diamond", "-o", f"{tmp}/props.json"], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([TOOL, "phonons", POT, "--lattice", "diamond", "--element", "Si", "--points", "4", "-o", f"{tmp}/bands.dat"],
                   check=True, stdout=subprocess.DEVNULL)
    with open(f"{tmp}/props.json") as f:
        props = json.load(f)
    rows = [ln.split() for ln in open(f"{tmp}/bands.dat") if not ln.startswith("#")]
    gamma_c = max(float(v) for v in rows[0][4:])  # path length, q (3), then the frequencies at Gamma

    # 1. the cell relaxed by ASE: its stress, from splinepot, brought to zero
    si = bulk("Si", "diamond", a=5.3, cubic=True)
    si.calc = SplinePot(POT)
    BFGS(ExpCellFilter(si), logfile=None).run(fmax=1e-8)
    a0 = si.cell[0, 0]
    print(f"Si_1, diamond Si ({POT})")
    agree("a0 (A)", a0, props["a0_A"], 1e-6)

    # 2. elastic constants from ASE stresses at +-1e-5 strains (the relaxed cell; clamped ions for C44 here,
    #    relaxed inside the C routine: compare C11 and C12, and C44 with the clamped value)
    def stress(eps):
        s = si.copy()
        s.calc = si.calc
        s.set_cell(si.cell.array @ (np.eye(3) + eps), scale_atoms=True)
        return s.get_stress()

    h = 1e-5  # as sp_cubic_props: Si_1 is a spline, piecewise cubic, so wider strains cross its knots
    e_xx, e_yz = np.zeros((3, 3)), np.zeros((3, 3))
    e_xx[0, 0] = h
    e_yz[1, 2] = e_yz[2, 1] = h / 2
    d_xx = (stress(e_xx) - stress(-e_xx)) / (2 * h)
    d_yz = (stress(e_yz) - stress(-e_yz)) / (2 * h)
    agree("C11 (GPa)", d_xx[0] * GPA, props["c11_GPa"], 1e-3)
    agree("C12 (GPa)", d_xx[1] * GPA, props["c12_GPa"], 1e-3)
    agree("C44 clamped (GPa)", d_yz[3] * GPA, props["c44_clamped_GPa"], 1e-3)

    # 3. the optical phonon at Gamma from ASE's finite displacements in a 4x4x4 supercell of the primitive cell
    prim = bulk("Si", "diamond", a=a0)
    ph = Phonons(prim, SplinePot(POT), supercell=(4, 4, 4), delta=1e-3, name=f"{tmp}/phonon")
    ph.run()
    ph.read(acoustic=True)
    gamma_ase = ph.band_structure([[0, 0, 0]])[0].max() / units._hplanck / 1e12 * units._e  # eV -> THz
    agree("optical phonon at G (THz)", gamma_ase, gamma_c, 1e-4)

# 4. Langevin MD with ASE's integrator: the temperature it holds
md_si = bulk("Si", "diamond", a=a0, cubic=True).repeat(3)
md_si.calc = SplinePot(POT)
MaxwellBoltzmannDistribution(md_si, temperature_K=600, rng=np.random.default_rng(1))
dyn = Langevin(md_si, 2 * units.fs, temperature_K=600, friction=0.01 / units.fs, rng=np.random.default_rng(2))
temps = []
dyn.attach(lambda: temps.append(md_si.get_temperature()), interval=5)
dyn.run(1000)
t_mean = float(np.mean(temps[len(temps) // 2:]))
print(f"  Langevin MD, 216 atoms, 2 ps at 600 K: mean temperature over the second half {t_mean:.0f} K")
if not 540 < t_mean < 660:
    failed.append("MD temperature")

print("all agree" if not failed else f"DIFFERENT: {', '.join(failed)}")
sys.exit(1 if failed else 0)
