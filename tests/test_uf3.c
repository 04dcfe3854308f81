/* >>pot (UF3): energies against an independent brute-force evaluation
   (O(N^2) over periodic images, de Boor basis), forces against finite
   differences, the virial against the strain derivative, 1 and 2 elements,
   thread-count determinism. */
#define SPLINEPOT_IMPLEMENTATION
#include "../splinepot.h"
#include "sp_test.h"
#include "test_util.h"
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

/* independent evaluation: the definition, summed over all images */
static double V2(const sp_uf3_pair_t *P, double r) {
    double b[4];
    int i0, k;
    double v = 0.0;
    if (r >= P->cut) return 0.0;
    i0 = sp_bspline_basis(P->t, P->nt, r, b, NULL, NULL);
    for (k = 0; k < 4 && i0 >= 0; ++k) v += P->c[i0 + k] * b[k];
    return v;
}
static double V3(const sp_uf3_trio_t *T, double rij, double rik, double rjk) {
    double bl[4], bm[4], bn[4], v = 0.0;
    int l0, m0, n0, a, b, c;
    if (rij < T->t[0][0] || rij > T->t[0][T->nt[0] - 1] || rik < T->t[1][0] || rik > T->t[1][T->nt[1] - 1] ||
        rjk < T->t[2][0] || rjk > T->t[2][T->nt[2] - 1])
        return 0.0;
    l0 = sp_bspline_basis(T->t[0], T->nt[0], rij, bl, NULL, NULL);
    m0 = sp_bspline_basis(T->t[1], T->nt[1], rik, bm, NULL, NULL);
    n0 = sp_bspline_basis(T->t[2], T->nt[2], rjk, bn, NULL, NULL);
    for (a = 0; a < 4; ++a)
        for (b = 0; b < 4; ++b)
            for (c = 0; c < 4; ++c) v += T->c[((size_t)(l0 + a) * T->M + m0 + b) * T->N + n0 + c] * bl[a] * bm[b] * bn[c];
    return v;
}
static double brute_energy(const sp_pot_t *pot, int n, const double *pos, const int *type, const double *h) {
    enum { M = 2, MAXNB = 4000 };
    double e = 0.0, nb[MAXNB][3];
    int nbt[MAXNB], i, j, tx, ty, tz, ne = pot->nelem, np = ne * (ne + 1) / 2;
    for (i = 0; i < n; ++i) {
        int cnt = 0, a, b;
        e += pot->uf3.e1[type[i]];
        for (j = 0; j < n; ++j)
            for (tx = -M; tx <= M; ++tx) for (ty = -M; ty <= M; ++ty) for (tz = -M; tz <= M; ++tz) {
                double d[3], r;
                int q;
                if (j == i && !tx && !ty && !tz) continue;
                for (q = 0; q < 3; ++q) d[q] = pos[3 * j + q] + tx * h[q] + ty * h[3 + q] + tz * h[6 + q] - pos[3 * i + q];
                r = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
                e += V2(pot->uf3.pair + sp_pot_pair_index(ne, type[i], type[j]), r);
                if (pot->uf3.has3 && r <= pot->uf3.cut3 && cnt < MAXNB) {
                    memcpy(nb[cnt], d, sizeof d);
                    nbt[cnt++] = type[j];
                }
            }
        for (a = 0; a < cnt; ++a)
            for (b = a + 1; b < cnt; ++b) {
                int J = a, K = b;
                double rj, rk, rjk;
                const sp_uf3_trio_t *T;
                if (nbt[K] < nbt[J]) { J = b; K = a; }
                T = pot->uf3.trio + type[i] * np + sp_pot_pair_index(ne, nbt[J], nbt[K]);
                rj = sqrt(nb[J][0] * nb[J][0] + nb[J][1] * nb[J][1] + nb[J][2] * nb[J][2]);
                rk = sqrt(nb[K][0] * nb[K][0] + nb[K][1] * nb[K][1] + nb[K][2] * nb[K][2]);
                rjk = sqrt((nb[K][0] - nb[J][0]) * (nb[K][0] - nb[J][0]) + (nb[K][1] - nb[J][1]) * (nb[K][1] - nb[J][1]) +
                           (nb[K][2] - nb[J][2]) * (nb[K][2] - nb[J][2]));
                e += V3(T, rj, rk, rjk);
            }
    }
    return e;
}

static void check(int nelem, int has3) {
    enum { N = 12 };
    int z[2] = {14, 32}, type[N], pbc[3] = {1, 1, 1}, i, k, a, b;
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
    eb = brute_energy(&pot, N, pos, type, h);
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
    SP_CHECK_NEAR(v1, V2(P, r0 + 0.05), 1e-13, 1e-13);
    v1 = sp__uf3_pair_eval(P, P->cut - 1e-12, &d1);
    SP_CHECK_NEAR(v1, 0.0, 0, 1e-12);
    sp_pot_free(&pot);
}

int main(void) {
    check(1, 0);
    check(1, 1);
    check(2, 0);
    check(2, 1);
    check_extrapolation();
    return sp_test_finish();
}
