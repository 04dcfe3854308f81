"""splinepot from Python: s-MEAM, UF3 and s-NNP potentials, and an ASE calculator.

A thin ctypes layer over build/libsplinepot_py.so (`make python`), the whole
C implementation of splinepot.h in one shared library. numpy is needed;
ASE only for the calculator.

    import sys; sys.path.insert(0, "tools/python")
    from splinepot import SplinePot
    from ase.build import bulk
    atoms = bulk("Si", "diamond", a=5.431, cubic=True)
    atoms.calc = SplinePot("Si_1.meam.spline")
    print(atoms.get_potential_energy(), atoms.get_stress())

Any file splinepot reads works: LAMMPS meam/spline (both formats),
meam/sw/spline, pair_style uf3 and uf3 JSON models, splinepot's s-NNP models.
The potential keeps its neighbour list between calls with a skin (1 A by
default), so ASE optimisers and molecular dynamics rebuild it only when an
atom has moved half the skin or the cell has changed.

Units are ASE's (eV, A). Stress is ASE's sign (-W/V, tensile positive),
Voigt order xx yy zz yz xz xy, and only for cells periodic in all three
directions. The library is looked for at $SPLINEPOT_LIB, then in the
repository's build/ beside this file.
"""

import ctypes
import os
import threading

import numpy as np

__all__ = ["Potential", "SplinePot", "SplinepotError"]

KINDS = {1: "meam/spline", 2: "meam/sw/spline", 3: "uf3", 4: "snnp"}
# the sp_result_t codes raised from Python itself (the rest come from the library)
ERR_BAD_ARG, ERR_UNKNOWN_ELEMENT = 1, 11

_ERRLEN = 512
_lib = None


class SplinepotError(RuntimeError):
    """A failure of the C library: code is its sp_result_t, the message says what and where."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def _library():
    global _lib
    if _lib is not None:
        return _lib
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.environ.get("SPLINEPOT_LIB") or os.path.join(here, "..", "..", "build", "libsplinepot_py.so")
    if not os.path.exists(path):
        raise OSError(f"{path} not found: build it with `make python` (or point SPLINEPOT_LIB at it)")
    lib = ctypes.CDLL(path)
    dp = np.ctypeslib.ndpointer(dtype=np.float64, flags="C_CONTIGUOUS")
    ip = np.ctypeslib.ndpointer(dtype=np.int32, flags="C_CONTIGUOUS")
    opt = ctypes.c_void_p  # an optional output array, or None
    lib.spy_open.argtypes = [ctypes.c_char_p, ctypes.c_double, ctypes.POINTER(ctypes.c_void_p), ctypes.c_char_p,
                             ctypes.c_int]
    lib.spy_close.argtypes = [ctypes.c_void_p]
    lib.spy_close.restype = None
    for name in ("spy_kind", "spy_nelem"):
        getattr(lib, name).argtypes = [ctypes.c_void_p]
    lib.spy_cutoff.argtypes = [ctypes.c_void_p]
    lib.spy_cutoff.restype = ctypes.c_double
    lib.spy_element.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.spy_element.restype = ctypes.c_char_p
    lib.spy_find_element.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.spy_compute.argtypes = [ctypes.c_void_p, ctypes.c_int, dp, ip, dp, ip, ctypes.POINTER(ctypes.c_double), dp,
                                opt, opt, opt, ctypes.c_char_p, ctypes.c_int]
    _lib = lib
    return lib


def _out(a):
    return None if a is None else a.ctypes.data_as(ctypes.c_void_p)


class Potential:
    """One potential file, with the neighbour list and workspace of its last call."""

    def __init__(self, path, skin=1.0):
        lib = _library()
        handle = ctypes.c_void_p()
        err = ctypes.create_string_buffer(_ERRLEN)
        code = lib.spy_open(os.fsencode(path), float(skin), ctypes.byref(handle), err, _ERRLEN)
        if code != 0:
            raise SplinepotError(code, err.value.decode(errors="replace"))
        self._lib, self._h = lib, handle
        self._lock = threading.Lock()  # one call at a time: the handle keeps one list and workspace
        self.path = str(path)
        self.skin = float(skin)
        self.kind = KINDS.get(lib.spy_kind(handle), "unknown")
        self.cutoff = lib.spy_cutoff(handle)
        self.elements = [lib.spy_element(handle, e).decode() for e in range(lib.spy_nelem(handle))]

    def close(self):
        if getattr(self, "_h", None):
            with self._lock:
                self._lib.spy_close(self._h)
                self._h = None

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __reduce__(self):
        """copies and pickles (multiprocessing, copy.deepcopy of a calculator) open the file again: a handle
        is never shared by two objects"""
        return (Potential, (self.path, self.skin))

    def __repr__(self):
        return f"Potential({self.path!r}, kind={self.kind!r}, elements={self.elements}, cutoff={self.cutoff:g})"

    def types(self, symbols):
        """Type indices (int32) of element symbols; the one element of an old meam/spline file takes any symbol."""
        names, of_atom = np.unique(np.asarray(symbols, dtype=str).reshape(-1), return_inverse=True)
        return self._types(names, of_atom)

    def _types(self, names, of_atom):
        """types of atoms whose symbols are names[of_atom]"""
        of_name = np.array([self._lib.spy_find_element(self._h, str(s).encode()) for s in names], dtype=np.int32)
        types = of_name[of_atom]
        if (types < 0).any():
            i = int(np.flatnonzero(types < 0)[0])
            raise SplinepotError(ERR_UNKNOWN_ELEMENT, f"atom {i + 1}: element {names[of_atom[i]]} is not in the "
                                                      f"potential ({self.path} has {' '.join(self.elements)})")
        return types

    def compute(self, positions, types, cell=None, pbc=False, energies=False, virials=False):
        """Energy (eV), virial (3x3, W = sum r (x) F, LAMMPS sign) and forces (n x 3, eV/A), with per-atom
        energies (n) and virials (n x 3 x 3) when asked, as a dict. cell: rows a, b, c (zero rows are
        fine along open directions); pbc: one flag or three."""
        pos = np.ascontiguousarray(positions, dtype=np.float64).reshape(-1, 3)
        n = len(pos)
        typ = np.ascontiguousarray(types, dtype=np.int32).reshape(-1)
        if len(typ) != n:
            raise SplinepotError(ERR_BAD_ARG, f"{len(typ)} types for {n} atoms")
        h = np.zeros((3, 3)) if cell is None else np.asarray(cell, dtype=np.float64).reshape(3, 3)
        h = np.ascontiguousarray(h)
        flags = np.ascontiguousarray(np.broadcast_to(np.asarray(pbc, dtype=bool), (3,)), dtype=np.int32)
        e = ctypes.c_double()
        w = np.zeros(9)
        f = np.zeros((n, 3))
        ea = np.zeros(n) if energies else None
        va = np.zeros((n, 3, 3)) if virials else None
        err = ctypes.create_string_buffer(_ERRLEN)
        with self._lock:
            if not self._h:
                raise SplinepotError(ERR_BAD_ARG, "the potential is closed")
            code = self._lib.spy_compute(self._h, n, pos.reshape(-1), typ, h.reshape(-1), flags, ctypes.byref(e), w,
                                         _out(f), _out(ea), _out(va), err, _ERRLEN)
        if code != 0:
            raise SplinepotError(code, err.value.decode(errors="replace"))
        res = {"energy": e.value, "virial": w.reshape(3, 3), "forces": f}
        if energies:
            res["energies"] = ea
        if virials:
            res["virials"] = va
        return res


try:
    from ase.calculators.calculator import Calculator, all_changes
    from ase.data import chemical_symbols
except ImportError:  # numpy only: Potential works, the calculator does not
    Calculator = object
    all_changes = ()


def _voigt(m):
    """xx yy zz yz xz xy of 3x3 matrices (the last two axes)."""
    return np.stack([m[..., 0, 0], m[..., 1, 1], m[..., 2, 2], m[..., 1, 2], m[..., 0, 2], m[..., 0, 1]], axis=-1)


class SplinePot(Calculator):
    """ASE calculator: energy, free_energy, forces, per-atom energies and, for fully periodic cells,
    stress and per-atom stresses (ASE's sign, per-atom ones summing to the stress).

        atoms.calc = SplinePot("TiO.meam.spline")          # a path, or a Potential
    """

    implemented_properties = ["energy", "free_energy", "energies", "forces", "stress", "stresses"]

    def __init__(self, potential, skin=1.0, **kwargs):
        if Calculator is object:
            raise ImportError("SplinePot needs ASE (pip install ase, or apt-get install python3-ase)")
        Calculator.__init__(self, **kwargs)
        self.potential = potential if isinstance(potential, Potential) else Potential(potential, skin=skin)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        Calculator.calculate(self, atoms, properties, system_changes)
        a = self.atoms
        periodic = bool(a.pbc.all())
        z, of_atom = np.unique(a.numbers, return_inverse=True)
        types = self.potential._types([chemical_symbols[k] for k in z], of_atom)
        res = self.potential.compute(a.get_positions(), types, a.cell.array, a.pbc, energies=True,
                                     virials=periodic and "stresses" in properties)
        self.results["energy"] = self.results["free_energy"] = res["energy"]
        self.results["forces"] = res["forces"]
        self.results["energies"] = res["energies"]
        if periodic:
            vol = a.get_volume()
            self.results["stress"] = -_voigt(res["virial"]) / vol
            if "stresses" in properties:
                self.results["stresses"] = -_voigt(res["virials"]) / vol
