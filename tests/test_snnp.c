/* >>pot (s-NNP) and >>snnp: energies against an independent brute-force
   evaluation (all periodic images, sp_spline_eval on the model's splines, a
   network written out here), forces against finite differences of the
   energy, the virial against the strain derivative, parameter gradients of
   the energy and of a force loss against finite differences over EVERY
   parameter, for every combination of the Eq. 10 options, one and two
   elements; the filters and their energy derivatives (sp_snnp_filters)
   against the image sum and central differences, a dropped filter
   (sp_snnp_drop_filter) against Eq. 10 without it, and `splinepot filters`
   against them; thread-count determinism; the model file round trip and
   its reader's errors; a small training run. */
#define _POSIX_C_SOURCE 200809L
#include "../splinepot.h"
#include "sp_test.h"
#include "test_util.h"
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static double urand2(void) { return 2.0 * tu_urand() - 1.0; }

/* a small architecture; opts bit 0 skip, 1 nobias, 2 softplus, 3 short, 4 network, 5 no 2-body filters,
   6 no hidden layer (one linear layer), 7 no 3-body filters */
static sp_snnp_arch_t small_arch(int nelem, int opts) {
    sp_snnp_arch_t a;
    memset(&a, 0, sizeof a);
    a.nelem = nelem;
    a.z[0] = 42; a.z[1] = 8; a.z[2] = 74;
    a.n3 = 2;
    a.n2 = (opts & 32) ? 0 : 2;
    a.skip = opts & 1;
    a.nobias = (opts >> 1) & 1;
    a.softplus = (opts >> 2) & 1;
    a.short_range = (opts >> 3) & 1;
    a.network = (opts >> 4) & 1;
    a.nhidden = (opts & 64) ? 0 : 2;
    if (opts & 128) a.n3 = 0;
    a.width[0] = 4; a.width[1] = 3;
    a.celu_alpha = 0.7;
    a.r3lo = 2.3; a.r3hi = 3.9; a.k3 = 6;
    a.kg = 5;
    a.r2lo = 2.1; a.r2hi = 4.4; a.k2 = 7;
    a.rslo = 1.6; a.rshi = 2.6; a.ks = 4;
    return a;
}

/* the triclinic cell of the model checks */
static const double cell_h[9] = {5.6, 0, 0, 0.5, 5.3, 0, -0.4, 0.3, 5.9};

/* random parameters of moderate size; radial values pinned to 0 at the cutoff */
static void random_params(sp_pot_t *pot) {
    sp_snnp_t *m = &pot->snnp;
    double *th = (double *)malloc((size_t)m->nparams * sizeof(double));
    int k;
    for (k = 0; k < m->nparams; ++k) th[k] = 0.6 * urand2();
    for (k = m->off_net[0]; k < m->off_e0; ++k) th[k] = 0.9 * urand2();
    for (k = 0; k < m->nparams; ++k)
        if (sp_snnp_param_pinned(pot, k)) th[k] = 0.0;
    SP_CHECK(sp_snnp_set_params(pot, th) == SP_OK);
    free(th);
}

/* random positions in a triclinic cell, minimum image distance dmin */
static void random_cell(int n, double *pos, const double *h, double dmin) {
    int i, j, k;
    for (i = 0; i < n; ++i) {
        int ok;
        do {
            double s[3];
            ok = 1;
            for (k = 0; k < 3; ++k) s[k] = tu_urand();
            for (k = 0; k < 3; ++k) pos[3 * i + k] = s[0] * h[k] + s[1] * h[3 + k] + s[2] * h[6 + k];
            for (j = 0; j < i && ok; ++j) {
                int tx, ty, tz;
                for (tx = -1; tx <= 1; ++tx) for (ty = -1; ty <= 1; ++ty) for (tz = -1; tz <= 1; ++tz) {
                    double dd = 0;
                    for (k = 0; k < 3; ++k) {
                        double dx = pos[3 * i + k] - pos[3 * j + k] - tx * h[k] - ty * h[3 + k] - tz * h[6 + k];
                        dd += dx * dx;
                    }
                    if (dd < dmin * dmin) ok = 0;
                }
            }
        } while (!ok);
    }
}

/* ---- independent evaluation ---- */
static double celu_ref(double x, double al) { return x > 0 ? x : al * (exp(x / al) - 1.0); }
static double softplus_ref(double y) { return log(1.0 + exp(y)); }

static double net_ref(const sp_pot_t *pot, int t, const double *x) {
    const sp_snnp_t *m = &pot->snnp;
    double a[2][SP_SNNP_MAX_WIDTH];
    const double *p = m->theta + m->off_net[t];
    int l, o, i, din = m->nin, cur = 0;
    for (i = 0; i < din; ++i) a[0][i] = x[i];
    for (l = 0; l <= m->arch.nhidden; ++l) {
        int dout = l < m->arch.nhidden ? m->arch.width[l] : 1;
        const double *W = p, *b = p + dout * din;
        for (o = 0; o < dout; ++o) {
            double s = m->arch.nobias ? 0.0 : b[o];
            for (i = 0; i < din; ++i) s += W[o * din + i] * a[cur][i];
            a[1 - cur][o] = l < m->arch.nhidden ? celu_ref(s, m->arch.celu_alpha) : s;
        }
        p += dout * din + (m->arch.nobias ? 0 : dout);
        din = dout;
        cur = 1 - cur;
    }
    return m->arch.softplus ? softplus_ref(a[cur][0]) : a[cur][0];
}

/* radial spline of family fam (0 f, 2 rho, 3 short) for filter f, element e: zero at/after the cutoff */
static double rad(const sp_pot_t *pot, int fam, int f, int e, double r) {
    const sp_snnp_t *m = &pot->snnp;
    const sp_snnp_arch_t *a = &m->arch;
    int base = 0;
    if (fam >= 1) base += a->n3 * a->nelem;
    if (fam >= 2) base += a->n3 * m->npairs;
    if (fam >= 3) base += a->n2 * a->nelem;
    {
        const sp_spline_t *s = m->spl + base + f * a->nelem + e;
        if (r >= s->xmax) return 0.0;
        return sp_spline_eval(s, r, NULL);
    }
}

/* the filters x (n3 + n2) and the short-range sum *gs of atom i over all periodic images */
static void brute_filters(const sp_pot_t *pot, int n, const double *pos, const int *type, const double *h, int i,
                          double *x, double *gs) {
    enum { M = 2, MAXNB = 2000 };
    const sp_snnp_t *m = &pot->snnp;
    const sp_snnp_arch_t *a = &m->arch;
    double (*nb)[3] = (double (*)[3])malloc(MAXNB * sizeof *nb);
    int *nbt = (int *)malloc(MAXNB * sizeof(int)), j, tx, ty, tz, f, cnt = 0, p, q;
    *gs = 0.0;
    for (f = 0; f < a->n3 + a->n2; ++f) x[f] = 0.0;
    for (j = 0; j < n; ++j)
        for (tx = -M; tx <= M; ++tx) for (ty = -M; ty <= M; ++ty) for (tz = -M; tz <= M; ++tz) {
            double d[3], r;
            int k;
            if (j == i && !tx && !ty && !tz) continue;
            for (k = 0; k < 3; ++k) d[k] = pos[3 * j + k] + tx * h[k] + ty * h[3 + k] + tz * h[6 + k] - pos[3 * i + k];
            r = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
            for (f = 0; f < a->n2; ++f) x[a->n3 + f] += rad(pot, 2, f, type[j], r);
            if (a->short_range) *gs += rad(pot, 3, 0, type[j], r);
            if (a->n3 && r < a->r3hi && cnt < MAXNB) {
                memcpy(nb[cnt], d, sizeof d);
                nbt[cnt++] = type[j];
            }
        }
    for (p = 0; p < cnt; ++p)
        for (q = p + 1; q < cnt; ++q) {
            double rp = sqrt(nb[p][0] * nb[p][0] + nb[p][1] * nb[p][1] + nb[p][2] * nb[p][2]);
            double rq = sqrt(nb[q][0] * nb[q][0] + nb[q][1] * nb[q][1] + nb[q][2] * nb[q][2]);
            double c = (nb[p][0] * nb[q][0] + nb[p][1] * nb[q][1] + nb[p][2] * nb[q][2]) / (rp * rq);
            int pair = sp_pot_pair_index(a->nelem, nbt[p], nbt[q]);
            for (f = 0; f < a->n3; ++f) {
                const sp_spline_t *g = m->spl + a->n3 * a->nelem + f * m->npairs + pair;
                x[f] += rad(pot, 0, f, nbt[p], rp) * rad(pot, 0, f, nbt[q], rq) * sp_spline_eval(g, c, NULL);
            }
        }
    free(nb);
    free(nbt);
}

/* E_i of an atom of type t from its filters x and short-range sum gs (Eq. 10) */
static double atom_energy(const sp_pot_t *pot, int t, const double *x, double gs) {
    const sp_snnp_t *m = &pot->snnp;
    double ei = m->theta[m->off_e0 + t];
    int f;
    if (m->arch.skip)
        for (f = 0; f < m->nin; ++f) ei += x[f];
    if (m->arch.short_range) ei += gs;
    if (m->arch.network) ei += net_ref(pot, t, x);
    return ei;
}

static double brute_energy(const sp_pot_t *pot, int n, const double *pos, const int *type, const double *h) {
    double e = 0.0, x[2 * SP_SNNP_MAX_FILTERS], gs;
    int i;
    for (i = 0; i < n; ++i) {
        brute_filters(pot, n, pos, type, h, i, x, &gs);
        e += atom_energy(pot, type[i], x, gs);
    }
    return e;
}

static double energy_of(const sp_pot_t *pot, int n, const double *pos, const int *type, const double *h, const int *pbc,
                        double *f) {
    double e = 0.0;
    sp_diag_t d;
    sp_result_t r = sp_pot_compute_once(pot, n, pos, type, h, pbc, &e, f, NULL, NULL, &d);
    if (r != SP_OK) printf("compute failed: %s\n", d.msg);
    return e;
}

/* the virial W of sp_pot_compute, contracted with wadj (9) */
static double virial_dot(const sp_pot_t *pot, int n, const double *pos, const int *type, const double *h, const int *pbc,
                         const double *wadj) {
    double e = 0.0, w[9], s = 0.0;
    sp_diag_t d;
    int k;
    if (sp_pot_compute_once(pot, n, pos, type, h, pbc, &e, NULL, NULL, w, &d) != SP_OK) printf("compute failed: %s\n", d.msg);
    for (k = 0; k < 9; ++k) s += wadj[k] * w[k];
    return s;
}

static double worst_mc = 0, worst_contrib = 0, worst_e_brute = 0, worst_f = 0, worst_w = 0, worst_ge = 0, worst_gf = 0, worst_gw = 0, worst_x = 0,
              worst_dx = 0;
static int n_models = 0;

/* sp_snnp_filters: G_i against the image sum, E_i against the per-atom
   energies of sp_pot_compute (ea), dE/dG_i against central differences of
   Eq. 10 written out here (atom_energy) */
static void check_filters(const sp_pot_t *pot, const sp_nlist_t *nl, const int *type, sp_work_t *ws, int n,
                          const double *pos, const double *h, const double *ea) {
    const int nin = pot->snnp.nin;
    double *G = (double *)malloc((size_t)n * (nin + 1) * sizeof(double));
    double *dG = (double *)malloc((size_t)n * (nin + 1) * sizeof(double)), *E = (double *)malloc((size_t)n * sizeof(double));
    double x[2 * SP_SNNP_MAX_FILTERS], gs, ex = 0.0, edx = 0.0;
    int i, a;
    SP_CHECK(sp_snnp_filters(pot, nl, type, ws, G, dG, E) == SP_OK);
    for (i = 0; i < n; ++i) {
        brute_filters(pot, n, pos, type, h, i, x, &gs);
        SP_CHECK_NEAR(E[i], ea[i], 1e-12, 1e-12);
        for (a = 0; a < nin; ++a) {
            const double hh = 1e-6 * (1.0 + fabs(x[a])), x0 = x[a];
            double ep, em, dd;
            if (fabs(G[(size_t)i * nin + a] - x0) / (1.0 + fabs(x0)) > ex) ex = fabs(G[(size_t)i * nin + a] - x0) / (1.0 + fabs(x0));
            x[a] = x0 + hh; ep = atom_energy(pot, type[i], x, gs);
            x[a] = x0 - hh; em = atom_energy(pot, type[i], x, gs);
            x[a] = x0;
            dd = (ep - em) / (2.0 * hh);
            if (fabs(dG[(size_t)i * nin + a] - dd) / (1.0 + fabs(dd)) > edx) edx = fabs(dG[(size_t)i * nin + a] - dd) / (1.0 + fabs(dd));
        }
    }
    if (ex > worst_x) worst_x = ex;
    if (edx > worst_dx) worst_dx = edx;
    SP_CHECK(ex < 1e-12);
    SP_CHECK(edx < 1e-7);
    /* outputs are optional; the filters alone are the same numbers */
    SP_CHECK(sp_snnp_filters(pot, nl, type, ws, dG, NULL, NULL) == SP_OK);
    SP_CHECK(memcmp(G, dG, (size_t)n * nin * sizeof(double)) == 0);
    SP_CHECK(sp_snnp_filters(pot, nl, type, ws, NULL, NULL, NULL) == SP_OK);
    /* errors */
    {
        int *bad = (int *)malloc((size_t)n * sizeof(int));
        sp_pot_t other;
        memcpy(bad, type, (size_t)n * sizeof(int));
        bad[n - 1] = pot->nelem;
        SP_CHECK(sp_snnp_filters(pot, nl, bad, ws, G, dG, E) == SP_ERR_UNKNOWN_ELEMENT);
        SP_CHECK(sp_snnp_filters(pot, nl, type, NULL, G, dG, E) == SP_ERR_BAD_ARG);
        SP_CHECK(sp_snnp_filters(pot, nl, NULL, ws, G, dG, E) == SP_ERR_BAD_ARG);
        memset(&other, 0, sizeof other);
        other.kind = SP_POT_UF3;
        SP_CHECK(sp_snnp_filters(&other, nl, type, ws, G, dG, E) == SP_ERR_BAD_ARG);
        free(bad);
    }
    free(G); free(dG); free(E);
}

/* one option combination: everything that can be checked against an independent number */
static void check_model(int nelem, int opts) {
    enum { N = 7 };
    const double *h = cell_h;
    const int pbc[3] = {1, 1, 1};
    sp_snnp_arch_t arch = small_arch(nelem, opts);
    sp_pot_t pot;
    sp_diag_t d;
    double pos[3 * N], f[3 * N], e, eb, ea[N], vir[9], sum = 0.0, fadj[3 * N];
    int type[N], i, k, a, b;
    double *g1, *g2, *g3, *th, scale1 = 0, scale2 = 0, scale3 = 0, err1 = 0, err2 = 0, err3 = 0, wadj[9];
    memset(&pot, 0, sizeof pot);
    memset(&d, 0, sizeof d);
    if (sp_snnp_create(&pot, &arch, &d) != SP_OK) {
        printf("create failed (opts %d): %s\n", opts, d.msg);
        SP_CHECK(0);
        return;
    }
    random_params(&pot);
    for (i = 0; i < N; ++i) type[i] = i % nelem;
    random_cell(N, pos, h, 1.9);
    SP_CHECK(sp_pot_compute_once(&pot, N, pos, type, h, pbc, &e, f, ea, vir, &d) == SP_OK);
    eb = brute_energy(&pot, N, pos, type, h);
    if (fabs(e - eb) / (1 + fabs(eb)) > worst_e_brute) worst_e_brute = fabs(e - eb) / (1 + fabs(eb));
    SP_CHECK_NEAR(e, eb, 1e-11, 1e-11);
    { /* Monte-Carlo moves */
        sp_cell_t c;
        int rb;
        double w;
        memcpy(c.h, h, sizeof c.h);
        memcpy(c.pbc, pbc, sizeof c.pbc);
        w = tu_check_moves(&pot, N, pos, type, &c, 30, 0.14, 0.5, &rb);
        {
            const double wc = tu_check_contributing(&pot, N, pos, type, &c);
            if (wc > worst_contrib) worst_contrib = wc;
            SP_CHECK(wc < 1e-9);
        }
        if (nelem > 1) {
            const double ws = tu_check_swaps(&pot, N, pos, type, &c, 6, 0.5);
            if (ws > w) w = ws;
        }
        if (w > worst_mc) worst_mc = w;
        SP_CHECK(w < 1e-12);
    }
    for (i = 0; i < N; ++i) sum += ea[i];
    SP_CHECK_NEAR(sum, e, 1e-12, 1e-12);
    /* forces = -dE/dx */
    {
        double w = 0.0;
        for (k = 0; k < 3 * N; ++k) {
            double x = pos[k], ep, em;
            pos[k] = x + 1e-5; ep = energy_of(&pot, N, pos, type, h, pbc, NULL);
            pos[k] = x - 1e-5; em = energy_of(&pot, N, pos, type, h, pbc, NULL);
            pos[k] = x;
            if (fabs(-(ep - em) / 2e-5 - f[k]) > w) w = fabs(-(ep - em) / 2e-5 - f[k]);
        }
        if (w > worst_f) worst_f = w;
        SP_CHECK(w < 2e-6);
    }
    /* virial = -dE/d(strain) */
    {
        double w = 0.0;
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
                    es[s] = energy_of(&pot, N, p2, type, h2, pbc, NULL);
                }
                if (fabs(-(es[0] - es[1]) / (2 * eps) - vir[3 * a + b]) > w) w = fabs(-(es[0] - es[1]) / (2 * eps) - vir[3 * a + b]);
            }
        if (w > worst_w) worst_w = w;
        SP_CHECK(w < 2e-5);
    }
    /* parameter gradients of E, of fadj . F and of wadj . W, against central differences, every parameter */
    {
        sp_nlist_t nl;
        sp_work_t ws;
        sp_cell_t cell;
        int np = pot.snnp.nparams;
        g1 = (double *)calloc((size_t)np, sizeof(double));
        g2 = (double *)calloc((size_t)np, sizeof(double));
        g3 = (double *)calloc((size_t)np, sizeof(double));
        th = (double *)malloc((size_t)np * sizeof(double));
        memcpy(th, pot.snnp.theta, (size_t)np * sizeof(double));
        for (k = 0; k < 3 * N; ++k) fadj[k] = urand2();
        for (k = 0; k < 9; ++k) wadj[k] = urand2();
        memset(&nl, 0, sizeof nl);
        memset(&ws, 0, sizeof ws);
        memcpy(cell.h, h, sizeof cell_h);
        for (k = 0; k < 3; ++k) cell.pbc[k] = pbc[k];
        SP_CHECK(sp_nlist_build(&nl, &cell, pos, N, pot.cutoff, &d) == SP_OK);
        check_filters(&pot, &nl, type, &ws, N, pos, h, ea);
        SP_CHECK(sp_snnp_backprop(&pot, &nl, type, 1.0, NULL, NULL, &ws, g1) == SP_OK);
        SP_CHECK(sp_snnp_backprop(&pot, &nl, type, 0.0, fadj, NULL, &ws, g2) == SP_OK);
        SP_CHECK(sp_snnp_backprop(&pot, &nl, type, 0.0, NULL, wadj, &ws, g3) == SP_OK);
        for (k = 0; k < np; ++k) {
            double hh = 1e-6, ep, em, lp = 0, lm = 0, wp, wm, fp[3 * N], fm[3 * N], d1, d2, d3;
            int q;
            const double t0 = th[k];
            th[k] = t0 + hh; sp_snnp_set_params(&pot, th); ep = energy_of(&pot, N, pos, type, h, pbc, fp);
            wp = virial_dot(&pot, N, pos, type, h, pbc, wadj);
            th[k] = t0 - hh; sp_snnp_set_params(&pot, th); em = energy_of(&pot, N, pos, type, h, pbc, fm);
            wm = virial_dot(&pot, N, pos, type, h, pbc, wadj);
            th[k] = t0;
            for (q = 0; q < 3 * N; ++q) { lp += fadj[q] * fp[q]; lm += fadj[q] * fm[q]; }
            d1 = (ep - em) / (2 * hh);
            d2 = (lp - lm) / (2 * hh);
            d3 = (wp - wm) / (2 * hh);
            if (fabs(d1) > scale1) scale1 = fabs(d1);
            if (fabs(d2) > scale2) scale2 = fabs(d2);
            if (fabs(d3) > scale3) scale3 = fabs(d3);
            if (fabs(d1 - g1[k]) > err1) err1 = fabs(d1 - g1[k]);
            if (fabs(d2 - g2[k]) > err2) err2 = fabs(d2 - g2[k]);
            if (fabs(d3 - g3[k]) > err3) err3 = fabs(d3 - g3[k]);
        }
        sp_snnp_set_params(&pot, th);
        err1 /= scale1 + 1e-300;
        err2 /= scale2 + 1e-300;
        err3 /= scale3 + 1e-300;
        if (err1 > worst_ge) worst_ge = err1;
        if (err2 > worst_gf) worst_gf = err2;
        if (err3 > worst_gw) worst_gw = err3;
        if (err1 > 1e-7 || err2 > 1e-6 || err3 > 1e-6)
            printf("gradients (%d elements, options %d): relative error dE/dtheta %.2g, d(fadj.F)/dtheta %.2g, "
                   "d(wadj.W)/dtheta %.2g\n", nelem, opts, err1, err2, err3);
        SP_CHECK(err1 < 1e-7);
        SP_CHECK(err2 < 1e-6);
        SP_CHECK(err3 < 1e-6);
        sp_work_free(&ws);
        sp_nlist_free(&nl);
        free(g1); free(g2); free(g3); free(th);
    }
#ifdef _OPENMP
    {
        double f1[3 * N], e1;
        omp_set_num_threads(1);
        e1 = energy_of(&pot, N, pos, type, h, pbc, f1);
        omp_set_num_threads(2);
        SP_CHECK(memcmp(&e1, &e, sizeof e) == 0 && memcmp(f1, f, sizeof f) == 0);
    }
#endif
    ++n_models;
    sp_pot_free(&pot);
}

/* sp_snnp_drop_filter: the energy afterwards is Eq. 10 with that filter's
   input set to 0 for the atoms of that element (the image sum), for every
   filter and element; unsupported with a skip connection or without a network */
static void check_drop(int nelem, int opts) {
    enum { N = 7 };
    const double *h = cell_h;
    const int pbc[3] = {1, 1, 1};
    sp_snnp_arch_t arch = small_arch(nelem, opts);
    sp_pot_t pot;
    sp_diag_t d;
    double pos[3 * N], x[2 * SP_SNNP_MAX_FILTERS], gs, *th, worst = 0.0;
    int type[N], i, e, a, nin;
    memset(&pot, 0, sizeof pot);
    SP_CHECK(sp_snnp_create(&pot, &arch, &d) == SP_OK);
    random_params(&pot);
    nin = pot.snnp.nin;
    th = (double *)malloc((size_t)pot.snnp.nparams * sizeof(double));
    memcpy(th, pot.snnp.theta, (size_t)pot.snnp.nparams * sizeof(double));
    for (i = 0; i < N; ++i) type[i] = i % nelem;
    random_cell(N, pos, h, 1.9);
    for (e = 0; e < nelem; ++e)
        for (a = 0; a < nin; ++a) {
            double eb = 0.0, e1 = 0.0;
            SP_CHECK(sp_snnp_set_params(&pot, th) == SP_OK);
            SP_CHECK(sp_snnp_drop_filter(&pot, e, a) == SP_OK);
            SP_CHECK(sp_pot_compute_once(&pot, N, pos, type, h, pbc, &e1, NULL, NULL, NULL, &d) == SP_OK);
            SP_CHECK(sp_snnp_set_params(&pot, th) == SP_OK); /* Eq. 10 with the original weights */
            for (i = 0; i < N; ++i) {
                brute_filters(&pot, N, pos, type, h, i, x, &gs);
                if (type[i] == e) x[a] = 0.0;
                eb += atom_energy(&pot, type[i], x, gs);
            }
            if (fabs(e1 - eb) / (1.0 + fabs(eb)) > worst) worst = fabs(e1 - eb) / (1.0 + fabs(eb));
        }
    SP_CHECK(worst < 1e-12);
    printf("sp_snnp_drop_filter (%d elements, options %d): energies vs Eq. 10 with the filter's input zeroed: %.2g\n",
           nelem, opts, worst);
    SP_CHECK(sp_snnp_drop_filter(&pot, nelem, 0) == SP_ERR_BAD_ARG);
    SP_CHECK(sp_snnp_drop_filter(&pot, 0, nin) == SP_ERR_BAD_ARG);
    SP_CHECK(sp_snnp_drop_filter(&pot, -1, 0) == SP_ERR_BAD_ARG);
    free(th);
    sp_pot_free(&pot);
    {
        static const int other[2] = {1 | 16, 0}; /* skip connection; no network */
        int k;
        for (k = 0; k < 2; ++k) {
            arch = small_arch(nelem, other[k]);
            SP_CHECK(sp_snnp_create(&pot, &arch, &d) == SP_OK);
            SP_CHECK(sp_snnp_drop_filter(&pot, 0, 0) == SP_ERR_UNSUPPORTED);
            sp_pot_free(&pot);
        }
    }
}

/* `splinepot filters` ($SPLINEPOT): its per-atom file holds the numbers of
   sp_snnp_filters, bit for bit, and its sensitivities are Eq. 11 summed here
   (a frame with a reference energy, one without: the model's energy) */
static void check_tool_filters(void) {
    enum { N = 7, NF = 2 };
    const double *h = cell_h;
    const char *tool = getenv("SPLINEPOT");
    sp_snnp_arch_t arch = small_arch(2, 16); /* a network and no skip: dE/dG of either sign */
    sp_pot_t pot;
    sp_diag_t d;
    sp_nlist_t nl;
    sp_work_t ws;
    sp_cell_t cell;
    char dir[64], path[256], cmd[1024], line[4096];
    double pos[NF][3 * N], G[NF][N * 4], D[NF][N * 4], E[NF][N], sens[2][4], x[2 * SP_SNNP_MAX_FILTERS];
    int type[N], z[N], i, k, a, nin, rows = 0, srows = 0, exact = 1;
    FILE *fp;
    if (!tool || access(tool, X_OK) != 0) {
        printf("splinepot filters: skipped (no $SPLINEPOT)\n");
        return;
    }
    memset(&pot, 0, sizeof pot);
    memset(&nl, 0, sizeof nl);
    memset(&ws, 0, sizeof ws);
    SP_CHECK(sp_snnp_create(&pot, &arch, &d) == SP_OK);
    random_params(&pot);
    nin = pot.snnp.nin;
    strcpy(dir, "/tmp/splinepot_snnp_XXXXXX");
    if (nin > 4 || !mkdtemp(dir)) { SP_CHECK(0); sp_pot_free(&pot); return; }
    snprintf(path, sizeof path, "%s/m.snnp", dir);
    fp = fopen(path, "w");
    SP_CHECK(fp && sp_pot_write(&pot, fp) == SP_OK);
    if (fp) fclose(fp);
    memcpy(cell.h, h, sizeof cell_h);
    cell.pbc[0] = cell.pbc[1] = cell.pbc[2] = 1;
    for (i = 0; i < N; ++i) { type[i] = i % 2; z[i] = arch.z[type[i]]; }
    memset(sens, 0, sizeof sens);
    snprintf(path, sizeof path, "%s/d.xyz", dir);
    fp = fopen(path, "w");
    for (k = 0; k < NF && fp; ++k) {
        sp_frame_t f;
        double norm = 0.0;
        random_cell(N, pos[k], h, 1.9);
        SP_CHECK(sp_nlist_build(&nl, &cell, pos[k], N, pot.cutoff, &d) == SP_OK);
        SP_CHECK(sp_snnp_filters(&pot, &nl, type, &ws, G[k], D[k], E[k]) == SP_OK);
        memset(&f, 0, sizeof f);
        f.natoms = N;
        memcpy(f.cell, h, sizeof cell_h);
        f.pbc[0] = f.pbc[1] = f.pbc[2] = 1;
        f.has_cell = 1;
        f.pos = pos[k];
        f.z = z;
        f.has_energy = k == 0;
        f.energy = -3.25 * N;
        for (i = 0; i < N; ++i) norm += E[k][i];
        norm = fabs(k == 0 ? f.energy : norm);
        for (i = 0; i < N; ++i)
            for (a = 0; a < nin; ++a) sens[type[i]][a] += fabs(D[k][i * nin + a]) / norm;
        sp_xyz_write_frame(fp, &f, NULL);
    }
    SP_CHECK(fp != NULL);
    if (fp) fclose(fp);
    snprintf(cmd, sizeof cmd, "'%s' filters '%s/m.snnp' '%s/d.xyz' -o '%s/atoms.dat' > '%s/table.txt'", tool, dir, dir,
             dir, dir);
    SP_CHECK(system(cmd) == 0);
    snprintf(path, sizeof path, "%s/atoms.dat", dir);
    fp = fopen(path, "r");
    while (fp && fgets(line, sizeof line, fp)) { /* frame atom element E_i G.. dE/dG.. */
        char *p = line, *q, el[8];
        int fk, ia, n = 0;
        if (line[0] == '#') continue;
        if (sscanf(p, "%d %d %7s%n", &fk, &ia, el, &n) != 3 || fk < 1 || fk > NF || ia < 1 || ia > N) { exact = 0; break; }
        p += n;
        --fk; --ia;
        exact &= strtod(p, &q) == E[fk][ia];
        for (a = 0; a < nin; ++a) exact &= strtod(p = q, &q) == G[fk][ia * nin + a];
        for (a = 0; a < nin; ++a) exact &= strtod(p = q, &q) == D[fk][ia * nin + a];
        exact &= strcmp(el, sp_element_symbol(z[ia])) == 0;
        ++rows;
    }
    if (fp) fclose(fp);
    SP_CHECK(exact && rows == NF * N);
    snprintf(path, sizeof path, "%s/table.txt", dir);
    fp = fopen(path, "r");
    while (fp && fgets(line, sizeof line, fp)) { /* element filter kind atoms mean rms mean_d sensitivity share */
        char el[8], kind[8];
        long cnt;
        double mg, rg, md, s, sh;
        int fa, e;
        if (sscanf(line, "%7s %d %7s %ld %lf %lf %lf %lf %lf", el, &fa, kind, &cnt, &mg, &rg, &md, &s, &sh) != 9) continue;
        e = sp_pot_find_element(&pot, el);
        if (e < 0 || fa < 1 || fa > nin) continue;
        SP_CHECK_NEAR(s, sens[e][fa - 1], 1e-5, 0);
        ++srows;
    }
    if (fp) fclose(fp);
    SP_CHECK(srows == 2 * nin);
    /* --drop EL:1,3 --save: the model of sp_snnp_drop_filter, bit for bit */
    snprintf(cmd, sizeof cmd, "'%s' filters '%s/m.snnp' '%s/d.xyz' --drop %s:1,3 --save '%s/drop.snnp' > /dev/null", tool,
             dir, dir, pot.elem[1], dir);
    SP_CHECK(system(cmd) == 0);
    {
        sp_pot_t saved;
        memset(&saved, 0, sizeof saved);
        snprintf(path, sizeof path, "%s/drop.snnp", dir);
        SP_CHECK(sp_snnp_drop_filter(&pot, 1, 0) == SP_OK && sp_snnp_drop_filter(&pot, 1, 2) == SP_OK);
        SP_CHECK(sp_pot_read_file(&saved, path, &d) == SP_OK && saved.kind == SP_POT_SNNP &&
                 saved.snnp.nparams == pot.snnp.nparams &&
                 memcmp(saved.snnp.theta, pot.snnp.theta, (size_t)pot.snnp.nparams * sizeof(double)) == 0);
        sp_pot_free(&saved);
    }
    /* --lattice fcc of element 0 (the drops above were of element 1): each row's E per atom from
       sp_pot_compute_once, its filters the image sum */
    snprintf(cmd, sizeof cmd, "'%s' filters '%s/m.snnp' --lattice fcc --element %s --a 4.2 --strain 0.05 --points 3 "
             "-o '%s/curve.dat'", tool, dir, pot.elem[0], dir);
    SP_CHECK(system(cmd) == 0);
    snprintf(path, sizeof path, "%s/curve.dat", dir);
    fp = fopen(path, "r");
    k = 0;
    while (fp && fgets(line, sizeof line, fp)) { /* a, E per atom, G_1..G_n */
        char *p = line, *q;
        double ak, ea, ec, cpos[3], gs;
        sp_cell_t pc;
        int t0 = 0;
        if (line[0] == '#') continue;
        ak = strtod(p, &q);
        ea = strtod(p = q, &q);
        SP_CHECK_NEAR(ak, 4.2 * (1.0 + 0.05 * (k - 1)), 1e-10, 0);
        SP_CHECK(sp_lattice_primitive(SP_LATTICE_FCC, ak, 0.0, cpos, &pc) == 1);
        SP_CHECK(sp_pot_compute_once(&pot, 1, cpos, &t0, pc.h, pc.pbc, &ec, NULL, NULL, NULL, &d) == SP_OK);
        SP_CHECK_NEAR(ea, ec, 1e-11, 1e-11);
        brute_filters(&pot, 1, cpos, &t0, pc.h, 0, x, &gs);
        for (a = 0; a < nin; ++a) SP_CHECK_NEAR(strtod(p = q, &q), x[a], 1e-10, 1e-10);
        ++k;
    }
    if (fp) fclose(fp);
    SP_CHECK(k == 3);
    printf("splinepot filters: %d atom rows equal to sp_snnp_filters, %d sensitivities checked against Eq. 11, "
           "--drop --save equal to sp_snnp_drop_filter, --lattice rows against the image sum\n", rows, srows);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("could not remove %s\n", dir);
    sp_work_free(&ws);
    sp_nlist_free(&nl);
    sp_pot_free(&pot);
}

/* ---- model file: write -> read gives the same bits; the reader's errors ---- */

static char *write_to_string(const sp_pot_t *pot, size_t *len) {
    FILE *fp = tmpfile();
    char *buf;
    long n;
    if (!fp) return NULL;
    SP_CHECK(sp_pot_write(pot, fp) == SP_OK);
    fflush(fp);
    n = ftell(fp);
    rewind(fp);
    buf = (char *)malloc((size_t)n + 1);
    *len = fread(buf, 1, (size_t)n, fp);
    buf[*len] = '\0';
    fclose(fp);
    return buf;
}

/* a model of this architecture with random parameters in pot, and its file text (NULL on failure) */
static char *random_model_text(sp_pot_t *pot, const sp_snnp_arch_t *arch, size_t *len) {
    sp_diag_t d;
    memset(pot, 0, sizeof *pot);
    SP_CHECK(sp_snnp_create(pot, arch, &d) == SP_OK);
    random_params(pot);
    return write_to_string(pot, len);
}

static void check_roundtrip(int nelem, int opts) {
    enum { N = 7 };
    const double *h = cell_h;
    const int pbc[3] = {1, 1, 1};
    sp_snnp_arch_t arch = small_arch(nelem, opts);
    sp_pot_t pot, back;
    sp_diag_t d;
    double pos[3 * N], f1[3 * N], f2[3 * N], e1, e2, ea1[N], ea2[N];
    int type[N], i;
    size_t len;
    char *text;
    memset(&back, 0, sizeof back);
    text = random_model_text(&pot, &arch, &len);
    SP_CHECK(text != NULL);
    if (!text) { sp_pot_free(&pot); return; }
    memset(&d, 0, sizeof d);
    SP_CHECK(sp_pot_read(&back, text, len, "model.snnp", &d) == SP_OK);
    if (back.kind != SP_POT_SNNP) {
        printf("round trip (%d elements, options %d): line %d: %s\n", nelem, opts, d.line, d.msg);
        SP_CHECK(0);
        free(text);
        sp_pot_free(&pot);
        return;
    }
    SP_CHECK(back.snnp.nparams == pot.snnp.nparams);
    SP_CHECK(memcmp(back.snnp.theta, pot.snnp.theta, (size_t)pot.snnp.nparams * sizeof(double)) == 0);
    {
        const sp_snnp_arch_t *x = &back.snnp.arch, *y = &pot.snnp.arch;
        int same = x->nelem == y->nelem && x->n3 == y->n3 && x->n2 == y->n2 && x->short_range == y->short_range &&
                   x->skip == y->skip && x->nobias == y->nobias && x->softplus == y->softplus && x->network == y->network &&
                   x->nhidden == y->nhidden && x->celu_alpha == y->celu_alpha && x->r3lo == y->r3lo && x->r3hi == y->r3hi &&
                   x->k3 == y->k3 && x->kg == y->kg && x->r2lo == y->r2lo && x->r2hi == y->r2hi && x->k2 == y->k2 &&
                   x->rslo == y->rslo && x->rshi == y->rshi && x->ks == y->ks;
        for (i = 0; i < SP_MAX_ELEMENTS; ++i) same = same && x->z[i] == y->z[i];
        for (i = 0; i < SP_SNNP_MAX_HIDDEN; ++i) same = same && x->width[i] == y->width[i];
        SP_CHECK(same);
    }
    SP_CHECK(back.cutoff == pot.cutoff && back.nelem == pot.nelem && strcmp(back.elem[nelem - 1], pot.elem[nelem - 1]) == 0);
    for (i = 0; i < N; ++i) type[i] = (i * 3) % nelem;
    random_cell(N, pos, h, 1.9);
    SP_CHECK(sp_pot_compute_once(&pot, N, pos, type, h, pbc, &e1, f1, ea1, NULL, &d) == SP_OK);
    SP_CHECK(sp_pot_compute_once(&back, N, pos, type, h, pbc, &e2, f2, ea2, NULL, &d) == SP_OK);
    SP_CHECK(memcmp(&e1, &e2, sizeof e1) == 0 && memcmp(f1, f2, sizeof f1) == 0 && memcmp(ea1, ea2, sizeof ea1) == 0);
    free(text);
    sp_pot_free(&pot);
    sp_pot_free(&back);
}

/* Numbers wrap freely, lines of any length included: a model with 64-knot
   radial splines and a 40 x 30 hidden layer, every run of number lines
   joined into one line (66 and up to 1200 numbers), reads back to the bit. */
static void check_long_lines(void) {
    sp_snnp_arch_t arch = small_arch(1, 16);
    sp_pot_t pot, back;
    sp_diag_t d;
    size_t len, k;
    char *text;
    arch.n3 = 40;
    arch.width[0] = 30;
    arch.k3 = arch.k2 = 64;
    memset(&back, 0, sizeof back);
    text = random_model_text(&pot, &arch, &len);
    SP_CHECK(text != NULL);
    if (!text) { sp_pot_free(&pot); return; }
    for (k = 1; k + 1 < len; ++k) /* a newline between two lines of numbers becomes a space */
        if (text[k] == '\n' && strchr("-0123456789.", text[k + 1])) {
            size_t b = k;
            while (b > 0 && text[b - 1] != '\n') --b;
            if (strchr("-0123456789.", text[b])) text[k] = ' ';
        }
    SP_CHECK(strlen(text) == len);
    SP_CHECK(sp_pot_read(&back, text, len, "long.snnp", &d) == SP_OK);
    if (back.kind != SP_POT_SNNP) printf("long lines: line %d: %s\n", d.line, d.msg);
    SP_CHECK(back.kind == SP_POT_SNNP && back.snnp.nparams == pot.snnp.nparams &&
             memcmp(back.snnp.theta, pot.snnp.theta, (size_t)pot.snnp.nparams * sizeof(double)) == 0);
    free(text);
    sp_pot_free(&pot);
    sp_pot_free(&back);
}

static const char *tiny_model =
    "splinepot-snnp 1\n"          /* 1 */
    "elements 1 Mo\n"             /* 2 */
    "filters 1 1\n"               /* 3 */
    "short 0\n"                   /* 4 */
    "skip 1\n"                    /* 5 */
    "nobias 1\n"                  /* 6 */
    "softplus 1\n"                /* 7 */
    "network 1 2\n"               /* 8 */
    "celu_alpha 1\n"              /* 9 */
    "knots_f 1.5 4.6 4\n"         /* 10 */
    "knots_g 3\n"                 /* 11 */
    "knots_rho 1.5 5.2 4\n"       /* 12 */
    "e0 Mo -10.9\n"               /* 13 */
    "f 1 Mo\n"                    /* 14 */
    "0.6 0.4 0.1 0\n"             /* 15 */
    "-0.2 0\n"                    /* 16 */
    "g 1 Mo Mo\n"                 /* 17 */
    "0.1 0.3 0.9\n"               /* 18 */
    "0.2 1.1\n"                   /* 19 */
    "rho 1 Mo\n"                  /* 20 */
    "0.3 0.2 0.05 0\n"            /* 21 */
    "-0.1 0\n"                    /* 22 */
    "W Mo 1 2 2\n"                /* 23 */
    "0.5 -0.3\n"                  /* 24 */
    "0.1 0.8\n"                   /* 25 */
    "W Mo 2 1 2\n"                /* 26 */
    "0.2 -0.4\n"                  /* 27 */
    "end\n";                      /* 28 */

/* replaces the first occurrence of old in the tiny model by new, reads it */
static void expect_error(const char *old, const char *rep, sp_result_t code, int line) {
    char buf[4096];
    const char *p = strstr(tiny_model, old);
    sp_pot_t pot;
    sp_diag_t d;
    sp_result_t r;
    size_t a;
    if (!p) {
        printf("test bug: '%s' not in the model\n", old);
        SP_CHECK(0);
        return;
    }
    a = (size_t)(p - tiny_model);
    memcpy(buf, tiny_model, a);
    strcpy(buf + a, rep);
    strcat(buf, p + strlen(old));
    memset(&pot, 0, sizeof pot);
    memset(&d, 0, sizeof d);
    r = sp_pot_read(&pot, buf, strlen(buf), "bad.snnp", &d);
    if (r != code || d.line != line)
        printf("'%s' -> '%s': expected %s at line %d, got %s at line %d (%s)\n", old, rep, sp_result_str(code), line,
               sp_result_str(r), d.line, d.msg);
    SP_CHECK(r == code);
    SP_CHECK(d.line == line);
    SP_CHECK(d.msg[0] != '\0');
    SP_CHECK(pot.kind == SP_POT_NONE && pot.mem == NULL);
    sp_pot_free(&pot);
}

static void check_reader(void) {
    sp_pot_t pot;
    sp_diag_t d;
    size_t k, n = strlen(tiny_model);
    memset(&pot, 0, sizeof pot);
    SP_CHECK(sp_pot_read(&pot, tiny_model, n, "tiny.snnp", &d) == SP_OK);
    SP_CHECK(pot.kind == SP_POT_SNNP && pot.snnp.nparams == 6 + 5 + 6 + 4 + 2 + 1);
    SP_CHECK(pot.cutoff == 5.2);
    sp_pot_free(&pot);
    expect_error("splinepot-snnp 1", "splinepot-snnp 2", SP_ERR_UNSUPPORTED, 1);
    expect_error("elements 1 Mo", "elements 1 Xy", SP_ERR_UNKNOWN_ELEMENT, 2);
    expect_error("elements 1 Mo", "elements 2 Mo Mo", SP_ERR_PARSE, 2);
    expect_error("filters 1 1", "filters 1 65", SP_ERR_PARSE, 3);
    expect_error("short 0\nskip 1", "skip 1\nshort 0", SP_ERR_PARSE, 4);
    expect_error("softplus 1", "softplus 2", SP_ERR_PARSE, 7);
    expect_error("network 1 2", "network 2 2", SP_ERR_PARSE, 8);
    expect_error("network 1 2", "network 1 0", SP_ERR_PARSE, 8);
    expect_error("celu_alpha 1", "celu_alpha 0", SP_ERR_RANGE, 9);
    expect_error("knots_f 1.5 4.6 4", "knots_f 4.6 1.5 4", SP_ERR_RANGE, 10);
    expect_error("knots_f 1.5 4.6 4", "knots_f 1.5 4.6 2", SP_ERR_PARSE, 10);
    expect_error("knots_g 3", "knots_g 65", SP_ERR_PARSE, 11);
    expect_error("e0 Mo -10.9", "e0 W -10.9", SP_ERR_PARSE, 13);
    expect_error("e0 Mo -10.9", "e0 Mo nan", SP_ERR_NOT_FINITE, 13);
    expect_error("0.6 0.4 0.1 0\n", "0.6 0.4 0.1 0.01\n", SP_ERR_RANGE, 14);
    expect_error("0.6 0.4 0.1 0\n", "0.6 0.4 1e200 0\n", SP_ERR_RANGE, 15);
    expect_error("0.6 0.4 0.1 0\n", "0.6 0.4x 0.1 0\n", SP_ERR_PARSE, 15);
    expect_error("0.6 0.4 0.1 0\n", "0.6 0.4 inf 0\n", SP_ERR_NOT_FINITE, 15);
    expect_error("-0.2 0\n", "-0.2 0 7\n", SP_ERR_PARSE, 16);
    expect_error("0.2 1.1\n", "0.2\n", SP_ERR_PARSE, 20);
    expect_error("g 1 Mo Mo", "g 2 Mo Mo", SP_ERR_PARSE, 17);
    expect_error("W Mo 1 2 2", "W Mo 1 3 2", SP_ERR_PARSE, 23);
    expect_error("W Mo 2 1 2", "b Mo 1 2", SP_ERR_PARSE, 26);
    expect_error("end\n", "end\nf 1 Mo\n", SP_ERR_PARSE, 29);
    expect_error("end\n", "", SP_ERR_PARSE, 27);
    /* every truncation of the file is an error, never a crash or a read past the end */
    for (k = 0; k + 1 < n; ++k) {
        char *cut = (char *)malloc(k + 1);
        memcpy(cut, tiny_model, k);
        memset(&pot, 0, sizeof pot);
        memset(&d, 0, sizeof d);
        if (sp_pot_read(&pot, cut, k, "cut.snnp", &d) == SP_OK) {
            printf("truncation after %d bytes was accepted\n", (int)k);
            SP_CHECK(0);
        }
        sp_pot_free(&pot);
        free(cut);
    }
}

/* ---- training: a student learns from an s-NNP teacher; same bits for 1 and 2 threads ---- */

typedef struct fitdata_t {
    sp_config_t cf[12];
    double pos[12][3 * 8], F[12][3 * 8], stress[12][9];
    int type[12][8];
} fitdata_t;

/* volume of the cell whose rows are h */
static double cell_det(const double *h) {
    return h[0] * (h[4] * h[8] - h[5] * h[7]) - h[1] * (h[3] * h[8] - h[5] * h[6]) + h[2] * (h[3] * h[7] - h[4] * h[6]);
}

static void teacher_data(const sp_pot_t *teacher, fitdata_t *D, int nelem) {
    const int pbc[3] = {1, 1, 1};
    int c, i;
    for (c = 0; c < 12; ++c) {
        double h[9] = {5.4, 0, 0, 0.2, 5.2, 0, -0.3, 0.1, 5.6}, e, w[9], v;
        sp_diag_t d;
        h[0] += 0.05 * c;
        h[8] -= 0.03 * c;
        v = cell_det(h);
        for (i = 0; i < 8; ++i) D->type[c][i] = i % nelem;
        random_cell(8, D->pos[c], h, 2.0);
        SP_CHECK(sp_pot_compute_once(teacher, 8, D->pos[c], D->type[c], h, pbc, &e, D->F[c], NULL, w, &d) == SP_OK);
        for (i = 0; i < 9; ++i) D->stress[c][i] = -w[i] / v; /* sp_config_t.stress: -W/V */
        memset(&D->cf[c], 0, sizeof D->cf[c]);
        D->cf[c].natoms = 8;
        D->cf[c].pos = D->pos[c];
        D->cf[c].type = D->type[c];
        memcpy(D->cf[c].cell.h, h, sizeof h);
        for (i = 0; i < 3; ++i) D->cf[c].cell.pbc[i] = 1;
        D->cf[c].energy = e;
        D->cf[c].forces = D->F[c];
        D->cf[c].stress = D->stress[c];
    }
}

/* RMSE of the 6 stress components of every configuration (eV/A^3), written out here */
static double stress_rmse(const sp_pot_t *pot, const fitdata_t *D) {
    static const int voigt[6] = {0, 4, 8, 5, 2, 1};
    double s = 0.0;
    int c, a;
    for (c = 0; c < 12; ++c) {
        const double *h = D->cf[c].cell.h;
        const double v = cell_det(h);
        double e, w[9];
        sp_diag_t d;
        SP_CHECK(sp_pot_compute_once(pot, 8, D->pos[c], D->type[c], h, D->cf[c].cell.pbc, &e, NULL, NULL, w, &d) == SP_OK);
        for (a = 0; a < 6; ++a) {
            const double ds = -w[voigt[a]] / v - D->stress[c][voigt[a]];
            s += ds * ds;
        }
    }
    return sqrt(s / 72.0);
}

static void check_fit(int nelem) {
    sp_snnp_arch_t arch = small_arch(nelem, 1 | 8 | 16);
    sp_pot_t teacher, s1, s2, s3, s4;
    sp_snnp_fit_desc_t d;
    sp_snnp_fit_info_t i1, i2, i3, i4;
    double rs0, rs1;
    sp_diag_t dg;
    fitdata_t *D = (fitdata_t *)malloc(sizeof(fitdata_t));
    memset(&teacher, 0, sizeof teacher);
    memset(&s1, 0, sizeof s1);
    memset(&s2, 0, sizeof s2);
    memset(&s3, 0, sizeof s3);
    memset(&s4, 0, sizeof s4);
    SP_CHECK(sp_snnp_create(&teacher, &arch, &dg) == SP_OK);
    random_params(&teacher);
    { /* a gentler teacher: smaller filters */
        double *th = (double *)malloc((size_t)teacher.snnp.nparams * sizeof(double));
        int k;
        memcpy(th, teacher.snnp.theta, (size_t)teacher.snnp.nparams * sizeof(double));
        for (k = 0; k < teacher.snnp.off_net[0]; ++k) th[k] *= 0.4;
        SP_CHECK(sp_snnp_set_params(&teacher, th) == SP_OK);
        free(th);
    }
    teacher_data(&teacher, D, nelem);
    memset(&d, 0, sizeof d);
    d.arch = arch;
    d.epochs = 1;
    d.batch = 4;
    d.seed = 5;
    d.val_fraction = 0.2;
    SP_CHECK(sp_snnp_fit(&d, D->cf, 12, &s1, &i1, &dg) == SP_OK);
    sp_pot_free(&s1);
    d.epochs = 80;
    d.batch = 2;
    d.lr = 1e-2;
#ifdef _OPENMP
    omp_set_num_threads(1);
#endif
    SP_CHECK(sp_snnp_fit(&d, D->cf, 12, &s1, &i2, &dg) == SP_OK);
#ifdef _OPENMP
    omp_set_num_threads(2);
#endif
    SP_CHECK(sp_snnp_fit(&d, D->cf, 12, &s2, &i3, &dg) == SP_OK);
    printf("fit (%d element%s): training force RMSE %.4f eV/A after 1 epoch, %.4f after %d (best epoch %d), "
           "%d trained parameters\n", nelem, nelem > 1 ? "s" : "", i1.train_rmse_f, i2.train_rmse_f, i2.epochs,
           i2.best_epoch, i2.n_params);
    SP_CHECK(i2.train_rmse_f < 0.5 * i1.train_rmse_f);
    SP_CHECK(i2.n_train == 10 && i2.n_val == 2);
    /* deterministic: the same bits for one and two threads */
    SP_CHECK(s1.snnp.nparams == s2.snnp.nparams &&
             memcmp(s1.snnp.theta, s2.snnp.theta, (size_t)s1.snnp.nparams * sizeof(double)) == 0);
    /* the stress term: the same fit with a stress weight has a smaller stress error (computed here) */
    rs0 = stress_rmse(&s1, D);
    sp_pot_free(&s2);
    d.w_stress = 1e4;
    SP_CHECK(sp_snnp_fit(&d, D->cf, 12, &s2, &i4, &dg) == SP_OK);
    rs1 = stress_rmse(&s2, D);
    printf("fit (%d element%s): stress RMSE %.3g eV/A^3 without the stress term, %.3g with w_stress %g "
           "(reported: train %.3g, validation %.3g)\n", nelem, nelem > 1 ? "s" : "", rs0, rs1, d.w_stress, i4.train_rmse_s,
           i4.val_rmse_s);
    SP_CHECK(rs1 < 0.5 * rs0);
    SP_CHECK(i4.train_rmse_s > 0.0 && i4.val_rmse_s > 0.0 && i2.train_rmse_s == 0.0);
#ifdef _OPENMP
    omp_set_num_threads(1);
    SP_CHECK(sp_snnp_fit(&d, D->cf, 12, &s4, &i3, &dg) == SP_OK);
    omp_set_num_threads(2);
    SP_CHECK(memcmp(s4.snnp.theta, s2.snnp.theta, (size_t)s2.snnp.nparams * sizeof(double)) == 0);
#endif
    /* starting from the teacher with a negligible step, the fit reproduces the data */
    d.init = &teacher;
    d.epochs = 2;
    d.lr = 1e-13;
    SP_CHECK(sp_snnp_fit(&d, D->cf, 12, &s3, &i3, &dg) == SP_OK);
    SP_CHECK(i3.val_rmse_e < 1e-9 && i3.val_rmse_f < 1e-9 && i3.train_rmse_f < 1e-9);
    SP_CHECK(i3.val_rmse_s < 1e-12 && i3.train_rmse_s < 1e-12);
    /* weights: configuration 1 weighted sqrt 2 trains as configuration 1 given twice (full batches, from the
       same start, no L2: the losses differ by the factor 13/12, which Adam does not see), and not as the
       unweighted set */
    {
        sp_config_t cf13[13];
        sp_pot_t pw[3];
        double dab = 0.0, dac = 0.0;
        int k;
        memcpy(cf13, D->cf, sizeof D->cf);
        cf13[12] = D->cf[0];
        d.init = &s1;
        d.lr = 1e-2;
        d.epochs = 10;
        d.w_stress = 0.0;
        d.val_fraction = -1.0;
        d.l2 = -1.0;
        for (k = 0; k < 3; ++k) {
            memset(&pw[k], 0, sizeof pw[k]);
            D->cf[0].weight = k == 0 ? sqrt(2.0) : 0.0;
            d.batch = k == 1 ? 13 : 12;
            SP_CHECK(sp_snnp_fit(&d, k == 1 ? cf13 : D->cf, k == 1 ? 13 : 12, &pw[k], &i3, &dg) == SP_OK);
        }
        for (k = 0; k < s1.snnp.nparams; ++k) {
            if (fabs(pw[0].snnp.theta[k] - pw[1].snnp.theta[k]) > dab) dab = fabs(pw[0].snnp.theta[k] - pw[1].snnp.theta[k]);
            if (fabs(pw[0].snnp.theta[k] - pw[2].snnp.theta[k]) > dac) dac = fabs(pw[0].snnp.theta[k] - pw[2].snnp.theta[k]);
        }
        printf("fit (%d element%s): configuration 1 weighted sqrt 2 against given twice: parameters within %.2g; "
               "against unweighted: %.2g\n", nelem, nelem > 1 ? "s" : "", dab, dac);
        SP_CHECK(dab < 1e-3 * dac);
        D->cf[0].weight = 0.0;
        for (k = 0; k < 3; ++k) sp_pot_free(&pw[k]);
    }
    /* pinned parameters stay 0, the slopes at the cutoffs stay 0 */
    {
        int k, ok = 1;
        for (k = 0; k < s1.snnp.nparams; ++k)
            if (sp_snnp_param_pinned(&s1, k) && s1.snnp.theta[k] != 0.0) ok = 0;
        SP_CHECK(ok);
    }
    sp_pot_free(&s1);
    sp_pot_free(&s2);
    sp_pot_free(&s3);
    sp_pot_free(&s4);
    sp_pot_free(&teacher);
    free(D);
}

int main(void) {
    /* SP_TEST_QUICK (set for the valgrind run): every option bit still on and off, 1/9 of the combinations */
    const int quick = getenv("SP_TEST_QUICK") != NULL;
    int nelem, opts;
    for (nelem = 1; nelem <= 2; ++nelem)
        for (opts = 0; opts < 64; ++opts) {
            /* without a network, nobias and softplus do not exist */
            if (!(opts & 16) && (opts & 6)) continue;
            if (quick && opts % 9 != 0) continue;
            check_model(nelem, opts);
        }
    { /* a single linear layer; 2-body filters only */
        static const int extra[6] = {16 | 64, 16 | 64 | 15, 16 | 128 | 9, 16 | 64 | 128 | 15, 128 | 8, 128 | 1};
        int k;
        for (k = 0; k < 6; ++k) check_model(2, extra[k]);
    }
    printf("%d option combinations x elements: max |E - brute force|/(1+|E|) %.2g, max |F + dE/dx| %.2g eV/A,"
           " max |W + dE/de| %.2g eV\n", n_models, worst_e_brute, worst_f, worst_w);
    printf("Monte-Carlo moves, swaps and changes of element: max |dE - (E1 - E0)|/(1+|E0|) %.2g\n", worst_mc);
    printf("a third of the atoms not contributing: energy, forces (central differences), virial: %.2g\n", worst_contrib);
    printf("sp_snnp_filters: max |G - image sum|/(1+|G|) %.2g, max |dE/dG - central difference|/(1+|dE/dG|) %.2g\n",
           worst_x, worst_dx);
    printf("parameter gradients vs central differences (every parameter): max relative error dE/dtheta %.2g,"
           " d(fadj.F)/dtheta %.2g, d(wadj.W)/dtheta %.2g\n", worst_ge, worst_gf, worst_gw);
    for (nelem = 1; nelem <= 3; ++nelem)
        for (opts = 0; opts < 64; opts += 5) check_roundtrip(nelem, opts | ((opts & 6) ? 16 : 0));
    check_long_lines();
    check_reader();
    check_fit(1);
    check_fit(2);
    check_drop(2, 16);
    check_drop(2, 16 | 2 | 4 | 8);
    check_tool_filters();
    return sp_test_finish();
}
