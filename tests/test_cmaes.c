/* test_cmaes.c - >>linalg (symmetric eigensolver) and >>cmaes (CMA-ES).
   cc -std=c99 -Wall -Wextra -pedantic -I. tests/test_cmaes.c -lm && ./a.out */
#include "../splinepot.h"
#include "sp_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* helpers                                                             */

static uint64_t test_rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double test_unif(uint64_t *s) { /* [-1, 1) */
    return 2.0 * (double)(test_rng_next(s) >> 11) * (1.0 / 9007199254740992.0) - 1.0;
}

/* max_k |A v_k - w_k v_k| / |A|_F and max |V^T V - I| for the symmetric A
   (full, row-major n x n) and the eigsym output V (lda), w */
static void test_eig_errors(int n, const double *A, const double *V, int lda, const double *w,
                            double *out_res, double *out_orth) {
    double anorm = 0.0, res = 0.0, orth = 0.0;
    int i, j, k;
    for (i = 0; i < n * n; ++i) anorm += A[i] * A[i];
    anorm = sqrt(anorm);
    if (anorm == 0.0) anorm = 1.0;
    for (k = 0; k < n; ++k) {
        double r2 = 0.0;
        for (i = 0; i < n; ++i) {
            double s = 0.0;
            for (j = 0; j < n; ++j) s += A[i * n + j] * V[j * lda + k];
            s -= w[k] * V[i * lda + k];
            r2 += s * s;
        }
        if (sqrt(r2) / anorm > res) res = sqrt(r2) / anorm;
        for (j = 0; j < n; ++j) {
            double d = 0.0;
            for (i = 0; i < n; ++i) d += V[i * lda + k] * V[i * lda + j];
            d -= (j == k) ? 1.0 : 0.0;
            if (fabs(d) > orth) orth = fabs(d);
        }
    }
    *out_res = res;
    *out_orth = orth;
}

/* runs eigsym on a copy of A placed in an lda-wide buffer, checks residual,
   orthogonality and ascending order; returns the eigsym result */
static sp_result_t test_eig_check(int n, const double *A, int lda, double tol, double *out_w) {
    double *V = (double *)malloc(sizeof(double) * (size_t)(n * lda + 1));
    double *w = (double *)malloc(sizeof(double) * (size_t)(n + 1));
    double *work = (double *)malloc(sizeof(double) * (size_t)(2 * n + 1));
    double res, orth;
    sp_result_t r;
    int i, j;
    for (i = 0; i < n * lda; ++i) V[i] = 12345.0; /* padding must stay untouched */
    for (i = 0; i < n; ++i)
        for (j = 0; j < n; ++j) V[i * lda + j] = A[i * n + j];
    r = sp_linalg_eigsym(n, V, lda, w, work);
    SP_CHECK(r == SP_OK);
    if (r == SP_OK) {
        test_eig_errors(n, A, V, lda, w, &res, &orth);
        SP_CHECK(res <= tol);
        SP_CHECK(orth <= tol);
        if (res > tol || orth > tol) printf("  n=%d: residual %.3g orthogonality %.3g\n", n, res, orth);
        for (i = 1; i < n; ++i) SP_CHECK(w[i - 1] <= w[i]);
        for (i = 0; i < n; ++i)
            for (j = n; j < lda; ++j) SP_CHECK(V[i * lda + j] == 12345.0);
        if (out_w)
            for (i = 0; i < n; ++i) out_w[i] = w[i];
    }
    free(V);
    free(w);
    free(work);
    return r;
}

/* ------------------------------------------------------------------ */
/* eigensolver                                                         */

static void test_eigsym(void) {
    double w[64], work[128];
    /* argument checks */
    {
        double a[4] = {1, 0, 0, 1};
        SP_CHECK(sp_linalg_eigsym(0, NULL, 0, NULL, NULL) == SP_OK);
        SP_CHECK(sp_linalg_eigsym(-1, a, 2, w, work) == SP_ERR_BAD_ARG);
        SP_CHECK(sp_linalg_eigsym(2, a, 1, w, work) == SP_ERR_BAD_ARG);
        SP_CHECK(sp_linalg_eigsym(2, NULL, 2, w, work) == SP_ERR_BAD_ARG);
        SP_CHECK(sp_linalg_eigsym(2, a, 2, NULL, work) == SP_ERR_BAD_ARG);
        SP_CHECK(sp_linalg_eigsym(2, a, 2, w, NULL) == SP_ERR_BAD_ARG);
    }
    /* NaN / Inf in the lower triangle: error, inputs untouched */
    {
        double a[9] = {1, 2, 3, 2, 4, 5, 3, 5, 6};
        double w0[3] = {7, 7, 7};
        a[7] = NAN; /* (2,1): lower */
        SP_CHECK(sp_linalg_eigsym(3, a, 3, w0, work) == SP_ERR_NOT_FINITE);
        SP_CHECK(a[0] == 1 && a[4] == 4 && w0[0] == 7 && w0[2] == 7);
        a[7] = 5;
        a[6] = HUGE_VAL;
        SP_CHECK(sp_linalg_eigsym(3, a, 3, w0, work) == SP_ERR_NOT_FINITE);
        /* the upper triangle is not read */
        a[6] = 3;
        a[5] = NAN;
        a[1] = HUGE_VAL;
        a[2] = -1e300;
        SP_CHECK(sp_linalg_eigsym(3, a, 3, w0, work) == SP_OK);
    }
    /* n = 1 */
    {
        double a[1] = {-3.5};
        SP_CHECK(sp_linalg_eigsym(1, a, 1, w, work) == SP_OK);
        SP_CHECK(w[0] == -3.5 && a[0] == 1.0);
    }
    /* 2x2 by hand: [[2,1],[1,2]] -> 1 (1,-1)/sqrt2, 3 (1,1)/sqrt2 */
    {
        double a[4] = {2, 1, 1, 2};
        SP_CHECK(sp_linalg_eigsym(2, a, 2, w, work) == SP_OK);
        SP_CHECK_NEAR(w[0], 1.0, 0, 1e-15);
        SP_CHECK_NEAR(w[1], 3.0, 0, 1e-15);
        SP_CHECK_NEAR(fabs(a[0 * 2 + 0]), sqrt(0.5), 0, 1e-15);
        SP_CHECK_NEAR(a[0 * 2 + 0] + a[1 * 2 + 0], 0.0, 0, 1e-15);
        SP_CHECK_NEAR(a[0 * 2 + 1] - a[1 * 2 + 1], 0.0, 0, 1e-15);
        SP_CHECK_NEAR(fabs(a[1 * 2 + 1]), sqrt(0.5), 0, 1e-15);
    }
    /* the header's example: {1, 3, 5}, eigenvector of 5 is e_2 */
    {
        double a[9] = {2, 1, 0, 1, 2, 0, 0, 0, 5};
        SP_CHECK(sp_linalg_eigsym(3, a, 3, w, work) == SP_OK);
        SP_CHECK_NEAR(w[0], 1.0, 0, 1e-15);
        SP_CHECK_NEAR(w[1], 3.0, 0, 1e-15);
        SP_CHECK_NEAR(w[2], 5.0, 0, 1e-15);
        SP_CHECK_NEAR(fabs(a[2 * 3 + 2]), 1.0, 0, 1e-15);
    }
    /* 3x3 with a known spectrum: [[4,1,-2],[1,2,0],[-2,0,3]] (char. poly
       l^3 - 9 l^2 + 21 l - 8... checked through residuals) and the
       classic [[2,-1,0],[-1,2,-1],[0,-1,2]] -> 2-sqrt2, 2, 2+sqrt2 */
    {
        double a[9] = {2, -1, 0, -1, 2, -1, 0, -1, 2}, ww[3];
        SP_CHECK(test_eig_check(3, a, 3, 1e-14, ww) == SP_OK);
        SP_CHECK_NEAR(ww[0], 2.0 - sqrt(2.0), 0, 1e-15);
        SP_CHECK_NEAR(ww[1], 2.0, 0, 1e-15);
        SP_CHECK_NEAR(ww[2], 2.0 + sqrt(2.0), 0, 1e-15);
    }
    /* diagonal, unsorted, with a repeated value */
    {
        double a[16] = {3, 0, 0, 0, 0, -1, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0.5}, ww[4];
        SP_CHECK(test_eig_check(4, a, 4, 1e-15, ww) == SP_OK);
        SP_CHECK(ww[0] == -1 && ww[1] == 0.5 && ww[2] == 3 && ww[3] == 3);
    }
    /* zero matrix and identity */
    {
        double z[25] = {0}, id[25] = {0}, ww[5];
        int i;
        SP_CHECK(test_eig_check(5, z, 5, 1e-15, ww) == SP_OK);
        for (i = 0; i < 5; ++i) SP_CHECK(ww[i] == 0.0);
        for (i = 0; i < 5; ++i) id[i * 5 + i] = 1.0;
        SP_CHECK(test_eig_check(5, id, 7, 1e-15, ww) == SP_OK);
        for (i = 0; i < 5; ++i) SP_CHECK(ww[i] == 1.0);
    }
    /* tridiag(-1, 2, -1), n = 40: lambda_k = 2 - 2 cos(k pi / (n+1)) */
    {
        enum { N = 40 };
        static double a[N * N];
        double ww[N], maxerr = 0.0;
        int i;
        memset(a, 0, sizeof a);
        for (i = 0; i < N; ++i) {
            a[i * N + i] = 2.0;
            if (i > 0) a[i * N + i - 1] = a[(i - 1) * N + i] = -1.0;
        }
        SP_CHECK(test_eig_check(N, a, N, 1e-13, ww) == SP_OK);
        for (i = 0; i < N; ++i) {
            double ex = 2.0 - 2.0 * cos((i + 1) * 3.14159265358979323846 / (N + 1));
            if (fabs(ww[i] - ex) > maxerr) maxerr = fabs(ww[i] - ex);
        }
        SP_CHECK(maxerr < 1e-14);
    }
    /* random symmetric matrices, n = 2..60, lda > n for some */
    {
        uint64_t s = 42;
        int n, trial;
        for (trial = 0; trial < 3; ++trial)
            for (n = 2; n <= 60; n += (n < 12 ? 1 : 7)) {
                double *a = (double *)malloc(sizeof(double) * (size_t)(n * n));
                int i, j;
                for (i = 0; i < n; ++i)
                    for (j = 0; j <= i; ++j) a[i * n + j] = a[j * n + i] = test_unif(&s);
                SP_CHECK(test_eig_check(n, a, n + trial * 3, 1e-12, NULL) == SP_OK);
                free(a);
            }
    }
    /* a covariance-like matrix with condition 1e12 (CMA-ES late stage) and
       a graded matrix with entries from 1e-6 to 1e6 */
    {
        enum { N = 30 };
        static double a[N * N], q[N * N];
        uint64_t s = 7;
        int i, j, k;
        /* q: random orthogonal via Gram-Schmidt */
        for (i = 0; i < N * N; ++i) q[i] = test_unif(&s);
        for (k = 0; k < N; ++k) {
            double nrm = 0.0;
            for (j = 0; j < k; ++j) {
                double d = 0.0;
                for (i = 0; i < N; ++i) d += q[i * N + k] * q[i * N + j];
                for (i = 0; i < N; ++i) q[i * N + k] -= d * q[i * N + j];
            }
            for (i = 0; i < N; ++i) nrm += q[i * N + k] * q[i * N + k];
            nrm = sqrt(nrm);
            for (i = 0; i < N; ++i) q[i * N + k] /= nrm;
        }
        for (i = 0; i < N; ++i)
            for (j = 0; j < N; ++j) {
                double v = 0.0;
                for (k = 0; k < N; ++k) v += q[i * N + k] * pow(10.0, 12.0 * k / (N - 1)) * q[j * N + k];
                a[i * N + j] = v;
            }
        for (i = 0; i < N; ++i) /* exact symmetry */
            for (j = 0; j < i; ++j) a[j * N + i] = a[i * N + j];
        SP_CHECK(test_eig_check(N, a, N, 1e-12, NULL) == SP_OK);
        for (i = 0; i < N; ++i)
            for (j = 0; j <= i; ++j)
                a[i * N + j] = a[j * N + i] = test_unif(&s) * pow(10.0, 6.0 * (i + j) / (N - 1) - 6.0);
        SP_CHECK(test_eig_check(N, a, N, 1e-12, NULL) == SP_OK);
    }
    /* deterministic: identical bits on repeat */
    {
        double a1[36], a2[36], w1[6], w2[6];
        uint64_t s = 99;
        int i, j;
        for (i = 0; i < 6; ++i)
            for (j = 0; j <= i; ++j) a1[i * 6 + j] = a1[j * 6 + i] = test_unif(&s);
        memcpy(a2, a1, sizeof a1);
        SP_CHECK(sp_linalg_eigsym(6, a1, 6, w1, work) == SP_OK);
        SP_CHECK(sp_linalg_eigsym(6, a2, 6, w2, work) == SP_OK);
        SP_CHECK(memcmp(a1, a2, sizeof a1) == 0 && memcmp(w1, w2, sizeof w1) == 0);
    }
}

/* ------------------------------------------------------------------ */
/* CMA-ES                                                              */

static double f_sphere(const double *x, int n) {
    double f = 0.0;
    int i;
    for (i = 0; i < n; ++i) f += x[i] * x[i];
    return f;
}

static double f_rosenbrock(const double *x, int n) {
    double f = 0.0;
    int i;
    for (i = 0; i + 1 < n; ++i) {
        double a = x[i] * x[i] - x[i + 1], b = 1.0 - x[i];
        f += 100.0 * a * a + b * b;
    }
    return f;
}

typedef struct test_obj_t {
    int kind;       /* 0 sphere, 1 rosenbrock, 2 shifted sphere (centre 2), 3 NaN for x0 < 0 */
    int calls;      /* batches evaluated */
    int abort_after;/* > 0: return nonzero at this call */
    int out_of_bounds;
    const double *lo, *hi;
} test_obj_t;

static int test_batch(const double *pop, int lambda, int dim, double *out_f, void *user) {
    test_obj_t *o = (test_obj_t *)user;
    int k, i;
    ++o->calls;
    if (o->abort_after > 0 && o->calls >= o->abort_after) return 1;
    for (k = 0; k < lambda; ++k) {
        const double *x = pop + (size_t)k * dim;
        if (o->lo || o->hi)
            for (i = 0; i < dim; ++i)
                if ((o->lo && x[i] < o->lo[i]) || (o->hi && x[i] > o->hi[i])) ++o->out_of_bounds;
        switch (o->kind) {
        case 0: out_f[k] = f_sphere(x, dim); break;
        case 1: out_f[k] = f_rosenbrock(x, dim); break;
        case 2: {
            double f = 0.0;
            for (i = 0; i < dim; ++i) f += (x[i] - 2.0) * (x[i] - 2.0);
            out_f[k] = f;
            break;
        }
        default: out_f[k] = x[0] < 0.0 ? NAN : f_sphere(x, dim); break;
        }
    }
    return 0;
}

static void test_cmaes_defaults(void) {
    sp_cmaes_desc_t d, e;
    int i;
    memset(&d, 0, sizeof d);
    d.dim = 10;
    e = sp_cmaes_desc_defaults(&d);
    SP_CHECK(e.popsize == 10 && e.mu == 5 && e.seed == 1);
    SP_CHECK(e.sigma0 == 0.3 && e.tolfun == 1e-12 && e.tolx == 1e-12 * 0.3);
    SP_CHECK(e.maxcond == 1e14 && e.tolupsigma == 1e20 && e.incpopsize == 2.0);
    SP_CHECK(e.damps_factor == 1.0 && e.active == SP_CMAES_ACTIVE_ON && e.restarts == 0);
    SP_CHECK(e.max_evals == 0 && e.has_ftarget == 0);
    d.dim = 45;
    SP_CHECK(sp_cmaes_desc_defaults(&d).popsize == 15);
    d.dim = 2;
    SP_CHECK(sp_cmaes_desc_defaults(&d).popsize == 6);
    for (i = 0; i <= (int)SP_CMAES_STOP_COUNT + 1; ++i)
        SP_CHECK(sp_cmaes_stop_str((sp_cmaes_stop_t)i) != NULL);
    SP_CHECK(strcmp(sp_cmaes_stop_str(SP_CMAES_STOP_TOLFUN), "tolfun") == 0);
    SP_CHECK(strcmp(sp_cmaes_stop_str(SP_CMAES_STOP_NUMERIC), "numeric") == 0);
}

static void test_cmaes_bad_args(void) {
    sp_cmaes_desc_t d;
    sp_cmaes_t es;
    double x0[3] = {0, 0, 0}, lo[3] = {-1, -1, -1}, hi[3] = {1, 1, 1};
    size_t need;
    void *mem;
    const double *pop;
    int lam;

    memset(&d, 0, sizeof d);
    SP_CHECK(sp_cmaes_workspace_size(NULL) == 0);
    SP_CHECK(sp_cmaes_workspace_size(&d) == 0); /* dim 0 */
    SP_CHECK(sp_cmaes_init(&es, &d, x0, sizeof x0) == SP_ERR_BAD_ARG);
    SP_CHECK(sp_cmaes_create(&es, &d) == SP_ERR_BAD_ARG);
    d.dim = -2;
    SP_CHECK(sp_cmaes_create(&es, &d) == SP_ERR_BAD_ARG);
    SP_CHECK(sp_cmaes_init(NULL, &d, x0, 8) == SP_ERR_BAD_ARG);
    SP_CHECK(sp_cmaes_init(&es, NULL, x0, 8) == SP_ERR_BAD_ARG);

    d.dim = 3;
    d.x0 = x0;
    need = sp_cmaes_workspace_size(&d);
    /* the documented formula: lambda = 7, no bounds */
    SP_CHECK(need == 64 + 8 * (7 * (3 + 3) + 2 * 9 + 14 * 3 + 46002) + 2 * 7 * sizeof(int));
    mem = malloc(need);
    SP_CHECK(sp_cmaes_init(&es, &d, NULL, need) == SP_ERR_BAD_ARG);
    SP_CHECK(sp_cmaes_init(&es, &d, mem, need - 1) == SP_ERR_WORKSPACE_TOO_SMALL);
    SP_CHECK(sp_cmaes_init(&es, &d, mem, 0) == SP_ERR_WORKSPACE_TOO_SMALL);
    SP_CHECK(sp_cmaes_init(&es, &d, mem, need) == SP_OK);

    x0[1] = NAN;
    SP_CHECK(sp_cmaes_init(&es, &d, mem, need) == SP_ERR_NOT_FINITE);
    x0[1] = HUGE_VAL;
    SP_CHECK(sp_cmaes_create(&es, &d) == SP_ERR_NOT_FINITE);
    x0[1] = 0.0;
    d.sigma0 = -1.0;
    SP_CHECK(sp_cmaes_init(&es, &d, mem, need) == SP_ERR_BAD_ARG);
    d.sigma0 = NAN;
    SP_CHECK(sp_cmaes_init(&es, &d, mem, need) == SP_ERR_NOT_FINITE);
    d.sigma0 = 0.0;
    d.popsize = 1;
    SP_CHECK(sp_cmaes_init(&es, &d, mem, need) == SP_ERR_BAD_ARG);
    d.popsize = -4;
    SP_CHECK(sp_cmaes_init(&es, &d, mem, need) == SP_ERR_BAD_ARG);
    d.popsize = 6;
    d.mu = 7;
    SP_CHECK(sp_cmaes_init(&es, &d, mem, need) == SP_ERR_BAD_ARG);
    d.mu = 0;
    d.popsize = 0;
    d.has_ftarget = 1;
    d.ftarget = NAN;
    SP_CHECK(sp_cmaes_init(&es, &d, mem, need) == SP_ERR_NOT_FINITE);
    d.has_ftarget = 0;
    d.restarts = -1;
    SP_CHECK(sp_cmaes_init(&es, &d, mem, need) == SP_ERR_BAD_ARG);
    d.restarts = 0;
    d.incpopsize = 0.5;
    SP_CHECK(sp_cmaes_init(&es, &d, mem, need) == SP_ERR_BAD_ARG);
    d.incpopsize = 0.0;
    d.active = (sp_cmaes_active_t)7;
    SP_CHECK(sp_cmaes_init(&es, &d, mem, need) == SP_ERR_BAD_ARG);
    d.active = SP_CMAES_ACTIVE_DEFAULT;
    d.max_evals = -1;
    SP_CHECK(sp_cmaes_init(&es, &d, mem, need) == SP_ERR_BAD_ARG);
    d.max_evals = 0;
    /* bounds: lower >= upper, NaN bound */
    d.lower = lo;
    d.upper = hi;
    SP_CHECK(sp_cmaes_workspace_size(&d) > need); /* room for the mapped population */
    free(mem);
    need = sp_cmaes_workspace_size(&d);
    mem = malloc(need);
    lo[2] = 1.0;
    SP_CHECK(sp_cmaes_init(&es, &d, mem, need) == SP_ERR_BAD_ARG);
    lo[2] = NAN;
    SP_CHECK(sp_cmaes_init(&es, &d, mem, need) == SP_ERR_NOT_FINITE);
    lo[2] = HUGE_VAL;
    SP_CHECK(sp_cmaes_init(&es, &d, mem, need) == SP_ERR_BAD_ARG);
    lo[2] = -HUGE_VAL; /* one-sided is fine */
    SP_CHECK(sp_cmaes_init(&es, &d, mem, need) == SP_OK);
    /* restarts need a bigger workspace */
    d.restarts = 3;
    SP_CHECK(sp_cmaes_init(&es, &d, mem, need) == SP_ERR_WORKSPACE_TOO_SMALL);
    d.restarts = 100; /* lambda overflows int */
    SP_CHECK(sp_cmaes_workspace_size(&d) == 0);
    SP_CHECK(sp_cmaes_init(&es, &d, mem, need) == SP_ERR_BAD_ARG);
    d.restarts = 0;

    /* ask/tell protocol */
    SP_CHECK(sp_cmaes_init(&es, &d, mem, need) == SP_OK);
    SP_CHECK(sp_cmaes_tell(&es, x0) == SP_ERR_BAD_ARG); /* no ask yet */
    SP_CHECK(sp_cmaes_ask(&es, NULL, &lam) == SP_ERR_BAD_ARG);
    SP_CHECK(sp_cmaes_ask(&es, &pop, &lam) == SP_OK);
    SP_CHECK(sp_cmaes_tell(&es, NULL) == SP_ERR_BAD_ARG);
    SP_CHECK(sp_cmaes_tell(NULL, x0) == SP_ERR_BAD_ARG);
    SP_CHECK(sp_cmaes_minimize(&d, NULL, NULL, NULL, NULL) == SP_ERR_BAD_ARG);
    SP_CHECK(sp_cmaes_stop(&es) == SP_CMAES_RUNNING);
    free(mem);
}

/* runs ask/tell to the end; records a checksum of every population */
static void test_run_asktell(const sp_cmaes_desc_t *d, void *mem, size_t bytes, int kind,
                             double *out_fbest, int64_t *out_evals, double *trace, int ntrace) {
    sp_cmaes_t es;
    double f[4096];
    int gen = 0;
    SP_CHECK(sp_cmaes_init(&es, d, mem, bytes) == SP_OK);
    while (!sp_cmaes_stop(&es)) {
        const double *pop, *pop2;
        int lam, lam2, k;
        SP_CHECK(sp_cmaes_ask(&es, &pop, &lam) == SP_OK);
        SP_CHECK(sp_cmaes_ask(&es, &pop2, &lam2) == SP_OK); /* same population again */
        SP_CHECK(pop == pop2 && lam == lam2 && lam <= es.lambda_max && lam <= 4096);
        for (k = 0; k < lam; ++k)
            f[k] = kind ? f_rosenbrock(pop + (size_t)k * d->dim, d->dim)
                        : f_sphere(pop + (size_t)k * d->dim, d->dim);
        if (gen < ntrace) {
            double cs = 0.0;
            for (k = 0; k < lam * d->dim; ++k) cs += pop[k] * (1.0 + 1e-3 * (k % 17));
            trace[gen] = cs;
        }
        ++gen;
        SP_CHECK(sp_cmaes_tell(&es, f) == SP_OK);
    }
    {
        const double *pop;
        int lam;
        SP_CHECK(sp_cmaes_ask(&es, &pop, &lam) == SP_ERR_RANGE);
        SP_CHECK(sp_cmaes_tell(&es, f) == SP_ERR_RANGE);
    }
    *out_fbest = sp_cmaes_best_f(&es);
    *out_evals = es.evals;
    SP_CHECK(sp_cmaes_best_f(&es) == f_sphere(sp_cmaes_best_x(&es), d->dim) ||
             sp_cmaes_best_f(&es) == f_rosenbrock(sp_cmaes_best_x(&es), d->dim));
}

static void test_cmaes_converge_and_repeat(void) {
    enum { N = 10, NT = 300 };
    sp_cmaes_desc_t d;
    double x0[N], fb1, fb2, fb3, xb[N];
    static double tr1[NT], tr2[NT], tr3[NT];
    int64_t e1, e2, e3;
    size_t need;
    char *raw;
    uint64_t s = 2024;
    int i;
    sp_cmaes_result_t res, res2;
    test_obj_t obj;

    for (i = 0; i < N; ++i) x0[i] = test_unif(&s);
    memset(&d, 0, sizeof d);
    d.dim = N;
    d.x0 = x0;
    d.sigma0 = 0.5;
    d.seed = 12345;
    d.has_ftarget = 1;
    d.ftarget = 1e-10;
    need = sp_cmaes_workspace_size(&d);
    raw = (char *)malloc(need + 1);

    /* sphere: converges, and the trajectory repeats bit for bit, also from a
       workspace at an odd address */
    memset(tr1, 0, sizeof tr1);
    memset(tr2, 0, sizeof tr2);
    test_run_asktell(&d, raw, need, 0, &fb1, &e1, tr1, NT);
    test_run_asktell(&d, raw + 1, need, 0, &fb2, &e2, tr2, NT);
    SP_CHECK(fb1 <= 1e-10);
    SP_CHECK(e1 < 3000);
    SP_CHECK(fb1 == fb2 && e1 == e2);
    SP_CHECK(memcmp(tr1, tr2, sizeof tr1) == 0);
    /* another seed: another trajectory */
    d.seed = 777;
    memset(tr3, 0, sizeof tr3);
    test_run_asktell(&d, raw, need, 0, &fb3, &e3, tr3, NT);
    SP_CHECK(fb3 <= 1e-10);
    SP_CHECK(tr3[0] != tr1[0] && tr3[5] != tr1[5]);

    /* Rosenbrock n = 10: fixed seed, with IPOP restarts as a safety net for
       the local minimum near x_1 = -1 */
    d.seed = 12345;
    d.restarts = 2;
    free(raw);
    need = sp_cmaes_workspace_size(&d);
    raw = (char *)malloc(need);
    test_run_asktell(&d, raw, need, 1, &fb1, &e1, tr1, NT);
    test_run_asktell(&d, raw, need, 1, &fb2, &e2, tr2, NT);
    SP_CHECK(fb1 <= 1e-10);
    SP_CHECK(e1 < 20000);
    SP_CHECK(fb1 == fb2 && e1 == e2 && memcmp(tr1, tr2, sizeof tr1) == 0);
    free(raw);

    /* the convenience loop gives the same numbers as ask/tell */
    memset(&obj, 0, sizeof obj);
    obj.kind = 1;
    SP_CHECK(sp_cmaes_minimize(&d, test_batch, &obj, xb, &res) == SP_OK);
    SP_CHECK(res.fbest == fb1 && res.evals == e1 && res.stop == SP_CMAES_STOP_FTARGET);
    SP_CHECK(res.fbest == f_rosenbrock(xb, N));
    for (i = 0; i < N; ++i) SP_CHECK_NEAR(xb[i], 1.0, 0, 1e-4);
    SP_CHECK(res.evals_best == res.evals && res.generations * 10 <= res.evals);
    memset(&obj, 0, sizeof obj);
    obj.kind = 1;
    SP_CHECK(sp_cmaes_minimize(&d, test_batch, &obj, NULL, &res2) == SP_OK);
    SP_CHECK(memcmp(&res, &res2, sizeof res) == 0);

    /* passive (non-active) CMA also converges on the sphere */
    d.active = SP_CMAES_ACTIVE_OFF;
    memset(&obj, 0, sizeof obj);
    SP_CHECK(sp_cmaes_minimize(&d, test_batch, &obj, NULL, &res) == SP_OK);
    SP_CHECK(res.fbest <= 1e-10 && res.evals < 3000);
}

static void test_cmaes_bounds(void) {
    enum { N = 6 };
    sp_cmaes_desc_t d;
    double lo[N], hi[N], x0[N], xb[N], xm[N];
    sp_cmaes_result_t res;
    test_obj_t obj;
    int i;
    for (i = 0; i < N; ++i) {
        lo[i] = -1.0;
        hi[i] = 1.0;
        x0[i] = 0.5;
    }
    hi[1] = HUGE_VAL;  /* coordinate 1: lower bound only -> optimum 2 is reachable */
    lo[2] = -HUGE_VAL; /* coordinate 2: upper bound only -> 1 */
    x0[3] = 7.0;       /* outside: mapped into the box */
    memset(&d, 0, sizeof d);
    d.dim = N;
    d.x0 = x0;
    d.lower = lo;
    d.upper = hi;
    d.sigma0 = 0.3;
    d.seed = 5;
    d.max_evals = 20000;
    memset(&obj, 0, sizeof obj);
    obj.kind = 2; /* optimum at (2, ..., 2), outside the box */
    obj.lo = lo;
    obj.hi = hi;
    SP_CHECK(sp_cmaes_minimize(&d, test_batch, &obj, xb, &res) == SP_OK);
    SP_CHECK(obj.out_of_bounds == 0);
    SP_CHECK(res.stop != SP_CMAES_RUNNING && res.stop != SP_CMAES_STOP_MAXEVALS);
    for (i = 0; i < N; ++i) SP_CHECK_NEAR(xb[i], i == 1 ? 2.0 : 1.0, 0, 1e-6);
    SP_CHECK_NEAR(res.fbest, (double)(N - 1), 1e-9, 0);

    /* mean accessor maps into the box too; best_x before any tell is x0 mapped */
    {
        sp_cmaes_t es;
        SP_CHECK(sp_cmaes_create(&es, &d) == SP_OK);
        sp_cmaes_mean(&es, xm);
        for (i = 0; i < N; ++i) SP_CHECK(xm[i] >= lo[i] && xm[i] <= hi[i]);
        SP_CHECK(xm[0] == 0.5); /* interior: identity */
        SP_CHECK(sp_cmaes_best_x(&es)[3] >= -1.0 && sp_cmaes_best_x(&es)[3] <= 1.0);
        SP_CHECK(sp_cmaes_best_f(&es) == HUGE_VAL);
        sp_cmaes_destroy(&es);
    }
}

static void test_cmaes_stops_and_restarts(void) {
    enum { N = 4 };
    sp_cmaes_desc_t d;
    sp_cmaes_t es;
    double x0[N] = {1, -1, 0.5, 2}, f[1024];
    char line[256];
    int len, lam0;
    sp_cmaes_result_t res;
    test_obj_t obj;

    /* max_evals */
    memset(&d, 0, sizeof d);
    d.dim = N;
    d.x0 = x0;
    d.max_evals = 100;
    memset(&obj, 0, sizeof obj);
    SP_CHECK(sp_cmaes_minimize(&d, test_batch, &obj, NULL, &res) == SP_OK);
    SP_CHECK(res.stop == SP_CMAES_STOP_MAXEVALS);
    SP_CHECK(res.evals >= 100 && res.evals < 100 + 8);

    /* no ftarget: the run ends on a local criterion (tolfun/tolx...), then
       two IPOP restarts with lambda doubled each time */
    d.max_evals = 0;
    d.restarts = 2;
    SP_CHECK(sp_cmaes_create(&es, &d) == SP_OK);
    lam0 = es.lambda;
    SP_CHECK(es.lambda_max == 4 * lam0);
    while (!sp_cmaes_stop(&es)) {
        const double *pop;
        int lam, k;
        SP_CHECK(sp_cmaes_ask(&es, &pop, &lam) == SP_OK);
        for (k = 0; k < lam; ++k) f[k] = f_sphere(pop + (size_t)k * N, N);
        SP_CHECK(sp_cmaes_tell(&es, f) == SP_OK);
        if (es.gen == 5 && es.run == 0) {
            len = sp_cmaes_format_progress(&es, line, sizeof line);
            SP_CHECK(len > 0 && (size_t)len < sizeof line);
            SP_CHECK(strstr(line, "evals 40") != NULL && strstr(line, "gen 5") != NULL);
            SP_CHECK(sp_cmaes_format_progress(&es, line, 8) == len && strlen(line) == 7);
            if (getenv("SP_TEST_VERBOSE")) {
                sp_cmaes_format_progress(&es, line, sizeof line);
                printf("%s\n", line);
            }
        }
    }
    SP_CHECK(es.run == 2 && es.lambda == 4 * lam0);
    SP_CHECK(es.stop == SP_CMAES_STOP_TOLFUN || es.stop == SP_CMAES_STOP_TOLX ||
             es.stop == SP_CMAES_STOP_NOEFFECT_AXIS || es.stop == SP_CMAES_STOP_NOEFFECT_COORD);
    SP_CHECK(sp_cmaes_best_f(&es) < 1e-15);
    len = sp_cmaes_format_progress(&es, line, sizeof line);
    SP_CHECK(strstr(line, " stop ") != NULL);
    sp_cmaes_destroy(&es);
    sp_cmaes_destroy(&es); /* harmless */

    /* NaN values rank last: the optimiser avoids x_0 < 0 and finds 0 */
    memset(&d, 0, sizeof d);
    d.dim = N;
    d.x0 = x0; /* x0[0] = 1: the start is feasible */
    d.has_ftarget = 1;
    d.ftarget = 1e-12;
    memset(&obj, 0, sizeof obj);
    obj.kind = 3;
    SP_CHECK(sp_cmaes_minimize(&d, test_batch, &obj, NULL, &res) == SP_OK);
    SP_CHECK(res.stop == SP_CMAES_STOP_FTARGET);

    /* the objective asks to stop */
    memset(&obj, 0, sizeof obj);
    obj.abort_after = 3;
    SP_CHECK(sp_cmaes_minimize(&d, test_batch, &obj, NULL, &res) == SP_OK);
    SP_CHECK(res.stop == SP_CMAES_STOP_USER && res.evals == 2 * 8 && obj.calls == 3);
}

/* counting allocator */
typedef struct test_alloc_t {
    int allocs, frees;
} test_alloc_t;
static void *test_alloc(size_t n, void *u) {
    ++((test_alloc_t *)u)->allocs;
    return malloc(n);
}
static void test_free(void *p, void *u) {
    ++((test_alloc_t *)u)->frees;
    free(p);
}

static void test_cmaes_allocator(void) {
    sp_cmaes_desc_t d;
    sp_cmaes_t es;
    test_alloc_t cnt = {0, 0};
    test_obj_t obj;
    sp_cmaes_result_t res;
    memset(&d, 0, sizeof d);
    d.dim = 3;
    d.allocator.alloc = test_alloc;
    d.allocator.free = test_free;
    d.allocator.user = &cnt;
    SP_CHECK(sp_cmaes_create(&es, &d) == SP_OK);
    SP_CHECK(cnt.allocs == 1 && cnt.frees == 0);
    sp_cmaes_destroy(&es);
    SP_CHECK(cnt.frees == 1);
    memset(&obj, 0, sizeof obj);
    d.max_evals = 60;
    SP_CHECK(sp_cmaes_minimize(&d, test_batch, &obj, NULL, &res) == SP_OK);
    SP_CHECK(cnt.allocs == 2 && cnt.frees == 2);
}

int main(void) {
    test_eigsym();
    test_cmaes_defaults();
    test_cmaes_bad_args();
    test_cmaes_converge_and_repeat();
    test_cmaes_bounds();
    test_cmaes_stops_and_restarts();
    test_cmaes_allocator();
    return sp_test_finish();
}
