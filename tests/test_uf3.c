/* >>pot (UF3): energies against an independent brute-force evaluation
   (O(N^2) over periodic images, de Boor basis), forces against finite
   differences, the virial against the strain derivative, 1 and 2 elements,
   thread-count determinism; fits (LJ and SW retrieval, stresses) and their
   K-fold cross-validation against refits of the folds. */
#define SPLINEPOT_IMPLEMENTATION
#include "../splinepot.h"
#include "sp_test.h"
#include "test_util.h"
#include "uf3_ref.h"
#include "../examples/sw_silicon.h"
#ifdef _OPENMP
#include <omp.h>
#endif

/* a random UF2,3 model: 2-body knots [1.5, 5.5] 12 intervals, 3-body [1.5, 4.0]^2 x [1.5, 8.0] */
static void random_model(sp_pot_t *pot, int nelem, const int *z, int has3) {
    int nt2[3], nt3[3 * 6], np = nelem * (nelem + 1) / 2, k, a;
    sp_diag_t d;
    for (k = 0; k < np; ++k) nt2[k] = 12 + 7;
    for (k = 0; k < nelem * np; ++k) { nt3[3 * k] = nt3[3 * k + 1] = 5 + 7; nt3[3 * k + 2] = 10 + 7; }
    memset(pot, 0, sizeof *pot);
    SP_CHECK(sp_uf3_create(pot, nelem, z, has3, nt2, nt3) == SP_OK);
    for (k = 0; k < nelem; ++k) pot->uf3.e1[k] = -1.0 - k;
    for (k = 0; k < np; ++k) {
        sp_uf3_pair_t *P = pot->uf3.pair + k;
        sp_bspline_knots_uniform(1.5, 5.5, 12, P->t);
        for (a = 0; a < P->nt - 4; ++a) /* repulsive near r0, attractive well, zero at the end */
            P->c[a] = (a < P->nt - 7) ? (2.0 * exp(-0.8 * a) - 0.3 + 0.1 * tu_urand()) : 0.0;
    }
    for (k = 0; has3 && k < nelem * np; ++k) {
        sp_uf3_trio_t *T = pot->uf3.trio + k;
        size_t n = (size_t)T->L * T->M * T->N, q;
        int l, m, nn;
        sp_bspline_knots_uniform(1.5, 4.0, 5, T->t[0]);
        sp_bspline_knots_uniform(1.5, 4.0, 5, T->t[1]);
        sp_bspline_knots_uniform(1.5, 8.0, 10, T->t[2]);
        for (q = 0; q < n; ++q) T->c[q] = 0.2 * (2 * tu_urand() - 1);
        /* trailing trim: zero the last 3 planes along l and m, symmetric in l, m */
        for (l = 0; l < T->L; ++l)
            for (m = 0; m < T->M; ++m)
                for (nn = 0; nn < T->N; ++nn) {
                    double *c = T->c + ((size_t)l * T->M + m) * T->N + nn;
                    if (l >= T->L - 3 || m >= T->M - 3 || nn >= T->N - 3) *c = 0.0;
                    else if (m < l) *c = T->c[((size_t)m * T->M + l) * T->N + nn];
                }
    }
    SP_CHECK(sp_uf3_finish(pot, &d) == SP_OK);
}

static void check(int nelem, int has3) {
    enum { N = 12 };
    int z[2] = {14, 32}, type[N], pbc[3] = {1, 1, 1}, images[3] = {2, 2, 2}, i, k, a, b;
    double pos[3 * N], h[9] = {6.5, 0, 0, 0.4, 6.2, 0, -0.3, 0.5, 6.8}, e, eb, f[3 * N], vir[9];
    double worst_f = 0, worst_w = 0;
    sp_pot_t pot;
    sp_diag_t d;
    random_model(&pot, nelem, z, has3);
    for (i = 0; i < N; ++i) {
        int ok, j;
        type[i] = i % nelem;
        do {
            ok = 1;
            for (k = 0; k < 3; ++k) pos[3 * i + k] = 6.5 * tu_urand();
            for (j = 0; j <= i; ++j) { /* minimum distance 1.9 A over all images */
                int tx, ty, tz;
                for (tx = -1; tx <= 1; ++tx) for (ty = -1; ty <= 1; ++ty) for (tz = -1; tz <= 1; ++tz) {
                    double dd = 0;
                    if (j == i && !tx && !ty && !tz) continue;
                    for (k = 0; k < 3; ++k) {
                        double dx = pos[3 * i + k] - pos[3 * j + k] - tx * h[k] - ty * h[3 + k] - tz * h[6 + k];
                        dd += dx * dx;
                    }
                    if (dd < 1.9 * 1.9) ok = 0;
                }
            }
        } while (!ok);
    }
    SP_CHECK(sp_pot_compute_once(&pot, N, pos, type, h, pbc, &e, f, NULL, vir, &d) == SP_OK);
    eb = uf3_ref_energy(&pot, N, pos, type, h, images, NULL);
    SP_CHECK_NEAR(e, eb, 1e-12, 1e-10);
    for (k = 0; k < 3 * N; ++k) {
        double x = pos[k], ep, em;
        pos[k] = x + 1e-5; sp_pot_compute_once(&pot, N, pos, type, h, pbc, &ep, NULL, NULL, NULL, &d);
        pos[k] = x - 1e-5; sp_pot_compute_once(&pot, N, pos, type, h, pbc, &em, NULL, NULL, NULL, &d);
        pos[k] = x;
        if (fabs(-(ep - em) / 2e-5 - f[k]) > worst_f) worst_f = fabs(-(ep - em) / 2e-5 - f[k]);
    }
    for (a = 0; a < 3; ++a)
        for (b = 0; b < 3; ++b) {
            double es[2], p2[3 * N], h2[9], eps = 1e-6;
            int s;
            for (s = 0; s < 2; ++s) {
                double ee = s ? -eps : eps;
                memcpy(p2, pos, sizeof p2);
                memcpy(h2, h, sizeof h2);
                for (i = 0; i < N; ++i) p2[3 * i + b] += ee * pos[3 * i + a];
                for (i = 0; i < 3; ++i) h2[3 * i + b] += ee * h[3 * i + a];
                sp_pot_compute_once(&pot, N, p2, type, h2, pbc, &es[s], NULL, NULL, NULL, &d);
            }
            if (fabs(-(es[0] - es[1]) / (2 * eps) - vir[3 * a + b]) > worst_w)
                worst_w = fabs(-(es[0] - es[1]) / (2 * eps) - vir[3 * a + b]);
        }
    printf("UF%s, %d element(s): E = %.12f (brute force %.12f), max |F + dE/dx| %.2g, max |W + dE/de| %.2g\n",
           has3 ? "2,3" : "2", nelem, e, eb, worst_f, worst_w);
    SP_CHECK(worst_f < 1e-7);
    SP_CHECK(worst_w < 1e-6);
    { /* Monte-Carlo moves in a cell narrower than two cutoffs, both evaluation paths */
        sp_cell_t c;
        int rb[2], fast = pot.uf3.fast;
        double wm[2];
        memcpy(c.h, h, sizeof c.h);
        memcpy(c.pbc, pbc, sizeof c.pbc);
        wm[0] = tu_check_moves(&pot, N, pos, type, &c, 80, 0.14, 0.5, &rb[0]);
        pot.uf3.fast = 0;
        wm[1] = tu_check_moves(&pot, N, pos, type, &c, 80, 0.14, 0.5, &rb[1]);
        {
            const double wc0 = tu_check_contributing(&pot, N, pos, type, &c);
            double wc1;
            pot.uf3.fast = fast;
            wc1 = tu_check_contributing(&pot, N, pos, type, &c);
            printf("  a third of the atoms not contributing: energy, forces (central differences), virial: %.2g "
                   "(vectorised path: %s), %.2g (generic)\n", wc1, fast ? "yes" : "no", wc0);
            SP_CHECK(wc0 < 1e-9 && wc1 < 1e-9);
        }
        printf("  Monte-Carlo moves: max |dE - (E1 - E0)| / (1 + |E0|) %.2g (vectorised path: %s), %.2g (generic); "
               "%d, %d rebuilds\n", wm[0], fast ? "yes" : "no", wm[1], rb[0], rb[1]);
        SP_CHECK(wm[0] < 1e-12 && wm[1] < 1e-12);
        SP_CHECK(rb[0] > 0 && rb[1] > 0);
        if (nelem > 1) { /* and swaps of the two elements */
            wm[0] = tu_check_swaps(&pot, N, pos, type, &c, 20, 0.5);
            pot.uf3.fast = 0;
            wm[1] = tu_check_swaps(&pot, N, pos, type, &c, 20, 0.5);
            pot.uf3.fast = fast;
            printf("  Monte-Carlo swaps and changes of element: max |dE - (E1 - E0)| / (1 + |E0|) %.2g, %.2g (generic)\n", wm[0], wm[1]);
            SP_CHECK(wm[0] < 1e-12 && wm[1] < 1e-12);
        }
    }
#ifdef _OPENMP
    {
        double f1[3 * N], e1;
        omp_set_num_threads(1);
        sp_pot_compute_once(&pot, N, pos, type, h, pbc, &e1, f1, NULL, NULL, &d);
        omp_set_num_threads(2);
        SP_CHECK(memcmp(&e1, &e, sizeof e) == 0 && memcmp(f1, f, sizeof f) == 0);
    }
#endif
    sp_pot_free(&pot);
}

/* below the first knot V2 continues the first cubic piece (value and slope continuous) */
static void check_extrapolation(void) {
    sp_pot_t pot;
    int z = 14;
    const sp_uf3_pair_t *P;
    double d1, d2, v1, v2, r0;
    random_model(&pot, 1, &z, 0);
    P = pot.uf3.pair;
    r0 = P->t[0];
    v1 = sp__uf3_pair_eval(P, r0 - 1e-9, &d1);
    v2 = sp__uf3_pair_eval(P, r0 + 1e-9, &d2);
    SP_CHECK_NEAR(v1, v2, 1e-7, 1e-7);
    SP_CHECK_NEAR(d1, d2, 1e-6, 1e-6);
    v1 = sp__uf3_pair_eval(P, r0 + 0.05, &d1);
    SP_CHECK_NEAR(v1, uf3_ref_v2(P, r0 + 0.05), 1e-13, 1e-13);
    v1 = sp__uf3_pair_eval(P, P->cut - 1e-12, &d1);
    SP_CHECK_NEAR(v1, 0.0, 0, 1e-12);
    sp_pot_free(&pot);
}

/* E = row . c, F = rows . c and W = virial rows . c for the flat vector of a
   random model (3-body included) against sp_pot_compute */
static void check_features(int nelem) {
    enum { N = 10 };
    int z[2] = {14, 32}, type[N], i, k, p = 0, *col;
    double pos[3 * N], e, f[3 * N];
    sp_pot_t pot;
    sp_nlist_t nl;
    sp_work_t ws;
    sp_out_t out;
    sp_cell_t cell = {{7.0, 0, 0, 0.3, 6.8, 0, -0.2, 0.4, 7.2}, {1, 1, 0}};
    sp_diag_t d;
    double *c, *row, *rows, *vrows, worst = 0.0, worst_w = 0.0, wmax = 0.0;
    size_t nf = 0;
    int np = nelem * (nelem + 1) / 2;
    random_model(&pot, nelem, z, 1);
    nf = (size_t)nelem;
    for (k = 0; k < np; ++k) nf += (size_t)pot.uf3.pair[k].nt - 4;
    for (k = 0; k < nelem * np; ++k) nf += (size_t)pot.uf3.trio[k].L * pot.uf3.trio[k].M * pot.uf3.trio[k].N;
    col = (int *)malloc(nf * sizeof(int));
    c = (double *)malloc(nf * sizeof(double));
    row = (double *)calloc(nf, sizeof(double));
    rows = (double *)calloc(3 * N * nf, sizeof(double));
    vrows = (double *)calloc(9 * nf, sizeof(double));
    for (k = 0; k < (int)nf; ++k) col[k] = p++;
    /* the flat vector of the model */
    k = 0;
    for (i = 0; i < nelem; ++i) c[k++] = pot.uf3.e1[i];
    for (i = 0; i < np; ++i) { memcpy(c + k, pot.uf3.pair[i].c, (size_t)(pot.uf3.pair[i].nt - 4) * sizeof(double)); k += pot.uf3.pair[i].nt - 4; }
    for (i = 0; i < nelem * np; ++i) {
        size_t ng = (size_t)pot.uf3.trio[i].L * pot.uf3.trio[i].M * pot.uf3.trio[i].N;
        memcpy(c + k, pot.uf3.trio[i].c, ng * sizeof(double));
        k += (int)ng;
    }
    for (i = 0; i < N; ++i) {
        type[i] = i % nelem;
        for (k = 0; k < 3; ++k) pos[3 * i + k] = 7.0 * tu_urand();
    }
    pos[2] = 0.5; pos[5] = 1.2; /* open direction z: a slab */
    memset(&nl, 0, sizeof nl);
    memset(&ws, 0, sizeof ws);
    memset(&out, 0, sizeof out);
    out.forces = f;
    SP_CHECK(sp_nlist_build(&nl, &cell, pos, N, pot.cutoff, &d) == SP_OK);
    SP_CHECK(sp_pot_compute(&pot, &nl, type, &ws, &out) == SP_OK);
    e = out.energy;
    SP_CHECK(sp_uf3_features(&pot, &nl, type, col, row, rows, vrows, p) == SP_OK);
    {
        double ef = 0.0;
        for (k = 0; k < p; ++k) ef += row[k] * c[k];
        SP_CHECK_NEAR(ef, e, 1e-12, 1e-11);
        for (i = 0; i < 3 * N; ++i) {
            double fi = 0.0;
            for (k = 0; k < p; ++k) fi += rows[(size_t)i * p + k] * c[k];
            if (fabs(fi - f[i]) > worst) worst = fabs(fi - f[i]);
        }
        SP_CHECK(worst < 1e-10);
        for (i = 0; i < 9; ++i) {
            double wi = 0.0;
            for (k = 0; k < p; ++k) wi += vrows[(size_t)i * p + k] * c[k];
            if (fabs(wi - out.virial[i]) > worst_w) worst_w = fabs(wi - out.virial[i]);
            if (fabs(out.virial[i]) > wmax) wmax = fabs(out.virial[i]);
        }
        SP_CHECK(worst_w <= 1e-12 * wmax && wmax > 0.0);
        printf("features, %d element(s): row.c - E = %.2g eV, max |rows.c - F| = %.2g eV/A, max |virial rows.c - W| = "
               "%.2g eV (max |W| %.3g)\n", nelem, ef - e, worst, worst_w, wmax);
    }
    free(col); free(c); free(row); free(rows); free(vrows);
    sp_work_free(&ws);
    sp_nlist_free(&nl);
    sp_pot_free(&pot);
}

/* Lennard-Jones, eps = 0.0104 eV, sigma = 3.4 A, cut at 8.5 A: plainly (LAMMPS
   lj/cut, a step at the cutoff) or shifted-force (V and V' continuous at 8.5 A) */
static double lj(const sp_nlist_t *nl, double *f, int shifted_force) {
    const double s6c = pow(3.4 / 8.5, 6), vc = 4 * 0.0104 * (s6c * s6c - s6c);
    const double dvc = -4 * 0.0104 * (12 * s6c * s6c - 6 * s6c) / 8.5; /* V'(rc) */
    double e = 0.0;
    int i, b;
    for (i = 0; i < 3 * nl->natoms; ++i) f[i] = 0.0;
    for (i = 0; i < nl->natoms; ++i)
        for (b = nl->first[i]; b < nl->first[i + 1]; ++b) {
            const double *xi = nl->xe + 3 * i, *xj = nl->xe + 3 * nl->j[b];
            double d[3] = {xj[0] - xi[0], xj[1] - xi[1], xj[2] - xi[2]}, r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
            double s6 = pow(3.4 * 3.4 / r2, 3), fr;
            if (r2 >= 8.5 * 8.5) continue;
            e += 0.5 * 4 * 0.0104 * (s6 * s6 - s6);
            fr = 4 * 0.0104 * (12 * s6 * s6 - 6 * s6) / r2; /* -dV/dr / r */
            if (shifted_force) {
                double r = sqrt(r2);
                e -= 0.5 * (vc + (r - 8.5) * dvc);
                fr += dvc / r;
            }
            f[3 * i] -= fr * d[0]; f[3 * i + 1] -= fr * d[1]; f[3 * i + 2] -= fr * d[2];
        }
    return e;
}

/* Exact retrieval (UF3 paper): UF2 fitted to Lennard-Jones data recovers it.
   Shifted-force LJ (smooth at the cutoff): held-out RMSE <= 0.1 meV/atom.
   Plain lj/cut has a step at 8.5 A that no spline vanishing smoothly at its
   cutoff can follow; fitted to it, UF2 is checked on the LAMMPS frames. */
static void check_lj_retrieval(int shifted_force) {
    enum { NC = 120, NA = 32, NTEST = 30 };
    static double pos[NC][3 * NA], frc[NC][3 * NA];
    static int type[NA];
    sp_config_t cf[NC];
    sp_uf3_fit_desc_t d;
    sp_uf3_fit_info_t info;
    sp_pot_t pot;
    sp_diag_t dg;
    sp_nlist_t nl;
    sp_frame_t *fr;
    int k, i, nf;
    double se = 0.0, sf = 0.0;
    long nfc = 0;
    memset(&nl, 0, sizeof nl);
    memset(&d, 0, sizeof d);
    for (i = 0; i < NA; ++i) type[i] = 0;
    for (k = 0; k < NC; ++k) {
        /* fcc 2x2x2, a = 5.26 A scaled 0.90..1.12, displacements up to 0.45 A: distances 2.6..8.5 A */
        double a = 5.26 * (0.90 + 0.22 * tu_urand()), sig = 0.05 + 0.40 * tu_urand();
        int n = 0, x, y, zz, bsi;
        static const double bas[4][3] = {{0, 0, 0}, {.5, .5, 0}, {.5, 0, .5}, {0, .5, .5}};
        memset(&cf[k], 0, sizeof cf[k]);
        for (x = 0; x < 2; ++x) for (y = 0; y < 2; ++y) for (zz = 0; zz < 2; ++zz) for (bsi = 0; bsi < 4; ++bsi) {
            pos[k][3 * n] = (x + bas[bsi][0]) * a + sig * (2 * tu_urand() - 1);
            pos[k][3 * n + 1] = (y + bas[bsi][1]) * a + sig * (2 * tu_urand() - 1);
            pos[k][3 * n + 2] = (zz + bas[bsi][2]) * a + sig * (2 * tu_urand() - 1);
            ++n;
        }
        cf[k].natoms = NA;
        cf[k].pos = pos[k];
        cf[k].type = type;
        cf[k].cell.h[0] = cf[k].cell.h[4] = cf[k].cell.h[8] = 2 * a;
        cf[k].cell.pbc[0] = cf[k].cell.pbc[1] = cf[k].cell.pbc[2] = 1;
        SP_CHECK(sp_nlist_build(&nl, &cf[k].cell, pos[k], NA, 8.5, &dg) == SP_OK);
        cf[k].energy = lj(&nl, frc[k], shifted_force);
        cf[k].forces = frc[k];
    }
    d.nelem = 1; d.z[0] = 18;
    d.r2min = 2.5; d.r2max = 8.5; d.n2 = 60;
    d.lambda_curv = 1e-8;
    SP_CHECK(sp_uf3_fit(&d, cf, NC - NTEST, &pot, &info, &dg) == SP_OK);
    for (k = NC - NTEST; k < NC; ++k) {
        double e, f[3 * NA];
        int a;
        sp_pot_compute_once(&pot, NA, pos[k], type, cf[k].cell.h, cf[k].cell.pbc, &e, f, NULL, NULL, &dg);
        se += (e - cf[k].energy) / NA * (e - cf[k].energy) / NA;
        for (a = 0; a < 3 * NA; ++a, ++nfc) sf += (f[a] - frc[k][a]) * (f[a] - frc[k][a]);
    }
    {
        double re = 1000 * sqrt(se / NTEST), rf = sqrt(sf / nfc);
        printf("UF2 fitted to %s LJ (%d configs, %d coefficients): held-out RMSE %.4f meV/atom, %.2g eV/A\n",
               shifted_force ? "shifted-force" : "plainly truncated", NC - NTEST, info.n_params, re, rf);
        if (shifted_force) {
            SP_CHECK(re <= 0.1);
            SP_CHECK(rf <= 1e-3);
        }
    }
    if (!shifted_force) {
        se = sf = 0.0;
        nfc = 0;
        nf = tu_read_frames("tests/data/lmp_LJ_Ar.xyz", &fr);
        if (nf == 0) SP_SKIP("tests/data/lmp_LJ_Ar.xyz missing");
        for (k = 0; k < nf; ++k) {
            int *t = (int *)calloc((size_t)fr[k].natoms, sizeof(int)), a;
            double e, *f = (double *)malloc(3 * (size_t)fr[k].natoms * sizeof(double));
            SP_CHECK(sp_pot_compute_once(&pot, fr[k].natoms, fr[k].pos, t, fr[k].cell, fr[k].pbc, &e, f, NULL, NULL, &dg) == SP_OK);
            se += (e - fr[k].energy) / fr[k].natoms * (e - fr[k].energy) / fr[k].natoms;
            for (a = 0; a < 3 * fr[k].natoms; ++a, ++nfc) sf += (f[a] - fr[k].forces[a]) * (f[a] - fr[k].forces[a]);
            free(t); free(f);
        }
        if (nf) {
            double re = 1000 * sqrt(se / nf), rf = sqrt(sf / nfc);
            printf("  on %d LAMMPS lj/cut frames (slab, cluster, 2.8 A contacts): RMSE %.4f meV/atom, %.2g eV/A\n", nf, re, rf);
            SP_CHECK(re <= 1.0);
            SP_CHECK(rf <= 5e-3);
        }
        tu_free_frames(fr, nf);
    }
    sp_nlist_free(&nl);
    sp_pot_free(&pot);
}

/* The Stillinger-Weber teacher of the demo against LAMMPS pair_style sw */
static void check_sw_teacher(const char *path) {
    sp_frame_t *fr;
    int nf = tu_read_frames(path, &fr), k, a;
    double we = 0.0, wf = 0.0;
    sp_nlist_t nl;
    sp_diag_t dg;
    if (nf == 0) { SP_SKIP("LAMMPS Si.sw frames missing"); return; }
    memset(&nl, 0, sizeof nl);
    for (k = 0; k < nf; ++k) {
        double *f = (double *)malloc(3 * (size_t)fr[k].natoms * sizeof(double)), e;
        sp_cell_t c;
        memcpy(c.h, fr[k].cell, sizeof c.h);
        memcpy(c.pbc, fr[k].pbc, sizeof c.pbc);
        SP_CHECK(sp_nlist_build(&nl, &c, fr[k].pos, fr[k].natoms, SW_CUTOFF, &dg) == SP_OK);
        e = sw_compute(&nl, f);
        if (fabs(e - fr[k].energy) / fabs(fr[k].energy) > we) we = fabs(e - fr[k].energy) / fabs(fr[k].energy);
        for (a = 0; a < 3 * fr[k].natoms; ++a)
            if (fabs(f[a] - fr[k].forces[a]) > wf) wf = fabs(f[a] - fr[k].forces[a]);
        free(f);
    }
    printf("SW teacher vs LAMMPS (%s, %d frames): max rel dE %.2g, max |dF| %.2g eV/A\n", strrchr(path, '/') + 1, nf, we, wf);
    SP_CHECK(we < 1e-12);
    SP_CHECK(wf < 1e-9);
    tu_free_frames(fr, nf);
    sp_nlist_free(&nl);
}

/* sp_pot_move_energy's refusals: each a specific code, the list untouched */
static void check_move_errors(void) {
    enum { N = 8 };
    int z[1] = {14}, type[N], i, k;
    double pos[3 * N], x[3], de = 7.0;
    sp_cell_t c;
    sp_nlist_t nl;
    sp_work_t ws;
    sp_pot_t pot;
    sp_diag_t d;
    random_model(&pot, 1, z, 1);
    memset(&nl, 0, sizeof nl);
    memset(&ws, 0, sizeof ws);
    memset(&c, 0, sizeof c);
    c.h[0] = c.h[4] = c.h[8] = 5.0;
    c.pbc[0] = c.pbc[1] = c.pbc[2] = 1;
    for (i = 0; i < N; ++i) { /* a simple cubic 2 x 2 x 2 arrangement, 2.5 A apart */
        type[i] = 0;
        for (k = 0; k < 3; ++k) pos[3 * i + k] = 2.5 * ((i >> k) & 1);
    }
    x[0] = 0.1; x[1] = 0.0; x[2] = 0.0;
    SP_CHECK(sp_pot_move_energy(&pot, &nl, type, &ws, 0, x, NULL, &de) == SP_ERR_BAD_ARG); /* not built */
    SP_CHECK(sp_nlist_build(&nl, &c, pos, N, pot.cutoff - 0.1, &d) == SP_OK);
    SP_CHECK(sp_pot_move_energy(&pot, &nl, type, &ws, 0, x, NULL, &de) == SP_ERR_RANGE); /* list too short */
    SP_CHECK(sp_nlist_build(&nl, &c, pos, N, pot.cutoff + 0.4, &d) == SP_OK);
    SP_CHECK(sp_pot_move_energy(&pot, &nl, type, &ws, N, x, NULL, &de) == SP_ERR_BAD_ARG);
    SP_CHECK(sp_pot_move_energy(&pot, &nl, type, &ws, -1, x, NULL, &de) == SP_ERR_BAD_ARG);
    SP_CHECK(sp_pot_move_energy(&pot, &nl, NULL, &ws, 0, x, NULL, &de) == SP_ERR_BAD_ARG);
    x[1] = NAN;
    SP_CHECK(sp_pot_move_energy(&pot, &nl, type, &ws, 0, x, NULL, &de) == SP_ERR_NOT_FINITE);
    x[1] = 0.0;
    x[0] = 0.21; /* beyond half the skin (0.2) */
    SP_CHECK(sp_pot_move_energy(&pot, &nl, type, &ws, 0, x, NULL, &de) == SP_ERR_RANGE);
    x[0] = 0.19;
    type[3] = 1; /* a neighbour of atom 0 of an element the potential lacks */
    SP_CHECK(sp_pot_move_energy(&pot, &nl, type, &ws, 0, x, NULL, &de) == SP_ERR_UNKNOWN_ELEMENT);
    type[3] = 0;
    SP_CHECK(sp_pot_move_accept(&nl, &ws, 0, x, NULL) == SP_ERR_BAD_ARG); /* no trial yet */
    SP_CHECK(sp_pot_move_energy(&pot, &nl, type, &ws, 0, x, NULL, &de) == SP_OK);
    SP_CHECK(de == 7.0 ? 0 : de - de == 0.0);
    x[2] = 0.01;
    SP_CHECK(sp_pot_move_accept(&nl, &ws, 0, x, NULL) == SP_ERR_BAD_ARG); /* not the move costed */
    SP_CHECK(sp_pot_move_accept(&nl, &ws, 1, x, NULL) == SP_ERR_BAD_ARG);
    x[2] = 0.0;
    SP_CHECK(sp_pot_move_accept(&nl, &ws, 0, x, NULL) == SP_OK);
    SP_CHECK(nl.xe[0] == 0.19 + nl.shift[0]);
    SP_CHECK(sp_pot_move_accept(&nl, &ws, 0, x, NULL) == SP_ERR_BAD_ARG); /* once */
    SP_CHECK(sp_pot_swap_energy(&pot, &nl, type, &ws, 2, 2, NULL, &de) == SP_ERR_BAD_ARG);
    SP_CHECK(sp_pot_swap_energy(&pot, &nl, type, &ws, 2, N, NULL, &de) == SP_ERR_BAD_ARG);
    type[5] = 1;
    SP_CHECK(sp_pot_swap_energy(&pot, &nl, type, &ws, 2, 5, NULL, &de) == SP_ERR_UNKNOWN_ELEMENT);
    type[5] = 0;
    SP_CHECK(sp_pot_swap_energy(&pot, &nl, type, &ws, 2, 5, NULL, &de) == SP_OK && de == 0.0); /* same element */
    SP_CHECK(sp_pot_move_accept(&nl, &ws, 2, x, NULL) == SP_ERR_BAD_ARG); /* a swap, not a move */
    SP_CHECK(sp_pot_swap_accept(&ws, type, 2, 4, NULL) == SP_ERR_BAD_ARG);
    SP_CHECK(sp_pot_swap_accept(&ws, type, 5, 2, NULL) == SP_OK);
    SP_CHECK(sp_pot_retype_energy(&pot, &nl, type, &ws, 2, 1, NULL, &de) == SP_ERR_UNKNOWN_ELEMENT);
    SP_CHECK(sp_pot_retype_energy(&pot, &nl, type, &ws, N, 0, NULL, &de) == SP_ERR_BAD_ARG);
    SP_CHECK(sp_pot_retype_energy(&pot, &nl, type, &ws, 2, 0, NULL, &de) == SP_OK && de == 0.0);
    SP_CHECK(sp_pot_swap_accept(&ws, type, 2, 0, NULL) == SP_ERR_BAD_ARG); /* a change of element, not a swap */
    SP_CHECK(sp_pot_retype_accept(&ws, type, 2, 1, NULL) == SP_ERR_BAD_ARG);
    SP_CHECK(sp_pot_retype_accept(&ws, type, 2, 0, NULL) == SP_OK);
    sp_work_free(&ws);
    sp_nlist_free(&nl);
    sp_pot_free(&pot);
}

/* The stress term of sp_uf3_fit: UF2 with 5 knot intervals fitted to a
   UF2 of 12 (not representable, so the fit has residuals) with stress
   weights 0, 1 and 100. The training stress RMSE cannot rise when its
   weight does (exact minimisers of L + w S); at 100 it must fall below half
   of that at 0. Bad stresses: a stress weight without stresses, a NaN
   stress, a negative weight. */
static void check_stress_fit(void) {
    enum { NC = 40, NA = 16 };
    static double pos[NC][3 * NA], frc[NC][3 * NA], str[NC][9];
    static int type[NA];
    static const double weight[3] = {0.0, 1.0, 100.0};
    int z[1] = {14}, k, i, run;
    double rms[3] = {0, 0, 0};
    sp_config_t cf[NC];
    sp_pot_t ref;
    sp_diag_t dg;
    random_model(&ref, 1, z, 0);
    for (k = 0; k < NC; ++k) {
        const double a = 2.4 * (0.95 + 0.1 * tu_urand()), h = 2 * a;
        double e, W[9], v = 1.0;
        memset(&cf[k], 0, sizeof cf[k]);
        for (i = 0; i < NA; ++i) { /* simple cubic 2x2x4 (16 atoms), strained along z, displaced */
            pos[k][3 * i] = (i % 2) * a + 0.15 * (2 * tu_urand() - 1);
            pos[k][3 * i + 1] = (i / 2 % 2) * a + 0.15 * (2 * tu_urand() - 1);
            pos[k][3 * i + 2] = (i / 4) * a * (1.0 + 0.05 * (k % 5 - 2)) + 0.15 * (2 * tu_urand() - 1);
        }
        cf[k].natoms = NA;
        cf[k].pos = pos[k];
        cf[k].type = type;
        cf[k].cell.h[0] = cf[k].cell.h[4] = h;
        cf[k].cell.h[8] = 2 * h * (1.0 + 0.05 * (k % 5 - 2));
        cf[k].cell.pbc[0] = cf[k].cell.pbc[1] = cf[k].cell.pbc[2] = 1;
        SP_CHECK(sp_pot_compute_once(&ref, NA, pos[k], type, cf[k].cell.h, cf[k].cell.pbc, &e, frc[k], NULL, W, &dg) ==
                 SP_OK);
        SP_CHECK(sp_cell_check(&cf[k].cell, &v) == SP_OK);
        for (i = 0; i < 9; ++i) str[k][i] = -W[i] / v;
        cf[k].energy = e;
        cf[k].forces = frc[k];
        cf[k].stress = str[k];
    }
    for (run = 0; run < 3; ++run) {
        sp_uf3_fit_desc_t d;
        sp_uf3_fit_info_t info;
        sp_pot_t pot;
        long n = 0;
        memset(&d, 0, sizeof d);
        d.nelem = 1; d.z[0] = 14;
        d.r2min = 1.5; d.r2max = 5.5; d.n2 = 5;
        d.stress_weight = weight[run];
        SP_CHECK(sp_uf3_fit(&d, cf, NC, &pot, &info, &dg) == SP_OK);
        SP_CHECK(info.n_stress_rows == (run ? 6 * NC : 0));
        for (k = 0; k < NC; ++k) {
            static const int voigt[6] = {0, 4, 8, 5, 2, 1};
            double e, W[9], v = 1.0;
            SP_CHECK(sp_pot_compute_once(&pot, NA, pos[k], type, cf[k].cell.h, cf[k].cell.pbc, &e, NULL, NULL, W, &dg) ==
                         SP_OK && sp_cell_check(&cf[k].cell, &v) == SP_OK);
            for (i = 0; i < 6; ++i, ++n) rms[run] += pow(160.21766208 * (-W[voigt[i]] / v - str[k][voigt[i]]), 2);
        }
        rms[run] = sqrt(rms[run] / n);
        sp_pot_free(&pot);
    }
    printf("UF2 (5 intervals) fitted to a UF2 of 12 (%d cells): training stress RMSE %.3f GPa, with stress weight 1 "
           "%.3f GPa, 100 %.3f GPa\n", NC, rms[0], rms[1], rms[2]);
    SP_CHECK(rms[1] <= rms[0] * (1 + 1e-9));
    SP_CHECK(rms[2] <= rms[1] * (1 + 1e-9));
    SP_CHECK(rms[2] < 0.5 * rms[0]);
    {
        sp_uf3_fit_desc_t d;
        sp_uf3_fit_info_t info;
        sp_pot_t pot;
        memset(&d, 0, sizeof d);
        d.nelem = 1; d.z[0] = 14;
        d.r2min = 1.5; d.r2max = 5.5; d.n2 = 12;
        d.stress_weight = 1.0;
        for (k = 0; k < NC; ++k) cf[k].stress = NULL;
        SP_CHECK(sp_uf3_fit(&d, cf, NC, &pot, &info, &dg) == SP_ERR_BAD_ARG && strstr(dg.msg, "stress"));
        str[3][4] = NAN;
        cf[3].stress = str[3];
        SP_CHECK(sp_uf3_fit(&d, cf, NC, &pot, &info, &dg) == SP_ERR_NOT_FINITE && strstr(dg.msg, "configuration 4"));
        d.stress_weight = -1.0;
        SP_CHECK(sp_uf3_fit(&d, cf, NC, &pot, &info, &dg) == SP_ERR_BAD_ARG);
    }
    sp_pot_free(&ref);
}

/* sp_uf3_cv against brute force: for each fold and curvature penalty,
   sp_uf3_fit of the other configurations, evaluated on the held-out ones
   with sp_pot_compute_once; two elements, UF2,3, forces, stresses with a
   stress weight, configuration weights. The held-out RMSEs must agree (the
   CV takes them from normal equations: cancellation, so 1e-6 relative). */
static void check_cv(void) {
    enum { NC = 15, NA = 12, FOLDS = 3, NL = 3 };
    static double pos[NC][3 * NA], frc[NC][3 * NA], str[NC][9];
    static int type[NA];
    static const double lam[NL] = {1e-8, 1e-4, 1e-1};
    const int nl = getenv("SP_TEST_QUICK") ? 1 : NL; /* valgrind, sanitizers, compiler matrix: one penalty */
    int z[2] = {14, 32}, k, i, f, l;
    double worst = 0.0;
    sp_config_t cf[NC], sub[NC];
    sp_pot_t ref;
    sp_diag_t dg;
    sp_uf3_fit_desc_t d;
    sp_uf3_cv_t cv;
    random_model(&ref, 2, z, 1);
    for (i = 0; i < NA; ++i) type[i] = i % 3 == 0;
    for (k = 0; k < NC; ++k) {
        const double a = 2.5 * (0.95 + 0.1 * tu_urand());
        double e, W[9], v = 1.0;
        memset(&cf[k], 0, sizeof cf[k]);
        for (i = 0; i < NA; ++i) { /* simple cubic 2x2x3, displaced */
            pos[k][3 * i] = (i % 2) * a + 0.2 * (2 * tu_urand() - 1);
            pos[k][3 * i + 1] = (i / 2 % 2) * a + 0.2 * (2 * tu_urand() - 1);
            pos[k][3 * i + 2] = (i / 4) * a + 0.2 * (2 * tu_urand() - 1);
        }
        cf[k].natoms = NA;
        cf[k].pos = pos[k];
        cf[k].type = type;
        cf[k].cell.h[0] = cf[k].cell.h[4] = 2 * a;
        cf[k].cell.h[8] = 3 * a;
        cf[k].cell.pbc[0] = cf[k].cell.pbc[1] = cf[k].cell.pbc[2] = 1;
        SP_CHECK(sp_pot_compute_once(&ref, NA, pos[k], type, cf[k].cell.h, cf[k].cell.pbc, &e, frc[k], NULL, W, &dg) ==
                 SP_OK && sp_cell_check(&cf[k].cell, &v) == SP_OK);
        for (i = 0; i < 9; ++i) str[k][i] = -W[i] / v;
        cf[k].energy = e + 0.01 * NA * (2 * tu_urand() - 1); /* noise: the penalty matters */
        cf[k].forces = frc[k];
        cf[k].stress = str[k];
        cf[k].weight = k % 4 == 1 ? 2.0 : 0.0;
    }
    memset(&d, 0, sizeof d);
    d.nelem = 2; d.z[0] = 14; d.z[1] = 32;
    d.r2min = 1.5; d.r2max = 5.0; d.n2 = 8;
    d.r3min = 1.5; d.r3max = 3.5; d.n3 = 3;
    d.stress_weight = 0.5;
    SP_CHECK(sp_uf3_cv(&d, cf, NC, FOLDS, nl, lam, &cv, &dg) == SP_OK);
    for (l = 0; l < nl; ++l) {
        double se = 0, sf = 0, ss = 0, we = 0, wf = 0, ws = 0, rm[3];
        for (f = 0; f < FOLDS; ++f) {
            sp_pot_t pot;
            sp_uf3_fit_info_t info;
            int n = 0;
            for (k = 0; k < NC; ++k)
                if (k % FOLDS != f) sub[n++] = cf[k];
            d.lambda_curv = lam[l];
            SP_CHECK(sp_uf3_fit(&d, sub, n, &pot, &info, &dg) == SP_OK);
            for (k = f; k < NC; k += FOLDS) {
                const double w2 = cf[k].weight > 0.0 ? cf[k].weight * cf[k].weight : 1.0;
                double e, F[3 * NA], W[9], v = 1.0;
                SP_CHECK(sp_pot_compute_once(&pot, NA, pos[k], type, cf[k].cell.h, cf[k].cell.pbc, &e, F, NULL, W, &dg) ==
                         SP_OK && sp_cell_check(&cf[k].cell, &v) == SP_OK);
                se += w2 * pow((e - cf[k].energy) / NA, 2);
                we += w2;
                for (i = 0; i < 3 * NA; ++i) sf += w2 * pow(F[i] - frc[k][i], 2), wf += w2;
                for (i = 0; i < 6; ++i) {
                    static const int voigt[6] = {0, 4, 8, 5, 2, 1};
                    ss += w2 * pow(-W[voigt[i]] / v - str[k][voigt[i]], 2);
                    ws += w2;
                }
            }
            sp_pot_free(&pot);
        }
        rm[0] = sqrt(se / we);
        rm[1] = sqrt(sf / wf);
        rm[2] = sqrt(ss / ws);
        worst = fmax(worst, fabs(cv.rmse_energy[l] - rm[0]) / rm[0]);
        worst = fmax(worst, fabs(cv.rmse_force[l] - rm[1]) / rm[1]);
        worst = fmax(worst, fabs(cv.rmse_stress[l] - rm[2]) / rm[2]);
        printf("  lambda_curv %g: held-out RMSE %.4f meV/atom, %.4f eV/A, %.4f GPa (refits: %.4f, %.4f, %.4f)\n", lam[l],
               1000 * cv.rmse_energy[l], cv.rmse_force[l], 160.21766208 * cv.rmse_stress[l], 1000 * rm[0], rm[1],
               160.21766208 * rm[2]);
    }
    printf("sp_uf3_cv (2 elements, UF2,3, stresses, weights; %d folds, %d penalties) against refits: %.2g relative; "
           "best penalty %g\n", FOLDS, nl, worst, cv.lambda_curv[cv.best]);
    SP_CHECK(worst <= 1e-6);
    for (l = 0; l < nl; ++l) SP_CHECK(cv.loss[cv.best] <= cv.loss[l]);
    SP_CHECK(sp_uf3_cv(&d, cf, NC, 1, NL, lam, &cv, &dg) == SP_ERR_BAD_ARG && strstr(dg.msg, "folds"));
    SP_CHECK(sp_uf3_cv(&d, cf, 2, 3, NL, lam, &cv, &dg) == SP_ERR_BAD_ARG);
    {
        const double bad[1] = {-1.0};
        SP_CHECK(sp_uf3_cv(&d, cf, NC, FOLDS, 1, bad, &cv, &dg) == SP_ERR_BAD_ARG && strstr(dg.msg, "penalty 1"));
    }
    sp_pot_free(&ref);
}

int main(void) {
    check(1, 0);
    check(1, 1);
    check(2, 0);
    check(2, 1);
    check_extrapolation();
    check_features(1);
    check_features(2);
    {
        char path[1024];
        snprintf(path, sizeof path, "%s/reference/Si.sw.xyz", tu_shared());
        check_sw_teacher(path);
        check_sw_teacher("tests/data/lmp_Si.sw.xyz");
    }
    check_lj_retrieval(1);
    check_lj_retrieval(0);
    check_stress_fit();
    check_cv();
    check_move_errors();
    return sp_test_finish();
}
