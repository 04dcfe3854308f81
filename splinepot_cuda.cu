/* splinepot_cuda.cu - the optional CUDA layer of splinepot.h (SPEC section 7).
 *
 * Build: nvcc -c -O3 -fmad=false splinepot_cuda.cu, link it, and compile the
 * translation unit that defines SPLINEPOT_IMPLEMENTATION with -DSPLINEPOT_CUDA
 * (make cuda does this). The C API is declared in splinepot.h (>>cuda).
 * Double precision throughout; -fmad=false keeps every multiply and add as
 * the CPU code (compiled with -ffp-contract=off) does them, so the structure
 * vectors' results follow the CPU's operation order; the large-system
 * kernels split each centre over several lanes (other summation orders, and
 * explicit fma() in the UF3 3-body terms): deterministic, within ~1e-15
 * relative (energies) and ~1e-13 eV/A (forces) of the CPU.
 *
 * DESIGN NOTE
 *
 * (a) Structure vectors (sp_cuda_sv_*; Vita & Trinkle 2021, sec. 3.4).
 *     The structure vectors of all training configurations are uploaded once.
 *     Per CMA-ES generation only P x npar parameters go up. One thread per
 *     parameter set p; every per-bond/per-atom intermediate is stored as
 *     [item][p] (p innermost), so a warp's loads and stores are coalesced and
 *     the per-item geometry (the same for all p) is a broadcast. This is
 *     sp_smeam_sv_eval with chunk = P, term for term, for any number of
 *     elements (rho and f of the neighbour's element, U of the centre's, phi
 *     and g of the pair; per-element U knot ranges):
 *       k_sv_z       z_k = y''_k / (6 h) of the rho, f, g, phi splines per set
 *       k_sv_bonds   f, f', phi', rho' u per bond: each spline by its segment
 *                    at r (4 parameter rows), writes 6 doubles/bond/set
 *       k_sv_trip    n_i and dn_i/dr_ij per centre: the triplets of a centre are
 *                    walked (bj, bk > bj) with n_i and dn_ij in registers;
 *                    per triplet 2 loads (f_k, f'_k) + 3 read-modify-writes (dn_k)
 *                    = 64 B/triplet/set (g's segment rows stay in L1)
 *       k_sv_U       each element's U spline built per set (thread)
 *       k_sv_energy  U(n_i), energies
 *       k_sv_bforce, k_sv_gather, k_sv_sse  bond forces, gather in list
 *                    order, optional |F - F_ref|^2
 *     Each kernel's body is a __host__ __device__ function, and spc_sv_run
 *     lists the launches once: tests/test_cuda_host.cu runs the same code as
 *     loops on the CPU (no device needed; the same bits as sp_smeam_sv_eval).
 *     Bandwidth bound, 108-atom Si-like cell (1.7e3 bonds, 1.3e4 triplets),
 *     P = 10 000: ~64 B x 1.3e4 x 1e4 = 8.3 GB (triplets) + ~1.5 GB (bonds,
 *     gather) ~ 10 GB -> ~3 ms at 3.3 TB/s (H100 HBM3), well under 20 ms;
 *     the forces back to the host (P x 3N doubles = 26 MB) add ~1 ms on PCIe 5.
 *
 * (b) Large systems (sp_cuda_sys_*, sp_cuda_md_*). The neighbour list is
 *     built on the device (sp_cuda_sys_build_nlist) or on the CPU and uploaded
 *     (sp_cuda_sys_set_nlist); either way the arrays are sp_nlist_t's: first,
 *     j (extended index), rev, owner, shift, and xe = x[owner] + shift is
 *     refreshed on the device (k_ghost, the device's sp_nlist_update).
 *     Device lists (periodic cells at least 3 list cutoffs high): atoms binned
 *     by fractional coordinates (k_nl_bin: bins at least one cutoff wide, the
 *     wrapping shift), a counting sort with each bin sorted by index (a stable
 *     order), ghosts for the atoms of boundary bins (k_nl_ghosts); per centre
 *     one 64-bit mask per stencil bin of the pairs found (k_nl_masks, r from
 *     the lower-indexed atom's side so both directions agree), a prefix sum
 *     of the counts, then k_nl_fill writes j and, from the neighbour's mask
 *     for the opposite stencil bin, rev directly (no search). UF3 with 3-body
 *     terms gets each atom's pairs with r < cut3 + skin first (up to mid): the
 *     only entries that can carry 3-body bond forces.
 *     Forces: a group of SPC_W = 8 lanes per centre atom (k_meam, k_uf3). The
 *     entries go over the lanes in rounds; bonds within the cutoff are
 *     compacted (ballot, list order) into the group's slots in shared memory.
 *     Triplets j < k: j steps through the slots in all lanes, lane l takes the
 *     k = l (mod 8); k's share goes into slot k (written by lane l only), j's
 *     is summed over the group in a fixed xor-butterfly tree. Each centre's
 *     bond forces Fb = -dE_i/dr_ij go to fb; k_gather (a group per atom) sums
 *     F_a = F_direct + sum_b (Fb[rev b] - Fb[b]) in a fixed tree: no atomics
 *     on floating-point sums, the same bits on every run. Slots per centre
 *     (K.cap) follow the largest bond count seen plus a margin; a centre with
 *     more is skipped and counted, and the kernel relaunched with more slots.
 *     UF3: the 4x4x4 contraction reads coefficient rows as two aligned 16-byte
 *     loads (rows of even length and a copy shifted by one), interior B-spline
 *     intervals are evaluated without the table. Totals (energy, virial,
 *     kinetic energy) use a fixed two-level tree (k_reduce). The
 *     velocity-Verlet loop stays on the device: per step only the energy,
 *     kinetic energy, largest displacement and slot count come back.
 *
 * MEASURED (H100 80GB HBM3, CUDA 13.0, make cuda). tests/test_cuda.c: 1273
 * checks, forces within 6e-14 eV/A and
 * energies within 2e-15 relative of the CPU on random models and cells;
 * compute-sanitizer memcheck and racecheck clean.
 *     bench structvec --gpu (108 atoms, 10 000 sets, E and F): 9.5 ms (target 20).
 *     md --gpu, 400 steps from 300 K, lists rebuilt on the device (5-8 ms per
 *     10^6 atoms), atom-steps/s of the whole loop (perf line) / of the force
 *     evaluation alone (and one CPU thread, whole loop, 1.6-1.8e4 atoms):
 *       UF2   Mo bcc 1 024 000 atoms, rc 5.5, skin 1.0:  8.5e8 / 1.2e9   (2.0e6)
 *       UF2,3 Mo, 3-body 4.25 A, skin 0.5:               8.8e7 / 9.1e7   (2.7e5)
 *       s-MEAM Si_1 diamond 10^6 atoms, skin 0.5:        2.8e8 / 3.4e8   (6.3e5)
 *     DRAM bytes per atom-step (ncu, skin 1.0) and the bound they give at
 *     3.35 TB/s: UF2 0.33 kB in the force kernel, 0.62 kB the whole step
 *     (5.4e9); UF2,3 2.0 kB in k_uf3 + 2.8 kB in the gather, 5.1 kB the step
 *     (6.6e8); s-MEAM 1.2 + 1.6 kB, 3.1 kB the step (1.1e9). None is near its
 *     bandwidth bound: the centre kernels are limited by scattered L1 reads
 *     (neighbour positions, UF3 coefficient rows: L1/TEX throughput ~85 %,
 *     FP64 pipe ~30 %) and latency at 16-20 resident warps. UF2,3 is below
 *     its 1e8 target: tried without gain, coefficients staged in shared
 *     memory (slower), 16 lanes per centre, fewer registers (spills).
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
__host__ __device__ __forceinline__ double spc_spline(const sp_spline_t *__restrict__ s, double x, double *deriv) {
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

/* sp_bspline_basis_fast with a table (always set by sp_uf3_finish, 16-byte
   aligned on the device), the cubics evaluated with fused multiply-adds */
__device__ __forceinline__ int spc_basis(const sp_bspline_t *__restrict__ b, double x, double *ob, double *odb) {
    const double *t = b->t;
    int k, j;
    if (!(x >= b->t0 && x <= b->t1)) {
        for (j = 0; j < 4; ++j) ob[j] = odb[j] = 0.0;
        return -1;
    }
    if (b->uniform) {
        k = 3 + (int)((x - b->t0) * b->inv_dt);
        if (k > b->nt - 5) k = b->nt - 5;
        while (k > 3 && x < t[k]) --k;
        while (k < b->nt - 5 && x >= t[k + 1]) ++k;
    } else { /* sp__bspline_span */
        int lo = 3, hi = b->nt - 5, mid;
        if (x >= t[hi]) {
            while (hi > 3 && t[hi] == t[hi + 1]) --hi;
            k = hi;
        } else {
            while (lo < hi) {
                mid = (lo + hi + 1) / 2;
                if (t[mid] <= x) lo = mid;
                else hi = mid - 1;
            }
            k = lo;
        }
    }
    if (b->uniform && k >= 6 && k <= b->nt - 8) { /* 4 uniform cubic B-splines: no table reads */
        const double u = (x - t[k]) * b->inv_dt, v = 1.0 - u, u2 = u * u, s = 1.0 / 6.0, ds = 0.5 * b->inv_dt;
        ob[0] = v * v * v * s;
        ob[1] = fma(u2, fma(3.0, u, -6.0), 4.0) * s;
        ob[2] = fma(u, fma(u, fma(-3.0, u, 3.0), 3.0), 1.0) * s;
        ob[3] = u2 * u * s;
        odb[0] = -v * v * ds;
        odb[1] = u * fma(3.0, u, -4.0) * ds;
        odb[2] = fma(u, fma(-3.0, u, 2.0), 1.0) * ds;
        odb[3] = u2 * ds;
    } else {
        const double2 *row = (const double2 *)(b->tab + 16 * (size_t)(k - 3));
        const double u = x - t[k];
        for (j = 0; j < 4; ++j) {
            const double2 c01 = __ldg(row + 2 * j), c23 = __ldg(row + 2 * j + 1);
            ob[j] = fma(u, fma(u, fma(u, c23.y, c23.x), c01.y), c01.x);
            odb[j] = fma(u, fma(3.0 * u, c23.y, 2.0 * c23.x), c01.y);
        }
    }
    return k - 3;
}

/* V3 of a trio and its derivatives along l, m, n (sp__uf3_trio_eval's
   quantities): the 4x4x4 coefficients contracted over n first (with the
   basis values and their derivatives), then m, then l, with fused
   multiply-adds in a fixed order. bl, bm: 4 basis values, then 4
   derivatives, stride st apart (shared-memory slots or local arrays),
   read once. Coefficients (spc_upload_uf3): rows of even length T->N from
   T->c, and T->c + shift the same shifted by one, so that the 4 coefficients
   of a row are two aligned 16-byte loads (half the load instructions). */
__device__ __forceinline__ double spc_trio(const sp_uf3_trio_t *__restrict__ T, size_t shift, int il,
                                           const double *bl, int im, const double *bm, int st, int in,
                                           const double *bn, const double *dbn, double *dl, double *dm, double *dn) {
    const size_t M = (size_t)T->M, N = (size_t)T->N;
    const double *c = T->c + (in & 1 ? shift + (size_t)in - 1 : (size_t)in);
    double v = 0.0, l = 0.0, mm = 0.0, nn = 0.0, L8[8], M8[8];
    int a, b;
    for (a = 0; a < 8; ++a) {
        L8[a] = bl[a * st];
        M8[a] = bm[a * st];
    }
    for (a = 0; a < 4; ++a) {
        double p = 0.0, pm = 0.0, q = 0.0;
        for (b = 0; b < 4; ++b) {
            const double2 *row = (const double2 *)(c + ((size_t)(il + a) * M + (size_t)(im + b)) * N);
            const double2 c01 = __ldg(row), c23 = __ldg(row + 1);
            const double x = fma(c23.y, bn[3], fma(c23.x, bn[2], fma(c01.y, bn[1], c01.x * bn[0])));
            const double y = fma(c23.y, dbn[3], fma(c23.x, dbn[2], fma(c01.y, dbn[1], c01.x * dbn[0])));
            p = fma(M8[b], x, p);
            pm = fma(M8[4 + b], x, pm);
            q = fma(M8[b], y, q);
        }
        v = fma(L8[a], p, v);
        l = fma(L8[4 + a], p, l);
        mm = fma(L8[a], pm, mm);
        nn = fma(L8[a], q, nn);
    }
    *dl = l;
    *dm = mm;
    *dn = nn;
    return v;
}

__host__ __device__ __forceinline__ int spc_pair_index(int nelem, int a, int b) {
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
    int n, next, nelem, np;
    int cap;         /* bond slots per centre in shared memory (many-body) */
    int vir;         /* per-atom virials wanted */
    double rc2;
    const int *first, *j, *rev, *owner, *type;
    const int *mid;  /* per atom: the end of its entries that may be UF3 3-body bonds */
    const double *xe;
    double *fb;      /* 3 per list entry (many-body), or NULL (UF2) */
    double *atom;    /* ea[n], va[9n], fa[3n] as in sp_work_t */
    double *f;       /* forces, 3n */
    int *stat;       /* [0]: largest number of slots a centre needed */
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
    size_t cshift;   /* from a trio coefficient to its copy shifted by one */
};

/* SPC_W lanes (a group, 2..32, a power of 2) per centre atom; blocks of up
   to SPC_BLOCK threads (k_uf3: SPC_UF3_BLOCK). SPC_W and SPC_UF3_MINB may be
   set with -D for timing comparisons (8 and 2 were the fastest on the H100). */
#ifndef SPC_W
#define SPC_W 8
#endif
#define SPC_BLOCK 128

/* the lanes of this thread's group within its warp */
__device__ __forceinline__ unsigned spc_gmask(void) {
    return (SPC_W == 32 ? 0xffffffffu : ((1u << (SPC_W & 31)) - 1u)) << (threadIdx.x & 31 & ~(SPC_W - 1));
}

/* sum over the lanes of a group, the same bits in every lane: an xor
   butterfly, each step adding a pair of partial sums in either order
   (IEEE addition commutes), so the tree is fixed */
__device__ __forceinline__ double spc_gsum(double v, unsigned m) {
    int o;
    for (o = SPC_W / 2; o > 0; o >>= 1) v += __shfl_xor_sync(m, v, o, SPC_W);
    return v;
}

/* place of this lane's item among the group's items (lane order); *count: their number */
__device__ __forceinline__ int spc_compact(int act, unsigned m, int lane, int *count) {
    const unsigned bal = __ballot_sync(m, act) >> (threadIdx.x & 31 & ~(SPC_W - 1));
    *count = __popc(bal);
    return __popc(bal & ((1u << lane) - 1u));
}

/* the largest per-centre slot count of the block's warps into K.stat[0]
   (blocks may be smaller than a warp) */
__device__ __forceinline__ void spc_stat_max(int *stat, int v) {
    const unsigned left = blockDim.x - (threadIdx.x & ~31u);
    v = __reduce_max_sync(left >= 32 ? 0xffffffffu : (1u << left) - 1u, v);
    if ((threadIdx.x & 31) == 0 && v > 0) atomicMax(stat, v);
}

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

/* s-MEAM and meam/sw/spline (Lenosky et al. 2000), one group per centre atom i:
   1. the list entries in rounds of SPC_W: bonds within the cutoff add their
      pair terms (phi/2, rho) to the lane's partial sums and are compacted in
      list order into the group's slots in shared memory;
   2. triplets j < k: j runs over the slots in step in all lanes, lane l takes
      the k > j with k = l (mod SPC_W). The k side's dn terms go into slot k,
      which only lane l ever writes; the j side's sums are added over the group
      (spc_gsum) and into slot j by its owner lane. Bonds whose f, f' (F, F')
      are zero are skipped, as the CPU's compaction does;
   3. U(n_i) and the bond forces Fb = -dE_i/dr_ij of the slots into fb.
   Every sum has a fixed order: the same bits on every run. A centre with more
   bonds than K.cap slots is skipped and counted in K.stat (the host then
   relaunches with more slots). Slot fields: 0-2 u, 3 1/r, 4 f, 5 f', 6 phi',
   7-9 dn, 10 F, 11 F', 12-14 dE_sw/dr; ints: 0 entry, 1 type, 2 in triplets. */
#define SPC_MEAM_ND(SW) ((SW) ? 15 : 10)
#define SPC_SD(f, k) sd[(f) * cap + (k)]
#define SPC_SI(f, k) si[(f) * cap + (k)]
template <int SW, int SINGLE> __global__ void __launch_bounds__(SPC_BLOCK) k_meam(spc_k K) {
    extern __shared__ double spc_sh[];
    const int ND = SPC_MEAM_ND(SW), cap = K.cap, G = blockDim.x / SPC_W;
    const int lane = threadIdx.x & (SPC_W - 1), grp = threadIdx.x / SPC_W;
    const unsigned m = spc_gmask();
    double *const sd = spc_sh + (size_t)grp * ND * cap;
    int *const si = (int *)(spc_sh + (size_t)G * ND * cap) + (size_t)grp * 3 * cap;
    int i, nbmax = 0;
    for (i = blockIdx.x * G + grp; i < K.n; i += gridDim.x * G) {
        const int ti = SINGLE ? 0 : K.type[i], b1 = K.first[i + 1];
        const double xi0 = K.xe[3 * (size_t)i], xi1 = K.xe[3 * (size_t)i + 1], xi2 = K.xe[3 * (size_t)i + 2];
        double e = 0.0, n = 0.0, n3 = 0.0, esw = 0.0, U, dU;
        int base, nb = 0, jj, kk, s;
        __syncwarp(m); /* the previous centre's slots are read */
        for (base = K.first[i]; base < b1; base += SPC_W) {
            const int b = base + lane;
            double dx = 0.0, dy = 0.0, dz = 0.0, r2 = 0.0;
            int g = 0, act = 0, slot, cnt;
            if (b < b1) {
                g = K.j[b];
                dx = K.xe[3 * (size_t)g] - xi0;
                dy = K.xe[3 * (size_t)g + 1] - xi1;
                dz = K.xe[3 * (size_t)g + 2] - xi2;
                r2 = dx * dx + dy * dy + dz * dz;
                act = r2 < K.rc2;
                if (!act) K.fb[3 * (size_t)b] = K.fb[3 * (size_t)b + 1] = K.fb[3 * (size_t)b + 2] = 0.0;
            }
            slot = nb + spc_compact(act, m, lane, &cnt);
            nb += cnt;
            if (act) {
                const int tj = SINGLE ? 0 : K.type[K.owner[g]];
                const double r = sqrt(r2), inv = 1.0 / r;
                double fv, fpv, Fv = 0.0, Fpv = 0.0, dph, drho;
                fv = spc_spline(K.spl + K.o_f + tj, r, &fpv);
                if (SW) Fv = spc_spline(K.spl + K.o_F, r, &Fpv);
                e += 0.5 * spc_spline(K.spl + K.o_phi + (SINGLE ? 0 : spc_pair_index(K.nelem, ti, tj)), r, &dph);
                n += spc_spline(K.spl + K.o_rho + tj, r, &drho);
                if (slot < cap) {
                    const double ux = dx * inv, uy = dy * inv, uz = dz * inv;
                    SPC_SI(0, slot) = b;
                    SPC_SI(1, slot) = tj;
                    SPC_SI(2, slot) = (fv != 0.0 || fpv != 0.0 || Fv != 0.0 || Fpv != 0.0);
                    SPC_SD(0, slot) = ux;
                    SPC_SD(1, slot) = uy;
                    SPC_SD(2, slot) = uz;
                    SPC_SD(3, slot) = inv;
                    SPC_SD(4, slot) = fv;
                    SPC_SD(5, slot) = fpv;
                    SPC_SD(6, slot) = dph;
                    SPC_SD(7, slot) = drho * ux;
                    SPC_SD(8, slot) = drho * uy;
                    SPC_SD(9, slot) = drho * uz;
                    if (SW) {
                        SPC_SD(10, slot) = Fv;
                        SPC_SD(11, slot) = Fpv;
                        SPC_SD(12, slot) = SPC_SD(13, slot) = SPC_SD(14, slot) = 0.0;
                    }
                }
            }
        }
        if (nb > nbmax) nbmax = nb;
        if (nb > cap) continue;
        __syncwarp(m);
        for (jj = 0; jj < nb; ++jj) {
            if (!SPC_SI(2, jj)) continue;
            const double ujx = SPC_SD(0, jj), ujy = SPC_SD(1, jj), ujz = SPC_SD(2, jj), irj = SPC_SD(3, jj),
                         fj = SPC_SD(4, jj), fpj = SPC_SD(5, jj);
            const double Fj = SW ? SPC_SD(10, jj) : 0.0, Fpj = SW ? SPC_SD(11, jj) : 0.0;
            const int tj = SPC_SI(1, jj);
            double s_fg = 0.0, s_a = 0.0, s_x = 0.0, s_y = 0.0, s_z = 0.0;
            double q_fg = 0.0, q_a = 0.0, q_x = 0.0, q_y = 0.0, q_z = 0.0;
            for (kk = jj + 1 + ((lane - jj - 1) & (SPC_W - 1)); kk < nb; kk += SPC_W) {
                if (!SPC_SI(2, kk)) continue;
                const double ukx = SPC_SD(0, kk), uky = SPC_SD(1, kk), ukz = SPC_SD(2, kk), irk = SPC_SD(3, kk);
                const double c = ujx * ukx + ujy * uky + ujz * ukz;
                double dg, gk = spc_spline(K.spl + K.o_g + (SINGLE ? 0 : spc_pair_index(K.nelem, tj, SPC_SI(1, kk))),
                                           c, &dg);
                const double fk = SPC_SD(4, kk), fjfk = fj * fk, a2 = fjfk * dg, tk = a2 * irk,
                             a3 = fj * SPC_SD(5, kk) * gk, tjj = a2 * irj;
                s_fg += fk * gk;
                s_a += fpj * fk * gk - tjj * c;
                s_x += tjj * ukx;
                s_y += tjj * uky;
                s_z += tjj * ukz;
                SPC_SD(7, kk) += a3 * ukx + tk * (ujx - c * ukx);
                SPC_SD(8, kk) += a3 * uky + tk * (ujy - c * uky);
                SPC_SD(9, kk) += a3 * ukz + tk * (ujz - c * ukz);
                if (SW) {
                    double dG, Gv = spc_spline(K.spl + K.o_G, c, &dG);
                    const double Fk = SPC_SD(10, kk), s2 = Fj * Fk * dG;
                    const double t1 = s2 * irj, t2 = s2 * irk, s3 = Fj * SPC_SD(11, kk) * Gv;
                    q_fg += Fk * Gv;
                    q_a += Fpj * Fk * Gv - t1 * c;
                    q_x += t1 * ukx;
                    q_y += t1 * uky;
                    q_z += t1 * ukz;
                    SPC_SD(12, kk) += s3 * ukx + t2 * (ujx - c * ukx);
                    SPC_SD(13, kk) += s3 * uky + t2 * (ujy - c * uky);
                    SPC_SD(14, kk) += s3 * ukz + t2 * (ujz - c * ukz);
                }
            }
            s_fg = spc_gsum(s_fg, m);
            s_a = spc_gsum(s_a, m);
            s_x = spc_gsum(s_x, m);
            s_y = spc_gsum(s_y, m);
            s_z = spc_gsum(s_z, m);
            n3 += fj * s_fg;
            if (SW) {
                q_fg = spc_gsum(q_fg, m);
                q_a = spc_gsum(q_a, m);
                q_x = spc_gsum(q_x, m);
                q_y = spc_gsum(q_y, m);
                q_z = spc_gsum(q_z, m);
                esw += Fj * q_fg;
            }
            if (lane == (jj & (SPC_W - 1))) {
                SPC_SD(7, jj) += s_a * ujx + s_x;
                SPC_SD(8, jj) += s_a * ujy + s_y;
                SPC_SD(9, jj) += s_a * ujz + s_z;
                if (SW) {
                    SPC_SD(12, jj) += q_a * ujx + q_x;
                    SPC_SD(13, jj) += q_a * ujy + q_y;
                    SPC_SD(14, jj) += q_a * ujz + q_z;
                }
            }
        }
        __syncwarp(m);
        n = spc_gsum(n, m) + n3;
        e = spc_gsum(e, m);
        U = spc_spline(K.spl + K.o_U + ti, n, &dU);
        e += U - K.zero[ti] + esw;
        for (s = lane; s < nb; s += SPC_W) {
            double *o = K.fb + 3 * (size_t)SPC_SI(0, s);
            const double hp = 0.5 * SPC_SD(6, s);
            double o0 = -(hp * SPC_SD(0, s) + dU * SPC_SD(7, s));
            double o1 = -(hp * SPC_SD(1, s) + dU * SPC_SD(8, s));
            double o2 = -(hp * SPC_SD(2, s) + dU * SPC_SD(9, s));
            if (SW) {
                o0 -= SPC_SD(12, s);
                o1 -= SPC_SD(13, s);
                o2 -= SPC_SD(14, s);
            }
            o[0] = o0;
            o[1] = o1;
            o[2] = o2;
        }
        if (lane == 0) K.atom[i] = e;
    }
    spc_stat_max(K.stat, nbmax);
}

/* UF3 (sp__uf3_center's terms), one group per centre atom i: the entries in
   rounds of SPC_W, V2 with its direct force and virial in the lane's partial
   sums; with 3-body terms the bonds within cut3 are compacted into slots and
   the triplets j < k split over the lanes as in k_meam (k = lane mod SPC_W,
   j's share summed over the group), the bond forces summed in the slots and
   written to fb once. Without 3-body terms the forces go straight to K.f.
   Slot fields: 0 r, 1-3 u, 4-6 the bond force, 7-14 basis values and
   derivatives along l/m (same3); ints: 0 entry, 1 type, 2 basis index. */
#define SPC_UF3_ND 15
#define SPC_UF3_BLOCK 256 /* threads per block, at most */
#ifndef SPC_UF3_MINB
#define SPC_UF3_MINB 2 /* resident blocks per multiprocessor asked of the register allocation */
#endif
template <int HAS3, int SAME3> __global__ void __launch_bounds__(SPC_UF3_BLOCK, SPC_UF3_MINB) k_uf3(spc_k K) {
    extern __shared__ double spc_sh[];
    const int cap = K.cap, G = blockDim.x / SPC_W;
    const int lane = threadIdx.x & (SPC_W - 1), grp = threadIdx.x / SPC_W;
    const unsigned m = spc_gmask();
    double *const sd = spc_sh + (size_t)grp * SPC_UF3_ND * cap;
    int *const si = (int *)(spc_sh + (size_t)G * SPC_UF3_ND * cap) + (size_t)grp * 3 * cap;
    int i, nbmax = 0;
    for (i = blockIdx.x * G + grp; i < K.n; i += gridDim.x * G) {
        const int ti = K.type[i], b1 = K.first[i + 1], b3 = HAS3 ? K.mid[i] : 0;
        const double xi0 = K.xe[3 * (size_t)i], xi1 = K.xe[3 * (size_t)i + 1], xi2 = K.xe[3 * (size_t)i + 2];
        double e = 0.0, f[3] = {0.0, 0.0, 0.0}, w[6] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
        int base, nb = 0, jj, kk, s, q;
        if (HAS3) __syncwarp(m); /* the previous centre's slots are read */
        for (base = K.first[i]; base < b1; base += SPC_W) {
            const int b = base + lane;
            double r = 0.0, dx = 0.0, dy = 0.0, dz = 0.0;
            int tj = 0, in3 = 0;
            if (b < b1) {
                const int g = K.j[b];
                double r2;
                dx = K.xe[3 * (size_t)g] - xi0;
                dy = K.xe[3 * (size_t)g + 1] - xi1;
                dz = K.xe[3 * (size_t)g + 2] - xi2;
                r2 = dx * dx + dy * dy + dz * dz;
                if (r2 < K.rc2) {
                    const sp_uf3_pair_t *P;
                    tj = K.type[K.owner[g]];
                    r = sqrt(r2);
                    P = K.pair + spc_pair_index(K.nelem, ti, tj);
                    if (r < P->cut) {
                        double dv, qv;
                        e += spc_uf3_pair(P, r, &dv);
                        qv = dv / r;
                        f[0] += 2.0 * qv * dx;
                        f[1] += 2.0 * qv * dy;
                        f[2] += 2.0 * qv * dz;
                        if (K.vir) {
                            w[0] -= qv * dx * dx; w[1] -= qv * dx * dy; w[2] -= qv * dx * dz;
                            w[3] -= qv * dy * dy; w[4] -= qv * dy * dz; w[5] -= qv * dz * dz;
                        }
                    }
                    in3 = HAS3 && b < b3 && r <= K.cut3;
                }
                if (HAS3 && b < b3 && !in3) K.fb[3 * (size_t)b] = K.fb[3 * (size_t)b + 1] = K.fb[3 * (size_t)b + 2] = 0.0;
            }
            if (HAS3) {
                int cnt;
                const int slot = nb + spc_compact(in3, m, lane, &cnt);
                nb += cnt;
                if (in3 && slot < cap) {
                    const double inv = 1.0 / r;
                    SPC_SI(0, slot) = b;
                    SPC_SI(1, slot) = tj;
                    SPC_SD(0, slot) = r;
                    SPC_SD(1, slot) = dx * inv;
                    SPC_SD(2, slot) = dy * inv;
                    SPC_SD(3, slot) = dz * inv;
                    SPC_SD(4, slot) = SPC_SD(5, slot) = SPC_SD(6, slot) = 0.0;
                    if (SAME3) {
                        double bb[8];
                        SPC_SI(2, slot) = spc_basis(&K.trio[0].bs[0], r, bb, bb + 4);
                        for (q = 0; q < 8; ++q) SPC_SD(7 + q, slot) = bb[q];
                    }
                }
            }
        }
        if (HAS3) {
            if (nb > nbmax) nbmax = nb;
            if (nb > cap) continue;
            __syncwarp(m);
            for (jj = 0; jj < nb; ++jj) {
                const int tj = SPC_SI(1, jj);
                double cx = 0.0, cy = 0.0, cz = 0.0;
                for (kk = jj + 1 + ((lane - jj - 1) & (SPC_W - 1)); kk < nb; kk += SPC_W) {
                    const int tk = SPC_SI(1, kk), sw = tk < tj; /* l: the neighbour of lower atomic number */
                    const int J = sw ? kk : jj, L = sw ? jj : kk;
                    const sp_uf3_trio_t *T = K.trio + (size_t)ti * K.np + spc_pair_index(K.nelem, tj, tk);
                    const double rJ = SPC_SD(0, J), rK = SPC_SD(0, L);
                    double bl[8], bm[8], bn[4], dbn[4], v, dl, dm, dn, vx, vy, vz, rjk, gJ[3], gK[3];
                    const double *pl, *pm;
                    int il, im, in, st;
                    if (rJ > T->bs[0].t1 || rK > T->bs[1].t1 || rJ < T->bs[0].t0 || rK < T->bs[1].t0) continue;
                    vx = rK * SPC_SD(1, L) - rJ * SPC_SD(1, J);
                    vy = rK * SPC_SD(2, L) - rJ * SPC_SD(2, J);
                    vz = rK * SPC_SD(3, L) - rJ * SPC_SD(3, J);
                    rjk = sqrt(vx * vx + vy * vy + vz * vz);
                    if (rjk < T->bs[2].t0 || rjk > T->bs[2].t1) continue;
                    in = spc_basis(&T->bs[2], rjk, bn, dbn);
                    if (SAME3) { /* the slots' basis values */
                        il = SPC_SI(2, J);
                        im = SPC_SI(2, L);
                        pl = &SPC_SD(7, J);
                        pm = &SPC_SD(7, L);
                        st = cap;
                    } else {
                        il = spc_basis(&T->bs[0], rJ, bl, bl + 4);
                        im = spc_basis(&T->bs[1], rK, bm, bm + 4);
                        pl = bl;
                        pm = bm;
                        st = 1;
                    }
                    v = spc_trio(T, K.cshift, il, pl, im, pm, st, in, bn, dbn, &dl, &dm, &dn);
                    e += v;
                    dn /= rjk;
                    gJ[0] = -dl * SPC_SD(1, J) + dn * vx;
                    gJ[1] = -dl * SPC_SD(2, J) + dn * vy;
                    gJ[2] = -dl * SPC_SD(3, J) + dn * vz;
                    gK[0] = -dm * SPC_SD(1, L) - dn * vx;
                    gK[1] = -dm * SPC_SD(2, L) - dn * vy;
                    gK[2] = -dm * SPC_SD(3, L) - dn * vz;
                    cx += sw ? gK[0] : gJ[0];
                    cy += sw ? gK[1] : gJ[1];
                    cz += sw ? gK[2] : gJ[2];
                    SPC_SD(4, kk) += sw ? gJ[0] : gK[0];
                    SPC_SD(5, kk) += sw ? gJ[1] : gK[1];
                    SPC_SD(6, kk) += sw ? gJ[2] : gK[2];
                }
                cx = spc_gsum(cx, m);
                cy = spc_gsum(cy, m);
                cz = spc_gsum(cz, m);
                if (lane == (jj & (SPC_W - 1))) {
                    SPC_SD(4, jj) += cx;
                    SPC_SD(5, jj) += cy;
                    SPC_SD(6, jj) += cz;
                }
            }
            __syncwarp(m);
            for (s = lane; s < nb; s += SPC_W) {
                double *o = K.fb + 3 * (size_t)SPC_SI(0, s);
                o[0] = SPC_SD(4, s);
                o[1] = SPC_SD(5, s);
                o[2] = SPC_SD(6, s);
            }
        }
        e = spc_gsum(e, m);
        for (q = 0; q < 3; ++q) f[q] = spc_gsum(f[q], m);
        if (K.vir)
            for (q = 0; q < 6; ++q) w[q] = spc_gsum(w[q], m);
        if (lane == 0) {
            double *fa = HAS3 ? K.atom + 10 * (size_t)K.n + 3 * (size_t)i : K.f + 3 * (size_t)i;
            K.atom[i] = K.e1[ti] + e;
            fa[0] = f[0];
            fa[1] = f[1];
            fa[2] = f[2];
            if (K.vir) {
                double *va = K.atom + K.n + 9 * (size_t)i;
                va[0] = w[0]; va[1] = w[1]; va[2] = w[2];
                va[3] = w[1]; va[4] = w[3]; va[5] = w[4];
                va[6] = w[2]; va[7] = w[4]; va[8] = w[5];
            }
        }
    }
    if (HAS3) spc_stat_max(K.stat, nbmax);
}

/* the gather of sp_pot_compute, one group per atom: F_a = F_direct +
   sum_b (Fb[rev b] - Fb[b]) and (K.vir) the per-atom virial
   W_direct + sum_b r_ab (x) Fb[b], over a's entries (UF3: those up to mid,
   the others carry no bond force), lane partial sums added in a fixed tree */
template <int UF3> __global__ void __launch_bounds__(SPC_BLOCK) k_gather(spc_k K) {
    const int G = blockDim.x / SPC_W, lane = threadIdx.x & (SPC_W - 1), grp = threadIdx.x / SPC_W;
    const unsigned m = spc_gmask();
    int i, a, c;
    for (i = blockIdx.x * G + grp; i < K.n; i += gridDim.x * G) {
        const int b1 = UF3 ? K.mid[i] : K.first[i + 1];
        const double *xi = K.xe + 3 * (size_t)i;
        double f[3] = {0.0, 0.0, 0.0}, w[9] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
        int b;
        for (b = K.first[i] + lane; b < b1; b += SPC_W) {
            const double *fo = K.fb + 3 * (size_t)b, *fr = K.fb + 3 * (size_t)K.rev[b];
            const double o[3] = {fo[0], fo[1], fo[2]};
            f[0] += fr[0] - o[0];
            f[1] += fr[1] - o[1];
            f[2] += fr[2] - o[2];
            if (K.vir) {
                const double *xg = K.xe + 3 * (size_t)K.j[b];
                const double d[3] = {xg[0] - xi[0], xg[1] - xi[1], xg[2] - xi[2]};
                for (a = 0; a < 3; ++a)
                    for (c = 0; c < 3; ++c) w[3 * a + c] += d[a] * o[c];
            }
        }
        for (a = 0; a < 3; ++a) f[a] = spc_gsum(f[a], m);
        if (K.vir)
            for (a = 0; a < 9; ++a) w[a] = spc_gsum(w[a], m);
        if (lane == 0) {
            const double *fa = K.atom + 10 * (size_t)K.n + 3 * (size_t)i;
            double *va = K.atom + K.n + 9 * (size_t)i;
            for (a = 0; a < 3; ++a) K.f[3 * (size_t)i + a] = UF3 ? fa[a] + f[a] : f[a];
            if (K.vir)
                for (a = 0; a < 9; ++a) va[a] = UF3 ? va[a] + w[a] : w[a];
        }
    }
}

/* ------------------------------------------- neighbour lists on the device */

/* exclusive prefix sums of ints in place, a[0..m) -> a[0..m] with a[m] the
   total: a shared-memory scan per block of SPC_SCAN, then the block totals
   (one block, in chunks), then their offsets added */
#define SPC_SCAN 1024
__device__ __forceinline__ int spc_scan_sh(int *sh, int v) { /* inclusive scan of the block's values */
    const int t = threadIdx.x;
    int o;
    sh[t] = v;
    __syncthreads();
    for (o = 1; o < SPC_SCAN; o <<= 1) {
        const int x = t >= o ? sh[t - o] : 0;
        __syncthreads();
        sh[t] += x;
        __syncthreads();
    }
    return sh[t];
}
__global__ void __launch_bounds__(SPC_SCAN) k_scan_block(int *a, int m, int *bsum) {
    __shared__ int sh[SPC_SCAN];
    const int k = blockIdx.x * SPC_SCAN + threadIdx.x, v = k < m ? a[k] : 0;
    const int s = spc_scan_sh(sh, v);
    if (k < m) a[k] = s - v;
    if (threadIdx.x == SPC_SCAN - 1) bsum[blockIdx.x] = s;
}
__global__ void __launch_bounds__(SPC_SCAN) k_scan_top(int *bsum, int nblk, int *total) {
    __shared__ int sh[SPC_SCAN];
    int base, carry = 0;
    for (base = 0; base < nblk; base += SPC_SCAN) {
        const int k = base + threadIdx.x, v = k < nblk ? bsum[k] : 0;
        const int s = spc_scan_sh(sh, v);
        if (k < nblk) bsum[k] = carry + s - v;
        carry += sh[SPC_SCAN - 1];
        __syncthreads();
    }
    if (threadIdx.x == 0) *total = carry;
}
__global__ void __launch_bounds__(SPC_SCAN) k_scan_add(int *a, int m, const int *bsum) {
    const int k = blockIdx.x * SPC_SCAN + threadIdx.x;
    if (k < m) a[k] += bsum[blockIdx.x];
}

/* what the list kernels read, by value */
struct spc_nlk {
    int n, nb[3];
    double h[9], hinv[9], rl2, r32;
    const double *x;
    int *key, *flag, *bcnt, *bfill, *idx, *gbase, *first, *mid, *cnt3, *j, *rev, *owner, *stat;
    double *ws, *xs, *shift;
    unsigned long long *mask, *mask3; /* [27][n] by bin order; mask3 == mask: no inner/outer split */
    unsigned short *pre, *pre3;       /* [27][n] */
};

/* the extended index of atom a's image e (each e_c in -1, 0, 1): a itself,
   or its ghost for the boundary axes where e_c != 0 (bit q of the image mask
   for the q-th of a's boundary axes) */
__device__ __forceinline__ int spc_image(const spc_nlk &L, int a, const int *e) {
    const int fl = L.flag[a];
    int c, q = 0, mk = 0;
    if (!(e[0] | e[1] | e[2])) return a;
    for (c = 0; c < 3; ++c)
        if (fl >> (2 * c) & 3) {
            if (e[c]) mk |= 1 << q;
            ++q;
        }
    return L.n + L.gbase[a] + mk - 1;
}

/* per atom: fractional coordinates, bin, the shift that wraps it into the
   cell (ws), boundary flags (bit 2c: first bin along c, seen through image
   +1; bit 2c+1: last bin, image -1), its number of ghosts, the bin counts */
__global__ void k_nl_bin(spc_nlk L) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < L.n) {
        const double *x = L.x + 3 * (size_t)i;
        double fl[3];
        int c, b[3], bits = 0, k = 0;
        for (c = 0; c < 3; ++c) {
            double s = x[0] * L.hinv[c] + x[1] * L.hinv[3 + c] + x[2] * L.hinv[6 + c];
            if (!(s - s == 0.0)) {
                atomicOr(L.stat + 2, 1);
                s = 0.0;
            }
            fl[c] = floor(s);
            b[c] = (int)((s - fl[c]) * L.nb[c]);
            b[c] = b[c] < 0 ? 0 : (b[c] >= L.nb[c] ? L.nb[c] - 1 : b[c]);
            if (b[c] == 0) bits |= 1 << (2 * c);
            if (b[c] == L.nb[c] - 1) bits |= 2 << (2 * c);
            k += (bits >> (2 * c) & 3) != 0;
        }
        for (c = 0; c < 3; ++c) L.ws[3 * (size_t)i + c] = -(fl[0] * L.h[c] + fl[1] * L.h[3 + c] + fl[2] * L.h[6 + c]);
        L.key[i] = (b[0] * L.nb[1] + b[1]) * L.nb[2] + b[2];
        L.flag[i] = bits;
        L.gbase[i] = (1 << k) - 1;
        atomicAdd(L.bcnt + L.key[i], 1);
    }
}

/* counting sort into bins (any order within a bin, fixed next) */
__global__ void k_nl_place(spc_nlk L) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < L.n) L.idx[L.bcnt[L.key[i]] + atomicAdd(L.bfill + L.key[i], 1)] = i;
}

/* each bin's atoms in increasing index (insertion sort): a stable order;
   stat[2] bit 2: a bin of more than 64 atoms */
__global__ void k_nl_binsort(spc_nlk L, int nbins) {
    const int bin = blockIdx.x * blockDim.x + threadIdx.x;
    if (bin < nbins) {
        const int lo = L.bcnt[bin], hi = L.bcnt[bin + 1];
        int p, q;
        if (hi - lo > 64) atomicOr(L.stat + 2, 4);
        for (p = lo + 1; p < hi; ++p) {
            const int v = L.idx[p];
            for (q = p; q > lo && L.idx[q - 1] > v; --q) L.idx[q] = L.idx[q - 1];
            L.idx[q] = v;
        }
    }
}

/* wrapped positions in bin order; owners and shifts of the atoms and their ghosts */
__global__ void k_nl_ghosts(spc_nlk L) {
    const int p = blockIdx.x * blockDim.x + threadIdx.x;
    if (p < L.n) {
        const int i = L.idx[p], fl = L.flag[i];
        const double *ws = L.ws + 3 * (size_t)i, *x = L.x + 3 * (size_t)i;
        int c, mk, ax[3], sg[3], k = 0;
        for (c = 0; c < 3; ++c) {
            L.xs[3 * (size_t)p + c] = x[c] + ws[c];
            L.shift[3 * (size_t)i + c] = ws[c];
            if (fl >> (2 * c) & 3) {
                ax[k] = c;
                sg[k++] = (fl >> (2 * c) & 1) ? 1 : -1;
            }
        }
        L.owner[i] = i;
        for (mk = 1; mk < 1 << k; ++mk) {
            const int g = L.n + L.gbase[i] + mk - 1;
            double s[3] = {ws[0], ws[1], ws[2]};
            int q;
            for (q = 0; q < k; ++q)
                if (mk >> q & 1)
                    for (c = 0; c < 3; ++c) s[c] += sg[q] * L.h[3 * ax[q] + c];
            L.owner[g] = i;
            for (c = 0; c < 3; ++c) L.shift[3 * (size_t)g + c] = s[c];
        }
    }
}

/* the bin of stencil entry s (0..26, offset d = (s/9, s/3%3, s%3) - 1) around
   bin b, and the image e it is seen through (wrapping); its first atom */
__device__ __forceinline__ int spc_stencil(const spc_nlk &L, const int *b, int s, int *e) {
    const int d[3] = {s / 9 - 1, s / 3 % 3 - 1, s % 3 - 1};
    int c, nbr[3];
    for (c = 0; c < 3; ++c) {
        nbr[c] = b[c] + d[c];
        e[c] = nbr[c] < 0 ? -1 : (nbr[c] >= L.nb[c] ? 1 : 0);
        nbr[c] -= e[c] * L.nb[c];
    }
    return (nbr[0] * L.nb[1] + nbr[1]) * L.nb[2] + nbr[2];
}

/* the pairs of centre idx[p] as bit masks over the atoms of the 27 bins
   around its own (at most 64 atoms a bin): mask[s][p] the pairs with
   r < rl, mask3[s][p] those with r < r3 ("inner", listed first; with r3 >=
   rl mask3 is mask), pre3/pre their counts in the stencil bins before s,
   inner and outer; r from the lower-indexed atom's side, so that both
   directions agree. first[i]: the number of pairs, cnt3[i] the inner ones;
   stat[1] the largest number. */
__global__ void k_nl_masks(spc_nlk L) {
    const int p = blockIdx.x * blockDim.x + threadIdx.x;
    int cnt = 0;
    if (p < L.n) {
        const int i = L.idx[p], key = L.key[i];
        const int b[3] = {key / (L.nb[1] * L.nb[2]), key / L.nb[2] % L.nb[1], key % L.nb[2]};
        const double *xi = L.xs + 3 * (size_t)p;
        const size_t n = (size_t)L.n;
        int s, c3 = 0, co = 0;
        for (s = 0; s < 27; ++s) {
            int e[3], c, q;
            const int bin = spc_stencil(L, b, s, e), lo = L.bcnt[bin], hi = L.bcnt[bin + 1];
            double sh[3];
            unsigned long long m = 0, m3 = 0;
            for (c = 0; c < 3; ++c) sh[c] = e[0] * L.h[c] + e[1] * L.h[3 + c] + e[2] * L.h[6 + c];
            for (q = lo; q < hi; ++q) {
                const int a = L.idx[q];
                const double *xa = L.xs + 3 * (size_t)q;
                double v[3], r2;
                if (q == p) continue;
                for (c = 0; c < 3; ++c) v[c] = a > i ? (xa[c] + sh[c]) - xi[c] : (xi[c] - sh[c]) - xa[c];
                r2 = v[0] * v[0] + v[1] * v[1] + v[2] * v[2];
                if (r2 < L.rl2) m |= 1ull << (q - lo);
                if (r2 < L.r32) m3 |= 1ull << (q - lo);
            }
            L.pre3[s * n + p] = (unsigned short)c3;
            L.mask[s * n + p] = m;
            if (L.mask3 != L.mask) {
                m3 &= m;
                L.mask3[s * n + p] = m3;
                L.pre[s * n + p] = (unsigned short)co;
                co += __popcll(m & ~m3);
                c3 += __popcll(m3);
            } else {
                c3 += __popcll(m);
            }
        }
        cnt = c3 + co;
        L.first[i] = cnt;
        L.cnt3[i] = c3;
    }
    cnt = __reduce_max_sync(0xffffffffu, cnt);
    if ((threadIdx.x & 31) == 0) atomicMax(L.stat + 1, cnt);
}

/* the entries of centre idx[p] from its masks (first the inner pairs, then
   the outer ones, each stencil bin in order, each bin's atoms in order):
   neighbour (extended index) into j and the reverse entry into rev, found
   from the neighbour's masks (its stencil bin 26 - s holds this centre, at
   the centre's place in its own bin); mid[i] = the end of the inner ones */
__global__ void k_nl_fill(spc_nlk L) {
    const int p = blockIdx.x * blockDim.x + threadIdx.x;
    if (p < L.n) {
        const int i = L.idx[p], key = L.key[i], ki = p - L.bcnt[key];
        const int b[3] = {key / (L.nb[1] * L.nb[2]), key / L.nb[2] % L.nb[1], key % L.nb[2]};
        const unsigned long long below = ki ? ~0ull >> (64 - ki) : 0ull;
        const size_t n = (size_t)L.n;
        const int passes = L.mask3 != L.mask ? 2 : 1;
        int o = L.first[i], pass, s;
        for (pass = 0; pass < passes; ++pass) {
            for (s = 0; s < 27; ++s) {
                int e[3];
                const int lo = L.bcnt[spc_stencil(L, b, s, e)];
                const int sr = 26 - s;
                unsigned long long m = pass ? L.mask[s * n + p] & ~L.mask3[s * n + p] : L.mask3[s * n + p];
                while (m) {
                    const int k = __ffsll((long long)m) - 1, q = lo + k, a = L.idx[q];
                    const size_t x = sr * n + (size_t)q;
                    m &= m - 1;
                    L.j[o] = spc_image(L, a, e);
                    if (!pass) L.rev[o] = L.first[a] + L.pre3[x] + __popcll(L.mask3[x] & below);
                    else L.rev[o] = L.first[a] + L.cnt3[a] + L.pre[x] + __popcll(L.mask[x] & ~L.mask3[x] & below);
                    ++o;
                }
            }
            if (!pass) L.mid[i] = o;
        }
    }
}

/* ------------------------------------------- large systems: host side */

struct sp_cuda_sys_t {
    spc_k K;               /* device pointers and potential constants */
    sp_pot_kind_t kind;
    int natoms, maxdeg, nsm, smem_max, want_cap;
    size_t nent;
    sp_spline_t *d_spl;
    sp_uf3_pair_t *d_pair;
    sp_uf3_trio_t *d_trio;
    double *d_pot;         /* packed knots, tables, coefficients (UF3) */
    int *d_type, *d_first, *d_j, *d_rev, *d_owner, *d_stat;
    size_t cap_first, cap_j, cap_rev, cap_owner, cap_shift, cap_xe;
    double *d_shift, *d_xe;
    double *d_x, *d_x0, *d_v, *d_f, *d_im, *d_tmp, *d_atom, *d_fb;
    size_t cap_fb;
    double *d_part, *d_tot; /* reduction partials; totals: 0 energy, 1-9 virial, 10 ke, 11 dmax2 */
    /* device-built lists: per atom bin key, boundary flags, bin order, ghost
       offsets; wrapping shifts, wrapped positions in bin order; bin counts
       and fill pointers; scan block totals */
    int *d_key, *d_flag, *d_idx, *d_gbase, *d_bcnt, *d_bsum, *d_cnt3, *d_mid;
    double *d_ws, *d_xs;
    unsigned long long *d_mask, *d_mask3;
    unsigned short *d_pre, *d_pre3;
    size_t cap_bcnt, cap_bsum;
    double pot_cutoff, mvv2e;
    int have_list, have_md;
};

extern "C" void sp_cuda_sys_free(sp_cuda_sys_t *g) {
    if (!g) return;
    void *p[] = {g->d_spl, g->d_pair, g->d_trio, g->d_pot, g->d_type, g->d_first, g->d_j, g->d_rev, g->d_owner,
                 g->d_stat, g->d_shift, g->d_xe, g->d_x, g->d_x0, g->d_v, g->d_f, g->d_im, g->d_tmp, g->d_atom,
                 g->d_fb, g->d_part, g->d_tot, g->d_key, g->d_flag, g->d_idx, g->d_gbase, g->d_bcnt,
                 g->d_bsum, g->d_ws, g->d_xs, g->d_cnt3, g->d_mid, g->d_mask, g->d_mask3, g->d_pre, g->d_pre3};
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
    size_t s0, ns = 0;
    int k, a, shifted;
    if (ntrio) T.assign(u->trio, u->trio + ntrio);
    /* record offsets now, pointers after the upload */
    for (k = 0; k < np; ++k) {
        off.push_back(pack.size());
        pack.insert(pack.end(), P[k].t, P[k].t + P[k].nt);
        off.push_back(pack.size());
        pack.insert(pack.end(), P[k].poly, P[k].poly + 5 * (size_t)(P[k].nint > 0 ? P[k].nint : 1));
    }
    /* the trios' knots, tables (16-byte aligned) and coefficients as rows of
       even length N2, all trios in one block; then the block again with each
       row's coefficients shifted by one (spc_trio's aligned pairs) */
    if (pack.size() % 2) pack.push_back(0.0);
    s0 = pack.size();
    for (shifted = 0; shifted < (ntrio ? 2 : 0); ++shifted) {
        for (k = 0; k < ntrio; ++k) {
            const size_t rows = (size_t)T[k].L * T[k].M, N = (size_t)T[k].N, N2 = (N + 1) / 2 * 2;
            size_t r, c;
            for (a = 0; a < 3; ++a) {
                if (!shifted) off.push_back(pack.size());
                pack.insert(pack.end(), T[k].t[a], T[k].t[a] + T[k].nt[a]);
                if (pack.size() % 2) pack.push_back(0.0);
                if (!shifted) off.push_back(pack.size());
                pack.insert(pack.end(), T[k].tab[a], T[k].tab[a] + sp_bspline_table_size(T[k].nt[a]));
            }
            if (!shifted) off.push_back(pack.size());
            for (r = 0; r < rows; ++r)
                for (c = 0; c < N2; ++c) pack.push_back(c + shifted < N ? T[k].c[r * N + c + shifted] : 0.0);
        }
        if (!shifted) ns = pack.size() - s0;
    }
    for (k = 0; k < ntrio; ++k) T[k].N = (T[k].N + 1) / 2 * 2;
    SPC_TRY(spc_upload(&g->d_pot, pack.data(), pack.size()), "upload of the UF3 tables");
    g->K.cshift = ns;
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
    cudaDeviceGetAttribute(&g->smem_max, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev);
    if (g->nsm < 1) g->nsm = 1;
    if (g->smem_max < 48 * 1024) g->smem_max = 48 * 1024;
    r = pot->kind == SP_POT_UF3 ? spc_upload_uf3(g, pot) : spc_upload_meam(g, pot);
    if (r == SP_OK) r = spc_cuda(spc_upload(&g->d_type, type, (size_t)natoms), "upload of the types");
    if (r == SP_OK) r = spc_cuda(spc_upload(&g->d_x, (const double *)NULL, 3 * (size_t)natoms), "cudaMalloc");
    if (r == SP_OK) r = spc_cuda(spc_upload(&g->d_f, (const double *)NULL, 3 * (size_t)natoms), "cudaMalloc");
    if (r == SP_OK) r = spc_cuda(spc_upload(&g->d_atom, (const double *)NULL, 13 * (size_t)natoms), "cudaMalloc");
    if (r == SP_OK) r = spc_cuda(spc_upload(&g->d_part, (const double *)NULL, 16 * (size_t)SPC_RED_BLOCKS), "cudaMalloc");
    if (r == SP_OK) r = spc_cuda(spc_upload(&g->d_tot, (const double *)NULL, 16), "cudaMalloc");
    if (r == SP_OK) r = spc_cuda(cudaMemset(g->d_tot, 0, 16 * sizeof(double)), "cudaMemset");
    if (r == SP_OK) r = spc_cuda(spc_upload(&g->d_stat, (const int *)NULL, 4), "cudaMalloc");
    if (r == SP_OK) r = spc_cuda(cudaMemset(g->d_stat, 0, 4 * sizeof(int)), "cudaMemset");
    if (r != SP_OK) {
        spc_diag(diag, r, "%s", spc_err);
        sp_cuda_sys_free(g);
        return r;
    }
    g->K.type = g->d_type;
    g->K.atom = g->d_atom;
    g->K.f = g->d_f;
    g->K.stat = g->d_stat;
    *out = g;
    return SP_OK;
}

static int spc_blocks(long n, int bs) { return (int)((n + bs - 1) / bs); }

/* a list is in place (g->nent, g->maxdeg, K.next, the arrays): bond-force
   storage, slots per centre, the positions as the drift reference, xe */
static sp_result_t spc_list_ready(sp_cuda_sys_t *g) {
    const int bonds = g->kind != SP_POT_UF3 || g->K.has3;
    const size_t n = (size_t)g->natoms;
    if (bonds) SPC_TRY(spc_reserve(&g->d_fb, &g->cap_fb, 3 * g->nent + 3), "cudaMalloc (bond forces)");
    if (!g->d_x0) SPC_TRY(cudaMalloc((void **)&g->d_x0, 3 * n * sizeof(double)), "cudaMalloc");
    if (!g->d_tmp) SPC_TRY(cudaMalloc((void **)&g->d_tmp, n * sizeof(double)), "cudaMalloc");
    SPC_TRY(cudaMemcpy(g->d_x0, g->d_x, 3 * n * sizeof(double), cudaMemcpyDeviceToDevice), "cudaMemcpy");
    if (!g->want_cap) g->want_cap = 32;
    g->K.cap = g->want_cap < g->maxdeg ? g->want_cap : (g->maxdeg > 0 ? g->maxdeg : 1);
    g->K.first = g->d_first;
    g->K.j = g->d_j;
    g->K.rev = g->d_rev;
    g->K.owner = g->d_owner;
    g->K.xe = g->d_xe;
    g->K.fb = bonds ? g->d_fb : NULL;
    k_ghost<<<spc_blocks(g->K.next, 256), 256>>>(g->K.next, g->d_owner, g->d_shift, g->d_x, g->d_xe);
    SPC_TRY(cudaGetLastError(), "k_ghost");
    g->have_list = 1;
    return SP_OK;
}

extern "C" sp_result_t sp_cuda_sys_set_nlist(sp_cuda_sys_t *g, const sp_nlist_t *nl, const double *pos) {
    const int n = g ? g->natoms : 0;
    int i, maxdeg = 0;
    if (!g || !nl || !pos || nl->natoms != n || !nl->first) return spc_diag(NULL, SP_ERR_BAD_ARG, "bad argument");
    if (nl->cutoff < g->pot_cutoff) return spc_diag(NULL, SP_ERR_RANGE, "list cutoff below the potential's cutoff");
    for (i = 0; i < n; ++i)
        if (nl->first[i + 1] - nl->first[i] > maxdeg) maxdeg = nl->first[i + 1] - nl->first[i];
    g->have_list = 0;
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
    SPC_TRY(cudaMemcpy(g->d_x, pos, 3 * (size_t)n * sizeof(double), cudaMemcpyHostToDevice), "upload of positions");
    g->K.next = nl->next;
    g->K.mid = g->d_first + 1; /* every entry a 3-body candidate */
    return spc_list_ready(g);
}

/* ints a[0..m) -> exclusive prefix sums a[0..m], a[m] the total (block totals in g->d_bsum) */
static sp_result_t spc_scan(sp_cuda_sys_t *g, int *a, int m) {
    const int nblk = spc_blocks(m > 0 ? m : 1, SPC_SCAN);
    SPC_TRY(spc_reserve(&g->d_bsum, &g->cap_bsum, (size_t)nblk), "cudaMalloc");
    k_scan_block<<<nblk, SPC_SCAN>>>(a, m, g->d_bsum);
    k_scan_top<<<1, SPC_SCAN>>>(g->d_bsum, nblk, a + m);
    k_scan_add<<<nblk, SPC_SCAN>>>(a, m, g->d_bsum);
    return spc_cuda(cudaGetLastError(), "scan");
}

/* the 3x3 inverse of the cell matrix (rows a, b, c) and the heights */
static void spc_cell_geometry(const double *h, double *inv, double *height) {
    double cof[9], det;
    int r, c;
    for (r = 0; r < 3; ++r)
        for (c = 0; c < 3; ++c) {
            const int r1 = (r + 1) % 3, r2 = (r + 2) % 3, c1 = (c + 1) % 3, c2 = (c + 2) % 3;
            cof[3 * r + c] = h[3 * r1 + c1] * h[3 * r2 + c2] - h[3 * r1 + c2] * h[3 * r2 + c1];
        }
    det = h[0] * cof[0] + h[1] * cof[1] + h[2] * cof[2];
    for (r = 0; r < 3; ++r)
        for (c = 0; c < 3; ++c) inv[3 * r + c] = cof[3 * c + r] / det;
    /* height along a = |det| / |b x c|, and b x c is row 0 of the cofactors */
    for (r = 0; r < 3; ++r)
        height[r] = fabs(det) / sqrt(cof[3 * r] * cof[3 * r] + cof[3 * r + 1] * cof[3 * r + 1] + cof[3 * r + 2] * cof[3 * r + 2]);
}

extern "C" sp_result_t sp_cuda_sys_build_nlist(sp_cuda_sys_t *g, const sp_cell_t *cell, const double *pos,
                                               double cutoff) {
    const int n = g ? g->natoms : 0, T = 256;
    const size_t nz = (size_t)n;
    spc_nlk L;
    double height[3], vol, r3;
    int c, nbins, ghosts, st[3], split;
    if (!g || !cell) return spc_diag(NULL, SP_ERR_BAD_ARG, "bad argument");
    if (!(cutoff >= g->pot_cutoff)) return spc_diag(NULL, SP_ERR_RANGE, "list cutoff below the potential's cutoff");
    if (!cell->pbc[0] || !cell->pbc[1] || !cell->pbc[2])
        return spc_diag(NULL, SP_ERR_UNSUPPORTED, "device lists need a cell periodic along a, b and c");
    if (sp_cell_check(cell, &vol) != SP_OK) return spc_diag(NULL, SP_ERR_BAD_CELL, "degenerate cell");
    memset(&L, 0, sizeof L);
    spc_cell_geometry(cell->h, L.hinv, height);
    for (c = 0; c < 3; ++c) {
        const double nb = floor(height[c] / (cutoff * (1.0 + 1e-12)));
        if (!(nb >= 3.0))
            return spc_diag(NULL, SP_ERR_UNSUPPORTED, "cell height %.6g below 3 x the list cutoff %.6g", height[c], cutoff);
        L.nb[c] = nb > 1024.0 ? 1024 : (int)nb;
        L.h[3 * c] = cell->h[3 * c];
        L.h[3 * c + 1] = cell->h[3 * c + 1];
        L.h[3 * c + 2] = cell->h[3 * c + 2];
    }
    while ((double)L.nb[0] * L.nb[1] * L.nb[2] > 2.0 * n + 4096.0) { /* sparse cells: fewer, larger bins */
        c = L.nb[0] >= L.nb[1] && L.nb[0] >= L.nb[2] ? 0 : (L.nb[1] >= L.nb[2] ? 1 : 2);
        if (L.nb[c] < 6) break;
        L.nb[c] /= 2;
    }
    nbins = L.nb[0] * L.nb[1] * L.nb[2];
    /* UF3's 3-body bonds can only be among the pairs with r < cut3 + skin:
       those come first in each atom's entries (up to mid) */
    r3 = g->kind == SP_POT_UF3 && g->K.has3 ? g->K.cut3 + (cutoff - g->pot_cutoff) : cutoff;
    split = r3 < cutoff;
    g->have_list = 0;
    if (!g->d_key) {
        SPC_TRY(cudaMalloc((void **)&g->d_key, nz * sizeof(int)), "cudaMalloc");
        SPC_TRY(cudaMalloc((void **)&g->d_flag, nz * sizeof(int)), "cudaMalloc");
        SPC_TRY(cudaMalloc((void **)&g->d_idx, nz * sizeof(int)), "cudaMalloc");
        SPC_TRY(cudaMalloc((void **)&g->d_gbase, (nz + 1) * sizeof(int)), "cudaMalloc");
        SPC_TRY(cudaMalloc((void **)&g->d_cnt3, nz * sizeof(int)), "cudaMalloc");
        SPC_TRY(cudaMalloc((void **)&g->d_mid, nz * sizeof(int)), "cudaMalloc");
        SPC_TRY(cudaMalloc((void **)&g->d_ws, 3 * nz * sizeof(double)), "cudaMalloc");
        SPC_TRY(cudaMalloc((void **)&g->d_xs, 3 * nz * sizeof(double)), "cudaMalloc");
        SPC_TRY(cudaMalloc((void **)&g->d_mask, 27 * nz * sizeof(unsigned long long)), "cudaMalloc");
        SPC_TRY(cudaMalloc((void **)&g->d_pre3, 27 * nz * sizeof(unsigned short)), "cudaMalloc");
    }
    if (split && !g->d_mask3) {
        SPC_TRY(cudaMalloc((void **)&g->d_mask3, 27 * nz * sizeof(unsigned long long)), "cudaMalloc");
        SPC_TRY(cudaMalloc((void **)&g->d_pre, 27 * nz * sizeof(unsigned short)), "cudaMalloc");
    }
    SPC_TRY(spc_reserve(&g->d_bcnt, &g->cap_bcnt, 2 * ((size_t)nbins + 1)), "cudaMalloc"); /* counts, fill pointers */
    SPC_TRY(spc_reserve(&g->d_first, &g->cap_first, nz + 1), "cudaMalloc");
    if (pos) SPC_TRY(cudaMemcpy(g->d_x, pos, 3 * nz * sizeof(double), cudaMemcpyHostToDevice), "upload of positions");
    SPC_TRY(cudaMemset(g->d_bcnt, 0, 2 * ((size_t)nbins + 1) * sizeof(int)), "cudaMemset");
    SPC_TRY(cudaMemset(g->d_stat + 1, 0, 2 * sizeof(int)), "cudaMemset");
    L.n = n;
    L.rl2 = cutoff * cutoff;
    L.r32 = r3 * r3;
    L.mask = g->d_mask;
    L.mask3 = split ? g->d_mask3 : g->d_mask;
    L.pre = split ? g->d_pre : g->d_pre3;
    L.pre3 = g->d_pre3;
    L.cnt3 = g->d_cnt3;
    L.mid = g->d_mid;
    L.x = g->d_x;
    L.key = g->d_key;
    L.flag = g->d_flag;
    L.bcnt = g->d_bcnt;
    L.bfill = g->d_bcnt + nbins + 1;
    L.idx = g->d_idx;
    L.gbase = g->d_gbase;
    L.first = g->d_first;
    L.stat = g->d_stat;
    L.ws = g->d_ws;
    L.xs = g->d_xs;
    /* bins: counts, starts, the atoms in a stable order */
    k_nl_bin<<<spc_blocks(n, T), T>>>(L);
    SPC_TRY(cudaGetLastError(), "k_nl_bin");
    if (spc_scan(g, g->d_bcnt, nbins) != SP_OK) return SP_ERR_DEVICE;
    k_nl_place<<<spc_blocks(n, T), T>>>(L);
    k_nl_binsort<<<spc_blocks(nbins, T), T>>>(L, nbins);
    /* ghosts: offsets, then owners and shifts */
    if (spc_scan(g, g->d_gbase, n) != SP_OK) return SP_ERR_DEVICE;
    SPC_TRY(cudaMemcpy(&ghosts, g->d_gbase + n, sizeof(int), cudaMemcpyDeviceToHost), "k_nl_bin");
    SPC_TRY(cudaMemcpy(st, g->d_stat, 3 * sizeof(int), cudaMemcpyDeviceToHost), "k_nl_bin");
    if (st[2] & 1) return spc_diag(NULL, SP_ERR_NOT_FINITE, "non-finite position");
    if (st[2] & 4) return spc_diag(NULL, SP_ERR_UNSUPPORTED, "device lists: more than 64 atoms in a cell-list bin");
    g->K.next = n + ghosts;
    SPC_TRY(spc_reserve(&g->d_owner, &g->cap_owner, (size_t)g->K.next), "cudaMalloc");
    SPC_TRY(spc_reserve(&g->d_shift, &g->cap_shift, 3 * (size_t)g->K.next), "cudaMalloc");
    SPC_TRY(spc_reserve(&g->d_xe, &g->cap_xe, 3 * (size_t)g->K.next), "cudaMalloc");
    L.owner = g->d_owner;
    L.shift = g->d_shift;
    k_nl_ghosts<<<spc_blocks(n, T), T>>>(L);
    /* pairs: masks and counts, offsets, entries with their reverse entries */
    k_nl_masks<<<spc_blocks(n, T), T>>>(L);
    SPC_TRY(cudaGetLastError(), "k_nl_masks");
    if (spc_scan(g, g->d_first, n) != SP_OK) return SP_ERR_DEVICE;
    SPC_TRY(cudaMemcpy(st, g->d_stat, 3 * sizeof(int), cudaMemcpyDeviceToHost), "k_nl_masks");
    SPC_TRY(cudaMemcpy(&c, g->d_first + n, sizeof(int), cudaMemcpyDeviceToHost), "k_nl_masks");
    g->nent = (size_t)c;
    g->maxdeg = st[1];
    SPC_TRY(spc_reserve(&g->d_j, &g->cap_j, g->nent), "cudaMalloc");
    SPC_TRY(spc_reserve(&g->d_rev, &g->cap_rev, g->nent), "cudaMalloc");
    L.j = g->d_j;
    L.rev = g->d_rev;
    k_nl_fill<<<spc_blocks(n, T), T>>>(L);
    SPC_TRY(cudaGetLastError(), "k_nl_fill");
    g->K.mid = g->d_mid;
    return spc_list_ready(g);
}

extern "C" sp_result_t sp_cuda_sys_get_list(sp_cuda_sys_t *g, size_t *out_entries, int *first, int *nbr,
                                            double *vec) {
    const size_t n = g ? (size_t)g->natoms : 0;
    if (!g || !out_entries || !g->have_list) return spc_diag(NULL, SP_ERR_BAD_ARG, "bad argument (no list)");
    *out_entries = g->nent;
    if (first) SPC_TRY(cudaMemcpy(first, g->d_first, (n + 1) * sizeof(int), cudaMemcpyDeviceToHost), "download of the list");
    if (nbr || vec) {
        std::vector<int> f(n + 1), j(g->nent), owner((size_t)g->K.next);
        std::vector<double> xe(3 * (size_t)g->K.next);
        size_t i, b;
        int c;
        SPC_TRY(cudaMemcpy(f.data(), g->d_first, (n + 1) * sizeof(int), cudaMemcpyDeviceToHost), "download of the list");
        SPC_TRY(cudaMemcpy(j.data(), g->d_j, g->nent * sizeof(int), cudaMemcpyDeviceToHost), "download of the list");
        SPC_TRY(cudaMemcpy(owner.data(), g->d_owner, owner.size() * sizeof(int), cudaMemcpyDeviceToHost),
                "download of the list");
        SPC_TRY(cudaMemcpy(xe.data(), g->d_xe, xe.size() * sizeof(double), cudaMemcpyDeviceToHost),
                "download of the positions");
        for (i = 0; i < n; ++i)
            for (b = (size_t)f[i]; b < (size_t)f[i + 1]; ++b) {
                if (nbr) nbr[b] = owner[(size_t)j[b]];
                if (vec)
                    for (c = 0; c < 3; ++c) vec[3 * b + c] = xe[3 * (size_t)j[b] + c] - xe[3 * i + c];
            }
    }
    return SP_OK;
}

extern "C" sp_result_t sp_cuda_sys_set_positions(sp_cuda_sys_t *g, const double *pos) {
    if (!g || !pos || !g->have_list) return spc_diag(NULL, SP_ERR_BAD_ARG, "bad argument (no list uploaded)");
    SPC_TRY(cudaMemcpy(g->d_x, pos, 3 * (size_t)g->natoms * sizeof(double), cudaMemcpyHostToDevice),
            "upload of positions");
    k_ghost<<<spc_blocks(g->K.next, 256), 256>>>(g->K.next, g->d_owner, g->d_shift, g->d_x, g->d_xe);
    return spc_cuda(cudaGetLastError(), "k_ghost");
}

/* the centre kernel: groups of SPC_W lanes, as many per block (up to
   SPC_BLOCK / SPC_W, SPC_UF3_BLOCK / SPC_W for UF3 with 3-body terms) as the
   slots in shared memory allow, one wave of resident blocks striding over
   the centres */
static sp_result_t spc_centre(sp_cuda_sys_t *g) {
    const spc_k &K = g->K;
    void (*kern)(spc_k);
    size_t slot, smem;
    int G = SPC_BLOCK / SPC_W, per_sm = 0, blocks;
    if (g->kind == SP_POT_UF3 && K.has3) {
        kern = K.same3 ? k_uf3<1, 1> : k_uf3<1, 0>;
        slot = SPC_UF3_ND * sizeof(double) + 3 * sizeof(int);
        G = SPC_UF3_BLOCK / SPC_W;
    } else if (g->kind == SP_POT_UF3) {
        kern = k_uf3<0, 0>;
        slot = 0;
    } else if (g->kind == SP_POT_MEAM_SW) {
        kern = k_meam<1, 1>;
        slot = SPC_MEAM_ND(1) * sizeof(double) + 3 * sizeof(int);
    } else {
        kern = K.nelem == 1 ? k_meam<0, 1> : k_meam<0, 0>;
        slot = SPC_MEAM_ND(0) * sizeof(double) + 3 * sizeof(int);
    }
    while (G > 1 && (size_t)G * K.cap * slot > (size_t)g->smem_max) G /= 2;
    smem = (size_t)G * K.cap * slot;
    if (smem > (size_t)g->smem_max)
        return spc_diag(NULL, SP_ERR_RANGE, "%d bonds of one atom: more than shared memory holds", K.cap);
    SPC_TRY(cudaFuncSetAttribute((const void *)kern, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem),
            "cudaFuncSetAttribute");
    SPC_TRY(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kern, G * SPC_W, smem), "occupancy");
    if (per_sm < 1) per_sm = 1;
    blocks = spc_blocks(K.n, G);
    if (blocks > g->nsm * per_sm) blocks = g->nsm * per_sm;
    kern<<<blocks, G * SPC_W, smem>>>(K);
    return spc_cuda(cudaGetLastError(), "centre kernel");
}

/* centre kernel (again with more slots when a centre had more bonds than
   slots), gather, totals: energy into d_tot[0], with vir the virial into
   d_tot[1..9] */
static sp_result_t spc_forces(sp_cuda_sys_t *g, int vir) {
    spc_k &K = g->K;
    const int slots = g->kind != SP_POT_UF3 || K.has3, G = SPC_BLOCK / SPC_W;
    sp_result_t r;
    if (!g->have_list) return spc_diag(NULL, SP_ERR_BAD_ARG, "no neighbour list uploaded");
    K.vir = vir;
    for (;;) {
        int need = 0;
        if (slots) SPC_TRY(cudaMemset(g->d_stat, 0, sizeof(int)), "cudaMemset");
        if ((r = spc_centre(g)) != SP_OK) return r;
        if (!slots) break;
        SPC_TRY(cudaMemcpy(&need, g->d_stat, sizeof(int), cudaMemcpyDeviceToHost), "centre kernel");
        g->want_cap = (need + 7) / 4 * 4; /* what the centres needed and a margin */
        if (need <= K.cap) break;
        K.cap = g->want_cap;
    }
    if (slots && K.cap > g->want_cap) K.cap = g->want_cap; /* fewer slots, more resident groups */
    if (slots) {
        int blocks = spc_blocks(K.n, G);
        if (blocks > 32 * g->nsm) blocks = 32 * g->nsm;
        if (g->kind == SP_POT_UF3) k_gather<1><<<blocks, SPC_BLOCK>>>(K);
        else k_gather<0><<<blocks, SPC_BLOCK>>>(K);
        SPC_TRY(cudaGetLastError(), "k_gather");
    }
    spc_total(g->d_atom, K.n, 1, 1, 0, g->d_part, g->d_tot);
    if (vir) spc_total(g->d_atom + K.n, K.n, 9, 9, 0, g->d_part, g->d_tot + 1);
    return spc_cuda(cudaGetLastError(), "k_reduce");
}

static int spc_finite(double x) { return x - x == 0.0; }

extern "C" sp_result_t sp_cuda_sys_compute(sp_cuda_sys_t *g, sp_out_t *out) {
    double tot[10];
    const size_t n = g ? (size_t)g->natoms : 0;
    sp_result_t r;
    if (!g || !out) return spc_diag(NULL, SP_ERR_BAD_ARG, "bad argument");
    if (out->contributing) return spc_diag(NULL, SP_ERR_UNSUPPORTED, "contributing flags are not taken on the device");
    if ((r = spc_forces(g, 1)) != SP_OK) return r;
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
    if ((r = spc_forces(g, 0)) != SP_OK) return r;
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
   that atom's thread only, so no two threads write the same value. Each
   kernel's body is a __host__ __device__ function of (K, p, item), so
   tests/test_cuda_host.cu runs the same code on the CPU (spc_sv_run with a
   loop for a launch) where there is no device. */

struct spc_svc { /* one configuration's place in the packed arrays */
    int n, nb;
    long ob, oa, ot, oref; /* first bond, atom, triplet; reference forces (-1: none) */
};

struct spc_svk {
    int P, npb, npar, ne, nr, ng, nr2, ng2, nu, nu2, o_rho, o_U, o_f, o_g; /* phi at 0 */
    const spc_svc *conf;
    const double *u, *rho_sum, *phi_sum, *cs, *ref, *xu, *xr, *xg; /* xr, xg: knots of the radial splines, of g */
    const int *first;  /* per config n + 1 entries, at oa + c */
    const int *tfirst; /* per atom: first triplet (within its configuration) */
    const int *rev;    /* per bond, within its configuration */
    const int *aconf, *batom; /* configuration of each atom, global centre atom of each bond */
    const int *atype, *btype; /* element of each atom, of each bond's neighbour */
    const double *T;                 /* npar x P */
    double *Z;                       /* npar x P: z_k = y''_k / (6 h) of the rho, f, g, phi splines (T's rows) */
    double *fv, *fd, *pd, *dn, *nn, *dU; /* [item][p] */
    sp_spline_t *U;                  /* ne x P: U of element e for set p at e P + p */
    double *u0;                      /* ne x P: U(0), as U */
    double *E, *F, *sse;             /* [c P + p]; forces per config P x 3n; [c P + p] */
};

#ifdef __CUDA_ARCH__
#define SPC_LDG(p) __ldg(p)
#else
#define SPC_LDG(p) (*(p))
#endif
#define SPC_SV_THREADS 64

/* sp__spline_y2 for clamped splines (end slopes p0, pN), operation for operation */
__host__ __device__ __forceinline__ void spc_spline_y2(int n, const double *x, const double *y, double p0, double pN,
                                                       double *y2) {
    double u[SP_SPLINE_MAX_KNOTS], qn, un, sig, pp;
    int i, k;
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
}

/* sp__smeam_seg, operation for operation (a device copy: the header's static
   functions are host code): where x falls on a clamped spline of n uniform
   knots xk, the 4 parameter rows (of T, or of Z where z) and the weights of
   its value and derivative */
struct spc_seg {
    int r[4], z[4];
    double cv[4], cd[4];
};

__host__ __device__ __forceinline__ void spc_sv_seg(double x, const double *xk, int n, spc_seg *g) {
    const double h = (xk[n - 1] - xk[0]) / (n - 1), hsq = h * h, xs = xk[n - 1] - xk[0];
    int a;
    x -= xk[0];
    for (a = 0; a < 4; ++a) {
        g->z[a] = a >= 2;
        g->cv[a] = g->cd[a] = 0.0;
    }
    if (x <= 0.0 || !(x < xs)) {
        const int lo = x <= 0.0;
        g->r[0] = g->r[2] = g->r[3] = lo ? 0 : n - 1;
        g->r[1] = lo ? n : n + 1;
        g->z[2] = g->z[3] = 0;
        g->cv[0] = 1.0;
        g->cv[1] = lo ? x : x - xs;
        g->cd[1] = 1.0;
    } else {
        int k = (int)(x * (1.0 / h));
        double d, b;
        if (k > n - 2) k = n - 2;
        d = (xk[k + 1] - xk[0]) - x;
        b = h - d;
        g->r[0] = g->r[2] = k;
        g->r[1] = g->r[3] = k + 1;
        g->cv[0] = d / h;
        g->cv[1] = 1.0 - d / h;
        g->cv[2] = (d * d - hsq) * d;
        g->cv[3] = (b * b - hsq) * b;
        g->cd[0] = -1.0 / h;
        g->cd[1] = 1.0 / h;
        g->cd[2] = -(3.0 * d * d - hsq);
        g->cd[3] = 3.0 * b * b - hsq;
    }
}

/* sum_a c[a] row_a[p] of one spline whose parameters start at row q */
__host__ __device__ __forceinline__ double spc_sv_dot(const spc_svk &K, const spc_seg &g, const double *c, long q,
                                                      int p) {
    const long P = K.P;
    const double *B0 = g.z[0] ? K.Z : K.T, *B1 = g.z[1] ? K.Z : K.T, *B2 = g.z[2] ? K.Z : K.T, *B3 = g.z[3] ? K.Z : K.T;
    return c[0] * B0[(q + g.r[0]) * P + p] + c[1] * B1[(q + g.r[1]) * P + p] + c[2] * B2[(q + g.r[2]) * P + p] +
           c[3] * B3[(q + g.r[3]) * P + p];
}

/* the z_k of spline s for parameter set p (sp__smeam_sv_z): phi and rho (np +
   ne splines from row 0), f (ne from o_f), g (np from o_g) */
__host__ __device__ __forceinline__ void spc_sv_z(const spc_svk &K, int p, long s) {
    const long P = K.P;
    const int np = K.ne * (K.ne + 1) / 2, rad = s < np + 2 * K.ne, n = rad ? K.nr : K.ng;
    const long q = s < np + K.ne ? s * K.nr2 : (rad ? K.o_f + (s - np - K.ne) * K.nr2 : K.o_g + (s - np - 2 * K.ne) * K.ng2);
    const double *x = rad ? K.xr : K.xg, *Tq = K.T + q * P + p;
    const double h6 = (x[n - 1] - x[0]) / (n - 1) * 6.0;
    double y[SP_SPLINE_MAX_KNOTS], y2[SP_SPLINE_MAX_KNOTS];
    int i, k;
    for (i = 0; i < n; ++i) y[i] = Tq[i * P];
    spc_spline_y2(n, x, y, Tq[n * P], Tq[(n + 1) * P], y2);
    for (k = 0; k < n; ++k) K.Z[(q + k) * P + p] = y2[k] / h6;
}

/* f, f', phi' of the pair, rho' u of bond gb (the CPU's bond loop) */
__host__ __device__ __forceinline__ void spc_sv_bonds(const spc_svk &K, int p, long gb) {
    const long P = K.P;
    const double *ub = K.u + 4 * gb;
    const int tj = K.btype[gb], pq = K.ne == 1 ? 0 : spc_pair_index(K.ne, K.atype[K.batom[gb]], tj);
    spc_seg g;
    double dx;
    spc_sv_seg(1.0 / ub[3], K.xr, K.nr, &g);
    dx = spc_sv_dot(K, g, g.cd, K.o_rho + tj * K.nr2, p); /* rho'(r) */
    K.fv[gb * P + p] = spc_sv_dot(K, g, g.cv, K.o_f + tj * K.nr2, p);
    K.fd[gb * P + p] = spc_sv_dot(K, g, g.cd, K.o_f + tj * K.nr2, p);
    K.pd[gb * P + p] = spc_sv_dot(K, g, g.cd, (long)pq * K.nr2, p);
    K.dn[(3 * gb) * P + p] = dx * ub[0];
    K.dn[(3 * gb + 1) * P + p] = dx * ub[1];
    K.dn[(3 * gb + 2) * P + p] = dx * ub[2];
}

/* n_i (rho of each neighbour element, then the triplets in order) and
   dn_i/dr_ij of atom ga; the triplets are (bj, bk > bj) in list order, dn
   of bj kept in registers */
__host__ __device__ __forceinline__ void spc_sv_trip(const spc_svk &K, int p, long ga) {
    const long P = K.P;
    const int c = K.aconf[ga];
    const spc_svc C = K.conf[c];
    const int i = (int)(ga - C.oa);
    const int *first = K.first + C.oa + c;
    const double *rs = K.rho_sum + ga * K.ne * K.nr2;
    long t = C.ot + K.tfirst[ga];
    double ni = 0.0;
    int bj, bk, q;
    for (q = 0; q < K.ne * K.nr2; ++q) ni += SPC_LDG(rs + q) * K.T[(K.o_rho + q) * P + p];
    for (bj = first[i]; bj < first[i + 1]; ++bj) {
        const long gj = C.ob + bj;
        const double *uj = K.u + 4 * gj;
        const double fj = K.fv[gj * P + p], fdj = K.fd[gj * P + p];
        const int ej = K.btype[gj];
        double dj0 = K.dn[(3 * gj) * P + p], dj1 = K.dn[(3 * gj + 1) * P + p], dj2 = K.dn[(3 * gj + 2) * P + p];
        for (bk = bj + 1; bk < first[i + 1]; ++bk, ++t) {
            const long gk = C.ob + bk;
            const double *uk = K.u + 4 * gk, cs = SPC_LDG(K.cs + t);
            const int pg = K.ne == 1 ? 0 : spc_pair_index(K.ne, ej, K.btype[gk]);
            double cj[3], ck[3], g, gd;
            spc_seg sgm;
            int d;
            for (d = 0; d < 3; ++d) {
                cj[d] = (uk[d] - cs * uj[d]) * uj[3];
                ck[d] = (uj[d] - cs * uk[d]) * uk[3];
            }
            spc_sv_seg(cs, K.xg, K.ng, &sgm);
            g = spc_sv_dot(K, sgm, sgm.cv, K.o_g + pg * K.ng2, p);
            gd = spc_sv_dot(K, sgm, sgm.cd, K.o_g + pg * K.ng2, p);
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

/* the clamped U spline of element e for parameter set p (sp_spline_init) and U(0) */
__host__ __device__ __forceinline__ void spc_sv_U(const spc_svk &K, int p, long e) {
    const long P = K.P;
    const int n = K.nu;
    double y[SP_SPLINE_MAX_KNOTS], y2[SP_SPLINE_MAX_KNOTS], p0, pN, d;
    const double *x = K.xu + e * n, *Tu = K.T + (K.o_U + e * K.nu2) * P + p;
    sp_spline_t *s = K.U + e * P + p;
    int i;
    for (i = 0; i < n; ++i) y[i] = Tu[i * P];
    p0 = Tu[n * P];
    pN = Tu[(n + 1) * P];
    spc_spline_y2(n, x, y, p0, pN, y2);
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
    K.u0[e * P + p] = spc_spline(s, 0.0, &d);
}

/* energy of configuration c: phi of every pair, then U(n_i) - U(0) in atom order; U'(n_i) */
__host__ __device__ __forceinline__ void spc_sv_energy(const spc_svk &K, int p, long c) {
    const long P = K.P;
    const spc_svc C = K.conf[c];
    const int w = K.ne * (K.ne + 1) / 2 * K.nr2;
    double e = 0.0;
    int i, q;
    for (q = 0; q < w; ++q) e += SPC_LDG(K.phi_sum + c * w + q) * K.T[q * P + p];
    for (i = 0; i < C.n; ++i) {
        const long ti = K.atype[C.oa + i];
        double du, eu = spc_spline(K.U + ti * P + p, K.nn[(C.oa + i) * P + p], &du) - K.u0[ti * P + p];
        K.dU[(C.oa + i) * P + p] = du;
        e += eu;
    }
    K.E[c * P + p] = e;
}

/* bond force -dE_i/dr_ij = -(phi'/2 u + U'_i dn_i/dr_ij), in place of dn */
__host__ __device__ __forceinline__ void spc_sv_bforce(const spc_svk &K, int p, long gb) {
    const long P = K.P;
    const double du = K.dU[(long)K.batom[gb] * P + p], ph = K.pd[gb * P + p];
    int d;
    for (d = 0; d < 3; ++d) {
        double *x = K.dn + (3 * gb + d) * P + p;
        *x = -(0.5 * ph * K.u[4 * gb + d] + du * *x);
    }
}

/* forces of atom ga: the gather in list order */
__host__ __device__ __forceinline__ void spc_sv_gather(const spc_svk &K, int p, long ga) {
    const long P = K.P;
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
__host__ __device__ __forceinline__ void spc_sv_sse(const spc_svk &K, int p, long c) {
    const long P = K.P;
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

#define SPC_SV_KERNEL(name)                                                                 \
    __global__ void __launch_bounds__(SPC_SV_THREADS) k_##name(spc_svk K) {               \
        const long item = blockIdx.x / K.npb;                                               \
        const int p = (int)(blockIdx.x % K.npb) * blockDim.x + threadIdx.x;                 \
        if (p < K.P) spc_##name(K, p, item);                                                \
    }
SPC_SV_KERNEL(sv_z)
SPC_SV_KERNEL(sv_bonds)
SPC_SV_KERNEL(sv_trip)
SPC_SV_KERNEL(sv_U)
SPC_SV_KERNEL(sv_energy)
SPC_SV_KERNEL(sv_bforce)
SPC_SV_KERNEL(sv_gather)
SPC_SV_KERNEL(sv_sse)

typedef void (*spc_sv_kernel)(spc_svk);
typedef void (*spc_sv_body)(const spc_svk &, int, long);

/* The packed training set on the host: the arrays spc_svk points to. */
struct spc_svpack {
    spc_svk K; /* sizes and offsets; pointers unset */
    int nconf;
    long n_tot, nb_tot;
    std::vector<spc_svc> conf;
    std::vector<double> u, rho, phi, cs, ref, xu, xr, xg;
    std::vector<int> first, tfirst, rev, aconf, batom, atype, btype;
};

/* The kernels of one evaluation, in order: launch(kernel, body, items). */
template <class Launch>
static void spc_sv_run(const spc_svpack &h, int forces, int force_sse, Launch launch) {
    launch(k_sv_z, spc_sv_z, (long)(h.K.ne * (h.K.ne + 1) + 2 * h.K.ne)); /* np + ne, ne, np splines */
    launch(k_sv_bonds, spc_sv_bonds, h.nb_tot);
    launch(k_sv_trip, spc_sv_trip, h.n_tot);
    launch(k_sv_U, spc_sv_U, (long)h.K.ne);
    launch(k_sv_energy, spc_sv_energy, (long)h.nconf);
    if (!forces && !force_sse) return;
    launch(k_sv_bforce, spc_sv_bforce, h.nb_tot);
    launch(k_sv_gather, spc_sv_gather, h.n_tot);
    if (force_sse) launch(k_sv_sse, spc_sv_sse, (long)h.nconf);
}

/* f(&K.x, vector) for each of spc_svk's arrays of the training set and its vector in h */
template <class F> static void spc_sv_arrays(spc_svpack &h, F f) {
    spc_svk &K = h.K;
    f(&K.conf, h.conf); f(&K.u, h.u); f(&K.rho_sum, h.rho); f(&K.phi_sum, h.phi); f(&K.xr, h.xr); f(&K.xg, h.xg);
    f(&K.cs, h.cs); f(&K.ref, h.ref); f(&K.xu, h.xu); f(&K.first, h.first);
    f(&K.tfirst, h.tfirst); f(&K.rev, h.rev); f(&K.aconf, h.aconf); f(&K.batom, h.batom); f(&K.atype, h.atype);
    f(&K.btype, h.btype);
}

/* sp__uniform_knots: n knots from lo to hi, the last exactly hi */
static void spc_uniform_knots(int n, double lo, double hi, double *x) {
    for (int k = 0; k < n; ++k) x[k] = (k == n - 1) ? hi : lo + (hi - lo) * k / (n - 1);
}

/* sv[0..nconf) and the reference forces packed into h (host only) */
static sp_result_t spc_sv_pack(spc_svpack *h, const sp_smeam_layout_t *lay, const sp_smeam_sv_t *sv, int nconf,
                               const double *const *ref_forces, sp_diag_t *diag) {
    spc_svk &K = h->K;
    const int ne = lay->nelem > 0 ? lay->nelem : 1, np = ne * (ne + 1) / 2, ng = lay->ng > 0 ? lay->ng : lay->nr;
    const int nr2 = lay->nr + 2, ng2 = ng + 2, nu2 = lay->nu + 2;
    long ob = 0, oa = 0, ot = 0, oref = 0;
    int c, i, e;
    if (lay->nu < 2 || lay->nu > SP_SPLINE_MAX_KNOTS || ne > SP_MAX_ELEMENTS)
        return spc_diag(diag, SP_ERR_BAD_ARG, "bad s-MEAM layout");
    for (c = 0; c < nconf; ++c)
        if (sv[c].nr2 != nr2 || sv[c].ng2 != ng2 || sv[c].nelem != ne || sv[c].natoms < 1)
            return spc_diag(diag, SP_ERR_BAD_ARG, "configuration %d: structure vectors of another layout", c + 1);
    memset(&K, 0, sizeof K);
    K.ne = ne; K.nr = lay->nr; K.ng = ng; K.nr2 = nr2; K.ng2 = ng2; K.nu = lay->nu; K.nu2 = nu2;
    K.o_rho = np * nr2; K.o_U = K.o_rho + ne * nr2; K.o_f = K.o_U + ne * nu2; K.o_g = K.o_f + ne * nr2;
    K.npar = K.o_g + np * ng2;
    h->nconf = nconf;
    h->conf.resize(nconf);
    h->xu.resize((size_t)ne * lay->nu);
    h->xr.resize(lay->nr);
    h->xg.resize(ng);
    spc_uniform_knots(lay->nr, lay->rlo, lay->rc, h->xr.data());
    spc_uniform_knots(ng, -1.0, 1.0, h->xg.data());
    for (e = 0; e < ne; ++e) { /* sp__smeam_uknots */
        const int own = ne > 1 && lay->urange[e][1] > lay->urange[e][0];
        const double lo = own ? lay->urange[e][0] : lay->ulo, hi = own ? lay->urange[e][1] : lay->uhi;
        if (!(hi > lo)) return spc_diag(diag, SP_ERR_BAD_ARG, "bad s-MEAM layout");
        spc_uniform_knots(lay->nu, lo, hi, h->xu.data() + (size_t)e * lay->nu);
    }
    for (c = 0; c < nconf; ++c) {
        const sp_smeam_sv_t *v = sv + c;
        const int n = v->natoms, nb = v->nbonds;
        int t = 0;
        spc_svc &C = h->conf[c];
        C.n = n; C.nb = nb; C.ob = ob; C.oa = oa; C.ot = ot;
        C.oref = (ref_forces && ref_forces[c]) ? oref : -1;
        if (ref_forces && ref_forces[c]) {
            h->ref.insert(h->ref.end(), ref_forces[c], ref_forces[c] + 3 * (size_t)n);
            oref += 3 * (long)n;
        }
        h->u.insert(h->u.end(), v->u, v->u + 4 * (size_t)nb);
        h->rho.insert(h->rho.end(), v->rho_sum, v->rho_sum + (size_t)n * ne * nr2);
        h->phi.insert(h->phi.end(), v->phi_sum, v->phi_sum + (size_t)np * nr2);
        h->cs.insert(h->cs.end(), v->cs, v->cs + v->ntrip);
        h->first.insert(h->first.end(), v->first, v->first + n + 1);
        h->rev.insert(h->rev.end(), v->rev, v->rev + nb);
        h->atype.insert(h->atype.end(), v->atype, v->atype + n);
        h->btype.insert(h->btype.end(), v->btype, v->btype + nb);
        for (i = 0; i < n; ++i) {
            const int d = v->first[i + 1] - v->first[i];
            int b;
            h->tfirst.push_back(t);
            t += d * (d - 1) / 2;
            h->aconf.push_back(c);
            for (b = v->first[i]; b < v->first[i + 1]; ++b) h->batom.push_back((int)(oa + i));
        }
        if (t != v->ntrip || (long)h->batom.size() != ob + nb)
            return spc_diag(diag, SP_ERR_BAD_ARG, "configuration %d: inconsistent structure vectors", c + 1);
        for (i = 0; i < n; ++i)
            if (v->atype[i] < 0 || v->atype[i] >= ne)
                return spc_diag(diag, SP_ERR_BAD_ARG, "configuration %d: atom %d of no element of the layout", c + 1, i + 1);
        ob += nb; oa += n; ot += v->ntrip;
    }
    h->n_tot = oa;
    h->nb_tot = ob;
    if (h->ref.empty()) h->ref.push_back(0.0);
    return SP_OK;
}

/* theta (P x npar, row-major) as T (npar x P, set index innermost) */
static sp_result_t spc_sv_params(int P, int npar, const double *theta, std::vector<double> &T) {
    T.resize((size_t)P * npar);
    for (int p = 0; p < P; ++p)
        for (int q = 0; q < npar; ++q) {
            const double v = theta[(size_t)p * npar + q];
            if (!spc_finite(v)) return spc_diag(NULL, SP_ERR_NOT_FINITE, "parameter set %d: not finite", p + 1);
            T[(size_t)q * P + p] = v;
        }
    return SP_OK;
}

/* per-set scratch of spc_svk: doubles per parameter set of each array, in
   the order fv, fd, pd, dn, nn, dU, u0, E, F, sse, Z (T and U apart) */
#define SPC_SV_NSCR 11
static void spc_sv_scratch_sizes(const spc_svpack &h, size_t *per) {
    const size_t nb = (size_t)h.nb_tot, na = (size_t)h.n_tot, nc = (size_t)h.nconf;
    const size_t v[SPC_SV_NSCR] = {nb, nb, nb, 3 * nb, na, na, (size_t)h.K.ne, nc, 3 * na, nc, (size_t)h.K.npar};
    memcpy(per, v, sizeof v);
}

/* K's per-set arrays at scr[0..SPC_SV_NSCR) (spc_sv_scratch_sizes's order) */
static void spc_sv_set_scratch(spc_svk &K, double *const *scr) {
    K.fv = scr[0]; K.fd = scr[1]; K.pd = scr[2]; K.dn = scr[3]; K.nn = scr[4]; K.dU = scr[5]; K.u0 = scr[6];
    K.E = scr[7]; K.F = scr[8]; K.sse = scr[9]; K.Z = scr[10];
}

struct sp_cuda_sv_t {
    spc_svpack h;
    int capP;
    std::vector<void *> blocks; /* fixed device arrays */
    double *d_T, *d_scr[SPC_SV_NSCR]; /* d_scr: spc_sv_scratch_sizes's arrays */
    sp_spline_t *d_U;
    std::vector<double> hT;
};

extern "C" void sp_cuda_sv_free(sp_cuda_sv_t *g) {
    if (!g) return;
    for (size_t k = 0; k < g->blocks.size(); ++k) cudaFree(g->blocks[k]);
    for (int k = 0; k < SPC_SV_NSCR; ++k) cudaFree(g->d_scr[k]);
    cudaFree(g->d_T);
    cudaFree(g->d_U);
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
    if (out) *out = NULL;
    if (!out || !lay || !sv || nconf < 1 || lay->nelem < 0) return spc_diag(diag, SP_ERR_BAD_ARG, "bad argument");
    g = new sp_cuda_sv_t();
    g->capP = 0;
    g->d_T = NULL;
    g->d_U = NULL;
    for (int k = 0; k < SPC_SV_NSCR; ++k) g->d_scr[k] = NULL;
    r = spc_sv_pack(&g->h, lay, sv, nconf, ref_forces, diag);
    if (r == SP_OK) r = spc_need_device(diag);
    if (r != SP_OK) {
        delete g;
        return r;
    }
    spc_sv_arrays(g->h, [g, &r](auto dst, const auto &v) {
        if (r == SP_OK) r = spc_sv_put(g, dst, v);
    });
    if (r != SP_OK) {
        spc_diag(diag, r, "%s", spc_err);
        sp_cuda_sv_free(g);
        return r;
    }
    *out = g;
    return SP_OK;
}

extern "C" sp_result_t sp_cuda_sv_eval(sp_cuda_sv_t *g, int P, const double *theta, double *out_energy,
                                       double *out_forces, double *out_force_sse) {
    size_t per[SPC_SV_NSCR];
    sp_result_t r;
    if (!g || P < 0 || (P > 0 && (!theta || !out_energy))) return spc_diag(NULL, SP_ERR_BAD_ARG, "bad argument");
    spc_svpack &h = g->h;
    spc_svk &K = h.K;
    if (P == 0) return SP_OK;
    spc_sv_scratch_sizes(h, per);
    if (P > g->capP) { /* per-set scratch */
        for (int k = 0; k < SPC_SV_NSCR; ++k) {
            cudaFree(g->d_scr[k]);
            g->d_scr[k] = NULL;
        }
        cudaFree(g->d_T);
        cudaFree(g->d_U);
        g->d_T = NULL;
        g->d_U = NULL;
        g->capP = 0;
        for (int k = 0; k < SPC_SV_NSCR; ++k)
            SPC_TRY(cudaMalloc((void **)&g->d_scr[k], per[k] * (size_t)P * sizeof(double)), "cudaMalloc (per-set scratch)");
        SPC_TRY(cudaMalloc((void **)&g->d_T, (size_t)K.npar * P * sizeof(double)), "cudaMalloc (parameters)");
        SPC_TRY(cudaMalloc((void **)&g->d_U, (size_t)K.ne * P * sizeof(sp_spline_t)), "cudaMalloc (U splines)");
        g->capP = P;
    }
    if ((r = spc_sv_params(P, K.npar, theta, g->hT)) != SP_OK) return r;
    SPC_TRY(cudaMemcpy(g->d_T, g->hT.data(), g->hT.size() * sizeof(double), cudaMemcpyHostToDevice),
            "upload of the parameters");
    K.P = P;
    K.npb = (P + SPC_SV_THREADS - 1) / SPC_SV_THREADS;
    K.T = g->d_T; K.U = g->d_U;
    spc_sv_set_scratch(K, g->d_scr);
    spc_sv_run(h, out_forces != NULL, out_force_sse != NULL, [&K](spc_sv_kernel k, spc_sv_body, long items) {
        k<<<(unsigned)(K.npb * items), SPC_SV_THREADS>>>(K);
    });
    SPC_TRY(cudaGetLastError(), "structure-vector kernels");
    SPC_TRY(cudaMemcpy(out_energy, K.E, (size_t)h.nconf * P * sizeof(double), cudaMemcpyDeviceToHost),
            "download of the energies");
    if (out_forces)
        SPC_TRY(cudaMemcpy(out_forces, K.F, 3 * (size_t)h.n_tot * P * sizeof(double), cudaMemcpyDeviceToHost),
                "download of the forces");
    if (out_force_sse)
        SPC_TRY(cudaMemcpy(out_force_sse, K.sse, (size_t)h.nconf * P * sizeof(double), cudaMemcpyDeviceToHost),
                "download of the force errors");
    return SP_OK;
}
