/* >>pot (UF3, vectorised evaluation): the code paths of sp__uf3_center_fast
   (pot->uf3.fast) against independent references: energies and per-atom
   energies against a brute-force evaluation (O(N^2) over periodic images,
   de Boor basis), forces against finite differences, the virial against the
   strain derivative, and all of energy, forces, per-atom energies and
   per-atom virials against the generic path (pot->uf3.fast = 0, itself
   checked in test_uf3.c). Covered: one, two and three elements; pairs with
   different knots and cutoffs (per-lane pair parameters) and with more than
   32 knot intervals (no register table); trios with different n knots and
   swapped l/m neighbours; a 3-body cutoff as large as the pair cutoff (many
   triplets per centre: rows processed in chunks, l-contracted rows); lists
   with a skin (entries beyond every cutoff) and moved atoms; coordinates
   far from the origin (the margins of the 3-body force exchange); models
   the fast path does not take (non-uniform knots, trios with different l/m
   knots). Results are bitwise identical for 1, 2, 3 and 8 threads. */
#include "../splinepot.h"
#include "sp_test.h"
#include "test_util.h"
#include "uf3_ref.h"
#ifdef _OPENMP
#include <omp.h>
#endif

typedef struct spec_t {
    int nelem, has3;
    double r2lo[6], r2hi[6];  /* per pair */
    int n2[6];
    double r3lo, r3hi;        /* l and m knots, shared by every trio */
    int n3;
    double r3nhi[18];         /* last n knot per trio (first r3lo) */
    int n3n[18];
    int nonuniform2, differentlm;
} spec_t;

/* a random model with the knots of spec: V2 repulsive near its first knot,
   zero at the end; V3 random, trailing planes zero, symmetric in l, m for
   equal neighbour elements */
static void make_model(sp_pot_t *pot, const spec_t *sp) {
    int z[3] = {14, 32, 50}, nt2[6], nt3[3 * 18], np = sp->nelem * (sp->nelem + 1) / 2, k, a;
    sp_diag_t d;
    for (k = 0; k < np; ++k) nt2[k] = sp->n2[k] + 7;
    for (k = 0; k < sp->nelem * np; ++k) {
        nt3[3 * k] = nt3[3 * k + 1] = sp->n3 + 7;
        nt3[3 * k + 2] = sp->n3n[k] + 7;
    }
    memset(pot, 0, sizeof *pot);
    SP_CHECK(sp_uf3_create(pot, sp->nelem, z, sp->has3, nt2, nt3) == SP_OK);
    for (k = 0; k < sp->nelem; ++k) pot->uf3.e1[k] = -1.0 - k;
    for (k = 0; k < np; ++k) {
        sp_uf3_pair_t *P = pot->uf3.pair + k;
        sp_bspline_knots_uniform(sp->r2lo[k], sp->r2hi[k], sp->n2[k], P->t);
        if (sp->nonuniform2) /* move the interior knots: still increasing */
            for (a = 4; a < P->nt - 4; ++a) P->t[a] += 0.3 * (P->t[a] - P->t[a - 1]) * (tu_urand() - 0.5);
        for (a = 0; a < P->nt - 4; ++a)
            P->c[a] = (a < P->nt - 7) ? (2.0 * exp(-0.5 * a) - 0.3 + 0.1 * tu_urand()) : 0.0;
    }
    for (k = 0; sp->has3 && k < sp->nelem * np; ++k) {
        sp_uf3_trio_t *T = pot->uf3.trio + k;
        size_t n = (size_t)T->L * T->M * T->N, q;
        int l, m, nn, sym = 0;
        for (a = 0; a < sp->nelem; ++a) sym |= sp_pot_pair_index(sp->nelem, a, a) == k % np; /* equal neighbour elements */
        sp_bspline_knots_uniform(sp->r3lo, sp->r3hi, sp->n3, T->t[0]);
        sp_bspline_knots_uniform(sp->r3lo, sp->r3hi + (sp->differentlm && k == 1 ? 0.25 : 0.0), sp->n3, T->t[1]);
        sp_bspline_knots_uniform(sp->r3lo, sp->r3nhi[k], sp->n3n[k], T->t[2]);
        for (q = 0; q < n; ++q) T->c[q] = 0.2 * (2 * tu_urand() - 1);
        /* equal neighbour elements: symmetric in l, m, as uf3 writes them */
        for (l = 0; l < T->L; ++l)
            for (m = 0; m < T->M; ++m)
                for (nn = 0; nn < T->N; ++nn) {
                    double *cc = T->c + ((size_t)l * T->M + m) * T->N + nn;
                    if (l >= T->L - 3 || m >= T->M - 3 || nn >= T->N - 3) *cc = 0.0;
                    else if (sym && m < l) *cc = T->c[((size_t)m * T->M + l) * T->N + nn];
                }
    }
    SP_CHECK(sp_uf3_finish(pot, &d) == SP_OK);
}

typedef struct result_t {
    double e, vir[9], *f, *ea, *va;
} result_t;

/* energy, forces, per-atom energies and virials on a list built at pos0 with
   cutoff + skin and updated to pos */
static void compute(const sp_pot_t *pot, int n, const double *pos0, const double *pos, const int *type,
                    const sp_cell_t *cell, double skin, result_t *r) {
    sp_nlist_t nl;
    sp_work_t ws;
    sp_out_t o;
    sp_diag_t d;
    memset(&nl, 0, sizeof nl);
    memset(&ws, 0, sizeof ws);
    memset(&o, 0, sizeof o);
    SP_CHECK(sp_nlist_build(&nl, cell, pos0, n, pot->cutoff + skin, &d) == SP_OK);
    sp_nlist_update(&nl, pos);
    o.forces = r->f;
    o.energies = r->ea;
    o.virials = r->va;
    SP_CHECK(sp_pot_compute(pot, &nl, type, &ws, &o) == SP_OK);
    r->e = o.energy;
    memcpy(r->vir, o.virial, sizeof r->vir);
    sp_work_free(&ws);
    sp_nlist_free(&nl);
}

static void alloc_result(result_t *r, int n) {
    r->f = (double *)calloc(3 * (size_t)n, sizeof(double));
    r->ea = (double *)calloc((size_t)n, sizeof(double));
    r->va = (double *)calloc(9 * (size_t)n, sizeof(double));
}
static void free_result(result_t *r) { free(r->f); free(r->ea); free(r->va); }

/* bcc 3x3x3 (54 atoms, a = 3.16) with random displacements; types alternate */
static int make_config(double *pos, int *type, int nelem, double *h, double sigma, double zoff) {
    int n = 0, x, y, zz, b;
    const double a = 3.16;
    for (x = 0; x < 3; ++x) for (y = 0; y < 3; ++y) for (zz = 0; zz < 3; ++zz) for (b = 0; b < 2; ++b) {
        pos[3 * n] = (x + 0.5 * b) * a + sigma * (2 * tu_urand() - 1);
        pos[3 * n + 1] = (y + 0.5 * b) * a + sigma * (2 * tu_urand() - 1);
        pos[3 * n + 2] = (zz + 0.5 * b) * a + sigma * (2 * tu_urand() - 1) + zoff;
        type[n] = n % nelem;
        ++n;
    }
    memset(h, 0, 9 * sizeof(double));
    h[0] = h[4] = h[8] = 3 * a;
    return n;
}

static void run_case(const char *name, const spec_t *sp, int expect_fast, int pbcz, double zoff, int fd_all) {
    enum { NA = 54 };
    double pos0[3 * NA], pos[3 * NA], h[9], eb[NA], ebt, worst_f = 0.0, worst_w = 0.0, dmax[4] = {0, 0, 0, 0};
    int type[NA], n, i, k, a, b, pbc[3] = {1, 1, 1};
    sp_pot_t pot;
    sp_cell_t cell;
    result_t fast, gen;
    make_model(&pot, sp);
    SP_CHECK(pot.uf3.fast == expect_fast);
    pbc[2] = pbcz;
    n = make_config(pos0, type, sp->nelem, h, 0.12, zoff);
    memcpy(cell.h, h, sizeof cell.h);
    cell.pbc[0] = cell.pbc[1] = 1;
    cell.pbc[2] = pbcz;
    if (!pbcz) cell.h[8] = 0.0;
    for (i = 0; i < 3 * n; ++i) pos[i] = pos0[i] + 0.35 * (2 * tu_urand() - 1) / sqrt(3.0); /* within half the skin */
    alloc_result(&fast, n);
    alloc_result(&gen, n);
    compute(&pot, n, pos0, pos, type, &cell, 1.0, &fast);
    /* the generic path on the same list */
    {
        int f0 = pot.uf3.fast;
        pot.uf3.fast = 0;
        compute(&pot, n, pos0, pos, type, &cell, 1.0, &gen);
        pot.uf3.fast = f0;
    }
    /* energies against the definition */
    ebt = uf3_ref_energy(&pot, n, pos, type, h, pbc, eb);
    SP_CHECK_NEAR(fast.e, ebt, 1e-12, 1e-10);
    for (i = 0; i < n; ++i) SP_CHECK_NEAR(fast.ea[i], eb[i], 1e-11, 1e-11);
    /* against the generic path */
    SP_CHECK_NEAR(fast.e, gen.e, 1e-13, 1e-11);
    for (i = 0; i < n; ++i) {
        if (fabs(fast.ea[i] - gen.ea[i]) > dmax[0]) dmax[0] = fabs(fast.ea[i] - gen.ea[i]);
        for (k = 0; k < 3; ++k)
            if (fabs(fast.f[3 * i + k] - gen.f[3 * i + k]) > dmax[1]) dmax[1] = fabs(fast.f[3 * i + k] - gen.f[3 * i + k]);
        for (k = 0; k < 9; ++k)
            if (fabs(fast.va[9 * i + k] - gen.va[9 * i + k]) > dmax[2]) dmax[2] = fabs(fast.va[9 * i + k] - gen.va[9 * i + k]);
    }
    for (k = 0; k < 9; ++k)
        if (fabs(fast.vir[k] - gen.vir[k]) > dmax[3]) dmax[3] = fabs(fast.vir[k] - gen.vir[k]);
    SP_CHECK(dmax[0] < 1e-11 && dmax[1] < 1e-10 && dmax[2] < 1e-10 && dmax[3] < 1e-9);
    /* forces against finite differences (all coordinates, or every 7th; every
       29th with SP_TEST_QUICK, set for the valgrind run) */
    for (k = 0; k < 3 * n; k += getenv("SP_TEST_QUICK") ? 29 : fd_all ? 1 : 7) {
        double x = pos[k], ep, em;
        pos[k] = x + 1e-5;
        ep = uf3_ref_energy(&pot, n, pos, type, h, pbc, NULL);
        pos[k] = x - 1e-5;
        em = uf3_ref_energy(&pot, n, pos, type, h, pbc, NULL);
        pos[k] = x;
        if (fabs(-(ep - em) / 2e-5 - fast.f[k]) > worst_f) worst_f = fabs(-(ep - em) / 2e-5 - fast.f[k]);
    }
    SP_CHECK(worst_f < 1e-6);
    /* the virial against the strain derivative (periodic cells) */
    for (a = 0; a < 3 && pbcz; ++a)
        for (b = 0; b < 3; ++b) {
            double es[2], p2[3 * NA], h2[9], eps = 1e-6;
            int s;
            for (s = 0; s < 2; ++s) {
                double ee = s ? -eps : eps;
                memcpy(p2, pos, sizeof p2);
                memcpy(h2, h, sizeof h2);
                for (i = 0; i < n; ++i) p2[3 * i + b] += ee * pos[3 * i + a];
                for (i = 0; i < 3; ++i) h2[3 * i + b] += ee * h[3 * i + a];
                es[s] = uf3_ref_energy(&pot, n, p2, type, h2, pbc, NULL);
            }
            if (fabs(-(es[0] - es[1]) / (2 * eps) - fast.vir[3 * a + b]) > worst_w)
                worst_w = fabs(-(es[0] - es[1]) / (2 * eps) - fast.vir[3 * a + b]);
        }
    SP_CHECK(worst_w < 1e-5);
#ifdef _OPENMP
    { /* bitwise the same for any number of threads */
        static const int nth[4] = {1, 2, 3, 8};
        int t, same = 1;
        result_t r1;
        alloc_result(&r1, n);
        for (t = 0; t < 4; ++t) {
            omp_set_num_threads(nth[t]);
            compute(&pot, n, pos0, pos, type, &cell, 1.0, &r1);
            same = same && memcmp(&r1.e, &fast.e, sizeof r1.e) == 0 && memcmp(r1.vir, fast.vir, sizeof r1.vir) == 0 &&
                   memcmp(r1.f, fast.f, 3 * (size_t)n * sizeof(double)) == 0 &&
                   memcmp(r1.ea, fast.ea, (size_t)n * sizeof(double)) == 0 &&
                   memcmp(r1.va, fast.va, 9 * (size_t)n * sizeof(double)) == 0;
        }
        omp_set_num_threads(2);
        SP_CHECK(same);
        free_result(&r1);
    }
#endif
    printf("%-34s fast=%d E = %.10f (brute force %+.2g), vs generic: dE_i %.2g, dF %.2g, dW_i %.2g, dW %.2g; "
           "max |F + dE/dx| %.2g, |W + dE/de| %.2g\n",
           name, pot.uf3.fast, fast.e, fast.e - ebt, dmax[0], dmax[1], dmax[2], dmax[3], worst_f, worst_w);
    free_result(&fast);
    free_result(&gen);
    sp_pot_free(&pot);
}

int main(void) {
    spec_t s;
    int k;
    /* one element, UF2: 22 intervals (register table) */
    memset(&s, 0, sizeof s);
    s.nelem = 1; s.r2lo[0] = 1.5; s.r2hi[0] = 5.5; s.n2[0] = 22;
    run_case("UF2, 1 element", &s, 1, 1, 0.0, 1);
    /* more than 32 intervals: table gathers */
    s.n2[0] = 40;
    run_case("UF2, 1 element, 40 intervals", &s, 1, 1, 0.0, 0);
    /* UF2,3, one element, 3-body cutoff 4.25 */
    s.n2[0] = 22; s.has3 = 1; s.r3lo = 1.5; s.r3hi = 4.25; s.n3 = 8; s.r3nhi[0] = 8.5; s.n3n[0] = 16;
    run_case("UF2,3, 1 element", &s, 1, 1, 0.0, 1);
    /* 3-body cutoff = pair cutoff: ~40 bonds, ~800 triplets per centre (chunks of rows) */
    s.r3hi = 5.5; s.n3 = 10; s.r3nhi[0] = 11.0; s.n3n[0] = 20;
    run_case("UF2,3, 1 element, 3-body to 5.5", &s, 1, 1, 0.0, 0);
    /* 3-body knots from 2.6: bonds below it (their force slots zeroed) and triplets out of range */
    s.r3lo = 2.6; s.r3hi = 4.25; s.n3 = 8; s.r3nhi[0] = 8.5; s.n3n[0] = 16;
    run_case("UF2,3, 1 element, 3-body from 2.6", &s, 1, 1, 0.0, 0);
    s.r3lo = 1.5;
    /* a slab 1e4 A from the origin (non-periodic z): the margins of the force exchange */
    s.r3hi = 4.25; s.n3 = 8; s.r3nhi[0] = 8.5; s.n3n[0] = 16;
    run_case("UF2,3, 1 element, slab at z = 1e4", &s, 1, 0, 1e4, 0);
    /* two elements: different pair knots and cutoffs, trios with different n knots */
    memset(&s, 0, sizeof s);
    s.nelem = 2; s.has3 = 1;
    s.r2lo[0] = 1.5; s.r2hi[0] = 5.5; s.n2[0] = 22;
    s.r2lo[1] = 1.2; s.r2hi[1] = 5.0; s.n2[1] = 18;
    s.r2lo[2] = 1.6; s.r2hi[2] = 4.8; s.n2[2] = 36;
    s.r3lo = 1.5; s.r3hi = 4.25; s.n3 = 8;
    for (k = 0; k < 6; ++k) { s.r3nhi[k] = 8.5 - 0.3 * k; s.n3n[k] = 16 - k; }
    run_case("UF2,3, 2 elements", &s, 1, 1, 0.0, 1);
    s.has3 = 0;
    run_case("UF2, 2 elements", &s, 1, 1, 0.0, 0);
    /* models the fast path does not take */
    s.has3 = 1; s.nonuniform2 = 1;
    run_case("UF2,3, 2 elements, non-uniform V2", &s, 0, 1, 0.0, 0);
    s.nonuniform2 = 0; s.differentlm = 1;
    run_case("UF2,3, 2 elements, trios' l/m knots differ", &s, 0, 1, 0.0, 0);
    /* three elements, 3-body cutoff = pair cutoff: each row's triplets by element of k, contracted or not */
    memset(&s, 0, sizeof s);
    s.nelem = 3; s.has3 = 1;
    for (k = 0; k < 6; ++k) { s.r2lo[k] = 1.5 - 0.05 * k; s.r2hi[k] = 5.5 - 0.1 * k; s.n2[k] = 20 + 2 * k; }
    s.r3lo = 1.5; s.r3hi = 5.5; s.n3 = 10;
    for (k = 0; k < 18; ++k) { s.r3nhi[k] = 11.0 - 0.1 * k; s.n3n[k] = 20 - k % 4; }
    run_case("UF2,3, 3 elements, 3-body to 5.5", &s, 1, 1, 0.0, 0);
    return sp_test_finish();
}
