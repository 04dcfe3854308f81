/* The UF3 energy by its definition, for tests/test_uf3.c and
   tests/test_uf3_fast.c: V2 and V3 from de Boor basis values
   (sp_bspline_basis, itself checked against the Cox-de Boor recursion in
   test_bspline.c), summed over every periodic image up to pbc[d] cells away,
   with no neighbour list. O(N^2 images). */
#ifndef SP_UF3_REF_H
#define SP_UF3_REF_H
#include <math.h>
#include <string.h>

static double uf3_ref_v2(const sp_uf3_pair_t *P, double r) {
    double b[4], v = 0.0;
    int i0, k;
    if (r >= P->cut) return 0.0;
    if (r < P->t[0]) { /* below the first knot: the first cubic piece continued (Lagrange through 4 points of it) */
        double x[4], y[4];
        int q, p2;
        for (q = 0; q < 4; ++q) {
            x[q] = P->t[3] + (P->t[4] - P->t[3]) * q / 3.0;
            y[q] = uf3_ref_v2(P, x[q]);
        }
        for (q = 0; q < 4; ++q) {
            double w = y[q];
            for (p2 = 0; p2 < 4; ++p2)
                if (p2 != q) w *= (r - x[p2]) / (x[q] - x[p2]);
            v += w;
        }
        return v;
    }
    i0 = sp_bspline_basis(P->t, P->nt, r, b, NULL, NULL);
    for (k = 0; k < 4 && i0 >= 0; ++k) v += P->c[i0 + k] * b[k];
    return v;
}
static double uf3_ref_v3(const sp_uf3_trio_t *T, double rij, double rik, double rjk) {
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
/* per-atom energies e[i] (e may be NULL) (the definition: e1 + sum_j V2 + sum_{j<k} V3), returns the total */
static double uf3_ref_energy(const sp_pot_t *pot, int n, const double *pos, const int *type, const double *h, const int *pbc,
                    double *e) {
    enum { MAXNB = 4000 };
    static double nb[MAXNB][3];
    static int nbt[MAXNB];
    int i, j, tx, ty, tz, ne = pot->nelem, np = ne * (ne + 1) / 2;
    double tot = 0.0;
    for (i = 0; i < n; ++i) {
        int cnt = 0, a, b;
        double ei = pot->uf3.e1[type[i]];
        for (j = 0; j < n; ++j)
            for (tx = -pbc[0]; tx <= pbc[0]; ++tx) for (ty = -pbc[1]; ty <= pbc[1]; ++ty) for (tz = -pbc[2]; tz <= pbc[2]; ++tz) {
                double d[3], r;
                int q;
                if (j == i && !tx && !ty && !tz) continue;
                for (q = 0; q < 3; ++q) d[q] = pos[3 * j + q] + tx * h[q] + ty * h[3 + q] + tz * h[6 + q] - pos[3 * i + q];
                r = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
                ei += uf3_ref_v2(pot->uf3.pair + sp_pot_pair_index(ne, type[i], type[j]), r);
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
                ei += uf3_ref_v3(T, rj, rk, rjk);
            }
        if (e) e[i] = ei;
        tot += ei;
    }
    return tot;
}
#endif
