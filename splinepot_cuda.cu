/* splinepot_cuda.cu - the optional CUDA layer of splinepot.h (SPEC section 7).
 *
 * Build: nvcc -c -O3 -fmad=false splinepot_cuda.cu, link it, and compile the
 * translation unit that defines SPLINEPOT_IMPLEMENTATION with -DSPLINEPOT_CUDA
 * (make cuda does this). The C API is declared in splinepot.h (>>cuda).
 * Double precision throughout; -fmad=false keeps every multiply and add as
 * the CPU code (compiled with -ffp-contract=off) does them, so per-atom and
 * per-bond results follow the CPU's operation order exactly.
 *
 * DESIGN NOTE
 *
 * (a) Structure vectors (sp_cuda_sv_*; Vita & Trinkle 2021, sec. 3.4).
 *     The structure vectors of all training configurations are uploaded once.
 *     Per CMA-ES generation only P x npar parameters go up. One thread per
 *     parameter set p; every per-bond/per-atom intermediate is stored as
 *     [item][p] (p innermost), so a warp's loads and stores are coalesced and
 *     the structure-vector entries (the same for all p) are broadcasts. This is
 *     sp_smeam_sv_eval with chunk = P, term for term:
 *       k_sv_bonds   f, f', phi', rho' u per bond      reads 2 nr2 (bcast), writes 6 doubles/bond/set
 *       k_sv_trip    n_i and dn_i/dr_ij per centre: the triplets of a centre are
 *                    walked (bj, bk > bj) with n_i and dn_ij in registers;
 *                    per triplet 2 loads (f_k, f'_k) + 3 read-modify-writes (dn_k)
 *                    = 64 B/triplet/set (g's ng2 parameters stay in L1)
 *       k_sv_energy  U spline built per set (thread), U(n_i), energies
 *       k_sv_force   bond forces, gather in list order, optional |F - F_ref|^2
 *     Bandwidth bound, 108-atom Si-like cell (1.7e3 bonds, 1.3e4 triplets),
 *     P = 10 000: ~64 B x 1.3e4 x 1e4 = 8.3 GB (triplets) + ~1.5 GB (bonds,
 *     gather) ~ 10 GB -> ~3 ms at 3.3 TB/s (H100 HBM3), well under 20 ms;
 *     the forces back to the host (P x 3N doubles = 26 MB) add ~1 ms on PCIe 5.
 *
 * (b) Large systems (sp_cuda_sys_*, sp_cuda_md_*). The neighbour list is built
 *     on the CPU (sp_nlist_build) and uploaded per rebuild: first, j, rev,
 *     owner, shift. Extended positions are refreshed on the device (k_ghost,
 *     the device's sp_nlist_update). One thread per centre atom computes E_i
 *     and writes its per-bond forces fbond[b] = -dE_i/dr_ij (and, for UF3,
 *     the direct pair force and virial); k_gather then sums per atom in list
 *     order F_a = sum_b (Fb[rev b] - Fb[b]) and the per-atom virial: no
 *     atomics, the same bits on every run. Totals (energy, virial, kinetic
 *     energy) use a fixed two-level tree (k_reduce), so they are deterministic
 *     and agree with the CPU's sequential sums to ~1e-15 relative.
 *     Per-centre bond caches (unit vectors, f, f', dn, basis values) live in
 *     a scratch laid out [field][slot][thread] for a grid of resident
 *     threads (grid-stride over centres), i.e. coalesced like local memory
 *     but sized by the list's maximum degree at run time.
 *     Bytes per atom-step (HBM, ideal caching; nb = list entries per atom,
 *     ~ 40 for a 1 A skin):
 *       k_ghost    ~ 80 B (owner + shift + x read, xe written; ghosts ~1.3x)
 *       UF2        centre: first 4 + nb (j 4 + neighbour position 24 + owner
 *                  4 + type 4) = ~1.5 kB (neighbour positions mostly from L2)
 *                  + 13 x 8 B out; gather reads 12 x 8 = 100 B; ~1.6 kB total
 *                  -> bound ~2e9 atom-steps/s at 3.3 TB/s (target 5e8).
 *       UF2,3      + bond cache (~17 doubles/bond within cut3) written and
 *                  re-read per triplet from L1/L2, fbond 24 B/entry written and
 *                  read twice in the gather (rev): ~1.6 + 3 x 0.96 + cache ~ 6 kB
 *                  -> bound ~5e8 atom-steps/s (target 1e8); the 4x4x4 coefficient
 *                  reads per triplet hit L1/L2 (coefficients < 100 kB).
 *       s-MEAM     the same shape: ~6 kB/atom-step -> ~5e8 (target 1e8); the
 *                  per-triplet g spline reads (sp_spline_t, ~4 kB) hit L1.
 *       MD kicks   drift 7 x 24 B + kick 4 x 24 B ~ 0.3 kB.
 *     The velocity-Verlet loop stays on the device: only energy, kinetic
 *     energy and the largest displacement (3 doubles) come back per step.
 *
 * MEASURED (H100 80GB HBM3, CUDA 13.0, make cuda; tests/test_cuda.c finds
 * forces and per-atom energies bit-identical to the CPU, totals within 1 ulp)
 *     bench structvec --gpu (108 atoms, 10 000 sets, E and F): 9 ms (target 20).
 *     md --gpu, 1.02e6 atoms, skin 0.5 A, time in forces per step:
 *       UF2  (W bcc, rc 5.5)          1.35 ms -> 7.6e8 atom-steps/s (target 5e8)
 *       UF2,3 (W bcc, 3-body 3.5 A)   24 ms   -> 4.2e7 (target 1e8)
 *       s-MEAM (Si_1, diamond)        14.5 ms -> 7.1e7 (target 1e8)
 *     The many-body kernels run far from their bandwidth bound: one thread
 *     walks one centre's list, so a warp's loads of j, xe, the bond caches'
 *     read-modify-writes and (UF3) the 4x4x4 coefficient rows are
 *     uncoalesced (up to 32 L1 wavefronts per load). Next steps: a warp (or
 *     quarter warp) per centre with the triplet loop split across lanes and
 *     a fixed-order shuffle reduction (still deterministic), coefficients of
 *     small trios in shared memory. (Tried without effect, 25 ms: jj's bond
 *     data and force sum in registers, 4-wide coefficient rows with 16-byte
 *     loads, register caps of 64-255 for k_uf3.)
 *     The `perf:` line of md --gpu also counts the CPU neighbour-list
 *     rebuilds (about 1-2 s per 10^6 atoms), which dominate short runs.
 */
#include "splinepot.h"

#include <cuda_runtime.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vector>

/* ------------------------------------------------------------ errors */

static thread_local char spc_err[256];

static sp_result_t spc_diag(sp_diag_t *d, sp_result_t r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(spc_err, sizeof spc_err, fmt, ap);
    va_end(ap);
    if (d) {
        d->line = 0;
        snprintf(d->msg, sizeof d->msg, "%s", spc_err);
    }
    return r;
}

/* a failed CUDA call: SP_ERR_NO_MEMORY for allocation failures, else SP_ERR_DEVICE */
static sp_result_t spc_cuda(cudaError_t e, const char *what, sp_diag_t *d = NULL) {
    if (e == cudaSuccess) return SP_OK;
    (void)cudaGetLastError(); /* clear a non-sticky error */
    return spc_diag(d, e == cudaErrorMemoryAllocation ? SP_ERR_NO_MEMORY : SP_ERR_DEVICE, "CUDA %s: %s", what,
                    cudaGetErrorString(e));
}

#define SPC_TRY(call, what)                                      \
    do {                                                         \
        sp_result_t spc_r_ = spc_cuda((call), (what));           \
        if (spc_r_ != SP_OK) return spc_r_;                      \
    } while (0)

template <class T> static cudaError_t spc_upload(T **dst, const T *src, size_t n) {
    cudaError_t e;
    *dst = NULL;
    e = cudaMalloc((void **)dst, (n ? n : 1) * sizeof(T));
    if (e != cudaSuccess) return e;
    if (n && src) e = cudaMemcpy(*dst, src, n * sizeof(T), cudaMemcpyHostToDevice);
    return e;
}

/* grows a device buffer (contents not kept) */
template <class T> static cudaError_t spc_reserve(T **p, size_t *cap, size_t n) {
    if (n <= *cap && *p) return cudaSuccess;
    cudaFree(*p);
    *p = NULL;
    *cap = 0;
    n = n + n / 4 + 16;
    cudaError_t e = cudaMalloc((void **)p, n * sizeof(T));
    if (e == cudaSuccess) *cap = n;
    return e;
}

extern "C" const char *sp_cuda_last_error(void) { return spc_err; }

extern "C" sp_result_t sp_cuda_device_info(int *out_count, char *out_name, size_t name_len) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (out_name && name_len) out_name[0] = '\0';
    if (e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver) {
        (void)cudaGetLastError();
        snprintf(spc_err, sizeof spc_err, "%s", cudaGetErrorString(e));
        n = 0;
    } else if (e != cudaSuccess) {
        if (out_count) *out_count = 0;
        return spc_cuda(e, "cudaGetDeviceCount");
    }
    if (out_count) *out_count = n;
    if (n > 0 && out_name && name_len) {
        int dev = 0;
        cudaDeviceProp p;
        if (cudaGetDevice(&dev) == cudaSuccess && cudaGetDeviceProperties(&p, dev) == cudaSuccess)
            snprintf(out_name, name_len, "%s", p.name);
    }
    return SP_OK;
}

static sp_result_t spc_need_device(sp_diag_t *d) {
    int n = 0;
    sp_result_t r = sp_cuda_device_info(&n, NULL, 0);
    if (r != SP_OK) return spc_diag(d, r, "%s", spc_err);
    if (n < 1) return spc_diag(d, SP_ERR_DEVICE, "no CUDA device");
    return SP_OK;
}

/* ------------------------------------------- device splines (>>spline, >>bspline) */

/* sp__spline_eval, operation for operation */
__device__ __forceinline__ double spc_spline(const sp_spline_t *__restrict__ s, double x, double *deriv) {
    const double *g;
    double a, b, v;
    int k;
    x -= s->xmin;
    if (x <= 0.0) {
        *deriv = s->d0;
        return s->y0 + s->d0 * x;
    }
    if (!(x < s->xmax_shifted)) {
        *deriv = s->dN;
        return s->yN + s->dN * (x - s->xmax_shifted);
    }
    k = (int)(x * s->inv_h);
    if (k > s->n - 2) k = s->n - 2;
    g = s->seg + 5 * k;
    a = g[0] - x;
    b = s->h - a;
    v = g[1] - a * g[2] + ((a * a - s->hsq) * a * g[3] + (b * b - s->hsq) * b * g[4]);
    *deriv = g[2] + ((3.0 * b * b - s->hsq) * g[4] - (3.0 * a * a - s->hsq) * g[3]);
    return v;
}

/* sp__uf3_pair_eval */
__device__ __forceinline__ double spc_uf3_pair(const sp_uf3_pair_t *__restrict__ P, double r, double *d) {
    const double *q;
    double x;
    int k;
    if (P->uniform) {
        double f = (r - P->t0) * P->inv_h;
        k = f < 0.0 ? 0 : (f >= (double)(P->nint - 1) ? P->nint - 1 : (int)f);
    } else {
        int lo = 0, hi = P->nint - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) / 2;
            if (P->poly[5 * mid] <= r) lo = mid;
            else hi = mid - 1;
        }
        k = lo;
    }
    q = P->poly + 5 * k;
    x = r - q[0];
    *d = q[2] + x * (2.0 * q[3] + 3.0 * x * q[4]);
    return q[1] + x * (q[2] + x * (q[3] + x * q[4]));
}

/* sp_bspline_basis_fast with a table (always set by sp_uf3_finish) */
__device__ __forceinline__ int spc_basis(const sp_bspline_t *__restrict__ b, double x, double *ob, double *odb) {
    int k, j;
    if (!(x >= b->t0 && x <= b->t1)) {
        for (j = 0; j < 4; ++j) ob[j] = odb[j] = 0.0;
        return -1;
    }
    if (b->uniform) {
        k = 3 + (int)((x - b->t0) * b->inv_dt);
        if (k > b->nt - 5) k = b->nt - 5;
        while (k > 3 && x < b->t[k]) --k;
        while (k < b->nt - 5 && x >= b->t[k + 1]) ++k;
    } else { /* sp__bspline_span */
        int lo = 3, hi = b->nt - 5, mid;
        if (x >= b->t[hi]) {
            while (hi > 3 && b->t[hi] == b->t[hi + 1]) --hi;
            k = hi;
        } else {
            while (lo < hi) {
                mid = (lo + hi + 1) / 2;
                if (b->t[mid] <= x) lo = mid;
                else hi = mid - 1;
            }
            k = lo;
        }
    }
    {
        const double *row = b->tab + 16 * (size_t)(k - 3);
        const double u = x - b->t[k];
        for (j = 0; j < 4; ++j) {
            const double *c = row + 4 * j;
            ob[j] = c[0] + u * (c[1] + u * (c[2] + u * c[3]));
            odb[j] = c[1] + u * (2.0 * c[2] + 3.0 * u * c[3]);
        }
    }
    return k - 3;
}

/* sp__uf3_trio_eval */
__device__ __forceinline__ double spc_trio(const sp_uf3_trio_t *__restrict__ T, int il, const double *bl,
                                           const double *dbl, int im, const double *bm, const double *dbm, int in,
                                           const double *bn, const double *dbn, double *dl, double *dm, double *dn) {
    double av[4] = {0, 0, 0, 0}, al[4] = {0, 0, 0, 0}, am[4] = {0, 0, 0, 0};
    int a, b, c;
    for (a = 0; a < 4; ++a)
        for (b = 0; b < 4; ++b) {
            const double *row = T->c + ((size_t)(il + a) * T->M + (size_t)(im + b)) * T->N + in;
            const double wv = bl[a] * bm[b], wl = dbl[a] * bm[b], wm = bl[a] * dbm[b];
            for (c = 0; c < 4; ++c) {
                const double rc = __ldg(row + c);
                av[c] += wv * rc;
                al[c] += wl * rc;
                am[c] += wm * rc;
            }
        }
    *dl = al[0] * bn[0] + al[1] * bn[1] + al[2] * bn[2] + al[3] * bn[3];
    *dm = am[0] * bn[0] + am[1] * bn[1] + am[2] * bn[2] + am[3] * bn[3];
    *dn = av[0] * dbn[0] + av[1] * dbn[1] + av[2] * dbn[2] + av[3] * dbn[3];
    return av[0] * bn[0] + av[1] * bn[1] + av[2] * bn[2] + av[3] * bn[3];
}

__device__ __forceinline__ int spc_pair_index(int nelem, int a, int b) {
    if (a > b) { int t = a; a = b; b = t; }
    return a * nelem - a * (a - 1) / 2 + (b - a);
}

/* ------------------------------------------- deterministic reductions */

#define SPC_RED_THREADS 256
#define SPC_RED_BLOCKS 256 /* fixed: the summation tree does not depend on the device */

/* out[c * gridDim.x + block] = sum (op 0) or max (op 1) over this block's
   contiguous range of items of in[item * istride + c * cstride]; a fixed
   tree: per thread a strided sequential sum, then a shared-memory halving. */
__global__ void k_reduce(const double *__restrict__ in, long n, long istride, long cstride, int ncomp, int op,
                         double *__restrict__ out) {
    __shared__ double sh[SPC_RED_THREADS];
    const long chunk = (n + gridDim.x - 1) / gridDim.x, lo = chunk * blockIdx.x;
    const long hi = lo + chunk < n ? lo + chunk : n;
    int c, s;
    for (c = 0; c < ncomp; ++c) {
        double acc = 0.0;
        long i;
        for (i = lo + threadIdx.x; i < hi; i += blockDim.x) {
            const double v = in[i * istride + c * cstride];
            acc = op ? (v > acc ? v : acc) : acc + v;
        }
        sh[threadIdx.x] = acc;
        __syncthreads();
        for (s = blockDim.x / 2; s > 0; s >>= 1) {
            if ((int)threadIdx.x < s) sh[threadIdx.x] = op ? fmax(sh[threadIdx.x], sh[threadIdx.x + s])
                                                          : sh[threadIdx.x] + sh[threadIdx.x + s];
            __syncthreads();
        }
        if (threadIdx.x == 0) out[(long)c * gridDim.x + blockIdx.x] = sh[0];
        __syncthreads();
    }
}

/* ncomp totals of n items (item stride istride) into dst[0..ncomp-1] (device) */
static void spc_total(const double *in, long n, long istride, int ncomp, int op, double *partial, double *dst) {
    k_reduce<<<SPC_RED_BLOCKS, SPC_RED_THREADS>>>(in, n, istride, 1, ncomp, op, partial);
    k_reduce<<<1, SPC_RED_THREADS>>>(partial, SPC_RED_BLOCKS, 1, SPC_RED_BLOCKS, ncomp, op, dst);
}

/* ------------------------------------------- large systems: kernels */

/* everything a centre kernel reads, by value */
struct spc_k {
    int n, next, T, cap, nelem, np;
    double rc2;
    const int *first, *j, *rev, *owner, *type;
    const double *xe;
    double *fb;      /* 3 per list entry, or NULL (UF2) */
    double *atom;    /* ea[n], va[9n], fa[3n] as in sp_work_t */
    double *scr;     /* bond caches: [field][slot][thread] */
    int *iscr;
    /* s-MEAM */
    const sp_spline_t *spl;
    int o_phi, o_rho, o_U, o_f, o_g, o_F, o_G;
    double zero[SP_MAX_ELEMENTS];
    /* UF3 */
    const sp_uf3_pair_t *pair;
    const sp_uf3_trio_t *trio;
    double e1[SP_MAX_ELEMENTS];
    double cut3;
    int has3, same3;
};

#define SPC_D(f, k) K.scr[((size_t)(f) * K.cap + (k)) * K.T + tid]
#define SPC_I(f, k) K.iscr[((size_t)(f) * K.cap + (k)) * K.T + tid]

/* xe = x[owner] + shift (sp_nlist_update) */
__global__ void k_ghost(int next, const int *__restrict__ owner, const double *__restrict__ shift,
                        const double *__restrict__ x, double *__restrict__ xe) {
    const int a = blockIdx.x * blockDim.x + threadIdx.x;
    if (a < next) {
        const double *p = x + 3 * (size_t)owner[a];
        const double *s = shift + 3 * (size_t)a;
        xe[3 * (size_t)a] = p[0] + s[0];
        xe[3 * (size_t)a + 1] = p[1] + s[1];
        xe[3 * (size_t)a + 2] = p[2] + s[2];
    }
}

/* sp__meam_center_t for centres tid, tid + T, ...: bonds in list order; bonds
   whose f, f' (F, F') are zero are skipped in the triplet loops, as the CPU's
   compaction does. Scratch fields: 0-2 u, 3 1/r, 4 f, 5 f', 6 phi', 7-9 dn,
   10 F, 11 F', 12-14 dE_sw/dr; ints: 0 entry, 1 type, 2 active. */
template <int SW, int SINGLE> __global__ void __launch_bounds__(128) k_meam(spc_k K) {
    const int tid = blockIdx.x * blockDim.x + threadIdx.x;
    int i;
    if (tid >= K.T) return;
    for (i = tid; i < K.n; i += K.T) {
        const int ti = SINGLE ? 0 : K.type[i];
        const double xi0 = K.xe[3 * (size_t)i], xi1 = K.xe[3 * (size_t)i + 1], xi2 = K.xe[3 * (size_t)i + 2];
        double e = 0.0, n = 0.0, esw = 0.0, U, dU;
        int b, nb = 0, jj, kk;
        for (b = K.first[i]; b < K.first[i + 1]; ++b) {
            const int g = K.j[b];
            const double dx = K.xe[3 * (size_t)g] - xi0, dy = K.xe[3 * (size_t)g + 1] - xi1,
                         dz = K.xe[3 * (size_t)g + 2] - xi2;
            const double r2 = dx * dx + dy * dy + dz * dz;
            double r, inv, drho, fv, fpv, Fv = 0.0, Fpv = 0.0, dph, ux, uy, uz;
            int tj;
            if (r2 >= K.rc2) {
                K.fb[3 * (size_t)b] = K.fb[3 * (size_t)b + 1] = K.fb[3 * (size_t)b + 2] = 0.0;
                continue;
            }
            tj = SINGLE ? 0 : K.type[K.owner[g]];
            r = sqrt(r2);
            inv = 1.0 / r;
            fv = spc_spline(K.spl + K.o_f + tj, r, &fpv);
            if (SW) Fv = spc_spline(K.spl + K.o_F, r, &Fpv);
            SPC_I(0, nb) = b;
            SPC_I(1, nb) = tj;
            SPC_I(2, nb) = (fv != 0.0 || fpv != 0.0 || Fv != 0.0 || Fpv != 0.0);
            SPC_D(3, nb) = inv;
            ux = dx * inv; uy = dy * inv; uz = dz * inv;
            SPC_D(0, nb) = ux; SPC_D(1, nb) = uy; SPC_D(2, nb) = uz;
            SPC_D(4, nb) = fv;
            SPC_D(5, nb) = fpv;
            e += 0.5 * spc_spline(K.spl + K.o_phi + (SINGLE ? 0 : spc_pair_index(K.nelem, ti, tj)), r, &dph);
            SPC_D(6, nb) = dph;
            n += spc_spline(K.spl + K.o_rho + tj, r, &drho);
            SPC_D(7, nb) = drho * ux; SPC_D(8, nb) = drho * uy; SPC_D(9, nb) = drho * uz;
            if (SW) {
                SPC_D(10, nb) = Fv; SPC_D(11, nb) = Fpv;
                SPC_D(12, nb) = SPC_D(13, nb) = SPC_D(14, nb) = 0.0;
            }
            ++nb;
        }
        for (jj = 0; jj < nb; ++jj) {
            if (!SPC_I(2, jj)) continue;
            const double ujx = SPC_D(0, jj), ujy = SPC_D(1, jj), ujz = SPC_D(2, jj), fj = SPC_D(4, jj),
                         fpj = SPC_D(5, jj), irj = SPC_D(3, jj);
            const int tj = SPC_I(1, jj);
            double s_fg = 0.0, s_a = 0.0, s_x = 0.0, s_y = 0.0, s_z = 0.0;
            double q_fg = 0.0, q_a = 0.0, q_x = 0.0, q_y = 0.0, q_z = 0.0;
            for (kk = jj + 1; kk < nb; ++kk) {
                if (!SPC_I(2, kk)) continue;
                const double ukx = SPC_D(0, kk), uky = SPC_D(1, kk), ukz = SPC_D(2, kk), irk = SPC_D(3, kk);
                const double c = ujx * ukx + ujy * uky + ujz * ukz;
                double dg, gk = spc_spline(K.spl + K.o_g + (SINGLE ? 0 : spc_pair_index(K.nelem, tj, SPC_I(1, kk))),
                                           c, &dg);
                const double fk = SPC_D(4, kk), fjfk = fj * fk, a2 = fjfk * dg, tk = a2 * irk,
                             a3 = fj * SPC_D(5, kk) * gk;
                const double tjj = a2 * irj;
                s_fg += fk * gk;
                s_a += fpj * fk * gk - tjj * c;
                s_x += tjj * ukx;
                s_y += tjj * uky;
                s_z += tjj * ukz;
                SPC_D(7, kk) += a3 * ukx + tk * (ujx - c * ukx);
                SPC_D(8, kk) += a3 * uky + tk * (ujy - c * uky);
                SPC_D(9, kk) += a3 * ukz + tk * (ujz - c * ukz);
                if (SW) {
                    double dG, Gv = spc_spline(K.spl + K.o_G, c, &dG);
                    const double Fj = SPC_D(10, jj), Fpj = SPC_D(11, jj), Fk = SPC_D(10, kk), FF = Fj * Fk,
                                 s2 = FF * dG;
                    const double t1 = s2 * irj, t2 = s2 * irk, s3 = Fj * SPC_D(11, kk) * Gv;
                    q_fg += Fk * Gv;
                    q_a += Fpj * Fk * Gv - t1 * c;
                    q_x += t1 * ukx;
                    q_y += t1 * uky;
                    q_z += t1 * ukz;
                    SPC_D(12, kk) += s3 * ukx + t2 * (ujx - c * ukx);
                    SPC_D(13, kk) += s3 * uky + t2 * (ujy - c * uky);
                    SPC_D(14, kk) += s3 * ukz + t2 * (ujz - c * ukz);
                }
            }
            n += fj * s_fg;
            SPC_D(7, jj) += s_a * ujx + s_x;
            SPC_D(8, jj) += s_a * ujy + s_y;
            SPC_D(9, jj) += s_a * ujz + s_z;
            if (SW) {
                esw += SPC_D(10, jj) * q_fg;
                SPC_D(12, jj) += q_a * ujx + q_x;
                SPC_D(13, jj) += q_a * ujy + q_y;
                SPC_D(14, jj) += q_a * ujz + q_z;
            }
        }
        U = spc_spline(K.spl + K.o_U + ti, n, &dU);
        e += U - K.zero[ti] + esw;
        for (jj = 0; jj < nb; ++jj) {
            double *o = K.fb + 3 * (size_t)SPC_I(0, jj);
            const double hp = 0.5 * SPC_D(6, jj);
            double o0 = -(hp * SPC_D(0, jj) + dU * SPC_D(7, jj));
            double o1 = -(hp * SPC_D(1, jj) + dU * SPC_D(8, jj));
            double o2 = -(hp * SPC_D(2, jj) + dU * SPC_D(9, jj));
            if (SW) {
                o0 -= SPC_D(12, jj);
                o1 -= SPC_D(13, jj);
                o2 -= SPC_D(14, jj);
            }
            o[0] = o0; o[1] = o1; o[2] = o2;
        }
        K.atom[i] = e;
        {
            double *va = K.atom + K.n + 9 * (size_t)i, *fa = K.atom + 10 * (size_t)K.n + 3 * (size_t)i;
            int a;
            for (a = 0; a < 9; ++a) va[a] = 0.0;
            fa[0] = fa[1] = fa[2] = 0.0;
        }
    }
}

/* sp__uf3_center: 2-body direct (force and virial per atom), 3-body into the
   per-bond slots. Scratch fields: 0 r, 1-3 u, 4-11 basis values and
   derivatives along l/m (same3), 12-14 the bond force being summed; ints:
   0 entry, 1 type, 2 basis index. */
template <int HAS3> __global__ void __launch_bounds__(128) k_uf3(spc_k K) {
    const int tid = blockIdx.x * blockDim.x + threadIdx.x;
    int i;
    if (tid >= K.T) return;
    for (i = tid; i < K.n; i += K.T) {
        const int ti = K.type[i];
        const double xi0 = K.xe[3 * (size_t)i], xi1 = K.xe[3 * (size_t)i + 1], xi2 = K.xe[3 * (size_t)i + 2];
        double e = K.e1[ti], fx = 0.0, fy = 0.0, fz = 0.0, wxx = 0, wxy = 0, wxz = 0, wyy = 0, wyz = 0, wzz = 0;
        int b, nb = 0, jj, kk;
        for (b = K.first[i]; b < K.first[i + 1]; ++b) {
            const int g = K.j[b];
            const double dx = K.xe[3 * (size_t)g] - xi0, dy = K.xe[3 * (size_t)g + 1] - xi1,
                         dz = K.xe[3 * (size_t)g + 2] - xi2;
            const double r2 = dx * dx + dy * dy + dz * dz;
            double r, inv, dv = 0.0;
            int tj;
            if (HAS3) K.fb[3 * (size_t)b] = K.fb[3 * (size_t)b + 1] = K.fb[3 * (size_t)b + 2] = 0.0;
            if (r2 >= K.rc2) continue;
            tj = K.type[K.owner[g]];
            r = sqrt(r2);
            inv = 1.0 / r;
            {
                const sp_uf3_pair_t *P = K.pair + spc_pair_index(K.nelem, ti, tj);
                if (r < P->cut) {
                    double q;
                    e += spc_uf3_pair(P, r, &dv);
                    q = dv * inv;
                    fx += 2.0 * q * dx; fy += 2.0 * q * dy; fz += 2.0 * q * dz;
                    wxx -= q * dx * dx; wxy -= q * dx * dy; wxz -= q * dx * dz;
                    wyy -= q * dy * dy; wyz -= q * dy * dz; wzz -= q * dz * dz;
                }
            }
            if (HAS3 && r <= K.cut3) {
                SPC_I(0, nb) = b;
                SPC_I(1, nb) = tj;
                SPC_D(0, nb) = r;
                SPC_D(1, nb) = dx * inv; SPC_D(2, nb) = dy * inv; SPC_D(3, nb) = dz * inv;
                SPC_D(12, nb) = SPC_D(13, nb) = SPC_D(14, nb) = 0.0;
                if (K.same3) {
                    double bb[4], db[4];
                    int q;
                    SPC_I(2, nb) = spc_basis(&K.trio[0].bs[0], r, bb, db);
                    for (q = 0; q < 4; ++q) { SPC_D(4 + q, nb) = bb[q]; SPC_D(8 + q, nb) = db[q]; }
                }
                ++nb;
            }
        }
        if (HAS3)
            for (jj = 0; jj < nb; ++jj)
                for (kk = jj + 1; kk < nb; ++kk) {
                    int J = jj, K2 = kk, il, im, in, q;
                    const sp_uf3_trio_t *T;
                    double vjk[3], rjk, bn[4], dbn[4], lb[8], mb[8], dl, dm, dn, v, rJ, rK;
                    if (SPC_I(1, K2) < SPC_I(1, J)) { J = kk; K2 = jj; }
                    T = K.trio + (size_t)ti * K.np + spc_pair_index(K.nelem, SPC_I(1, J), SPC_I(1, K2));
                    rJ = SPC_D(0, J);
                    rK = SPC_D(0, K2);
                    if (rJ > T->bs[0].t1 || rK > T->bs[1].t1 || rJ < T->bs[0].t0 || rK < T->bs[1].t0) continue;
                    {
                        const double uJx = SPC_D(1, J), uJy = SPC_D(2, J), uJz = SPC_D(3, J);
                        const double uKx = SPC_D(1, K2), uKy = SPC_D(2, K2), uKz = SPC_D(3, K2);
                        vjk[0] = rK * uKx - rJ * uJx;
                        vjk[1] = rK * uKy - rJ * uJy;
                        vjk[2] = rK * uKz - rJ * uJz;
                        rjk = sqrt(vjk[0] * vjk[0] + vjk[1] * vjk[1] + vjk[2] * vjk[2]);
                        if (rjk < T->bs[2].t0 || rjk > T->bs[2].t1) continue;
                        in = spc_basis(&T->bs[2], rjk, bn, dbn);
                        if (K.same3) {
                            il = SPC_I(2, J);
                            im = SPC_I(2, K2);
                            for (q = 0; q < 8; ++q) { lb[q] = SPC_D(4 + q, J); mb[q] = SPC_D(4 + q, K2); }
                        } else {
                            il = spc_basis(&T->bs[0], rJ, lb, lb + 4);
                            im = spc_basis(&T->bs[1], rK, mb, mb + 4);
                        }
                        v = spc_trio(T, il, lb, lb + 4, im, mb, mb + 4, in, bn, dbn, &dl, &dm, &dn);
                        e += v;
                        dn /= rjk;
                        SPC_D(12, J) += -dl * uJx + dn * vjk[0];
                        SPC_D(13, J) += -dl * uJy + dn * vjk[1];
                        SPC_D(14, J) += -dl * uJz + dn * vjk[2];
                        SPC_D(12, K2) += -dm * uKx - dn * vjk[0];
                        SPC_D(13, K2) += -dm * uKy - dn * vjk[1];
                        SPC_D(14, K2) += -dm * uKz - dn * vjk[2];
                    }
                }
        if (HAS3)
            for (jj = 0; jj < nb; ++jj) {
                double *o = K.fb + 3 * (size_t)SPC_I(0, jj);
                o[0] = SPC_D(12, jj); o[1] = SPC_D(13, jj); o[2] = SPC_D(14, jj);
            }
        K.atom[i] = e;
        {
            double *va = K.atom + K.n + 9 * (size_t)i, *fa = K.atom + 10 * (size_t)K.n + 3 * (size_t)i;
            fa[0] = fx; fa[1] = fy; fa[2] = fz;
            va[0] = wxx; va[1] = wxy; va[2] = wxz;
            va[3] = wxy; va[4] = wyy; va[5] = wyz;
            va[6] = wxz; va[7] = wyz; va[8] = wzz;
        }
    }
}

/* the gather of sp_pot_compute: forces and per-atom virials in list order */
__global__ void k_gather(spc_k K, double *__restrict__ forces) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    double f[3], w[9];
    int b, a, c;
    if (i >= K.n) return;
    const double *xi = K.xe + 3 * (size_t)i;
    double *fa = K.atom + 10 * (size_t)K.n + 3 * (size_t)i, *va = K.atom + K.n + 9 * (size_t)i;
    for (a = 0; a < 3; ++a) f[a] = fa[a];
    for (a = 0; a < 9; ++a) w[a] = va[a];
    if (K.fb)
        for (b = K.first[i]; b < K.first[i + 1]; ++b) {
            const double *fo = K.fb + 3 * (size_t)b, *fr = K.fb + 3 * (size_t)K.rev[b];
            const double *xg = K.xe + 3 * (size_t)K.j[b];
            double d[3], o[3];
            d[0] = xg[0] - xi[0]; d[1] = xg[1] - xi[1]; d[2] = xg[2] - xi[2];
            o[0] = fo[0]; o[1] = fo[1]; o[2] = fo[2];
            f[0] += fr[0] - o[0];
            f[1] += fr[1] - o[1];
            f[2] += fr[2] - o[2];
            for (a = 0; a < 3; ++a)
                for (c = 0; c < 3; ++c) w[3 * a + c] += d[a] * o[c];
        }
    forces[3 * (size_t)i] = f[0];
    forces[3 * (size_t)i + 1] = f[1];
    forces[3 * (size_t)i + 2] = f[2];
    for (a = 0; a < 9; ++a) va[a] = w[a];
}

/* ------------------------------------------- large systems: host side */

struct sp_cuda_sys_t {
    spc_k K;               /* device pointers and potential constants */
    sp_pot_kind_t kind;
    int natoms, maxdeg, nsm;
    size_t nent;
    sp_spline_t *d_spl;
    sp_uf3_pair_t *d_pair;
    sp_uf3_trio_t *d_trio;
    double *d_pot;         /* packed knots, tables, coefficients (UF3) */
    int *d_type, *d_first, *d_j, *d_rev, *d_owner;
    size_t cap_first, cap_j, cap_rev, cap_owner, cap_shift, cap_xe;
    double *d_shift, *d_xe;
    double *d_x, *d_x0, *d_v, *d_f, *d_im, *d_tmp, *d_atom, *d_fb, *d_scr;
    int *d_iscr;
    size_t cap_fb, cap_scr, cap_iscr;
    double *d_part, *d_tot; /* reduction partials; totals: 0 energy, 1-9 virial, 10 ke, 11 dmax2 */
    double pot_cutoff, mvv2e;
    int have_list, have_md;
};

extern "C" void sp_cuda_sys_free(sp_cuda_sys_t *g) {
    if (!g) return;
    void *p[] = {g->d_spl, g->d_pair, g->d_trio, g->d_pot, g->d_type, g->d_first, g->d_j, g->d_rev, g->d_owner,
                 g->d_shift, g->d_xe, g->d_x, g->d_x0, g->d_v, g->d_f, g->d_im, g->d_tmp, g->d_atom, g->d_fb,
                 g->d_scr, g->d_iscr, g->d_part, g->d_tot};
    for (size_t k = 0; k < sizeof p / sizeof p[0]; ++k) cudaFree(p[k]);
    free(g);
}

/* the UF3 tables with device pointers: host copies of the structs, their
   arrays packed into one device block */
static sp_result_t spc_upload_uf3(sp_cuda_sys_t *g, const sp_pot_t *pot) {
    const sp_uf3_t *u = &pot->uf3;
    const int ne = pot->nelem, np = ne * (ne + 1) / 2, ntrio = u->has3 ? ne * np : 0;
    std::vector<double> pack;
    std::vector<sp_uf3_pair_t> P(u->pair, u->pair + np);
    std::vector<sp_uf3_trio_t> T;
    std::vector<size_t> off;
    int k, a;
    if (ntrio) T.assign(u->trio, u->trio + ntrio);
    /* record offsets now, pointers after the upload */
    for (k = 0; k < np; ++k) {
        off.push_back(pack.size());
        pack.insert(pack.end(), P[k].t, P[k].t + P[k].nt);
        off.push_back(pack.size());
        pack.insert(pack.end(), P[k].poly, P[k].poly + 5 * (size_t)(P[k].nint > 0 ? P[k].nint : 1));
    }
    for (k = 0; k < ntrio; ++k) {
        for (a = 0; a < 3; ++a) {
            off.push_back(pack.size());
            pack.insert(pack.end(), T[k].t[a], T[k].t[a] + T[k].nt[a]);
            off.push_back(pack.size());
            pack.insert(pack.end(), T[k].tab[a], T[k].tab[a] + sp_bspline_table_size(T[k].nt[a]));
        }
        off.push_back(pack.size());
        pack.insert(pack.end(), T[k].c, T[k].c + (size_t)T[k].L * T[k].M * T[k].N);
    }
    SPC_TRY(spc_upload(&g->d_pot, pack.data(), pack.size()), "upload of the UF3 tables");
    size_t q = 0;
    for (k = 0; k < np; ++k) {
        P[k].t = g->d_pot + off[q++];
        P[k].poly = g->d_pot + off[q++];
        P[k].c = NULL; /* the power form is used */
    }
    for (k = 0; k < ntrio; ++k) {
        for (a = 0; a < 3; ++a) {
            T[k].t[a] = g->d_pot + off[q++];
            T[k].tab[a] = g->d_pot + off[q++];
            T[k].bs[a].t = T[k].t[a];
            T[k].bs[a].tab = T[k].tab[a];
        }
        T[k].c = g->d_pot + off[q++];
    }
    SPC_TRY(spc_upload(&g->d_pair, P.data(), P.size()), "upload of the UF3 pairs");
    if (ntrio) SPC_TRY(spc_upload(&g->d_trio, T.data(), T.size()), "upload of the UF3 trios");
    g->K.pair = g->d_pair;
    g->K.trio = g->d_trio;
    for (k = 0; k < ne; ++k) g->K.e1[k] = u->e1[k];
    g->K.cut3 = u->cut3;
    g->K.has3 = u->has3;
    g->K.same3 = u->same3;
    return SP_OK;
}

static sp_result_t spc_upload_meam(sp_cuda_sys_t *g, const sp_pot_t *pot) {
    const sp_meam_t *m = &pot->meam;
    const int ne = pot->nelem, np = ne * (ne + 1) / 2;
    std::vector<sp_spline_t> S;
    int k;
    g->K.o_phi = 0;
    S.insert(S.end(), m->phi, m->phi + np);
    g->K.o_rho = (int)S.size();
    S.insert(S.end(), m->rho, m->rho + ne);
    g->K.o_U = (int)S.size();
    S.insert(S.end(), m->U, m->U + ne);
    g->K.o_f = (int)S.size();
    S.insert(S.end(), m->f, m->f + ne);
    g->K.o_g = (int)S.size();
    S.insert(S.end(), m->g, m->g + np);
    g->K.o_F = g->K.o_G = 0;
    if (pot->kind == SP_POT_MEAM_SW) {
        g->K.o_F = (int)S.size();
        S.push_back(m->F[0]);
        g->K.o_G = (int)S.size();
        S.push_back(m->G[0]);
    }
    SPC_TRY(spc_upload(&g->d_spl, S.data(), S.size()), "upload of the splines");
    g->K.spl = g->d_spl;
    for (k = 0; k < ne; ++k) g->K.zero[k] = m->zero_energy[k];
    return SP_OK;
}

extern "C" sp_result_t sp_cuda_sys_create(sp_cuda_sys_t **out, const sp_pot_t *pot, int natoms, const int *type,
                                          sp_diag_t *diag) {
    sp_cuda_sys_t *g;
    sp_result_t r;
    int i, dev = 0;
    if (out) *out = NULL;
    if (!out || !pot || natoms < 1 || !type) return spc_diag(diag, SP_ERR_BAD_ARG, "bad argument");
    if (pot->kind != SP_POT_MEAM && pot->kind != SP_POT_MEAM_SW && pot->kind != SP_POT_UF3)
        return spc_diag(diag, SP_ERR_BAD_ARG, "not an s-MEAM or UF3 potential");
    for (i = 0; i < natoms; ++i)
        if (type[i] < 0 || type[i] >= pot->nelem) return spc_diag(diag, SP_ERR_UNKNOWN_ELEMENT, "atom %d: bad type", i + 1);
    if ((r = spc_need_device(diag)) != SP_OK) return r;
    g = (sp_cuda_sys_t *)calloc(1, sizeof *g);
    if (!g) return spc_diag(diag, SP_ERR_NO_MEMORY, "out of memory");
    g->kind = pot->kind;
    g->natoms = natoms;
    g->K.n = natoms;
    g->K.nelem = pot->nelem;
    g->K.np = pot->nelem * (pot->nelem + 1) / 2;
    g->K.rc2 = pot->cutoff * pot->cutoff;
    g->pot_cutoff = pot->cutoff;
    cudaGetDevice(&dev);
    cudaDeviceGetAttribute(&g->nsm, cudaDevAttrMultiProcessorCount, dev);
    if (g->nsm < 1) g->nsm = 1;
    r = pot->kind == SP_POT_UF3 ? spc_upload_uf3(g, pot) : spc_upload_meam(g, pot);
    if (r == SP_OK) r = spc_cuda(spc_upload(&g->d_type, type, (size_t)natoms), "upload of the types");
    if (r == SP_OK) r = spc_cuda(spc_upload(&g->d_x, (const double *)NULL, 3 * (size_t)natoms), "cudaMalloc");
    if (r == SP_OK) r = spc_cuda(spc_upload(&g->d_f, (const double *)NULL, 3 * (size_t)natoms), "cudaMalloc");
    if (r == SP_OK) r = spc_cuda(spc_upload(&g->d_atom, (const double *)NULL, 13 * (size_t)natoms), "cudaMalloc");
    if (r == SP_OK) r = spc_cuda(spc_upload(&g->d_part, (const double *)NULL, 16 * (size_t)SPC_RED_BLOCKS), "cudaMalloc");
    if (r == SP_OK) r = spc_cuda(spc_upload(&g->d_tot, (const double *)NULL, 16), "cudaMalloc");
    if (r == SP_OK) r = spc_cuda(cudaMemset(g->d_tot, 0, 16 * sizeof(double)), "cudaMemset");
    if (r != SP_OK) {
        spc_diag(diag, r, "%s", spc_err);
        sp_cuda_sys_free(g);
        return r;
    }
    g->K.type = g->d_type;
    g->K.atom = g->d_atom;
    *out = g;
    return SP_OK;
}

static int spc_blocks(long n, int bs) { return (int)((n + bs - 1) / bs); }

extern "C" sp_result_t sp_cuda_sys_set_nlist(sp_cuda_sys_t *g, const sp_nlist_t *nl, const double *pos) {
    const int n = g ? g->natoms : 0;
    const int bonds = g && (g->kind != SP_POT_UF3 || g->K.has3);
    int i, maxdeg = 0, T;
    size_t nf;
    if (!g || !nl || !pos || nl->natoms != n || !nl->first) return spc_diag(NULL, SP_ERR_BAD_ARG, "bad argument");
    if (nl->cutoff < g->pot_cutoff) return spc_diag(NULL, SP_ERR_RANGE, "list cutoff below the potential's cutoff");
    for (i = 0; i < n; ++i)
        if (nl->first[i + 1] - nl->first[i] > maxdeg) maxdeg = nl->first[i + 1] - nl->first[i];
    g->nent = nl->n_entries;
    g->maxdeg = maxdeg;
    SPC_TRY(spc_reserve(&g->d_first, &g->cap_first, (size_t)n + 1), "cudaMalloc");
    SPC_TRY(spc_reserve(&g->d_j, &g->cap_j, g->nent), "cudaMalloc");
    SPC_TRY(spc_reserve(&g->d_rev, &g->cap_rev, g->nent), "cudaMalloc");
    SPC_TRY(spc_reserve(&g->d_owner, &g->cap_owner, (size_t)nl->next), "cudaMalloc");
    SPC_TRY(spc_reserve(&g->d_shift, &g->cap_shift, 3 * (size_t)nl->next), "cudaMalloc");
    SPC_TRY(spc_reserve(&g->d_xe, &g->cap_xe, 3 * (size_t)nl->next), "cudaMalloc");
    SPC_TRY(cudaMemcpy(g->d_first, nl->first, ((size_t)n + 1) * sizeof(int), cudaMemcpyHostToDevice), "upload of the list");
    SPC_TRY(cudaMemcpy(g->d_j, nl->j, g->nent * sizeof(int), cudaMemcpyHostToDevice), "upload of the list");
    SPC_TRY(cudaMemcpy(g->d_rev, nl->rev, g->nent * sizeof(int), cudaMemcpyHostToDevice), "upload of the list");
    SPC_TRY(cudaMemcpy(g->d_owner, nl->owner, (size_t)nl->next * sizeof(int), cudaMemcpyHostToDevice), "upload of the list");
    SPC_TRY(cudaMemcpy(g->d_shift, nl->shift, 3 * (size_t)nl->next * sizeof(double), cudaMemcpyHostToDevice),
            "upload of the list");
    if (bonds) SPC_TRY(spc_reserve(&g->d_fb, &g->cap_fb, 3 * g->nent + 3), "cudaMalloc (bond forces)");
    /* resident threads for the centre kernels, and their bond caches */
    /* one full wave of resident blocks of the centre kernel (no partial tail wave) */
    {
        int per_sm = 0;
        if (g->kind == SP_POT_UF3)
            cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, g->K.has3 ? k_uf3<1> : k_uf3<0>, 128, 0);
        else if (g->kind == SP_POT_MEAM_SW)
            cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, k_meam<1, 1>, 128, 0);
        else
            cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, g->K.nelem == 1 ? k_meam<0, 1> : k_meam<0, 0>, 128, 0);
        if (per_sm < 1) per_sm = 1;
        T = (int)(((long)n + 127) / 128 * 128);
        if (T > g->nsm * per_sm * 128) T = g->nsm * per_sm * 128;
    }
    nf = 15;
    SPC_TRY(spc_reserve(&g->d_scr, &g->cap_scr, nf * (size_t)(maxdeg + 1) * T), "cudaMalloc (bond caches)");
    SPC_TRY(spc_reserve(&g->d_iscr, &g->cap_iscr, 3 * (size_t)(maxdeg + 1) * T), "cudaMalloc (bond caches)");
    if (!g->d_x0) SPC_TRY(cudaMalloc((void **)&g->d_x0, 3 * (size_t)n * sizeof(double)), "cudaMalloc");
    if (!g->d_tmp) SPC_TRY(cudaMalloc((void **)&g->d_tmp, (size_t)n * sizeof(double)), "cudaMalloc");
    SPC_TRY(cudaMemcpy(g->d_x, pos, 3 * (size_t)n * sizeof(double), cudaMemcpyHostToDevice), "upload of positions");
    SPC_TRY(cudaMemcpy(g->d_x0, g->d_x, 3 * (size_t)n * sizeof(double), cudaMemcpyDeviceToDevice), "cudaMemcpy");
    g->K.next = nl->next;
    g->K.T = T;
    g->K.cap = maxdeg + 1;
    g->K.first = g->d_first;
    g->K.j = g->d_j;
    g->K.rev = g->d_rev;
    g->K.owner = g->d_owner;
    g->K.xe = g->d_xe;
    g->K.fb = bonds ? g->d_fb : NULL;
    g->K.scr = g->d_scr;
    g->K.iscr = g->d_iscr;
    k_ghost<<<spc_blocks(nl->next, 256), 256>>>(nl->next, g->d_owner, g->d_shift, g->d_x, g->d_xe);
    SPC_TRY(cudaGetLastError(), "k_ghost");
    g->have_list = 1;
    return SP_OK;
}

extern "C" sp_result_t sp_cuda_sys_set_positions(sp_cuda_sys_t *g, const double *pos) {
    if (!g || !pos || !g->have_list) return spc_diag(NULL, SP_ERR_BAD_ARG, "bad argument (no list uploaded)");
    SPC_TRY(cudaMemcpy(g->d_x, pos, 3 * (size_t)g->natoms * sizeof(double), cudaMemcpyHostToDevice),
            "upload of positions");
    k_ghost<<<spc_blocks(g->K.next, 256), 256>>>(g->K.next, g->d_owner, g->d_shift, g->d_x, g->d_xe);
    return spc_cuda(cudaGetLastError(), "k_ghost");
}

/* centre kernel, gather, totals (energy and virial into d_tot[0..9]) */
static sp_result_t spc_forces(sp_cuda_sys_t *g) {
    const spc_k &K = g->K;
    const int blocks = spc_blocks(K.T, 128);
    if (!g->have_list) return spc_diag(NULL, SP_ERR_BAD_ARG, "no neighbour list uploaded");
    if (g->kind == SP_POT_UF3) {
        if (K.has3) k_uf3<1><<<blocks, 128>>>(K);
        else k_uf3<0><<<blocks, 128>>>(K);
    } else if (g->kind == SP_POT_MEAM_SW) {
        k_meam<1, 1><<<blocks, 128>>>(K);
    } else if (K.nelem == 1) {
        k_meam<0, 1><<<blocks, 128>>>(K);
    } else {
        k_meam<0, 0><<<blocks, 128>>>(K);
    }
    SPC_TRY(cudaGetLastError(), "centre kernel");
    k_gather<<<spc_blocks(K.n, 128), 128>>>(K, g->d_f);
    SPC_TRY(cudaGetLastError(), "k_gather");
    spc_total(g->d_atom, K.n, 1, 1, 0, g->d_part, g->d_tot);
    spc_total(g->d_atom + K.n, K.n, 9, 9, 0, g->d_part, g->d_tot + 1);
    return spc_cuda(cudaGetLastError(), "k_reduce");
}

static int spc_finite(double x) { return x - x == 0.0; }

extern "C" sp_result_t sp_cuda_sys_compute(sp_cuda_sys_t *g, sp_out_t *out) {
    double tot[10];
    const size_t n = g ? (size_t)g->natoms : 0;
    sp_result_t r;
    if (!g || !out) return spc_diag(NULL, SP_ERR_BAD_ARG, "bad argument");
    if ((r = spc_forces(g)) != SP_OK) return r;
    SPC_TRY(cudaMemcpy(tot, g->d_tot, sizeof tot, cudaMemcpyDeviceToHost), "download of the totals");
    out->energy = tot[0];
    memcpy(out->virial, tot + 1, 9 * sizeof(double));
    if (out->forces) SPC_TRY(cudaMemcpy(out->forces, g->d_f, 3 * n * sizeof(double), cudaMemcpyDeviceToHost), "download");
    if (out->energies) SPC_TRY(cudaMemcpy(out->energies, g->d_atom, n * sizeof(double), cudaMemcpyDeviceToHost), "download");
    if (out->virials) SPC_TRY(cudaMemcpy(out->virials, g->d_atom + n, 9 * n * sizeof(double), cudaMemcpyDeviceToHost), "download");
    if (!spc_finite(out->energy) || !spc_finite(out->virial[0] + out->virial[4] + out->virial[8])) return SP_ERR_NOT_FINITE;
    return SP_OK;
}

/* ------------------------------------------- velocity Verlet on the device */

/* v += dt/2 F/m, x += dt v; tmp = |x - x0|^2 */
__global__ void k_drift(int n, double dt, const double *__restrict__ f, const double *__restrict__ im,
                        double *__restrict__ v, double *__restrict__ x, const double *__restrict__ x0,
                        double *__restrict__ tmp) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        const double inv_m = im[n + i];
        double dd = 0.0;
        int d;
        for (d = 0; d < 3; ++d) {
            const size_t k = 3 * (size_t)i + d;
            double dx;
            v[k] += 0.5 * dt * f[k] * inv_m;
            x[k] += dt * v[k];
            dx = x[k] - x0[k];
            dd += dx * dx;
        }
        tmp[i] = dd;
    }
}

/* v += dt/2 F/m; tmp = m |v|^2 / 2 */
__global__ void k_kick(int n, double dt, const double *__restrict__ f, const double *__restrict__ im,
                       double *__restrict__ v, double *__restrict__ tmp) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        const double inv_m = im[n + i];
        double *vi = v + 3 * (size_t)i;
        const double *fi = f + 3 * (size_t)i;
        vi[0] += 0.5 * dt * fi[0] * inv_m;
        vi[1] += 0.5 * dt * fi[1] * inv_m;
        vi[2] += 0.5 * dt * fi[2] * inv_m;
        tmp[i] = 0.5 * im[i] * (vi[0] * vi[0] + vi[1] * vi[1] + vi[2] * vi[2]);
    }
}

__device__ __forceinline__ unsigned long long spc_mix(unsigned long long z) {
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Langevin O step with normal deviates from a hash of (seed, step, atom) */
__global__ void k_langevin(int n, double c1, double kT, unsigned long long seed, unsigned long long step,
                           const double *__restrict__ im, double *__restrict__ v) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        const double sd = sqrt((1.0 - c1 * c1) * kT * im[n + i]);
        unsigned long long h = spc_mix(spc_mix(spc_mix(seed) ^ step) ^ (unsigned long long)i);
        double z[4];
        int d;
        for (d = 0; d < 2; ++d) { /* Box-Muller: two pairs of deviates */
            const double u1 = ((double)((h = spc_mix(h)) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
            const double u2 = (double)((h = spc_mix(h)) >> 11) * (1.0 / 9007199254740992.0);
            const double rr = sqrt(-2.0 * log(u1));
            z[2 * d] = rr * cos(6.283185307179586 * u2);
            z[2 * d + 1] = rr * sin(6.283185307179586 * u2);
        }
        for (d = 0; d < 3; ++d) v[3 * (size_t)i + d] = c1 * v[3 * (size_t)i + d] + sd * z[d];
    }
}

extern "C" sp_result_t sp_cuda_md_init(sp_cuda_sys_t *g, const double *vel, const double *mass, double mvv2e) {
    const size_t n = g ? (size_t)g->natoms : 0;
    std::vector<double> im(2 * n);
    size_t i;
    if (!g || !vel || !mass || !(mvv2e > 0)) return spc_diag(NULL, SP_ERR_BAD_ARG, "bad argument");
    for (i = 0; i < n; ++i) {
        if (!(mass[i] > 0)) return spc_diag(NULL, SP_ERR_BAD_ARG, "atom %d: mass not positive", (int)i + 1);
        im[i] = mass[i];
        im[n + i] = 1.0 / (mass[i] * mvv2e); /* the CPU loop's inv_m */
    }
    if (!g->d_v) SPC_TRY(cudaMalloc((void **)&g->d_v, 3 * n * sizeof(double)), "cudaMalloc");
    if (!g->d_im) SPC_TRY(cudaMalloc((void **)&g->d_im, 2 * n * sizeof(double)), "cudaMalloc");
    if (!g->d_tmp) SPC_TRY(cudaMalloc((void **)&g->d_tmp, n * sizeof(double)), "cudaMalloc");
    SPC_TRY(cudaMemcpy(g->d_v, vel, 3 * n * sizeof(double), cudaMemcpyHostToDevice), "upload of velocities");
    SPC_TRY(cudaMemcpy(g->d_im, im.data(), 2 * n * sizeof(double), cudaMemcpyHostToDevice), "upload of masses");
    g->mvv2e = mvv2e;
    g->have_md = 1;
    return SP_OK;
}

extern "C" sp_result_t sp_cuda_md_drift(sp_cuda_sys_t *g, double dt, double *out_dmax2) {
    if (!g || !g->have_md || !g->have_list) return spc_diag(NULL, SP_ERR_BAD_ARG, "md not initialised");
    k_drift<<<spc_blocks(g->natoms, 256), 256>>>(g->natoms, dt, g->d_f, g->d_im, g->d_v, g->d_x, g->d_x0, g->d_tmp);
    if (out_dmax2) {
        spc_total(g->d_tmp, g->natoms, 1, 1, 1, g->d_part, g->d_tot + 11);
        SPC_TRY(cudaMemcpy(out_dmax2, g->d_tot + 11, sizeof(double), cudaMemcpyDeviceToHost), "k_drift");
    }
    return spc_cuda(cudaGetLastError(), "k_drift");
}

extern "C" sp_result_t sp_cuda_md_langevin(sp_cuda_sys_t *g, double c1, double kT, uint64_t seed, uint64_t step) {
    if (!g || !g->have_md) return spc_diag(NULL, SP_ERR_BAD_ARG, "md not initialised");
    k_langevin<<<spc_blocks(g->natoms, 256), 256>>>(g->natoms, c1, kT, (unsigned long long)seed,
                                                    (unsigned long long)step, g->d_im, g->d_v);
    return spc_cuda(cudaGetLastError(), "k_langevin");
}

extern "C" sp_result_t sp_cuda_md_forces(sp_cuda_sys_t *g, double *out_energy) {
    sp_result_t r;
    if (!g || !g->have_list) return spc_diag(NULL, SP_ERR_BAD_ARG, "no neighbour list uploaded");
    k_ghost<<<spc_blocks(g->K.next, 256), 256>>>(g->K.next, g->d_owner, g->d_shift, g->d_x, g->d_xe);
    if ((r = spc_forces(g)) != SP_OK) return r;
    if (out_energy) {
        SPC_TRY(cudaMemcpy(out_energy, g->d_tot, sizeof(double), cudaMemcpyDeviceToHost), "download of the energy");
        if (!spc_finite(*out_energy)) return SP_ERR_NOT_FINITE;
    }
    return SP_OK;
}

extern "C" sp_result_t sp_cuda_md_kick(sp_cuda_sys_t *g, double dt, double *out_ke) {
    if (!g || !g->have_md) return spc_diag(NULL, SP_ERR_BAD_ARG, "md not initialised");
    k_kick<<<spc_blocks(g->natoms, 256), 256>>>(g->natoms, dt, g->d_f, g->d_im, g->d_v, g->d_tmp);
    if (out_ke) {
        double ke;
        spc_total(g->d_tmp, g->natoms, 1, 1, 0, g->d_part, g->d_tot + 10);
        SPC_TRY(cudaMemcpy(&ke, g->d_tot + 10, sizeof(double), cudaMemcpyDeviceToHost), "k_kick");
        *out_ke = ke * g->mvv2e;
    }
    return spc_cuda(cudaGetLastError(), "k_kick");
}

extern "C" sp_result_t sp_cuda_md_get(sp_cuda_sys_t *g, double *pos, double *vel, double *forces) {
    const size_t b = g ? 3 * (size_t)g->natoms * sizeof(double) : 0;
    if (!g) return spc_diag(NULL, SP_ERR_BAD_ARG, "bad argument");
    if (pos) SPC_TRY(cudaMemcpy(pos, g->d_x, b, cudaMemcpyDeviceToHost), "download of positions");
    if (vel && g->d_v) SPC_TRY(cudaMemcpy(vel, g->d_v, b, cudaMemcpyDeviceToHost), "download of velocities");
    if (forces) SPC_TRY(cudaMemcpy(forces, g->d_f, b, cudaMemcpyDeviceToHost), "download of forces");
    return SP_OK;
}

/* ------------------------------------------- structure vectors (>>sv) */

/* One thread per (parameter set p, item): items are bonds, atoms or
   configurations of the whole training set; blockIdx.x = p block + npb * item
   (no grid-dimension limits). An atom's n_i and the dn of its bonds belong to
   that atom's thread only, so no two threads write the same value. */

struct spc_svc { /* one configuration's place in the packed arrays */
    int n, nb;
    long ob, oa, ot, oref; /* first bond, atom, triplet; reference forces (-1: none) */
};

struct spc_svk {
    int P, npb, npar, nr2, ng2, nu, o_phi, o_rho, o_U, o_f, o_g;
    const spc_svc *conf;
    const double *s, *ds, *u, *rho_sum, *phi_sum, *sg, *dsg, *cs, *ref, *xu;
    const int *first;  /* per config n + 1 entries, at oa + c */
    const int *tfirst; /* per atom: first triplet (within its configuration) */
    const int *rev;    /* per bond, within its configuration */
    const int *aconf, *batom; /* configuration of each atom, global centre atom of each bond */
    const double *T;                 /* npar x P */
    double *fv, *fd, *pd, *dn, *nn, *dU; /* [item][p] */
    sp_spline_t *U;                  /* P */
    double *u0;                      /* P */
    double *E, *F, *sse;             /* [c P + p]; forces per config P x 3n; [c P + p] */
};

#define SPC_SV_THREADS 64
#define SPC_SV_ITEM(K, p, item)                                        \
    const long item = blockIdx.x / (K).npb;                            \
    const int p = (int)(blockIdx.x % (K).npb) * blockDim.x + threadIdx.x; \
    const long P = (K).P;                                              \
    if (p >= (K).P) return

/* f, f', phi', rho' u of bond gb (the CPU's bond loop) */
__global__ void __launch_bounds__(SPC_SV_THREADS) k_sv_bonds(spc_svk K) {
    SPC_SV_ITEM(K, p, gb);
    const double *sb = K.s + gb * K.nr2, *db = K.ds + gb * K.nr2, *ub = K.u + 4 * gb;
    double f1 = 0.0, f2 = 0.0, f3 = 0.0, dx = 0.0;
    int q;
    for (q = 0; q < K.nr2; ++q) {
        const double Tf = K.T[(K.o_f + q) * P + p], Tr = K.T[(K.o_rho + q) * P + p];
        const double Tp = K.T[(K.o_phi + q) * P + p];
        const double s = __ldg(sb + q), ds = __ldg(db + q);
        f1 += s * Tf;
        f2 += ds * Tf;
        f3 += ds * Tp;
        dx += ds * Tr;
    }
    K.fv[gb * P + p] = f1;
    K.fd[gb * P + p] = f2;
    K.pd[gb * P + p] = f3;
    K.dn[(3 * gb) * P + p] = dx * ub[0];
    K.dn[(3 * gb + 1) * P + p] = dx * ub[1];
    K.dn[(3 * gb + 2) * P + p] = dx * ub[2];
}

/* n_i (rho part, then the triplets in order) and dn_i/dr_ij of atom ga; the
   triplets are (bj, bk > bj) in list order, dn of bj kept in registers */
__global__ void __launch_bounds__(SPC_SV_THREADS) k_sv_trip(spc_svk K) {
    SPC_SV_ITEM(K, p, ga);
    const int c = K.aconf[ga];
    const spc_svc C = K.conf[c];
    const int i = (int)(ga - C.oa);
    const int *first = K.first + C.oa + c;
    long t = C.ot + K.tfirst[ga];
    double ni = 0.0;
    int bj, bk, q;
    for (q = 0; q < K.nr2; ++q) ni += __ldg(K.rho_sum + ga * K.nr2 + q) * K.T[(K.o_rho + q) * P + p];
    for (bj = first[i]; bj < first[i + 1]; ++bj) {
        const long gj = C.ob + bj;
        const double *uj = K.u + 4 * gj;
        const double fj = K.fv[gj * P + p], fdj = K.fd[gj * P + p];
        double dj0 = K.dn[(3 * gj) * P + p], dj1 = K.dn[(3 * gj + 1) * P + p], dj2 = K.dn[(3 * gj + 2) * P + p];
        for (bk = bj + 1; bk < first[i + 1]; ++bk, ++t) {
            const long gk = C.ob + bk;
            const double *uk = K.u + 4 * gk, cs = __ldg(K.cs + t);
            const double *sg = K.sg + t * K.ng2, *dsg = K.dsg + t * K.ng2;
            double cj[3], ck[3], g = 0.0, gd = 0.0;
            int d;
            for (d = 0; d < 3; ++d) {
                cj[d] = (uk[d] - cs * uj[d]) * uj[3];
                ck[d] = (uj[d] - cs * uk[d]) * uk[3];
            }
            for (q = 0; q < K.ng2; ++q) {
                const double Tg = K.T[(K.o_g + q) * P + p];
                g += __ldg(sg + q) * Tg;
                gd += __ldg(dsg + q) * Tg;
            }
            {
                const double fk = K.fv[gk * P + p], fdk = K.fd[gk * P + p], ff = fj * fk;
                const double a1 = fdj * fk * g, a2 = ff * gd, a3 = fj * fdk * g;
                ni += ff * g;
                dj0 += a1 * uj[0] + a2 * cj[0];
                dj1 += a1 * uj[1] + a2 * cj[1];
                dj2 += a1 * uj[2] + a2 * cj[2];
                K.dn[(3 * gk) * P + p] += a3 * uk[0] + a2 * ck[0];
                K.dn[(3 * gk + 1) * P + p] += a3 * uk[1] + a2 * ck[1];
                K.dn[(3 * gk + 2) * P + p] += a3 * uk[2] + a2 * ck[2];
            }
        }
        K.dn[(3 * gj) * P + p] = dj0;
        K.dn[(3 * gj + 1) * P + p] = dj1;
        K.dn[(3 * gj + 2) * P + p] = dj2;
    }
    K.nn[ga * P + p] = ni;
}

/* the clamped U spline of each parameter set (sp_spline_init) and U(0) */
__global__ void __launch_bounds__(SPC_SV_THREADS) k_sv_U(spc_svk K) {
    SPC_SV_ITEM(K, p, unused);
    const int n = K.nu;
    double y[SP_SPLINE_MAX_KNOTS], y2[SP_SPLINE_MAX_KNOTS], u[SP_SPLINE_MAX_KNOTS], qn, un, sig, pp, p0, pN, d;
    const double *x = K.xu;
    sp_spline_t *s = K.U + p;
    int i, k;
    (void)unused;
    for (i = 0; i < n; ++i) y[i] = K.T[(K.o_U + i) * P + p];
    p0 = K.T[(K.o_U + n) * P + p];
    pN = K.T[(K.o_U + n + 1) * P + p];
    /* sp__spline_y2, clamped */
    y2[0] = -0.5;
    u[0] = (3.0 / (x[1] - x[0])) * ((y[1] - y[0]) / (x[1] - x[0]) - p0);
    for (i = 1; i < n - 1; ++i) {
        sig = (x[i] - x[i - 1]) / (x[i + 1] - x[i - 1]);
        pp = sig * y2[i - 1] + 2.0;
        y2[i] = (sig - 1.0) / pp;
        u[i] = (y[i + 1] - y[i]) / (x[i + 1] - x[i]) - (y[i] - y[i - 1]) / (x[i] - x[i - 1]);
        u[i] = (6.0 * u[i] / (x[i + 1] - x[i - 1]) - sig * u[i - 1]) / pp;
    }
    qn = 0.5;
    un = (3.0 / (x[n - 1] - x[n - 2])) * (pN - (y[n - 1] - y[n - 2]) / (x[n - 1] - x[n - 2]));
    y2[n - 1] = (un - qn * u[n - 2]) / (qn * y2[n - 2] + 1.0);
    for (k = n - 2; k >= 0; --k) y2[k] = y2[k] * y2[k + 1] + u[k];
    s->n = n;
    s->xmin = x[0];
    s->xmax = x[n - 1];
    s->h = (x[n - 1] - x[0]) / (n - 1);
    s->hsq = s->h * s->h;
    s->inv_h = 1.0 / s->h;
    s->xmax_shifted = x[n - 1] - x[0];
    for (i = 0; i < n - 1; ++i) {
        double *g = s->seg + 5 * i;
        g[0] = x[i + 1] - s->xmin;
        g[1] = y[i + 1];
        g[2] = (y[i + 1] - y[i]) / s->h;
        g[3] = y2[i] / (s->h * 6.0);
        g[4] = y2[i + 1] / (s->h * 6.0);
    }
    s->y0 = y[0];
    s->yN = y[n - 1];
    s->d0 = p0;
    s->dN = pN;
    K.u0[p] = spc_spline(s, 0.0, &d);
}

/* energy of configuration c: phi, then U(n_i) - U(0) in atom order; U'(n_i) */
__global__ void __launch_bounds__(SPC_SV_THREADS) k_sv_energy(spc_svk K) {
    SPC_SV_ITEM(K, p, c);
    const spc_svc C = K.conf[c];
    const sp_spline_t *U = K.U + p;
    const double u0 = K.u0[p];
    double e = 0.0;
    int i, q;
    for (q = 0; q < K.nr2; ++q) e += __ldg(K.phi_sum + c * K.nr2 + q) * K.T[(K.o_phi + q) * P + p];
    for (i = 0; i < C.n; ++i) {
        double du, eu = spc_spline(U, K.nn[(C.oa + i) * P + p], &du) - u0;
        K.dU[(C.oa + i) * P + p] = du;
        e += eu;
    }
    K.E[c * P + p] = e;
}

/* bond force -dE_i/dr_ij = -(phi'/2 u + U'_i dn_i/dr_ij), in place of dn */
__global__ void __launch_bounds__(SPC_SV_THREADS) k_sv_bforce(spc_svk K) {
    SPC_SV_ITEM(K, p, gb);
    const double du = K.dU[(long)K.batom[gb] * P + p], ph = K.pd[gb * P + p];
    int d;
    for (d = 0; d < 3; ++d) {
        double *x = K.dn + (3 * gb + d) * P + p;
        *x = -(0.5 * ph * K.u[4 * gb + d] + du * *x);
    }
}

/* forces of atom ga: the gather in list order */
__global__ void __launch_bounds__(SPC_SV_THREADS) k_sv_gather(spc_svk K) {
    SPC_SV_ITEM(K, p, ga);
    const int c = K.aconf[ga];
    const spc_svc C = K.conf[c];
    const int i = (int)(ga - C.oa);
    const int *first = K.first + C.oa + c;
    int b, d;
    for (d = 0; d < 3; ++d) {
        double f = 0.0;
        for (b = first[i]; b < first[i + 1]; ++b)
            f += K.dn[(3 * (C.ob + K.rev[C.ob + b]) + d) * P + p] - K.dn[(3 * (C.ob + b) + d) * P + p];
        K.F[3 * C.oa * P + (long)p * 3 * C.n + 3 * i + d] = f;
    }
}

/* sum over the atoms of configuration c of |F - F_ref|^2, in atom order */
__global__ void __launch_bounds__(SPC_SV_THREADS) k_sv_sse(spc_svk K) {
    SPC_SV_ITEM(K, p, c);
    const spc_svc C = K.conf[c];
    const double *f = K.F + 3 * C.oa * P + (long)p * 3 * C.n;
    double ss = 0.0;
    int a;
    for (a = 0; C.oref >= 0 && a < 3 * C.n; ++a) {
        const double d = f[a] - K.ref[C.oref + a];
        ss += d * d;
    }
    K.sse[c * P + p] = ss;
}

struct sp_cuda_sv_t {
    spc_svk K;
    int nconf, capP;
    long n_tot, nb_tot;
    std::vector<void *> blocks; /* fixed device arrays */
    double *d_T, *d_fv, *d_fd, *d_pd, *d_dn, *d_nn, *d_dU, *d_u0, *d_E, *d_F, *d_sse;
    sp_spline_t *d_U;
    std::vector<double> hT;
};

extern "C" void sp_cuda_sv_free(sp_cuda_sv_t *g) {
    if (!g) return;
    for (size_t k = 0; k < g->blocks.size(); ++k) cudaFree(g->blocks[k]);
    void *p[] = {g->d_T, g->d_fv, g->d_fd, g->d_pd, g->d_dn, g->d_nn, g->d_dU, g->d_u0, g->d_E, g->d_F, g->d_sse, g->d_U};
    for (size_t k = 0; k < sizeof p / sizeof p[0]; ++k) cudaFree(p[k]);
    delete g;
}

template <class T> static sp_result_t spc_sv_put(sp_cuda_sv_t *g, const T **dst, const std::vector<T> &v) {
    T *d = NULL;
    sp_result_t r = spc_cuda(spc_upload(&d, v.data(), v.size()), "upload of the structure vectors");
    if (d) g->blocks.push_back(d);
    *dst = d;
    return r;
}

extern "C" sp_result_t sp_cuda_sv_create(sp_cuda_sv_t **out, const sp_smeam_layout_t *lay, const sp_smeam_sv_t *sv,
                                         int nconf, const double *const *ref_forces, sp_diag_t *diag) {
    sp_cuda_sv_t *g;
    sp_result_t r;
    int c, i, ng;
    if (out) *out = NULL;
    if (!out || !lay || !sv || nconf < 1) return spc_diag(diag, SP_ERR_BAD_ARG, "bad argument");
    ng = lay->ng > 0 ? lay->ng : lay->nr;
    if (lay->nu < 2 || lay->nu > SP_SPLINE_MAX_KNOTS) return spc_diag(diag, SP_ERR_BAD_ARG, "bad s-MEAM layout");
    for (c = 0; c < nconf; ++c)
        if (sv[c].nr2 != lay->nr + 2 || sv[c].ng2 != ng + 2 || sv[c].natoms < 1)
            return spc_diag(diag, SP_ERR_BAD_ARG, "configuration %d: structure vectors of another layout", c + 1);
    if ((r = spc_need_device(diag)) != SP_OK) return r;
    g = new sp_cuda_sv_t();
    memset(&g->K, 0, sizeof g->K);
    g->nconf = nconf;
    {
        spc_svk &K = g->K;
        const int nr2 = lay->nr + 2, ng2 = ng + 2, nu2 = lay->nu + 2;
        std::vector<spc_svc> conf(nconf);
        std::vector<double> s, ds, u, rho, phi, sg, dsg, cs, ref, xu(lay->nu);
        std::vector<int> first, tfirst, rev, aconf, batom;
        long ob = 0, oa = 0, ot = 0, oref = 0;
        K.nr2 = nr2; K.ng2 = ng2; K.nu = lay->nu;
        K.o_phi = 0; K.o_rho = nr2; K.o_U = 2 * nr2; K.o_f = 2 * nr2 + nu2; K.o_g = 3 * nr2 + nu2;
        K.npar = 3 * nr2 + nu2 + ng2;
        for (i = 0; i < lay->nu; ++i) /* sp__uniform_knots */
            xu[i] = (i == lay->nu - 1) ? lay->uhi : lay->ulo + (lay->uhi - lay->ulo) * i / (lay->nu - 1);
        for (c = 0; c < nconf; ++c) {
            const sp_smeam_sv_t *v = sv + c;
            const int n = v->natoms, nb = v->nbonds;
            int t = 0;
            conf[c].n = n; conf[c].nb = nb; conf[c].ob = ob; conf[c].oa = oa; conf[c].ot = ot;
            conf[c].oref = (ref_forces && ref_forces[c]) ? oref : -1;
            if (ref_forces && ref_forces[c]) {
                ref.insert(ref.end(), ref_forces[c], ref_forces[c] + 3 * (size_t)n);
                oref += 3 * (long)n;
            }
            s.insert(s.end(), v->s, v->s + (size_t)nb * nr2);
            ds.insert(ds.end(), v->ds, v->ds + (size_t)nb * nr2);
            u.insert(u.end(), v->u, v->u + 4 * (size_t)nb);
            rho.insert(rho.end(), v->rho_sum, v->rho_sum + (size_t)n * nr2);
            phi.insert(phi.end(), v->phi_sum, v->phi_sum + nr2);
            sg.insert(sg.end(), v->sg, v->sg + (size_t)v->ntrip * ng2);
            dsg.insert(dsg.end(), v->dsg, v->dsg + (size_t)v->ntrip * ng2);
            cs.insert(cs.end(), v->cs, v->cs + v->ntrip);
            first.insert(first.end(), v->first, v->first + n + 1);
            rev.insert(rev.end(), v->rev, v->rev + nb);
            for (i = 0; i < n; ++i) {
                const int d = v->first[i + 1] - v->first[i];
                int b;
                tfirst.push_back(t);
                t += d * (d - 1) / 2;
                aconf.push_back(c);
                for (b = v->first[i]; b < v->first[i + 1]; ++b) batom.push_back((int)(oa + i));
            }
            if (t != v->ntrip || (int)batom.size() != ob + nb) {
                delete g;
                return spc_diag(diag, SP_ERR_BAD_ARG, "configuration %d: inconsistent structure vectors", c + 1);
            }
            ob += nb; oa += n; ot += v->ntrip;
        }
        g->n_tot = oa;
        g->nb_tot = ob;
        if (ref.empty()) ref.push_back(0.0);
        r = SP_OK;
        if (r == SP_OK) r = spc_sv_put(g, &K.conf, conf);
        if (r == SP_OK) r = spc_sv_put(g, &K.s, s);
        if (r == SP_OK) r = spc_sv_put(g, &K.ds, ds);
        if (r == SP_OK) r = spc_sv_put(g, &K.u, u);
        if (r == SP_OK) r = spc_sv_put(g, &K.rho_sum, rho);
        if (r == SP_OK) r = spc_sv_put(g, &K.phi_sum, phi);
        if (r == SP_OK) r = spc_sv_put(g, &K.sg, sg);
        if (r == SP_OK) r = spc_sv_put(g, &K.dsg, dsg);
        if (r == SP_OK) r = spc_sv_put(g, &K.cs, cs);
        if (r == SP_OK) r = spc_sv_put(g, &K.ref, ref);
        if (r == SP_OK) r = spc_sv_put(g, &K.xu, xu);
        if (r == SP_OK) r = spc_sv_put(g, &K.first, first);
        if (r == SP_OK) r = spc_sv_put(g, &K.tfirst, tfirst);
        if (r == SP_OK) r = spc_sv_put(g, &K.rev, rev);
        if (r == SP_OK) r = spc_sv_put(g, &K.aconf, aconf);
        if (r == SP_OK) r = spc_sv_put(g, &K.batom, batom);
    }
    if (r != SP_OK) {
        spc_diag(diag, r, "%s", spc_err);
        sp_cuda_sv_free(g);
        return r;
    }
    *out = g;
    return SP_OK;
}

static void spc_launch_sv(void (*k)(spc_svk), const spc_svk &K, long items) {
    k<<<(unsigned)(K.npb * items), SPC_SV_THREADS>>>(K);
}

extern "C" sp_result_t sp_cuda_sv_eval(sp_cuda_sv_t *g, int P, const double *theta, double *out_energy,
                                       double *out_forces, double *out_force_sse) {
    int p, q;
    if (!g || P < 0 || (P > 0 && (!theta || !out_energy))) return spc_diag(NULL, SP_ERR_BAD_ARG, "bad argument");
    spc_svk &K = g->K;
    if (P == 0) return SP_OK;
    if (P > g->capP) { /* per-set scratch */
        const size_t nb = (size_t)g->nb_tot, na = (size_t)g->n_tot, nc = (size_t)g->nconf;
        double **d[] = {&g->d_T, &g->d_fv, &g->d_fd, &g->d_pd, &g->d_dn, &g->d_nn, &g->d_dU, &g->d_u0, &g->d_E,
                        &g->d_F, &g->d_sse};
        const size_t per[] = {(size_t)K.npar, nb, nb, nb, 3 * nb, na, na, 1, nc, 3 * na, nc};
        for (size_t k = 0; k < sizeof per / sizeof per[0]; ++k) {
            cudaFree(*d[k]);
            *d[k] = NULL;
        }
        cudaFree(g->d_U);
        g->d_U = NULL;
        g->capP = 0;
        for (size_t k = 0; k < sizeof per / sizeof per[0]; ++k)
            SPC_TRY(cudaMalloc((void **)d[k], per[k] * (size_t)P * sizeof(double)), "cudaMalloc (per-set scratch)");
        SPC_TRY(cudaMalloc((void **)&g->d_U, (size_t)P * sizeof(sp_spline_t)), "cudaMalloc (U splines)");
        g->capP = P;
    }
    g->hT.resize((size_t)P * K.npar);
    for (p = 0; p < P; ++p)
        for (q = 0; q < K.npar; ++q) {
            const double v = theta[(size_t)p * K.npar + q];
            if (!spc_finite(v)) return spc_diag(NULL, SP_ERR_NOT_FINITE, "parameter set %d: not finite", p + 1);
            g->hT[(size_t)q * P + p] = v;
        }
    SPC_TRY(cudaMemcpy(g->d_T, g->hT.data(), g->hT.size() * sizeof(double), cudaMemcpyHostToDevice),
            "upload of the parameters");
    K.P = P;
    K.npb = (P + SPC_SV_THREADS - 1) / SPC_SV_THREADS;
    K.T = g->d_T; K.fv = g->d_fv; K.fd = g->d_fd; K.pd = g->d_pd; K.dn = g->d_dn; K.nn = g->d_nn; K.dU = g->d_dU;
    K.U = g->d_U; K.u0 = g->d_u0; K.E = g->d_E; K.F = g->d_F; K.sse = g->d_sse;
    spc_launch_sv(k_sv_bonds, K, g->nb_tot);
    spc_launch_sv(k_sv_trip, K, g->n_tot);
    spc_launch_sv(k_sv_U, K, 1);
    spc_launch_sv(k_sv_energy, K, g->nconf);
    if (out_forces || out_force_sse) {
        spc_launch_sv(k_sv_bforce, K, g->nb_tot);
        spc_launch_sv(k_sv_gather, K, g->n_tot);
        if (out_force_sse) spc_launch_sv(k_sv_sse, K, g->nconf);
    }
    SPC_TRY(cudaGetLastError(), "structure-vector kernels");
    SPC_TRY(cudaMemcpy(out_energy, g->d_E, (size_t)g->nconf * P * sizeof(double), cudaMemcpyDeviceToHost),
            "download of the energies");
    if (out_forces)
        SPC_TRY(cudaMemcpy(out_forces, g->d_F, 3 * (size_t)g->n_tot * P * sizeof(double), cudaMemcpyDeviceToHost),
                "download of the forces");
    if (out_force_sse)
        SPC_TRY(cudaMemcpy(out_force_sse, g->d_sse, (size_t)g->nconf * P * sizeof(double), cudaMemcpyDeviceToHost),
                "download of the force errors");
    return SP_OK;
}
