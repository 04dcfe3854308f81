/* >>sv variable projection (fit smeam): for fixed rho, f, g the energies and
   forces are linear in the parameters of phi and U. Checks, on three cells
   (periodic fcc, a triclinic cell smaller than the cutoff, a cluster):
   - the linear model built from sp_smeam_sv_density, sp_smeam_sv_phi_rows
     and sp_smeam_sv_u_rows (U knots on the densities' range) predicts the
     energies and forces that sp_pot_compute gives for the assembled
     potential, to 1e-10, for random phi/U parameters;
   - the weighted, regularised least-squares solution from its normal
     equations minimises the loss evaluated by brute force (sp_pot_compute
     on every configuration): every +-delta perturbation along each
     parameter and random directions raises it, with a vanishing central
     difference, and the normal-equation loss equals the brute-force loss;
   - densities of a chunked batch equal those of single sets; errors. */
#include "../splinepot.h"
#include "sp_test.h"
#include "test_util.h"

enum { NCONF = 3, NMAX = 40 };

typedef struct cfg_t {
    sp_config_t cf;
    double pos[3 * NMAX];
    double eref, fref[3 * NMAX];
    sp_smeam_sv_t sv;
    double n[NMAX], *dn;
} cfg_t;

static cfg_t C[NCONF];
static sp_smeam_layout_t L;
static int nphi, nu2, m, npar, phimap[SP_SPLINE_MAX_KNOTS + 2];
static double rho_fg[256];      /* the fixed rho, f, g part of theta */
static double we, wf, *Pen;

/* full parameter vector from the linear unknowns (phi free values, U, constant) */
static void assemble(const double *lin, double *theta) {
    int q, nr2 = L.nr + 2;
    memcpy(theta, rho_fg, (size_t)npar * sizeof(double));
    for (q = 0; q < nphi; ++q) theta[phimap[q]] = lin[q];
    for (q = 0; q < nu2; ++q) theta[2 * nr2 + q] = lin[nphi + q];
}

/* energy per atom (+ constant) and forces of every configuration by sp_pot_compute */
static void direct(const double *lin, double *e, double *f) {
    double theta[256];
    sp_pot_t pot;
    sp_diag_t d;
    int c, type[NMAX] = {0}, off = 0;
    assemble(lin, theta);
    memset(&pot, 0, sizeof pot);
    SP_CHECK(sp_smeam_layout_pot(&L, theta, "Mo", &pot) == SP_OK);
    for (c = 0; c < NCONF; ++c) {
        double E;
        SP_CHECK(sp_pot_compute_once(&pot, C[c].cf.natoms, C[c].pos, type, C[c].cf.cell.h, C[c].cf.cell.pbc, &E,
                                     f + off, NULL, NULL, &d) == SP_OK);
        e[c] = E / C[c].cf.natoms + lin[m - 1];
        off += 3 * C[c].cf.natoms;
    }
    sp_pot_free(&pot);
}

/* brute-force loss: weighted squared residuals of the direct evaluation + penalty */
static double loss_direct(const double *lin) {
    double e[NCONF], f[3 * NCONF * NMAX], s = 0.0;
    int c, k, off = 0;
    direct(lin, e, f);
    for (c = 0; c < NCONF; ++c) {
        s += we * (e[c] - C[c].eref / C[c].cf.natoms) * (e[c] - C[c].eref / C[c].cf.natoms);
        for (k = 0; k < 3 * C[c].cf.natoms; ++k) s += wf * (f[off + k] - C[c].fref[k]) * (f[off + k] - C[c].fref[k]);
        off += 3 * C[c].cf.natoms;
    }
    for (k = 0; k < m; ++k) {
        int j;
        for (j = 0; j < m; ++j) s += lin[k] * Pen[(size_t)k * m + j] * lin[j];
    }
    return s;
}

static void fcc_cell(cfg_t *c) {
    static const double bas[4][3] = {{0, 0, 0}, {.5, .5, 0}, {.5, 0, .5}, {0, .5, .5}};
    int x, y, z, b, n = 0;
    for (x = 0; x < 2; ++x) for (y = 0; y < 2; ++y) for (z = 0; z < 2; ++z) for (b = 0; b < 4; ++b) {
        c->pos[3 * n] = (x + bas[b][0]) * 3.2 + 0.12 * (2 * tu_urand() - 1);
        c->pos[3 * n + 1] = (y + bas[b][1]) * 3.2 + 0.12 * (2 * tu_urand() - 1);
        c->pos[3 * n + 2] = (z + bas[b][2]) * 3.2 + 0.12 * (2 * tu_urand() - 1);
        ++n;
    }
    c->cf.natoms = n;
    c->cf.cell.h[0] = c->cf.cell.h[4] = c->cf.cell.h[8] = 6.4;
    c->cf.cell.pbc[0] = c->cf.cell.pbc[1] = c->cf.cell.pbc[2] = 1;
}

int main(void) {
    sp_smeam_layout_t lay0 = {6, 2.0, 4.2, 7, -1.0, 1.0, 6};
    const double *q0;
    double lo = HUGE_VAL, hi = -HUGE_VAL, *G, *b, *th, yy = 0.0, sse_ne, worst_e = 0.0, worst_f = 0.0;
    double *Er, *Fr, *FU, eU[SP_SPLINE_MAX_KNOTS + 2], ephi[SP_SPLINE_MAX_KNOTS + 2], *Fphi, lin[128];
    double e1[NCONF], f1[3 * NCONF * NMAX], se = 0, se2 = 0, sf = 0, sf2 = 0, L0;
    int c, i, j, k, r, nr2, nrow = 0, nforce = 0;
    size_t wb, ub;
    void *w, *uw, *sw;
    sp_diag_t d;
    sp_ridge_solve_desc_t sd;
    L = lay0;
    nr2 = L.nr + 2;
    nu2 = L.nu + 2;
    npar = sp_smeam_layout_npar(&L);
    /* configurations: fcc 2x2x2 (a = 3.2 A), a triclinic 4-atom cell, a 20-atom cluster */
    memset(C, 0, sizeof C);
    fcc_cell(&C[0]);
    C[1].cf.natoms = 4;
    C[1].cf.cell.h[0] = 3.1; C[1].cf.cell.h[3] = 0.4; C[1].cf.cell.h[4] = 3.0;
    C[1].cf.cell.h[6] = -0.3; C[1].cf.cell.h[7] = 0.2; C[1].cf.cell.h[8] = 3.2;
    C[1].cf.cell.pbc[0] = C[1].cf.cell.pbc[1] = C[1].cf.cell.pbc[2] = 1;
    for (i = 0; i < 4; ++i)
        for (k = 0; k < 3; ++k) C[1].pos[3 * i + k] = (i == 0 ? 0.0 : (k == i - 1 ? 0.0 : 0.5)) * 3.1 + 0.1 * (2 * tu_urand() - 1);
    fcc_cell(&C[2]);
    C[2].cf.natoms = 20;
    memset(C[2].cf.cell.h, 0, sizeof C[2].cf.cell.h);
    C[2].cf.cell.pbc[0] = C[2].cf.cell.pbc[1] = C[2].cf.cell.pbc[2] = 0;
    /* reference data: a random s-MEAM potential with its own rho, f, g */
    {
        double t[256];
        sp_pot_t pot;
        int type[NMAX] = {0};
        for (k = 0; k < npar; ++k) t[k] = 0.5 * (2 * tu_urand() - 1);
        t[L.nr - 1] = t[L.nr + 1] = t[nr2 + L.nr - 1] = t[nr2 + L.nr + 1] = 0.0;
        t[2 * nr2 + nu2 + L.nr - 1] = t[2 * nr2 + nu2 + L.nr + 1] = 0.0;
        memset(&pot, 0, sizeof pot);
        SP_CHECK(sp_smeam_layout_pot(&L, t, "Mo", &pot) == SP_OK);
        for (c = 0; c < NCONF; ++c) {
            C[c].cf.pos = C[c].pos;
            SP_CHECK(sp_pot_compute_once(&pot, C[c].cf.natoms, C[c].pos, type, C[c].cf.cell.h, C[c].cf.cell.pbc,
                                         &C[c].eref, C[c].fref, NULL, NULL, &d) == SP_OK);
            for (k = 0; k < 3 * C[c].cf.natoms; ++k) C[c].fref[k] += 0.05 * (2 * tu_urand() - 1); /* not representable */
        }
        sp_pot_free(&pot);
    }
    /* the fitted model's rho, f, g (different from the reference's) */
    memset(rho_fg, 0, sizeof rho_fg);
    for (k = nr2; k < npar; ++k) rho_fg[k] = 0.6 * (2 * tu_urand() - 1);
    for (k = 2 * nr2; k < 2 * nr2 + nu2; ++k) rho_fg[k] = 0.0;
    rho_fg[nr2 + L.nr - 1] = rho_fg[nr2 + L.nr + 1] = 0.0;
    rho_fg[2 * nr2 + nu2 + L.nr - 1] = rho_fg[2 * nr2 + nu2 + L.nr + 1] = 0.0;
    nphi = 0;
    for (k = 0; k < nr2; ++k)
        if (k != L.nr - 1 && k != L.nr + 1) phimap[nphi++] = k;
    m = nphi + nu2 + 1;
    /* densities, then U knots on their range (widened by 10 %) */
    wb = 0;
    for (c = 0; c < NCONF; ++c) {
        SP_CHECK(sp_smeam_sv_build(&C[c].sv, &L, &C[c].cf, &d) == SP_OK);
        if (sp_smeam_sv_workspace_size(&C[c].sv, &L, 3) > wb) wb = sp_smeam_sv_workspace_size(&C[c].sv, &L, 3);
    }
    w = malloc(wb);
    for (c = 0; c < NCONF; ++c) {
        const int n = C[c].cf.natoms, nb = C[c].sv.nbonds;
        double th3[3 * 256], n3[3 * NMAX], *dn3 = (double *)malloc(9 * (size_t)nb * sizeof(double));
        C[c].dn = (double *)malloc(3 * (size_t)nb * sizeof(double));
        SP_CHECK(sp_smeam_sv_density(&C[c].sv, &L, 1, rho_fg, C[c].n, C[c].dn, 1, w, wb) == SP_OK);
        /* a batch of 3 sets in chunks of 2 (the middle one is ours, phi and U entries ignored) */
        for (k = 0; k < 3 * npar; ++k) th3[k] = 0.3 * (2 * tu_urand() - 1);
        memcpy(th3 + npar + nr2, rho_fg + nr2, (size_t)nr2 * sizeof(double));
        memcpy(th3 + npar + 2 * nr2 + nu2, rho_fg + 2 * nr2 + nu2, (size_t)(npar - 2 * nr2 - nu2) * sizeof(double));
        SP_CHECK(sp_smeam_sv_density(&C[c].sv, &L, 3, th3, n3, dn3, 2, w, wb) == SP_OK);
        for (i = 0; i < n; ++i) SP_CHECK(n3[n + i] == C[c].n[i]);
        for (i = 0; i < 3 * nb; ++i) SP_CHECK(dn3[3 * nb + i] == C[c].dn[i]);
        SP_CHECK(sp_smeam_sv_density(&C[c].sv, &L, 1, rho_fg, C[c].n, C[c].dn, 1, w, 10) == SP_ERR_WORKSPACE_TOO_SMALL);
        free(dn3);
        for (i = 0; i < n; ++i) {
            if (C[c].n[i] < lo) lo = C[c].n[i];
            if (C[c].n[i] > hi) hi = C[c].n[i];
        }
    }
    SP_CHECK(hi > lo);
    L.ulo = lo - 0.1 * (hi - lo);
    L.uhi = hi + 0.1 * (hi - lo);
    /* linear model: rows per configuration (energy per atom, forces) */
    for (c = 0; c < NCONF; ++c) nrow += 1 + 3 * C[c].cf.natoms;
    Er = (double *)calloc((size_t)NCONF * m, sizeof(double));
    Fr = (double *)calloc((size_t)nrow * m, sizeof(double));
    FU = (double *)malloc(3 * (size_t)NMAX * nu2 * sizeof(double));
    Fphi = (double *)malloc(3 * (size_t)NMAX * nr2 * sizeof(double));
    ub = 0;
    for (c = 0; c < NCONF; ++c)
        if (sp_smeam_sv_u_rows_workspace_size(&C[c].sv, &L) > ub) ub = sp_smeam_sv_u_rows_workspace_size(&C[c].sv, &L);
    uw = malloc(ub);
    for (c = 0, r = 0; c < NCONF; ++c) {
        const int n = C[c].cf.natoms;
        SP_CHECK(sp_smeam_sv_u_rows(&C[c].sv, &L, C[c].n, C[c].dn, eU, FU, uw, ub) == SP_OK);
        SP_CHECK(sp_smeam_sv_u_rows(&C[c].sv, &L, C[c].n, C[c].dn, eU, FU, uw,
                                    sp_smeam_sv_u_rows_workspace_size(&C[c].sv, &L) - 8) == SP_ERR_WORKSPACE_TOO_SMALL);
        sp_smeam_sv_phi_rows(&C[c].sv, ephi, Fphi);
        for (k = 0; k < nphi; ++k) Er[(size_t)c * m + k] = ephi[phimap[k]] / n;
        for (k = 0; k < nu2; ++k) Er[(size_t)c * m + nphi + k] = eU[k] / n;
        Er[(size_t)c * m + m - 1] = 1.0;
        for (i = 0; i < 3 * n; ++i, ++r) {
            for (k = 0; k < nphi; ++k) Fr[(size_t)r * m + k] = Fphi[(size_t)i * nr2 + phimap[k]];
            for (k = 0; k < nu2; ++k) Fr[(size_t)r * m + nphi + k] = FU[(size_t)i * nu2 + k];
        }
    }
    {
        sp_smeam_layout_t bad = L;
        bad.uhi = bad.ulo;
        SP_CHECK(sp_smeam_sv_u_rows(&C[0].sv, &bad, C[0].n, C[0].dn, eU, FU, uw, ub) == SP_ERR_BAD_ARG);
        SP_CHECK(sp_smeam_sv_u_rows(&C[0].sv, &L, C[0].n, NULL, eU, FU, uw, ub) == SP_ERR_BAD_ARG);
    }
    /* 1. the linear model equals sp_pot_compute of the assembled potential */
    for (j = 0; j < 4; ++j) {
        for (k = 0; k < m; ++k) lin[k] = 2.0 * (2 * tu_urand() - 1);
        direct(lin, e1, f1);
        for (c = 0, r = 0; c < NCONF; ++c) {
            double e = 0.0;
            for (k = 0; k < m; ++k) e += Er[(size_t)c * m + k] * lin[k];
            if (fabs(e - e1[c]) / (1.0 + fabs(e1[c])) > worst_e) worst_e = fabs(e - e1[c]) / (1.0 + fabs(e1[c]));
            for (i = 0; i < 3 * C[c].cf.natoms; ++i, ++r) {
                double f = 0.0;
                for (k = 0; k < m; ++k) f += Fr[(size_t)r * m + k] * lin[k];
                if (fabs(f - f1[r]) > worst_f) worst_f = fabs(f - f1[r]);
            }
        }
    }
    printf("variable projection: linear model vs sp_pot_compute over %d configurations: max rel dE %.2g, max |dF| %.2g\n",
           NCONF, worst_e, worst_f);
    SP_CHECK(worst_e <= 1e-10);
    SP_CHECK(worst_f <= 1e-10);
    /* 2. weighted normal equations (kappa 0.6, energies per atom, variances of the targets) */
    for (c = 0; c < NCONF; ++c) {
        se += C[c].eref / C[c].cf.natoms;
        se2 += (C[c].eref / C[c].cf.natoms) * (C[c].eref / C[c].cf.natoms);
        for (i = 0; i < 3 * C[c].cf.natoms; ++i) { sf += C[c].fref[i]; sf2 += C[c].fref[i] * C[c].fref[i]; ++nforce; }
    }
    we = 0.6 / (NCONF * (se2 / NCONF - (se / NCONF) * (se / NCONF)));
    wf = 0.4 / (nforce * (sf2 / nforce - (sf / nforce) * (sf / nforce)));
    G = (double *)calloc((size_t)m * m, sizeof(double));
    b = (double *)calloc((size_t)m, sizeof(double));
    th = (double *)calloc((size_t)m, sizeof(double));
    Pen = (double *)calloc((size_t)m * m, sizeof(double));
    for (c = 0, r = 0; c < NCONF; ++c) {
        const double *x = Er + (size_t)c * m, y = C[c].eref / C[c].cf.natoms;
        for (i = 0; i < m; ++i) {
            for (j = 0; j < m; ++j) G[(size_t)i * m + j] += we * x[i] * x[j];
            b[i] += we * x[i] * y;
        }
        yy += we * y * y;
        for (k = 0; k < 3 * C[c].cf.natoms; ++k, ++r) {
            const double *xf = Fr + (size_t)r * m, yf = C[c].fref[k];
            for (i = 0; i < m; ++i) {
                for (j = 0; j < m; ++j) G[(size_t)i * m + j] += wf * xf[i] * xf[j];
                b[i] += wf * xf[i] * yf;
            }
            yy += wf * yf * yf;
        }
    }
    SP_CHECK(sp_ridge_penalty_curvature(Pen, m, 0, L.nr - 1, 1e-4) == SP_OK);
    SP_CHECK(sp_ridge_penalty_curvature(Pen, m, nphi, L.nu, 1e-4) == SP_OK);
    SP_CHECK(sp_ridge_penalty_ridge(Pen, m, 0, m - 1, 1e-6) == SP_OK);
    memset(&sd, 0, sizeof sd);
    sd.P = Pen;
    sd = sp_ridge_solve_desc_defaults(&sd);
    sw = malloc(sp_ridge_solve_workspace_size(m));
    SP_CHECK(sp_ridge_solve_gram(m, G, m, b, &sd, th, NULL, sw, sp_ridge_solve_workspace_size(m)) == SP_OK);
    /* loss from the normal equations vs brute force */
    sse_ne = yy;
    for (i = 0; i < m; ++i) {
        double g = 0.0;
        for (j = 0; j < m; ++j) g += (G[(size_t)i * m + j] + Pen[(size_t)i * m + j]) * th[j];
        sse_ne += th[i] * (g - 2.0 * b[i]);
    }
    L0 = loss_direct(th);
    printf("variable projection: loss at the solution %.10g (normal equations %.10g)\n", L0, sse_ne);
    SP_CHECK_NEAR(sse_ne, L0, 1e-9, 1e-14);
    /* the solution is the minimum: perturbations along every parameter and random directions */
    q0 = th;
    {
        int worse = 0, tried = 0;
        double worst_ratio = 0.0;
        for (j = 0; j < m + 8; ++j) {
            double v[128], p1[128], p2[128], lp, lm, curv;
            for (k = 0; k < m; ++k) v[k] = (j < m) ? (k == j) : (2 * tu_urand() - 1);
            for (k = 0; k < m; ++k) {
                const double dl = 1e-2 * (1.0 + fabs(q0[k]));
                p1[k] = q0[k] + dl * v[k];
                p2[k] = q0[k] - dl * v[k];
            }
            lp = loss_direct(p1);
            lm = loss_direct(p2);
            curv = lp + lm - 2.0 * L0;
            ++tried;
            if (lp > L0 && lm > L0) ++worse;
            if (curv > 0 && fabs(lp - lm) / curv > worst_ratio) worst_ratio = fabs(lp - lm) / curv;
        }
        printf("variable projection: %d of %d perturbations raise the brute-force loss; max |first order| / second order %.2g\n",
               worse, tried, worst_ratio);
        SP_CHECK(worse == tried);
        SP_CHECK(worst_ratio <= 1e-5);
    }
    for (c = 0; c < NCONF; ++c) {
        sp_smeam_sv_free(&C[c].sv);
        free(C[c].dn);
    }
    free(w); free(uw); free(sw); free(Er); free(Fr); free(FU); free(Fphi); free(G); free(b); free(th); free(Pen);
    return sp_test_finish();
}
