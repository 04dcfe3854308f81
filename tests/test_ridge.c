/* test_ridge.c - >>ridge: streaming normal equations, penalties, solver.
   cc -std=c99 -O2 -I. tests/test_ridge.c -lm   (add -fopenmp for the
   thread-count determinism check) */
#include "../splinepot.h"
#include "sp_test.h"
#include <stdlib.h>
#include <string.h>
#include <math.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* --- small helpers, independent of the library --- */

static uint64_t rng_state = 88172645463325252ULL;
static double urand(void) { /* xorshift64*, uniform in [-1, 1) */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ULL) >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

/* Least squares min ||A c - y|| by modified Gram-Schmidt on the augmented
   matrix [A y] (backward stable for LS, Bjorck 1967). A: m x n row-major.
   Returns the numerical rank test: 0 if a column vanished. */
static int ls_mgs(int m, int n, const double *A, const double *y, double *c) {
    double *Q = (double *)malloc(sizeof(double) * (size_t)m * (n + 1));
    double *R = (double *)calloc((size_t)(n + 1) * (n + 1), sizeof(double));
    int i, j, k, ok = 1;
    for (i = 0; i < m; ++i) {
        for (j = 0; j < n; ++j) Q[(size_t)j * m + i] = A[(size_t)i * n + j];
        Q[(size_t)n * m + i] = y[i];
    }
    for (k = 0; k <= n; ++k) {
        double *qk = Q + (size_t)k * m, nrm = 0.0;
        if (k == n) { /* only project the right-hand side */
            break;
        }
        for (i = 0; i < m; ++i) nrm += qk[i] * qk[i];
        nrm = sqrt(nrm);
        if (nrm == 0.0) { ok = 0; nrm = 1.0; }
        R[k * (n + 1) + k] = nrm;
        for (i = 0; i < m; ++i) qk[i] /= nrm;
        for (j = k + 1; j <= n; ++j) {
            double *qj = Q + (size_t)j * m, s = 0.0;
            for (i = 0; i < m; ++i) s += qk[i] * qj[i];
            R[k * (n + 1) + j] = s;
            for (i = 0; i < m; ++i) qj[i] -= s * qk[i];
        }
    }
    for (k = n - 1; k >= 0; --k) {
        double s = R[k * (n + 1) + n];
        for (j = k + 1; j < n; ++j) s -= R[k * (n + 1) + j] * c[j];
        c[k] = s / R[k * (n + 1) + k];
    }
    free(Q);
    free(R);
    return ok;
}

static double resid_norm(int m, int n, const double *A, const double *y, const double *c) {
    double s = 0.0;
    int i, j;
    for (i = 0; i < m; ++i) {
        double r = -y[i];
        for (j = 0; j < n; ++j) r += A[(size_t)i * n + j] * c[j];
        s += r * r;
    }
    return sqrt(s);
}

static double vnorm(int n, const double *v) {
    double s = 0.0;
    int i;
    for (i = 0; i < n; ++i) s += v[i] * v[i];
    return sqrt(s);
}

static double max_rel_diff(int n, const double *a, const double *b) {
    double d = 0.0, s = 0.0;
    int i;
    for (i = 0; i < n; ++i) {
        if (fabs(a[i] - b[i]) > d) d = fabs(a[i] - b[i]);
        if (fabs(b[i]) > s) s = fabs(b[i]);
    }
    return d / (s > 0.0 ? s : 1.0);
}

static sp_result_t fit(int m, int p, const double *X, const double *y, const double *w,
                       const sp_ridge_solve_desc_t *sd, double *c, sp_ridge_info_t *info) {
    sp_ridge_desc_t d;
    sp_ridge_t acc;
    sp_result_t r;
    memset(&d, 0, sizeof d);
    d.p = p;
    if (sp_ridge_create(&acc, &d) != SP_OK) return SP_ERR_NO_MEMORY;
    r = sp_ridge_add_rows(&acc, m, X, p, y, w);
    if (r == SP_OK) r = sp_ridge_solve(&acc, sd, c, info);
    sp_ridge_destroy(&acc);
    return r;
}

/* --- tests --- */

static void test_hand_solved(void) {
    /* X = [1 0; 0 1; 1 1], y = (1, 2, 4): G = [2 1; 1 2], b = (5, 6),
       c = G^-1 b = (4/3, 7/3), y^T y = 21, SSE = 21 - 2 c.b + c^T G c = 1/3. */
    double X[6] = {1, 0, 0, 1, 1, 1}, y[3] = {1, 2, 4}, c[2], G[4];
    sp_ridge_desc_t d;
    sp_ridge_t acc;
    sp_ridge_info_t info;
    memset(&d, 0, sizeof d);
    d.p = 2;
    SP_CHECK(sp_ridge_create(&acc, &d) == SP_OK);
    SP_CHECK(sp_ridge_add_rows(&acc, 3, X, 2, y, NULL) == SP_OK);
    SP_CHECK(sp_ridge_get_gram(&acc, G) == SP_OK);
    SP_CHECK(G[0] == 2.0 && G[1] == 1.0 && G[2] == 1.0 && G[3] == 2.0);
    SP_CHECK(acc.b[0] == 5.0 && acc.b[1] == 6.0);
    SP_CHECK(acc.yty == 21.0 && acc.ysum == 7.0 && acc.wsum == 3.0 && acc.nrows == 3);
    SP_CHECK(sp_ridge_solve(&acc, NULL, c, &info) == SP_OK);
    SP_CHECK_NEAR(c[0], 4.0 / 3.0, 1e-15, 0);
    SP_CHECK_NEAR(c[1], 7.0 / 3.0, 1e-15, 0);
    SP_CHECK(info.method == SP_RIDGE_CHOLESKY && info.rank == 2 && info.n_free == 2);
    SP_CHECK(info.cond >= 1.0 && info.cond < 10.0);
    SP_CHECK_NEAR(sp_ridge_sse(&acc, c), 1.0 / 3.0, 0, 1e-13); /* cancellation: ~eps * y^T y */
    /* same system through the eigen path */
    {
        sp_ridge_solve_desc_t sd;
        memset(&sd, 0, sizeof sd);
        sd.method = SP_RIDGE_EIGEN;
        SP_CHECK(sp_ridge_solve(&acc, &sd, c, &info) == SP_OK);
        SP_CHECK(info.method == SP_RIDGE_EIGEN && info.rank == 2);
        SP_CHECK_NEAR(c[0], 4.0 / 3.0, 1e-14, 0);
        SP_CHECK_NEAR(c[1], 7.0 / 3.0, 1e-14, 0);
        SP_CHECK_NEAR(info.cond, 3.0, 1e-14, 0);
    }
    /* weights: w = (1, 1, 0) drops the third row: c = (1, 2) */
    {
        double w[3] = {1, 1, 0};
        SP_CHECK(fit(3, 2, X, y, w, NULL, c, &info) == SP_OK);
        SP_CHECK_NEAR(c[0], 1.0, 1e-15, 0);
        SP_CHECK_NEAR(c[1], 2.0, 1e-15, 0);
    }
    sp_ridge_destroy(&acc);
}

static void test_random_overdetermined(void) {
    enum { M = 700, P = 37 };
    double *X = (double *)malloc(sizeof(double) * M * P), *Xw = (double *)malloc(sizeof(double) * M * P);
    double y[M], w[M], yw[M], c[P], cref[P], G1[P * P], G2[P * P], Gn[P * P];
    sp_ridge_desc_t d;
    sp_ridge_t a1, a2;
    sp_ridge_info_t info;
    int i, j, k, same;
    for (i = 0; i < M; ++i) {
        for (j = 0; j < P; ++j) X[i * P + j] = urand() + (j % 5 == 0 ? 0.3 : 0.0);
        y[i] = urand() * 3.0;
        w[i] = 0.5 + 0.5 * (urand() + 1.0);
        for (j = 0; j < P; ++j) Xw[i * P + j] = sqrt(w[i]) * X[i * P + j];
        yw[i] = sqrt(w[i]) * y[i];
    }
    ls_mgs(M, P, Xw, yw, cref);
    memset(&d, 0, sizeof d);
    d.p = P;
    d.block_rows = 64;
    SP_CHECK(sp_ridge_create(&a1, &d) == SP_OK);
    SP_CHECK(sp_ridge_create(&a2, &d) == SP_OK);
    /* a1: all rows at once; a2: uneven chunks (1, 2, 3, ... rows) */
    SP_CHECK(sp_ridge_add_rows(&a1, M, X, P, y, w) == SP_OK);
    for (i = 0, k = 1; i < M; i += k, ++k) {
        int n = M - i < k ? M - i : k;
        SP_CHECK(sp_ridge_add_rows(&a2, n, X + (size_t)i * P, P, y + i, w + i) == SP_OK);
    }
    SP_CHECK(sp_ridge_get_gram(&a1, G1) == SP_OK);
    SP_CHECK(sp_ridge_get_gram(&a2, G2) == SP_OK);
    SP_CHECK(memcmp(G1, G2, sizeof G1) == 0); /* bitwise: independent of call sizes */
    SP_CHECK(memcmp(a1.b, a2.b, sizeof(double) * P) == 0);
    /* G against a naive sum */
    for (i = 0; i < P; ++i)
        for (j = 0; j < P; ++j) {
            double s = 0.0;
            for (k = 0; k < M; ++k) s += Xw[k * P + i] * Xw[k * P + j];
            Gn[i * P + j] = s;
        }
    SP_CHECK(max_rel_diff(P * P, G1, Gn) < 1e-13);
    same = 1;
    for (i = 0; i < P; ++i)
        for (j = 0; j < i; ++j) same &= a1.G[i * P + j] == 0.0;
    SP_CHECK(same); /* lower triangle untouched */
    SP_CHECK(sp_ridge_solve(&a1, NULL, c, &info) == SP_OK);
    SP_CHECK(info.method == SP_RIDGE_CHOLESKY && info.rank == P);
    SP_CHECK(max_rel_diff(P, c, cref) < 1e-12);
    SP_CHECK_NEAR(sp_ridge_sse(&a1, c), pow(resid_norm(M, P, Xw, yw, cref), 2), 1e-10, 0);
    /* reset and refill gives the same bits */
    sp_ridge_reset(&a2);
    SP_CHECK(a2.nrows == 0 && a2.pending == 0);
    SP_CHECK(sp_ridge_add_rows(&a2, M, X, P, y, w) == SP_OK);
    sp_ridge_flush(&a2);
    SP_CHECK(memcmp(a1.G, a2.G, sizeof(double) * P * P) == 0);
    sp_ridge_destroy(&a1);
    sp_ridge_destroy(&a2);
    free(X);
    free(Xw);
}

/* Monomial (Vandermonde) design on t in [0, 1]: exact data y = X c_true. */
static void test_ill_conditioned(void) {
    enum { M = 400, PMAX = 16 };
    static double X[M * PMAX], y[M];
    double c[PMAX], cref[PMAX], ctrue[PMAX] = {0}; /* zeroed for cppcheck (filled per case below) */
    int pcase, i, j;
    const int ps[3] = {8, 10, 16};
    for (pcase = 0; pcase < 3; ++pcase) {
        int p = ps[pcase];
        sp_ridge_solve_desc_t sd;
        sp_ridge_info_t info;
        double ynorm, r_auto, r_chol = -1.0, r_qr, e_auto, e_chol = -1.0, e_qr;
        sp_result_t rc;
        for (j = 0; j < p; ++j) ctrue[j] = 1.0;
        for (i = 0; i < M; ++i) {
            double t = (double)i / (M - 1), v = 1.0;
            y[i] = 0.0;
            for (j = 0; j < p; ++j) {
                X[i * p + j] = v;
                y[i] += v * ctrue[j];
                v *= t;
            }
        }
        ynorm = vnorm(M, y);
        ls_mgs(M, p, X, y, cref);
        r_qr = resid_norm(M, p, X, y, cref) / ynorm;
        e_qr = max_rel_diff(p, cref, ctrue);
        SP_CHECK(fit(M, p, X, y, NULL, NULL, c, &info) == SP_OK);
        r_auto = resid_norm(M, p, X, y, c) / ynorm;
        e_auto = max_rel_diff(p, c, ctrue);
        memset(&sd, 0, sizeof sd);
        sd.method = SP_RIDGE_CHOLESKY;
        rc = fit(M, p, X, y, NULL, &sd, c, NULL);
        if (rc == SP_OK) {
            r_chol = resid_norm(M, p, X, y, c) / ynorm;
            e_chol = max_rel_diff(p, c, ctrue);
        }
        printf("vandermonde p=%2d: cond(equilibrated G) ~ %.2e, method %s rank %d\n"
               "   relative residual: auto %.2e  plain Cholesky %s%.2e  MGS-QR %.2e\n"
               "   max coefficient error: auto %.2e  plain Cholesky %.2e  MGS-QR %.2e\n",
               p, info.cond, info.method == SP_RIDGE_EIGEN ? "eigen" : "cholesky", info.rank,
               r_auto, rc == SP_OK ? "" : "(failed) ", r_chol, r_qr, e_auto, e_chol, e_qr);
        if (pcase == 0) {
            /* cond ~ 1e10: Cholesky path, coefficients to ~cond * eps */
            SP_CHECK(info.cond > 1e8 && info.cond <= 1e10 && info.method == SP_RIDGE_CHOLESKY);
            SP_CHECK(r_auto < 1e-10);
            SP_CHECK(e_auto < 1e-4);
        } else if (pcase == 1) {
            /* cond ~ 1e12..1e14 > cond_max: eigen path, still residual-optimal */
            SP_CHECK(info.cond > 1e11 && info.cond < 1e15 && info.method == SP_RIDGE_EIGEN);
            SP_CHECK(r_auto < 1e-9);
        } else {
            /* cond(G) >> 1/eps: the eigen fallback keeps a residual-optimal, bounded answer */
            SP_CHECK(info.method == SP_RIDGE_EIGEN);
            SP_CHECK(info.rank < p);
            SP_CHECK(r_auto < 1e-7);
            SP_CHECK(vnorm(p, c) < 100.0 * vnorm(p, ctrue) || rc != SP_OK);
            SP_CHECK(rc != SP_OK || r_chol > 10.0 * r_auto); /* plain Cholesky is worse or fails */
        }
    }
}

static void test_rank_deficient(void) {
    enum { M = 120, P = 6 };
    double X[M * P], Xr[M * (P - 1)], y[M], c[P], cr[P - 1];
    sp_ridge_info_t info;
    int i, j;
    for (i = 0; i < M; ++i) {
        for (j = 0; j < P - 1; ++j) Xr[i * (P - 1) + j] = urand();
        y[i] = urand();
        for (j = 0; j < P - 1; ++j) X[i * P + j] = Xr[i * (P - 1) + j];
        X[i * P + P - 1] = X[i * P + 1]; /* duplicate of column 1 */
    }
    ls_mgs(M, P - 1, Xr, y, cr);
    SP_CHECK(fit(M, P, X, y, NULL, NULL, c, &info) == SP_OK);
    SP_CHECK(info.method == SP_RIDGE_EIGEN);
    SP_CHECK(info.rank == P - 1);
    /* minimum norm: the duplicate pair splits the weight equally */
    SP_CHECK_NEAR(c[1], c[P - 1], 1e-9, 1e-12);
    SP_CHECK_NEAR(c[1] + c[P - 1], cr[1], 1e-9, 1e-12);
    SP_CHECK_NEAR(c[0], cr[0], 1e-9, 1e-12);
    SP_CHECK_NEAR(resid_norm(M, P, X, y, c), resid_norm(M, P - 1, Xr, y, cr), 1e-12, 0);
    /* forcing Cholesky: either singular or a valid least-squares solution */
    {
        sp_ridge_solve_desc_t sd;
        sp_result_t rc;
        memset(&sd, 0, sizeof sd);
        sd.method = SP_RIDGE_CHOLESKY;
        rc = fit(M, P, X, y, NULL, &sd, c, &info);
        SP_CHECK(rc == SP_ERR_SINGULAR || rc == SP_OK);
    }
    /* an all-zero column is set to 0 and reported */
    for (i = 0; i < M; ++i) X[i * P + P - 1] = 0.0;
    SP_CHECK(fit(M, P, X, y, NULL, NULL, c, &info) == SP_OK);
    SP_CHECK(info.n_zero == 1 && info.rank == P - 1 && info.method == SP_RIDGE_CHOLESKY);
    SP_CHECK(c[P - 1] == 0.0);
    SP_CHECK_NEAR(c[1], cr[1], 1e-11, 0);
}

static void test_frozen(void) {
    enum { M = 200, P = 9 };
    /* Xr zeroed: cppcheck cannot follow the k++ fill below (uninitvar) */
    double X[M * P], Xr[M * (P - 2)] = {0}, y[M], yr[M], c[P], cr[P - 2];
    int frozen[2] = {7, 2};
    double fval[2] = {0.0, 1.5};
    sp_ridge_solve_desc_t sd;
    sp_ridge_info_t info;
    int i, j, k;
    for (i = 0; i < M; ++i) {
        for (j = 0; j < P; ++j) X[i * P + j] = urand();
        y[i] = urand();
        yr[i] = y[i] - 1.5 * X[i * P + 2];
        for (j = 0, k = 0; j < P; ++j)
            if (j != 2 && j != 7) Xr[i * (P - 2) + k++] = X[i * P + j];
    }
    ls_mgs(M, P - 2, Xr, yr, cr);
    memset(&sd, 0, sizeof sd);
    sd.n_frozen = 2;
    sd.frozen = frozen;
    sd.frozen_values = fval;
    SP_CHECK(fit(M, P, X, y, NULL, &sd, c, &info) == SP_OK);
    SP_CHECK(info.n_free == P - 2 && info.rank == P - 2);
    SP_CHECK(c[7] == 0.0 && c[2] == 1.5);
    for (j = 0, k = 0; j < P; ++j)
        if (j != 2 && j != 7) SP_CHECK_NEAR(c[j], cr[k++], 1e-11, 1e-13);
    /* everything frozen: c = frozen values */
    {
        int all[P];
        for (j = 0; j < P; ++j) all[j] = j;
        sd.n_frozen = P;
        sd.frozen = all;
        sd.frozen_values = NULL;
        SP_CHECK(fit(M, P, X, y, NULL, &sd, c, &info) == SP_OK);
        SP_CHECK(info.n_free == 0 && c[0] == 0.0 && c[P - 1] == 0.0);
    }
}

static void test_penalties(void) {
    enum { M = 60, P = 12, NA = M + 4 + 8 + 8 };
    /* ridge lam1 on columns 0..3, curvature lam2 on columns 4..11; column 4
       frozen at 0.25: compare with augmented least squares solved by MGS */
    double X[M * P], y[M], c[P], P_[P * P], A[NA * P], ya[NA], ca[P], Q[P * P];
    double lam1 = 0.3, lam2 = 2.0;
    sp_ridge_solve_desc_t sd;
    sp_ridge_info_t info;
    int i, j, r;
    for (i = 0; i < M; ++i) {
        for (j = 0; j < P; ++j) X[i * P + j] = urand();
        y[i] = urand();
    }
    memset(P_, 0, sizeof P_);
    SP_CHECK(sp_ridge_penalty_ridge(P_, P, 0, 4, lam1) == SP_OK);
    SP_CHECK(sp_ridge_penalty_curvature(P_, P, 4, 8, lam2) == SP_OK);
    for (i = 0; i < P; ++i)
        for (j = 0; j < P; ++j) SP_CHECK(P_[i * P + j] == P_[j * P + i]);
    /* augmented rows: [X; sqrt(lam1) I_0..3; sqrt(lam2) D_4..11] */
    memset(A, 0, sizeof A);
    memset(ya, 0, sizeof ya);
    memcpy(A, X, sizeof X);
    memcpy(ya, y, sizeof y);
    for (r = 0; r < 4; ++r) A[(M + r) * P + r] = sqrt(lam1);
    for (r = 0; r < 8; ++r) {
        double *row = A + (size_t)(M + 4 + r) * P;
        if (r > 0) row[4 + r - 1] = sqrt(lam2);
        row[4 + r] = (r == 0 || r == 7 ? -1.0 : -2.0) * sqrt(lam2);
        if (r < 7) row[4 + r + 1] = sqrt(lam2);
    }
    /* frozen column 4 at 0.25: move to the right-hand side, zero the column */
    for (r = 0; r < M + 12; ++r) {
        ya[r] -= 0.25 * A[r * P + 4];
        A[r * P + 4] = 0.0;
    }
    /* MGS needs full column rank: drop column 4 by placing a unit row (value 0 target) */
    A[(M + 12) * P + 4] = 1.0;
    ya[M + 12] = 0.0;
    ls_mgs(M + 13, P, A, ya, ca);
    ca[4] = 0.25;
    {
        int fz = 4;
        double fv = 0.25;
        memset(&sd, 0, sizeof sd);
        sd.P = P_;
        sd.n_frozen = 1;
        sd.frozen = &fz;
        sd.frozen_values = &fv;
        SP_CHECK(fit(M, P, X, y, NULL, &sd, c, &info) == SP_OK);
        SP_CHECK(max_rel_diff(P, c, ca) < 1e-12);
    }
    /* the same curvature from sparse rows */
    {
        int start[9], cols[22], n = 0;
        double vals[22];
        memset(Q, 0, sizeof Q);
        for (r = 0; r < 8; ++r) {
            start[r] = n;
            if (r > 0) { cols[n] = 4 + r - 1; vals[n++] = 1.0; }
            cols[n] = 4 + r; vals[n++] = (r == 0 || r == 7) ? -1.0 : -2.0;
            if (r < 7) { cols[n] = 4 + r + 1; vals[n++] = 1.0; }
        }
        start[8] = n;
        SP_CHECK(sp_ridge_penalty_ridge(Q, P, 0, 4, lam1) == SP_OK);
        SP_CHECK(sp_ridge_penalty_rows(Q, P, 8, start, cols, vals, lam2) == SP_OK);
        SP_CHECK(memcmp(Q, P_, sizeof Q) == 0);
        /* bad rows leave P unchanged */
        cols[3] = P;
        SP_CHECK(sp_ridge_penalty_rows(Q, P, 8, start, cols, vals, lam2) == SP_ERR_BAD_ARG);
        SP_CHECK(memcmp(Q, P_, sizeof Q) == 0);
    }
    /* D^T D annihilates constants and linear ramps in the interior rows */
    {
        double Pc[36];
        memset(Pc, 0, sizeof Pc);
        SP_CHECK(sp_ridge_penalty_curvature(Pc, 6, 0, 6, 1.0) == SP_OK);
        for (i = 0; i < 6; ++i) {
            double s = 0.0;
            for (j = 0; j < 6; ++j) s += Pc[i * 6 + j];
            SP_CHECK(s == 0.0);
        }
        SP_CHECK(Pc[0] == 2.0 && Pc[1] == -3.0 && Pc[2] == 1.0 && Pc[7] == 6.0);
    }
    /* a penalty alone (no data) is a valid system: ridge gives c = 0 */
    {
        sp_ridge_desc_t d;
        sp_ridge_t acc;
        memset(&d, 0, sizeof d);
        d.p = P;
        SP_CHECK(sp_ridge_create(&acc, &d) == SP_OK);
        memset(&sd, 0, sizeof sd);
        sd.P = P_;
        SP_CHECK(sp_ridge_solve(&acc, &sd, c, &info) == SP_OK);
        SP_CHECK(vnorm(P, c) == 0.0);
        /* all-zero system: singular */
        SP_CHECK(sp_ridge_solve(&acc, NULL, c, &info) == SP_ERR_SINGULAR);
        SP_CHECK(info.rank == 0 && info.n_zero == P);
        sp_ridge_destroy(&acc);
    }
}

static void test_merge(void) {
    enum { M = 90, P = 10 };
    double X[M * P], y[M], w[M], G1[P * P], G2[P * P];
    sp_ridge_desc_t d;
    sp_ridge_t e, f, all;
    int i, j;
    for (i = 0; i < M; ++i) {
        for (j = 0; j < P; ++j) X[i * P + j] = urand();
        y[i] = urand();
        w[i] = i < 40 ? 0.25 : 4.0;
    }
    memset(&d, 0, sizeof d);
    d.p = P;
    SP_CHECK(sp_ridge_create(&e, &d) == SP_OK);
    SP_CHECK(sp_ridge_create(&f, &d) == SP_OK);
    SP_CHECK(sp_ridge_create(&all, &d) == SP_OK);
    SP_CHECK(sp_ridge_add_rows(&e, 40, X, P, y, NULL) == SP_OK);
    SP_CHECK(sp_ridge_add_rows(&f, M - 40, X + 40 * P, P, y + 40, NULL) == SP_OK);
    SP_CHECK(sp_ridge_add_rows(&all, M, X, P, y, w) == SP_OK);
    SP_CHECK(sp_ridge_merge(&e, 0.25, &f, 4.0) == SP_OK);
    SP_CHECK(sp_ridge_get_gram(&e, G1) == SP_OK);
    SP_CHECK(sp_ridge_get_gram(&all, G2) == SP_OK);
    SP_CHECK(max_rel_diff(P * P, G1, G2) < 1e-14);
    SP_CHECK(max_rel_diff(P, e.b, all.b) < 1e-14);
    SP_CHECK_NEAR(e.yty, all.yty, 1e-14, 0);
    SP_CHECK_NEAR(e.wsum, all.wsum, 1e-15, 0);
    SP_CHECK(e.nrows == M);
    sp_ridge_destroy(&e);
    sp_ridge_destroy(&f);
    sp_ridge_destroy(&all);
}

static void test_threads(void) {
    enum { M = 1500, P = 203 };
    double *X = (double *)malloc(sizeof(double) * M * P), *y = (double *)malloc(sizeof(double) * M);
    double *G1 = (double *)malloc(sizeof(double) * P * P), *G2 = (double *)malloc(sizeof(double) * P * P);
    double b1[P];
    sp_ridge_desc_t d;
    sp_ridge_t a;
    int i;
    for (i = 0; i < M * P; ++i) X[i] = urand();
    for (i = 0; i < M; ++i) y[i] = urand();
    memset(&d, 0, sizeof d);
    d.p = P;
    d.num_threads = 1;
#ifdef _OPENMP
    omp_set_num_threads(1);
#endif
    SP_CHECK(sp_ridge_create(&a, &d) == SP_OK);
    SP_CHECK(sp_ridge_add_rows(&a, M, X, P, y, NULL) == SP_OK);
    SP_CHECK(sp_ridge_get_gram(&a, G1) == SP_OK);
    memcpy(b1, a.b, sizeof b1);
    sp_ridge_destroy(&a);
#ifdef _OPENMP
    omp_set_num_threads(2);
#endif
    d.num_threads = 0; /* runtime default: 2 under OpenMP */
    SP_CHECK(sp_ridge_create(&a, &d) == SP_OK);
    SP_CHECK(sp_ridge_add_rows(&a, 700, X, P, y, NULL) == SP_OK);
    SP_CHECK(sp_ridge_add_rows(&a, M - 700, X + 700 * P, P, y + 700, NULL) == SP_OK);
    SP_CHECK(sp_ridge_get_gram(&a, G2) == SP_OK);
    SP_CHECK(memcmp(G1, G2, sizeof(double) * P * P) == 0);
    SP_CHECK(memcmp(b1, a.b, sizeof b1) == 0);
    sp_ridge_destroy(&a);
#ifdef _OPENMP
    printf("threads: Gram of %d x %d bitwise equal for 1 and 2 threads\n", M, P);
#endif
    free(X); free(y); free(G1); free(G2);
}

static void test_bad_args(void) {
    sp_ridge_desc_t d;
    sp_ridge_t acc;
    double X[4] = {1, 2, 3, 4}, y[2] = {1, 2}, w[2] = {1, -1}, c[2] = {7, 7}, G[4] = {1, 0, 0, 1};
    double b[2] = {1, 1}, nan_ = 0.0, buf[64];
    unsigned char small[16];
    int fz[2] = {0, 0}, fbad = 2;
    sp_ridge_solve_desc_t sd;
    nan_ = nan_ / nan_;
    memset(&d, 0, sizeof d);
    SP_CHECK(sp_ridge_create(&acc, &d) == SP_ERR_BAD_ARG); /* p = 0 */
    SP_CHECK(sp_ridge_workspace_size(&d) == 0);
    d.p = 2;
    d.block_rows = 3;
    SP_CHECK(sp_ridge_create(&acc, &d) == SP_ERR_BAD_ARG);
    d.block_rows = 0;
    SP_CHECK(sp_ridge_init(&acc, &d, small, sizeof small) == SP_ERR_WORKSPACE_TOO_SMALL);
    SP_CHECK(sp_ridge_create(NULL, &d) == SP_ERR_BAD_ARG);
    SP_CHECK(sp_ridge_create(&acc, &d) == SP_OK);
    SP_CHECK(sp_ridge_add_rows(&acc, -1, X, 2, y, NULL) == SP_ERR_BAD_ARG);
    SP_CHECK(sp_ridge_add_rows(&acc, 2, NULL, 2, y, NULL) == SP_ERR_BAD_ARG);
    SP_CHECK(sp_ridge_add_rows(&acc, 2, X, 1, y, NULL) == SP_ERR_BAD_ARG);
    SP_CHECK(sp_ridge_add_rows(&acc, 2, X, 2, y, w) == SP_ERR_BAD_ARG);
    X[3] = nan_;
    SP_CHECK(sp_ridge_add_rows(&acc, 2, X, 2, y, NULL) == SP_ERR_NOT_FINITE);
    X[3] = HUGE_VAL;
    SP_CHECK(sp_ridge_add_rows(&acc, 2, X, 2, y, NULL) == SP_ERR_NOT_FINITE);
    X[3] = 4.0;
    y[1] = nan_;
    SP_CHECK(sp_ridge_add_rows(&acc, 2, X, 2, y, NULL) == SP_ERR_NOT_FINITE);
    y[1] = 2.0;
    SP_CHECK(acc.nrows == 0 && acc.pending == 0); /* unchanged by the failures */
    SP_CHECK(sp_ridge_add_rows(&acc, 0, NULL, 0, NULL, NULL) == SP_OK);
    SP_CHECK(sp_ridge_merge(&acc, nan_, &acc, 1.0) == SP_ERR_BAD_ARG);
    SP_CHECK(sp_ridge_get_gram(&acc, NULL) == SP_ERR_BAD_ARG);
    /* solver */
    SP_CHECK(sp_ridge_solve_workspace_size(0) == 0);
    SP_CHECK(sp_ridge_solve_gram(2, G, 2, b, NULL, c, NULL, small, sizeof small) ==
             SP_ERR_WORKSPACE_TOO_SMALL);
    SP_CHECK(sp_ridge_solve_workspace_size(2) <= sizeof buf);
    SP_CHECK(sp_ridge_solve_gram(2, G, 1, b, NULL, c, NULL, buf, sizeof buf) == SP_ERR_BAD_ARG);
    SP_CHECK(sp_ridge_solve_gram(0, G, 2, b, NULL, c, NULL, buf, sizeof buf) == SP_ERR_BAD_ARG);
    SP_CHECK(sp_ridge_solve_gram(2, G, 2, NULL, NULL, c, NULL, buf, sizeof buf) == SP_ERR_BAD_ARG);
    memset(&sd, 0, sizeof sd);
    sd.n_frozen = 2;
    sd.frozen = fz; /* repeated */
    SP_CHECK(sp_ridge_solve_gram(2, G, 2, b, &sd, c, NULL, buf, sizeof buf) == SP_ERR_BAD_ARG);
    sd.n_frozen = 1;
    sd.frozen = &fbad; /* out of range */
    SP_CHECK(sp_ridge_solve_gram(2, G, 2, b, &sd, c, NULL, buf, sizeof buf) == SP_ERR_BAD_ARG);
    memset(&sd, 0, sizeof sd);
    sd.method = (sp_ridge_method_t)7;
    SP_CHECK(sp_ridge_solve_gram(2, G, 2, b, &sd, c, NULL, buf, sizeof buf) == SP_ERR_BAD_ARG);
    sd.method = SP_RIDGE_AUTO;
    sd.rcond = 1.5;
    SP_CHECK(sp_ridge_solve_gram(2, G, 2, b, &sd, c, NULL, buf, sizeof buf) == SP_ERR_BAD_ARG);
    G[1] = nan_;
    SP_CHECK(sp_ridge_solve_gram(2, G, 2, b, NULL, c, NULL, buf, sizeof buf) == SP_ERR_NOT_FINITE);
    G[1] = 0.0;
    G[3] = -1.0;
    SP_CHECK(sp_ridge_solve_gram(2, G, 2, b, NULL, c, NULL, buf, sizeof buf) == SP_ERR_BAD_ARG);
    SP_CHECK(c[0] == 7.0 && c[1] == 7.0); /* outputs unchanged on error */
    G[3] = 1.0;
    SP_CHECK(sp_ridge_solve_gram(2, G, 2, b, NULL, c, NULL, buf, sizeof buf) == SP_OK);
    SP_CHECK(c[0] == 1.0 && c[1] == 1.0);
    /* penalties */
    SP_CHECK(sp_ridge_penalty_ridge(G, 2, 1, 2, 1.0) == SP_ERR_BAD_ARG);
    SP_CHECK(sp_ridge_penalty_ridge(G, 2, 0, 2, -1.0) == SP_ERR_BAD_ARG);
    SP_CHECK(sp_ridge_penalty_curvature(NULL, 2, 0, 2, 1.0) == SP_ERR_BAD_ARG);
    SP_CHECK(sp_ridge_penalty_curvature(G, 2, 0, 1, 1.0) == SP_OK);
    SP_CHECK(sp_ridge_penalty_curvature(G, 2, 0, 2, nan_) == SP_ERR_BAD_ARG);
    SP_CHECK(strcmp(sp_result_str(SP_ERR_SINGULAR), "singular system") == 0);
    sp_ridge_destroy(&acc);
    sp_ridge_destroy(NULL);
}

int main(void) {
    test_hand_solved();
    test_random_overdetermined();
    test_ill_conditioned();
    test_rank_deficient();
    test_frozen();
    test_penalties();
    test_merge();
    test_threads();
    test_bad_args();
    return sp_test_finish();
}
