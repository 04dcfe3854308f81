/* bench_cmaes.c - `splinepot bench cmaes`, #included into tools/splinepot.c after
   splinepot.h (with SPLINEPOT_IMPLEMENTATION).

   Runs CMA-ES with IPOP restarts (9 restarts, population doubling) on
   sphere, ellipsoid (condition 1e6), Rosenbrock and Rastrigin in n = 10, 20
   and 45, ten seeds each, and prints one line per case:

     cmaes fn=sphere n=10 runs=10 success=10/10 evals_median=1460

   x0 is uniform in [-1,1]^n with sigma0 = 0.5 (Rastrigin: [-5,5]^n,
   sigma0 = 2.5); the default population 4 + floor(3 ln n); success means
   f < 1e-10 (Rastrigin 1e-8) within 2e7 evaluations. evals_median is the
   median over all runs of the evaluations used, restarts included (mean of
   the two middle values). Acceptance (vs Hansen's c-cmaes medians below):
   10/10 everywhere, medians <= 1.1x the reference (Rastrigin 1.5x).

   Options: --fn NAME (one function), --n N (one dimension), --runs R,
   --passive (active CMA off), --verbose (per-run details and times on stderr).
   Seeds run in parallel under OpenMP; the numbers do not depend on it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct sp__bench_cmaes_prob_t {
    int fn; /* 0 sphere, 1 ellipsoid, 2 rosenbrock, 3 rastrigin */
} sp__bench_cmaes_prob_t;

static int sp__bench_cmaes_eval(const double *pop, int lambda, int dim, double *out_f,
                                void *user) {
    const sp__bench_cmaes_prob_t *p = (const sp__bench_cmaes_prob_t *)user;
    int k, i;
    for (k = 0; k < lambda; ++k) {
        const double *x = pop + (size_t)k * (size_t)dim;
        double f = 0.0;
        switch (p->fn) {
        case 0:
            for (i = 0; i < dim; ++i) f += x[i] * x[i];
            break;
        case 1:
            for (i = 0; i < dim; ++i)
                f += pow(10.0, 6.0 * i / (dim > 1 ? dim - 1 : 1)) * x[i] * x[i];
            break;
        case 2:
            for (i = 0; i + 1 < dim; ++i) {
                double a = x[i] * x[i] - x[i + 1], b = 1.0 - x[i];
                f += 100.0 * a * a + b * b;
            }
            break;
        default:
            f = 10.0 * dim;
            for (i = 0; i < dim; ++i)
                f += x[i] * x[i] - 10.0 * cos(2.0 * 3.14159265358979323846 * x[i]);
            break;
        }
        out_f[k] = f;
    }
    return 0;
}

/* splitmix64 for the start points (independent of the optimiser's PRNG) */
static uint64_t sp__bench_cmaes_rand(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static int sp__bench_cmaes_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int sp_bench_cmaes(int argc, char **argv);
int sp_bench_cmaes(int argc, char **argv) {
    static const char *const names[4] = {"sphere", "ellipsoid", "rosenbrock", "rastrigin"};
    /* Hansen's c-cmaes medians (n = 10, 20, 45) and the allowed factor */
    static const double ref[4][3] = {{1510, 2952, 6112},
                                     {6460, 20316, 94755},
                                     {6800, 22374, 101962},
                                     {53510, 208698, 948870}};
    static const double allow[4] = {1.1, 1.1, 1.1, 1.5};
    static const int dims[3] = {10, 20, 45};
    int only_fn = -1, only_n = 0, runs = 10, passive = 0, verbose = 0, ai, fi, di;
    int all_ok = 1;
    for (ai = 0; ai < argc; ++ai) {
        if (strcmp(argv[ai], "--fn") == 0 && ai + 1 < argc) {
            ++ai;
            for (fi = 0; fi < 4; ++fi)
                if (strcmp(argv[ai], names[fi]) == 0) only_fn = fi;
            if (only_fn < 0) {
                fprintf(stderr, "error: unknown function %s\n", argv[ai]);
                return 2;
            }
        } else if (strcmp(argv[ai], "--n") == 0 && ai + 1 < argc) {
            only_n = atoi(argv[++ai]);
        } else if (strcmp(argv[ai], "--runs") == 0 && ai + 1 < argc) {
            runs = atoi(argv[++ai]);
            if (runs < 1 || runs > 1000) runs = 10;
        } else if (strcmp(argv[ai], "--passive") == 0) {
            passive = 1;
        } else if (strcmp(argv[ai], "--verbose") == 0) {
            verbose = 1;
        } else if (strcmp(argv[ai], "cmaes") == 0) {
            /* subcommand name passed through */
        } else {
            fprintf(stderr,
                    "usage: splinepot bench cmaes [--fn sphere|ellipsoid|rosenbrock|"
                    "rastrigin] [--n N] [--runs R] [--passive] [--verbose]\n");
            return 2;
        }
    }
    for (fi = 0; fi < 4; ++fi) {
        if (only_fn >= 0 && fi != only_fn) continue;
        for (di = 0; di < 3; ++di) {
            int n = only_n > 0 ? only_n : dims[di], succ = 0, s;
            double *evals = (double *)malloc((size_t)runs * sizeof(double));
            int *ok = (int *)malloc((size_t)runs * sizeof(int));
            double med, t0 = (double)clock();
            if (only_n > 0 && di > 0) {
                free(evals);
                free(ok);
                break;
            }
            if (!evals || !ok) {
                fprintf(stderr, "error: out of memory\n");
                free(evals);
                free(ok);
                return 1;
            }
#ifdef SP__OMP
#pragma omp parallel for schedule(dynamic, 1)
#endif
            for (s = 0; s < runs; ++s) {
                sp__bench_cmaes_prob_t prob;
                sp_cmaes_desc_t d;
                sp_cmaes_result_t res;
                double *x0 = (double *)malloc((size_t)n * sizeof(double));
                double half = fi == 3 ? 5.0 : 1.0, target = fi == 3 ? 1e-8 : 1e-10;
                uint64_t st = (uint64_t)(s + 1) * 0x9E3779B97F4A7C15ULL ^ (uint64_t)(fi * 100 + n);
                int i;
                sp_result_t r;
                ok[s] = 0;
                evals[s] = 0.0;
                if (!x0) continue;
                for (i = 0; i < n; ++i) /* x0 uniform in [-half, half]^n */
                    x0[i] = half * (2.0 * (double)(sp__bench_cmaes_rand(&st) >> 11) *
                                        (1.0 / 9007199254740992.0) - 1.0);
                memset(&d, 0, sizeof d);
                memset(&res, 0, sizeof res);
                d.dim = n;
                d.x0 = x0;
                d.sigma0 = fi == 3 ? 2.5 : 0.5;
                d.seed = (uint64_t)(1000 * (fi + 1) + 100 * di + s + 1);
                d.has_ftarget = 1;
                d.ftarget = target;
                d.max_evals = 20000000;
                d.restarts = 9;
                d.active = passive ? SP_CMAES_ACTIVE_OFF : SP_CMAES_ACTIVE_DEFAULT;
                prob.fn = fi;
                r = sp_cmaes_minimize(&d, sp__bench_cmaes_eval, &prob, NULL, &res);
                if (r == SP_OK) {
                    ok[s] = res.fbest < target;
                    evals[s] = (double)res.evals;
                    if (verbose)
                        fprintf(stderr, "  %s n=%d seed=%d evals=%lld runs=%d f=%.3e stop=%s\n",
                                names[fi], n, s + 1, (long long)res.evals, res.runs, res.fbest,
                                sp_cmaes_stop_str(res.stop));
                }
                free(x0);
            }
            for (s = 0; s < runs; ++s) succ += ok[s];
            qsort(evals, (size_t)runs, sizeof(double), sp__bench_cmaes_cmp);
            med = (runs % 2) ? evals[runs / 2] : 0.5 * (evals[runs / 2 - 1] + evals[runs / 2]);
            printf("cmaes fn=%s n=%d runs=%d success=%d/%d evals_median=%.0f\n", names[fi], n,
                   runs, succ, runs, floor(med));
            fflush(stdout);
            if (only_n == 0) {
                double lim = allow[fi] * ref[fi][di];
                if (succ != runs || med > lim) all_ok = 0;
                if (verbose)
                    fprintf(stderr, "  ratio to c-cmaes %.3f (limit %.1f), cpu %.1f s\n",
                            med / ref[fi][di], allow[fi], ((double)clock() - t0) / CLOCKS_PER_SEC);
            }
            free(evals);
            free(ok);
        }
    }
    return all_ok ? 0 : 1;
}
