/* >>bspline: basis values against the Cox-de Boor recursion, partition of
   unity, derivatives against finite differences, uf3 knot conventions. */
#include "../splinepot.h"
#include "sp_test.h"
#include "test_util.h"

/* Cox-de Boor recursion, written directly from the definition */
static double cox(const double *t, int i, int p, double x, int nt) {
    double a = 0.0, b = 0.0;
    if (p == 0) {
        if (t[i] <= x && x < t[i + 1]) return 1.0;
        /* the last non-empty interval is closed on the right */
        if (x == t[nt - 1] && t[i] < t[i + 1] && t[i + 1] == t[nt - 1]) return 1.0;
        return 0.0;
    }
    if (t[i + p] > t[i]) a = (x - t[i]) / (t[i + p] - t[i]) * cox(t, i, p - 1, x, nt);
    if (t[i + p + 1] > t[i + 1]) b = (t[i + p + 1] - x) / (t[i + p + 1] - t[i + 1]) * cox(t, i + 1, p - 1, x, nt);
    return a + b;
}

static void check_knots(const double *t, int nt) {
    int k, j, nb = nt - 4, bad = 0, bad_fd = 0, bad_pu = 0;
    sp_bspline_t bs;
    double c[64];
    SP_CHECK(sp_bspline_init(&bs, t, nt) == SP_OK);
    for (j = 0; j < nb; ++j) c[j] = 2 * tu_urand() - 1;
    for (k = 0; k < 4000; ++k) {
        double x = t[0] + (t[nt - 1] - t[0]) * tu_urand(), b[4], db[4], d2b[4], b2[4], db2[4], sum = 0;
        int i0 = sp_bspline_basis(t, nt, x, b, db, d2b), i1, m;
        if (k == 0) x = t[0];
        if (k == 1) x = t[nt - 1];
        if (k < 2) i0 = sp_bspline_basis(t, nt, x, b, db, d2b);
        for (m = 0; m < nb; ++m) {
            double v = cox(t, m, 3, x, nt), mine = (m >= i0 && m < i0 + 4) ? b[m - i0] : 0.0;
            if (fabs(v - mine) > 1e-13) ++bad;
        }
        for (m = 0; m < 4; ++m) sum += b[m];
        if (fabs(sum - 1.0) > 1e-13) ++bad_pu;
        i1 = sp_bspline_basis_fast(&bs, x, b2, db2);
        SP_CHECK(i1 == i0);
        for (m = 0; m < 4; ++m) if (b2[m] != b[m] || db2[m] != db[m]) ++bad;
        /* derivatives of the curve vs central differences, away from knots */
        if (k >= 2) {
            double h = 1e-6, d, d2, vp, vm, v0;
            v0 = sp_bspline_eval(&bs, c, x, &d, &d2);
            if (x - 2 * h > t[0] && x + 2 * h < t[nt - 1]) {
                vp = sp_bspline_eval(&bs, c, x + h, NULL, NULL);
                vm = sp_bspline_eval(&bs, c, x - h, NULL, NULL);
                if (fabs((vp - vm) / (2 * h) - d) > 1e-6 * (1 + fabs(d))) ++bad_fd;
                {
                    double dp, dm;
                    sp_bspline_eval(&bs, c, x + h, &dp, NULL);
                    sp_bspline_eval(&bs, c, x - h, &dm, NULL);
                    if (fabs((dp - dm) / (2 * h) - d2) > 1e-4 * (1 + fabs(d2))) {
                        /* a knot inside [x-h, x+h] makes the second derivative jump */
                        int near_knot = 0, q;
                        for (q = 0; q < nt; ++q) if (fabs(t[q] - x) < 2 * h) near_knot = 1;
                        if (!near_knot) ++bad_fd;
                    }
                }
            }
            (void)v0;
        }
    }
    SP_CHECK(bad == 0);
    SP_CHECK(bad_pu == 0);
    SP_CHECK(bad_fd == 0);
    if (bad || bad_pu || bad_fd) printf("  nt=%d: basis %d, unity %d, fd %d\n", nt, bad, bad_pu, bad_fd);
}

int main(void) {
    double t[64], tn[16] = {1, 1, 1, 1, 1.3, 2.0, 2.2, 3.1, 4.0, 4.0, 4.0, 4.0};
    double b[4];
    int nt = sp_bspline_knots_uniform(1.5, 5.5, 25, t);
    SP_CHECK(nt == 32);
    SP_CHECK(t[0] == 1.5 && t[3] == 1.5 && t[4] == 1.66 && t[31] == 5.5);
    /* uf3 rounds knots to 10 decimals: 1.8333333333 */
    nt = sp_bspline_knots_uniform(1.5, 3.5, 6, t);
    SP_CHECK(nt == 13 && t[4] == 1.8333333333);
    check_knots(t, nt);
    nt = sp_bspline_knots_uniform(1.5, 5.5, 25, t);
    check_knots(t, nt);
    check_knots(tn, 12); /* non-uniform interior */
    /* outside the knots every basis is zero */
    SP_CHECK(sp_bspline_basis(t, nt, 1.4999, b, NULL, NULL) == -1);
    SP_CHECK(b[0] == 0 && b[3] == 0);
    SP_CHECK(sp_bspline_basis(t, nt, 5.5001, b, NULL, NULL) == -1);
    /* bad knot vectors */
    {
        sp_bspline_t bs;
        double bad[12] = {1, 1, 1, 2, 3, 4, 5, 6, 6, 6, 6, 6};
        SP_CHECK(sp_bspline_init(&bs, bad, 12) == SP_ERR_BAD_ARG);
        bad[0] = 1; bad[3] = 1; bad[4] = 0.5;
        SP_CHECK(sp_bspline_init(&bs, bad, 12) == SP_ERR_BAD_ARG);
        SP_CHECK(sp_bspline_init(&bs, bad, 5) == SP_ERR_BAD_ARG);
    }
    return sp_test_finish();
}
