/* >>spline: bit-identity with LAMMPS meam/spline arithmetic, basis vectors,
   natural end conditions, derivatives. */
#include "../splinepot.h"
#include "sp_test.h"
#include "test_util.h"

/* An independent transcription of the LAMMPS meam/spline arithmetic
   (../shared/FORMATS.md 1.4): separate arrays Xs, Y, Y2, Ydelta. */
typedef struct ref_spline_t {
    int n;
    double X[64], Xs[64], Y[64], Y2[64], Yd[64], d0, dN, xmin, xmax, h, hsq, inv_h;
} ref_spline_t;

static void ref_init(ref_spline_t *s, int n, const double *X, const double *Y, double d0, double dN) {
    double u[64], sig, p, qn, un;
    int i, k;
    s->n = n; s->d0 = d0; s->dN = dN;
    for (i = 0; i < n; ++i) { s->X[i] = X[i]; s->Y[i] = Y[i]; }
    s->Y2[0] = -0.5;
    u[0] = (3.0 / (X[1] - X[0])) * ((Y[1] - Y[0]) / (X[1] - X[0]) - d0);
    for (i = 1; i <= n - 2; i++) {
        sig = (X[i] - X[i - 1]) / (X[i + 1] - X[i - 1]);
        p = sig * s->Y2[i - 1] + 2.0;
        s->Y2[i] = (sig - 1.0) / p;
        u[i] = (Y[i + 1] - Y[i]) / (X[i + 1] - X[i]) - (Y[i] - Y[i - 1]) / (X[i] - X[i - 1]);
        u[i] = (6.0 * u[i] / (X[i + 1] - X[i - 1]) - sig * u[i - 1]) / p;
    }
    qn = 0.5;
    un = (3.0 / (X[n - 1] - X[n - 2])) * (dN - (Y[n - 1] - Y[n - 2]) / (X[n - 1] - X[n - 2]));
    s->Y2[n - 1] = (un - qn * u[n - 2]) / (qn * s->Y2[n - 2] + 1.0);
    for (k = n - 2; k >= 0; k--) s->Y2[k] = s->Y2[k] * s->Y2[k + 1] + u[k];
    s->xmin = X[0];
    s->xmax = X[n - 1];
    s->h = (s->xmax - s->xmin) / (n - 1);
    s->hsq = s->h * s->h;
    s->inv_h = 1.0 / s->h;
    for (i = 0; i < n; ++i) s->Xs[i] = X[i] - s->xmin;
    for (i = 0; i < n - 1; ++i) s->Yd[i] = (Y[i + 1] - Y[i]) / s->h;
    for (i = 0; i < n; ++i) s->Y2[i] /= s->h * 6.0;
    s->xmax = s->Xs[n - 1];
}

static double ref_eval(const ref_spline_t *s, double x, double *deriv) {
    x -= s->xmin;
    if (x <= 0.0) { *deriv = s->d0; return s->Y[0] + s->d0 * x; }
    if (x >= s->xmax) { *deriv = s->dN; return s->Y[s->n - 1] + s->dN * (x - s->xmax); }
    {
        int klo = (int)(x * s->inv_h), khi;
        double a, b;
        if (klo > s->n - 2) klo = s->n - 2;
        khi = klo + 1;
        a = s->Xs[khi] - x;
        b = s->h - a;
        *deriv = s->Yd[klo] + ((3.0 * b * b - s->hsq) * s->Y2[khi] - (3.0 * a * a - s->hsq) * s->Y2[klo]);
        return s->Y[khi] - a * s->Yd[klo] + ((a * a - s->hsq) * a * s->Y2[klo] + (b * b - s->hsq) * b * s->Y2[khi]);
    }
}

/* Reads the 5 splines of an old-format meam/spline file with sscanf (not the library parser). */
static int read_old_splines(const char *path, int *n, double X[5][64], double Y[5][64], double *d0, double *dN) {
    FILE *f = fopen(path, "r");
    char line[1024];
    int s, k;
    if (!f) return 0;
    if (!fgets(line, sizeof line, f)) return fclose(f), 0;
    for (s = 0; s < 5; ++s) {
        if (fscanf(f, "%d %lf %lf", &n[s], &d0[s], &dN[s]) != 3) return fclose(f), 0;
        if (!fgets(line, sizeof line, f) || !fgets(line, sizeof line, f)) return fclose(f), 0; /* rest + flag line */
        for (k = 0; k < n[s]; ++k) {
            double y2;
            if (fscanf(f, "%lf %lf %lf", &X[s][k], &Y[s][k], &y2) != 3) return fclose(f), 0;
        }
    }
    fclose(f);
    return 1;
}

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

static void test_lammps_bits(void) {
    char path[1024];
    int n[5], s, k, bad = 0;
    double X[5][64], Y[5][64], d0[5], dN[5];
    sp_pot_t pot;
    sp_diag_t d;
    snprintf(path, sizeof path, "%s/Si_1.meam.spline", tu_potdir());
    if (!read_old_splines(path, n, X, Y, d0, dN)) {
        SP_SKIP("Si_1.meam.spline not found (install Debian lammps-data)");
        return;
    }
    memset(&pot, 0, sizeof pot);
    memset(&d, 0, sizeof d);
    SP_CHECK(sp_pot_read_file(&pot, path, &d) == SP_OK);
    for (s = 0; s < 5; ++s) {
        ref_spline_t ref;
        sp_spline_t sp;
        const sp_spline_t *from_file = pot.meam.phi + s;
        ref_init(&ref, n[s], X[s], Y[s], d0[s], dN[s]);
        SP_CHECK(sp_spline_init(&sp, n[s], X[s], Y[s], d0[s], dN[s]) == SP_OK);
        for (k = 0; k < 100000; ++k) {
            /* inside, outside, exactly on knots and one ulp around the last knot */
            double span = X[s][n[s] - 1] - X[s][0], x, v1, v2, v3, g1, g2, g3;
            int m = k % 10;
            if (m < 6) x = X[s][0] + span * tu_urand();
            else if (m < 8) x = X[s][0] + span * (3.0 * tu_urand() - 1.0);
            else if (m == 8) x = X[s][(k / 10) % n[s]];
            else x = nextafter(X[s][n[s] - 1], (k & 1) ? 0.0 : 1e9);
            v1 = ref_eval(&ref, x, &g1);
            v2 = sp_spline_eval(&sp, x, &g2);
            v3 = sp_spline_eval(from_file, x, &g3);
            if (!same_bits(v1, v2) || !same_bits(g1, g2) || !same_bits(v1, v3) || !same_bits(g1, g3)) ++bad;
        }
    }
    SP_CHECK(bad == 0);
    if (bad) printf("  %d of 500000 points differ in bits from the LAMMPS arithmetic\n", bad);
    sp_pot_free(&pot);
}

/* phi(r) of Si_1 as LAMMPS computes it (dimer energies, tests/data/lmp_phi_Si_1.txt) */
static void test_lammps_dimers(void) {
    FILE *f = fopen("tests/data/lmp_phi_Si_1.txt", "r");
    char path[1024], line[512];
    sp_pot_t pot;
    sp_diag_t d;
    int cnt = 0, bad = 0;
    if (!f) { SP_SKIP("tests/data/lmp_phi_Si_1.txt missing"); return; }
    snprintf(path, sizeof path, "%s/reference/potentials/Si_1_phi_only.meam.spline", tu_shared());
    memset(&pot, 0, sizeof pot);
    memset(&d, 0, sizeof d);
    if (sp_pot_read_file(&pot, path, &d) != SP_OK) {
        SP_SKIP("../shared/reference/potentials/Si_1_phi_only.meam.spline missing");
        fclose(f);
        return;
    }
    while (fgets(line, sizeof line, f)) {
        double r, e, fx, de;
        if (line[0] == '#' || sscanf(line, "%lf %lf %lf", &r, &e, &fx) != 3) continue;
        ++cnt;
        if (!same_bits(sp_spline_eval(pot.meam.phi, r, &de), e)) ++bad;
    }
    fclose(f);
    SP_CHECK(cnt >= 1000);
    SP_CHECK(bad == 0);
    if (bad) printf("  %d of %d LAMMPS dimer energies differ in bits\n", bad, cnt);
    sp_pot_free(&pot);
}

static void test_basis(sp_spline_bc_t bc) {
    double x[12], th[14], M[12 * 14], sv[14], ds[14];
    double worst = 0.0, worstd = 0.0;
    int n = 9, k, l;
    sp_spline_t s;
    for (k = 0; k < n; ++k) x[k] = 1.5 + 0.35 * k;
    for (l = 0; l < n + 2; ++l) th[l] = 2.0 * tu_urand() - 1.0;
    SP_CHECK(sp_spline_init_bc(&s, n, x, th, bc, th[n], th[n + 1]) == SP_OK);
    SP_CHECK(sp_spline_basis_matrix(n, x, bc, M) == SP_OK);
    for (k = 0; k < 20000; ++k) {
        double xv = 0.5 + 5.0 * tu_urand(), dv, v = sp_spline_eval(&s, xv, &dv), sum = 0.0, dsum = 0.0, mag = 0.0;
        sp_spline_basis(n, x, bc, M, xv, sv, ds);
        for (l = 0; l < n + 2; ++l) { sum += sv[l] * th[l]; dsum += ds[l] * th[l]; mag += fabs(sv[l] * th[l]); }
        /* relative to the scale of the dot product, sum |s_l theta_l| */
        if (fabs(sum - v) / mag > worst) worst = fabs(sum - v) / mag;
        if (fabs(dsum - dv) / (fabs(dv) + 1.0) > worstd) worstd = fabs(dsum - dv) / (fabs(dv) + 1.0);
    }
    SP_CHECK(worst <= 1e-14);
    SP_CHECK(worstd <= 1e-13);
    if (worst > 1e-14 || worstd > 1e-13) printf("  basis: rel err %.3g, deriv %.3g (bc %d)\n", worst, worstd, bc);
}

static void test_properties(void) {
    double x[7] = {0, 1, 2, 3, 4, 5, 6}, y[7] = {1, -2, 0.5, 3, 0, 1, -1}, d, dd, v;
    sp_spline_t s;
    int k;
    SP_CHECK(sp_spline_init(&s, 7, x, y, 0.7, -1.3) == SP_OK);
    for (k = 0; k < 7; ++k) SP_CHECK_NEAR(sp_spline_eval(&s, x[k], NULL), y[k], 1e-14, 1e-14);
    sp_spline_eval(&s, 0.0, &d);
    SP_CHECK(d == 0.7);
    sp_spline_eval(&s, 6.0, &d);
    SP_CHECK(d == -1.3);
    /* derivative vs central differences inside, and linear extrapolation outside */
    for (k = 0; k < 200; ++k) {
        double xv = 0.01 + 5.98 * tu_urand(), h = 1e-6;
        sp_spline_eval(&s, xv, &d);
        dd = (sp_spline_eval(&s, xv + h, NULL) - sp_spline_eval(&s, xv - h, NULL)) / (2 * h);
        SP_CHECK_NEAR(d, dd, 1e-7, 1e-7);
    }
    v = sp_spline_eval(&s, -2.0, &d);
    SP_CHECK_NEAR(v, 1.0 + 0.7 * -2.0, 1e-15, 1e-15);
    v = sp_spline_eval(&s, 9.0, &d);
    SP_CHECK_NEAR(v, -1.0 - 1.3 * 3.0, 1e-15, 1e-15);
    /* natural end condition: p = h^2 y'' at the ends; p = 0 gives zero curvature */
    SP_CHECK(sp_spline_init_bc(&s, 7, x, y, SP_SPLINE_NATURAL, 0.0, 0.0) == SP_OK);
    {
        double h = 1e-4, c0, c1;
        c0 = (sp_spline_eval(&s, 2 * h, NULL) - 2 * sp_spline_eval(&s, h, NULL) + y[0]) / (h * h);
        c1 = (y[6] - 2 * sp_spline_eval(&s, 6 - h, NULL) + sp_spline_eval(&s, 6 - 2 * h, NULL)) / (h * h);
        SP_CHECK_NEAR(c0, 0.0, 0, 1e-3);
        SP_CHECK_NEAR(c1, 0.0, 0, 1e-3);
        sp_spline_eval(&s, 0.0, &d);
        sp_spline_eval(&s, -1.0, &dd);
        SP_CHECK(d == dd);
    }
    /* bad input */
    SP_CHECK(sp_spline_init(&s, 1, x, y, 0, 0) == SP_ERR_BAD_ARG);
    x[3] = 3.2;
    SP_CHECK(sp_spline_init(&s, 7, x, y, 0, 0) == SP_ERR_BAD_ARG); /* not uniform */
    x[3] = 3.0;
    y[2] = NAN;
    SP_CHECK(sp_spline_init(&s, 7, x, y, 0, 0) == SP_ERR_NOT_FINITE);
}

int main(void) {
    test_lammps_bits();
    test_lammps_dimers();
    test_basis(SP_SPLINE_CLAMPED);
    test_basis(SP_SPLINE_NATURAL);
    test_properties();
    return sp_test_finish();
}
