/* bench_ridge.c - `splinepot bench ridge`: speed of the normal-equation
   assembly (>>ridge SYRK) and, when OpenBLAS is installed, of cblas_dsyrk on
   the same rows. #include after splinepot.h (with SPLINEPOT_IMPLEMENTATION
   somewhere in the program); POSIX only (dlopen, no link-time BLAS).

     splinepot bench ridge [--rows N] [--p P] [--chunk C] [--threads T]
                           [--block B] [--reps R] [--blas LIB|none]

   Rows are random, generated once as a chunk of C rows (default 2048) and
   fed C rows at a time until N rows (default 200000) have been added, so
   memory stays at C*p doubles. flops = rows * p * (p + 1) (the upper
   triangle with its diagonal, one multiply and one add each). OpenBLAS runs
   dsyrk(RowMajor, Upper, Trans) with beta = 1 on the same chunks, with
   openblas_set_num_threads(T) when T > 0. Best of R repetitions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <dlfcn.h>

static double sp__bench_ridge_now(void) {
#if defined(SP__OMP)
    return omp_get_wtime();
#elif defined(CLOCK_MONOTONIC)
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
#elif defined(TIME_UTC)
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
#else
    return (double)clock() / CLOCKS_PER_SEC;
#endif
}

typedef void (*sp__bench_dsyrk_fn)(int order, int uplo, int trans, int n, int k, double alpha,
                                   const double *a, int lda, double beta, double *c, int ldc);
typedef void (*sp__bench_setthreads_fn)(int n);

int sp_bench_ridge(int argc, char **argv) {
    long rows = 200000;
    int p = 1000, chunk = 2048, threads = 0, block = 0, reps = 3, i, rep;
    const char *blas = NULL;
    double *X, *y, *Gb = NULL, best_sp = 1e300, best_blas = 1e300, flops, check = 0.0;
    sp_ridge_desc_t d;
    sp_ridge_t acc;
    void *lib = NULL;
    sp__bench_dsyrk_fn dsyrk = NULL;
    uint64_t s = 0x9E3779B97F4A7C15ULL;

    for (i = 0; i < argc; ++i) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "ridge")) continue;
        if (!v) { fprintf(stderr, "error: option %s needs a value\n", a); return 2; }
        if (!strcmp(a, "--rows")) rows = atol(v);
        else if (!strcmp(a, "--p")) p = atoi(v);
        else if (!strcmp(a, "--chunk")) chunk = atoi(v);
        else if (!strcmp(a, "--threads")) threads = atoi(v);
        else if (!strcmp(a, "--block")) block = atoi(v);
        else if (!strcmp(a, "--reps")) reps = atoi(v);
        else if (!strcmp(a, "--blas")) blas = v;
        else { fprintf(stderr, "error: unknown option %s\n", a); return 2; }
        ++i;
    }
    if (rows < 1 || p < 1 || chunk < 1 || reps < 1 || threads < 0) {
        fprintf(stderr, "error: bad sizes\n");
        return 2;
    }
#ifdef SP__OMP
    if (threads > 0) omp_set_num_threads(threads);
#endif
    X = (double *)malloc(sizeof(double) * (size_t)chunk * (size_t)p);
    y = (double *)malloc(sizeof(double) * (size_t)chunk);
    if (!X || !y) { fprintf(stderr, "error: out of memory\n"); return 1; }
    for (i = 0; i < chunk * p; ++i) {
        s ^= s >> 12; s ^= s << 25; s ^= s >> 27;
        X[i] = (double)((s * 2685821657736338717ULL) >> 11) * (1.0 / 9007199254740992.0) - 0.5;
    }
    for (i = 0; i < chunk; ++i) y[i] = X[(size_t)i * p];

    memset(&d, 0, sizeof d);
    d.p = p;
    d.block_rows = block;
    d.num_threads = threads;
    if (sp_ridge_create(&acc, &d) != SP_OK) { fprintf(stderr, "error: sp_ridge_create\n"); return 1; }
    flops = (double)rows * (double)p * (double)(p + 1);
    for (rep = 0; rep < reps; ++rep) {
        long done = 0;
        double t0, t;
        sp_ridge_reset(&acc);
        t0 = sp__bench_ridge_now();
        while (done < rows) {
            int n = rows - done < chunk ? (int)(rows - done) : chunk;
            sp_ridge_add_rows(&acc, n, X, p, y, NULL);
            done += n;
        }
        sp_ridge_flush(&acc);
        t = sp__bench_ridge_now() - t0;
        if (t < best_sp) best_sp = t;
    }
    printf("ridge assembly: rows %ld  p %d  block %d  threads %d\n", rows, p, acc.block_rows,
#ifdef SP__OMP
           threads > 0 ? threads : omp_get_max_threads()
#else
           1
#endif
    );
    printf("  splinepot SYRK : %8.3f s  %7.2f GFLOP/s\n", best_sp, flops / best_sp * 1e-9);

    if (!blas || strcmp(blas, "none") != 0) {
        const char *names[3] = {"libopenblas.so.0", "libopenblas.so", NULL};
        if (blas) { names[0] = blas; names[1] = NULL; }
        for (i = 0; names[i] && !lib; ++i) lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (lib) {
            /* POSIX guarantees the object/function pointer round trip dlsym needs */
            void *sym = dlsym(lib, "cblas_dsyrk"), *st = dlsym(lib, "openblas_set_num_threads");
            memcpy(&dsyrk, &sym, sizeof dsyrk);
            if (st && threads > 0) {
                sp__bench_setthreads_fn set;
                memcpy(&set, &st, sizeof set);
                set(threads);
            }
        }
        if (!dsyrk) {
            printf("  OpenBLAS       : not found (apt-get install libopenblas-dev)\n");
        }
    }
    if (dsyrk) {
        Gb = (double *)calloc((size_t)p * (size_t)p, sizeof(double));
        if (!Gb) { fprintf(stderr, "error: out of memory\n"); return 1; }
        for (rep = 0; rep < reps; ++rep) {
            long done = 0;
            double t0, t;
            memset(Gb, 0, sizeof(double) * (size_t)p * (size_t)p);
            t0 = sp__bench_ridge_now();
            while (done < rows) {
                int n = rows - done < chunk ? (int)(rows - done) : chunk;
                /* CblasRowMajor = 101, CblasUpper = 121, CblasTrans = 112 */
                dsyrk(101, 121, 112, p, n, 1.0, X, p, 1.0, Gb, p);
                done += n;
            }
            t = sp__bench_ridge_now() - t0;
            if (t < best_blas) best_blas = t;
        }
        for (i = 0; i < p; ++i) {
            int j;
            for (j = i; j < p; ++j) {
                double e = fabs(Gb[(size_t)i * p + j] - acc.G[(size_t)i * p + j]) /
                           (fabs(Gb[(size_t)i * p + i]) + 1e-300);
                if (e > check) check = e;
            }
        }
        printf("  OpenBLAS dsyrk : %8.3f s  %7.2f GFLOP/s\n", best_blas, flops / best_blas * 1e-9);
        printf("  ratio (time splinepot / time dsyrk): %.2f   max |G - G_blas| / G_ii = %.1e\n",
               best_sp / best_blas, check);
        free(Gb);
    }
    if (lib) dlclose(lib);
    sp_ridge_destroy(&acc);
    free(X);
    free(y);
    return 0;
}
