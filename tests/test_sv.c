/* >>sv: structure-vector energies and forces for random parameter sets equal
   the direct s-MEAM evaluation of the potential each parameter vector
   describes (1e-10), on random cells: periodic fcc, a small triclinic cell
   whose cutoff exceeds it, a cluster. */
#include "../splinepot.h"
#include "sp_test.h"
#include "test_util.h"

static void check(const sp_config_t *cf, const sp_smeam_layout_t *lay, int P, const char *what) {
    sp_smeam_sv_t sv;
    sp_diag_t d;
    int npar = sp_smeam_layout_npar(lay), p, k, n = cf->natoms;
    double *theta = (double *)malloc((size_t)P * npar * sizeof(double));
    double *E = (double *)malloc((size_t)P * sizeof(double));
    double *F = (double *)malloc((size_t)P * 3 * n * sizeof(double));
    double *Fd = (double *)malloc(3 * (size_t)n * sizeof(double));
    int *type = (int *)calloc((size_t)n, sizeof(int));
    size_t wb;
    void *w;
    double worst_e = 0.0, worst_f = 0.0;
    memset(&sv, 0, sizeof sv);
    for (p = 0; p < P; ++p) {
        double *t = theta + (size_t)p * npar;
        int nr2 = lay->nr + 2, nu2 = lay->nu + 2;
        for (k = 0; k < npar; ++k) t[k] = 0.6 * (2 * tu_urand() - 1);
        /* radial splines (phi, rho, f) vanish smoothly at the cutoff: y_last = 0, dN = 0 */
        t[lay->nr - 1] = t[lay->nr + 1] = 0.0;
        t[nr2 + lay->nr - 1] = t[nr2 + lay->nr + 1] = 0.0;
        t[2 * nr2 + nu2 + lay->nr - 1] = t[2 * nr2 + nu2 + lay->nr + 1] = 0.0;
    }
    SP_CHECK(sp_smeam_sv_build(&sv, lay, cf, &d) == SP_OK);
    wb = sp_smeam_sv_workspace_size(&sv, lay, 7);
    w = malloc(wb);
    SP_CHECK(sp_smeam_sv_eval(&sv, lay, P, theta, E, F, 7, w, wb) == SP_OK);
    for (p = 0; p < P; ++p) {
        sp_pot_t pot;
        double e;
        memset(&pot, 0, sizeof pot);
        SP_CHECK(sp_smeam_layout_pot(lay, theta + (size_t)p * npar, "Cu", &pot) == SP_OK);
        SP_CHECK(sp_pot_compute_once(&pot, n, cf->pos, type, cf->cell.h, cf->cell.pbc, &e, Fd, NULL, NULL, &d) == SP_OK);
        if (fabs(E[p] - e) / (fabs(e) + 1.0) > worst_e) worst_e = fabs(E[p] - e) / (fabs(e) + 1.0);
        for (k = 0; k < 3 * n; ++k)
            if (fabs(F[(size_t)p * 3 * n + k] - Fd[k]) > worst_f) worst_f = fabs(F[(size_t)p * 3 * n + k] - Fd[k]);
        sp_pot_free(&pot);
    }
    printf("structure vectors, %s (%d atoms, %d bonds, %d triplets), %d parameter sets: max rel dE %.2g, max |dF| %.2g\n",
           what, n, sv.nbonds, sv.ntrip, P, worst_e, worst_f);
    SP_CHECK(worst_e <= 1e-10);
    SP_CHECK(worst_f <= 1e-10);
    SP_CHECK(sp_smeam_sv_eval(&sv, lay, P, theta, E, F, 7, w, wb - 100) == SP_ERR_WORKSPACE_TOO_SMALL);
    free(w); free(theta); free(E); free(F); free(Fd); free(type);
    sp_smeam_sv_free(&sv);
}

int main(void) {
    sp_smeam_layout_t lay = {7, 2.0, 4.0, 7, -1.5, 1.5, 0};
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
    check(&cf, &lay, 20, "fcc 3x3x3");
    /* 4-atom triclinic cell smaller than the cutoff */
    cf.natoms = 4;
    for (k = 0; k < 9; ++k) cf.cell.h[k] = 0.0;
    cf.cell.h[0] = 3.6; cf.cell.h[3] = 0.4; cf.cell.h[4] = 3.5; cf.cell.h[6] = -0.3; cf.cell.h[7] = 0.2; cf.cell.h[8] = 3.7;
    for (i = 0; i < 4; ++i)
        for (k = 0; k < 3; ++k) pos[3 * i + k] = bas[i][k] * 3.6 + 0.08 * (2 * tu_urand() - 1);
    check(&cf, &lay, 15, "triclinic 4-atom cell");
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
    check(&cf, &lay, 15, "cluster");
    return sp_test_finish();
}
