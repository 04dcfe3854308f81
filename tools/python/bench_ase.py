"""ASE molecular dynamics with splinepot against ASE with LAMMPS (LAMMPSlib), side by side.

    OMP_NUM_THREADS=1 /usr/bin/python3 tools/python/bench_ase.py [--repeats 3] [--steps 30] [--cells 10]

Diamond Si, cells^3 conventional cells (8000 atoms by default), Lenosky's
Si_1.meam.spline, 1200 K Maxwell-Boltzmann start, velocity Verlet at 1 fs,
the same start for both; the two calculators run one after the other, repeat
by repeat. Prints microseconds per atom-step of the whole ASE loop, the
ratio, and how far apart the two potential energies are at the end of the
run (the same trajectory to rounding). Needs numpy, ASE and Debian's
python3-lammps; its liblammps.so.0 has no liblammps.so link, so the script
makes one in a scratch directory and runs itself again with LD_LIBRARY_PATH
pointing there.
"""

import argparse
import ctypes
import os
import statistics
import sys
import tempfile
import time

import numpy as np
from ase import units
from ase.build import bulk
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution
from ase.md.verlet import VelocityVerlet

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from splinepot import SplinePot  # noqa: E402


def liblammps():
    """Loadable as liblammps.so, or the path of the versioned library to link to it."""
    try:
        ctypes.CDLL("liblammps.so")
        return None
    except OSError:
        for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib"):
            if os.path.exists(os.path.join(d, "liblammps.so.0")):
                return os.path.join(d, "liblammps.so.0")
        sys.exit("no liblammps.so or liblammps.so.0 (apt-get install python3-lammps)")


def run(calc, start, steps):
    a = start.copy()
    a.calc = calc
    md = VelocityVerlet(a, 1.0 * units.fs)
    md.run(2)  # lists built, caches warm
    t = time.perf_counter()
    md.run(steps)
    t = time.perf_counter() - t
    return 1e6 * t / steps / len(a), a.get_potential_energy()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--cells", type=int, default=10)
    ap.add_argument("--potential", default="/usr/share/lammps/potentials/Si_1.meam.spline")
    args = ap.parse_args()
    link = liblammps()
    if link:
        d = tempfile.mkdtemp(prefix="sp_bench_ase.")
        os.symlink(link, os.path.join(d, "liblammps.so"))
        os.environ["LD_LIBRARY_PATH"] = d + os.pathsep + os.environ.get("LD_LIBRARY_PATH", "")
        os.execv(sys.executable, [sys.executable] + sys.argv)
    from ase.calculators.lammpslib import LAMMPSlib

    start = bulk("Si", "diamond", a=5.431, cubic=True).repeat(args.cells)
    MaxwellBoltzmannDistribution(start, temperature_K=1200, rng=np.random.default_rng(1))
    print(f"# {len(start)} Si atoms, {args.steps} steps of 1 fs per repeat, OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS', 'unset')}")
    sp, lm = [], []
    for r in range(args.repeats):
        t_sp, e_sp = run(SplinePot(args.potential), start, args.steps)
        t_lm, e_lm = run(LAMMPSlib(lmpcmds=["pair_style meam/spline", f"pair_coeff * * {args.potential} Si"],
                                   atom_types={"Si": 1}, log_file=None, keep_alive=True), start, args.steps)
        sp.append(t_sp)
        lm.append(t_lm)
        print(f"repeat {r + 1}: splinepot {t_sp:.3f}, LAMMPSlib {t_lm:.3f} us/atom-step, ratio {t_sp / t_lm:.3f}; "
              f"final energies differ by {abs(e_sp - e_lm):.2g} eV")
    print(f"median: splinepot {statistics.median(sp):.3f}, LAMMPSlib {statistics.median(lm):.3f} us/atom-step, "
          f"ratio {statistics.median(sp) / statistics.median(lm):.3f}")


if __name__ == "__main__":
    main()
