/* Shared helpers for the test programs: locating reference data, reading
   frames, a deterministic random generator. */
#ifndef SP_TEST_UTIL_H
#define SP_TEST_UTIL_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__)
#define TU_UNUSED __attribute__((unused))
#else
#define TU_UNUSED
#endif
static uint64_t tu_rng = 88172645463325252ULL;
TU_UNUSED static double tu_urand_s(uint64_t *s) { /* xorshift64* in [0,1) */
    *s ^= *s >> 12; *s ^= *s << 25; *s ^= *s >> 27;
    return (double)((*s * 2685821657736338717ULL) >> 11) * (1.0 / 9007199254740992.0);
}
TU_UNUSED static double tu_urand(void) { return tu_urand_s(&tu_rng); }

/* m^3 atoms on a jittered grid of spacing a in a sheared periodic cell (h: 9 doubles, rows the cell vectors) */
TU_UNUSED static void tu_jittered_cell(int m, double a, double *pos, double *h) {
    int x, y, z, n = 0;
    memset(h, 0, 9 * sizeof(double));
    h[0] = m * a; h[3] = 0.3 * a; h[4] = m * a; h[6] = -0.2 * a; h[7] = 0.25 * a; h[8] = m * a;
    for (x = 0; x < m; ++x)
        for (y = 0; y < m; ++y)
            for (z = 0; z < m; ++z, ++n) {
                double f[3];
                int d;
                f[0] = (x + 0.3 * (tu_urand() - 0.5)) / m;
                f[1] = (y + 0.3 * (tu_urand() - 0.5)) / m;
                f[2] = (z + 0.3 * (tu_urand() - 0.5)) / m;
                for (d = 0; d < 3; ++d) pos[3 * n + d] = f[0] * h[d] + f[1] * h[3 + d] + f[2] * h[6 + d];
            }
}

/* ../shared/reference (or $SPLINEPOT_SHARED/reference) and the LAMMPS potentials */
TU_UNUSED static const char *tu_shared(void) {
    const char *s = getenv("SPLINEPOT_SHARED");
    return s ? s : "../shared";
}
TU_UNUSED static const char *tu_potdir(void) {
    const char *s = getenv("SPLINEPOT_POTENTIALS");
    return s ? s : "/usr/share/lammps/potentials";
}

TU_UNUSED static int tu_exists(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

/* all frames of an extxyz file; returns the count (0 if missing) */
TU_UNUSED static int tu_read_frames(const char *path, sp_frame_t **out) {
    char *text;
    size_t len, pos = 0;
    int line = 0, n = 0, cap = 0;
    sp_diag_t d;
    memset(&d, 0, sizeof d);
    *out = NULL;
    if (sp_read_file(path, &text, &len, NULL, &d) != SP_OK) return 0;
    for (;;) {
        sp_frame_t f;
        sp_result_t r;
        memset(&f, 0, sizeof f);
        r = sp_xyz_read_frame(text, len, &pos, &line, &f, &d);
        if (r != SP_OK) {
            if (r != SP_ERR_RANGE) printf("%s:%d: %s\n", path, d.line, d.msg);
            break;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 8;
            *out = (sp_frame_t *)realloc(*out, (size_t)cap * sizeof(sp_frame_t));
        }
        (*out)[n++] = f;
    }
    free(text);
    return n;
}

TU_UNUSED static void tu_free_frames(sp_frame_t *f, int n) {
    int k;
    for (k = 0; k < n; ++k) sp_frame_free(&f[k]);
    free(f);
}

/* sp_out_t.contributing: a third of the atoms flagged 0, at random. The
   flagged energy against the sum of the flagged atoms' energies of an
   unflagged evaluation; every force component against central differences
   (h 1e-5 A) of that energy; without periodic directions the virial against
   sum_i x_i (x) F_i. Evaluated on the given cell (periodic or not) and on
   the same atoms as a cluster. Returns the largest error, relative to 1 +
   |E| (energy, virial) and to 1 + the largest force (forces, in units of
   1e-4, the differences' precision), so that 1e-9 passes. */
/* an allocator whose memory starts as 0xA5 bytes: what a computation reads before writing it shows */
TU_UNUSED static void *tu_poison_alloc(size_t bytes, void *user) {
    void *p = malloc(bytes);
    (void)user;
    if (p) memset(p, 0xA5, bytes);
    return p;
}

TU_UNUSED static void tu_poison_free(void *p, void *user) {
    (void)user;
    free(p);
}

TU_UNUSED static double tu_check_contributing(const sp_pot_t *pot, int n, const double *pos, const int *type,
                                              const sp_cell_t *cell0) {
    double *x = (double *)malloc(3 * (size_t)n * sizeof(double)), *ea = (double *)malloc((size_t)n * sizeof(double));
    double *f = (double *)malloc(3 * (size_t)n * sizeof(double)), worst = 0.0;
    int *c = (int *)malloc((size_t)n * sizeof(int)), k, a, run;
    uint64_t rng = 0x2545F4914F6CDD1DULL;
    sp_nlist_t nl;
    sp_work_t ws, ws_ref; /* apart: nothing the flagged evaluation needs may be left by the unflagged one */
    sp_diag_t d;
    memset(&nl, 0, sizeof nl);
    memset(&ws, 0, sizeof ws);
    memset(&ws_ref, 0, sizeof ws_ref);
    ws.allocator.alloc = tu_poison_alloc;
    ws.allocator.free = tu_poison_free;
    for (k = 0; k < n; ++k) c[k] = tu_urand_s(&rng) >= 1.0 / 3.0;
    for (run = 0; run < 2; ++run) {
        sp_cell_t cell = *cell0;
        sp_out_t o;
        double e_ref = 0.0, e0, fmax = 0.0, w[9];
        if (run == 1) cell.pbc[0] = cell.pbc[1] = cell.pbc[2] = 0;
        memcpy(x, pos, 3 * (size_t)n * sizeof(double));
        memset(&o, 0, sizeof o);
        o.energies = ea;
        if (sp_nlist_build(&nl, &cell, x, n, pot->cutoff, &d) != SP_OK || sp_pot_compute(pot, &nl, type, &ws_ref, &o) != SP_OK) {
            worst = 1e300;
            break;
        }
        for (k = 0; k < n; ++k) if (c[k]) e_ref += ea[k];
        memset(&o, 0, sizeof o);
        o.forces = f;
        o.contributing = c;
        if (sp_pot_compute(pot, &nl, type, &ws, &o) != SP_OK) { worst = 1e300; break; }
        e0 = o.energy;
        memcpy(w, o.virial, sizeof w);
        if (fabs(e0 - e_ref) / (1.0 + fabs(e_ref)) > worst) worst = fabs(e0 - e_ref) / (1.0 + fabs(e_ref));
        for (k = 0; k < 3 * n; ++k) if (fabs(f[k]) > fmax) fmax = fabs(f[k]);
        if (run == 1) { /* a cluster: W_ab = sum_i x_ia F_ib */
            for (a = 0; a < 9; ++a) {
                double s = 0.0, r;
                for (k = 0; k < n; ++k) s += x[3 * k + a / 3] * f[3 * k + a % 3];
                r = fabs(s - w[a]) / (1.0 + fabs(e_ref));
                if (r > worst) worst = r;
            }
        }
        memset(&o, 0, sizeof o);
        o.contributing = c;
        for (k = 0; k < 3 * n; ++k) {
            double ep, em, r;
            const double keep = x[k];
            x[k] = keep + 1e-5;
            sp_nlist_update(&nl, x);
            if (sp_nlist_stale(&nl, x, pot->cutoff)) sp_nlist_build(&nl, &cell, x, n, pot->cutoff, &d);
            sp_pot_compute(pot, &nl, type, &ws, &o);
            ep = o.energy;
            x[k] = keep - 1e-5;
            sp_nlist_update(&nl, x);
            if (sp_nlist_stale(&nl, x, pot->cutoff)) sp_nlist_build(&nl, &cell, x, n, pot->cutoff, &d);
            sp_pot_compute(pot, &nl, type, &ws, &o);
            em = o.energy;
            x[k] = keep;
            r = fabs(-(ep - em) / 2e-5 - f[k]) / (1.0 + fmax) * 1e-4;
            if (r > worst) worst = r;
        }
        sp_nlist_update(&nl, x);
    }
    sp_nlist_free(&nl);
    sp_work_free(&ws);
    sp_work_free(&ws_ref);
    free(x); free(ea); free(f); free(c);
    return worst;
}

/* Monte-Carlo moves (sp_pot_move_energy, sp_nlist_move): ntrials random
   displacements of up to step per axis, every second one accepted. Each
   energy change against two full evaluations of fresh lists
   (sp_pot_compute_once; the largest difference relative to 1 + |E| is
   returned), and bit for bit against the per-atom energies sp_pot_compute
   gives on the list before and after (so no centre whose energy changes is
   missed) and against the same call given those energies; the per-atom
   energies that sp_pot_move_accept keeps equal to sp_pot_compute's; the
   list's positions after a trial unchanged, after an accepted move those of
   sp_nlist_update. A trial refused for leaving half the skin
   (counted in *rebuilds) is asked again after a rebuild; step * sqrt(3)
   must stay below half the skin. The moves draw from their own random
   stream (the other tests' numbers stay as they were). */
TU_UNUSED static double tu_check_moves(const sp_pot_t *pot, int n, const double *pos, const int *type,
                                       const sp_cell_t *cell, int ntrials, double step, double skin, int *rebuilds) {
    double *x = (double *)malloc(3 * (size_t)n * sizeof(double)), *ea0 = (double *)malloc((size_t)n * sizeof(double));
    double *ea1 = (double *)malloc((size_t)n * sizeof(double)), *ec = (double *)malloc((size_t)n * sizeof(double));
    double *xe = NULL, e_old = 0.0, worst = 0.0;
    int k, bad_bits = 0, bad_xe = 0, bad_result = 0, built = 0;
    uint64_t rng = 0x9E3779B97F4A7C15ULL;
    sp_nlist_t nl;
    sp_work_t ws;
    sp_out_t out;
    sp_diag_t d;
    memset(&nl, 0, sizeof nl);
    memset(&ws, 0, sizeof ws);
    memset(&out, 0, sizeof out);
    memcpy(x, pos, 3 * (size_t)n * sizeof(double));
    *rebuilds = 0;
    if (sp_pot_compute_once(pot, n, x, type, cell->h, cell->pbc, &e_old, NULL, NULL, NULL, &d) != SP_OK) ++bad_result;
    for (k = 0; k < ntrials && !bad_result; ++k) {
        const int a = (int)(tu_urand_s(&rng) * n);
        double xn[3], de, dc, e_new, sum = 0.0, *xa = x + 3 * (size_t)a, keep[3];
        sp_result_t r = SP_ERR_RANGE;
        int q;
        for (q = 0; q < 3; ++q) xn[q] = xa[q] + step * (2.0 * tu_urand_s(&rng) - 1.0);
        if (built) {
            memcpy(xe, nl.xe, 3 * (size_t)nl.next * sizeof(double));
            r = sp_pot_move_energy(pot, &nl, type, &ws, a, xn, NULL, &de);
        }
        if (r == SP_ERR_RANGE) { /* the first trial, or outside half the skin */
            *rebuilds += built;
            built = 1;
            out.energies = ea0;
            if (sp_nlist_build(&nl, cell, x, n, pot->cutoff + skin, &d) != SP_OK ||
                sp_pot_compute(pot, &nl, type, &ws, &out) != SP_OK) { ++bad_result; break; }
            free(xe);
            xe = (double *)malloc(3 * (size_t)nl.next * sizeof(double));
            memcpy(xe, nl.xe, 3 * (size_t)nl.next * sizeof(double));
            memcpy(ec, ea0, (size_t)n * sizeof(double));
            r = sp_pot_move_energy(pot, &nl, type, &ws, a, xn, NULL, &de);
        }
        if (r != SP_OK || sp_pot_move_energy(pot, &nl, type, &ws, a, xn, ec, &dc) != SP_OK) { ++bad_result; break; }
        bad_bits += dc != de;
        bad_xe += memcmp(xe, nl.xe, 3 * (size_t)nl.next * sizeof(double)) != 0;
        memcpy(keep, xa, sizeof keep);
        memcpy(xa, xn, sizeof xn);
        if (sp_pot_compute_once(pot, n, x, type, cell->h, cell->pbc, &e_new, NULL, NULL, NULL, &d) != SP_OK) {
            ++bad_result;
            break;
        }
        if (fabs(de - (e_new - e_old)) / (1.0 + fabs(e_old)) > worst) worst = fabs(de - (e_new - e_old)) / (1.0 + fabs(e_old));
        if (k % 2 == 0) bad_result += sp_pot_move_accept(&nl, &ws, a, xn, ec) != SP_OK; /* accepted */
        else sp_nlist_move(&nl, a, xn);
        out.energies = ea1;
        if (sp_pot_compute(pot, &nl, type, &ws, &out) != SP_OK) { ++bad_result; break; }
        for (q = 0; q < n; ++q) sum += ea1[q] - ea0[q];
        bad_bits += sum != de;
        if (k % 2 == 0) {
            double *t = ea0;
            bad_bits += memcmp(ec, ea1, (size_t)n * sizeof(double)) != 0;
            ea0 = ea1;
            ea1 = t;
            e_old = e_new;
            memcpy(xe, nl.xe, 3 * (size_t)nl.next * sizeof(double));
            sp_nlist_update(&nl, x);
        } else {
            memcpy(xa, keep, sizeof keep);
            sp_nlist_move(&nl, a, xa);
        }
        bad_xe += memcmp(xe, nl.xe, 3 * (size_t)nl.next * sizeof(double)) != 0;
    }
    SP_CHECK(bad_result == 0);
    SP_CHECK(bad_bits == 0);
    SP_CHECK(bad_xe == 0);
    sp_work_free(&ws);
    sp_nlist_free(&nl);
    free(x);
    free(ea0);
    free(ea1);
    free(ec);
    free(xe);
    return worst;
}

/* Monte-Carlo swaps and changes of element (sp_pot_swap_energy,
   sp_pot_retype_energy and their _accept): ntrials trials, every third a
   change of one atom's element, the others swaps of two atoms of different
   elements, every second trial accepted, checked as the moves of
   tu_check_moves are (full evaluations, per-atom energies bit for bit, the
   same call given those energies); the types after a trial unchanged, after
   an accepted one changed. */
TU_UNUSED static double tu_check_swaps(const sp_pot_t *pot, int n, const double *pos, const int *type0,
                                       const sp_cell_t *cell, int ntrials, double skin) {
    int *type = (int *)malloc((size_t)n * sizeof(int)), *t1 = (int *)malloc((size_t)n * sizeof(int));
    double *ea0 = (double *)malloc((size_t)n * sizeof(double)), *ea1 = (double *)malloc((size_t)n * sizeof(double));
    double *ec = (double *)malloc((size_t)n * sizeof(double)), e_old = 0.0, worst = 0.0;
    int k, bad_bits = 0, bad_types = 0, bad_result = 0, done = 0;
    uint64_t rng = 0x2545F4914F6CDD1DULL;
    sp_nlist_t nl;
    sp_work_t ws;
    sp_out_t out;
    sp_diag_t d;
    memset(&nl, 0, sizeof nl);
    memset(&ws, 0, sizeof ws);
    memset(&out, 0, sizeof out);
    memcpy(type, type0, (size_t)n * sizeof(int));
    out.energies = ea0;
    if (sp_nlist_build(&nl, cell, pos, n, pot->cutoff + skin, &d) != SP_OK ||
        sp_pot_compute(pot, &nl, type, &ws, &out) != SP_OK)
        ++bad_result;
    e_old = out.energy;
    memcpy(ec, ea0, (size_t)n * sizeof(double));
    for (k = 0; k < 50 * ntrials && done < ntrials && !bad_result; ++k) {
        const int i = (int)(tu_urand_s(&rng) * n), j = (int)(tu_urand_s(&rng) * n), retype = done % 3 == 1;
        const int t = (type[i] + 1 + (int)(tu_urand_s(&rng) * (pot->nelem - 1))) % pot->nelem;
        double de, dc, e_new, sum = 0.0;
        int q;
        if (!retype && type[i] == type[j]) continue;
        memcpy(t1, type, (size_t)n * sizeof(int));
        if (retype ? sp_pot_retype_energy(pot, &nl, type, &ws, i, t, NULL, &de) != SP_OK ||
                         sp_pot_retype_energy(pot, &nl, type, &ws, i, t, ec, &dc) != SP_OK
                   : sp_pot_swap_energy(pot, &nl, type, &ws, i, j, NULL, &de) != SP_OK ||
                         sp_pot_swap_energy(pot, &nl, type, &ws, i, j, ec, &dc) != SP_OK) { ++bad_result; break; }
        bad_bits += dc != de;
        bad_types += memcmp(t1, type, (size_t)n * sizeof(int)) != 0;
        if (retype) t1[i] = t;
        else {
            t1[i] = type[j];
            t1[j] = type[i];
        }
        if (sp_pot_compute_once(pot, n, pos, t1, cell->h, cell->pbc, &e_new, NULL, NULL, NULL, &d) != SP_OK) {
            ++bad_result;
            break;
        }
        if (fabs(de - (e_new - e_old)) / (1.0 + fabs(e_old)) > worst) worst = fabs(de - (e_new - e_old)) / (1.0 + fabs(e_old));
        out.energies = ea1;
        if (sp_pot_compute(pot, &nl, t1, &ws, &out) != SP_OK) { ++bad_result; break; }
        for (q = 0; q < n; ++q) sum += ea1[q] - ea0[q];
        bad_bits += sum != de;
        if (done % 2 == 0) { /* accepted */
            double *e0 = ea0;
            bad_result += (retype ? sp_pot_retype_accept(&ws, type, i, t, ec)
                                  : sp_pot_swap_accept(&ws, type, j, i, ec)) != SP_OK;
            bad_types += memcmp(t1, type, (size_t)n * sizeof(int)) != 0;
            bad_bits += memcmp(ec, ea1, (size_t)n * sizeof(double)) != 0;
            ea0 = ea1;
            ea1 = e0;
            e_old = e_new;
        }
        ++done;
    }
    SP_CHECK(bad_result == 0 && done == ntrials);
    SP_CHECK(bad_bits == 0);
    SP_CHECK(bad_types == 0);
    sp_work_free(&ws);
    sp_nlist_free(&nl);
    free(type);
    free(t1);
    free(ea0);
    free(ea1);
    free(ec);
    return worst;
}
#endif
