/* >>cuda: the GPU layer (splinepot_cuda.cu) against the CPU code on random
   configurations and parameter sets: UF2, UF2,3 (1 and 2 elements), s-MEAM
   (1 and 3 elements, meam/sw/spline, the LAMMPS files when installed), on
   CPU-built and device-built neighbour lists (the device's pairs against
   sp_nlist_build's, as sets per atom), structure vectors of a CMA-ES
   population (1 and 3 elements), velocity-Verlet steps (with device list rebuilds). Energies
   within 1e-12 relative, forces within 1e-10 eV/A, and the same bits on a
   second evaluation. Without a device (or without CUDA) it prints
   "skipped: ..." and checks the error codes. */
#include "../splinepot.h"
#include "sp_test.h"
#include "test_util.h"

#define ETOL 1e-12
#define FTOL 1e-10

/* a random UF2,3 model (as tests/test_uf3.c); a trio whose two neighbours
   are of one element is symmetric in l and m (else its energy would depend
   on the order of the bonds in the list); vary: the trios' l and m knots
   differ between trios and, for two elements, between l and m (no basis
   shared between trios) */
static void random_uf3(sp_pot_t *pot, int nelem, const int *z, int has3, int vary) {
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
        for (a = 0; a < P->nt - 4; ++a)
            P->c[a] = (a < P->nt - 7) ? (2.0 * exp(-0.8 * a) - 0.3 + 0.1 * tu_urand()) : 0.0;
    }
    for (k = 0; has3 && k < nelem * np; ++k) {
        sp_uf3_trio_t *T = pot->uf3.trio + k;
        const double top = 4.0 - 0.15 * vary * k;
        size_t n = (size_t)T->L * T->M * T->N, q;
        int same = 0, l, m, c;
        for (a = 0; a < nelem; ++a) same |= sp_pot_pair_index(nelem, a, a) == k % np;
        sp_bspline_knots_uniform(1.5, top, 5, T->t[0]);
        sp_bspline_knots_uniform(same ? 1.5 : 1.5 + 0.1 * vary * k, same ? top : 4.0, 5, T->t[1]);
        sp_bspline_knots_uniform(1.5, 8.0, 10, T->t[2]);
        for (q = 0; q < n; ++q) T->c[q] = 0.2 * (2 * tu_urand() - 1);
        for (l = 0; same && l < T->L; ++l)
            for (m = l + 1; m < T->M; ++m)
                for (c = 0; c < T->N; ++c) T->c[((size_t)m * T->M + l) * T->N + c] = T->c[((size_t)l * T->M + m) * T->N + c];
    }
    SP_CHECK(sp_uf3_finish(pot, &d) == SP_OK);
}

/* a random meam/spline file text: ne elements, 6 knots, radial [1.5, 4.5];
   sw (ne = 1): a meam/sw/spline file (old format, phi F G rho U f g) */
static int random_meam(sp_pot_t *pot, int ne, int sw) {
    static const char *const names[3] = {"Si", "Ge", "C"};
    char buf[40000];
    size_t len = 0;
    int np = ne * (ne + 1) / 2, nspl = sw ? 7 : 2 * np + 3 * ne, s, k, e;
    sp_diag_t d;
    if (sw) {
        len += (size_t)snprintf(buf, sizeof buf, "# random meam/sw/spline\n");
    } else {
        len += (size_t)snprintf(buf, sizeof buf, "# random\nmeam/spline %d", ne);
        for (e = 0; e < ne; ++e) len += (size_t)snprintf(buf + len, sizeof buf - len, " %s", names[e]);
        len += (size_t)snprintf(buf + len, sizeof buf - len, "\n");
    }
    for (s = 0; s < nspl; ++s) { /* phi (np), rho (ne), U (ne), f (ne), g (np); sw: phi F G rho U f g */
        const int isU = sw ? s == 4 : (s >= np + ne && s < np + 2 * ne), isg = sw ? (s == 2 || s == 6) : s >= np + 3 * ne;
        const double lo = isU ? -2.0 : isg ? -1.0 : 1.5, hi = isU ? 2.0 : isg ? 1.0 : 4.5;
        len += (size_t)snprintf(buf + len, sizeof buf - len, sw ? "6\n%.17g 0\n1 0 1 0\n" : "spline3eq\n6\n%.17g 0\n",
                                0.6 * (2 * tu_urand() - 1));
        for (k = 0; k < 6; ++k) {
            double y = 0.6 * (2 * tu_urand() - 1);
            if (!isU && !isg && k == 5) y = 0.0;
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%.17g %.17g 0\n", lo + (hi - lo) * k / 5.0, y);
        }
    }
    memset(pot, 0, sizeof *pot);
    return sp_pot_read(pot, buf, len, sw ? "x.meam.sw.spline" : "x.meam.spline", &d) == SP_OK &&
           pot->kind == (sw ? SP_POT_MEAM_SW : SP_POT_MEAM);
}

static double maxabs_diff(const double *a, const double *b, size_t n) {
    double m = 0.0;
    size_t k;
    for (k = 0; k < n; ++k)
        if (!(fabs(a[k] - b[k]) <= m)) m = fabs(a[k] - b[k]); /* NaN propagates */
    return m;
}

/* GPU results og (forces, per-atom energies set) against the CPU's oc; then
   the same evaluation again must give the same bits */
static void compare_out(const char *what, int n, size_t pairs, const sp_out_t *oc, const sp_out_t *og,
                        sp_cuda_sys_t *g) {
    double *f2 = (double *)calloc(3 * (size_t)n, sizeof(double)), fmax;
    sp_out_t o2;
    int k;
    SP_CHECK_NEAR(og->energy, oc->energy, ETOL, 0.0);
    for (k = 0; k < 9; ++k) SP_CHECK_NEAR(og->virial[k], oc->virial[k], ETOL, 1e-10);
    fmax = maxabs_diff(og->forces, oc->forces, 3 * (size_t)n);
    SP_CHECK(fmax <= FTOL);
    SP_CHECK(maxabs_diff(og->energies, oc->energies, (size_t)n) <= 1e-12 * (1.0 + fabs(oc->energy) / n));
    memset(&o2, 0, sizeof o2);
    o2.forces = f2;
    SP_CHECK(sp_cuda_sys_compute(g, &o2) == SP_OK);
    SP_CHECK(memcmp(&o2.energy, &og->energy, sizeof(double)) == 0);
    SP_CHECK(memcmp(o2.virial, og->virial, sizeof o2.virial) == 0);
    SP_CHECK(memcmp(f2, og->forces, 3 * (size_t)n * sizeof(double)) == 0);
    printf("%s: %d atoms, %zu pairs: E cpu %.12f gpu %.12f (rel %.1e), max |dF| %.2e\n", what, n, pairs, oc->energy,
           og->energy, fabs(og->energy - oc->energy) / fabs(oc->energy), fmax);
    free(f2);
}

/* a random configuration of m^3 atoms (tu_jittered_cell) with types drawn from
   0..nelem-1, and room for the CPU's and the GPU's forces and energies */
typedef struct sys_case_t {
    int n, *type;
    double *pos, *fc, *fg, *ec, *eg;
    sp_cell_t cell;
} sys_case_t;

static void case_make(sys_case_t *c, const sp_pot_t *pot, int m, double a) {
    const size_t n = (size_t)m * m * m;
    int i;
    c->n = (int)n;
    c->pos = (double *)malloc(3 * n * sizeof(double));
    c->fc = (double *)malloc(3 * n * sizeof(double));
    c->fg = (double *)malloc(3 * n * sizeof(double));
    c->ec = (double *)malloc(n * sizeof(double));
    c->eg = (double *)malloc(n * sizeof(double));
    c->type = (int *)malloc(n * sizeof(int));
    tu_jittered_cell(m, a, c->pos, c->cell.h);
    c->cell.pbc[0] = c->cell.pbc[1] = c->cell.pbc[2] = 1;
    for (i = 0; i < c->n; ++i) c->type[i] = (int)(tu_urand() * pot->nelem) % pot->nelem;
}

static void case_free(sys_case_t *c) {
    free(c->pos); free(c->fc); free(c->fg); free(c->ec); free(c->eg); free(c->type);
}

/* sp_pot_compute on the list nl against sp_cuda_sys_compute on g's list (compare_out) */
static void case_compare(const char *what, sys_case_t *c, const sp_pot_t *pot, const sp_nlist_t *nl, sp_work_t *ws,
                         sp_cuda_sys_t *g) {
    sp_out_t oc, og;
    memset(&oc, 0, sizeof oc);
    memset(&og, 0, sizeof og);
    oc.forces = c->fc; oc.energies = c->ec;
    og.forces = c->fg; og.energies = c->eg;
    SP_CHECK(sp_pot_compute(pot, nl, c->type, ws, &oc) == SP_OK);
    SP_CHECK(sp_cuda_sys_compute(g, &og) == SP_OK);
    compare_out(what, c->n, nl->n_entries, &oc, &og, g);
}

/* CPU vs GPU on one potential: a random configuration of m^3 atoms, types
   drawn from 0..nelem-1, then moved positions on the same list */
static void check_pot(const char *what, const sp_pot_t *pot, int m, double a) {
    sys_case_t c;
    sp_nlist_t nl;
    sp_work_t ws;
    sp_diag_t d;
    sp_cuda_sys_t *g = NULL;
    int round, k;
    memset(&nl, 0, sizeof nl);
    memset(&ws, 0, sizeof ws);
    case_make(&c, pot, m, a);
    SP_CHECK(sp_nlist_build(&nl, &c.cell, c.pos, c.n, pot->cutoff + 0.5, &d) == SP_OK);
    sp_nlist_update(&nl, c.pos);
    SP_CHECK(sp_cuda_sys_create(&g, pot, c.n, c.type, &d) == SP_OK);
    if (!g) {
        printf("%s: %s\n", what, d.msg);
    } else {
        SP_CHECK(sp_cuda_sys_set_nlist(g, &nl, c.pos) == SP_OK);
        for (round = 0; round < 2; ++round) {
            if (round == 1) { /* move the atoms within the skin, keep the list */
                for (k = 0; k < 3 * c.n; ++k) c.pos[k] += 0.1 * (tu_urand() - 0.5);
                sp_nlist_update(&nl, c.pos);
                SP_CHECK(sp_cuda_sys_set_positions(g, c.pos) == SP_OK);
            }
            case_compare(what, &c, pot, &nl, &ws, g);
        }
        sp_cuda_sys_free(g);
    }
    sp_work_free(&ws);
    sp_nlist_free(&nl);
    case_free(&c);
}

/* structure vectors: a 27- and a 64-atom configuration of the layout's
   elements (random types), P random parameter sets */
static void check_sv(const char *what, sp_smeam_layout_t lay, int P) {
    enum { NC = 2 };
    const int ms[NC] = {3, 4}, ne = lay.nelem > 0 ? lay.nelem : 1;
    double pos[NC][3 * 64], ref[NC][3 * 64], *theta, *Ec, *Eg, *Fc, *Fg, *Sg, emax = 0.0, fmax = 0.0, smax = 0.0;
    int type[NC][64];
    const double *refp[NC];
    sp_smeam_sv_t sv[NC];
    sp_config_t cf[NC];
    sp_cuda_sv_t *g = NULL;
    sp_diag_t d;
    int npar = sp_smeam_layout_npar(&lay), c, k, p, off = 0, ntot = 0;
    size_t wb;
    void *work;
    for (c = 0; c < NC; ++c) {
        memset(&cf[c], 0, sizeof cf[c]);
        memset(&sv[c], 0, sizeof sv[c]);
        cf[c].natoms = ms[c] * ms[c] * ms[c];
        tu_jittered_cell(ms[c], 2.45, pos[c], cf[c].cell.h);
        cf[c].pos = pos[c];
        cf[c].cell.pbc[0] = cf[c].cell.pbc[1] = cf[c].cell.pbc[2] = 1;
        for (k = 0; k < cf[c].natoms; ++k) type[c][k] = (int)(tu_urand() * ne);
        cf[c].type = type[c];
        for (k = 0; k < 3 * cf[c].natoms; ++k) ref[c][k] = 2 * tu_urand() - 1;
        refp[c] = ref[c];
        SP_CHECK(sp_smeam_sv_build(&sv[c], &lay, &cf[c], &d) == SP_OK);
        ntot += cf[c].natoms;
    }
    theta = (double *)malloc((size_t)P * npar * sizeof(double));
    Ec = (double *)malloc((size_t)NC * P * sizeof(double));
    Eg = (double *)malloc((size_t)NC * P * sizeof(double));
    Sg = (double *)malloc((size_t)NC * P * sizeof(double));
    Fc = (double *)malloc(3 * (size_t)ntot * P * sizeof(double));
    Fg = (double *)malloc(3 * (size_t)ntot * P * sizeof(double));
    for (k = 0; k < P * npar; ++k) theta[k] = 0.6 * (2 * tu_urand() - 1);
    SP_CHECK(sp_cuda_sv_create(&g, &lay, sv, NC, refp, &d) == SP_OK);
    if (g) {
        SP_CHECK(sp_cuda_sv_eval(g, P, theta, Eg, Fg, Sg) == SP_OK);
        for (c = 0; c < NC; ++c) {
            const int n = cf[c].natoms;
            wb = sp_smeam_sv_workspace_size(&sv[c], &lay, 8);
            work = malloc(wb);
            SP_CHECK(sp_smeam_sv_eval(&sv[c], &lay, P, theta, Ec + (size_t)c * P, Fc + 3 * (size_t)off * P, 8, work,
                                      wb) == SP_OK);
            free(work);
            for (p = 0; p < P; ++p) {
                const double *fc = Fc + 3 * (size_t)off * P + 3 * (size_t)n * p;
                double ss = 0.0, de = fabs(Eg[c * P + p] - Ec[c * P + p]) / (fabs(Ec[c * P + p]) + 1e-300);
                for (k = 0; k < 3 * n; ++k) ss += (fc[k] - ref[c][k]) * (fc[k] - ref[c][k]);
                if (!(de <= emax)) emax = de;
                de = fabs(Sg[c * P + p] - ss) / ss;
                if (!(de <= smax)) smax = de;
            }
            off += n;
        }
        fmax = maxabs_diff(Fg, Fc, 3 * (size_t)ntot * P);
        SP_CHECK(emax <= ETOL);
        SP_CHECK(fmax <= FTOL);
        SP_CHECK(smax <= ETOL);
        printf("structure vectors, %s: %d configurations, %d sets: max rel dE %.2e, max |dF| %.2e, max rel dSSE %.2e\n",
               what, NC, P, emax, fmax, smax);
        SP_CHECK(sp_cuda_sv_eval(g, 3, theta, Eg, NULL, NULL) == SP_OK); /* smaller population, energies only */
        SP_CHECK_NEAR(Eg[P > 3 ? 1 : 0], Ec[P > 3 ? 1 : 0], ETOL, 0.0);
        theta[5] = NAN;
        SP_CHECK(sp_cuda_sv_eval(g, 1, theta, Eg, NULL, NULL) == SP_ERR_NOT_FINITE);
        sp_cuda_sv_free(g);
    }
    for (c = 0; c < NC; ++c) sp_smeam_sv_free(&sv[c]);
    free(theta); free(Ec); free(Eg); free(Sg); free(Fc); free(Fg);
}

/* one entry of a list: the local atom it points to and r_j - r_i */
typedef struct pair_t {
    int j;
    double v[3];
} pair_t;

static int cmp_pair(const void *pa, const void *pb) {
    const pair_t *a = (const pair_t *)pa, *b = (const pair_t *)pb;
    int k;
    if (a->j != b->j) return a->j < b->j ? -1 : 1;
    for (k = 0; k < 3; ++k)
        if (a->v[k] != b->v[k]) return a->v[k] < b->v[k] ? -1 : 1;
    return 0;
}

/* the list on the device against sp_nlist_build's (nl, updated), per atom as
   sets of (neighbour, r_j - r_i) */
static void check_list_sets(const char *what, const sp_nlist_t *nl, sp_cuda_sys_t *g) {
    const int n = nl->natoms;
    size_t ne = 0;
    int *first = (int *)malloc(((size_t)n + 1) * sizeof(int)), *nbr, i, same = 1;
    double *vec, dmax = 0.0;
    pair_t *A, *B;
    SP_CHECK(sp_cuda_sys_get_list(g, &ne, NULL, NULL, NULL) == SP_OK);
    SP_CHECK(ne == nl->n_entries);
    nbr = (int *)malloc((ne + 1) * sizeof(int));
    vec = (double *)malloc((3 * ne + 1) * sizeof(double));
    A = (pair_t *)malloc(((size_t)nl->n_entries + 1) * sizeof(pair_t));
    B = (pair_t *)malloc(((size_t)nl->n_entries + 1) * sizeof(pair_t));
    SP_CHECK(sp_cuda_sys_get_list(g, &ne, first, nbr, vec) == SP_OK);
    for (i = 0; same && ne == nl->n_entries && i < n; ++i) {
        const int m = nl->first[i + 1] - nl->first[i];
        int b, k;
        if (first[i + 1] - first[i] != m) {
            same = 0;
            break;
        }
        for (b = 0; b < m; ++b) {
            const int e = first[i] + b, c = nl->first[i] + b, gx = nl->j[c];
            A[b].j = nbr[e];
            B[b].j = nl->owner[gx];
            for (k = 0; k < 3; ++k) {
                A[b].v[k] = vec[3 * (size_t)e + k];
                B[b].v[k] = nl->xe[3 * (size_t)gx + k] - nl->xe[3 * (size_t)i + k];
            }
        }
        qsort(A, (size_t)m, sizeof *A, cmp_pair);
        qsort(B, (size_t)m, sizeof *B, cmp_pair);
        for (b = 0; b < m; ++b) {
            if (A[b].j != B[b].j) same = 0;
            for (k = 0; k < 3; ++k)
                if (!(fabs(A[b].v[k] - B[b].v[k]) <= dmax)) dmax = fabs(A[b].v[k] - B[b].v[k]);
        }
    }
    SP_CHECK(same && ne == nl->n_entries);
    SP_CHECK(dmax <= 1e-9);
    printf("%s: device list of %zu pairs, the CPU list's per atom: %s (max |d r_ij| %.1e)\n", what, ne,
           same ? "yes" : "NO", dmax);
    free(first); free(nbr); free(vec); free(A); free(B);
}

/* lists built on the device: a random configuration of m^3 atoms (sheared
   cell, random types), the pairs and the energies and forces against the
   CPU's; then positions moved, some by cell vectors (out of the cell), the
   list rebuilt from the device positions; a cell too small is refused */
static void check_devlist(const char *what, const sp_pot_t *pot, int m, double a) {
    const double rl = pot->cutoff + 0.5;
    sys_case_t c;
    sp_cell_t small;
    sp_nlist_t nl;
    sp_work_t ws;
    sp_diag_t d;
    sp_cuda_sys_t *g = NULL;
    int i, round, k, n;
    memset(&nl, 0, sizeof nl);
    memset(&ws, 0, sizeof ws);
    case_make(&c, pot, m, a);
    n = c.n;
    SP_CHECK(sp_cuda_sys_create(&g, pot, n, c.type, &d) == SP_OK);
    for (round = 0; g && round < 2; ++round) {
        if (round == 1) {
            for (k = 0; k < 3 * n; ++k) c.pos[k] += 0.3 * (tu_urand() - 0.5);
            for (i = 0; i < n; i += 7)
                for (k = 0; k < 3; ++k) c.pos[3 * i + k] += (i % 3 - 1) * c.cell.h[3 * (i % 3) + k];
            SP_CHECK(sp_cuda_sys_set_positions(g, c.pos) == SP_OK);
        }
        SP_CHECK(sp_nlist_build(&nl, &c.cell, c.pos, n, rl, &d) == SP_OK);
        sp_nlist_update(&nl, c.pos);
        SP_CHECK(sp_cuda_sys_build_nlist(g, &c.cell, round == 0 ? c.pos : NULL, rl) == SP_OK);
        check_list_sets(what, &nl, g);
        if (round == 0) { /* built again: the same entries in the same order */
            size_t n1 = 0, n2 = 0;
            int *f1 = (int *)calloc((size_t)n + 1, sizeof(int)), *f2 = (int *)calloc((size_t)n + 1, sizeof(int)), *j1, *j2;
            SP_CHECK(sp_cuda_sys_get_list(g, &n1, NULL, NULL, NULL) == SP_OK);
            j1 = (int *)calloc(n1 + 1, sizeof(int));
            SP_CHECK(sp_cuda_sys_get_list(g, &n1, f1, j1, NULL) == SP_OK);
            SP_CHECK(sp_cuda_sys_build_nlist(g, &c.cell, NULL, rl) == SP_OK);
            SP_CHECK(sp_cuda_sys_get_list(g, &n2, NULL, NULL, NULL) == SP_OK);
            SP_CHECK(n1 == n2);
            j2 = (int *)calloc(n2 + 1, sizeof(int));
            SP_CHECK(sp_cuda_sys_get_list(g, &n2, f2, j2, NULL) == SP_OK);
            SP_CHECK(n1 == n2 && memcmp(f1, f2, ((size_t)n + 1) * sizeof(int)) == 0 &&
                     memcmp(j1, j2, (n1 < n2 ? n1 : n2) * sizeof(int)) == 0);
            free(f1); free(f2); free(j1); free(j2);
        }
        case_compare(what, &c, pot, &nl, &ws, g);
    }
    if (g) {
        small = c.cell;
        for (k = 0; k < 9; ++k) small.h[k] *= 2.9 * rl / (m * a);
        SP_CHECK(sp_cuda_sys_build_nlist(g, &small, c.pos, rl) == SP_ERR_UNSUPPORTED);
        small.pbc[2] = 0;
        SP_CHECK(sp_cuda_sys_build_nlist(g, &small, c.pos, rl) == SP_ERR_UNSUPPORTED);
        SP_CHECK(sp_cuda_sys_build_nlist(g, &c.cell, c.pos, 0.5 * pot->cutoff) == SP_ERR_RANGE);
        sp_cuda_sys_free(g);
    }
    sp_work_free(&ws);
    sp_nlist_free(&nl);
    case_free(&c);
}

/* velocity Verlet: steps on the device against the CPU loop of `splinepot md`;
   with dev, m^3 atoms and the list rebuilt every step, on the device and by
   sp_nlist_build, else 4^3 atoms on one CPU list */
static void check_md(const sp_pot_t *pot, int m, int dev) {
    const int N = m * m * m, STEPS = dev ? 8 : 5;
    const double dt = 1e-3, mvv2e = 1.0364269e-4, rl = pot->cutoff + 1.0;
    double *x = (double *)malloc(3 * (size_t)N * sizeof(double)), *v = (double *)malloc(3 * (size_t)N * sizeof(double));
    double *F = (double *)malloc(3 * (size_t)N * sizeof(double)), *mass = (double *)malloc((size_t)N * sizeof(double));
    double *xg = (double *)calloc(3 * (size_t)N, sizeof(double)), *vg = (double *)calloc(3 * (size_t)N, sizeof(double));
    double e = 0.0, eg = 0.0, ke = 0.0, keg = 0.0;
    int *type = (int *)malloc((size_t)N * sizeof(int)), i, d, step;
    sp_cell_t cell;
    sp_nlist_t nl;
    sp_work_t ws;
    sp_out_t o;
    sp_diag_t dg;
    sp_cuda_sys_t *g = NULL;
    memset(&nl, 0, sizeof nl);
    memset(&ws, 0, sizeof ws);
    memset(&o, 0, sizeof o);
    tu_jittered_cell(m, 2.6, x, cell.h);
    cell.pbc[0] = cell.pbc[1] = cell.pbc[2] = 1;
    for (i = 0; i < N; ++i) {
        type[i] = 0;
        mass[i] = 28.085;
        for (d = 0; d < 3; ++d) v[3 * i + d] = 5.0 * (2 * tu_urand() - 1);
    }
    SP_CHECK(sp_nlist_build(&nl, &cell, x, N, rl, &dg) == SP_OK);
    sp_nlist_update(&nl, x);
    SP_CHECK(sp_cuda_sys_create(&g, pot, N, type, &dg) == SP_OK);
    if (g) {
        SP_CHECK((dev ? sp_cuda_sys_build_nlist(g, &cell, x, rl) : sp_cuda_sys_set_nlist(g, &nl, x)) == SP_OK);
        SP_CHECK(sp_cuda_md_init(g, v, mass, mvv2e) == SP_OK);
        SP_CHECK(sp_cuda_md_forces(g, &eg) == SP_OK);
        o.forces = F;
        SP_CHECK(sp_pot_compute(pot, &nl, type, &ws, &o) == SP_OK);
        for (step = 1; step <= STEPS; ++step) {
            double dmax2 = -1.0;
            for (i = 0; i < N; ++i) {
                double inv_m = 1.0 / (mass[i] * mvv2e);
                for (d = 0; d < 3; ++d) {
                    v[3 * i + d] += 0.5 * dt * F[3 * i + d] * inv_m;
                    x[3 * i + d] += dt * v[3 * i + d];
                }
            }
            if (dev) SP_CHECK(sp_nlist_build(&nl, &cell, x, N, rl, &dg) == SP_OK);
            sp_nlist_update(&nl, x);
            SP_CHECK(sp_pot_compute(pot, &nl, type, &ws, &o) == SP_OK);
            e = o.energy;
            ke = 0.0;
            for (i = 0; i < N; ++i) {
                double inv_m = 1.0 / (mass[i] * mvv2e);
                for (d = 0; d < 3; ++d) v[3 * i + d] += 0.5 * dt * F[3 * i + d] * inv_m;
                ke += 0.5 * mass[i] * (v[3 * i] * v[3 * i] + v[3 * i + 1] * v[3 * i + 1] + v[3 * i + 2] * v[3 * i + 2]);
            }
            ke *= mvv2e;
            SP_CHECK(sp_cuda_md_drift(g, dt, &dmax2) == SP_OK);
            SP_CHECK(dmax2 >= 0.0);
            if (dev) SP_CHECK(sp_cuda_sys_build_nlist(g, &cell, NULL, rl) == SP_OK);
            SP_CHECK(sp_cuda_md_forces(g, &eg) == SP_OK);
            SP_CHECK(sp_cuda_md_kick(g, dt, &keg) == SP_OK);
        }
        SP_CHECK(sp_cuda_md_get(g, xg, vg, NULL) == SP_OK);
        SP_CHECK_NEAR(eg, e, ETOL, 0.0);
        SP_CHECK_NEAR(keg, ke, ETOL, 0.0);
        SP_CHECK(maxabs_diff(xg, x, 3 * (size_t)N) <= 1e-12);
        SP_CHECK(maxabs_diff(vg, v, 3 * (size_t)N) <= 1e-9);
        printf("md: %d steps of %d atoms%s: E %.12f / %.12f, KE %.12f / %.12f\n", STEPS, N,
               dev ? ", lists rebuilt on the device" : "", e, eg, ke, keg);
        SP_CHECK(sp_cuda_md_langevin(g, 0.99, 0.025, 1, 1) == SP_OK);
        sp_cuda_sys_free(g);
    }
    sp_work_free(&ws);
    sp_nlist_free(&nl);
    free(x); free(v); free(F); free(mass); free(xg); free(vg); free(type);
}

static void check_file(const char *name, int m, double a) {
    char path[512];
    char *text;
    size_t len;
    sp_pot_t pot;
    sp_diag_t d;
    snprintf(path, sizeof path, "%s/%s", tu_potdir(), name);
    if (!tu_exists(path)) {
        printf("skipped: %s not found\n", path);
        return;
    }
    memset(&pot, 0, sizeof pot);
    SP_CHECK(sp_read_file(path, &text, &len, NULL, &d) == SP_OK);
    SP_CHECK(sp_pot_read(&pot, text, len, name, &d) == SP_OK);
    free(text);
    if (pot.kind != SP_POT_NONE) {
        check_pot(name, &pot, m, a);
        check_devlist(name, &pot, 8, 2.6);
    }
    sp_pot_free(&pot);
}

int main(void) {
    int count = 0;
    char name[256];
    sp_result_t r = sp_cuda_device_info(&count, name, sizeof name);
    sp_pot_t pot;
    sp_cuda_sys_t *g = (sp_cuda_sys_t *)&count;
    sp_diag_t d;
    int z1[1] = {14}, z2[2] = {14, 32}, type0 = 0;
    if (r == SP_ERR_NO_CUDA) { /* the header's fallbacks */
        SP_SKIP("built without CUDA");
        random_uf3(&pot, 1, z1, 0, 0);
        SP_CHECK(sp_cuda_sys_create(&g, &pot, 1, &type0, &d) == SP_ERR_NO_CUDA && g == NULL);
        SP_CHECK(sp_cuda_sys_build_nlist(NULL, NULL, NULL, 1.0) == SP_ERR_NO_CUDA);
        sp_pot_free(&pot);
        return sp_test_finish();
    }
    SP_CHECK(r == SP_OK);
    if (count < 1) {
        SP_SKIP("no CUDA device");
        random_uf3(&pot, 1, z1, 0, 0);
        SP_CHECK(sp_cuda_sys_create(&g, &pot, 1, &type0, &d) == SP_ERR_DEVICE && g == NULL);
        sp_pot_free(&pot);
        return sp_test_finish();
    }
    printf("device: %s (%d found)\n", name, count);
    random_uf3(&pot, 1, z1, 0, 0);
    check_pot("UF2, 1 element", &pot, 5, 2.6);
    check_devlist("UF2, 1 element", &pot, 9, 2.6);
    sp_pot_free(&pot);
    random_uf3(&pot, 1, z1, 1, 0);
    check_pot("UF2,3, 1 element", &pot, 5, 2.6);
    check_devlist("UF2,3, 1 element", &pot, 9, 2.6);
    check_md(&pot, 4, 0);
    check_md(&pot, 9, 1);
    sp_pot_free(&pot);
    random_uf3(&pot, 2, z2, 0, 0);
    check_pot("UF2, 2 elements", &pot, 5, 2.6);
    check_devlist("UF2, 2 elements", &pot, 9, 2.6);
    sp_pot_free(&pot);
    random_uf3(&pot, 2, z2, 1, 0);
    check_pot("UF2,3, 2 elements", &pot, 5, 2.6);
    check_devlist("UF2,3, 2 elements", &pot, 9, 2.6);
    sp_pot_free(&pot);
    random_uf3(&pot, 2, z2, 1, 1);
    SP_CHECK(!pot.uf3.same3);
    check_pot("UF2,3, 2 elements, trios' own knots", &pot, 5, 2.6);
    check_devlist("UF2,3, 2 elements, trios' own knots", &pot, 9, 2.6);
    sp_pot_free(&pot);
    SP_CHECK(random_meam(&pot, 1, 0));
    check_pot("s-MEAM, 1 element", &pot, 5, 2.6);
    check_devlist("s-MEAM, 1 element", &pot, 8, 2.6);
    check_md(&pot, 4, 0);
    check_md(&pot, 8, 1);
    sp_pot_free(&pot);
    SP_CHECK(random_meam(&pot, 3, 0));
    check_pot("s-MEAM, 3 elements", &pot, 5, 2.6);
    check_devlist("s-MEAM, 3 elements", &pot, 8, 2.6);
    sp_pot_free(&pot);
    SP_CHECK(random_meam(&pot, 1, 1));
    check_pot("meam/sw/spline", &pot, 5, 2.6);
    check_devlist("meam/sw/spline", &pot, 8, 2.6);
    sp_pot_free(&pot);
    check_file("Si_1.meam.spline", 6, 2.35);
    check_file("TiO.meam.spline", 5, 2.5);
    check_file("Ti.meam.sw.spline", 5, 2.6);
    {
        const sp_smeam_layout_t one = {7, 2.0, 4.0, 7, -1.5, 1.5, 0, 1, {{0, 0}}};
        const sp_smeam_layout_t three = {7, 2.0, 4.0, 5, -1.5, 1.5, 5, 3, {{-1.0, 1.0}, {0, 0}, {-0.5, 2.5}}};
        check_sv("1 element", one, 37);
        check_sv("1 element", one, 200);
        check_sv("3 elements", three, 70);
    }
    return sp_test_finish();
}
