/* Neighbour lists against brute-force enumeration over periodic images, on
   random triclinic cells with mixed periodicity, including 1- and 2-atom
   cells whose width is a third of the cutoff. */
#include "../splinepot.h"
#include "sp_test.h"
#ifdef _OPENMP
#include <omp.h>
#endif

static uint64_t rng_state = 12345;
static double urand(void) {
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng_state >> 11) * (1.0 / 9007199254740992.0);
}

typedef struct { int j; double r; } nb_t;
static int cmp_nb(const void *a, const void *b) {
    const nb_t *x = (const nb_t *)a, *y = (const nb_t *)b;
    if (x->j != y->j) return x->j - y->j;
    return (x->r > y->r) - (x->r < y->r);
}

/* brute force: every image T of every atom j with |x_j + T.h - x_i| < rc */
static int brute(const sp_cell_t *c, const double *pos, int n, double rc, int i, nb_t *out, int cap) {
    double w[3], vol = 1.0;
    int M[3], d, cnt = 0, tx, ty, tz, j;
    double h[9];
    sp_cell_check(c, &vol);
    memcpy(h, c->h, sizeof h);
    for (d = 0; d < 3; ++d) {
        double cr[3];
        const double *a = h + 3 * ((d + 1) % 3), *b = h + 3 * ((d + 2) % 3);
        cr[0] = a[1] * b[2] - a[2] * b[1]; cr[1] = a[2] * b[0] - a[0] * b[2]; cr[2] = a[0] * b[1] - a[1] * b[0];
        w[d] = vol / sqrt(cr[0] * cr[0] + cr[1] * cr[1] + cr[2] * cr[2]);
        M[d] = c->pbc[d] ? (int)ceil(rc / w[d]) + 3 : 0;
    }
    for (j = 0; j < n; ++j)
        for (tx = -M[0]; tx <= M[0]; ++tx)
            for (ty = -M[1]; ty <= M[1]; ++ty)
                for (tz = -M[2]; tz <= M[2]; ++tz) {
                    double dx[3], r2 = 0;
                    if (j == i && tx == 0 && ty == 0 && tz == 0) continue;
                    for (d = 0; d < 3; ++d) {
                        dx[d] = pos[3 * j + d] + tx * h[d] + ty * h[3 + d] + tz * h[6 + d] - pos[3 * i + d];
                        r2 += dx[d] * dx[d];
                    }
                    if (r2 < rc * rc && cnt < cap) { out[cnt].j = j; out[cnt].r = sqrt(r2); ++cnt; }
                }
    return cnt;
}

static void random_cell(sp_cell_t *c, int n, double *pos, double *rc) {
    int d, k;
    double L = 2.0 + 8.0 * urand();
    for (k = 0; k < 9; ++k) c->h[k] = 0.0;
    for (d = 0; d < 3; ++d) {
        c->h[4 * d] = L * (0.6 + 0.8 * urand());
        c->pbc[d] = urand() < 0.7;
    }
    c->h[3] = (urand() - 0.5) * L * 0.8;
    c->h[6] = (urand() - 0.5) * L * 0.8;
    c->h[7] = (urand() - 0.5) * L * 0.8;
    if (urand() < 0.3) { /* fully general orientation */
        c->h[1] = (urand() - 0.5) * L * 0.5;
        c->h[2] = (urand() - 0.5) * L * 0.5;
        c->h[5] = (urand() - 0.5) * L * 0.5;
    }
    for (k = 0; k < n; ++k)
        for (d = 0; d < 3; ++d) /* some atoms outside the cell */
            pos[3 * k + d] = (urand() * 1.6 - 0.3) * c->h[4 * d] + (urand() - 0.5);
    *rc = (n <= 2) ? 3.0 * L : 0.5 + urand() * 1.2 * L;
}

/* n atoms in a periodic triclinic cell (or a dense cluster in an open one):
   the lists of 1 and 3 threads are identical, order included, and those of
   a few atoms equal brute force. Large enough for the threaded build; the
   cluster (half the atoms in a dense core) outgrows the build's first guess
   of the list's length. */
static void big_cell(int n, int cluster) {
    enum { NCHECK = 2, CAP = 4000 };
    static nb_t bf[CAP], nl_nb[CAP];
    double *pos = (double *)malloc(3 * (size_t)n * sizeof(double)), rc = cluster ? 4.0 : 2.0;
    sp_nlist_t nl[2];
    sp_cell_t c;
    sp_diag_t diag;
    int i, d, k, run, bad = 0;
    memset(nl, 0, sizeof nl);
    memset(&c, 0, sizeof c);
    c.h[0] = 30.0; c.h[3] = 4.0; c.h[4] = 28.0; c.h[6] = -3.0; c.h[7] = 5.0; c.h[8] = 26.0;
    for (d = 0; d < 3; ++d) c.pbc[d] = !cluster;
    for (i = 0; i < 3 * n; ++i) pos[i] = !cluster ? 32.0 * urand() - 1.0 : i < 3 * n / 2 ? 5.25 + 1.5 * urand() : 12.0 * urand();
    for (run = 0; run < 2; ++run) {
#ifdef _OPENMP
        omp_set_num_threads(run == 0 ? 1 : 3);
#endif
        SP_CHECK(sp_nlist_build(&nl[run], &c, pos, n, rc, &diag) == SP_OK);
    }
    SP_CHECK(nl[0].n_entries == nl[1].n_entries);
    if (nl[0].n_entries == nl[1].n_entries) {
        SP_CHECK(memcmp(nl[0].first, nl[1].first, (n + 1) * sizeof(int)) == 0);
        SP_CHECK(memcmp(nl[0].j, nl[1].j, nl[0].n_entries * sizeof(int)) == 0);
        SP_CHECK(memcmp(nl[0].rev, nl[1].rev, nl[0].n_entries * sizeof(int)) == 0);
    }
    for (k = 0; k < NCHECK; ++k) {
        int nbf, cnt = 0, b;
        i = (int)(urand() * n);
        nbf = brute(&c, pos, n, rc, i, bf, CAP);
        for (b = nl[0].first[i]; b < nl[0].first[i + 1] && cnt < CAP; ++b) {
            int g = nl[0].j[b];
            double r2 = 0;
            for (d = 0; d < 3; ++d) r2 += (nl[0].xe[3 * g + d] - nl[0].xe[3 * i + d]) * (nl[0].xe[3 * g + d] - nl[0].xe[3 * i + d]);
            nl_nb[cnt].j = nl[0].owner[g];
            nl_nb[cnt++].r = sqrt(r2);
            if (nl[0].rev[nl[0].rev[b]] != b || nl[0].owner[nl[0].j[nl[0].rev[b]]] != i) ++bad;
        }
        if (cnt != nbf) { ++bad; continue; }
        qsort(bf, nbf, sizeof(nb_t), cmp_nb);
        qsort(nl_nb, cnt, sizeof(nb_t), cmp_nb);
        for (b = 0; b < cnt; ++b)
            if (bf[b].j != nl_nb[b].j || fabs(bf[b].r - nl_nb[b].r) > 1e-9 * (1 + rc)) ++bad;
    }
    SP_CHECK(bad == 0);
    sp_nlist_free(&nl[0]);
    sp_nlist_free(&nl[1]);
    free(pos);
}

int main(void) {
    enum { NMAX = 24, CAP = 200000 };
    static nb_t bf[CAP], nl_nb[CAP];
    double pos[3 * NMAX];
    sp_nlist_t nl;
    int trial, bad_count = 0, bad_dist = 0, bad_rev = 0;
    memset(&nl, 0, sizeof nl);
    for (trial = 0; trial < 1200; ++trial) {
        sp_cell_t c;
        double rc;
        int n = (trial % 5 == 0) ? 1 + (trial / 5) % 2 : 1 + (int)(urand() * NMAX), i;
        sp_diag_t diag;
        sp_result_t r;
        random_cell(&c, n, pos, &rc);
        r = sp_nlist_build(&nl, &c, pos, n, rc, &diag);
        if (r != SP_OK) {
            if (r == SP_ERR_OVERLAP) continue; /* random positions may coincide */
            printf("trial %d: %s: %s\n", trial, sp_result_str(r), diag.msg);
            SP_CHECK(r == SP_OK);
            continue;
        }
        for (i = 0; i < n; ++i) {
            int nbf = brute(&c, pos, n, rc, i, bf, CAP), cnt = 0, b, k;
            for (b = nl.first[i]; b < nl.first[i + 1]; ++b) {
                int g = nl.j[b], rb = nl.rev[b], d;
                double dx[3], dr[3], r2 = 0;
                for (d = 0; d < 3; ++d) {
                    dx[d] = nl.xe[3 * g + d] - nl.xe[3 * i + d];
                    r2 += dx[d] * dx[d];
                }
                if (cnt < CAP) { nl_nb[cnt].j = nl.owner[g]; nl_nb[cnt].r = sqrt(r2); ++cnt; }
                /* reverse entry: belongs to owner(g), points back at an image of i, opposite vector */
                if (nl.rev[rb] != b || rb < nl.first[nl.owner[g]] || rb >= nl.first[nl.owner[g] + 1] ||
                    nl.owner[nl.j[rb]] != i)
                    ++bad_rev;
                else {
                    int o = nl.owner[g];
                    for (d = 0; d < 3; ++d) dr[d] = nl.xe[3 * nl.j[rb] + d] - nl.xe[3 * o + d];
                    for (d = 0; d < 3; ++d)
                        if (fabs(dr[d] + dx[d]) > 1e-9 * (1 + rc)) ++bad_rev;
                }
            }
            if (cnt != nbf) { if (bad_count < 3) printf("trial %d n=%d i=%d pbc=%d%d%d rc=%g: list %d brute %d h=%g %g %g / %g %g %g / %g %g %g\n", trial, n, i, c.pbc[0], c.pbc[1], c.pbc[2], rc, cnt, nbf, c.h[0],c.h[1],c.h[2],c.h[3],c.h[4],c.h[5],c.h[6],c.h[7],c.h[8]); ++bad_count; continue; }
            qsort(bf, nbf, sizeof(nb_t), cmp_nb);
            qsort(nl_nb, cnt, sizeof(nb_t), cmp_nb);
            for (k = 0; k < cnt; ++k)
                if (bf[k].j != nl_nb[k].j || fabs(bf[k].r - nl_nb[k].r) > 1e-9 * (1 + rc)) ++bad_dist;
        }
    }
    big_cell(24000, 0);
    big_cell(600, 1);
    SP_CHECK(bad_count == 0);
    SP_CHECK(bad_dist == 0);
    SP_CHECK(bad_rev == 0);
    if (bad_count || bad_dist || bad_rev) printf("count %d dist %d rev %d\n", bad_count, bad_dist, bad_rev);
    sp_nlist_free(&nl);
    return sp_test_finish();
}
