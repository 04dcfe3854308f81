/* splinepot_py.c - the C side of tools/python/splinepot.py.

   `make python` compiles this file into build/libsplinepot_py.so, a shared
   library that Python loads with ctypes. It holds the whole implementation
   of splinepot.h and adds a handle (spy_t) that keeps a potential, its
   neighbour list and its workspace between calls, so that a Python loop of
   small moves (an ASE optimiser, ASE molecular dynamics) rebuilds the list
   only when an atom has moved half the skin, or the cell, periodicity or
   atom count has changed.

   Every function that can fail returns an sp_result_t (0: SP_OK) and writes
   a one-line message into err (errlen bytes): for a potential file,
   "FILE:LINE: what" as the command-line tool prints it. */
#define SPLINEPOT_IMPLEMENTATION
#include "../../splinepot.h"

#include <stdio.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define SPY_API __attribute__((visibility("default")))
#else
#define SPY_API
#endif

typedef struct spy_t {
    sp_pot_t pot;
    sp_nlist_t nl;
    sp_work_t ws;
    sp_cell_t cell;   /* the cell the list was built for */
    double skin;      /* list cutoff less the potential's */
    int built;        /* nl is a list of this cell, these periodic directions and nl.natoms atoms */
} spy_t;

SPY_API int spy_open(const char *path, double skin, spy_t **out, char *err, int errlen) {
    spy_t *h;
    sp_diag_t d;
    sp_result_t r;
    *out = NULL;
    if (!(skin >= 0.0) || skin > 1e3) {
        snprintf(err, (size_t)errlen, "skin must be between 0 and 1000 A, not %g", skin);
        return SP_ERR_BAD_ARG;
    }
    h = (spy_t *)calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, (size_t)errlen, "out of memory");
        return SP_ERR_NO_MEMORY;
    }
    memset(&d, 0, sizeof d);
    r = sp_pot_read_file(&h->pot, path, &d);
    if (r != SP_OK) {
        if (d.line > 0) snprintf(err, (size_t)errlen, "%s:%d: %s", path, d.line, d.msg);
        else snprintf(err, (size_t)errlen, "%s: %s", path, d.msg[0] ? d.msg : sp_result_str(r));
        free(h);
        return r;
    }
    h->skin = skin;
    h->nl.allocator = h->pot.allocator;
    h->ws.allocator = h->pot.allocator;
    *out = h;
    return SP_OK;
}

SPY_API void spy_close(spy_t *h) {
    if (!h) return;
    sp_nlist_free(&h->nl);
    sp_work_free(&h->ws);
    sp_pot_free(&h->pot);
    free(h);
}

/* 1 meam/spline, 2 meam/sw/spline, 3 UF3, 4 s-NNP (sp_pot_kind_t) */
SPY_API int spy_kind(const spy_t *h) { return (int)h->pot.kind; }
SPY_API int spy_nelem(const spy_t *h) { return h->pot.nelem; }
SPY_API double spy_cutoff(const spy_t *h) { return h->pot.cutoff; }

/* Symbol of element e ("" for the one element of an old meam/spline file). */
SPY_API const char *spy_element(const spy_t *h, int e) {
    return e >= 0 && e < h->pot.nelem ? h->pot.elem[e] : "";
}

/* Type of an element symbol, -1 if absent (sp_pot_find_element). */
SPY_API int spy_find_element(const spy_t *h, const char *symbol) { return sp_pot_find_element(&h->pot, symbol); }

/* Energy, virial (9, LAMMPS sign) and, where not NULL, forces (3 natoms),
   per-atom energies (natoms) and per-atom virials (9 natoms) of natoms
   atoms at pos with these types, in the cell (9, rows a b c) with these
   periodic directions (3 ints). */
SPY_API int spy_compute(spy_t *h, int natoms, const double *pos, const int *type, const double *cell, const int *pbc,
                        double *energy, double *virial, double *forces, double *energies, double *virials, char *err,
                        int errlen) {
    sp_out_t o;
    sp_diag_t d;
    sp_result_t r;
    int k, same = h->built && natoms == h->nl.natoms;
    for (k = 0; k < 9; ++k) same &= cell[k] == h->cell.h[k];
    for (k = 0; k < 3; ++k) same &= (pbc[k] != 0) == h->cell.pbc[k];
    memset(&d, 0, sizeof d);
    if (!same || sp_nlist_stale(&h->nl, pos, h->pot.cutoff)) {
        h->built = 0;
        for (k = 0; k < 9; ++k) h->cell.h[k] = cell[k];
        for (k = 0; k < 3; ++k) h->cell.pbc[k] = pbc[k] != 0;
        r = sp_nlist_build(&h->nl, &h->cell, pos, natoms, h->pot.cutoff + h->skin, &d);
        if (r != SP_OK) {
            snprintf(err, (size_t)errlen, "%s", d.msg[0] ? d.msg : sp_result_str(r));
            return r;
        }
        h->built = 1;
    } else {
        sp_nlist_update(&h->nl, pos);
    }
    memset(&o, 0, sizeof o);
    o.forces = forces;
    o.energies = energies;
    o.virials = virials;
    r = sp_pot_compute(&h->pot, &h->nl, type, &h->ws, &o);
    if (r != SP_OK) {
        snprintf(err, (size_t)errlen, "%s", sp_result_str(r));
        return r;
    }
    *energy = o.energy;
    memcpy(virial, o.virial, sizeof o.virial);
    return SP_OK;
}
