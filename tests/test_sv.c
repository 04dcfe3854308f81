/* >>sv: structure-vector energies and forces for random parameter sets equal
   the direct s-MEAM evaluation of the potential each parameter vector
   describes (1e-10), on random cells: periodic fcc, a small triclinic cell
   whose cutoff exceeds it, a cluster; with one, two and three elements
   (random types, per-element U knot ranges). Errors: missing or bad types,
   duplicate or unknown element names. */
#include "../splinepot.h"
#include "sp_test.h"
#include "test_util.h"

/* random parameters: radial splines (phi, rho, f) vanish smoothly at the cutoff (y_last = 0, dN = 0) */
static void random_theta(const sp_smeam_layout_t *lay, double *t) {
    const int ne = lay->nelem > 0 ? lay->nelem : 1, np = ne * (ne + 1) / 2, nr2 = lay->nr + 2, nu2 = lay->nu + 2;
    const int npar = sp_smeam_layout_npar(lay);
    int k, s;
    for (k = 0; k < npar; ++k) t[k] = 0.6 * (2 * tu_urand() - 1);
    for (s = 0; s < np + 2 * ne; ++s) { /* phi x np, rho x ne, then (after U x ne) f x ne */
        double *y = t + (size_t)s * nr2 + (s >= np + ne ? (size_t)ne * nu2 : 0);
        y[lay->nr - 1] = y[lay->nr + 1] = 0.0;
    }
}

/* the variable-projection design of parameter set 0: E = ephi . theta_phi +
   eU . theta_U, F = Fphi theta_phi + FU theta_U and W = Wphi theta_phi +
   WU theta_U, with the densities of sp_smeam_sv_density, equal
   sp_smeam_sv_eval's E[0] and F[0..3n) and the direct virial Wd */
static void check_linear(const sp_smeam_sv_t *sv, const sp_smeam_layout_t *lay, const double *theta, const double *E,
                         const double *F, const double *Wd, void *w, size_t wb) {
    const int ne = sv->nelem, np = ne * (ne + 1) / 2, nr2 = lay->nr + 2, nu2 = lay->nu + 2, n = sv->natoms;
    const int wp = np * nr2, wu = ne * nu2, oU = (np + ne) * nr2;
    double *nv = (double *)malloc((size_t)n * sizeof(double)), *dn = (double *)malloc(3 * (size_t)sv->nbonds * sizeof(double));
    double *ep = (double *)malloc((size_t)wp * sizeof(double)), *eu = (double *)malloc((size_t)wu * sizeof(double));
    double *Fp = (double *)malloc(3 * (size_t)n * wp * sizeof(double)), *Fu = (double *)malloc(3 * (size_t)n * wu * sizeof(double));
    double *Wp = (double *)malloc(9 * (size_t)wp * sizeof(double)), *Wu = (double *)malloc(9 * (size_t)wu * sizeof(double));
    size_t ub = sp_smeam_sv_u_rows_workspace_size(sv, lay);
    void *uw = malloc(ub);
    double e = 0.0, worst_f = 0.0, worst_w = 0.0, wscale = 1.0;
    int k, r;
    SP_CHECK(sp_smeam_sv_density(sv, lay, 1, theta, nv, dn, 1, w, wb) == SP_OK);
    sp_smeam_sv_phi_rows(sv, ep, Fp, Wp);
    SP_CHECK(sp_smeam_sv_u_rows(sv, lay, nv, dn, eu, Fu, Wu, uw, ub) == SP_OK);
    for (r = 0; r < 9; ++r) {
        double v = 0.0;
        for (k = 0; k < wp; ++k) v += Wp[(size_t)r * wp + k] * theta[k];
        for (k = 0; k < wu; ++k) v += Wu[(size_t)r * wu + k] * theta[oU + k];
        if (fabs(v - Wd[r]) > worst_w) worst_w = fabs(v - Wd[r]);
        if (fabs(Wd[r]) > wscale) wscale = fabs(Wd[r]);
    }
    for (k = 0; k < wp; ++k) e += ep[k] * theta[k];
    for (k = 0; k < wu; ++k) e += eu[k] * theta[oU + k];
    for (r = 0; r < 3 * n; ++r) {
        double f = 0.0;
        for (k = 0; k < wp; ++k) f += Fp[(size_t)r * wp + k] * theta[k];
        for (k = 0; k < wu; ++k) f += Fu[(size_t)r * wu + k] * theta[oU + k];
        if (fabs(f - F[r]) > worst_f) worst_f = fabs(f - F[r]);
    }
    printf("  linear design (phi and U rows): rel dE %.2g, max |dF| %.2g, max |dW| / max |W| %.2g (max |W| %.3g eV)\n",
           fabs(e - E[0]) / (fabs(E[0]) + 1.0), worst_f, worst_w / wscale, wscale);
    SP_CHECK(fabs(e - E[0]) <= 1e-10 * (fabs(E[0]) + 1.0));
    SP_CHECK(worst_f <= 1e-10);
    SP_CHECK(worst_w <= 1e-12 * wscale);
    free(nv); free(dn); free(ep); free(eu); free(Fp); free(Fu); free(Wp); free(Wu); free(uw);
}

static void check(const sp_config_t *cf0, const sp_smeam_layout_t *lay, int P, const char *what) {
    static const char *const names[3] = {"Cu", "Ni", "Al"};
    const int ne = lay->nelem > 0 ? lay->nelem : 1;
    sp_config_t cf = *cf0;
    sp_smeam_sv_t sv;
    sp_diag_t d;
    int npar = sp_smeam_layout_npar(lay), p, k, n = cf.natoms;
    double *theta = (double *)malloc((size_t)P * npar * sizeof(double));
    double *E = (double *)malloc((size_t)P * sizeof(double));
    double *F = (double *)malloc((size_t)P * 3 * n * sizeof(double));
    double *Fd = (double *)malloc(3 * (size_t)n * sizeof(double)), Wd[9], W0[9];
    int *type = (int *)calloc((size_t)n, sizeof(int));
    size_t wb;
    void *w;
    double worst_e = 0.0, worst_f = 0.0;
    memset(&sv, 0, sizeof sv);
    for (p = 0; p < P; ++p) random_theta(lay, theta + (size_t)p * npar);
    for (k = 0; k < n; ++k) type[k] = k < ne ? k : (int)(tu_urand() * ne); /* every element present */
    cf.type = ne > 1 ? type : NULL;
    SP_CHECK(sp_smeam_sv_build(&sv, lay, &cf, &d) == SP_OK);
    wb = sp_smeam_sv_workspace_size(&sv, lay, 7);
    w = malloc(wb);
    SP_CHECK(sp_smeam_sv_eval(&sv, lay, P, theta, E, F, 7, w, wb) == SP_OK);
    for (p = 0; p < P; ++p) {
        sp_pot_t pot;
        double e;
        memset(&pot, 0, sizeof pot);
        SP_CHECK(sp_smeam_layout_pot(lay, theta + (size_t)p * npar, names, &pot) == SP_OK);
        SP_CHECK(sp_pot_compute_once(&pot, n, cf.pos, type, cf.cell.h, cf.cell.pbc, &e, Fd, NULL, Wd, &d) == SP_OK);
        if (p == 0) memcpy(W0, Wd, sizeof W0);
        if (fabs(E[p] - e) / (fabs(e) + 1.0) > worst_e) worst_e = fabs(E[p] - e) / (fabs(e) + 1.0);
        for (k = 0; k < 3 * n; ++k)
            if (fabs(F[(size_t)p * 3 * n + k] - Fd[k]) > worst_f) worst_f = fabs(F[(size_t)p * 3 * n + k] - Fd[k]);
        sp_pot_free(&pot);
    }
    printf("structure vectors, %s, %d element%s (%d atoms, %d bonds, %d triplets), %d parameter sets: max rel dE %.2g, "
           "max |dF| %.2g\n", what, ne, ne > 1 ? "s" : "", n, sv.nbonds, sv.ntrip, P, worst_e, worst_f);
    SP_CHECK(worst_e <= 1e-10);
    SP_CHECK(worst_f <= 1e-10);
    SP_CHECK(sp_smeam_sv_eval(&sv, lay, P, theta, E, F, 7, w, wb - 100) == SP_ERR_WORKSPACE_TOO_SMALL);
    check_linear(&sv, lay, theta, E, F, W0, w, wb);
    sp_smeam_sv_free(&sv);
    if (ne > 1) { /* types missing or out of range */
        cf.type = NULL;
        SP_CHECK(sp_smeam_sv_build(&sv, lay, &cf, &d) == SP_ERR_BAD_ARG);
        type[n - 1] = ne;
        cf.type = type;
        SP_CHECK(sp_smeam_sv_build(&sv, lay, &cf, &d) == SP_ERR_UNKNOWN_ELEMENT);
        SP_CHECK(strstr(d.msg, "type") != NULL);
        {
            static const char *const dup[3] = {"Cu", "Cu", "Al"}, *const bad[3] = {"Cu", "Xx", "Al"};
            sp_pot_t pot;
            memset(&pot, 0, sizeof pot);
            SP_CHECK(sp_smeam_layout_pot(lay, theta, dup, &pot) == SP_ERR_BAD_ARG);
            SP_CHECK(sp_smeam_layout_pot(lay, theta, bad, &pot) == SP_ERR_BAD_ARG);
        }
    }
    free(w); free(theta); free(E); free(F); free(Fd); free(type);
}

/* one, two and three elements; elements 0 and 2 have U knots on their own ranges, 1 on the default */
static void check_elements(const sp_config_t *cf, int P, const char *what) {
    sp_smeam_layout_t lay = {7, 2.0, 4.0, 7, -1.5, 1.5, 0, 1, {{0, 0}}};
    int ne;
    lay.urange[0][0] = -2.0;
    lay.urange[0][1] = 1.0;
    lay.urange[2][0] = -1.0;
    lay.urange[2][1] = 2.5;
    for (ne = 1; ne <= 3; ++ne) {
        lay.nelem = ne;
        check(cf, &lay, P, what);
    }
}

int main(void) {
    enum { NMAX = 108 };
    double pos[3 * NMAX];
    sp_config_t cf;
    int i, k, n = 0, x, y, z, b;
    static const double bas[4][3] = {{0, 0, 0}, {.5, .5, 0}, {.5, 0, .5}, {0, .5, .5}};
    /* fcc Cu 3x3x3, a = 3.615 A, displaced */
    for (x = 0; x < 3; ++x) for (y = 0; y < 3; ++y) for (z = 0; z < 3; ++z) for (b = 0; b < 4; ++b) {
        pos[3 * n] = (x + bas[b][0]) * 3.615 + 0.1 * (2 * tu_urand() - 1);
        pos[3 * n + 1] = (y + bas[b][1]) * 3.615 + 0.1 * (2 * tu_urand() - 1);
        pos[3 * n + 2] = (z + bas[b][2]) * 3.615 + 0.1 * (2 * tu_urand() - 1);
        ++n;
    }
    memset(&cf, 0, sizeof cf);
    cf.natoms = n;
    cf.pos = pos;
    cf.cell.h[0] = cf.cell.h[4] = cf.cell.h[8] = 3 * 3.615;
    cf.cell.pbc[0] = cf.cell.pbc[1] = cf.cell.pbc[2] = 1;
    check_elements(&cf, 20, "fcc 3x3x3");
    /* 4-atom triclinic cell smaller than the cutoff */
    cf.natoms = 4;
    for (k = 0; k < 9; ++k) cf.cell.h[k] = 0.0;
    cf.cell.h[0] = 3.6; cf.cell.h[3] = 0.4; cf.cell.h[4] = 3.5; cf.cell.h[6] = -0.3; cf.cell.h[7] = 0.2; cf.cell.h[8] = 3.7;
    for (i = 0; i < 4; ++i)
        for (k = 0; k < 3; ++k) pos[3 * i + k] = bas[i][k] * 3.6 + 0.08 * (2 * tu_urand() - 1);
    check_elements(&cf, 15, "triclinic 4-atom cell");
    /* cluster: the first 30 fcc atoms, open boundaries */
    n = 0;
    for (x = 0; x < 2; ++x) for (y = 0; y < 2; ++y) for (z = 0; z < 2; ++z) for (b = 0; b < 4; ++b) {
        pos[3 * n] = (x + bas[b][0]) * 3.615 + 0.1 * (2 * tu_urand() - 1);
        pos[3 * n + 1] = (y + bas[b][1]) * 3.615 + 0.1 * (2 * tu_urand() - 1);
        pos[3 * n + 2] = (z + bas[b][2]) * 3.615 + 0.1 * (2 * tu_urand() - 1);
        ++n;
    }
    cf.natoms = 30;
    for (k = 0; k < 9; ++k) cf.cell.h[k] = 0.0;
    cf.cell.pbc[0] = cf.cell.pbc[1] = cf.cell.pbc[2] = 0;
    check_elements(&cf, 15, "cluster");
    return sp_test_finish();
}
