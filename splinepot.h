/* splinepot.h - v0.1.0 - spline interatomic potentials in one C header

   Evaluates and fits spline-based interatomic potentials: s-MEAM (LAMMPS
   meam/spline and meam/sw/spline), UF3 (ultra-fast force fields) and s-NNP
   (spline filters + neural networks), with nothing but libc and libm. OpenMP is used when the compiler has it.

QUICK START

     #define SPLINEPOT_IMPLEMENTATION
     #include "splinepot.h"
     #include <stdio.h>
     int main(void) {
         sp_pot_t pot; sp_diag_t diag = {0};
         double pos[6] = {0, 0, 0,  2.35, 0, 0}, cell[9] = {0};
         int pbc[3] = {0, 0, 0}, type[2] = {0, 0};
         double forces[6], energy;
         if (sp_pot_read_file(&pot, "Si_1.meam.spline", &diag) != SP_OK) {
             printf("line %d: %s\n", diag.line, diag.msg); return 1;
         }
         sp_pot_compute_once(&pot, 2, pos, type, cell, pbc, &energy, forces, NULL, NULL, &diag);
         printf("E = %.10f eV, Fx0 = %.10f eV/A\n", energy, forces[0]);
         sp_pot_free(&pot);
         return 0;
     }

COMPILE-TIME OPTIONS

   SPLINEPOT_IMPLEMENTATION  define in exactly one .c/.cpp file before including
   SP_STATIC                 make every function static (private copy per file)
   SP_NO_STDIO               drop everything that touches FILE* (embedded builds)
   SP_NO_OPENMP              never use OpenMP even when _OPENMP is defined
   SP_MALLOC(sz,u)/SP_FREE(p,u)  default allocator (define both or neither)
   SP_ASSERT(x)              internal invariants only (default: assert)
   SP_SPLINE_MAX_KNOTS       capacity of one cubic spline (default 64)
   SP_MAX_ELEMENTS           elements in one potential (default 8)
   SPLINEPOT_CUDA            (or SP_CUDA) splinepot_cuda.cu is compiled with nvcc
                             and linked; without it sp_cuda_* return
                             SP_ERR_NO_CUDA ("built without CUDA")

   Bit-identity with LAMMPS needs plain IEEE double arithmetic: compile without
   -ffast-math and with -ffp-contract=off (no fused multiply-add contraction).

TABLE OF CONTENTS (search for the tag)

   >>common   result codes, diagnostics, allocator, elements
   >>spline   clamped cubic splines on uniform knots (LAMMPS meam/spline)
   >>bspline  cubic B-splines on clamped knot vectors (UF3)
   >>cells    cells, periodic images, ghost atoms, neighbour lists, radial distribution
   >>pot      potentials: s-MEAM, meam/sw/spline, UF3, s-NNP; energies, forces, virial;
              the energy change of a Monte-Carlo move, swap or change of element;
              an s-NNP's filters and their weights per atom
   >>props    relaxation, elastic constants, EOS, cubic and hcp crystals, phonons, faults
   >>linalg   dense symmetric eigen-solver
   >>cmaes    CMA-ES optimiser (Hansen), ask/tell, IPOP restarts, bounds
   >>ridge    streamed normal equations, ridge/curvature penalties, robust solve
   >>fit      UF3 fit by ridge regression
   >>sv       s-MEAM structure vectors: P parameter sets at once
   >>snnp     s-NNP training: gradients of energy and force losses, Adam
   >>io       LAMMPS potential files, uf3 JSON, s-NNP models, extended XYZ
   >>cuda     optional GPU layer (splinepot_cuda.cu; fallbacks without it)

CONVENTIONS

   Units are LAMMPS "metal": Angstrom, eV, eV/Angstrom, ps, amu.
   Positions, forces: arrays of 3*natoms doubles (x0 y0 z0 x1 ...).
   Cell: 9 doubles, rows are the cell vectors a, b, c (as extxyz Lattice=).
   Types: 0-based indices into the potential's element list.
   Virial: W_ab = sum over bonds r_a F_b (LAMMPS sign, positive under
   compression); stress in the ASE sign is -W/V.
   Pair index of elements a <= b among n: a*n - a*(a-1)/2 + (b-a) (upper
   triangle, row-major, symmetric in a and b).

THREAD SAFETY AND DETERMINISM

   The library holds no global mutable state. Potentials, splines and built
   neighbour lists are read-only during compute and may be shared by threads;
   workspaces belong to one caller at a time. Every result is bitwise
   identical for any OpenMP thread count: each centre atom writes only its
   own per-bond slots, and forces are gathered per atom in a fixed order.

RECENT CHANGES

   0.1.0  first release: splines, B-splines, cell lists, s-MEAM, UF3, I/O;
          Monte-Carlo moves, swaps and changes of element (sp_pot_move_energy,
          sp_pot_swap_energy, sp_pot_retype_energy, their _accept, sp_nlist_move);
          lists that follow a changing cell (sp_nlist_deform) and say when
          they need a rebuild (sp_nlist_stale).

CREDITS

   Equations: Lenosky et al. (2000), Xie, Rupp & Hennig (2023), Vita &
   Trinkle (2021, 2022). LAMMPS serves as an external oracle only.

License: see end of file.
*/
#ifndef SPLINEPOT_H
#define SPLINEPOT_H

#include <stddef.h>
#include <stdint.h>

#define SP_VERSION_MAJOR 0
#define SP_VERSION_MINOR 1
#define SP_VERSION_PATCH 0

#ifndef SP_API
#ifdef SP_STATIC
#if defined(__GNUC__) || defined(__clang__)
#define SP_API static __attribute__((unused))
#else
#define SP_API static
#endif
#else
#define SP_API extern
#endif
#endif

#ifndef SP_SPLINE_MAX_KNOTS
#define SP_SPLINE_MAX_KNOTS 64
#endif
#ifndef SP_MAX_ELEMENTS
#define SP_MAX_ELEMENTS 8
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ==================================================================
 * >>common   RESULT CODES, DIAGNOSTICS, ALLOCATOR, ELEMENTS
 * ==================================================================
 * Every fallible function returns sp_result_t (SP_OK == 0). Parsers and
 * builders also fill an optional sp_diag_t with a line number (0 if none)
 * and a short message; the caller adds the file name. */

#define SP__RESULT_LIST(X)                                   \
    X(SP_OK, "ok")                                           \
    X(SP_ERR_BAD_ARG, "bad argument")                        \
    X(SP_ERR_NO_MEMORY, "out of memory")                     \
    X(SP_ERR_WORKSPACE_TOO_SMALL, "workspace too small")     \
    X(SP_ERR_NOT_FINITE, "non-finite number")                \
    X(SP_ERR_PARSE, "parse error")                           \
    X(SP_ERR_IO, "input/output error")                       \
    X(SP_ERR_SINGULAR, "singular system")                    \
    X(SP_ERR_NO_CONVERGENCE, "no convergence")               \
    X(SP_ERR_UNSUPPORTED, "unsupported")                     \
    X(SP_ERR_DEVICE, "device error")                         \
    X(SP_ERR_UNKNOWN_ELEMENT, "unknown element")             \
    X(SP_ERR_BAD_CELL, "degenerate cell")                    \
    X(SP_ERR_OVERLAP, "overlapping atoms")                   \
    X(SP_ERR_RANGE, "value out of range")                    \
    X(SP_ERR_NO_CUDA, "built without CUDA")

#define SP__RESULT_ENUM(name, text) name,
typedef enum sp_result_t { SP__RESULT_LIST(SP__RESULT_ENUM) SP__RESULT_COUNT } sp_result_t;
#undef SP__RESULT_ENUM

typedef struct sp_diag_t {
    int line;          /* 1-based line of the input where the problem is, 0 if none */
    char msg[256];     /* what went wrong, without file name */
    int warning_line;  /* last warning (input accepted anyway), 0 if none */
    char warning[256];
} sp_diag_t;

typedef struct sp_allocator_t {
    void *(*alloc)(size_t bytes, void *user); /* NULL: SP_MALLOC */
    void (*free)(void *ptr, void *user);      /* NULL: SP_FREE */
    void *user;
} sp_allocator_t;

SP_API const char *sp_result_str(sp_result_t r);
/* Static description of a result code; never NULL. */

SP_API int sp_element_z(const char *symbol);
/* Atomic number of a chemical symbol ("Si" -> 14), 0 if unknown. */
SP_API const char *sp_element_symbol(int z);
/* Symbol of atomic number z (1..118), "" otherwise. */
SP_API double sp_element_mass(int z);
/* Standard atomic weight in amu (z = 1..94), 0 if unknown. */

/* ==================================================================
 * >>spline   CLAMPED CUBIC SPLINES ON UNIFORM KNOTS
 * ==================================================================
 * The cubic spline of LAMMPS meam/spline (Lenosky et al. 2000): it
 * interpolates (x_i, y_i), i = 0..n-1, on uniform knots, with first
 * derivatives d0 and dN at the ends ("clamped"), and extrapolates linearly
 * outside [x_0, x_{n-1}]. Value and derivative are bit-identical to LAMMPS
 * (same tridiagonal sweep, same evaluation order).
 *
 * The "natural" variant (s-meam U splines) takes end parameters p0 = h^2 y''(x_0)
 * and pN = h^2 y''(x_{n-1}) instead of slopes; p = 0 is the natural spline.
 *
 * The spline is linear in theta = (y_0..y_{n-1}, d0, dN): its value is
 * s(x).theta with the basis vector s(x) of length n+2 (Vita & Trinkle 2021,
 * sec. 3.4). sp_spline_basis() returns s(x) and s'(x).
 *
 *     sp_spline_t s;
 *     sp_spline_init(&s, n, x, y, d0, dN);
 *     double dv, v = sp_spline_eval(&s, 2.5, &dv);
 */

typedef enum sp_spline_bc_t {
    SP_SPLINE_CLAMPED = 0, /* end parameters are first derivatives (LAMMPS) */
    SP_SPLINE_NATURAL = 1  /* end parameters are h^2 y'' (s-meam U splines) */
} sp_spline_bc_t;

typedef struct sp_spline_t {
    int n;                 /* number of knots, 2..SP_SPLINE_MAX_KNOTS */
    sp_spline_bc_t bc;
    double xmin, xmax;     /* first and last knot */
    double h, hsq, inv_h;  /* knot spacing (xmax-xmin)/(n-1), h^2, 1/h */
    double xmax_shifted;   /* x_{n-1} - x_0 */
    double d0, dN;         /* end slopes used for extrapolation */
    double p0, pN;         /* end parameters as given (d0/dN or h^2 y'') */
    double y0, yN;         /* values at the end knots */
    double x[SP_SPLINE_MAX_KNOTS], y[SP_SPLINE_MAX_KNOTS];
    /* per interval k: x_{k+1}-x_0, y_{k+1}, (y_{k+1}-y_k)/h, y''_k/(6h), y''_{k+1}/(6h) */
    double seg[5 * (SP_SPLINE_MAX_KNOTS - 1)];
} sp_spline_t;

SP_API sp_result_t sp_spline_init(sp_spline_t *s, int n, const double *x, const double *y,
                                  double d0, double dN);
/* Clamped spline through n knots x (uniform to 1e-8 relative to h, as LAMMPS
   requires; the actual positions are kept) with end slopes d0, dN.
   Errors: SP_ERR_BAD_ARG (n < 2, n > SP_SPLINE_MAX_KNOTS, x not increasing or
   not uniform), SP_ERR_NOT_FINITE. */

SP_API sp_result_t sp_spline_init_bc(sp_spline_t *s, int n, const double *x, const double *y,
                                     sp_spline_bc_t bc, double p0, double pN);
/* Same with a choice of boundary condition; SP_SPLINE_NATURAL takes
   p0 = h^2 y''(x_0), pN = h^2 y''(x_{n-1}). */

SP_API double sp_spline_eval(const sp_spline_t *s, double x, double *out_deriv);
/* Value at x and (if out_deriv != NULL) the derivative. Below x_0 (x <= x_0)
   and at or above x_{n-1}: linear extrapolation with the end slope. */

SP_API void sp_spline_eval_n(const sp_spline_t *s, int m, const double *x, double *out_val,
                             double *out_deriv);
/* Batch form of sp_spline_eval for m points; out_deriv may be NULL. */

SP_API size_t sp_spline_basis_matrix_size(int n);
/* Doubles needed by sp_spline_basis_matrix: n*(n+2). */

SP_API sp_result_t sp_spline_basis_matrix(int n, const double *x, sp_spline_bc_t bc,
                                          double *out_M);
/* d(y''_k/(6h))/d(theta_l), row-major n x (n+2): the linear map from theta to
   the scaled second derivatives, for sp_spline_basis(). */

SP_API void sp_spline_basis(int n, const double *x, sp_spline_bc_t bc, const double *M, double xv,
                            double *out_s, double *out_ds);
/* Basis vector s(xv) and its derivative (each n+2 doubles; out_ds may be NULL)
   such that sp_spline_eval(xv) = s(xv).theta for the spline with these knots,
   theta = (y_0..y_{n-1}, end parameter 0, end parameter N). */

/* ==================================================================
 * >>bspline  CUBIC B-SPLINES ON CLAMPED KNOT VECTORS
 * ==================================================================
 * UF3 (Xie, Rupp & Hennig 2023): V(r) = sum_i c_i B_i(r) with cubic
 * B-splines on the clamped knot vector t = (r0,r0,r0, r0..r1 uniform,
 * r1,r1,r1); n_intervals + 7 knots, n_intervals + 3 basis functions, basis i
 * supported on [t_i, t_{i+4}]. Outside [t_0, t_last] every basis is zero.
 *
 *     double t[32]; int nt = sp_bspline_knots_uniform(1.5, 5.5, 25, t);
 *     double b[4], db[4]; int i0 = sp_bspline_basis(t, nt, 2.7, b, db, NULL);
 *     value = c[i0]*b[0] + c[i0+1]*b[1] + c[i0+2]*b[2] + c[i0+3]*b[3];
 */

SP_API int sp_bspline_knots_uniform(double rmin, double rmax, int n_intervals, double *out_t);
/* Writes n_intervals + 7 clamped knots, rounded to 10 decimals as uf3 does;
   returns their number. */

SP_API int sp_bspline_basis(const double *t, int nt, double x, double *out_b, double *out_db,
                            double *out_d2b);
/* The <= 4 non-zero cubic basis values (and first/second derivatives, each
   optional) at x. Returns i0: basis i0+k has value out_b[k]; returns -1 and
   zeros when x is outside [t_0, t_{nt-1}]. At x = t_{nt-1} the last interval
   is closed. */

typedef struct sp_bspline_t {
    int nt, nb;            /* knots, basis functions (nt - 4) */
    int uniform;           /* interior knots uniform: direct interval index */
    double t0, t1, inv_dt; /* first/last knot, 1/interior spacing */
    const double *t;       /* knots, caller-owned */
    const double *tab;     /* optional power-form table (sp_bspline_set_table), caller-owned */
} sp_bspline_t;

SP_API sp_result_t sp_bspline_init(sp_bspline_t *b, const double *t, int nt);
/* Checks a clamped cubic knot vector (4 equal knots at each end, non-decreasing,
   nt >= 8) and records whether the interior is uniform. t must outlive b. */

SP_API size_t sp_bspline_table_size(int nt);
/* Doubles needed by sp_bspline_set_table: 16 per knot interval. */

SP_API void sp_bspline_set_table(sp_bspline_t *b, double *tab);
/* Tabulates the 4 non-zero basis functions of every knot interval as cubics
   in (x - left knot), so that sp_bspline_basis_fast is a few Horner steps
   instead of the de Boor recursion. tab (sp_bspline_table_size doubles)
   must outlive b. */

SP_API int sp_bspline_basis_fast(const sp_bspline_t *b, double x, double *out_b, double *out_db);
/* sp_bspline_basis for an initialised knot vector, without second derivatives. */

SP_API double sp_bspline_eval(const sp_bspline_t *b, const double *c, double x, double *out_d,
                              double *out_d2);
/* sum_i c_i B_i(x) and its first and second derivatives (optional). */

/* ==================================================================
 * >>cells    CELLS, PERIODIC IMAGES, GHOST ATOMS, NEIGHBOUR LISTS
 * ==================================================================
 * A neighbour list for natoms atoms in a general triclinic cell, periodic
 * per direction, for any cutoff (also larger than the cell: one atom is
 * seen through many images). Atoms are wrapped internally; periodic images
 * within the cutoff of the cell become ghost atoms with an owner and a
 * fixed shift, so a potential only ever reads one array of positions,
 * xe[3*next], refreshed from the caller's positions by sp_nlist_update().
 * Cost is linear in the number of atoms (cell lists on the ghost-extended
 * set); the build uses the OpenMP threads when there are any.
 *
 * The list is "full": every pair appears as i->j and j->i, each entry knows
 * its reverse (rev[]), so per-bond results can be gathered per atom in a
 * fixed order (deterministic for any thread count).
 *
 *     sp_nlist_t nl = {0};
 *     sp_nlist_build(&nl, &cell, pos, natoms, cutoff, &diag);
 *     for (i..) for (b = nl.first[i]; b < nl.first[i+1]; ++b) j_ext = nl.j[b];
 *     sp_nlist_free(&nl);
 */

typedef struct sp_cell_t {
    double h[9]; /* rows a, b, c (Angstrom); a direction that is not periodic may be zero */
    int pbc[3];  /* periodic along a, b, c */
} sp_cell_t;

/* One configuration: positions, types and cell, with reference data for fitting. */
typedef struct sp_config_t {
    int natoms;
    const double *pos;     /* 3*natoms, Angstrom */
    const int *type;       /* element index of each atom (the potential's order) */
    sp_cell_t cell;
    double energy;         /* reference total energy (eV), for fitting */
    const double *forces;  /* reference forces (3*natoms, eV/A) or NULL */
    double weight;         /* weight in a fit (sp_uf3_fit: its rows times it, and the normalisations count
                              it as weight^2 configurations; sp_snnp_fit: its loss terms times its square):
                              weight sqrt 2 is the configuration given twice; 0 means 1 */
    const double *stress;  /* reference stress (9, eV/A^3, ASE sign: -W/V) or NULL; periodic cells */
} sp_config_t;

SP_API sp_result_t sp_cell_check(const sp_cell_t *c, double *out_volume);
/* SP_ERR_BAD_CELL for a periodic direction whose vector is zero or that is
   coplanar with the others (volume ~ 0), SP_ERR_NOT_FINITE for NaN/inf. */

typedef struct sp_nlist_t {
    int natoms;         /* local atoms */
    int next;           /* local + ghost atoms */
    double cutoff;      /* list radius (cutoff + skin) */
    int *first;         /* natoms+1 offsets into j/rev */
    int *j;             /* neighbour, index into the extended set */
    int *rev;           /* entry of the reverse bond (owner(j) -> image of i) */
    int *owner;         /* next: local atom each extended atom copies */
    double *shift;      /* 3*next: xe = x[owner] + shift */
    double *xe;         /* 3*next: extended positions (after update) */
    double *x0;         /* 3*natoms: xe of the locals at the build (sp_pot_move_energy's skin check) */
    int *gfirst;        /* natoms+1 offsets into glist */
    int *glist;         /* the ghosts of each local atom, by image (in the build scratch) */
    size_t n_entries, cap_entries, cap_x0;
    int cap_ext, cap_atoms;
    sp_allocator_t allocator;
    /* build scratch (kept to avoid reallocating on rebuilds) */
    int *scr_int; size_t scr_int_cap;
    double *scr_dbl; size_t scr_dbl_cap;
    int *scr_ext; size_t scr_ext_cap;
    int *scr_pairs; size_t scr_pairs_cap;
    int *scr_key; size_t scr_key_cap;
    float *scr_cand; size_t scr_cand_cap;
} sp_nlist_t;

SP_API sp_result_t sp_nlist_build(sp_nlist_t *nl, const sp_cell_t *cell, const double *pos,
                                  int natoms, double cutoff, sp_diag_t *diag);
/* (Re)builds the full list of pairs with r < cutoff, reusing nl's memory.
   nl must be zeroed (or previously built) with an optional allocator set.
   Each atom's entries: its local neighbours, then its ghost neighbours,
   each in cell order; the list (order included) is the same for any
   OpenMP thread count.
   Errors: SP_ERR_BAD_ARG, SP_ERR_BAD_CELL, SP_ERR_NOT_FINITE (position),
   SP_ERR_OVERLAP (two atoms closer than 1e-6 A; diag names them),
   SP_ERR_NO_MEMORY. On error nl is left empty but valid. */

SP_API void sp_nlist_update(sp_nlist_t *nl, const double *pos);
/* Refreshes xe from the caller's (moved) positions; the pairs stay those of
   the last build, so the list cutoff must include a skin. */

SP_API void sp_nlist_move(sp_nlist_t *nl, int i, const double *x);
/* Puts local atom i at x (3 doubles; its ghosts follow), as sp_nlist_update
   would with x in the positions array: the step that accepts a Monte-Carlo
   move sp_pot_move_energy has costed. O(images of i). */

SP_API int sp_nlist_stale(const sp_nlist_t *nl, const double *pos, double cutoff);
/* 1 when the list may miss a pair within cutoff of the positions pos (3
   natoms): some atom is more than (nl->cutoff - cutoff) / 2 from where it
   was at the build (mapped by sp_nlist_deform since), or nl->cutoff <
   cutoff, or nl or pos is NULL; else 0 (every such pair is in the list).
   The rebuild test of an MD or Monte-Carlo loop. O(natoms). */

SP_API sp_result_t sp_nlist_deform(sp_nlist_t *nl, const double *m);
/* Follows an affine deformation of the cell, h -> h m (3x3 row-major, rows
   of h the cell vectors), as a barostat or a Monte-Carlo volume move makes
   it: the images' shifts and the build positions are mapped x -> x m,
   and nl->cutoff becomes the radius within which the list still holds
   every pair of those mapped positions, its old value times the smallest
   singular value of m (less a rounding margin). The caller maps its
   positions too and calls sp_nlist_update (xe is stale until then); the
   pairs stay those of the last build, so sp_pot_compute refuses the list
   (SP_ERR_RANGE) once nl->cutoff < pot->cutoff, and atoms may move up to
   (nl->cutoff - pot cutoff) / 2 from the mapped build positions, as after
   a build. O(next).
   Errors: SP_ERR_BAD_ARG, SP_ERR_NOT_FINITE (m), SP_ERR_BAD_CELL (m
   singular); nl is unchanged on error. */

SP_API void sp_nlist_free(sp_nlist_t *nl);

SP_API sp_result_t sp_rdf_add(const sp_nlist_t *nl, const int *type, int ntypes, double rmax, int nbins,
                              double *hist);
/* Adds the pairs of a list (built with a cutoff >= rmax, positions current)
   to a histogram of the radial distribution: for every local atom i of type
   a and every neighbour j of type b (any image) at r < rmax, one count in
   hist[(a * ntypes + b) * nbins + k], k = floor(r nbins / rmax); both i->j
   and j->i are counted. For a periodic cell of volume V with N_a atoms of
   type a, the partial g_ab in bin k is hist / (N_a (N_b - [a == b]) / V
   4 pi (r_k+1^3 - r_k^3) / 3) (the normalisation of LAMMPS compute rdf), and
   the running sum of hist / N_a the coordination number. Errors:
   SP_ERR_BAD_ARG (NULL, ntypes or nbins < 1, rmax <= 0, a type out of
   range), SP_ERR_RANGE (list cutoff below rmax). */

/* ==================================================================
 * >>pot      POTENTIALS: S-MEAM, MEAM/SW/SPLINE, UF3, S-NNP
 * ==================================================================
 * One call shape for every potential: per centre atom i, the energy E_i
 * and the per-bond forces -dE_i/dr_ij are computed into the workspace; a
 * fixed-order gather then gives forces F_a = sum_b (Fb[rev b] - Fb[b]) and
 * the virial W = sum_i sum_j r_ij (x) Fb_ij. E_i depends only on the atoms
 * within the cutoff of i, so a Monte-Carlo move of one atom, a swap of two
 * atoms' elements or a change of one atom's element (sp_pot_retype_energy)
 * changes the energies of their neighbours only:
 *
 *     sp_pot_move_energy(&pot, &nl, type, &ws, i, xnew, energies, &de);
 *     if (accepted) sp_pot_move_accept(&nl, &ws, i, xnew, energies);
 *     sp_pot_swap_energy(&pot, &nl, type, &ws, i, j, energies, &de);
 *     if (accepted) sp_pot_swap_accept(&ws, type, i, j, energies);
 *
 * s-MEAM (Lenosky et al. 2000; LAMMPS meam/spline):
 *   E = sum_{i<j} phi_{ti tj}(r_ij) + sum_i [U_ti(n_i) - U_ti(0)],
 *   n_i = sum_j rho_tj(r_ij) + sum_{j<k} f_tj(r_ij) f_tk(r_ik) g_{tj tk}(cos theta_jik).
 * meam/sw/spline adds sum_i sum_{j<k} F(r_ij) F(r_ik) G(cos theta_jik).
 * UF3 (Xie, Rupp & Hennig 2023, Eqs. 8-11): E = sum_i e1_ti
 *   + sum_i sum_{j!=i} V2_{ti tj}(r_ij)                     (ordered pairs)
 *   + sum_i sum_{j<k} V3_{ti; tj tk}(r_ij, r_ik, r_jk),
 *   V2 = sum_n c_n B_n(r), V3 = sum_lmn c_lmn B_l(r_ij) B_m(r_ik) B_n(r_jk),
 *   j the neighbour of lower atomic number. Elements of a UF3 potential are
 *   kept sorted by atomic number. As LAMMPS pair_style uf3: V2 below its
 *   first knot continues the first cubic piece; a triplet counts only when
 *   r_ij, r_ik are within their last knots and all three distances are at or
 *   above their first knots.
 * s-NNP (Vita & Trinkle 2023, Eqs. 2, 9, 10; sp_snnp_t below): per centre i
 *   G3_a = sum_{j<k} f_a,tj(r_ij) f_a,tk(r_ik) g_a,tjtk(cos theta_jik)  a = 1..n3
 *   G2_b = sum_j rho_b,tj(r_ij)  b = 1..n2;   Gs = sum_j s_tj(r_ij) (short range)
 *   E_i = e0_ti + [skip] sum(G3, G2) + [short] Gs + [network] sigma(N_ti(G3, G2)),
 *   N_t a perceptron per element (CELU hidden layers, optionally bias-free),
 *   sigma softplus or identity; without a network the filters-only "linear" model.
 */

typedef enum sp_pot_kind_t {
    SP_POT_NONE = 0,
    SP_POT_MEAM = 1,    /* LAMMPS meam/spline */
    SP_POT_MEAM_SW = 2, /* LAMMPS meam/sw/spline */
    SP_POT_UF3 = 3,
    SP_POT_SNNP = 4     /* s-NNP (Vita & Trinkle 2023) */
} sp_pot_kind_t;

typedef struct sp_meam_t {
    int nelem;
    /* pair-indexed (symmetric) splines phi and g, element-indexed rho, U, f */
    sp_spline_t *phi, *rho, *U, *f, *g;
    sp_spline_t *F, *G; /* meam/sw/spline only */
    double zero_energy[SP_MAX_ELEMENTS]; /* U_e(0) */
    int new_format;     /* read from (and written as) the multi-element format */
} sp_meam_t;

/* UF3: one 2-body interaction (unordered element pair a <= b). */
typedef struct sp_uf3_pair_t {
    int nt;                  /* knots; nt - 4 coefficients */
    double *t, *c;           /* knots, coefficients (c_n multiplies B_n) */
    double cut;              /* last knot: V2 = 0 for r >= cut */
    int nint, uniform;       /* power form per knot interval, for speed */
    double t0, inv_h;
    double *poly;            /* 5 per interval: left knot, a0..a3 (V = sum a_k (r - left)^k) */
    double *vt;              /* the same as 5 rows of 32 (left knots, a0, .., a3), when nint <= 32 */
} sp_uf3_pair_t;

/* UF3: one 3-body interaction, centre element and neighbour elements a <= b
   (by atomic number); axis l = r_ij (neighbour a), m = r_ik (b), n = r_jk. */
typedef struct sp_uf3_trio_t {
    int nt[3];               /* knots along l, m, n */
    double *t[3];
    double *tab[3];          /* basis tables of bs[] */
    sp_bspline_t bs[3];
    int L, M, N;             /* coefficients c[(l*M + m)*N + n] */
    double *c;
    double *vtab[3];         /* per knot interval, 40 doubles: the 4 basis values and their derivatives
                                as cubics in (x - left knot), power by power, (c0 c1), (c1 2c2), (c2 3c3),
                                (c3 0) 8 each; left knot, 7 unused (vectorised evaluation) */
} sp_uf3_trio_t;

typedef struct sp_uf3_t {
    int has3;                /* 3-body terms present */
    double e1[SP_MAX_ELEMENTS];  /* one-body energy per element */
    sp_uf3_pair_t *pair;     /* n(n+1)/2, symmetric pair index */
    sp_uf3_trio_t *trio;     /* n * n(n+1)/2: [centre * npairs + pair(a, b)] */
    double cut3;             /* largest r_ij/r_ik cutoff of any trio */
    int same3;               /* every trio has the same l and m knots: basis cached per bond */
    /* vectorised evaluation (sp__uf3_center_fast): every pair has uniform knots and, with
       3-body terms, same3 with uniform knots on every trio axis; per pair p: first knot,
       1/spacing, last interval, cutoff, offset of its power form from pair[0].poly */
    int fast;
    int s3max;               /* doubles of one l-contracted trio block, M (N + 16) */
    double p_t0[SP_MAX_ELEMENTS * (SP_MAX_ELEMENTS + 1) / 2], p_ih[SP_MAX_ELEMENTS * (SP_MAX_ELEMENTS + 1) / 2];
    double p_km[SP_MAX_ELEMENTS * (SP_MAX_ELEMENTS + 1) / 2], p_cut[SP_MAX_ELEMENTS * (SP_MAX_ELEMENTS + 1) / 2];
    int p_off[SP_MAX_ELEMENTS * (SP_MAX_ELEMENTS + 1) / 2];
} sp_uf3_t;

/* s-NNP (Vita & Trinkle 2023, Eqs. 2, 9, 10): spline filters of each centre
   atom, fed to one multilayer perceptron per element. Every spline is a
   clamped cubic spline on uniform knots (the >>spline kind, in the Hermite
   form of s-meam), with parameters theta = (y_0..y_{n-1}, d0, dN) and linear
   extrapolation outside its knots; radial splines end at their cutoff, where
   their value is pinned to 0 (r >= cutoff contributes nothing). */
#define SP_SNNP_MAX_HIDDEN 8      /* hidden layers of one network */
#define SP_SNNP_MAX_WIDTH 1024    /* nodes of one layer */
#define SP_SNNP_MAX_FILTERS 64    /* n3 and n2 each */

typedef struct sp_snnp_arch_t {
    int nelem;                    /* elements, 1..SP_MAX_ELEMENTS */
    int z[SP_MAX_ELEMENTS];       /* their atomic numbers (distinct; this order is the type order) */
    int n3, n2;                   /* 3-body and 2-body filters fed to the networks, 0..64 */
    int short_range;              /* nonzero: short-range pair filter Gs summed straight into E_i */
    int skip;                     /* nonzero: skip connection, E_i += sum of the n3 + n2 filters */
    int nobias;                   /* nonzero: network layers without bias terms */
    int softplus;                 /* nonzero: softplus on the network output */
    int network;                  /* nonzero: one network per element; 0: filters only ("linear") */
    int nhidden;                  /* hidden layers, 0..SP_SNNP_MAX_HIDDEN (0: one linear layer) */
    int width[SP_SNNP_MAX_HIDDEN];/* hidden widths, 1..SP_SNNP_MAX_WIDTH */
    double celu_alpha;            /* CELU(x) = max(0,x) + min(0, alpha (exp(x/alpha) - 1)); > 0 */
    double r3lo, r3hi;            /* knots of f: k3 uniform on [r3lo, r3hi]; r3hi = 3-body cutoff */
    int k3;
    double r2lo, r2hi;            /* knots of rho: k2 uniform on [r2lo, r2hi]; r2hi = 2-body cutoff */
    int k2;
    int kg;                       /* knots of g: kg uniform on [-1, 1] */
    double rslo, rshi;            /* knots of the short-range filter; rshi = inner cutoff */
    int ks;
} sp_snnp_arch_t;

/* The parameter vector theta (nparams doubles), in this order:
     f   [a][e]   n3 x nelem splines of k3 + 2   (filter a, neighbour element e)
     g   [a][p]   n3 x npairs splines of kg + 2  (p: symmetric pair index of the neighbours)
     rho [b][e]   n2 x nelem splines of k2 + 2
     s   [e]      nelem splines of ks + 2        (only with short_range)
     net [e]      per element, layer by layer: W (out x in, row-major), then b (unless nobias)
     e0  [e]      nelem external biases (isolated-atom energies / per-element energy shift)
   each spline as (y_0..y_{n-1}, d0, dN). */
typedef struct sp_snnp_t {
    sp_snnp_arch_t arch;
    int npairs, nin, nlayers, nparams;   /* nin = n3 + n2 network inputs; nlayers = nhidden + 1 */
    int dims[SP_SNNP_MAX_HIDDEN + 2];    /* nin, widths..., 1 */
    int lay_off[SP_SNNP_MAX_HIDDEN + 1]; /* layer l's W (then b) within one network's parameters */
    int act_off[SP_SNNP_MAX_HIDDEN + 3]; /* layer l's activations within a network buffer */
    int off_f, off_g, off_rho, off_s, off_e0;
    int off_net[SP_MAX_ELEMENTS];
    int net_size;                        /* parameters of one network */
    double *theta;                       /* nparams */
    sp_spline_t *spl;                    /* f, g, rho, s in theta order */
    /* power form of every spline, (n+1) segments x 4 coefficients (segment 0: below the
       first knot, n: above the last), filters innermost: coefficient c of segment q of
       f_a,e at tab3[((e*(k3+1) + q)*4 + c)*n3 + a] (likewise g by pair, rho, s) */
    double *tab3, *tabg, *tab2, *tabs;
    /* d(power form of one spline)/d(its theta), ((n+1)*4) x (n+2), for gradients */
    double *jac3, *jacg, *jac2, *jacs;
    double cut3, cut2, cuts;             /* cutoffs of the three radial families (0: absent) */
    double x0[4], h[4], inv_h[4];        /* knot grids of f, g, rho, s: first knot, spacing */
    int nk[4];                           /* and knot counts */
} sp_snnp_t;

typedef struct sp_pot_t {
    sp_pot_kind_t kind;
    int nelem;
    char elem[SP_MAX_ELEMENTS][4];  /* element symbols; may be "" for old meam files */
    double cutoff;                   /* neighbour cutoff (strict r < cutoff) */
    sp_meam_t meam;
    sp_uf3_t uf3;
    sp_snnp_t snnp;
    void *mem;                       /* one block owning all splines and coefficients */
    sp_allocator_t allocator;
} sp_pot_t;

typedef struct sp_work_t {
    double *fbond;        /* 3 per neighbour-list entry: -dE_i/dr_ij */
    size_t cap_bonds;
    double *atom;         /* per-atom energies, virials, direct forces (13 per atom) */
    size_t cap_atom;
    void *scratch;        /* per-thread bond caches */
    size_t cap_scratch;
    double *trial_e;      /* the last sp_pot_move_energy: its centres' energies after the move */
    int *trial_c;         /* and those centres */
    size_t cap_trial_e, cap_trial_c;
    int trial_kind;       /* 0 a move, 1 a swap, 2 a change of element */
    int trial_i, trial_j; /* its atom; a swap's other atom, the new element */
    int trial_n;          /* its centres (0: no trial) */
    double trial_x[3];    /* a move's position */
    sp_allocator_t allocator;
} sp_work_t;

typedef struct sp_out_t {
    double energy;        /* total potential energy (eV) */
    double virial[9];     /* W_ab = sum r_a F_b (eV), LAMMPS sign */
    double *forces;       /* 3*natoms or NULL */
    double *energies;     /* natoms per-atom energies or NULL */
    double *virials;      /* 9*natoms per-atom virials (centre convention) or NULL */
    const int *contributing; /* NULL, or natoms flags (sp_pot_compute only): an atom flagged 0 adds no energy
                                (nor its forces and virial) but still feels the others', as the padding
                                atoms of a simulator that hands its own ghosts in (the KIM API) */
} sp_out_t;

SP_API int sp_pot_pair_index(int nelem, int a, int b);
/* Symmetric index of the unordered element pair (a, b) in 0..n(n+1)/2-1. */

SP_API sp_result_t sp_pot_compute(const sp_pot_t *pot, const sp_nlist_t *nl, const int *type,
                                  sp_work_t *ws, sp_out_t *out);
/* Energy, forces, virial (and optionally per-atom energies) for the atoms of
   a built and updated neighbour list (nl->cutoff >= pot->cutoff). type[i]
   in 0..pot->nelem-1 for the natoms local atoms. ws grows on first use (zero
   it once); nothing is allocated when it is large enough. With
   out->contributing, the energy is the sum over the flagged atoms only and
   the forces (on every atom) and virial are its derivatives. */

SP_API sp_result_t sp_pot_compute_once(const sp_pot_t *pot, int natoms, const double *pos,
                                       const int *type, const double *cell, const int *pbc,
                                       double *out_energy, double *out_forces,
                                       double *out_energies, double *out_virial,
                                       sp_diag_t *diag);
/* Convenience: builds a neighbour list, computes, frees. Outputs may be NULL. */

SP_API sp_result_t sp_pot_move_energy(const sp_pot_t *pot, sp_nlist_t *nl, const int *type, sp_work_t *ws,
                                      int i, const double *x, const double *energies, double *out_de);
/* The energy change of a Monte-Carlo move: local atom i put at x (3 doubles,
   in the frame of the positions the list was built from; do not wrap them
   between builds), the other atoms where nl has them. Only the centres that
   have an image of i within the cutoff before or after the move are
   evaluated: O(neighbours) work, not O(natoms). The result is the sum over
   those centres of E_c(after) - E_c(before), each E_c bit for bit what
   sp_pot_compute gives. energies: NULL (each E_c(before) is evaluated too),
   or the per-atom energies of the current positions (sp_pot_compute's
   out->energies, kept up to date by sp_pot_move_accept), which halves the
   work. nl is left as it was (its positions change during the call: one
   caller per list). Errors: SP_ERR_BAD_ARG (NULL, i out of range, list not
   built), SP_ERR_UNKNOWN_ELEMENT, SP_ERR_NOT_FINITE (x or the result),
   SP_ERR_RANGE (list cutoff below the potential's, or x farther than half
   the skin, list cutoff - potential cutoff, from atom i's position at the
   build: rebuild the list from the current positions and ask again),
   SP_ERR_NO_MEMORY. ws grows on the first calls only. */

SP_API sp_result_t sp_pot_move_accept(sp_nlist_t *nl, sp_work_t *ws, int i, const double *x, double *energies);
/* Accepts the move that the last sp_pot_move_energy on ws costed (atom i to
   x, the same numbers): nl's positions follow (sp_nlist_move) and, when
   energies is not NULL, the energies of the centres that move changed are
   written into it. Keep the caller's positions array the same (x[i] = x).
   Errors: SP_ERR_BAD_ARG (NULL, i out of range, or not the last trial). */

SP_API sp_result_t sp_pot_swap_energy(const sp_pot_t *pot, const sp_nlist_t *nl, int *type, sp_work_t *ws, int i,
                                      int j, const double *energies, double *out_de);
/* The energy change of swapping the elements of local atoms i and j (an
   alloy's Monte-Carlo swap), from i, j and the atoms within the cutoff of
   either; as sp_pot_move_energy otherwise (energies, the bits of E_c). type
   is swapped during the call and back. Errors: SP_ERR_BAD_ARG (NULL, i or j
   out of range, i == j, list not built), SP_ERR_UNKNOWN_ELEMENT,
   SP_ERR_NOT_FINITE, SP_ERR_RANGE (list cutoff below the potential's),
   SP_ERR_NO_MEMORY. */

SP_API sp_result_t sp_pot_swap_accept(sp_work_t *ws, int *type, int i, int j, double *energies);
/* Accepts the swap the last sp_pot_swap_energy on ws costed: type[i] and
   type[j] exchanged, and, when energies is not NULL, the energies of the
   centres it changed written into it. Errors: SP_ERR_BAD_ARG (NULL, or not
   the last trial). */

SP_API sp_result_t sp_pot_retype_energy(const sp_pot_t *pot, const sp_nlist_t *nl, int *type, sp_work_t *ws, int i,
                                        int t, const double *energies, double *out_de);
SP_API sp_result_t sp_pot_retype_accept(sp_work_t *ws, int *type, int i, int t, double *energies);
/* The same for local atom i becoming element t (semi-grand-canonical Monte
   Carlo, where the acceptance adds the chemical-potential difference);
   SP_ERR_UNKNOWN_ELEMENT also for t out of range. */

SP_API void sp_work_free(sp_work_t *ws);
SP_API void sp_pot_free(sp_pot_t *pot);

SP_API sp_result_t sp_uf3_create(sp_pot_t *pot, int nelem, const int *z, int has3, const int *nt2,
                                  const int *nt3);
/* Allocates an empty UF3 potential: nelem elements with atomic numbers z
   (strictly increasing), knot counts nt2[pair] for each of the n(n+1)/2
   pairs and, when has3, nt3[3*trio + axis] for each of the n * n(n+1)/2
   trios. Fill pot->uf3 knots (t), coefficients (c) and e1, then call
   sp_uf3_finish(). */

SP_API sp_result_t sp_uf3_finish(sp_pot_t *pot, sp_diag_t *diag);
/* Checks the knot vectors (clamped, non-decreasing) and coefficients (finite)
   and prepares evaluation; sets pot->cutoff. */

SP_API int sp_pot_find_element(const sp_pot_t *pot, const char *symbol);
/* Index of an element symbol in the potential, -1 if absent. A single-element
   potential with an empty name (old meam/spline files) matches any symbol. */

SP_API sp_result_t sp_snnp_create(sp_pot_t *pot, const sp_snnp_arch_t *arch, sp_diag_t *diag);
/* Allocates an s-NNP potential of this architecture with every parameter 0
   (pot->allocator is kept). Set the parameters with sp_snnp_set_params.
   Errors: SP_ERR_BAD_ARG (architecture out of range; diag says which),
   SP_ERR_NO_MEMORY. */

SP_API sp_result_t sp_snnp_set_params(sp_pot_t *pot, const double *theta);
/* Copies theta (pot->snnp.nparams doubles, layout above) into the model and
   rebuilds its splines. pot->snnp.theta may be read directly but not written.
   Errors: SP_ERR_BAD_ARG, SP_ERR_NOT_FINITE, SP_ERR_RANGE (|value| > 1e100). */

SP_API int sp_snnp_param_pinned(const sp_pot_t *pot, int k);
/* Nonzero when parameter k is a radial spline's value at its cutoff, which the
   model file requires to be 0 (the paper's pinned knot). */

SP_API sp_result_t sp_snnp_backprop(const sp_pot_t *pot, const sp_nlist_t *nl, const int *type, double e_adj,
                                    const double *f_adj, const double *w_adj, sp_work_t *ws, double *out_grad);
/* Adds to out_grad (nparams) the gradient with respect to theta of
       e_adj * E + sum_a f_adj[a] . F_a + sum_ab w_adj[3 a + b] W_ab
   (E the total energy, F_a = -dE/dx_a the forces, W the virial of sp_out_t;
   f_adj 3*natoms or NULL, w_adj 9 or NULL), i.e. backpropagation of a loss
   whose derivatives with respect to the energy, the forces and the virial
   are e_adj, f_adj and w_adj. Forces and virial enter through one
   directional derivative: with every bond r_ij moved by
   v_ij = f_adj_j - f_adj_i + w_adj^T r_ij, the two sums are -dE/de of
   E(r + e v), so the cost is about three energy evaluations whatever the
   number of parameters (forward mode in positions, reverse mode in
   parameters). Single-threaded (callers parallelise over configurations);
   deterministic. ws grows as needed. */

SP_API sp_result_t sp_snnp_filters(const sp_pot_t *pot, const sp_nlist_t *nl, const int *type, sp_work_t *ws,
                                   double *out_g, double *out_dedg, double *out_energy);
/* What an s-NNP sees and weighs at each local atom i (Vita & Trinkle 2023,
   Sec. 3.3 and Eq. 11): its filters G_i = (G3_1..G3_n3, G2_1..G2_n2), the
   network's inputs, in out_g[nin*i .. nin*i + nin) (nin = pot->snnp.nin),
   and dE/dG_i, how the energy moves with each of them (through the network
   and the skip connection), in out_dedg likewise; out_energy[i] is the
   atom's energy E_i. Each may be NULL. The paper's sensitivity of filter a
   over a data set is the sum of |dE/dG_i,a| / |E_ref| over its atoms.
   Single-threaded; deterministic. ws grows as needed.
   Errors: SP_ERR_BAD_ARG (not an s-NNP, NULL list, workspace or types),
   SP_ERR_RANGE (list cutoff below the model's), SP_ERR_UNKNOWN_ELEMENT,
   SP_ERR_NO_MEMORY. */

SP_API sp_result_t sp_snnp_drop_filter(sp_pot_t *pot, int element, int filter);
/* Takes filter (0-based, in the order of sp_snnp_filters) out of the
   energies of the atoms of type element by zeroing its column of that
   element's first network layer, as the paper fine-tunes its multi-element
   model (Sec. 3.3); other elements keep it. Needs a network and no skip
   connection (the skip sum has no per-element weight): SP_ERR_UNSUPPORTED
   otherwise; SP_ERR_BAD_ARG for an index out of range. */


/* ==================================================================
 * >>props    RELAXATION, ELASTIC CONSTANTS, EQUATION OF STATE, PHONONS
 * ==================================================================
 * What a potential predicts for a crystal, from the potential alone (the
 * checks the s-MEAM, UF3 and s-NNP papers make of a fit): atoms relaxed at
 * fixed cell, the 6x6 elastic tensor by central finite strains, a
 * Birch-Murnaghan equation of state, phonon frequencies at any wave
 * vector, stacking-fault energy curves, and for the cubic lattices the
 * zero-pressure lattice constant, C11, C12, C44, B and the vacancy
 * formation energy in one call (sp_cubic_props; hcp: sp_hcp_props).
 *
 *     sp_cubic_props_t pr;
 *     sp_cubic_props(&pot, type_of_Si, SP_LATTICE_DIAMOND, NULL, &pr, &diag);
 *     printf("a0 %.5f A  C44 %.1f GPa  Evf %.3f eV\n", pr.a0, pr.c44, pr.evf);
 *
 * Voigt order xx yy zz yz xz xy, engineering shear strains; stresses in the
 * ASE sign (tensile positive), so C_ij = d sigma_i / d epsilon_j. */

#define SP_EV_A3_TO_GPA 160.21766208 /* 1 eV/A^3 in GPa */
#define SP_EV_A2_TO_JM2 16.021766208 /* 1 eV/A^2 in J/m^2 */

typedef struct sp_relax_opts_t {
    double fmax;      /* converged when every atom's |F| <= fmax (eV/A); 0: 1e-8 */
    int max_steps;    /* force evaluations at most; 0: 20000 */
    double skin;      /* neighbour-list skin (A); 0: 1.0 */
    double max_move;  /* largest step of the whole configuration (A); 0: 0.1 */
    int only_axis;    /* 1, 2, 3: the atoms move along x, y or z only (the other force components
                         are left alone); 0: freely */
} sp_relax_opts_t;

SP_API sp_result_t sp_relax(const sp_pot_t *pot, int natoms, double *pos, const int *type, const sp_cell_t *cell,
                            const sp_relax_opts_t *opts, double *out_energy, double *out_virial, int *out_steps,
                            sp_diag_t *diag);
/* Moves the atoms to a local energy minimum at fixed cell by FIRE (Bitzek
   et al. 2006, with the parameters of ASE's FIRE: dt 0.1, dt_max 1.0,
   N_min 5, f_inc 1.1, f_dec 0.5, alpha 0.1, f_alpha 0.99). opts may be NULL.
   On return pos holds the relaxed positions (unwrapped), *out_energy and
   out_virial (9) those of the final positions, *out_steps the force
   evaluations (each optional). Serial arithmetic in fixed order: the same
   bits for any thread count. Errors: SP_ERR_NO_CONVERGENCE (max_steps
   reached; pos holds the last positions), those of sp_nlist_build and
   sp_pot_compute. */

SP_API sp_result_t sp_elastic(const sp_pot_t *pot, int natoms, const double *pos, const int *type,
                              const sp_cell_t *cell, double strain, const sp_relax_opts_t *relax, double *out_c,
                              sp_diag_t *diag);
/* The 6x6 stress-strain coefficients C_ij = d sigma_i / d epsilon_j (eV/A^3,
   row-major in out_c[36]) of a cell periodic in all three directions, by
   central differences at strains +-strain (e.g. 1e-5) of the symmetric
   deformation I + epsilon. relax NULL: clamped ions (atoms move with the
   cell); otherwise the atoms are relaxed (sp_relax) at every strain. At a
   stress-free reference these are the elastic constants; under stress they
   differ from them by terms of the order of the stress. Errors:
   SP_ERR_BAD_ARG (strain not in (0, 0.1)), SP_ERR_BAD_CELL (a direction not
   periodic), those of sp_relax. */

SP_API sp_result_t sp_eos_fit(int n, const double *volume, const double *energy, double *out);
/* Third-order Birch-Murnaghan equation of state, which is a cubic in
   V^(-2/3), fitted to n >= 4 points by least squares: out[0] V0, out[1] E0,
   out[2] B0 (energy/volume units, eV/A^3 for eV and A^3), out[3] B0',
   out[4] the root-mean-square residual of the energies (a large one says
   the curve is not of this form over the range).
   Errors: SP_ERR_BAD_ARG (n < 4, a volume <= 0, fewer than 4 distinct
   volumes), SP_ERR_NOT_FINITE, SP_ERR_SINGULAR (the fitted curve has no
   minimum within the data's range of V^(-2/3) on either side of it). */

typedef struct sp_neb_opts_t {
    double fmax;      /* converged when every atom's NEB force is <= fmax (eV/A); 0: 1e-3 */
    int max_steps;    /* FIRE steps at most; 0: 5000 */
    double spring;    /* spring constant between images (eV/A^2); 0: 1.0 */
    int no_climb;     /* nonzero: plain NEB (no climbing image) */
    double max_move;  /* largest step of one image (A); 0: 0.1 */
} sp_neb_opts_t;

SP_API sp_result_t sp_neb(const sp_pot_t *pot, int natoms, const int *type, const sp_cell_t *cell, int nimages,
                          double *path, const sp_neb_opts_t *opts, double *out_energies, int *out_steps,
                          sp_diag_t *diag);
/* Minimum-energy path by the climbing-image nudged elastic band (Henkelman,
   Uberuaga & Jonsson 2000; tangents of Henkelman & Jonsson 2000), the
   images moved together by FIRE (an uphill step half taken back, as in
   FIRE 2.0). path holds nimages + 2 configurations of
   3*natoms positions (unwrapped: image k + 1 close to image k), the first
   and the last fixed (relaxed end points), the nimages >= 1 between them
   moved; out_energies (nimages + 2, optional) their energies. Once the
   band's largest force is below 0.1 eV/A, the highest intermediate image,
   when it is above both ends and not next to one, climbs to the saddle
   point: the barrier is its energy less the first's. Errors: SP_ERR_BAD_ARG, SP_ERR_NO_CONVERGENCE, those
   of sp_pot_compute. */

typedef enum sp_lattice_t {
    SP_LATTICE_SC = 1,
    SP_LATTICE_BCC = 2,
    SP_LATTICE_FCC = 3,
    SP_LATTICE_DIAMOND = 4,
    SP_LATTICE_HCP = 5 /* (sp_lattice_primitive only; else sp_hcp_cell, sp_hcp_props) */
} sp_lattice_t;

SP_API int sp_lattice_cell(sp_lattice_t lattice, double a, int n, double *pos, sp_cell_t *cell);
/* n x n x n conventional cubic cells of lattice constant a: returns the
   number of atoms (1, 2, 4 or 8 per cell, times n^3; 0 for a bad lattice or
   n < 1) and, when pos and cell are not NULL, fills them (periodic cell). */

SP_API int sp_hcp_cell(double a, double c, const int *n, double *pos, sp_cell_t *cell);
/* n[0] x n[1] x n[2] orthorhombic cells of hcp (sides a, a sqrt 3, c along
   x, y, z; 4 atoms each: the A plane at z = 0, the B plane at c/2, an atom
   at the origin): returns the number of atoms (0 for a bad size) and, when
   pos and cell are not NULL, fills them (periodic cell). */

SP_API int sp_lattice_cells(sp_lattice_t lattice, double a, double c, const int *n, double *pos, sp_cell_t *cell);
/* n[0] x n[1] x n[2] conventional cells of any lattice: the cubic cell of
   side a (c unused), or hcp's orthorhombic cell of sp_hcp_cell (c its
   height); the count and fill of sp_lattice_cell. */

typedef struct sp_props_opts_t {
    double a_guess;   /* start of the lattice-constant search (A); 0: scan the energy per atom */
    double c_a_guess; /* hcp: start of the c/a search (1 .. 2.5); 0: the ideal sqrt(8/3) */
    double strain;    /* finite strain of the elastic constants; 0: 1e-5 */
    double eos_range; /* EOS points at volumes V0 (1 + k eos_range / 5), k = -5..5; 0: 0.05 */
    int vacancy_size; /* supercell of the vacancy: n x n x n cells (hcp: orthorhombic cells); 0: the
                         smallest cell with at least 100 atoms and every width at least twice the
                         cutoff; < 0: no vacancy */
    double jitter;    /* the vacancy cell's atoms start displaced by up to this (A; a fixed pattern),
                         so that relaxations can break its symmetry; 0: 0.02; < 0: from the sites */
    int migration;    /* < 0: no vacancy migration energy */
    int slab_periods; /* slabs of the surfaces: periods of the lattice along the normal; 0: at least
                         3 cutoffs thick; < 0: no surfaces */
    sp_relax_opts_t relax;
    sp_neb_opts_t neb;
} sp_props_opts_t;

typedef struct sp_cubic_props_t {
    double a0;        /* zero-pressure lattice constant (A), root of the pressure */
    double e0;        /* energy per atom there (eV) */
    double v0;        /* volume per atom there (A^3) */
    double eos_v0, eos_e0, eos_b, eos_bp; /* Birch-Murnaghan fit: V0 per atom, E0 per atom, B0 (GPa), B0' */
    double eos_rms;                       /* its rms energy residual (eV/atom) */
    double c11, c12, c44, b;              /* relaxed ions, GPa; b = (c11 + 2 c12) / 3 */
    double c11_clamped, c12_clamped, c44_clamped;
    double c[36];     /* relaxed-ion 6x6 tensor, GPa */
    double cubic_dev; /* largest departure of c from cubic symmetry, GPa */
    double evf;       /* vacancy formation energy at constant volume (eV), of the lowest relaxed vacancy
                         found (see sp_cubic_props); 0 when not computed */
    int vac_atoms;    /* atoms of the perfect supercell (0: no vacancy computed) */
    double em;        /* vacancy migration energy to a nearest-neighbour site (eV; CI-NEB, 5 images):
                         the highest image less the relaxed vacancy */
    double em_low;    /* the lowest image less the relaxed vacancy: < 0 when the hop passes a lower
                         state (em is then no barrier between equivalent minima) */
    int em_converged; /* 1: the band converged; 2: it did not, and its highest image was refined to
                         the saddle by the dimer method (the saddle relaxes to the vacancy on either
                         site): em is that saddle; 0: neither (em, em_low from the last band) */
    double esurf[3];  /* (100), (110), (111) surface energies, 1x1 cells, atoms relaxed (J/m^2; 0: none) */
    double esurf_unrelaxed[3];
    int slab_atoms[3];
    int relax_steps;  /* force evaluations of all relaxations */
} sp_cubic_props_t;

SP_API sp_result_t sp_cubic_props(const sp_pot_t *pot, int type, sp_lattice_t lattice, const sp_props_opts_t *opts,
                                  sp_cubic_props_t *out, sp_diag_t *diag);
/* Properties of a one-element cubic crystal of element type: a0 by a root
   search on the pressure (bracketed from a_guess, or from the lowest energy
   per atom on a scan of nearest-neighbour distances 1.5 A .. 0.95 cutoff),
   the EOS fit around it, relaxed- and clamped-ion elastic constants of one
   conventional cell at a0 (cubic averages of the 6x6), the vacancy
   formation energy E(N-1) - (N-1)/N E(N), atoms relaxed at fixed cell, its
   migration energy to a nearest-neighbour site (sp_neb, 5 images, from the
   relaxed vacancy to its image under the symmetry of the crystal that takes
   one site to the other, a translation or an inversion; when the band
   passes a lower state with the vacancy on a site, the relaxed vacancy
   from displaced sites was a shallow minimum: that state, relaxed, is taken
   for the vacancy and the hops are done again; a band that does not
   converge has its highest image taken to the saddle by the dimer method,
   kept when the saddle joins the two sites), and
   the surface energies (E_slab - N E0) / 2A of (100), (110) and (111) slabs
   (open along the normal, one surface cell in the plane, so unreconstructed;
   of the cuts between atomic planes the one of lowest unrelaxed energy).
   opts may be NULL. Errors: SP_ERR_BAD_ARG, SP_ERR_UNKNOWN_ELEMENT,
   SP_ERR_NO_CONVERGENCE (no pressure root or energy minimum found; diag
   says which), those of sp_relax. */

typedef struct sp_hcp_props_t {
    double a0, c0, c_a; /* zero-stress lattice constants (A) and c/a */
    double e0;          /* energy per atom there (eV) */
    double v0;          /* volume per atom there (A^3) */
    double eos_v0, eos_e0, eos_b, eos_bp, eos_rms; /* Birch-Murnaghan fit at fixed c/a, as sp_cubic_props_t */
    double c11, c12, c13, c33, c44, c66;           /* relaxed ions, GPa (c66 measured, ideally (c11 - c12) / 2) */
    double c11_clamped, c12_clamped, c13_clamped, c33_clamped, c44_clamped, c66_clamped;
    double b;           /* bulk modulus under hydrostatic pressure (c/a free), GPa:
                           (c33 (c11 + c12) - 2 c13^2) / (c11 + c12 + 2 c33 - 4 c13) */
    double c[36];       /* relaxed-ion 6x6 tensor, GPa (x along a, z along c) */
    double hex_dev;     /* largest departure of c from hexagonal symmetry, GPa */
    double evf;         /* vacancy formation energy at constant volume (eV), as sp_cubic_props_t */
    int vac_atoms;
    double em[2], em_low[2]; /* migration to a nearest neighbour within the basal plane [0] and in
                                the next plane [1], as em and em_low of sp_cubic_props_t */
    int em_converged[2];
    double esurf[2];    /* basal (0001) and prism (10-10) surface energies, relaxed (J/m^2; 0: none) */
    double esurf_unrelaxed[2];
    int slab_atoms[2];
    int relax_steps;
} sp_hcp_props_t;

SP_API sp_result_t sp_hcp_props(const sp_pot_t *pot, int type, const sp_props_opts_t *opts, sp_hcp_props_t *out,
                                sp_diag_t *diag);
/* The same for a one-element hcp crystal with its atoms on the ideal sites
   (zero forces by symmetry): a0 at the zero of the pressure for each c/a
   and c/a where the axial stresses are equal (nested bisections; started
   from a scan of the energy at opts->c_a_guess, or at a_guess), the EOS at
   fixed c/a, relaxed- and clamped-ion C11, C12, C13, C33, C44, C66 of the
   4-atom orthorhombic cell (hexagonal averages of the 6x6; relaxed and
   clamped differ, hcp not being a Bravais lattice), the vacancy formation
   energy, the migration energies of the two nearest-neighbour hops, and
   the basal and prism surface energies (1x1 slabs, of the two prism cuts
   the one of lower energy). Errors as sp_cubic_props, and
   SP_ERR_NO_CONVERGENCE when no c/a in 1 .. 2.5 balances the stresses. */

SP_API sp_result_t sp_gsfe(const sp_pot_t *pot, int type, sp_lattice_t lattice, double a, double c, int plane,
                           const double *slip, int npts, const sp_props_opts_t *opts, double *out_u,
                           double *out_gamma, double *out_gamma_unrelaxed, sp_diag_t *diag);
/* Generalized stacking-fault energy of a crystal of element type: cubic
   (lattice constant a; c unused) on the (100), (110) or (111) plane (plane
   0, 1, 2), or hcp (a, c, in the frame of sp_hcp_cell) on the basal (0001)
   or the prism (10-10) plane (plane 0, 1): a slab of the plane (1x1 in
   the plane, opts->slab_periods periods thick;
   0: at least 4 cutoffs, made even), open along the normal and cut where
   its energy is lowest, whose upper half is shifted by t slip (slip in
   units of a, Cartesian, in the plane; t = k / (npts - 1), k = 0..npts-1;
   a lattice vector of the plane gives the full period). Across that
   middle plane the cut is of the same kind as the slab's surfaces (in
   diamond the shuffle set, in the hcp prism plane the wide gap between
   planes when it has the lower energy). out_u (Angstrom), out_gamma_unrelaxed and
   out_gamma (J/m^2, the energy over the area less that at t = 0; atoms
   relaxed along the normal only, as in the usual GSFE curves) hold npts
   values each (any may be NULL). Errors: SP_ERR_BAD_ARG (plane, npts < 2,
   slip not in the plane, a, c), SP_ERR_UNKNOWN_ELEMENT, those of sp_relax. */

SP_API int sp_lattice_primitive(sp_lattice_t lattice, double a, double c, double *pos, sp_cell_t *cell);
/* The primitive cell: sc a; fcc (a/2)(0 1 1), (1 0 1), (1 1 0); bcc
   (a/2)(-1 1 1), (1 -1 1), (1 1 -1); diamond the fcc cell with atoms at 0
   and (a/4)(1 1 1); hcp (a, 0, 0), (-a/2, a sqrt 3 / 2, 0), (0, 0, c)
   with atoms at 0 and (a/2, a / (2 sqrt 3), c/2). Returns its atoms (1 or
   2; 0 for a bad lattice or a <= 0) and fills pos and cell (periodic). */

#define SP_PHONON_THZ 15.633304239856194 /* sqrt(eV / (A^2 amu)) / 2 pi in THz */

typedef struct sp_phonon_opts_t {
    double displacement; /* finite displacement (A); 0: 0.001 (small: in Lenosky Si_1 the third
                            neighbours sit 0.003 A outside phi's cutoff) */
    double range;        /* reach of the force constants (A); 0: twice the potential's cutoff, the
                            reach of any many-body term (a pair potential needs only the cutoff) */
} sp_phonon_opts_t;

SP_API sp_result_t sp_phonons(const sp_pot_t *pot, int natoms, const double *pos, const int *type,
                              const sp_cell_t *cell, const double *mass, int nq, const double *q,
                              const sp_phonon_opts_t *opts, double *freq, sp_diag_t *diag);
/* Harmonic phonon frequencies of the crystal with natoms atoms pos
   (types type, masses mass in amu) in the periodic cell, at the nq wave
   vectors q (3 nq, Cartesian, 1/A, so that the phase is exp(i q.r)):
   freq (3 natoms per q, ascending, THz; an imaginary frequency, an
   unstable mode, as minus its modulus). The force constants come from
   central differences of the forces, every atom of the cell moved by
   +-displacement along x, y and z, in a supercell of the cell at least
   twice the range wide in every direction (so each pair within the range
   is seen through one image only: exact at every q, not only those of the
   supercell); the dynamical matrix is made Hermitian and diagonalised in
   its real form. The atoms should be at an energy minimum (relaxed), or
   the frequencies are those of a strained state. Serial arithmetic: the
   same bits for any thread count. Errors: SP_ERR_BAD_ARG (bad sizes,
   options, mass <= 0), SP_ERR_BAD_CELL (a direction not periodic),
   SP_ERR_RANGE (the supercell would pass 10^6 atoms), SP_ERR_NO_MEMORY,
   those of sp_pot_compute and sp_linalg_eigsym. */

/* ==================================================================
 * >>linalg   DENSE SYMMETRIC EIGENSOLVER
 * ==================================================================
 * Eigenvalues and eigenvectors of a real symmetric n x n matrix, with no
 * LAPACK: Householder reduction to tridiagonal form, then the implicit QL
 * algorithm with Wilkinson shifts (Wilkinson & Reinsch, "Handbook for
 * Automatic Computation II", 1971, procedures tred2 and tql2; Golub & Van
 * Loan, "Matrix Computations", sec. 8.3). O(n^3), no allocation, no
 * recursion, deterministic (same input, same build -> same bits).
 *
 *     double a[3*3] = {2, 1, 0,  1, 2, 0,  0, 0, 5}, w[3], work[2*3];
 *     sp_linalg_eigsym(3, a, 3, w, work);   // w = {1, 3, 5}
 *     // eigenvector k is column k: a[0*3+k], a[1*3+k], a[2*3+k]
 */

SP_API sp_result_t sp_linalg_eigsym(int n, double *a, int lda, double *out_w, double *work);
/* Symmetric eigen-decomposition A = V diag(w) V^T, in place.
   a:     row-major, element (i,j) at a[i*lda + j], lda >= n. Only the lower
          triangle (j <= i) is read; the upper triangle may hold anything.
          On SP_OK, a holds V: column k (a[i*lda + k], i = 0..n-1) is the
          unit eigenvector of out_w[k]; the columns are orthonormal to
          about n * 1e-16.
   out_w: n eigenvalues, ascending.
   work:  scratch of at least 2*n doubles (contents on return unspecified).
   n == 0 is a no-op returning SP_OK.
   Errors (a and out_w are unchanged on the first two, unspecified on the
   third): SP_ERR_BAD_ARG (n < 0, lda < max(n,1), NULL pointer with n > 0),
   SP_ERR_NOT_FINITE (NaN or Inf in the lower triangle),
   SP_ERR_NO_CONVERGENCE (QL needed more than 60 sweeps for one eigenvalue;
   not observed for finite input). */

/* ==================================================================
 * >>cmaes   CMA-ES: COVARIANCE MATRIX ADAPTATION EVOLUTION STRATEGY
 * ==================================================================
 * Derivative-free minimisation of f: R^n -> R (Hansen, "The CMA Evolution
 * Strategy: A Tutorial", arXiv:1604.00772, whose default parameters are used
 * throughout), with
 *   - full covariance matrix C = B D^2 B^T, eigen-decomposed with
 *     sp_linalg_eigsym lazily, once lambda / (10 n (c1 + cmu)) evaluations
 *     have passed since the last decomposition (Hansen's reference codes;
 *     every generation for the default population unless n is large);
 *   - weighted recombination, cumulative step-size adaptation (CSA),
 *     rank-one and rank-mu covariance updates, with active CMA on by
 *     default (negative weights, tutorial sec. 3.4-3.6 and Jastrebski &
 *     Arnold 2006; SP_CMAES_ACTIVE_OFF gives the classic update);
 *   - IPOP restarts (Auger & Hansen, CEC 2005): when a run stops on a local
 *     criterion, a new run starts from x0 and sigma0 with the population
 *     multiplied by incpopsize (default 2), up to `restarts` times;
 *   - box bounds through the boundary transformation of Hansen's codes
 *     (pycma BoundTransform, c-cmaes boundary_transformation.c): the search
 *     distribution lives in an unbounded space y; each coordinate is mapped
 *     to [lower, upper] by a periodic reflection followed by a map that is
 *     the identity in the interior and quadratic in a margin
 *     a = min((u-l)/2, (1+|bound|)/20) next to each bound. The caller only
 *     ever sees (and evaluates) feasible points. One-sided bounds
 *     (the other side +-HUGE_VAL) are allowed;
 *   - its own PRNG (xoshiro256** seeded by splitmix64 from desc.seed,
 *     Marsaglia's polar method for normals): a given seed and build give the
 *     same trajectory bit for bit;
 *   - stopping rules of the tutorial (appendix B.3): ftarget, max_evals,
 *     TolFun (range of the last 10 + ceil(30n/lambda) best values and of the
 *     current generation < tolfun), TolX, NoEffectAxis, NoEffectCoord,
 *     ConditionCov (cond(C) > maxcond), Stagnation, TolUpSigma.
 *     ftarget and max_evals end the optimisation; the others end the current
 *     run and trigger the next IPOP restart while restarts remain.
 *
 * Ask/tell: ask() hands out the whole population (lambda x n, row-major)
 * so the caller may evaluate it in parallel; tell() takes the lambda
 * function values in the same order. NaN values rank as +Inf (worst).
 *
 *     sp_cmaes_desc_t d = {0};
 *     d.dim = n; d.x0 = x0; d.sigma0 = 0.5; d.seed = 7;
 *     sp_cmaes_t es;
 *     sp_cmaes_create(&es, &d);
 *     while (!sp_cmaes_stop(&es)) {
 *         const double *pop; int lambda, k;
 *         sp_cmaes_ask(&es, &pop, &lambda);
 *         for (k = 0; k < lambda; ++k) f[k] = my_f(pop + (size_t)k * n);
 *         sp_cmaes_tell(&es, f);     // f must hold lambda_max values
 *     }
 *     printf("%g\n", sp_cmaes_best_f(&es));
 *     sp_cmaes_destroy(&es);
 *
 * Memory: sp_cmaes_workspace_size() covers the largest population the desc
 * allows, lambda_max = popsize * incpopsize^restarts (each step rounded
 * down), so restarts never allocate. Exactly
 *   64 + 8 (lambda_max (n (1 + b) + 3) + 2 n^2 + 14 n + 46002) + 8 lambda_max
 * bytes (with 4-byte int), b = 1 if bounds are given, else 0; the 46002
 * doubles are the TolFun/Stagnation histories (20000 generations each).
 * Keep `restarts` modest for large n (9 restarts multiply lambda by 512).
 * A sp_cmaes_t belongs to one thread; distinct states are independent. */

typedef enum sp_cmaes_stop_t {
    SP_CMAES_RUNNING = 0,        /* not stopped */
    SP_CMAES_STOP_FTARGET,       /* best f <= ftarget (final) */
    SP_CMAES_STOP_MAXEVALS,      /* evaluations >= max_evals (final) */
    SP_CMAES_STOP_USER,          /* objective callback asked to stop (minimize only) */
    SP_CMAES_STOP_TOLFUN,        /* f range of recent best values and current population < tolfun */
    SP_CMAES_STOP_TOLX,          /* sigma * max(|pc_i|, sqrt(C_ii)) < tolx for all i */
    SP_CMAES_STOP_NOEFFECT_AXIS, /* 0.1 sigma along a principal axis leaves the mean unchanged */
    SP_CMAES_STOP_NOEFFECT_COORD,/* 0.2 sigma sqrt(C_ii) leaves some mean coordinate unchanged */
    SP_CMAES_STOP_CONDITION,     /* condition number of C > maxcond (or C not positive definite) */
    SP_CMAES_STOP_STAGNATION,    /* medians of best and median f stopped improving */
    SP_CMAES_STOP_TOLUPSIGMA,    /* sigma / sigma0 > tolupsigma * sqrt(max eigenvalue of C) */
    SP_CMAES_STOP_NUMERIC,       /* the eigensolver failed (internal) */
    SP_CMAES_STOP_COUNT
} sp_cmaes_stop_t;

typedef enum sp_cmaes_active_t {
    SP_CMAES_ACTIVE_DEFAULT = 0, /* = SP_CMAES_ACTIVE_ON */
    SP_CMAES_ACTIVE_ON = 1,      /* negative weights for the worst lambda - mu steps */
    SP_CMAES_ACTIVE_OFF = 2      /* classic rank-mu update with the mu best only */
} sp_cmaes_active_t;

typedef struct sp_cmaes_desc_t {
    int dim;               /* number of parameters n, required, >= 1 */
    const double *x0;      /* initial mean, dim values (copied); NULL -> midpoint of the
                              bounds where both are finite, else 0 */
    double sigma0;         /* initial step size, same unit as x; default 0.3 */
    int popsize;           /* lambda of the first run; default 4 + floor(3 ln n) */
    int mu;                /* parents of the first run (1..popsize); default popsize/2;
                              on restarts mu grows in proportion to lambda */
    uint64_t seed;         /* PRNG seed; 0 -> 1 */
    int64_t max_evals;     /* function evaluations over all runs; 0 -> no limit */
    int has_ftarget;       /* nonzero: stop as soon as some f <= ftarget */
    double ftarget;        /* target value, used only if has_ftarget */
    double tolfun;         /* TolFun, unit of f; default 1e-12 */
    double tolx;           /* TolX, unit of x; default 1e-12 * sigma0 */
    double maxcond;        /* ConditionCov limit on cond(C); default 1e14 */
    double tolupsigma;     /* TolUpSigma; default 1e20 */
    int restarts;          /* IPOP restarts after the first run; default 0 (9 is IPOP's) */
    double incpopsize;     /* population factor per restart, >= 1; default 2 */
    const double *lower;   /* lower bounds, dim values (copied) or NULL for none;
                              -HUGE_VAL: unbounded coordinate */
    const double *upper;   /* upper bounds likewise (+HUGE_VAL); lower < upper */
    sp_cmaes_active_t active; /* active CMA (negative weights): default ON */
    double damps_factor;   /* multiplies the CSA damping d_sigma (pycma CSA_dampfac);
                              default 1 */
    sp_allocator_t allocator; /* used by sp_cmaes_create and sp_cmaes_minimize */
} sp_cmaes_desc_t;

typedef struct sp_cmaes_t {
    /* settings, defaults applied (read-only for the caller) */
    int n, lambda0, mu0, lambda_max, restarts, has_ftarget, active, bounded;
    int64_t max_evals;
    double sigma0, ftarget, tolfun, tolx, maxcond, tolupsigma, incpopsize, damps_factor;
    /* current run */
    int run;               /* 0 for the first run, then 1, 2, ... after each restart */
    int lambda, mu;        /* population and parents of this run */
    int gen;               /* generations of this run */
    int eigen_gen;         /* generation of the last eigen-decomposition */
    int eigen_gap;         /* lazy update interval in generations */
    double mueff, cc, cs, c1, cmu, damps, chi_n, sum_w;
    double sigma;
    int asked;             /* population handed out and not yet told */
    int stop;              /* sp_cmaes_stop_t: final state, SP_CMAES_RUNNING while running */
    int run_stop;          /* why the last finished run ended (SP_CMAES_RUNNING if none) */
    int64_t evals, gen_total;
    double fbest;          /* best value seen in all runs (+HUGE_VAL before any) */
    double fbest_gen;      /* best value of the last told generation */
    int64_t evals_best;    /* evaluation count when fbest was found */
    /* histories for TolFun and Stagnation (ring buffers) */
    int hist_cap, hist_count, hist_pos;
    /* PRNG */
    uint64_t rng[4];
    double gauss_spare;
    int has_spare;
    /* arrays inside the workspace */
    double *x0, *lower, *upper, *xmean, *xold, *pc, *ps, *C, *B, *D, *tmp, *eigwork, *weights;
    double *arx, *pheno, *znorm2, *fvals, *xbest, *hist_best, *hist_median, *scratch;
    int *idx, *idx_tmp;
    /* sp_cmaes_create only */
    void *owned;
    sp_allocator_t allocator;
} sp_cmaes_t;

typedef struct sp_cmaes_result_t {
    double fbest;          /* best f found */
    int64_t evals;         /* evaluations used in total */
    int64_t evals_best;    /* evaluations when fbest was found */
    int64_t generations;   /* generations over all runs */
    int runs;              /* 1 + restarts performed */
    int lambda;            /* population of the last run */
    sp_cmaes_stop_t stop;  /* why the optimisation ended */
    sp_cmaes_stop_t run_stop; /* why the last run ended (== stop unless restarts ran out) */
} sp_cmaes_result_t;

typedef int (*sp_cmaes_batch_fn)(const double *pop, int lambda, int dim, double *out_f,
                                 void *user);
/* Objective for sp_cmaes_minimize: evaluate the lambda points pop[k*dim ..]
   into out_f[k]. Return 0 to continue, nonzero to stop (SP_CMAES_STOP_USER).
   May evaluate in parallel; out_f values in pop order. */

SP_API sp_cmaes_desc_t sp_cmaes_desc_defaults(const sp_cmaes_desc_t *desc);
/* Copy of *desc with every zero field replaced by its default (sigma0,
   popsize, mu, seed, tolfun, tolx, maxcond, tolupsigma, incpopsize,
   damps_factor, active). Does not validate; dim <= 0 leaves popsize and mu at 0. */

SP_API const char *sp_cmaes_stop_str(sp_cmaes_stop_t reason);
/* Static short name ("tolfun", "ftarget", ...); never NULL. */

SP_API size_t sp_cmaes_workspace_size(const sp_cmaes_desc_t *desc);
/* Bytes that sp_cmaes_init needs for this desc (see "Memory" above);
   0 if desc is NULL or invalid or the size overflows size_t. Pure. */

SP_API sp_result_t sp_cmaes_init(sp_cmaes_t *es, const sp_cmaes_desc_t *desc, void *mem,
                                 size_t bytes);
/* Initialises es in the caller's memory (any alignment; nothing is
   allocated). The desc and its arrays are copied and may be reused.
   Errors (es left unusable): SP_ERR_BAD_ARG (NULL es/desc/mem, dim <= 0,
   sigma0 < 0, popsize < 0 or 1, mu > popsize, incpopsize < 1, lower >= upper,
   negative tolerances, restarts < 0 or > 1000, max_evals < 0, active not a
   sp_cmaes_active_t, lambda_max beyond INT_MAX/8), SP_ERR_NOT_FINITE (NaN/Inf
   in x0, sigma0 or a tolerance, NaN bound or ftarget),
   SP_ERR_WORKSPACE_TOO_SMALL. */

SP_API sp_result_t sp_cmaes_create(sp_cmaes_t *es, const sp_cmaes_desc_t *desc);
/* sp_cmaes_init with memory from desc->allocator; SP_ERR_NO_MEMORY. */
SP_API void sp_cmaes_destroy(sp_cmaes_t *es);
/* Frees what sp_cmaes_create allocated; a no-op after sp_cmaes_init. */

SP_API sp_result_t sp_cmaes_ask(sp_cmaes_t *es, const double **out_pop, int *out_lambda);
/* Samples the next population: *out_pop points to lambda x dim doubles
   (row k = candidate k), inside bounds, valid until the next ask/tell.
   Asking again before tell returns the same population. lambda changes
   only at restarts (always <= es->lambda_max). SP_ERR_RANGE once stopped. */

SP_API sp_result_t sp_cmaes_tell(sp_cmaes_t *es, const double *fvals);
/* Passes f of the population from the last ask (lambda values), updates
   the distribution, checks the stopping rules and, when a run ends and
   restarts remain (and max_evals is not reached), starts the next run.
   SP_ERR_BAD_ARG without a preceding ask or with NULL fvals; SP_ERR_RANGE
   once stopped. */

SP_API sp_cmaes_stop_t sp_cmaes_stop(const sp_cmaes_t *es);
/* SP_CMAES_RUNNING while the optimisation goes on, else the final reason. */

SP_API const double *sp_cmaes_best_x(const sp_cmaes_t *es);
/* Best point seen so far (dim values, inside bounds), or x0 mapped into the
   bounds before the first tell. Owned by es. */
SP_API double sp_cmaes_best_f(const sp_cmaes_t *es);
/* Best f seen so far, +HUGE_VAL before the first tell. */

SP_API void sp_cmaes_mean(const sp_cmaes_t *es, double *out_x);
/* Current distribution mean mapped into the bounds (dim values). */

SP_API int sp_cmaes_format_progress(const sp_cmaes_t *es, char *buf, size_t size);
/* One progress line, no newline, e.g.
   "run 0 gen 5 evals 40 lambda 8 sigma 7.320e-01 axis 1.46e+00 fgen 1.5189881658e+00
    fbest 9.7213181918e-01" (one line; " stop tolfun" etc. appended once stopped)
   snprintf semantics: returns the length it needs, writes at most size bytes. */

SP_API sp_result_t sp_cmaes_minimize(const sp_cmaes_desc_t *desc, sp_cmaes_batch_fn fn,
                                     void *user, double *out_xbest,
                                     sp_cmaes_result_t *out_result);
/* Runs ask/evaluate/tell to the end (IPOP restarts as desc->restarts says),
   with the workspace taken from desc->allocator and freed before return.
   out_xbest (dim values) and out_result may be NULL. Returns SP_OK also when
   ftarget was not reached (see out_result->stop); errors as sp_cmaes_init,
   plus SP_ERR_NO_MEMORY and SP_ERR_BAD_ARG for a NULL fn. */
/* ==================================================================
 * >>ridge   LINEAR LEAST SQUARES WITH RIDGE AND CURVATURE PENALTIES
 * ==================================================================
 * Fits c (p unknowns) minimising
 *
 *     sum_rows w_r (x_r . c - y_r)^2  +  c^T P c,       P = R^T R,
 *
 * the regularised weighted least-squares problem of the UF3 fit (Xie, Rupp
 * & Hennig 2023, Eqs. 12-14; uf3's regression module, FORMATS.md sec. 2.4).
 *
 * 1. Streaming assembly. An accumulator (sp_ridge_t) collects the normal
 *    equations G = X^T W X, b = X^T W y, and y^T W y, sum w, sum w y and the
 *    row count, from rows fed in any number of calls. Memory is G plus one
 *    packed block of rows (p*p + block_rows*p doubles), never the design.
 *    Rows are packed (scaled by sqrt(w)) into column strips of 8 and each
 *    full block updates the upper triangle of G as a rank-k SYRK in
 *    register-blocked plain-C micro-kernels, OpenMP-parallel over tiles of
 *    G. Each tile has one owner per block and sums in fixed row order, and
 *    blocks are cut at fixed row counts whatever the call sizes, so G is
 *    bitwise identical for any thread count and any split of the rows into
 *    calls.
 * 2. Penalties. P is a dense symmetric p x p matrix built with the helpers
 *    below: ridge lambda*I on a column range, curvature lambda*D^T D (D the
 *    second-difference operator of uf3, end diagonal entries -1), or any
 *    list of sparse rows r (P += lambda r^T r; e.g. a 3D Laplacian).
 * 3. Solve. (G + P) c = b over the free columns, frozen columns fixed at
 *    given values (b -= (G+P)_free,frozen c_frozen). The free system is
 *    equilibrated (unit diagonal; columns whose diagonal is exactly 0 get
 *    c = 0), factored by Cholesky, and its 1-norm condition number is
 *    estimated (Hager/Higham). When the factorisation fails or the estimate
 *    exceeds cond_max, the solver falls back to the symmetric
 *    eigen-decomposition (sp_linalg_eigsym) and returns the truncated
 *    pseudo-inverse solution: eigenvalues <= rcond * lambda_max are dropped,
 *    giving the minimum-norm least-squares solution (in the equilibrated
 *    variables) of the numerically rank-deficient system. sp_ridge_info_t
 *    reports the method used, the condition estimate and the rank.
 *
 * Accuracy: once G is formed the data are known only to about
 * eps * ||G||, so coefficients are accurate to about cond(G) * 1e-16 in
 * either path; the eigen path guarantees a bounded, residual-optimal answer
 * (to ~sqrt(eps) relative) instead of an amplified one when cond(G) > 1e10.
 *
 *     sp_ridge_desc_t d = {0};  d.p = 120;
 *     sp_ridge_t acc;  sp_ridge_create(&acc, &d);
 *     sp_ridge_add_rows(&acc, nrows, X, 120, y, NULL);     (any number of calls)
 *     double *P = calloc(120*120, sizeof *P);
 *     sp_ridge_penalty_ridge(P, 120, 0, 120, 1e-8);
 *     sp_ridge_penalty_curvature(P, 120, 3, 30, 1e-6);
 *     sp_ridge_solve_desc_t sd = {0};  sd.P = P;
 *     sp_ridge_info_t info;
 *     sp_ridge_solve(&acc, &sd, c, &info);
 *     sp_ridge_destroy(&acc);
 */

typedef struct sp_ridge_desc_t {
    int p;                    /* unknowns (columns of X), required, >= 1 */
    int block_rows;           /* rows per packed SYRK block, default 256 (8..65536) */
    int num_threads;          /* OpenMP threads for the Gram update, 0 = runtime default */
    sp_allocator_t allocator; /* sp_ridge_create/sp_ridge_solve; zero = SP_MALLOC/SP_FREE */
} sp_ridge_desc_t;

typedef struct sp_ridge_t {
    int p;              /* unknowns */
    int block_rows;     /* rows per block (effective) */
    int num_threads;    /* as in the desc */
    int pending;        /* rows packed but not yet added to G (see sp_ridge_flush) */
    double *G;          /* p*p row-major: sum_r w_r x_r x_r^T. After a flush the upper
                           triangle (j >= i) holds the sum; entries below the
                           diagonal are 0 (sp_ridge_get_gram gives the full matrix) */
    double *b;          /* p: sum_r w_r y_r x_r (complete after a flush) */
    double yty;         /* sum_r w_r y_r^2 */
    double ysum;        /* sum_r w_r y_r */
    double wsum;        /* sum_r w_r */
    int64_t nrows;      /* rows added */
    double *pack;       /* internal: pending rows, sqrt(w)-scaled, strips of 8 columns */
    double *pack_y;     /* internal: sqrt(w) y of the pending rows */
    void *owned;        /* memory from sp_ridge_create, NULL after sp_ridge_init */
    sp_allocator_t allocator;
} sp_ridge_t;

SP_API sp_ridge_desc_t sp_ridge_desc_defaults(const sp_ridge_desc_t *desc);
/* Copy of *desc (NULL: all zero) with defaults filled in. */

SP_API size_t sp_ridge_workspace_size(const sp_ridge_desc_t *desc);
/* Bytes sp_ridge_init needs for this desc (G, b and the packing block,
   64-byte aligned). Returns 0 for an invalid desc or on size overflow. */

SP_API sp_result_t sp_ridge_init(sp_ridge_t *r, const sp_ridge_desc_t *desc, void *mem,
                                 size_t bytes);
/* Sets up an empty accumulator in caller memory (any alignment; it must
   outlive r). Errors: SP_ERR_BAD_ARG (NULL, p < 1, block_rows outside
   8..65536, num_threads < 0), SP_ERR_WORKSPACE_TOO_SMALL. */

SP_API sp_result_t sp_ridge_create(sp_ridge_t *r, const sp_ridge_desc_t *desc);
/* sp_ridge_init with memory from desc->allocator; SP_ERR_NO_MEMORY. */

SP_API void sp_ridge_destroy(sp_ridge_t *r);
/* Frees memory taken by sp_ridge_create (no-op after sp_ridge_init) and
   zeroes r. */

SP_API void sp_ridge_reset(sp_ridge_t *r);
/* Empties the accumulator (G, b, sums, counts, pending rows). */

SP_API sp_result_t sp_ridge_add_rows(sp_ridge_t *r, int nrows, const double *X, int ldx,
                                     const double *y, const double *w);
/* Adds nrows rows: X is nrows x p row-major with row stride ldx >= p,
   y the targets (NULL: zeros), w the row weights >= 0 (NULL: all 1); a row
   contributes w (x.c - y)^2 to the objective (uf3's sample weight s is
   w = s^2). Rows are buffered and added to G a block at a time. All input
   is checked before anything is added: SP_ERR_BAD_ARG (NULL, nrows < 0,
   ldx < p, w < 0), SP_ERR_NOT_FINITE; on error r is unchanged. */

SP_API void sp_ridge_flush(sp_ridge_t *r);
/* Adds the pending (partial) block to G and b. Called by every function
   below that reads G; call it before reading r->G or r->b directly. Does
   not change the result of later additions (blocks stay aligned to the
   row count). */

SP_API sp_result_t sp_ridge_merge(sp_ridge_t *dst, double alpha, sp_ridge_t *src, double beta);
/* dst = alpha*dst + beta*src for G, b, yty, ysum and wsum (both flushed
   first); dst->nrows += src->nrows. For uf3's energy/force weighting:
   accumulate energy and force rows separately, compute the standard
   deviations from ysum, yty and wsum, then merge with kappa w_e^2 and
   (1-kappa) w_f^2. SP_ERR_BAD_ARG (NULL, different p, non-finite scale). */

SP_API sp_result_t sp_ridge_get_gram(sp_ridge_t *r, double *out_G);
/* Full symmetric G (p*p row-major) after a flush. */

SP_API double sp_ridge_sse(sp_ridge_t *r, const double *c);
/* Weighted residual sum of squares of coefficients c from the normal
   equations: y^T W y - 2 c.b + c^T G c (without penalty). Subject to
   cancellation: absolute accuracy ~1e-16 * y^T W y. 0 for NULL input. */

/* --- penalties: P is a dense symmetric p x p row-major matrix; each
   helper adds to it (both triangles) and leaves it symmetric. lambda >= 0
   and finite; the column range [col0, col0 + ncols) must lie in 0..p. --- */

SP_API sp_result_t sp_ridge_penalty_ridge(double *P, int p, int col0, int ncols, double lambda);
/* P_ii += lambda for the columns of the range (Tikhonov ridge). */

SP_API sp_result_t sp_ridge_penalty_curvature(double *P, int p, int col0, int ncols,
                                              double lambda);
/* P += lambda D^T D on the range, D the ncols x ncols tridiagonal
   second-difference matrix of uf3: -2 on the diagonal, +1 off it, the first
   and last diagonal entries -1 (rows sum to zero, constants are free).
   ncols < 2 adds nothing. */

SP_API sp_result_t sp_ridge_penalty_rows(double *P, int p, int nrows, const int *row_start,
                                         const int *cols, const double *vals, double lambda);
/* P += lambda sum_k r_k^T r_k for nrows sparse rows r_k given in compressed
   form: row k has the entries (cols[e], vals[e]) for e = row_start[k] ..
   row_start[k+1]-1 (row_start has nrows+1 non-decreasing entries starting at
   0; repeated columns within a row are summed). Errors: SP_ERR_BAD_ARG (bad
   offsets or column out of 0..p-1, lambda < 0), SP_ERR_NOT_FINITE; P is
   unchanged on error. */

/* --- solve --- */

typedef enum sp_ridge_method_t {
    SP_RIDGE_AUTO = 0,     /* Cholesky; eigen fallback if not PD or cond > cond_max */
    SP_RIDGE_CHOLESKY = 1, /* Cholesky only (SP_ERR_SINGULAR if not positive definite) */
    SP_RIDGE_EIGEN = 2     /* always the truncated eigen-decomposition */
} sp_ridge_method_t;

typedef struct sp_ridge_solve_desc_t {
    const double *P;              /* p*p symmetric penalty (upper triangle read), NULL = none */
    int n_frozen;                 /* number of frozen columns, default 0 */
    const int *frozen;            /* n_frozen distinct column indices in 0..p-1 */
    const double *frozen_values;  /* their values, NULL = all 0 */
    sp_ridge_method_t method;     /* default SP_RIDGE_AUTO */
    double cond_max;              /* AUTO switches to eigen above this 1-norm condition
                                     estimate of the equilibrated system, default 1e10 */
    double rcond;                 /* eigen path drops eigenvalues <= rcond * lambda_max,
                                     default 10 * n_free * 2.2e-16 */
} sp_ridge_solve_desc_t;

typedef struct sp_ridge_info_t {
    sp_ridge_method_t method; /* SP_RIDGE_CHOLESKY or SP_RIDGE_EIGEN (AUTO: nothing to solve) */
    double cond;   /* condition estimate of the equilibrated free system: 1-norm estimate
                      (Cholesky) or lambda_max/lambda_min (eigen; HUGE_VAL if lambda_min <= 0) */
    int rank;      /* effective rank of the free system (columns with zero diagonal excluded) */
    int n_free;    /* p - n_frozen */
    int n_zero;    /* free columns whose diagonal (G+P)_ii is exactly 0; their c is 0 */
} sp_ridge_info_t;

SP_API sp_ridge_solve_desc_t sp_ridge_solve_desc_defaults(const sp_ridge_solve_desc_t *desc);
/* Copy of *desc (NULL: all zero) with defaults for method, cond_max, rcond
   (rcond stays 0 = "10 n_free eps", which depends on the system size). */

SP_API size_t sp_ridge_solve_workspace_size(int p);
/* Bytes of scratch sp_ridge_solve_gram needs: 2 p^2 + 10 p doubles, p ints,
   alignment; 0 for p < 1 or on overflow. */

SP_API sp_result_t sp_ridge_solve_gram(int p, const double *G, int ldg, const double *b,
                                       const sp_ridge_solve_desc_t *desc, double *out_c,
                                       sp_ridge_info_t *out_info, void *work, size_t work_bytes);
/* Solves (G + P) c = b as described above. G: p x p, row stride ldg >= p,
   only the upper triangle (j >= i) is read, as are P's. desc may be NULL
   (no penalty, nothing frozen, AUTO). out_c: p coefficients (frozen ones
   set to their values). out_info may be NULL. Does not allocate.
   Errors (out_c unchanged): SP_ERR_BAD_ARG (NULL, p < 1, ldg < p, frozen
   index out of range or repeated, negative diagonal of G + P, bad method
   or rcond outside [0, 1)), SP_ERR_NOT_FINITE, SP_ERR_WORKSPACE_TOO_SMALL,
   SP_ERR_SINGULAR (every free column has a zero diagonal, or
   SP_RIDGE_CHOLESKY on a matrix that is not positive definite),
   SP_ERR_NO_CONVERGENCE (eigen-solver; not observed). out_info is filled
   on SP_OK and SP_ERR_SINGULAR. */

SP_API sp_result_t sp_ridge_solve(sp_ridge_t *r, const sp_ridge_solve_desc_t *desc,
                                  double *out_c, sp_ridge_info_t *out_info);
/* Flushes r and runs sp_ridge_solve_gram on r->G, r->b with scratch from
   r's allocator (SP_ERR_NO_MEMORY). */

/* ==================================================================
 * >>fit      UF3 FIT BY RIDGE REGRESSION
 * ==================================================================
 * Fits the UF3 coefficients (Xie, Rupp & Hennig 2023, Eqs. 12-14) by
 * minimising
 *   kappa/n_E sum (dE/N)^2 / var(E/N) + (1-kappa)/n_F sum dF^2 / var(F)
 *   [+ S/n_S sum dstress^2 / var(stress)] + lambda_curv |D c|^2 + lambda_ridge |c|^2
 * over 1-, 2- and 3-body coefficients. Energies enter per atom. The last 3
 * coefficients of every axis are held at 0 (trailing trim 3: the potential
 * and its first two derivatives vanish at each cutoff), 3-body coefficients
 * with equal neighbour elements are symmetric in (l, m), D is the second
 * difference along 2-body coefficients and the discrete Laplacian on the
 * 3-body grid. Rows are streamed into the normal equations (memory ~ p^2,
 * not rows x p); the solve is sp_ridge_solve. sp_uf3_cv picks lambda_curv
 * by K-fold cross-validation from the same rows, computed once.
 *
 *     sp_uf3_fit_desc_t d = {0};
 *     d.nelem = 1; d.z[0] = 14; d.r2min = 1.5; d.r2max = 3.8; d.n2 = 24;
 *     d.r3min = 1.5; d.r3max = 3.8; d.n3 = 12;
 *     sp_uf3_fit(&d, configs, nconfigs, &pot, &info, &diag);
 */

typedef struct sp_uf3_fit_desc_t {
    int nelem;                        /* elements, 1..SP_MAX_ELEMENTS */
    int z[SP_MAX_ELEMENTS];           /* their atomic numbers, increasing */
    double r2min, r2max;              /* 2-body knot range (A) */
    int n2;                           /* 2-body knot intervals */
    double r3min, r3max;              /* 3-body r_ij, r_ik range; r_jk on [r3min, 2 r3max] */
    int n3;                           /* 3-body intervals (r_jk: 2 n3); 0: UF2 */
    double kappa;                     /* energy weight in (0, 1); 0 -> 0.5 */
    double stress_weight;             /* S: adds S/n_S sum dstress^2 / var(stress) over the configurations
                                         with a stress (6 components each); 0: none */
    double lambda_ridge;              /* ridge on 2-/3-body coefficients; 0 -> 1e-10, < 0 -> none */
    double lambda_curv;               /* curvature penalty; 0 -> 1e-6, < 0 -> none */
    void (*progress)(const char *line, void *user); /* optional progress lines */
    void *user;
    sp_allocator_t allocator;
} sp_uf3_fit_desc_t;

typedef struct sp_uf3_fit_info_t {
    int n_params;                     /* fitted (free) coefficients */
    int64_t n_energy_rows, n_force_rows, n_stress_rows;
    double std_energy, std_force, std_stress; /* of the targets: eV/atom, eV/A, eV/A^3 */
    sp_ridge_info_t solve;            /* method, condition estimate, rank */
    double seconds_features, seconds_solve;
} sp_uf3_fit_info_t;

SP_API sp_uf3_fit_desc_t sp_uf3_fit_desc_defaults(const sp_uf3_fit_desc_t *desc);

SP_API sp_result_t sp_uf3_fit(const sp_uf3_fit_desc_t *desc, const sp_config_t *configs, int nconfigs,
                              sp_pot_t *out_pot, sp_uf3_fit_info_t *out_info, sp_diag_t *diag);
/* Fits a UF3 potential to the energies (and forces, where given) of the
   configurations and writes it to out_pot (free with sp_pot_free).
   Errors: SP_ERR_BAD_ARG (desc), SP_ERR_BAD_CELL/SP_ERR_OVERLAP/... from a
   configuration (diag names it), SP_ERR_NO_MEMORY, SP_ERR_SINGULAR. */

#define SP_UF3_CV_MAX 32 /* curvature penalties one cross-validation compares, at most */

typedef struct sp_uf3_cv_t {
    int folds, nlambda;
    double lambda_curv[SP_UF3_CV_MAX];
    double rmse_energy[SP_UF3_CV_MAX];  /* held-out, eV/atom (weighted as the fit weights rows) */
    double rmse_force[SP_UF3_CV_MAX];   /* eV/A */
    double rmse_stress[SP_UF3_CV_MAX];  /* eV/A^3 (0 without a stress weight) */
    double loss[SP_UF3_CV_MAX];         /* kappa RMSE_E^2/var_E + (1-kappa) RMSE_F^2/var_F (+ S RMSE_S^2/var_S),
                                           the variances of the whole set */
    int best;                           /* the penalty of the smallest loss */
} sp_uf3_cv_t;

SP_API sp_result_t sp_uf3_cv(const sp_uf3_fit_desc_t *desc, const sp_config_t *configs, int nconfigs, int folds,
                             int nlambda, const double *lambda_curv, sp_uf3_cv_t *out, sp_diag_t *diag);
/* K-fold cross-validation of sp_uf3_fit over curvature penalties: the
   configurations in folds by index (k in fold k % folds); for each fold and
   penalty, the fit of the other folds (exactly sp_uf3_fit of those
   configurations with desc and that lambda_curv, up to rounding) predicts
   the fold's energies, forces and stresses. The rows are computed once:
   each fold's normal equations are kept, the others' summed, and the
   held-out errors come from the held-out fold's normal equations
   (sp_ridge_sse), so the cost is one fit's features plus folds x nlambda
   solves, with 3 (folds + 1) p x p matrices in memory. Errors: those of
   sp_uf3_fit, SP_ERR_BAD_ARG (folds outside 2..nconfigs, nlambda outside
   1..SP_UF3_CV_MAX, a penalty < 0). */

SP_API sp_result_t sp_uf3_features(const sp_pot_t *layout, const sp_nlist_t *nl, const int *type,
                                   const int *col_of, double *out_energy_row, double *out_force_rows,
                                   double *out_virial_rows, int p);
/* The linear UF3 basis of one configuration: E = row . c, F = rows . c and
   the virial W = virial rows . c (sp_out_t's W_ab = sum r_a F_b, row 3 a + b)
   for the flat coefficient vector c whose column for each 1-, 2- and 3-body
   coefficient of the layout potential is col_of[k] (-1: not fitted; k runs
   over e1 (nelem), then each pair's nt-4 coefficients, then each trio's
   L*M*N grid). out_energy_row (p), out_force_rows (3*natoms x p) and
   out_virial_rows (9 x p) are accumulated into (zero them first); the
   last two may be NULL. */

/* ==================================================================
 * >>sv       S-MEAM STRUCTURE VECTORS (batched evaluation for fitting)
 * ==================================================================
 * Vita & Trinkle (2021), sec. 3.4: an s-MEAM potential is linear in its
 * spline parameters theta = (y_0..y_{n-1}, d0, dN) of each spline, so the
 * basis vectors s(r), s'(r) of every bond (and their sums per atom and per
 * element pair) can be computed once per configuration, with each triplet's
 * cos theta. Energies and forces for P parameter sets are then evaluated in
 * chunks of parameter sets with the parameter-set index innermost
 * (vectorised): the phi energy and the rho part of each density are dense
 * products of summed basis vectors with the parameter matrix; rho, f, g and
 * phi' per bond and triplet are taken from the segment the distance or
 * cos theta falls in (4 parameter rows, after one tridiagonal solve per
 * spline and set; the same function as the dense product, in 4 terms
 * instead of n + 2); U is evaluated per parameter set. Any number of
 * elements: phi, rho and f share the radial knots [rlo, rc], g has knots on
 * [-1, 1], U on [ulo, uhi] (or its element's own range); all splines are
 * clamped (LAMMPS's), so a parameter vector is a meam/spline file
 * (sp_smeam_layout_pot).
 *
 * Parameter vector, ne elements, np = ne (ne + 1) / 2 element pairs (the
 * symmetric sp_pot_pair_index order), each spline (y_0..y_{n-1}, d0, dN) in
 * the order of the LAMMPS file: phi x np, rho x ne, U x ne, f x ne, g x np;
 * npar = (np + 2 ne)(nr + 2) + ne (nu + 2) + np (ng + 2). rho and f belong
 * to the neighbour's element, U to the centre's, phi and g to the pair.
 */

typedef struct sp_smeam_layout_t {
    int nr;                 /* knots of phi, rho, f (and g) */
    double rlo, rc;         /* radial knot range (A); rc is the cutoff */
    int nu;                 /* knots of U */
    double ulo, uhi;        /* U knot range */
    int ng;                 /* knots of g on [-1, 1]; 0 -> nr */
    int nelem;              /* elements; 0 -> 1 */
    double urange[SP_MAX_ELEMENTS][2]; /* U knot range of each element; unset (hi <= lo) -> [ulo, uhi] */
} sp_smeam_layout_t;

typedef struct sp_smeam_sv_t {
    int natoms, nbonds, ntrip;
    int nr2, ng2;           /* basis lengths nr + 2, ng + 2 */
    int nelem;              /* elements of the layout */
    double *ds;             /* nbonds x nr2: derivative of the radial basis (its values only enter the sums below) */
    double *u;              /* nbonds x 4: unit vector, 1/r */
    int *centre;            /* nbonds: centre atom */
    int *atype, *btype;     /* natoms: element of each atom; nbonds: element of the bond's neighbour */
    double *rho_sum;        /* natoms x nelem x nr2: sum over the atom's bonds to each element of s(r) */
    double *phi_sum;        /* np x nr2: half the sum over all bonds of each element pair of s(r) */
    int *tj, *tk;           /* ntrip: the two bonds */
    double *cs;             /* ntrip: cos theta (g is evaluated on its segment: no angular basis is stored) */
    int *first;             /* natoms + 1: bonds of each centre (contiguous) */
    int *rev;               /* nbonds: reverse bond */
    sp_allocator_t allocator;
} sp_smeam_sv_t;

SP_API int sp_smeam_layout_npar(const sp_smeam_layout_t *lay);

SP_API sp_result_t sp_smeam_sv_build(sp_smeam_sv_t *sv, const sp_smeam_layout_t *lay, const sp_config_t *cf,
                                     sp_diag_t *diag);
/* Structure vectors of one configuration (cf->type: each atom's element,
   0..nelem-1; NULL with one element). sv must be zeroed (allocator
   optional); free with sp_smeam_sv_free. */

SP_API void sp_smeam_sv_free(sp_smeam_sv_t *sv);

SP_API size_t sp_smeam_sv_workspace_size(const sp_smeam_sv_t *sv, const sp_smeam_layout_t *lay, int chunk);
/* Bytes of scratch sp_smeam_sv_eval needs for chunks of `chunk` parameter sets. */

SP_API sp_result_t sp_smeam_sv_eval(const sp_smeam_sv_t *sv, const sp_smeam_layout_t *lay, int P,
                                    const double *theta, double *out_energy, double *out_forces, int chunk,
                                    void *work, size_t work_bytes);
/* Energies (P) and, if out_forces != NULL, forces (P x 3 natoms) for the P
   parameter vectors theta (P x npar, row-major), as LAMMPS meam/spline
   computes them for the potential each vector describes. */

SP_API sp_result_t sp_smeam_layout_pot(const sp_smeam_layout_t *lay, const double *theta,
                                       const char *const *elements, sp_pot_t *out);
/* The meam/spline potential of one parameter vector, for the layout's
   elements named by elements[0..nelem-1] (free with sp_pot_free). */

/* Variable projection (fit smeam): for fixed rho, f and g the energy and the
   forces are linear in the parameters of phi and U,
     E = e_phi . theta_phi + e_U . theta_U,   F = F_phi theta_phi + F_U theta_U,
   so a fit can solve for theta_phi and theta_U by linear least squares for
   every (rho, f, g). theta_phi holds every pair's phi (np (nr + 2) values,
   the parameter vector's order), theta_U every element's U (ne (nu + 2)). F_phi and e_phi depend on the configuration only; e_U
   and F_U on the densities n_i and their derivatives, computed once per
   parameter set by sp_smeam_sv_density. */

SP_API sp_result_t sp_smeam_sv_density(const sp_smeam_sv_t *sv, const sp_smeam_layout_t *lay, int P,
                                       const double *theta, double *out_n, double *out_dn, int chunk, void *work,
                                       size_t work_bytes);
/* For the rho, f and g parts of the P parameter vectors theta (P x npar; the
   phi and U entries are ignored): the densities n_i (out_n, P x natoms) and,
   if out_dn != NULL, dn_i/dr_ij for every bond b = (i, j) of the list
   (out_dn, P x nbonds x 3, the derivative with respect to the position of j
   of the density at the bond's centre i). Workspace as sp_smeam_sv_eval. */

SP_API void sp_smeam_sv_phi_rows(const sp_smeam_sv_t *sv, double *out_energy_row, double *out_force_rows,
                                 double *out_virial_rows);
/* The phi design: E_phi = out_energy_row . theta_phi (np (nr + 2) values),
   F_phi = out_force_rows theta_phi (3 natoms x np (nr + 2), row 3 i + d
   is component d of the force on atom i) and the virial W_phi =
   out_virial_rows theta_phi (9 x np (nr + 2), row 3 a + b is W_ab = sum
   r_a F_b, sp_out_t's sign; the stress is -W / V). Any pointer may be NULL. */

SP_API size_t sp_smeam_sv_u_rows_workspace_size(const sp_smeam_sv_t *sv, const sp_smeam_layout_t *lay);
/* Bytes of scratch sp_smeam_sv_u_rows needs: (natoms + nu + 2) (nu + 2) doubles. */

SP_API sp_result_t sp_smeam_sv_u_rows(const sp_smeam_sv_t *sv, const sp_smeam_layout_t *lay, const double *nvals,
                                      const double *dn, double *out_energy_row, double *out_force_rows,
                                      double *out_virial_rows, void *work, size_t work_bytes);
/* The U design for given densities (nvals: natoms, dn: nbonds x 3, one
   parameter set of sp_smeam_sv_density) and the U knots of lay (nu on each
   element's range, clamped): sum_i U(n_i) - U(0) = out_energy_row . theta_U
   (ne (nu + 2) values) and the U part of the forces, out_force_rows theta_U
   (3 natoms x ne (nu + 2)) and of the virial, out_virial_rows theta_U (9 x
   ne (nu + 2), as sp_smeam_sv_phi_rows); either may be NULL, and dn too
   when both are. One pass over the bonds contracts dn with the per-atom
   vector s_U'(n_i) of all nu + 2 basis functions of the atom's element. Errors: SP_ERR_BAD_ARG (NULL, bad U knots),
   SP_ERR_NOT_FINITE (a density), SP_ERR_WORKSPACE_TOO_SMALL. */

/* ==================================================================
 * >>snnp     S-NNP TRAINING
 * ==================================================================
 * Fits every parameter of an s-NNP model (spline knots and slopes, network
 * weights, per-element energies e0) to energies, forces and stresses, without
 * a deep-learning framework, by minibatch Adam (AMSGrad by default) on
 *
 *   L = w_E / n_c sum_c ((E_c - E_c^ref) / N_c)^2
 *     + w_F / n_F sum_(force components) (F - F^ref)^2
 *     + w_S / n_S sum_(stress components) (sigma - sigma^ref)^2  +  l2 sum (network weights)^2
 *
 * (Vita & Trinkle 2023, Appendix A: w_E 10, w_F 1, AMSGrad, step schedule; the
 * default w_E 100 balances the two terms better on the mlearn data. The
 * stress term is ours and off by default: n_S counts 6 Voigt components per
 * configuration with a stress, sigma = -W/V in eV/A^3, ASE sign, as
 * sp_config_t.stress.) A configuration's sp_config_t.weight w multiplies its
 * terms by w^2; the validation loss that picks the returned parameters is
 * unweighted.
 * Gradients are exact: for each configuration sp_pot_compute gives E, F and
 * W, then sp_snnp_backprop carries e_adj = dL/dE, f_adj = dL/dF and
 * w_adj = dL/dW back to the parameters, so the force and stress terms cost
 * one extra directional derivative per configuration (forward mode in
 * positions, reverse mode in parameters), not one pass per parameter or per
 * atom.
 *
 * Recipe: a seeded split holds out val_fraction of the configurations for
 * early stopping (the parameters of the best validation loss are returned);
 * the learning rate is multiplied by gamma at the given fractions of the
 * epochs. Filters start as smooth radial bumps times Legendre polynomials in
 * cos theta (ACSF-like), scaled so that every filter has an RMS of init_scale
 * over the training atoms; networks start He-uniform with a small output
 * layer; e0 is the least-squares per-element energy of the residual (the
 * paper's per-element energy shift). Radial splines keep value and slope 0
 * at their cutoff (the value is pinned by the model; the slope by the fit,
 * so forces are continuous at the cutoff).
 *
 * Deterministic: configurations of a minibatch are evaluated in parallel
 * (OpenMP), each into its own gradient slot, and summed in a fixed order;
 * the shuffles use the seed. The same seed gives the same model bit for bit
 * with any number of threads (max_seconds, when it has to cut the epochs, is
 * the only exception: the cut depends on the machine's speed).
 *
 *     sp_snnp_fit_desc_t d = {0};
 *     d.arch = ...;  d.epochs = 200;  d.seed = 1;
 *     sp_snnp_fit(&d, configs, nconfigs, &pot, &info, &diag);
 */

typedef struct sp_snnp_fit_desc_t {
    sp_snnp_arch_t arch;          /* the model to fit; arch.z must name every type used */
    const sp_pot_t *init;         /* optional start (an s-NNP of the same architecture); NULL: built-in init */
    int epochs;                   /* passes over the training configurations; default 1000 */
    int batch;                    /* configurations per minibatch; default 8 */
    double lr;                    /* Adam learning rate (parameter units); default 2e-3 */
    double lr_spline;             /* spline parameters step as lr_spline * lr * (their initial RMS); default 3 */
    int amsgrad;                  /* 0: default (on); 1 on; -1 plain Adam */
    double beta1, beta2, eps;     /* Adam; defaults 0.9, 0.999, 1e-8 */
    double milestones[4];         /* fractions of the epochs where lr *= gamma; default 0.5 0.75 0.9 (all 0) */
    double gamma;                 /* default 0.3 */
    double w_energy, w_force;     /* loss weights; defaults 100 and 1 (w_force < 0: no force term) */
    double w_stress;              /* weight of the stress term (stress in eV/A^3); default 0: none */
    double l2;                    /* L2 on network weights (not biases); default 1e-6, < 0: none */
    double val_fraction;          /* held out for early stopping; default 0.1, < 0: none */
    int patience;                 /* epochs without a better validation loss before stopping; default epochs/3 */
    double init_scale;            /* RMS of each filter after initialisation; default 1 (0.3 with skip) */
    uint64_t seed;                /* default 1 */
    double max_seconds;           /* wall-time budget; when the epochs would overrun it, their number is
                                     cut (the lr schedule follows the cut); 0: none */
    void (*progress)(const char *line, void *user); /* one line per epoch (optional) */
    void *user;
    sp_allocator_t allocator;
} sp_snnp_fit_desc_t;

typedef struct sp_snnp_fit_info_t {
    int n_params;                 /* trained parameters (pinned ones excluded) */
    int n_train, n_val;           /* configurations used for gradients / for early stopping */
    int epochs, best_epoch;       /* epochs run; epoch whose parameters were returned (1-based) */
    int stop;                     /* 0 all epochs, 1 early stopping, 2 epochs cut by max_seconds */
    double train_rmse_e, train_rmse_f, train_rmse_s; /* best epoch, during its minibatches: eV/atom, eV/A, eV/A^3 */
    double val_rmse_e, val_rmse_f, val_rmse_s;       /* best epoch, validation set */
    double val_loss;
    double seconds;
} sp_snnp_fit_info_t;

SP_API sp_snnp_fit_desc_t sp_snnp_fit_desc_defaults(const sp_snnp_fit_desc_t *desc);

SP_API sp_result_t sp_snnp_fit(const sp_snnp_fit_desc_t *desc, const sp_config_t *configs, int nconfigs,
                               sp_pot_t *out_pot, sp_snnp_fit_info_t *out_info, sp_diag_t *diag);
/* Fits an s-NNP model to the energies (and forces, where given) of the
   configurations and writes it to out_pot (free with sp_pot_free).
   Errors: SP_ERR_BAD_ARG (desc; diag says what), SP_ERR_BAD_CELL /
   SP_ERR_OVERLAP / ... from a configuration (diag names it), SP_ERR_NO_MEMORY,
   SP_ERR_NOT_FINITE (the loss diverged). */

/* ==================================================================
 * >>io       POTENTIAL FILES, EXTENDED XYZ
 * ================================================================== */

SP_API sp_result_t sp_pot_read(sp_pot_t *pot, const char *text, size_t len, const char *name_hint,
                               sp_diag_t *diag);
/* Parses a potential from memory. The format is detected from the content:
   LAMMPS pair_style uf3 (first line "#UF3 POT"), uf3 JSON model (a JSON
   object; degree 3, decompressed 3-body grids), otherwise meam/spline (old
   and multi-element) or meam/sw/spline (7 splines; required when name_hint
   ends in ".meam.sw.spline"), or an s-NNP model (first line "splinepot-snnp 1",
   docs/snnp_format.md). pot is overwritten; on error it is left empty. */

typedef struct sp_frame_t {
    int natoms;
    double cell[9];
    int pbc[3];
    int has_cell;
    double *pos;            /* 3*natoms */
    int *z;                 /* atomic numbers */
    double *forces;         /* 3*natoms or NULL */
    double *energies;       /* natoms or NULL */
    double *velocities;     /* 3*natoms or NULL (A/ps; column vel, velo or velocities) */
    double energy;  int has_energy;
    double stress[9]; int has_stress;   /* eV/A^3, ASE sign */
    double virial[9]; int has_virial;   /* eV, LAMMPS sign */
    double weight; int has_weight;      /* weight= or config_weight= (> 0): sp_config_t.weight in a fit */
    char *comment_extra;    /* other key=value pairs of the comment line (weight= too), verbatim */
    sp_allocator_t allocator;
} sp_frame_t;

SP_API sp_result_t sp_xyz_read_frame(const char *text, size_t len, size_t *io_pos, int *io_line,
                                     sp_frame_t *out, sp_diag_t *diag);
/* Reads the next extended-XYZ frame starting at byte *io_pos (line *io_line)
   and advances both. Returns SP_ERR_RANGE at a clean end of input. Knows
   Lattice, pbc, energy, stress, virial, weight (or config_weight, MACE's name;
   a finite number > 0), Properties species/pos/forces/energies and
   velocities (vel, velo or velocities:R:3; other columns, any number of
   them, and keys are skipped; Z:I:1 is accepted instead of species). */

SP_API void sp_frame_free(sp_frame_t *f);

#ifndef SP_NO_STDIO
#include <stdio.h>
SP_API sp_result_t sp_read_file(const char *path, char **out_text, size_t *out_len,
                                sp_allocator_t *alloc, sp_diag_t *diag);
/* Whole file into a NUL-terminated buffer (free with the same allocator). */

SP_API sp_result_t sp_pot_read_file(sp_pot_t *pot, const char *path, sp_diag_t *diag);

SP_API sp_result_t sp_pot_write(const sp_pot_t *pot, FILE *fp);
SP_API sp_result_t sp_pot_write_json(const sp_pot_t *pot, FILE *fp);
/* A UF3 potential as a uf3 JSON model (WeightedLinearModel.to_json layout). */
/* Writes the potential in its own LAMMPS format (meam/spline, meam/sw/spline,
   pair_style uf3 with trims "0 3"; s-NNP: docs/snnp_format.md), with 17
   significant digits: reading it back gives identical numbers. UF3 one-body energies go on the block header
   lines as E1_<El>=<value> (LAMMPS ignores them). */

SP_API sp_result_t sp_uf3_write_table(const sp_pot_t *pot, int a, int b, int npoints, double rlo, FILE *fp,
                                      const char *keyword);
/* The 2-body part of a UF3 pair (elements a, b) as a LAMMPS pair_style
   table section "keyword": npoints distances from rlo to the cutoff, energy
   2 V2(r) (LAMMPS counts a bond once, UF3 twice) and force -2 V2'(r).
   Use with "pair_style table spline npoints" and a cutoff of the last knot;
   3-body terms are not representable and must be absent (SP_ERR_UNSUPPORTED). */

SP_API void sp_xyz_write_frame(FILE *fp, const sp_frame_t *f, const char *extra);
/* Writes one extended-XYZ frame with every number to 17 significant digits;
   Properties lists species, pos and, when present, forces, energies and vel. */
#endif

/* ==================================================================
 * >>cuda     OPTIONAL GPU LAYER (splinepot_cuda.cu)
 * ==================================================================
 * Double-precision CUDA kernels with the results of the CPU code, in the
 * separate file splinepot_cuda.cu: compile it with nvcc, link it, and
 * define SPLINEPOT_CUDA where SPLINEPOT_IMPLEMENTATION is defined (make
 * cuda does both). Without it every sp_cuda_* function returns
 * SP_ERR_NO_CUDA ("built without CUDA") and nothing else changes.
 *
 * Structure vectors (sp_cuda_sv_*): the structure vectors of a training
 * set go to the device once; each evaluation sends only the P x npar
 * parameters of a CMA-ES population and returns the energies and forces
 * (or per-configuration force errors) of sp_smeam_sv_eval.
 *
 * Large systems (sp_cuda_sys_*, sp_cuda_md_*): UF3 and s-MEAM energies and
 * forces on a neighbour list built on the device (sp_cuda_sys_build_nlist:
 * periodic cells at least 3 list cutoffs high) or built on the CPU and
 * uploaded; positions are refreshed on the device (its sp_nlist_update).
 * As in sp_pot_compute, each centre atom writes its own per-bond forces
 * and a second kernel gathers them per atom in list order: no atomics on
 * floating-point sums. A group of lanes shares a centre atom (bonds and
 * triplets split over the lanes, partial sums added in a fixed tree), so
 * results are the same bits on every run but not the CPU's: energies agree
 * to ~1e-15 relative and forces to ~1e-13 eV/A (tests/test_cuda.c checks
 * 1e-12 and 1e-10 on random configurations and parameters). The
 * velocity-Verlet loop and the list rebuilds stay on the device; only
 * scalars come back per step.
 *
 *     sp_cuda_sys_t *g;
 *     sp_cuda_sys_create(&g, &pot, n, type, &diag);
 *     sp_cuda_sys_build_nlist(g, &cell, pos, cutoff + skin);   or, after
 *     sp_cuda_sys_set_nlist(g, &nl, pos);     each sp_nlist_build
 *     sp_cuda_sys_set_positions(g, pos);      instead of sp_nlist_update
 *     sp_cuda_sys_compute(g, &out);           as sp_pot_compute
 *     sp_cuda_sys_free(g);
 *
 * Errors: SP_ERR_NO_CUDA (built without CUDA), SP_ERR_DEVICE (no device,
 * a CUDA call failed; diag or sp_cuda_last_error() says which),
 * SP_ERR_NO_MEMORY (device memory), SP_ERR_BAD_ARG, SP_ERR_NOT_FINITE. */

SP_API sp_result_t sp_cuda_device_info(int *out_count, char *out_name, size_t name_len);
/* Number of CUDA devices (0, with SP_OK, when the driver finds none) and
   the name of the current device (when out_name != NULL). */

SP_API const char *sp_cuda_last_error(void);
/* Text of the last CUDA error seen by this thread's sp_cuda_* calls ("" if none). */

typedef struct sp_cuda_sv_t sp_cuda_sv_t;

SP_API sp_result_t sp_cuda_sv_create(sp_cuda_sv_t **out, const sp_smeam_layout_t *lay, const sp_smeam_sv_t *sv,
                                     int nconf, const double *const *ref_forces, sp_diag_t *diag);
/* Uploads the structure vectors sv[0..nconf-1] (built with lay) and, when
   ref_forces != NULL, reference forces ref_forces[c] (3 natoms_c doubles,
   or NULL for a configuration without) for sp_cuda_sv_eval's force errors.
   Any number of elements (the layout's; each sv built with it). */

SP_API sp_result_t sp_cuda_sv_eval(sp_cuda_sv_t *g, int P, const double *theta, double *out_energy,
                                   double *out_forces, double *out_force_sse);
/* P parameter vectors theta (P x npar, row-major). out_energy[c*P + p]:
   energy of configuration c; out_forces (optional): configuration after
   configuration, P x 3 natoms_c each (sp_smeam_sv_eval's layout);
   out_force_sse (optional) [c*P + p]: sum over atoms of |F - F_ref|^2
   (0 without reference forces). Same arithmetic as sp_smeam_sv_eval. */

SP_API void sp_cuda_sv_free(sp_cuda_sv_t *g);

typedef struct sp_cuda_sys_t sp_cuda_sys_t;

SP_API sp_result_t sp_cuda_sys_create(sp_cuda_sys_t **out, const sp_pot_t *pot, int natoms, const int *type,
                                      sp_diag_t *diag);
/* A device copy of a potential (s-MEAM, meam/sw/spline, UF3) and the types
   of natoms atoms. pot may be freed afterwards. */

SP_API sp_result_t sp_cuda_sys_set_nlist(sp_cuda_sys_t *g, const sp_nlist_t *nl, const double *pos);
/* Uploads a list built by sp_nlist_build for these natoms atoms
   (nl->cutoff >= pot cutoff) and the positions pos (3 natoms) it is used
   with; pos is also the reference of sp_cuda_md_drift's displacement. */

SP_API sp_result_t sp_cuda_sys_build_nlist(sp_cuda_sys_t *g, const sp_cell_t *cell, const double *pos,
                                           double cutoff);
/* sp_nlist_build and sp_cuda_sys_set_nlist in one, on the device: the pairs
   with r < cutoff (>= the potential's cutoff) of the positions pos (3
   natoms; NULL: the device positions, as after sp_cuda_md_drift), which
   also become sp_cuda_md_drift's reference. For a cell periodic along a, b
   and c whose every height (distance between opposite faces) is at least 3
   cutoff, with at most 64 atoms in a bin (about cutoff^3); SP_ERR_UNSUPPORTED
   otherwise (build on the CPU then). The pairs
   are those of sp_nlist_build, in another order: atoms binned by fractional
   coordinates (counting sort, each bin in increasing index), each centre
   scanning the 27 bins around its own in a fixed order; ghosts for the
   atoms of the boundary bins. Deterministic. Errors also
   SP_ERR_NOT_FINITE (a position), SP_ERR_BAD_CELL. */

SP_API sp_result_t sp_cuda_sys_get_list(sp_cuda_sys_t *g, size_t *out_entries, int *first, int *nbr, double *vec);
/* The list in use, for checks: *out_entries entries and, where the pointers
   are not NULL, first (natoms + 1 offsets), nbr (the local atom each entry
   points to) and vec (3 per entry: r_j - r_i at the positions of the last
   list, sp_cuda_sys_set_positions or sp_cuda_md_forces). */

SP_API sp_result_t sp_cuda_sys_set_positions(sp_cuda_sys_t *g, const double *pos);
/* New positions for the uploaded list (the device's sp_nlist_update). */

SP_API sp_result_t sp_cuda_sys_compute(sp_cuda_sys_t *g, sp_out_t *out);
/* sp_pot_compute on the device: energy and virial; forces, per-atom
   energies and per-atom virials are copied back where out's pointers are
   not NULL. out->contributing is not taken (SP_ERR_UNSUPPORTED). */

SP_API void sp_cuda_sys_free(sp_cuda_sys_t *g);

SP_API sp_result_t sp_cuda_md_init(sp_cuda_sys_t *g, const double *vel, const double *mass, double mvv2e);
/* Velocities (3 natoms) and masses (natoms) for sp_cuda_md_*; mvv2e turns
   mass * velocity^2 into energy (LAMMPS metal: 1.0364269e-4 eV per
   amu A^2/ps^2). Device forces are those of the last sp_cuda_md_forces. */

SP_API sp_result_t sp_cuda_md_drift(sp_cuda_sys_t *g, double dt, double *out_dmax2);
/* v += dt/2 F/m, x += dt v; *out_dmax2 (optional) = largest squared
   displacement since the last list (rebuild it when 4 dmax2 > skin^2:
   sp_cuda_sys_build_nlist(g, cell, NULL, ...), or sp_cuda_md_get the
   positions, sp_nlist_build, sp_cuda_sys_set_nlist). */

SP_API sp_result_t sp_cuda_md_langevin(sp_cuda_sys_t *g, double c1, double kT, uint64_t seed, uint64_t step);
/* Langevin O step v = c1 v + sqrt((1 - c1^2) kT / (m mvv2e)) xi with normal
   deviates xi from a counter-based generator of (seed, step, atom). */

SP_API sp_result_t sp_cuda_md_forces(sp_cuda_sys_t *g, double *out_energy);
/* Extended positions from the device positions, then forces and (optional) energy. */

SP_API sp_result_t sp_cuda_md_kick(sp_cuda_sys_t *g, double dt, double *out_ke);
/* v += dt/2 F/m; *out_ke (optional) = kinetic energy (dt = 0: only that). */

SP_API sp_result_t sp_cuda_md_get(sp_cuda_sys_t *g, double *pos, double *vel, double *forces);
/* Copies positions, velocities, forces (3 natoms each, each optional) back. */

#ifdef __cplusplus
}
#endif
#endif /* SPLINEPOT_H */

/* ################################################################## */
/*                          IMPLEMENTATION                            */
/* ################################################################## */
#ifdef SPLINEPOT_IMPLEMENTATION
#ifndef SPLINEPOT_IMPLEMENTATION_DONE
#define SPLINEPOT_IMPLEMENTATION_DONE

#include <math.h>
#include <string.h>
#include <stdlib.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h> /* snprintf only, also with SP_NO_STDIO */
#include <time.h>  /* clock() for progress timings without OpenMP */

#if defined(SP_MALLOC) && !defined(SP_FREE) || !defined(SP_MALLOC) && defined(SP_FREE)
#error "define both SP_MALLOC and SP_FREE, or neither"
#endif
#ifndef SP_MALLOC
#define SP_MALLOC(sz, u) ((void)(u), malloc(sz))
#define SP_FREE(p, u) ((void)(u), free(p))
#endif
#ifndef SP_ASSERT
#include <assert.h>
#define SP_ASSERT(x) assert(x)
#endif

#if defined(__GNUC__) || defined(__clang__)
#define SP__PRIVATE static __attribute__((unused))
#define SP_RESTRICT __restrict__
#define SP__INLINE inline __attribute__((always_inline))
#define SP__NOINLINE __attribute__((noinline))
#else
#define SP__PRIVATE static
#define SP_RESTRICT
#define SP__INLINE
#define SP__NOINLINE
#endif

#if defined(_OPENMP) && !defined(SP_NO_OPENMP)
#define SP__OMP 1
#include <omp.h>
#endif

/* x86 intrinsics for the neighbour-list candidate tests (AVX-512) and the
   UF3 square roots (AVX or AVX-512); SP_NO_INTRINSICS turns them off. */
#if !defined(SP_NO_INTRINSICS) && !defined(__CUDACC__) && (defined(__AVX512F__) || defined(__AVX__))
#define SP__X86_INTRIN 1
#if defined(__GNUC__) && !defined(__clang__)
/* GCC 12 in C++ mode warns about the intrinsics' own "__m512d __Y = __Y;" (GCC bug 105593) */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#else
#include <immintrin.h>
#endif
#endif

/* ==================================================================
 * >>common   implementation
 * ================================================================== */

SP_API const char *sp_result_str(sp_result_t r) {
#define SP__RESULT_TEXT(name, text) text,
    static const char *const texts[] = {SP__RESULT_LIST(SP__RESULT_TEXT) "?"};
#undef SP__RESULT_TEXT
    if ((int)r < 0 || (int)r >= (int)SP__RESULT_COUNT) return "unknown result";
    return texts[r];
}

SP__PRIVATE sp_result_t sp__fail(sp_diag_t *d, sp_result_t r, int line, const char *fmt, ...) {
    if (d) {
        va_list ap;
        d->line = line;
        va_start(ap, fmt);
        vsnprintf(d->msg, sizeof d->msg, fmt, ap);
        va_end(ap);
    }
    return r;
}

SP__PRIVATE void *sp__alloc(const sp_allocator_t *a, size_t bytes) {
    if (bytes == 0) bytes = 1;
    if (a && a->alloc) return a->alloc(bytes, a->user);
    return SP_MALLOC(bytes, a ? a->user : NULL);
}

SP__PRIVATE void sp__free(const sp_allocator_t *a, void *p) {
    if (!p) return;
    if (a && a->free) a->free(p, a->user);
    else SP_FREE(p, a ? a->user : NULL);
}

/* Grows *p (elements of size esz) to at least n elements; contents are not kept. */
SP__PRIVATE int sp__reserve(const sp_allocator_t *a, void **p, size_t *cap, size_t n, size_t esz) {
    void *q;
    if (n <= *cap && *p) return 1;
    if (esz && n > ((size_t)-1) / esz / 2) return 0;
    n = n + n / 4 + 16;
    q = sp__alloc(a, n * esz);
    if (!q) return 0;
    sp__free(a, *p);
    *p = q;
    *cap = n;
    return 1;
}

SP__PRIVATE int sp__isfinite(double x) { return x - x == 0.0; }

static const char sp__symbols[119][3] = {
    "", "H", "He", "Li", "Be", "B", "C", "N", "O", "F", "Ne", "Na", "Mg", "Al", "Si", "P", "S",
    "Cl", "Ar", "K", "Ca", "Sc", "Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga", "Ge",
    "As", "Se", "Br", "Kr", "Rb", "Sr", "Y", "Zr", "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag", "Cd",
    "In", "Sn", "Sb", "Te", "I", "Xe", "Cs", "Ba", "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd",
    "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Hf", "Ta", "W", "Re", "Os", "Ir", "Pt", "Au", "Hg",
    "Tl", "Pb", "Bi", "Po", "At", "Rn", "Fr", "Ra", "Ac", "Th", "Pa", "U", "Np", "Pu", "Am", "Cm",
    "Bk", "Cf", "Es", "Fm", "Md", "No", "Lr", "Rf", "Db", "Sg", "Bh", "Hs", "Mt", "Ds", "Rg", "Cn",
    "Nh", "Fl", "Mc", "Lv", "Ts", "Og"};

static const double sp__masses[95] = {
    0, 1.008, 4.002602, 6.94, 9.0121831, 10.81, 12.011, 14.007, 15.999, 18.998403163, 20.1797,
    22.98976928, 24.305, 26.9815385, 28.085, 30.973761998, 32.06, 35.45, 39.948, 39.0983, 40.078,
    44.955908, 47.867, 50.9415, 51.9961, 54.938044, 55.845, 58.933194, 58.6934, 63.546, 65.38,
    69.723, 72.630, 74.921595, 78.971, 79.904, 83.798, 85.4678, 87.62, 88.90584, 91.224, 92.90637,
    95.95, 98.0, 101.07, 102.90550, 106.42, 107.8682, 112.414, 114.818, 118.710, 121.760, 127.60,
    126.90447, 131.293, 132.90545196, 137.327, 138.90547, 140.116, 140.90766, 144.242, 145.0,
    150.36, 151.964, 157.25, 158.92535, 162.500, 164.93033, 167.259, 168.93422, 173.045, 174.9668,
    178.49, 180.94788, 183.84, 186.207, 190.23, 192.217, 195.084, 196.966569, 200.592, 204.38,
    207.2, 208.98040, 209.0, 210.0, 222.0, 223.0, 226.0, 227.0, 232.0377, 231.03588, 238.02891,
    237.0, 244.0};

SP_API int sp_element_z(const char *symbol) {
    int z;
    if (!symbol || !symbol[0]) return 0;
    for (z = 1; z <= 118; ++z)
        if (strcmp(sp__symbols[z], symbol) == 0) return z;
    return 0;
}

SP_API const char *sp_element_symbol(int z) { return (z >= 1 && z <= 118) ? sp__symbols[z] : ""; }

SP_API double sp_element_mass(int z) { return (z >= 1 && z <= 94) ? sp__masses[z] : 0.0; }

/* ==================================================================
 * >>spline   implementation
 * ================================================================== */

/* Second derivatives by the tridiagonal sweep of Numerical Recipes' spline(),
   with the actual knot differences (the arithmetic LAMMPS uses). Clamped:
   end first derivatives p0, pN. Natural: end second derivatives p0, pN. */
static void sp__spline_y2(int n, const double *x, const double *y, sp_spline_bc_t bc, double p0,
                          double pN, double *y2) {
    double u[SP_SPLINE_MAX_KNOTS];
    double qn, un, sig, p;
    int i, k;
    if (bc == SP_SPLINE_CLAMPED) {
        y2[0] = -0.5;
        u[0] = (3.0 / (x[1] - x[0])) * ((y[1] - y[0]) / (x[1] - x[0]) - p0);
    } else {
        y2[0] = 0.0;
        u[0] = p0;
    }
    for (i = 1; i < n - 1; ++i) {
        sig = (x[i] - x[i - 1]) / (x[i + 1] - x[i - 1]);
        p = sig * y2[i - 1] + 2.0;
        y2[i] = (sig - 1.0) / p;
        u[i] = (y[i + 1] - y[i]) / (x[i + 1] - x[i]) - (y[i] - y[i - 1]) / (x[i] - x[i - 1]);
        u[i] = (6.0 * u[i] / (x[i + 1] - x[i - 1]) - sig * u[i - 1]) / p;
    }
    if (bc == SP_SPLINE_CLAMPED) {
        qn = 0.5;
        un = (3.0 / (x[n - 1] - x[n - 2])) * (pN - (y[n - 1] - y[n - 2]) / (x[n - 1] - x[n - 2]));
    } else {
        qn = 0.0;
        un = pN;
    }
    y2[n - 1] = (un - qn * u[n - 2]) / (qn * y2[n - 2] + 1.0);
    for (k = n - 2; k >= 0; --k) y2[k] = y2[k] * y2[k + 1] + u[k];
}

static sp_result_t sp__spline_check_knots(int n, const double *x) {
    double h;
    int i;
    if (n < 2 || n > SP_SPLINE_MAX_KNOTS || !x) return SP_ERR_BAD_ARG;
    for (i = 0; i < n; ++i)
        if (!sp__isfinite(x[i])) return SP_ERR_NOT_FINITE;
    h = (x[n - 1] - x[0]) / (n - 1);
    /* spacing: positive, and 1/h finite (1e-320 would give an infinite index) */
    if (!(h > 1e-9 * (fabs(x[0]) + fabs(x[n - 1]) + 1e-3)) || !sp__isfinite(1.0 / h)) return SP_ERR_BAD_ARG;
    for (i = 1; i < n - 1; ++i)
        if (fabs(x[i] - (x[0] + i * h)) > 1e-8) return SP_ERR_BAD_ARG;
    return SP_OK;
}

SP_API sp_result_t sp_spline_init_bc(sp_spline_t *s, int n, const double *x, const double *y,
                                     sp_spline_bc_t bc, double p0, double pN) {
    double y2[SP_SPLINE_MAX_KNOTS];
    sp_result_t r;
    int i;
    if (!s || !y) return SP_ERR_BAD_ARG;
    r = sp__spline_check_knots(n, x);
    if (r != SP_OK) return r;
    for (i = 0; i < n; ++i)
        if (!sp__isfinite(y[i])) return SP_ERR_NOT_FINITE;
    if (!sp__isfinite(p0) || !sp__isfinite(pN)) return SP_ERR_NOT_FINITE;
    memset(s, 0, sizeof *s);
    s->n = n;
    s->bc = bc;
    s->xmin = x[0];
    s->xmax = x[n - 1];
    s->p0 = p0;
    s->pN = pN;
    s->h = (x[n - 1] - x[0]) / (n - 1);
    s->hsq = s->h * s->h;
    s->inv_h = 1.0 / s->h;
    s->xmax_shifted = x[n - 1] - x[0];
    for (i = 0; i < n; ++i) {
        s->x[i] = x[i];
        s->y[i] = y[i];
    }
    if (bc == SP_SPLINE_CLAMPED) {
        sp__spline_y2(n, x, y, bc, p0, pN, y2);
    } else {
        /* end parameters are h^2 y'' */
        sp__spline_y2(n, x, y, bc, p0 / s->hsq, pN / s->hsq, y2);
    }
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
    if (bc == SP_SPLINE_CLAMPED) {
        s->d0 = p0;
        s->dN = pN;
    } else {
        /* slopes of the natural spline at its ends (the evaluation formula at
           x = x_0 with a = h, b = 0 and at x = x_{n-1} with a = 0, b = h) */
        const double *g0 = s->seg, *gl = s->seg + 5 * (n - 2);
        s->d0 = g0[2] + ((-s->hsq) * g0[4] - (2.0 * s->hsq) * g0[3]);
        s->dN = gl[2] + ((2.0 * s->hsq) * gl[4] + s->hsq * gl[3]);
    }
    return SP_OK;
}

SP_API sp_result_t sp_spline_init(sp_spline_t *s, int n, const double *x, const double *y,
                                  double d0, double dN) {
    return sp_spline_init_bc(s, n, x, y, SP_SPLINE_CLAMPED, d0, dN);
}

static SP__INLINE double sp__spline_eval(const sp_spline_t *s, double x, double *out_deriv) {
    const double *g;
    double a, b, v;
    int k;
    x -= s->xmin;
    if (x <= 0.0) {
        if (out_deriv) *out_deriv = s->d0;
        return s->y0 + s->d0 * x;
    }
    if (!(x < s->xmax_shifted)) { /* also NaN: no index is formed from it */
        if (out_deriv) *out_deriv = s->dN;
        return s->yN + s->dN * (x - s->xmax_shifted);
    }
    k = (int)(x * s->inv_h);
    if (k > s->n - 2) k = s->n - 2; /* x*inv_h may round up to n-1 just below the end */
    g = s->seg + 5 * k;
    a = g[0] - x;
    b = s->h - a;
    v = g[1] - a * g[2] + ((a * a - s->hsq) * a * g[3] + (b * b - s->hsq) * b * g[4]);
    if (out_deriv) *out_deriv = g[2] + ((3.0 * b * b - s->hsq) * g[4] - (3.0 * a * a - s->hsq) * g[3]);
    return v;
}

SP_API double sp_spline_eval(const sp_spline_t *s, double x, double *out_deriv) {
    return sp__spline_eval(s, x, out_deriv);
}

SP_API void sp_spline_eval_n(const sp_spline_t *s, int m, const double *x, double *out_val,
                             double *out_deriv) {
    int i;
    for (i = 0; i < m; ++i) out_val[i] = sp_spline_eval(s, x[i], out_deriv ? out_deriv + i : NULL);
}

SP_API size_t sp_spline_basis_matrix_size(int n) { return (size_t)n * (size_t)(n + 2); }

SP_API sp_result_t sp_spline_basis_matrix(int n, const double *x, sp_spline_bc_t bc, double *out_M) {
    double theta[SP_SPLINE_MAX_KNOTS + 2], y2[SP_SPLINE_MAX_KNOTS];
    double h, scale_end;
    sp_result_t r = sp__spline_check_knots(n, x);
    int l, k;
    if (r != SP_OK) return r;
    if (!out_M) return SP_ERR_BAD_ARG;
    h = (x[n - 1] - x[0]) / (n - 1);
    scale_end = (bc == SP_SPLINE_CLAMPED) ? 1.0 : 1.0 / (h * h);
    for (l = 0; l < n + 2; ++l) {
        memset(theta, 0, sizeof theta);
        theta[l] = 1.0;
        sp__spline_y2(n, x, theta, bc, theta[n] * scale_end, theta[n + 1] * scale_end, y2);
        for (k = 0; k < n; ++k) out_M[(size_t)k * (n + 2) + l] = y2[k] / (h * 6.0);
    }
    return SP_OK;
}

SP_API void sp_spline_basis(int n, const double *x, sp_spline_bc_t bc, const double *M, double xv,
                            double *out_s, double *out_ds) {
    double h = (x[n - 1] - x[0]) / (n - 1), hsq = h * h, xs = xv - x[0], xmaxs = x[n - 1] - x[0];
    double a, b, ca, cb, da, db;
    int l, k, np2 = n + 2;
    for (l = 0; l < np2; ++l) {
        out_s[l] = 0.0;
        if (out_ds) out_ds[l] = 0.0;
    }
    if (xs <= 0.0 || xs >= xmaxs) {
        /* linear extrapolation: y_end + slope_end*(x - x_end); the slope is the
           derivative of the spline at that end, itself linear in theta */
        int end = (xs <= 0.0) ? 0 : 1;
        double dx = end ? xs - xmaxs : xs;
        int kk = end ? n - 2 : 0;
        double ea = end ? 0.0 : h, eb = h - ea; /* a, b at the end point */
        double cA = -(3.0 * ea * ea - hsq), cB = (3.0 * eb * eb - hsq);
        out_s[end ? n - 1 : 0] += 1.0;
        if (bc == SP_SPLINE_CLAMPED) { /* the slope is theta[n] or theta[n+1] itself */
            out_s[n + end] += dx;
            if (out_ds) out_ds[n + end] = 1.0;
            return;
        }
        /* slope = (y_{k+1}-y_k)/h + cB*M[k+1] + cA*M[k] */
        for (l = 0; l < np2; ++l) {
            double sl = cB * M[(size_t)(kk + 1) * np2 + l] + cA * M[(size_t)kk * np2 + l];
            if (l == kk + 1) sl += 1.0 / h;
            if (l == kk) sl -= 1.0 / h;
            out_s[l] += sl * dx;
            if (out_ds) out_ds[l] = sl;
        }
        return;
    }
    k = (int)(xs / h);
    if (k > n - 2) k = n - 2;
    a = (x[k + 1] - x[0]) - xs;
    b = h - a;
    ca = (a * a - hsq) * a;
    cb = (b * b - hsq) * b;
    da = -(3.0 * a * a - hsq);
    db = (3.0 * b * b - hsq);
    for (l = 0; l < np2; ++l) {
        out_s[l] = ca * M[(size_t)k * np2 + l] + cb * M[(size_t)(k + 1) * np2 + l];
        if (out_ds) out_ds[l] = da * M[(size_t)k * np2 + l] + db * M[(size_t)(k + 1) * np2 + l];
    }
    out_s[k + 1] += 1.0 - a / h;
    out_s[k] += a / h;
    if (out_ds) {
        out_ds[k + 1] += 1.0 / h;
        out_ds[k] -= 1.0 / h;
    }
}

/* ==================================================================
 * >>bspline  implementation
 * ================================================================== */

SP_API int sp_bspline_knots_uniform(double rmin, double rmax, int n_intervals, double *out_t) {
    int i, nt = n_intervals + 7;
    for (i = 0; i < nt; ++i) {
        int k = i - 3;
        double v;
        if (k < 0) k = 0;
        if (k > n_intervals) k = n_intervals;
        /* numpy.linspace: start + k*step, the last point set exactly */
        v = (k == n_intervals) ? rmax : rmin + k * ((rmax - rmin) / n_intervals);
        out_t[i] = nearbyint(v * 1e10) / 1e10; /* numpy.round(knots, 10) */
    }
    return nt;
}

/* Non-zero cubic B-spline basis functions and derivatives (nder <= 3) on
   span k (t[k] <= x < t[k+1]); the triangular table of de Boor / Cox
   (Piegl & Tiller, The NURBS Book, A2.3). */
static void sp__bspline_ders(const double *t, int k, double x, int nder, double ders[4][4]) {
    double ndu[4][4], left[4], right[4], a[2][4];
    int j, r, s1, s2, kk, rk, pk, j1, j2;
    ndu[0][0] = 1.0;
    for (j = 1; j <= 3; ++j) {
        double saved = 0.0;
        left[j] = x - t[k + 1 - j];
        right[j] = t[k + j] - x;
        for (r = 0; r < j; ++r) {
            double temp;
            ndu[j][r] = right[r + 1] + left[j - r];
            temp = ndu[j][r] != 0.0 ? ndu[r][j - 1] / ndu[j][r] : 0.0;
            ndu[r][j] = saved + right[r + 1] * temp;
            saved = left[j - r] * temp;
        }
        ndu[j][j] = saved;
    }
    for (j = 0; j <= 3; ++j) ders[0][j] = ndu[j][3];
    for (r = 0; r <= 3; ++r) {
        s1 = 0; s2 = 1;
        a[0][0] = 1.0;
        for (kk = 1; kk <= nder; ++kk) {
            double d = 0.0;
            rk = r - kk; pk = 3 - kk;
            if (r >= kk) {
                a[s2][0] = ndu[pk + 1][rk] != 0.0 ? a[s1][0] / ndu[pk + 1][rk] : 0.0;
                d = a[s2][0] * ndu[rk][pk];
            }
            j1 = (rk >= -1) ? 1 : -rk;
            j2 = (r - 1 <= pk) ? kk - 1 : 3 - r;
            for (j = j1; j <= j2; ++j) {
                a[s2][j] = ndu[pk + 1][rk + j] != 0.0
                               ? (a[s1][j] - a[s1][j - 1]) / ndu[pk + 1][rk + j] : 0.0;
                d += a[s2][j] * ndu[rk + j][pk];
            }
            if (r <= pk) {
                a[s2][kk] = ndu[pk + 1][r] != 0.0 ? -a[s1][kk - 1] / ndu[pk + 1][r] : 0.0;
                d += a[s2][kk] * ndu[r][pk];
            }
            ders[kk][r] = d;
            j = s1; s1 = s2; s2 = j;
        }
    }
    for (kk = 1; kk <= nder; ++kk) { /* times p!/(p-k)! for p = 3 */
        double f = (kk == 1) ? 3.0 : 6.0;
        for (j = 0; j <= 3; ++j) ders[kk][j] *= f;
    }
}

static int sp__bspline_span(const double *t, int nt, double x) {
    int lo = 3, hi = nt - 5, mid;
    if (x >= t[hi]) {
        /* last non-empty span: the last interval is closed at t_{nt-1} */
        while (hi > 3 && t[hi] == t[hi + 1]) --hi;
        return hi;
    }
    while (lo < hi) {
        mid = (lo + hi + 1) / 2;
        if (t[mid] <= x) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

SP_API int sp_bspline_basis(const double *t, int nt, double x, double *out_b, double *out_db,
                            double *out_d2b) {
    double ders[4][4];
    int k, j, nder = out_d2b ? 2 : (out_db ? 1 : 0);
    if (nt < 8 || !(x >= t[0] && x <= t[nt - 1])) {
        for (j = 0; j < 4; ++j) {
            if (out_b) out_b[j] = 0.0;
            if (out_db) out_db[j] = 0.0;
            if (out_d2b) out_d2b[j] = 0.0;
        }
        return -1;
    }
    k = sp__bspline_span(t, nt, x);
    sp__bspline_ders(t, k, x, nder, ders);
    for (j = 0; j < 4; ++j) {
        if (out_b) out_b[j] = ders[0][j];
        if (out_db) out_db[j] = ders[1][j];
        if (out_d2b) out_d2b[j] = ders[2][j];
    }
    return k - 3;
}

SP_API sp_result_t sp_bspline_init(sp_bspline_t *b, const double *t, int nt) {
    int i;
    double dt;
    if (!b || !t || nt < 8) return SP_ERR_BAD_ARG;
    for (i = 0; i < nt; ++i)
        if (!sp__isfinite(t[i])) return SP_ERR_NOT_FINITE;
    for (i = 1; i < nt; ++i)
        if (t[i] < t[i - 1]) return SP_ERR_BAD_ARG;
    if (t[0] != t[3] || t[nt - 1] != t[nt - 4] || !(t[nt - 1] > t[0])) return SP_ERR_BAD_ARG;
    b->t = t;
    b->tab = NULL;
    b->nt = nt;
    b->nb = nt - 4;
    b->t0 = t[0];
    b->t1 = t[nt - 1];
    dt = (t[nt - 4] - t[3]) / (nt - 7);
    b->inv_dt = 1.0 / dt;
    b->uniform = 1;
    for (i = 3; i <= nt - 4; ++i)
        if (fabs(t[i] - (t[3] + (i - 3) * dt)) > 1e-9 * (fabs(t[i]) + 1.0)) b->uniform = 0;
    return SP_OK;
}

SP_API size_t sp_bspline_table_size(int nt) { return nt >= 8 ? 16 * (size_t)(nt - 7) : 0; }

SP_API void sp_bspline_set_table(sp_bspline_t *b, double *tab) {
    int k, a, j;
    for (k = 3; k <= b->nt - 5; ++k) {
        double ders[4][4], *row = tab + 16 * (size_t)(k - 3);
        if (!(b->t[k + 1] > b->t[k])) {
            for (j = 0; j < 16; ++j) row[j] = 0.0;
            continue;
        }
        sp__bspline_ders(b->t, k, b->t[k], 3, ders);
        for (a = 0; a < 4; ++a) { /* basis a of the interval: sum_q row[4a+q] (x - t_k)^q */
            row[4 * a] = ders[0][a];
            row[4 * a + 1] = ders[1][a];
            row[4 * a + 2] = ders[2][a] * 0.5;
            row[4 * a + 3] = ders[3][a] * (1.0 / 6.0);
        }
    }
    b->tab = tab;
}

SP_API int sp_bspline_basis_fast(const sp_bspline_t *b, double x, double *out_b, double *out_db) {
    double ders[4][4];
    int k, j;
    if (!(x >= b->t0 && x <= b->t1)) {
        for (j = 0; j < 4; ++j) {
            out_b[j] = 0.0;
            if (out_db) out_db[j] = 0.0;
        }
        return -1;
    }
    if (b->uniform) {
        k = 3 + (int)((x - b->t0) * b->inv_dt);
        if (k > b->nt - 5) k = b->nt - 5;
        /* guard against rounding across a knot */
        while (k > 3 && x < b->t[k]) --k;
        while (k < b->nt - 5 && x >= b->t[k + 1]) ++k;
    } else {
        k = sp__bspline_span(b->t, b->nt, x);
    }
    if (b->tab) {
        const double *row = b->tab + 16 * (size_t)(k - 3);
        const double u = x - b->t[k];
        for (j = 0; j < 4; ++j) {
            const double *c = row + 4 * j;
            out_b[j] = c[0] + u * (c[1] + u * (c[2] + u * c[3]));
            if (out_db) out_db[j] = c[1] + u * (2.0 * c[2] + 3.0 * u * c[3]);
        }
        return k - 3;
    }
    sp__bspline_ders(b->t, k, x, out_db ? 1 : 0, ders);
    for (j = 0; j < 4; ++j) {
        out_b[j] = ders[0][j];
        if (out_db) out_db[j] = ders[1][j];
    }
    return k - 3;
}

SP_API double sp_bspline_eval(const sp_bspline_t *b, const double *c, double x, double *out_d,
                              double *out_d2) {
    double bv[4], db[4], d2b[4], v = 0.0, d = 0.0, d2 = 0.0;
    int j, i0 = sp_bspline_basis(b->t, b->nt, x, bv, db, d2b);
    if (i0 >= 0)
        for (j = 0; j < 4; ++j) {
            v += c[i0 + j] * bv[j];
            d += c[i0 + j] * db[j];
            d2 += c[i0 + j] * d2b[j];
        }
    if (out_d) *out_d = d;
    if (out_d2) *out_d2 = d2;
    return v;
}

/* ==================================================================
 * >>cells    implementation
 * ================================================================== */

/* the 6 independent components of a symmetric 3x3 tensor (row-major): xx yy zz yz xz xy */
static const int sp__voigt[6] = {0, 4, 8, 5, 2, 1};

static double sp__det3(const double *h) {
    return h[0] * (h[4] * h[8] - h[5] * h[7]) - h[1] * (h[3] * h[8] - h[5] * h[6]) +
           h[2] * (h[3] * h[7] - h[4] * h[6]);
}

static void sp__cross(const double *a, const double *b, double *c) {
    c[0] = a[1] * b[2] - a[2] * b[1];
    c[1] = a[2] * b[0] - a[0] * b[2];
    c[2] = a[0] * b[1] - a[1] * b[0];
}

static double sp__norm3(const double *a) { return sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]); }

/* A cell with non-degenerate vectors: open directions whose vector is zero or
   coplanar with the others are replaced by unit vectors perpendicular to the
   periodic ones. Returns SP_ERR_BAD_CELL for a degenerate periodic part. */
static sp_result_t sp__cell_effective(const sp_cell_t *c, double *h, double *vol) {
    double la, lb, lc, v, t[3];
    int d, p[3], np = 0, q[3], nq = 0;
    for (d = 0; d < 9; ++d) {
        if (!sp__isfinite(c->h[d])) return SP_ERR_NOT_FINITE;
        h[d] = c->h[d];
    }
    for (d = 0; d < 3; ++d) {
        if (c->pbc[d]) p[np++] = d;
        else q[nq++] = d;
        if (c->pbc[d] && !(sp__norm3(h + 3 * d) > 0.0)) return SP_ERR_BAD_CELL;
    }
    la = sp__norm3(h); lb = sp__norm3(h + 3); lc = sp__norm3(h + 6);
    v = sp__det3(h);
    if (!(fabs(v) > 1e-10 * la * lb * lc)) {
        if (np == 3) return SP_ERR_BAD_CELL;
        if (np == 2) {
            sp__cross(h + 3 * p[0], h + 3 * p[1], t);
            lc = sp__norm3(t);
            if (!(lc > 1e-10 * sp__norm3(h + 3 * p[0]) * sp__norm3(h + 3 * p[1])))
                return SP_ERR_BAD_CELL;
            for (d = 0; d < 3; ++d) h[3 * q[0] + d] = t[d] / lc;
        } else if (np == 1) {
            const double *a = h + 3 * p[0];
            double e[3] = {0, 0, 0}, u[3], w[3];
            int m = 0;
            if (fabs(a[1]) < fabs(a[m])) m = 1;
            if (fabs(a[2]) < fabs(a[m])) m = 2;
            e[m] = 1.0;
            sp__cross(a, e, u);
            lc = sp__norm3(u);
            for (d = 0; d < 3; ++d) u[d] /= lc;
            sp__cross(a, u, w);
            lc = sp__norm3(w);
            for (d = 0; d < 3; ++d) {
                h[3 * q[0] + d] = u[d];
                h[3 * q[1] + d] = w[d] / lc;
            }
        } else {
            for (d = 0; d < 9; ++d) h[d] = (d % 4 == 0) ? 1.0 : 0.0;
        }
        v = sp__det3(h);
    }
    *vol = v;
    return SP_OK;
}

static void sp__inv3(const double *h, double det, double *g) {
    g[0] = (h[4] * h[8] - h[5] * h[7]) / det;
    g[1] = (h[2] * h[7] - h[1] * h[8]) / det;
    g[2] = (h[1] * h[5] - h[2] * h[4]) / det;
    g[3] = (h[5] * h[6] - h[3] * h[8]) / det;
    g[4] = (h[0] * h[8] - h[2] * h[6]) / det;
    g[5] = (h[2] * h[3] - h[0] * h[5]) / det;
    g[6] = (h[3] * h[7] - h[4] * h[6]) / det;
    g[7] = (h[1] * h[6] - h[0] * h[7]) / det;
    g[8] = (h[0] * h[4] - h[1] * h[3]) / det;
}

SP_API sp_result_t sp_cell_check(const sp_cell_t *c, double *out_volume) {
    double h[9], v;
    sp_result_t r;
    if (!c) return SP_ERR_BAD_ARG;
    r = sp__cell_effective(c, h, &v);
    if (r == SP_OK && out_volume) *out_volume = fabs(v);
    return r;
}

SP_API void sp_nlist_free(sp_nlist_t *nl) {
    sp_allocator_t a;
    if (!nl) return;
    a = nl->allocator;
    sp__free(&a, nl->first);
    sp__free(&a, nl->j);
    sp__free(&a, nl->rev);
    sp__free(&a, nl->owner);
    sp__free(&a, nl->shift);
    sp__free(&a, nl->xe);
    sp__free(&a, nl->x0);
    sp__free(&a, nl->scr_int);
    sp__free(&a, nl->scr_dbl);
    sp__free(&a, nl->scr_ext);
    sp__free(&a, nl->scr_pairs);
    sp__free(&a, nl->scr_key);
    sp__free(&a, nl->scr_cand);
    memset(nl, 0, sizeof *nl);
    nl->allocator = a;
}

SP_API void sp_nlist_update(sp_nlist_t *nl, const double *pos) {
    int a;
    for (a = 0; a < nl->next; ++a) {
        const double *x = pos + 3 * nl->owner[a];
        const double *s = nl->shift + 3 * a;
        nl->xe[3 * a] = x[0] + s[0];
        nl->xe[3 * a + 1] = x[1] + s[1];
        nl->xe[3 * a + 2] = x[2] + s[2];
    }
}

/* The k-th copy of local atom i in the extended set: i itself for k = 0,
   then its ghosts, k = 1 .. gfirst[i + 1] - gfirst[i]. */
static SP__INLINE int sp__nl_copy(const sp_nlist_t *nl, int i, int k) {
    return k == 0 ? i : nl->glist[nl->gfirst[i] + k - 1];
}

SP_API void sp_nlist_move(sp_nlist_t *nl, int i, const double *x) {
    int k;
    if (!nl || !x || i < 0 || i >= nl->natoms || !nl->gfirst) return;
    for (k = 0; k <= nl->gfirst[i + 1] - nl->gfirst[i]; ++k) {
        const int a = sp__nl_copy(nl, i, k);
        const double *s = nl->shift + 3 * (size_t)a;
        nl->xe[3 * (size_t)a] = x[0] + s[0];
        nl->xe[3 * (size_t)a + 1] = x[1] + s[1];
        nl->xe[3 * (size_t)a + 2] = x[2] + s[2];
    }
}

SP_API int sp_nlist_stale(const sp_nlist_t *nl, const double *pos, double cutoff) {
    double skin, lim;
    int i;
    if (!nl || (nl->natoms > 0 && !pos)) return 1;
    skin = nl->cutoff - cutoff;
    lim = 0.25 * skin * skin;
    if (!(skin >= 0.0)) return 1;
    for (i = 0; i < nl->natoms; ++i) {
        const double *x = pos + 3 * (size_t)i, *s = nl->shift + 3 * (size_t)i, *b = nl->x0 + 3 * (size_t)i;
        const double d0 = x[0] + s[0] - b[0], d1 = x[1] + s[1] - b[1], d2 = x[2] + s[2] - b[2];
        if (!(d0 * d0 + d1 * d1 + d2 * d2 <= lim)) return 1;
    }
    return 0;
}

/* v -> v m for n row vectors of 3 doubles. */
static void sp__map3(double *v, size_t n, const double *m) {
    size_t a;
    for (a = 0; a < n; ++a) {
        double *x = v + 3 * a;
        const double x0 = x[0], x1 = x[1], x2 = x[2];
        x[0] = x0 * m[0] + x1 * m[3] + x2 * m[6];
        x[1] = x0 * m[1] + x1 * m[4] + x2 * m[7];
        x[2] = x0 * m[2] + x1 * m[5] + x2 * m[8];
    }
}

SP_API sp_result_t sp_nlist_deform(sp_nlist_t *nl, const double *m) {
    double mm[9], w[3], work[6];
    int a, b, k;
    if (!nl || !m) return SP_ERR_BAD_ARG;
    for (a = 0; a < 9; ++a)
        if (!sp__isfinite(m[a])) return SP_ERR_NOT_FINITE;
    for (a = 0; a < 3; ++a) /* |r m|^2 = r (m m^T) r^T */
        for (b = 0; b < 3; ++b) {
            double s = 0.0;
            for (k = 0; k < 3; ++k) s += m[3 * a + k] * m[3 * b + k];
            mm[3 * a + b] = s;
        }
    if (sp_linalg_eigsym(3, mm, 3, w, work) != SP_OK || !(w[0] > 1e-12 * w[2])) return SP_ERR_BAD_CELL;
    sp__map3(nl->shift, (size_t)nl->next, m);
    sp__map3(nl->x0, (size_t)nl->natoms, m);
    nl->cutoff *= sqrt(w[0] - 4e-16 * w[2]);
    return SP_OK;
}

SP_API sp_result_t sp_rdf_add(const sp_nlist_t *nl, const int *type, int ntypes, double rmax, int nbins,
                              double *hist) {
    const double scale = (double)nbins / rmax;
    int i, b;
    if (!nl || !hist || ntypes < 1 || nbins < 1 || !(rmax > 0.0) || (nl->natoms > 0 && !type)) return SP_ERR_BAD_ARG;
    if (nl->cutoff < rmax) return SP_ERR_RANGE;
    for (i = 0; i < nl->natoms; ++i)
        if (type[i] < 0 || type[i] >= ntypes) return SP_ERR_BAD_ARG;
    for (i = 0; i < nl->natoms; ++i) {
        const double *xi = nl->xe + 3 * (size_t)i;
        double *h = hist + (size_t)type[i] * ntypes * nbins;
        for (b = nl->first[i]; b < nl->first[i + 1]; ++b) {
            const int g = nl->j[b];
            const double *xg = nl->xe + 3 * (size_t)g;
            const double dx = xg[0] - xi[0], dy = xg[1] - xi[1], dz = xg[2] - xi[2];
            const double r = sqrt(dx * dx + dy * dy + dz * dz);
            const int k = (int)(r * scale);
            if (r < rmax && k < nbins) h[(size_t)type[nl->owner[g]] * nbins + k] += 1.0;
        }
    }
    return SP_OK;
}

/* Grows an array of the nlist keeping no contents; returns 0 on failure. */
#define SP__GROW(nl, ptr, cap, n, type) \
    sp__reserve(&(nl)->allocator, (void **)&(ptr), &(cap), (size_t)(n), sizeof(type))

/* The build in passes, each split into fixed, contiguous parts (of atoms,
   extended atoms or bins; one per OpenMP thread), so that every array comes
   out the same for any thread count:
     1. wrap: fractional coordinates, integer wraps, images of each atom
     2. ghosts: locals, then ghosts by image with owners ascending, and xe
     3. bins at least the cutoff wide, numbered first along the direction
        the atoms' order runs fastest; slots by bin, in index order inside
        a bin (locals first); positions copied into slot order
     4. search: per bin, the slots of the 3x3 rows of bins around it are
        gathered into one run (locals, then ghosts, each in slot order,
        positions relative to the bin in floats); each centre of the bin
        keeps those of the run within the cutoff, 16 at a time, into its
        part's buffer
     5. lists into place in atom order, reverse links (sp__nl_link).
   A pair is decided on the distance in doubles that its lower end (key
   owner * ntimg + image) sees, xe[upper] - xe[lower], as in a half list,
   so i->j and j->i agree: a float distance decides only outside its error
   bound of the cutoff; a centre that meets one inside it (or an overlap)
   is redone in doubles (sp__nl_exact). */
#define SP__NL_MAXTH 64 /* threads a build splits its work over, at most */

#if defined(SP__X86_INTRIN) && defined(__AVX512F__) && defined(__AVX512VL__) && (defined(__GNUC__) || defined(__clang__))
#define SP__NL_AVX512 1
#endif

/* Threads for a build of n atoms: one below 20000, where threads gain
   little and lose much when the machine is shared (every pass ends in a
   wait for the slowest thread). */
static int sp__nl_threads(size_t n) {
#ifdef SP__OMP
    int t = omp_get_max_threads();
    if (n < 20000 || t < 1) return 1;
    return t > SP__NL_MAXTH ? SP__NL_MAXTH : t;
#else
    (void)n;
    return 1;
#endif
}

/* Thread number and team size in a parallel region. A region loops over
   its parts (as many as it asked threads for), so that a smaller team (a
   nested region, dynamic adjustment) still does all the work. */
static int sp__nl_tid(void) {
#ifdef SP__OMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static int sp__nl_team(void) {
#ifdef SP__OMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

/* Start of part t of n items split into nth contiguous parts. */
static size_t sp__nl_part(size_t n, int t, int nth) {
    return n / (size_t)nth * (size_t)t + n % (size_t)nth * (size_t)t / (size_t)nth;
}

/* Fractional coordinates s of one atom, wrapped into [0, 1) along periodic
   directions by the integer shift w. Returns 1 for a non-finite position,
   2 for one too many cells away (*far: its coordinate), else 0. */
static int sp__nl_wrap(const double *x, const double *g, const int *pbc, double *s, int *w, double *far) {
    int d;
    if (!sp__isfinite(x[0]) || !sp__isfinite(x[1]) || !sp__isfinite(x[2])) return 1;
    for (d = 0; d < 3; ++d) {
        double sd = x[0] * g[d] + x[1] * g[3 + d] + x[2] * g[6 + d];
        int wd = 0;
        if (pbc[d]) {
            double fl;
            if (fabs(sd) > 1e8) {
                *far = sd;
                return 2;
            }
            fl = floor(sd);
            wd = -(int)fl;
            sd -= fl;
            if (sd >= 1.0) { sd -= 1.0; wd -= 1; }
            if (sd < 0.0) sd = 0.0;
        }
        s[d] = sd;
        w[d] = wd;
    }
    return 0;
}

/* The images T (|T_d| <= m_d) of an atom at s with s_d + T_d in [lo_d, hi_d]:
   an interval [r[2d], r[2d+1]] per direction (s_d + T_d grows with T_d).
   Returns their number less the atom itself. */
static int sp__nl_images(const double *s, const int *m, const double *lo, const double *hi, int *r) {
    int d, n = 1;
    for (d = 0; d < 3; ++d) {
        int a = -m[d], b = m[d];
        while (a < 0 && !(s[d] + a >= lo[d])) ++a;
        while (b > 0 && !(s[d] + b <= hi[d])) --b;
        r[2 * d] = a;
        r[2 * d + 1] = b;
        n *= b - a + 1;
    }
    return n - 1;
}

/* Bin of an extended atom at fractional c (clamped): bin axis a runs along
   cell direction ax[a], with smin, ibw (1 / bin width) and nb per axis. */
static SP__INLINE int sp__nl_bin(const double *c, const int *ax, const double *smin, const double *ibw,
                                 const int *nb) {
    int a, b[3];
    for (a = 0; a < 3; ++a) {
        b[a] = (int)((c[ax[a]] - smin[a]) * ibw[a]);
        if (b[a] < 0) b[a] = 0;
        if (b[a] >= nb[a]) b[a] = nb[a] - 1;
    }
    return b[0] + nb[0] * (b[1] + nb[1] * b[2]);
}

/* Squared distance from local atom c to the image T of atom o, with the
   arithmetic of xe (x + W h, sp_nlist_update) and of the search (partner
   minus centre): the number the pair's lower end sees when it is c. */
static double sp__nl_r2(const double *pos, const int *W, const double *h, int c, int o, const int *T) {
    const int *wc = W + 3 * (size_t)c, *wo = W + 3 * (size_t)o;
    const int wx = wo[0] + T[0], wy = wo[1] + T[1], wz = wo[2] + T[2];
    double r2 = 0.0;
    int d;
    for (d = 0; d < 3; ++d) {
        const double so = wx * h[d] + wy * h[3 + d] + wz * h[6 + d];
        const double sc = wc[0] * h[d] + wc[1] * h[3 + d] + wc[2] * h[6 + d];
        const double v = (pos[3 * (size_t)o + d] + so) - (pos[3 * (size_t)c + d] + sc);
        r2 += v * v;
    }
    return r2;
}

/* Bin-sorted extended set and what the search needs to decide a pair. */
typedef struct sp__nl_grid_t {
    const double *x, *y, *z;   /* positions, in slot order */
    const double *xe;          /* positions, by extended atom */
    const int *slot;           /* extended atom in each slot */
    const int *bs;             /* first slot of each bin, nbins + 1 */
    const int *nloc;           /* locals of each bin (they come first) */
    const int *owner, *timg, *W;
    const double *pos, *h;
    int nb[3], m[3], natoms, t0;
    size_t stride;             /* candidates a centre may have, + 16 */
    double rc2, tol;           /* distances within tol of rc2 are decided exactly */
    int fast;                  /* float distances decide (else every centre goes sp__nl_exact) */
    float lo, hi, ov;          /* float distances: kept below lo, dropped from hi, redone below ov */
} sp__nl_grid_t;

/* Results of a part of the search. */
typedef struct sp__nl_part_t {
    size_t need;               /* slots its centres' lists took */
    int over;                  /* the buffer was too small */
    int ov_i, ov_j;            /* first overlapping pair seen (ov_i < 0: none) */
    double ov_r;
} sp__nl_part_t;

/* The candidates of the centres of bin b: the slots of the 3x3 rows of
   bins around it (bins are at least the cutoff wide); *nbin: those bins. */
static int sp__nl_ncand(const sp__nl_grid_t *G, size_t b, int *nbin) {
    const size_t nx = (size_t)G->nb[0], ny = (size_t)G->nb[1], nz = (size_t)G->nb[2];
    const size_t bx = b % nx, by = (b / nx) % ny, bz = b / (nx * ny);
    const size_t x0 = bx > 0 ? bx - 1 : 0, x1 = bx + 1 < nx ? bx + 1 : nx - 1;
    size_t cy, cz;
    int nc = 0;
    *nbin = 0;
    for (cz = bz > 0 ? bz - 1 : 0; cz <= bz + 1 && cz < nz; ++cz)
        for (cy = by > 0 ? by - 1 : 0; cy <= by + 1 && cy < ny; ++cy) {
            const size_t row = nx * (cy + ny * cz);
            nc += G->bs[row + x1 + 1] - G->bs[row + x0];
            *nbin += (int)(x1 - x0 + 1);
        }
    return nc;
}

/* Copies n ints (inline: most lists are short). */
static SP__INLINE void sp__nl_copyi(int *SP_RESTRICT d, const int *SP_RESTRICT s, int n) {
#ifdef SP__NL_AVX512
    int k;
    for (k = 0; k < n; k += 16) {
        const __mmask16 m = (__mmask16)(n - k >= 16 ? 0xFFFFu : (1u << (n - k)) - 1u);
        _mm512_mask_storeu_epi32(d + k, m, _mm512_maskz_loadu_epi32(m, s + k));
    }
#else
    memcpy(d, s, (size_t)n * sizeof(int));
#endif
}

/* Appends slots [q0, q1) to a candidate run: positions relative to o in
   floats (cx, cx + S, cx + 2 S), extended atoms (cs). */
static SP__INLINE void sp__nl_put(const sp__nl_grid_t *G, int q0, int q1, const double *o, float *SP_RESTRICT cx,
                                  int *SP_RESTRICT cs) {
    const size_t S = G->stride;
#ifdef SP__NL_AVX512
    const __m512d ox = _mm512_set1_pd(o[0]), oy = _mm512_set1_pd(o[1]), oz = _mm512_set1_pd(o[2]);
    int q;
    for (q = q0; q < q1; q += 8) { /* whole stores: the lanes past q1 are overwritten next, or unused */
        const __mmask8 m = (__mmask8)(q1 - q >= 8 ? 0xFFu : (1u << (q1 - q)) - 1u);
        _mm256_storeu_ps(cx, _mm512_cvtpd_ps(_mm512_sub_pd(_mm512_maskz_loadu_pd(m, G->x + q), ox)));
        _mm256_storeu_ps(cx + S, _mm512_cvtpd_ps(_mm512_sub_pd(_mm512_maskz_loadu_pd(m, G->y + q), oy)));
        _mm256_storeu_ps(cx + 2 * S, _mm512_cvtpd_ps(_mm512_sub_pd(_mm512_maskz_loadu_pd(m, G->z + q), oz)));
        _mm256_storeu_si256((__m256i *)cs, _mm256_maskz_loadu_epi32(m, G->slot + q));
        cx += 8;
        cs += 8;
    }
#else
    int q;
    for (q = q0; q < q1; ++q, ++cx, ++cs) {
        cx[0] = (float)(G->x[q] - o[0]);
        cx[S] = (float)(G->y[q] - o[1]);
        cx[2 * S] = (float)(G->z[q] - o[2]);
        cs[0] = G->slot[q];
    }
#endif
}

/* The candidates of the centres of bin b: the slots of the 3x3 rows of bins
   around it (bins are at least the cutoff wide) as one run, the locals in
   slot order, then the ghosts in slot order; positions relative to the
   bin's first atom, in floats (cx, cx + stride, cx + 2 stride), extended
   atoms in cs. Returns the run's length; *self: the position of the bin's
   first slot; *nlr: the locals. */
static int sp__nl_gather(const sp__nl_grid_t *G, size_t b, float *SP_RESTRICT cx, int *SP_RESTRICT cs, int *self,
                         int *nlr) {
    const size_t nx = (size_t)G->nb[0], ny = (size_t)G->nb[1], nz = (size_t)G->nb[2];
    const size_t bx = b % nx, by = (b / nx) % ny, bz = b / (nx * ny);
    const size_t x0 = bx > 0 ? bx - 1 : 0, x1 = bx + 1 < nx ? bx + 1 : nx - 1;
    const size_t y0 = by > 0 ? by - 1 : 0, y1 = by + 1 < ny ? by + 1 : ny - 1;
    const size_t z0 = bz > 0 ? bz - 1 : 0, z1 = bz + 1 < nz ? bz + 1 : nz - 1;
    double o[3];
    size_t cy, cz, x;
    int n = 0, pass;
    o[0] = G->x[G->bs[b]];
    o[1] = G->y[G->bs[b]];
    o[2] = G->z[G->bs[b]];
    for (pass = 0; pass < 2; ++pass) { /* locals, then ghosts */
        for (cz = z0; cz <= z1; ++cz)
            for (cy = y0; cy <= y1; ++cy) {
                const size_t row = nx * (cy + ny * cz);
                int whole = 1;
                for (x = x0; x <= x1; ++x) whole &= G->nloc[row + x] == G->bs[row + x + 1] - G->bs[row + x];
                if (whole) { /* no ghosts: the row at once */
                    if (pass == 0) {
                        if (cy == by && cz == bz) *self = n + G->bs[b] - G->bs[row + x0];
                        sp__nl_put(G, G->bs[row + x0], G->bs[row + x1 + 1], o, cx + n, cs + n);
                        n += G->bs[row + x1 + 1] - G->bs[row + x0];
                    }
                    continue;
                }
                for (x = x0; x <= x1; ++x) {
                    const int q0 = G->bs[row + x], ql = q0 + G->nloc[row + x], q1 = G->bs[row + x + 1];
                    if (pass == 0 && row + x == b) *self = n;
                    if (pass == 0) sp__nl_put(G, q0, ql, o, cx + n, cs + n);
                    else sp__nl_put(G, ql, q1, o, cx + n, cs + n);
                    n += pass == 0 ? ql - q0 : q1 - ql;
                }
            }
        if (pass == 0) *nlr = n;
    }
    return n;
}

#ifdef SP__NL_AVX512
/* The candidates [a, b) of a run within float distance lo of the centre
   (xi, yi, zi), their extended atoms appended to out in run order (a full
   16-lane store each time: out needs 16 slots beyond the last). Folds into
   *rout the smallest distance it keeps out, into *rmin the smallest one. */
static SP__INLINE int sp__nl_seg(const float *cx, size_t S, const int *cs, int a, int b, __m512 xi, __m512 yi,
                                 __m512 zi, __m512 lo, __m512 *rout, __m512 *rmin, int *SP_RESTRICT out) {
    __m512 f = *rout, r = *rmin;
    int c = 0, k;
    for (k = a; k < b; k += 16) {
        const __mmask16 ld = (__mmask16)(b - k >= 16 ? 0xFFFFu : (1u << (b - k)) - 1u);
        const __m512 dx = _mm512_sub_ps(_mm512_maskz_loadu_ps(ld, cx + k), xi);
        const __m512 dy = _mm512_sub_ps(_mm512_maskz_loadu_ps(ld, cx + S + k), yi);
        const __m512 dz = _mm512_sub_ps(_mm512_maskz_loadu_ps(ld, cx + 2 * S + k), zi);
        const __m512 r2 = _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(dx, dx), _mm512_mul_ps(dy, dy)),
                                        _mm512_mul_ps(dz, dz));
        const __mmask16 keep = _mm512_mask_cmp_ps_mask(ld, r2, lo, _CMP_LT_OQ);
        _mm512_storeu_si512((void *)(out + c),
                            _mm512_maskz_compress_epi32(keep, _mm512_maskz_loadu_epi32(ld, cs + k)));
        c += __builtin_popcount((unsigned)keep);
        f = _mm512_mask_min_ps(f, (__mmask16)(ld & ~keep), f, r2);
        r = _mm512_mask_min_ps(r, ld, r, r2);
    }
    *rout = f;
    *rmin = r;
    return c;
}
#endif

/* The partners of the centre at position p of a candidate run (cx, cs, nc
   long, its first nlr locals; sp__nl_gather): the others whose float
   distance is below G->lo, their extended atoms written to out in run
   order (out needs room for nc + 16). Returns their number; *nloc: the
   locals among them, *low: those before p. *spec: a float distance in
   [lo, hi), or below ov, was met: the centre is to be redone by
   sp__nl_exact. */
static int sp__nl_scan(const sp__nl_grid_t *G, const float *cx, const int *cs, int nc, int nlr, int p,
                       int *SP_RESTRICT out, int *spec, int *nloc, int *low) {
#ifdef SP__NL_AVX512
    /* in three runs, so no lane masks beyond the tails: before the
       centre, the other locals, the ghosts */
    const size_t S = G->stride;
    const __m512 xi = _mm512_set1_ps(cx[p]), yi = _mm512_set1_ps(cx[S + p]), zi = _mm512_set1_ps(cx[2 * S + p]);
    const __m512 lo = _mm512_set1_ps(G->lo);
    __m512 rout = _mm512_set1_ps(HUGE_VALF), rmin = rout;
    const int c0 = sp__nl_seg(cx, S, cs, 0, p, xi, yi, zi, lo, &rout, &rmin, out);
    const int c1 = c0 + sp__nl_seg(cx, S, cs, p + 1, nlr, xi, yi, zi, lo, &rout, &rmin, out + c0);
    const int c = c1 + sp__nl_seg(cx, S, cs, nlr, nc, xi, yi, zi, lo, &rout, &rmin, out + c1);
    *spec = _mm512_reduce_min_ps(rout) < G->hi || _mm512_reduce_min_ps(rmin) < G->ov;
    *nloc = c1;
    *low = c0;
    return c;
#else
    const float *cy = cx + G->stride, *cz = cy + G->stride;
    const float xi = cx[p], yi = cy[p], zi = cz[p], lo = G->lo, hi = G->hi, ov = G->ov;
    int c = 0, nl = 0, lw = 0, k, sp = 0;
    for (k = 0; k < nc; ++k) {
        const float dx = cx[k] - xi, dy = cy[k] - yi, dz = cz[k] - zi;
        const float r2 = dx * dx + dy * dy + dz * dz;
        const int other = k != p, in = r2 < lo, keep = in & other;
        out[c] = cs[k];
        c += keep;
        nl += keep & (k < nlr);
        lw += keep & (k < p);
        sp |= ((r2 < hi) & !in) | ((r2 < ov) & other);
    }
    *spec = sp != 0;
    *nloc = nl;
    *low = lw;
    return c;
#endif
}

/* sp__nl_scan for a centre that met a distance near the cutoff or an
   overlap, in doubles (xe[g] - xe[i], as a half list): the pairs within tol
   of the cutoff take the distance their lower end sees (sp__nl_r2). An
   overlap seen from its lower end goes to P. */
static int sp__nl_exact(const sp__nl_grid_t *G, const int *cs, int nc, int nlr, int p, int *out, int *nloc, int *low,
                        sp__nl_part_t *P) {
    const int i = cs[p], nx = 2 * G->m[0] + 1, ny = 2 * G->m[1] + 1;
    const double *xi = G->xe + 3 * (size_t)i;
    int c = 0, nl = 0, lw = 0, k;
    for (k = 0; k < nc; ++k) {
        const int gk = cs[k], o = G->owner[gk], t = G->timg[gk];
        const int lower = o > i || (o == i && t > G->t0); /* i is the lower end */
        const double *xk = G->xe + 3 * (size_t)gk;
        const double dx = xk[0] - xi[0], dy = xk[1] - xi[1], dz = xk[2] - xi[2];
        double r2 = dx * dx + dy * dy + dz * dz;
        if (k == p) continue;
        if (fabs(r2 - G->rc2) <= G->tol) {
            int T[3];
            T[0] = t % nx - G->m[0];
            T[1] = (t / nx) % ny - G->m[1];
            T[2] = t / (nx * ny) - G->m[2];
            if (lower) r2 = sp__nl_r2(G->pos, G->W, G->h, i, o, T);
            else {
                T[0] = -T[0]; T[1] = -T[1]; T[2] = -T[2];
                r2 = sp__nl_r2(G->pos, G->W, G->h, o, i, T);
            }
        }
        if (r2 >= G->rc2) continue;
        if (lower && r2 < 1e-12 && P->ov_i < 0) {
            P->ov_i = i;
            P->ov_j = o;
            P->ov_r = sqrt(r2);
        }
        out[c++] = gk;
        nl += k < nlr;
        lw += k < p;
    }
    *nloc = nl;
    *low = lw;
    return c;
}

/* The centres of bins [b0, b1): their lists into buf[base, base + cap),
   with A[4i..4i+3] = offset, length, locals, locals in earlier slots (+
   2^30 when all of them lie in this part's bins, at or past bin0); once
   the buffer is full it goes on counting (P->over, P->need: slots needed),
   writing over its start. cap must hold any one list (stride); cf (3
   strides) and ci (1) are the part's staging. */
static void sp__nl_search(const sp__nl_grid_t *G, size_t b0, size_t b1, size_t bin0, int *buf, size_t base,
                          size_t cap, float *cf, int *ci, int *A, sp__nl_part_t *P) {
    size_t b, c = 0, extra = 0;
    P->over = 0;
    P->ov_i = -1;
    P->ov_j = 0;
    P->ov_r = 0.0;
    for (b = b0; b < b1; ++b) {
        int pa = G->bs[b], k, nc, nlr = 0, p = 0;
        if (G->nloc[b] == 0) continue;
        nc = sp__nl_gather(G, b, cf, ci, &p, &nlr);
        for (k = 0; k < G->nloc[b]; ++k, ++pa, ++p) {
            int *SP_RESTRICT a = A + 4 * (size_t)G->slot[pa];
            int spec = 1, n = 0, *dst;
            if (!P->over && c + G->stride > cap) P->over = 1;
            dst = buf + base + (P->over ? 0 : c);
            if (G->fast) n = sp__nl_scan(G, cf, ci, nc, nlr, p, dst, &spec, a + 2, a + 3);
            if (spec) n = sp__nl_exact(G, ci, nc, nlr, p, dst, a + 2, a + 3, P);
            a[0] = (int)(base + c);
            a[1] = n;
            if (b >= bin0) a[3] += 1 << 30;
            if (P->over) extra += (size_t)n;
            else c += (size_t)n;
        }
    }
    P->need = c + extra;
}

/* The ghost of a local atom at image ti, from its ghosts gl[0..n) (by
   image), or -1. */
static int sp__nl_ghost(const int *gl, int n, const int *timg, int ti) {
    int a = 0, b = n - 1;
    while (a <= b) {
        const int mid = (a + b) / 2, tm = timg[gl[mid]];
        if (tm == ti) return gl[mid];
        if (tm < ti) a = mid + 1;
        else b = mid - 1;
    }
    return -1;
}

/* Position of e in l[0..n), or -1. */
static int sp__nl_find(const int *l, int n, int e) {
#ifdef SP__NL_AVX512
    const __m512i ev = _mm512_set1_epi32(e);
    int k;
    for (k = 0; k < n; k += 16) {
        const __mmask16 m = (__mmask16)(n - k >= 16 ? 0xFFFFu : (1u << (n - k)) - 1u);
        const unsigned hit = (unsigned)_mm512_mask_cmpeq_epi32_mask(m, _mm512_maskz_loadu_epi32(m, l + k), ev);
        if (hit) return k + __builtin_ctz(hit);
    }
    return -1;
#else
    int k;
    for (k = 0; k < n; ++k)
        if (l[k] == e) return k;
    return -1;
#endif
}

/* Lists of the centres of bins [b0, b1) into place (buf to j) and their
   reverse links. Rows hold locals (lower: in earlier slots, then upper),
   then ghosts. A local pair is linked from its earlier slot: centres go in
   slot order, so the k-th link into a row is its k-th lower entry, when all
   the row's lower partners are this part's (flag 2^30 in A[4o+3]):
   A[4o+1] is the entry the next link lands on. Other rows, and ghost pairs
   (linked from the lower end by owner and image), search the partner's
   row. Returns 0, or 1 + an entry whose reverse is missing. */
static size_t sp__nl_link(const sp__nl_grid_t *G, sp_nlist_t *nl, const int *buf, int *A, const int *gfirst,
                          const int *glist, size_t b0, size_t b1) {
    const int natoms = G->natoms, t0 = G->t0, ntimg = (2 * G->m[0] + 1) * (2 * G->m[1] + 1) * (2 * G->m[2] + 1);
    const int *SP_RESTRICT first = nl->first;
    int *SP_RESTRICT rev = nl->rev;
    size_t b;
    for (b = b0; b < b1; ++b) {
        int pa;
        for (pa = G->bs[b]; pa < G->bs[b + 1] && G->slot[pa] < natoms; ++pa) {
            const int i = G->slot[pa], fi = first[i], n = first[i + 1] - fi;
            const int *SP_RESTRICT ai = A + 4 * (size_t)i;
            const int *SP_RESTRICT row = buf + ai[0];
            const int nloc = ai[2], low = ai[3] & ~(1 << 30);
            int k;
            if (ai[3] >> 30 && ai[1] != fi + low) return (size_t)fi + 1; /* links in != lower entries */
            sp__nl_copyi(nl->j + fi, row, n);
            for (k = low; k < nloc; ++k) {
                const int o = row[k];
                int *SP_RESTRICT ao = A + 4 * (size_t)o;
                int rb;
                if (ao[3] >> 30) rb = ao[1]++;
                else {
                    rb = sp__nl_find(buf + ao[0], ao[3], i);
                    if (rb < 0) return (size_t)(fi + k) + 1;
                    rb += first[o];
                }
                rev[fi + k] = rb;
                rev[rb] = fi + k;
            }
            for (k = nloc; k < n; ++k) {
                const int gk = row[k], t = G->timg[gk], o = G->owner[gk];
                const int *ao = A + 4 * (size_t)o;
                int e, kk;
                if (o < i || (o == i && t < t0)) continue;
                e = sp__nl_ghost(glist + gfirst[i], gfirst[i + 1] - gfirst[i], G->timg, ntimg - 1 - t);
                kk = e < 0 ? -1 : sp__nl_find(buf + ao[0] + ao[2], first[o + 1] - first[o] - ao[2], e);
                if (kk < 0) return (size_t)(fi + k) + 1;
                rev[fi + k] = first[o] + ao[2] + kk;
                rev[first[o] + ao[2] + kk] = fi + k;
            }
        }
    }
    return 0;
}

/* Results of a part of the wrap pass. */
typedef struct sp__nl_wrapped_t {
    int bad;                  /* first atom with a bad position, or -1 */
    double xmax, wmax;        /* largest |x_d|, |W_d| */
    double smin[3], smax[3];  /* range of the fractional coordinates */
} sp__nl_wrapped_t;

SP_API sp_result_t sp_nlist_build(sp_nlist_t *nl, const sp_cell_t *cell, const double *pos,
                                  int natoms, double cutoff, sp_diag_t *diag) {
    double h[9], g[9], vol, w[3], lo[3], hi[3], smin[3], smax[3], bw[3], bsmin[3], ibw[3], amax, hsum = 0.0;
    double est[SP__NL_MAXTH];
    int m[3], nb[3], ax[3], bnb[3], ntimg, t0, d, t, nth, nthg, nthb, bad = -1, mmax = 0, maxc = 0;
    size_t next, nghost, nghost_max, nbins, k, total, prev;
    size_t bpart[SP__NL_MAXTH + 1], base[SP__NL_MAXTH + 1], tcap[SP__NL_MAXTH];
    int *W, *icnt, *gfirst, *timg, *binof, *slot, *bs, *glist, *A, *hist, *buf;
    double *frac;
    size_t ext_cap, cap_first, cap_entries;
    sp__nl_wrapped_t wr[SP__NL_MAXTH];
    sp__nl_part_t P[SP__NL_MAXTH];
    sp__nl_grid_t G;
    sp_result_t r;

    if (!nl || !cell || (natoms > 0 && !pos) || natoms < 0)
        return sp__fail(diag, SP_ERR_BAD_ARG, 0, "bad argument to sp_nlist_build");
    if (!(cutoff > 0.0) || !sp__isfinite(cutoff))
        return sp__fail(diag, SP_ERR_BAD_ARG, 0, "cutoff must be positive and finite");
    prev = nl->n_entries;
    nl->gfirst = nl->glist = NULL;
    nl->natoms = 0;
    nl->next = 0;
    nl->n_entries = 0;
    nl->cutoff = cutoff;
    r = sp__cell_effective(cell, h, &vol);
    if (r == SP_ERR_NOT_FINITE) return sp__fail(diag, r, 0, "cell has a non-finite number");
    if (r != SP_OK) return sp__fail(diag, r, 0, "cell is degenerate (zero volume or zero vector)");
    sp__inv3(h, vol, g);
    for (d = 0; d < 3; ++d) {
        double cr[3];
        sp__cross(h + 3 * ((d + 1) % 3), h + 3 * ((d + 2) % 3), cr);
        w[d] = fabs(vol) / sp__norm3(cr); /* perpendicular width */
        m[d] = cell->pbc[d] ? (int)ceil(cutoff / w[d]) : 0;
        if (m[d] > 200) return sp__fail(diag, SP_ERR_BAD_CELL, 0,
                                        "cell width %g is far too small for cutoff %g", w[d], cutoff);
        if (m[d] > mmax) mmax = m[d];
        /* ghosts: images with fractional coordinates in [lo, hi]; open directions: no bound */
        lo[d] = cell->pbc[d] ? -cutoff / w[d] - 1e-9 : -HUGE_VAL;
        hi[d] = cell->pbc[d] ? 1.0 + cutoff / w[d] + 1e-9 : HUGE_VAL;
    }
    for (d = 0; d < 9; ++d) hsum += fabs(h[d]);
    ntimg = (2 * m[0] + 1) * (2 * m[1] + 1) * (2 * m[2] + 1);
    t0 = m[0] + (2 * m[0] + 1) * (m[1] + (2 * m[1] + 1) * m[2]);
    nghost_max = (size_t)natoms * (size_t)ntimg;
    if (nghost_max > (size_t)200000000)
        return sp__fail(diag, SP_ERR_RANGE, 0, "too many periodic images (%zu)", nghost_max);
    nthg = sp__nl_threads((size_t)natoms);
    if ((size_t)nthg * (size_t)ntimg > (size_t)natoms) nthg = 1;

    /* scratch: frac (3n doubles); W (3n), image counts per part, then ghosts per atom (n + 1) */
    if (!SP__GROW(nl, nl->scr_dbl, nl->scr_dbl_cap, 3 * (size_t)natoms + 1, double) ||
        !SP__GROW(nl, nl->scr_int, nl->scr_int_cap, 4 * (size_t)natoms + (size_t)nthg * ntimg + 1, int))
        return sp__fail(diag, SP_ERR_NO_MEMORY, 0, "out of memory");
    frac = nl->scr_dbl;
    W = nl->scr_int;
    icnt = W + 3 * (size_t)natoms;
    gfirst = icnt + (size_t)nthg * ntimg;

    /* 1. wrap: fractional coordinates, integer wraps W, images of each atom counted */
#ifdef SP__OMP
#pragma omp parallel num_threads(nthg) if (nthg > 1)
#endif
    {
        int part;
        for (part = sp__nl_tid(); part < nthg; part += sp__nl_team()) {
            const int a1 = (int)sp__nl_part((size_t)natoms, part + 1, nthg);
            int *SP_RESTRICT ct = icnt + (size_t)part * ntimg;
            double xmax = 0.0, wmax = 0.0, s0[3], s1[3];
            int i, dd, bd = -1;
            for (dd = 0; dd < 3; ++dd) { s0[dd] = HUGE_VAL; s1[dd] = -HUGE_VAL; }
            for (i = 0; i < ntimg; ++i) ct[i] = 0;
            for (i = (int)sp__nl_part((size_t)natoms, part, nthg); i < a1; ++i) {
                double far, *s = frac + 3 * (size_t)i;
                int rr[6], tx, ty, tz;
                if (sp__nl_wrap(pos + 3 * (size_t)i, g, cell->pbc, s, W + 3 * (size_t)i, &far)) {
                    bd = i;
                    break;
                }
                for (dd = 0; dd < 3; ++dd) {
                    const double xa = fabs(pos[3 * (size_t)i + dd]), wa = fabs((double)W[3 * (size_t)i + dd]);
                    if (xa > xmax) xmax = xa;
                    if (wa > wmax) wmax = wa;
                    if (s[dd] < s0[dd]) s0[dd] = s[dd];
                    if (s[dd] > s1[dd]) s1[dd] = s[dd];
                }
                gfirst[i] = sp__nl_images(s, m, lo, hi, rr);
                if (gfirst[i] == 0) continue;
                for (tz = rr[4]; tz <= rr[5]; ++tz)
                    for (ty = rr[2]; ty <= rr[3]; ++ty)
                        for (tx = rr[0]; tx <= rr[1]; ++tx)
                            ++ct[tx + m[0] + (2 * m[0] + 1) * (ty + m[1] + (2 * m[1] + 1) * (tz + m[2]))];
            }
            wr[part].bad = bd;
            wr[part].xmax = xmax;
            wr[part].wmax = wmax;
            for (dd = 0; dd < 3; ++dd) {
                wr[part].smin[dd] = s0[dd];
                wr[part].smax[dd] = s1[dd];
            }
            ct[t0] = 0;
        }
    }
    {
        double wmax = 0.0;
        for (d = 0; d < 3; ++d) { smin[d] = HUGE_VAL; smax[d] = -HUGE_VAL; }
        amax = 0.0;
        for (t = 0; t < nthg; ++t) {
            if (bad < 0 && wr[t].bad >= 0) bad = wr[t].bad;
            if (wr[t].xmax > amax) amax = wr[t].xmax;
            if (wr[t].wmax > wmax) wmax = wr[t].wmax;
            for (d = 0; d < 3; ++d) {
                if (wr[t].smin[d] < smin[d]) smin[d] = wr[t].smin[d];
                if (wr[t].smax[d] > smax[d]) smax[d] = wr[t].smax[d];
            }
        }
        /* bound on |x_d| + |shift_d| of every extended atom */
        amax += (wmax + mmax) * hsum;
    }
    if (bad >= 0) {
        double s[3], far = 0.0;
        int wb[3];
        if (sp__nl_wrap(pos + 3 * (size_t)bad, g, cell->pbc, s, wb, &far) == 1)
            return sp__fail(diag, SP_ERR_NOT_FINITE, 0, "atom %d has a non-finite position", bad + 1);
        return sp__fail(diag, SP_ERR_RANGE, 0, "atom %d lies %g cells outside the cell", bad + 1, far);
    }
    /* image blocks in order, owners ascending: per-part counts become write positions */
    next = (size_t)natoms;
    for (t = 0; t < ntimg; ++t) {
        int u;
        for (u = 0; u < nthg; ++u) {
            const size_t c = (size_t)icnt[(size_t)u * ntimg + t];
            icnt[(size_t)u * ntimg + t] = (int)(next < (size_t)2000000000 ? next : 0);
            next += c;
        }
    }
    if (next > (size_t)2000000000) return sp__fail(diag, SP_ERR_RANGE, 0, "too many ghost atoms");
    nghost = next - (size_t)natoms;
    {
        int i, run = 0;
        for (i = 0; i < natoms; ++i) {
            const int c = gfirst[i];
            gfirst[i] = run;
            run += c;
        }
        gfirst[natoms] = run;
    }

    /* bins in fractional coordinates, each at least the cutoff wide (with a
       margin for rounding: atoms closer than the cutoff lie in the same or
       adjacent bins), over the ghosts' range [lo, hi] or the atoms' range */
    for (d = 0; d < 3; ++d) {
        const double gs = fabs(g[d]) + fabs(g[3 + d]) + fabs(g[6 + d]);
        const double bmin = cutoff / w[d] * (1.0 + 1e-9) + 3.6e-15 * (amax * gs + m[d] + 2.0);
        double nbd;
        if (cell->pbc[d]) { smin[d] = lo[d]; smax[d] = hi[d]; }
        else if (natoms == 0) { smin[d] = 0.0; smax[d] = 1.0; }
        nbd = floor((smax[d] - smin[d]) / bmin);
        if (!(nbd >= 1.0)) nbd = 1.0;
        if (nbd > 1e6) nbd = 1e6;
        nb[d] = (int)nbd;
    }
    while ((double)nb[0] * nb[1] * nb[2] > 2.0 * (double)next + 64.0) {
        int dm = 0;
        if (nb[1] > nb[dm]) dm = 1;
        if (nb[2] > nb[dm]) dm = 2;
        nb[dm] = (nb[dm] + 1) / 2;
    }
    for (d = 0; d < 3; ++d) {
        bw[d] = (smax[d] - smin[d]) / nb[d];
        if (!(bw[d] > 0.0)) bw[d] = 1.0;
    }
    /* bins numbered with the direction the atoms' order runs along fastest
       first (the one whose bin changes most often from atom to atom), so
       that slot order is close to atom order */
    {
        int changes[3] = {0, 0, 0}, prev[3] = {0, 0, 0}, i, a;
        for (i = 0; i < natoms && i < 4096; ++i)
            for (d = 0; d < 3; ++d) {
                const int bd = (int)((frac[3 * (size_t)i + d] - smin[d]) / bw[d]);
                changes[d] += i > 0 && bd != prev[d];
                prev[d] = bd;
            }
        for (a = 0; a < 3; ++a) ax[a] = a;
        for (a = 1; a < 3; ++a)
            for (d = a; d > 0 && changes[ax[d]] > changes[ax[d - 1]]; --d) {
                const int tmp = ax[d];
                ax[d] = ax[d - 1];
                ax[d - 1] = tmp;
            }
        for (a = 0; a < 3; ++a) {
            bsmin[a] = smin[ax[a]];
            ibw[a] = 1.0 / bw[ax[a]];
            bnb[a] = nb[ax[a]];
        }
    }
    nbins = (size_t)nb[0] * nb[1] * nb[2];
    nthb = sp__nl_threads((size_t)natoms);
    while (nthb > 1 && (size_t)nthb * nbins > next + 64) --nthb;
    nth = sp__nl_threads((size_t)natoms);

    /* extended atoms: owner, shift, xe */
    ext_cap = (size_t)nl->cap_ext;
    if (next > ext_cap || !nl->owner) {
        size_t c1 = 0, c2 = 0, c3 = 0;
        sp__free(&nl->allocator, nl->owner); nl->owner = NULL;
        sp__free(&nl->allocator, nl->shift); nl->shift = NULL;
        sp__free(&nl->allocator, nl->xe); nl->xe = NULL;
        if (!SP__GROW(nl, nl->owner, c1, next, int) || !SP__GROW(nl, nl->shift, c2, 3 * next, double) ||
            !SP__GROW(nl, nl->xe, c3, 3 * next, double)) {
            nl->cap_ext = 0;
            return sp__fail(diag, SP_ERR_NO_MEMORY, 0, "out of memory");
        }
        nl->cap_ext = (int)c1;
    }
    /* scratch: timg, binof, slot (next each), ghosts by owner (nghost), 4
       numbers per list (4n), bin starts (nbins + 1); per-part bin counts,
       then locals and expected entries per bin */
    if (!SP__GROW(nl, nl->scr_ext, nl->scr_ext_cap, 3 * next + nghost + 4 * (size_t)natoms + nbins + 1, int) ||
        !SP__GROW(nl, nl->scr_key, nl->scr_key_cap, (size_t)(nthb > 2 ? nthb : 2) * nbins + 1, int))
        return sp__fail(diag, SP_ERR_NO_MEMORY, 0, "out of memory");
    timg = nl->scr_ext;
    binof = timg + next;
    slot = binof + next;
    glist = slot + next;
    A = glist + nghost;
    bs = A + 4 * (size_t)natoms;
    hist = nl->scr_key;

    /* 2. locals, then ghosts by image with owners ascending (the same split
       into parts as the wrap); ghosts of each atom listed by image */
#ifdef SP__OMP
#pragma omp parallel num_threads(nthg) if (nthg > 1)
#endif
    {
        int part;
        for (part = sp__nl_tid(); part < nthg; part += sp__nl_team()) {
            const int a1 = (int)sp__nl_part((size_t)natoms, part + 1, nthg);
            int *SP_RESTRICT at = icnt + (size_t)part * ntimg;
            int *SP_RESTRICT owner = nl->owner;
            double *SP_RESTRICT shift = nl->shift, *SP_RESTRICT xe = nl->xe;
            int i, dd;
            for (i = (int)sp__nl_part((size_t)natoms, part, nthg); i < a1; ++i) {
                const double *s = frac + 3 * (size_t)i, *x = pos + 3 * (size_t)i;
                const int *wi = W + 3 * (size_t)i;
                int rr[6], tx, ty, tz, q = gfirst[i];
                owner[i] = i;
                timg[i] = t0;
                for (dd = 0; dd < 3; ++dd) {
                    shift[3 * (size_t)i + dd] = wi[0] * h[dd] + wi[1] * h[3 + dd] + wi[2] * h[6 + dd];
                    xe[3 * (size_t)i + dd] = x[dd] + shift[3 * (size_t)i + dd];
                }
                binof[i] = sp__nl_bin(s, ax, bsmin, ibw, bnb);
                if (q == gfirst[i + 1]) continue;
                sp__nl_images(s, m, lo, hi, rr);
                for (tz = rr[4]; tz <= rr[5]; ++tz)
                    for (ty = rr[2]; ty <= rr[3]; ++ty)
                        for (tx = rr[0]; tx <= rr[1]; ++tx) {
                            const int ti = tx + m[0] + (2 * m[0] + 1) * (ty + m[1] + (2 * m[1] + 1) * (tz + m[2]));
                            const int wx = wi[0] + tx, wy = wi[1] + ty, wz = wi[2] + tz;
                            double c[3];
                            size_t e;
                            if (ti == t0) continue;
                            e = (size_t)at[ti]++;
                            owner[e] = i;
                            timg[e] = ti;
                            for (dd = 0; dd < 3; ++dd) {
                                shift[3 * e + dd] = wx * h[dd] + wy * h[3 + dd] + wz * h[6 + dd];
                                xe[3 * e + dd] = x[dd] + shift[3 * e + dd];
                            }
                            c[0] = s[0] + tx;
                            c[1] = s[1] + ty;
                            c[2] = s[2] + tz;
                            binof[e] = sp__nl_bin(c, ax, bsmin, ibw, bnb);
                            glist[q++] = (int)e;
                        }
            }
        }
    }

    /* 3. slots by bin (index order inside a bin, so locals first), positions
       copied into slot order (3 arrays of next, over frac) */
    if (!SP__GROW(nl, nl->scr_dbl, nl->scr_dbl_cap, 3 * next + 1, double))
        return sp__fail(diag, SP_ERR_NO_MEMORY, 0, "out of memory");
    G.x = nl->scr_dbl;
    G.y = G.x + next;
    G.z = G.y + next;
#ifdef SP__OMP
#pragma omp parallel num_threads(nthb) if (nthb > 1)
#endif
    {
        double *SP_RESTRICT sx = nl->scr_dbl, *SP_RESTRICT sy = sx + next, *SP_RESTRICT sz = sy + next;
        const double *SP_RESTRICT xe = nl->xe;
        size_t a, b;
        int part;
        for (part = sp__nl_tid(); part < nthb; part += sp__nl_team()) {
            int *SP_RESTRICT hc = hist + (size_t)part * nbins;
            for (b = 0; b < nbins; ++b) hc[b] = 0;
            for (a = sp__nl_part(next, part, nthb); a < sp__nl_part(next, part + 1, nthb); ++a) ++hc[binof[a]];
        }
#ifdef SP__OMP
#pragma omp barrier
#pragma omp single
#endif
        {
            int run = 0, u;
            for (b = 0; b < nbins; ++b) {
                bs[b] = run;
                for (u = 0; u < nthb; ++u) {
                    const int c = hist[(size_t)u * nbins + b];
                    hist[(size_t)u * nbins + b] = run;
                    run += c;
                }
            }
            bs[nbins] = run;
        }
        for (part = sp__nl_tid(); part < nthb; part += sp__nl_team()) {
            int *SP_RESTRICT hc = hist + (size_t)part * nbins;
            for (a = sp__nl_part(next, part, nthb); a < sp__nl_part(next, part + 1, nthb); ++a) {
                const size_t p = (size_t)hc[binof[a]]++;
                slot[p] = (int)a;
                sx[p] = xe[3 * a];
                sy[p] = xe[3 * a + 1];
                sz[p] = xe[3 * a + 2];
            }
        }
    }

    /* 4. search, centres bin by bin; parts are contiguous runs of bins
       with equal numbers of centres, and buffers sized from the density */
    G.slot = slot;
    G.xe = nl->xe;
    G.bs = bs;
    G.owner = nl->owner;
    G.timg = timg;
    G.W = W;
    G.pos = pos;
    G.h = h;
    for (d = 0; d < 3; ++d) {
        G.nb[d] = bnb[d];
        G.m[d] = m[d];
    }
    G.natoms = natoms;
    G.t0 = t0;
    G.rc2 = cutoff * cutoff;
    {
        /* errors of xe (x + shift) and of a distance's square: those of either end's
           computation stay below tol/2, so outside tol both ends agree */
        const double u = 2.3e-16, e = 8.0 * u * amax + 2.0 * u * cutoff; /* u: also directed rounding */
        G.tol = 16.0 * (cutoff * e + e * e) + 16.0 * u * G.rc2;
    }
    {
        /* float distances, from positions relative to a bin's first atom
           (within rb of it): their errors stay below tf - tol, so a float
           distance outside tf of the cutoff decides as a double would */
        const double uf = 1.2e-7;
        double rb = cutoff, e, tf;
        for (d = 0; d < 3; ++d) rb += 2.0 * bw[d] * sp__norm3(h + 3 * d);
        e = uf * (2.0 * rb + 1.1 * cutoff);
        tf = 2.0 * (3.5 * cutoff * e + 3.0 * e * e + 3.3 * uf * G.rc2) + G.tol + 2.0 * uf * G.rc2;
        G.fast = rb < 1e12 && G.rc2 + tf < 1e30 && G.rc2 > tf;
        G.lo = G.fast ? (float)(G.rc2 - tf) : 0.0f;
        G.hi = G.fast ? (float)(G.rc2 + tf) : 0.0f;
        G.ov = G.fast ? (float)(1e-12 + tf) : 0.0f;
    }
    {
        /* locals per bin, and the entries they should have: candidates x
           (sphere / the bins they lie in) */
        int *SP_RESTRICT nloc = hist, *SP_RESTRICT eb = hist + nbins;
        const double sphere = 4.18879 * cutoff * cutoff * cutoff / (bw[0] * bw[1] * bw[2] * fabs(vol));
        int maxcp[SP__NL_MAXTH] = {0};
#ifdef SP__OMP
#pragma omp parallel num_threads(nth) if (nth > 1)
#endif
        {
            int part;
            for (part = sp__nl_tid(); part < nth; part += sp__nl_team()) {
                const size_t b1 = sp__nl_part(nbins, part + 1, nth);
                size_t b;
                int mc = 0;
                for (b = sp__nl_part(nbins, part, nth); b < b1; ++b) {
                    int p = bs[b], nc, nbin;
                    double e;
                    while (p < bs[b + 1] && slot[p] < natoms) ++p;
                    nloc[b] = p - bs[b];
                    eb[b] = 0;
                    if (p == bs[b]) continue;
                    nc = sp__nl_ncand(&G, b, &nbin);
                    e = ceil((double)nloc[b] * nc * (sphere < nbin ? sphere / nbin : 1.0));
                    eb[b] = e < 1e9 ? (int)e : 1000000000;
                    if (nc > mc) mc = nc;
                }
                maxcp[part] = mc;
            }
        }
        for (t = 0; t < nth; ++t)
            if (maxcp[t] > maxc) maxc = maxcp[t];
        /* runs of bins with equal numbers of centres, and their entries */
        {
            size_t b = 0, cum = 0;
            for (t = 0; t < nth; ++t) {
                const size_t target = sp__nl_part((size_t)natoms, t + 1, nth);
                bpart[t] = b;
                est[t] = 0.0;
                while (b < nbins && (t == nth - 1 || cum + (size_t)nloc[b] <= target)) {
                    cum += (size_t)nloc[b];
                    est[t] += eb[b++];
                }
            }
        }
        bpart[nth] = nbins;
    }
    G.nloc = hist;
    G.stride = (size_t)maxc + 16;
    /* staging: a bin's candidates (3 strides of floats, 1 of ints) per part */
    if (!SP__GROW(nl, nl->scr_cand, nl->scr_cand_cap, 3 * G.stride * (size_t)nth, float))
        return sp__fail(diag, SP_ERR_NO_MEMORY, 0, "out of memory");
    {
        /* 1.2 x the expected entries, or more when the last build had more */
        double sum = 1.0, f = 1.2;
        for (t = 0; t < nth; ++t) sum += est[t];
        if (1.1 * (double)prev / sum > f) f = 1.1 * (double)prev / sum;
        for (t = 0; t < nth; ++t) tcap[t] = (size_t)(f * est[t]) + G.stride + 64;
    }
    for (;;) {
        const size_t stage = G.stride * (size_t)nth, D = 1 + (size_t)bnb[0] + (size_t)bnb[0] * bnb[1];
        int over = 0, ov = -1;
        total = 0;
        for (t = 0; t < nth; ++t) total += tcap[t];
        base[0] = 0;
        for (t = 0; t < nth; ++t) base[t + 1] = base[t] + tcap[t];
        if (total + stage > (size_t)2000000000)
            return sp__fail(diag, SP_ERR_RANGE, 0, "neighbour list too long");
        if (!SP__GROW(nl, nl->scr_pairs, nl->scr_pairs_cap, total + stage, int))
            return sp__fail(diag, SP_ERR_NO_MEMORY, 0, "out of memory");
        buf = nl->scr_pairs;
        /* a row's lower partners are all its part's when its bin is D past the part's first */
#ifdef SP__OMP
#pragma omp parallel num_threads(nth) if (nth > 1)
#endif
        {
            int part;
            for (part = sp__nl_tid(); part < nth; part += sp__nl_team()) {
                sp__nl_search(&G, bpart[part], bpart[part + 1], part == 0 ? 0 : bpart[part] + D, buf, base[part],
                              tcap[part], nl->scr_cand + 3 * G.stride * (size_t)part, buf + total + G.stride * (size_t)part,
                              A, P + part);
            }
        }
        for (t = 0; t < nth; ++t) {
            if (ov < 0 && P[t].ov_i >= 0) ov = t;
            if (P[t].over) {
                over = 1;
                tcap[t] = P[t].need + G.stride + 64;
            }
        }
        if (ov >= 0)
            return sp__fail(diag, SP_ERR_OVERLAP, 0, "atoms %d and %d overlap (distance %.3g A)", P[ov].ov_i + 1,
                            P[ov].ov_j + 1, P[ov].ov_r);
        if (!over) break;
    }

    /* 5. lists in atom order, then reverse links */
    cap_first = (size_t)nl->cap_atoms;
    if (!SP__GROW(nl, nl->first, cap_first, (size_t)natoms + 1, int))
        return sp__fail(diag, SP_ERR_NO_MEMORY, 0, "out of memory");
    nl->cap_atoms = (int)cap_first;
    total = 0;
    for (k = 0; k < (size_t)natoms; ++k) { /* A[4i + 1]: where the next link into the list lands */
        nl->first[k] = (int)total;
        total += (size_t)A[4 * k + 1];
        A[4 * k + 1] = nl->first[k];
    }
    nl->first[natoms] = (int)total;
    cap_entries = nl->cap_entries;
    if (total > cap_entries || !nl->j) {
        size_t c2 = 0;
        sp__free(&nl->allocator, nl->j); nl->j = NULL;
        sp__free(&nl->allocator, nl->rev); nl->rev = NULL;
        cap_entries = 0;
        if (!SP__GROW(nl, nl->j, cap_entries, total, int) || !SP__GROW(nl, nl->rev, c2, total, int)) {
            nl->cap_entries = 0;
            return sp__fail(diag, SP_ERR_NO_MEMORY, 0, "out of memory");
        }
        nl->cap_entries = cap_entries;
    }
    {
        size_t miss[SP__NL_MAXTH] = {0};
#ifdef SP__OMP
#pragma omp parallel num_threads(nth) if (nth > 1)
#endif
        {
            int part;
            for (part = sp__nl_tid(); part < nth; part += sp__nl_team()) {
                miss[part] = sp__nl_link(&G, nl, buf, A, gfirst, glist, bpart[part], bpart[part + 1]);
            }
        }
        for (t = 0; t < nth; ++t)
            if (miss[t]) {
                const size_t b = miss[t] - 1;
                int i = 0;
                while (nl->first[i + 1] <= (int)b) ++i;
                return sp__fail(diag, SP_ERR_RANGE, 0, "internal: missing reverse of a pair of atom %d", i + 1);
            }
    }
    if (!SP__GROW(nl, nl->x0, nl->cap_x0, 3 * (size_t)natoms + 1, double))
        return sp__fail(diag, SP_ERR_NO_MEMORY, 0, "out of memory");
    memcpy(nl->x0, nl->xe, 3 * (size_t)natoms * sizeof(double));
    nl->gfirst = gfirst;
    nl->glist = glist;
    nl->natoms = natoms;
    nl->next = (int)next;
    nl->n_entries = total;
    return SP_OK;
}
/* ==================================================================
 * >>pot      implementation
 * ==================================================================
 * Each centre i writes E_i and, for each of its list entries b, the bond
 * force Fb[b] = -dE_i/dr_ij (the force that E_i puts on neighbour j); the
 * gather then gives F_a = sum_b (Fb[rev b] - Fb[b]) and W = sum r_ij (x) Fb.
 * Entries beyond the potential's cutoff get Fb = 0. */

/* Per-thread bond cache of one centre, structure of arrays (maxdeg each). */
typedef struct sp__bonds_t {
    int *b, *t, *t2;                     /* list entry, neighbour type, UF3 basis index */
    double *ux, *uy, *uz, *ir;           /* unit vector i->j, 1/r */
    double *f, *fp, *F, *Fp, *dphi;      /* f, f', F, F' (meam/sw), phi' */
    double *dnx, *dny, *dnz;             /* dn_i/dr_ij */
    double *dsx, *dsy, *dsz;             /* dE_sw,i/dr_ij */
    double *c, *g, *dg;                  /* per-triplet cos theta, g, g' for one j */
    int cap;                             /* slots per array (maxdeg + 4) */
} sp__bonds_t;

#define SP__BOND_DOUBLES 26  /* 18 arrays, the last (c) 8 wide for UF3 basis caches */
#define SP__BOND_INTS 3

static size_t sp__bonds_bytes(int maxdeg) {
    return (size_t)(maxdeg + 4) * (SP__BOND_DOUBLES * sizeof(double) + SP__BOND_INTS * sizeof(int)) + 64;
}

static void sp__bonds_setup(sp__bonds_t *B, void *mem, int maxdeg) {
    double *d = (double *)mem;
    size_t m = (size_t)maxdeg + 4;
    double **arr[18];
    int k;
    arr[0] = &B->ux; arr[1] = &B->uy; arr[2] = &B->uz; arr[3] = &B->ir; arr[4] = &B->f;
    arr[5] = &B->fp; arr[6] = &B->F; arr[7] = &B->Fp; arr[8] = &B->dphi; arr[9] = &B->dnx;
    arr[10] = &B->dny; arr[11] = &B->dnz; arr[12] = &B->dsx; arr[13] = &B->dsy; arr[14] = &B->dsz;
    arr[15] = &B->g; arr[16] = &B->dg; arr[17] = &B->c;
    for (k = 0; k < 18; ++k) *arr[k] = d + (size_t)k * m;
    /* cppcheck-suppress invalidPointerCast ; one block carved into typed arrays, never reinterpreted */
    B->b = (int *)(d + (size_t)SP__BOND_DOUBLES * m);
    B->t = B->b + m;
    B->t2 = B->t + m;
    B->cap = (int)m;
}

SP_API int sp_pot_pair_index(int nelem, int a, int b) {
    if (a > b) { int t = a; a = b; b = t; }
    return a * nelem - a * (a - 1) / 2 + (b - a);
}

/* The element pair a <= b of symmetric pair index pq (inverse of sp_pot_pair_index). */
SP__PRIVATE void sp__pair_elements(int nelem, int pq, int *out_a, int *out_b) {
    int a = 0;
    while (a < nelem - 1 && pq >= nelem - a) { /* row a holds nelem - a pairs */
        pq -= nelem - a;
        ++a;
    }
    *out_a = a;
    *out_b = a + pq;
}

SP_API int sp_pot_find_element(const sp_pot_t *pot, const char *symbol) {
    int e;
    if (!pot || !symbol) return -1;
    if (pot->nelem == 1 && pot->elem[0][0] == '\0') return 0;
    for (e = 0; e < pot->nelem; ++e)
        if (strcmp(pot->elem[e], symbol) == 0) return e;
    return -1;
}

SP_API void sp_pot_free(sp_pot_t *pot) {
    if (!pot) return;
    sp__free(&pot->allocator, pot->mem);
    memset(pot, 0, sizeof *pot);
}

SP_API void sp_work_free(sp_work_t *ws) {
    sp_allocator_t a;
    if (!ws) return;
    a = ws->allocator;
    sp__free(&a, ws->fbond);
    sp__free(&a, ws->atom);
    sp__free(&a, ws->scratch);
    sp__free(&a, ws->trial_e);
    sp__free(&a, ws->trial_c);
    memset(ws, 0, sizeof *ws);
    ws->allocator = a;
}

/* s-MEAM and meam/sw/spline for centre i (Lenosky et al. 2000, Eq. 1-2):
   E_i = 1/2 sum_j phi(r_ij) + U(n_i) - U(0) [+ sum_{j<k} F F G],
   n_i = sum_j rho(r_ij) + sum_{j<k} f(r_ij) f(r_ik) g(cos theta_jik).
   One triplet loop: dn_i/dr_ij is accumulated per bond and multiplied by
   U'(n_i) at the end (LAMMPS runs the triplet loop twice). Compiled in
   three flavours: single element, several elements, meam/sw/spline.
   A bond whose f and f' (and F, F') are exactly zero, e.g. beyond the last
   knot of an f with zero end value and slope, adds exact zeros to every
   triplet sum: such bonds are kept at the top of the cache, out of the
   triplet loop, so the sums and their order over the other bonds, and thus
   the bits, are those of the full loop (Si_1: 4 of 16 bonds take part). */
static SP__INLINE double sp__meam_center_t(const sp_pot_t *pot, const sp_nlist_t *nl, const int *type,
                                           int i, const sp__bonds_t *B, double *SP_RESTRICT fb,
                                           const int sw, const int single, const int eonly) {
    const sp_meam_t *m = &pot->meam;
    const int ne = pot->nelem, ti = single ? 0 : type[i];
    const double rc2 = pot->cutoff * pot->cutoff;
    const double *xi = nl->xe + 3 * (size_t)i;
    const int *SP_RESTRICT nj = nl->j;
    const double *SP_RESTRICT xe = nl->xe;
    double *SP_RESTRICT ux = B->ux, *SP_RESTRICT uy = B->uy, *SP_RESTRICT uz = B->uz;
    double *SP_RESTRICT ir = B->ir, *SP_RESTRICT f = B->f, *SP_RESTRICT fp = B->fp;
    double *SP_RESTRICT dnx = B->dnx, *SP_RESTRICT dny = B->dny, *SP_RESTRICT dnz = B->dnz;
    double *SP_RESTRICT cc = B->c, *SP_RESTRICT gg = B->g, *SP_RESTRICT dgg = B->dg;
    double e = 0.0, n = 0.0, esw = 0.0, U, dU;
    int b, nb = 0, top = B->cap, jj, kk;
    for (b = nl->first[i]; b < nl->first[i + 1]; ++b) {
        const int g = nj[b];
        const double *xg = xe + 3 * (size_t)g;
        double dx = xg[0] - xi[0], dy = xg[1] - xi[1], dz = xg[2] - xi[2];
        double r2 = dx * dx + dy * dy + dz * dz, r, inv, drho, fv, fpv, Fv = 0.0, Fpv = 0.0;
        int tj, s;
        if (r2 >= rc2) {
            if (!eonly) fb[3 * b] = fb[3 * b + 1] = fb[3 * b + 2] = 0.0;
            continue;
        }
        tj = single ? 0 : type[nl->owner[g]];
        r = sqrt(r2);
        inv = 1.0 / r;
        fv = sp__spline_eval(&m->f[tj], r, &fpv);
        if (sw) Fv = sp__spline_eval(&m->F[0], r, &Fpv);
        s = (fv != 0.0 || fpv != 0.0 || Fv != 0.0 || Fpv != 0.0) ? nb++ : --top;
        B->b[s] = b;
        B->t[s] = tj;
        ir[s] = inv;
        ux[s] = dx * inv; uy[s] = dy * inv; uz[s] = dz * inv;
        f[s] = fv;
        fp[s] = fpv;
        e += 0.5 * sp__spline_eval(&m->phi[single ? 0 : sp_pot_pair_index(ne, ti, tj)], r, &B->dphi[s]);
        n += sp__spline_eval(&m->rho[tj], r, &drho);
        dnx[s] = drho * ux[s]; dny[s] = drho * uy[s]; dnz[s] = drho * uz[s];
        if (sw) {
            B->F[s] = Fv;
            B->Fp[s] = Fpv;
            B->dsx[s] = B->dsy[s] = B->dsz[s] = 0.0;
        }
    }
    for (jj = 0; jj < nb; ++jj) {
        const double ujx = ux[jj], ujy = uy[jj], ujz = uz[jj], fj = f[jj], fpj = fp[jj], irj = ir[jj];
        double s_fg = 0.0, s_a = 0.0, s_x = 0.0, s_y = 0.0, s_z = 0.0;
        for (kk = jj + 1; kk < nb; ++kk) cc[kk] = ujx * ux[kk] + ujy * uy[kk] + ujz * uz[kk];
        if (single) {
            for (kk = jj + 1; kk < nb; ++kk) gg[kk] = sp__spline_eval(m->g, cc[kk], &dgg[kk]);
        } else {
            const int tj = B->t[jj];
            for (kk = jj + 1; kk < nb; ++kk)
                gg[kk] = sp__spline_eval(&m->g[sp_pot_pair_index(ne, tj, B->t[kk])], cc[kk], &dgg[kk]);
        }
        if (eonly) { /* the same sums, in the same order, without their derivatives */
            for (kk = jj + 1; kk < nb; ++kk) s_fg += f[kk] * gg[kk];
            n += fj * s_fg;
            if (sw) {
                double q_fg = 0.0;
                for (kk = jj + 1; kk < nb; ++kk) {
                    double dG, Gv = sp__spline_eval(m->G, cc[kk], &dG);
                    q_fg += B->F[kk] * Gv;
                }
                esw += B->F[jj] * q_fg;
            }
            continue;
        }
        /* d(f_j f_k g)/dr_ij = f'_j f_k g u_j + f_j f_k g' (u_k - c u_j)/r_j, and the same for k */
        for (kk = jj + 1; kk < nb; ++kk) {
            const double c = cc[kk], fk = f[kk], gk = gg[kk];
            const double fjfk = fj * fk, a2 = fjfk * dgg[kk], tk = a2 * ir[kk], a3 = fj * fp[kk] * gk;
            const double tj = a2 * irj;
            s_fg += fk * gk;
            s_a += fpj * fk * gk - tj * c;
            s_x += tj * ux[kk];
            s_y += tj * uy[kk];
            s_z += tj * uz[kk];
            dnx[kk] += a3 * ux[kk] + tk * (ujx - c * ux[kk]);
            dny[kk] += a3 * uy[kk] + tk * (ujy - c * uy[kk]);
            dnz[kk] += a3 * uz[kk] + tk * (ujz - c * uz[kk]);
        }
        n += fj * s_fg;
        dnx[jj] += s_a * ujx + s_x;
        dny[jj] += s_a * ujy + s_y;
        dnz[jj] += s_a * ujz + s_z;
        if (sw) {
            const double Fj = B->F[jj], Fpj = B->Fp[jj];
            double q_fg = 0.0, q_a = 0.0, q_x = 0.0, q_y = 0.0, q_z = 0.0;
            for (kk = jj + 1; kk < nb; ++kk) {
                double dG, Gv = sp__spline_eval(m->G, cc[kk], &dG);
                const double c = cc[kk], Fk = B->F[kk], FF = Fj * Fk, s2 = FF * dG;
                const double tj = s2 * irj, tk = s2 * ir[kk], s3 = Fj * B->Fp[kk] * Gv;
                q_fg += Fk * Gv;
                q_a += Fpj * Fk * Gv - tj * c;
                q_x += tj * ux[kk];
                q_y += tj * uy[kk];
                q_z += tj * uz[kk];
                B->dsx[kk] += s3 * ux[kk] + tk * (ujx - c * ux[kk]);
                B->dsy[kk] += s3 * uy[kk] + tk * (ujy - c * uy[kk]);
                B->dsz[kk] += s3 * uz[kk] + tk * (ujz - c * uz[kk]);
            }
            esw += Fj * q_fg;
            B->dsx[jj] += q_a * ujx + q_x;
            B->dsy[jj] += q_a * ujy + q_y;
            B->dsz[jj] += q_a * ujz + q_z;
        }
    }
    U = sp__spline_eval(&m->U[ti], n, &dU);
    e += U - m->zero_energy[ti] + esw;
    for (jj = 0; !eonly && jj < B->cap; ++jj) {
        double *o, hp;
        if (jj == nb) jj = top; /* skip the unused middle of the cache */
        if (jj >= B->cap) break;
        o = fb + 3 * (size_t)B->b[jj];
        hp = 0.5 * B->dphi[jj];
        o[0] = -(hp * ux[jj] + dU * dnx[jj]);
        o[1] = -(hp * uy[jj] + dU * dny[jj]);
        o[2] = -(hp * uz[jj] + dU * dnz[jj]);
        if (sw) {
            o[0] -= B->dsx[jj];
            o[1] -= B->dsy[jj];
            o[2] -= B->dsz[jj];
        }
    }
    return e;
}

/* fb NULL: E_i alone (the same bits), for Monte-Carlo trials */
static double sp__meam_center(const sp_pot_t *pot, const sp_nlist_t *nl, const int *type, int i,
                              const sp__bonds_t *B, double *fb) {
    if (!fb) {
        if (pot->kind == SP_POT_MEAM_SW) return sp__meam_center_t(pot, nl, type, i, B, fb, 1, 1, 1);
        if (pot->nelem == 1) return sp__meam_center_t(pot, nl, type, i, B, fb, 0, 1, 1);
        return sp__meam_center_t(pot, nl, type, i, B, fb, 0, 0, 1);
    }
    if (pot->kind == SP_POT_MEAM_SW) return sp__meam_center_t(pot, nl, type, i, B, fb, 1, 1, 0);
    if (pot->nelem == 1) return sp__meam_center_t(pot, nl, type, i, B, fb, 0, 1, 0);
    return sp__meam_center_t(pot, nl, type, i, B, fb, 0, 0, 0);
}

/* ---- UF3 (Xie, Rupp & Hennig 2023) ---- */

SP_API sp_result_t sp_uf3_create(sp_pot_t *pot, int nelem, const int *z, int has3, const int *nt2,
                                  const int *nt3) {
    int np, ntrio, k, a;
    size_t nd = 0, off = 0;
    char *mem;
    sp_allocator_t al;
    if (!pot || !z || !nt2 || nelem < 1 || nelem > SP_MAX_ELEMENTS || (has3 && !nt3)) return SP_ERR_BAD_ARG;
    for (k = 0; k < nelem; ++k)
        if (!sp_element_symbol(z[k])[0] || (k > 0 && z[k] <= z[k - 1])) return SP_ERR_BAD_ARG;
    np = nelem * (nelem + 1) / 2;
    ntrio = has3 ? nelem * np : 0;
    for (k = 0; k < np; ++k) {
        if (nt2[k] < 8 || nt2[k] > 100000) return SP_ERR_BAD_ARG;
        nd += 2 * (size_t)nt2[k] + 5 * (size_t)nt2[k] + 5 * 32;
    }
    for (k = 0; k < ntrio; ++k) {
        size_t L = 1;
        for (a = 0; a < 3; ++a) {
            if (nt3[3 * k + a] < 8 || nt3[3 * k + a] > 10000) return SP_ERR_BAD_ARG;
            nd += (size_t)nt3[3 * k + a] + sp_bspline_table_size(nt3[3 * k + a]) + 40 * (size_t)(nt3[3 * k + a] - 7);
            L *= (size_t)(nt3[3 * k + a] - 4);
        }
        if (L > (size_t)50000000) return SP_ERR_BAD_ARG;
        nd += L + 8; /* (vectorised reads run up to 7 past the last coefficient) */
    }
    al = pot->allocator;
    memset(pot, 0, sizeof *pot);
    pot->allocator = al;
    off = (size_t)np * sizeof(sp_uf3_pair_t) + (size_t)ntrio * sizeof(sp_uf3_trio_t);
    off = (off + 15) & ~(size_t)15;
    mem = (char *)sp__alloc(&pot->allocator, off + nd * sizeof(double));
    if (!mem) return SP_ERR_NO_MEMORY;
    memset(mem, 0, off + nd * sizeof(double));
    pot->mem = mem;
    pot->kind = SP_POT_UF3;
    pot->nelem = nelem;
    for (k = 0; k < nelem; ++k) strcpy(pot->elem[k], sp_element_symbol(z[k]));
    pot->uf3.has3 = has3;
    pot->uf3.pair = (sp_uf3_pair_t *)mem;
    pot->uf3.trio = has3 ? (sp_uf3_trio_t *)(mem + (size_t)np * sizeof(sp_uf3_pair_t)) : NULL;
    {
        /* cppcheck-suppress invalidPointerCast ; one block carved into typed arrays, never reinterpreted */
        double *d = (double *)(mem + off);
        for (k = 0; k < np; ++k) {
            sp_uf3_pair_t *P = pot->uf3.pair + k;
            P->nt = nt2[k];
            P->t = d; d += nt2[k];
            P->c = d; d += nt2[k];
            P->poly = d; d += 5 * (size_t)nt2[k];
            P->vt = d; d += 5 * 32;
        }
        for (k = 0; k < ntrio; ++k) {
            sp_uf3_trio_t *T = pot->uf3.trio + k;
            for (a = 0; a < 3; ++a) {
                T->nt[a] = nt3[3 * k + a];
                T->t[a] = d;
                d += T->nt[a];
                T->tab[a] = d;
                d += sp_bspline_table_size(T->nt[a]);
                T->vtab[a] = d;
                d += 40 * (size_t)(T->nt[a] - 7);
            }
            T->L = T->nt[0] - 4; T->M = T->nt[1] - 4; T->N = T->nt[2] - 4;
            T->c = d;
            d += (size_t)T->L * T->M * T->N + 8;
        }
    }
    return SP_OK;
}

SP_API sp_result_t sp_uf3_finish(sp_pot_t *pot, sp_diag_t *diag) {
    sp_uf3_t *u;
    int np, ntrio, k, a, q;
    double rc = 0.0;
    if (!pot || pot->kind != SP_POT_UF3) return sp__fail(diag, SP_ERR_BAD_ARG, 0, "not a UF3 potential");
    u = &pot->uf3;
    np = pot->nelem * (pot->nelem + 1) / 2;
    ntrio = u->has3 ? pot->nelem * np : 0;
    for (k = 0; k < pot->nelem; ++k)
        if (!sp__isfinite(u->e1[k])) return sp__fail(diag, SP_ERR_NOT_FINITE, 0, "one-body energy is not finite");
    for (k = 0; k < np; ++k) {
        sp_uf3_pair_t *P = u->pair + k;
        sp_bspline_t bs;
        if (sp_bspline_init(&bs, P->t, P->nt) != SP_OK)
            return sp__fail(diag, SP_ERR_PARSE, 0, "2-body knots of pair %d are not a clamped cubic knot vector", k + 1);
        for (q = 0; q < P->nt - 4; ++q)
            if (!sp__isfinite(P->c[q])) return sp__fail(diag, SP_ERR_NOT_FINITE, 0, "2-body coefficient is not finite");
        P->cut = P->t[P->nt - 1];
        P->uniform = bs.uniform;
        P->t0 = P->t[3];
        P->inv_h = bs.inv_dt;
        P->nint = 0;
        /* power form about the left knot of each non-empty interval */
        for (q = 3; q <= P->nt - 5; ++q) {
            double ders[4][4], v[4] = {0, 0, 0, 0}, *o;
            int j;
            if (!(P->t[q + 1] > P->t[q])) {
                if (P->uniform) return sp__fail(diag, SP_ERR_PARSE, 0, "repeated interior knot");
                continue;
            }
            sp__bspline_ders(P->t, q, P->t[q], 3, ders);
            for (a = 0; a < 4; ++a)
                for (j = 0; j < 4; ++j) v[a] += P->c[q - 3 + j] * ders[a][j];
            o = P->poly + 5 * P->nint++;
            o[0] = P->t[q];
            o[1] = v[0];
            o[2] = v[1];
            o[3] = v[2] * 0.5;
            o[4] = v[3] * (1.0 / 6.0);
        }
        if (P->cut > rc) rc = P->cut;
        for (q = 0; q < 5 * 32 && P->nint > 0; ++q) /* rows padded with the last interval */
            P->vt[q] = P->poly[5 * (q % 32 < P->nint ? q % 32 : P->nint - 1) + q / 32];
    }
    u->cut3 = 0.0;
    u->same3 = 1;
    for (k = 0; k < ntrio; ++k) {
        sp_uf3_trio_t *T = u->trio + k;
        size_t n = (size_t)T->L * T->M * T->N, i;
        for (a = 0; a < 3; ++a) {
            if (sp_bspline_init(&T->bs[a], T->t[a], T->nt[a]) != SP_OK)
                return sp__fail(diag, SP_ERR_PARSE, 0, "3-body knots of trio %d are not a clamped cubic knot vector", k + 1);
            sp_bspline_set_table(&T->bs[a], T->tab[a]);
            for (q = 0; q < T->nt[a] - 7; ++q) { /* the same cubics, laid out for 8-wide evaluation */
                const double *row = T->tab[a] + 16 * (size_t)q;
                double *o = T->vtab[a] + 40 * (size_t)q;
                int j;
                for (j = 0; j < 4; ++j) {
                    o[j] = row[4 * j];             /* values: c0 c1 c2 c3 by power */
                    o[8 + j] = row[4 * j + 1];
                    o[16 + j] = row[4 * j + 2];
                    o[24 + j] = row[4 * j + 3];
                    o[4 + j] = row[4 * j + 1];     /* derivatives: c1 2c2 3c3 0 */
                    o[12 + j] = 2.0 * row[4 * j + 2];
                    o[20 + j] = 3.0 * row[4 * j + 3];
                    o[28 + j] = 0.0;
                }
                o[32] = T->t[a][q + 3];
                for (j = 33; j < 40; ++j) o[j] = 0.0;
            }
        }
        for (i = 0; i < n; ++i)
            if (!sp__isfinite(T->c[i])) return sp__fail(diag, SP_ERR_NOT_FINITE, 0, "3-body coefficient is not finite");
        for (a = 0; a < 2; ++a)
            if (T->nt[a] != u->trio[0].nt[0] || memcmp(T->t[a], u->trio[0].t[0], (size_t)T->nt[a] * sizeof(double)))
                u->same3 = 0;
        for (a = 0; a < 2; ++a)
            if (T->t[a][T->nt[a] - 1] > u->cut3) u->cut3 = T->t[a][T->nt[a] - 1];
    }
    if (u->cut3 > rc) rc = u->cut3;
    pot->cutoff = rc;
    u->fast = 1;
    for (k = 0; k < np; ++k) {
        const sp_uf3_pair_t *P = u->pair + k;
        if (!P->uniform || P->nint < 1) u->fast = 0;
        u->p_t0[k] = P->t0;
        u->p_ih[k] = P->inv_h;
        u->p_km[k] = (double)(P->nint > 0 ? P->nint - 1 : 0);
        u->p_cut[k] = P->cut;
        u->p_off[k] = (int)(P->poly - u->pair[0].poly);
    }
    if (u->has3 && !u->same3) u->fast = 0;
    u->s3max = 0;
    for (k = 0; k < ntrio; ++k)
        if (u->trio[k].M * (u->trio[k].N + 16) > u->s3max) u->s3max = u->trio[k].M * (u->trio[k].N + 16);
    for (k = 0; k < ntrio; ++k)
        for (a = 0; a < 3; ++a)
            if (!u->trio[k].bs[a].uniform) u->fast = 0;
    return SP_OK;
}

static SP__INLINE double sp__uf3_pair_eval(const sp_uf3_pair_t *P, double r, double *d) {
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

/* V3 and its partial derivatives for basis values along l, m (given) and n:
   the 16 rows C[l][m][n..n+3] weighted by B_l B_m, B'_l B_m and B_l B'_m are
   summed as 4-vectors (vectorisable), then dotted with B_n and B'_n. */
static SP__INLINE double sp__uf3_trio_eval(const sp_uf3_trio_t *T, int il, const double *bl, const double *dbl,
                                           int im, const double *bm, const double *dbm, int in,
                                           const double *bn, const double *dbn, double *dl, double *dm,
                                           double *dn) {
    double av[4] = {0, 0, 0, 0}, al[4] = {0, 0, 0, 0}, am[4] = {0, 0, 0, 0};
    int a, b, c;
    for (a = 0; a < 4; ++a)
        for (b = 0; b < 4; ++b) {
            const double *SP_RESTRICT row = T->c + ((size_t)(il + a) * T->M + (size_t)(im + b)) * T->N + in;
            const double wv = bl[a] * bm[b], wl = dbl[a] * bm[b], wm = bl[a] * dbm[b];
            for (c = 0; c < 4; ++c) {
                av[c] += wv * row[c];
                al[c] += wl * row[c];
                am[c] += wm * row[c];
            }
        }
    *dl = al[0] * bn[0] + al[1] * bn[1] + al[2] * bn[2] + al[3] * bn[3];
    *dm = am[0] * bn[0] + am[1] * bn[1] + am[2] * bn[2] + am[3] * bn[3];
    *dn = av[0] * dbn[0] + av[1] * dbn[1] + av[2] * dbn[2] + av[3] * dbn[3];
    return av[0] * bn[0] + av[1] * bn[1] + av[2] * bn[2] + av[3] * bn[3];
}

/* UF3 for centre i: E_i = e1 + sum_j V2(r_ij) + sum_{j<k} V3(r_ij, r_ik, r_jk).
   Each bond's basis values along l and m are computed once and reused for
   all of its triplets (when every trio shares those knots). */
static double sp__uf3_center(const sp_pot_t *pot, const sp_nlist_t *nl, const int *type, int i,
                             const sp__bonds_t *B, double *SP_RESTRICT fb, double *SP_RESTRICT fdir,
                             double *SP_RESTRICT wdir) {
    const sp_uf3_t *u = &pot->uf3;
    const int ne = pot->nelem, ti = type[i], np = ne * (ne + 1) / 2;
    const double rc2 = pot->cutoff * pot->cutoff, c3 = u->cut3;
    const double *xi = nl->xe + 3 * (size_t)i;
    double e = u->e1[ti], fx = 0.0, fy = 0.0, fz = 0.0, wxx = 0, wxy = 0, wxz = 0, wyy = 0, wyz = 0, wzz = 0;
    double *SP_RESTRICT ux = B->ux, *SP_RESTRICT uy = B->uy, *SP_RESTRICT uz = B->uz, *SP_RESTRICT rr = B->ir;
    double *SP_RESTRICT bas = B->c; /* 8 per bond: 4 values, 4 derivatives; i0 in B->t2 */
    int b, nb = 0, jj, kk;
    /* 2-body: V2 is symmetric, so the pair force on i is sum_j 2 V2'(r) u_ij and
       needs no per-bond storage; its virial is sum_j r_ij (x) (-V2'(r) u_ij) */
    for (b = nl->first[i]; b < nl->first[i + 1]; ++b) {
        const int g = nl->j[b];
        const double *xg = nl->xe + 3 * (size_t)g;
        const double dx = xg[0] - xi[0], dy = xg[1] - xi[1], dz = xg[2] - xi[2];
        const double r2 = dx * dx + dy * dy + dz * dz;
        double r, inv, dv = 0.0;
        int tj;
        if (fb) fb[3 * (size_t)b] = fb[3 * (size_t)b + 1] = fb[3 * (size_t)b + 2] = 0.0;
        if (r2 >= rc2) continue;
        tj = type[nl->owner[g]];
        r = sqrt(r2);
        inv = 1.0 / r;
        {
            const sp_uf3_pair_t *P = u->pair + sp_pot_pair_index(ne, ti, tj);
            if (r < P->cut) {
                double q;
                e += sp__uf3_pair_eval(P, r, &dv);
                q = dv * inv;
                fx += 2.0 * q * dx; fy += 2.0 * q * dy; fz += 2.0 * q * dz;
                wxx -= q * dx * dx; wxy -= q * dx * dy; wxz -= q * dx * dz;
                wyy -= q * dy * dy; wyz -= q * dy * dz; wzz -= q * dz * dz;
            }
        }
        if (u->has3 && r <= c3) {
            B->b[nb] = b;
            B->t[nb] = tj;
            rr[nb] = r;
            ux[nb] = dx * inv; uy[nb] = dy * inv; uz[nb] = dz * inv;
            if (u->same3) B->t2[nb] = sp_bspline_basis_fast(&u->trio[0].bs[0], r, bas + 8 * nb, bas + 8 * nb + 4);
            ++nb;
        }
    }
    for (jj = 0; jj < nb; ++jj)
        for (kk = jj + 1; kk < nb; ++kk) {
            int J = jj, K = kk, il, im, in;
            const sp_uf3_trio_t *T;
            double vjk[3], rjk, bn[4], dbn[4], lb[8], mb[8], dl, dm, dn, v, *oj, *ok;
            const double *pl, *pm;
            if (B->t[K] < B->t[J]) { J = kk; K = jj; } /* l is the neighbour of lower atomic number */
            T = u->trio + (size_t)ti * np + sp_pot_pair_index(ne, B->t[J], B->t[K]);
            if (rr[J] > T->bs[0].t1 || rr[K] > T->bs[1].t1 || rr[J] < T->bs[0].t0 || rr[K] < T->bs[1].t0)
                continue;
            vjk[0] = rr[K] * ux[K] - rr[J] * ux[J];
            vjk[1] = rr[K] * uy[K] - rr[J] * uy[J];
            vjk[2] = rr[K] * uz[K] - rr[J] * uz[J];
            rjk = sqrt(vjk[0] * vjk[0] + vjk[1] * vjk[1] + vjk[2] * vjk[2]);
            if (rjk < T->bs[2].t0 || rjk > T->bs[2].t1) continue;
            in = sp_bspline_basis_fast(&T->bs[2], rjk, bn, dbn);
            if (u->same3) {
                il = B->t2[J]; pl = bas + 8 * J;
                im = B->t2[K]; pm = bas + 8 * K;
            } else {
                il = sp_bspline_basis_fast(&T->bs[0], rr[J], lb, lb + 4); pl = lb;
                im = sp_bspline_basis_fast(&T->bs[1], rr[K], mb, mb + 4); pm = mb;
            }
            v = sp__uf3_trio_eval(T, il, pl, pl + 4, im, pm, pm + 4, in, bn, dbn, &dl, &dm, &dn);
            e += v;
            dn /= rjk; /* times the unit vector j->k below */
            oj = fb + 3 * (size_t)B->b[J];
            ok = fb + 3 * (size_t)B->b[K];
            oj[0] += -dl * ux[J] + dn * vjk[0];
            oj[1] += -dl * uy[J] + dn * vjk[1];
            oj[2] += -dl * uz[J] + dn * vjk[2];
            ok[0] += -dm * ux[K] - dn * vjk[0];
            ok[1] += -dm * uy[K] - dn * vjk[1];
            ok[2] += -dm * uz[K] - dn * vjk[2];
        }
    fdir[0] = fx; fdir[1] = fy; fdir[2] = fz;
    wdir[0] = wxx; wdir[1] = wxy; wdir[2] = wxz;
    wdir[3] = wxy; wdir[4] = wyy; wdir[5] = wyz;
    wdir[6] = wxz; wdir[7] = wyz; wdir[8] = wzz;
    return e;
}

/* ---- UF3, vectorised evaluation (pot->uf3.fast) ----
   The same energy and forces as sp__uf3_center, for uniform knots (and, with
   3-body terms, every trio sharing its l and m knots), shaped for the
   vectoriser, with guarded AVX/AVX-512 intrinsics where GCC would not
   vectorise (square roots, permute table lookups, broadcasts, horizontal
   sums); every branch performs the same IEEE operations in the same order,
   so intrinsics or not, vector extensions or not, the bits are the same:
   1. every list entry's difference vector, r and 1/r into structure-of-arrays
      scratch, padded to a multiple of SP__UF3_LANES;
   2. V2 for all entries in blocks of SP__UF3_LANES lanes, branch-free (the
      interval is an index computation, its power form a table lookup; entries
      beyond the cutoff are masked out), accumulated per lane and summed over
      the lanes in a fixed order;
   3. 3-body: the bonds within the l/m knots are compacted and each bond's
      basis values computed once; the r_jk of all triplets (j, k > j) of a
      chunk of rows are computed as vectors; per triplet the basis along n and
      the 4x4x4 contraction run on 8-wide vectors (sp__uf3_vtrio), or, for a
      row with many triplets, from the row's coefficients contracted over l
      once (sp__uf3_vtrio_s); the bond forces are summed in scratch and each
      bond's Fb written once, in its own slot; the gather reads the reverse
      slots of the entries within the 3-body cutoff only (sp_pot_compute). */
#define SP__UF3_LANES 8
/* The lane loops below have no loop-carried dependences; GCC otherwise
   versions them on run-time alias checks between the scratch rows and the
   lane accumulators, which it then sometimes fails (scalar loop, 2x slower). */
#if defined(__GNUC__) && !defined(__clang__) && !defined(__CUDACC__) && !defined(__INTEL_COMPILER)
#define SP__UF3_IVDEP _Pragma("GCC ivdep")
#else
#define SP__UF3_IVDEP
#endif

/* Square roots of a padded array, n a multiple of SP__UF3_LANES. GCC does not
   vectorise sqrt while it may set errno (-fmath-errno, the default), and a
   scalar square root costs ~20 cycles on the benchmark machine; the vector
   instructions are correctly rounded, so both branches give the same bits. */
#ifdef SP__X86_INTRIN
#define SP__UF3_VSQRT 1
#if defined(__AVX512F__)
#define SP__UF3_AVX512 1
#endif
#endif
static SP__INLINE void sp__uf3_vsqrt(int n, double *SP_RESTRICT x) {
    int q;
#if defined(SP__UF3_VSQRT) && defined(__AVX512F__)
    for (q = 0; q < n; q += 8) _mm512_storeu_pd(x + q, _mm512_sqrt_pd(_mm512_loadu_pd(x + q)));
#elif defined(SP__UF3_VSQRT)
    for (q = 0; q < n; q += 4) _mm256_storeu_pd(x + q, _mm256_sqrt_pd(_mm256_loadu_pd(x + q)));
#else
    for (q = 0; q < n; ++q) x[q] = sqrt(x[q]);
#endif
}

/* 8-wide vectors of doubles for the 3-body contraction: GCC/Clang vector
   extensions where one register holds them (AVX-512; elsewhere passing them
   by value is an ABI change the compilers warn about), else plain arrays.
   Elementwise multiplies and adds in the same order either way: the same
   bits. */
#if (defined(__GNUC__) || defined(__clang__)) && defined(__AVX512F__) && !defined(SP_NO_VECTOR_EXT)
#define SP__UF3_V8EXT 1
typedef double sp__v8 __attribute__((vector_size(64)));
static SP__INLINE sp__v8 sp__v8_load(const double *p) {
    sp__v8 r;
    memcpy(&r, p, sizeof r);
    return r;
}
#if defined(__has_builtin)
#if __has_builtin(__builtin_shufflevector)
#define SP__V8_SHUFFLE 1
#endif
#endif
static SP__INLINE sp__v8 sp__v8_dup4(const double *p) { /* p[0..3] in both halves */
#if defined(SP__UF3_AVX512)
    return (sp__v8)_mm512_broadcast_f64x4(_mm256_loadu_pd(p)); /* one load, no shuffle */
#elif defined(SP__V8_SHUFFLE)
    typedef double sp__v4 __attribute__((vector_size(32)));
    sp__v4 h;
    memcpy(&h, p, sizeof h);
    return __builtin_shufflevector(h, h, 0, 1, 2, 3, 0, 1, 2, 3);
#else
    sp__v8 r = {p[0], p[1], p[2], p[3], p[0], p[1], p[2], p[3]};
    return r;
#endif
}
static SP__INLINE sp__v8 sp__v8_splat(double s) {
    sp__v8 r = {s, s, s, s, s, s, s, s};
    return r;
}
static SP__INLINE void sp__v8_store(double *p, sp__v8 v) { memcpy(p, &v, sizeof v); }
static SP__INLINE sp__v8 sp__v8_sqrt(sp__v8 v) {
#if defined(SP__UF3_AVX512)
    return (sp__v8)_mm512_sqrt_pd((__m512d)v);
#else
    int c;
    for (c = 0; c < 8; ++c) v[c] = sqrt(v[c]);
    return v;
#endif
}
#define SP__V8_MUL(a, b) ((a) * (b))
#define SP__V8_ADD(a, b) ((a) + (b))
#define SP__V8_SUB(a, b) ((a) - (b))
#define SP__V8_DIV(a, b) ((a) / (b))
#define SP__V8_EL(v, c) ((v)[c])
#else
typedef struct sp__v8 { double x[8]; } sp__v8;
static SP__INLINE sp__v8 sp__v8_load(const double *p) {
    sp__v8 r;
    memcpy(r.x, p, sizeof r.x);
    return r;
}
static SP__INLINE sp__v8 sp__v8_dup4(const double *p) {
    sp__v8 r;
    int c;
    for (c = 0; c < 8; ++c) r.x[c] = p[c & 3];
    return r;
}
static SP__INLINE sp__v8 sp__v8_splat(double s) {
    sp__v8 r;
    int c;
    for (c = 0; c < 8; ++c) r.x[c] = s;
    return r;
}
static SP__INLINE sp__v8 sp__v8_mul(sp__v8 a, sp__v8 b) {
    int c;
    for (c = 0; c < 8; ++c) a.x[c] *= b.x[c];
    return a;
}
static SP__INLINE sp__v8 sp__v8_add(sp__v8 a, sp__v8 b) {
    int c;
    for (c = 0; c < 8; ++c) a.x[c] += b.x[c];
    return a;
}
static SP__INLINE sp__v8 sp__v8_sub(sp__v8 a, sp__v8 b) {
    int c;
    for (c = 0; c < 8; ++c) a.x[c] -= b.x[c];
    return a;
}
static SP__INLINE sp__v8 sp__v8_div(sp__v8 a, sp__v8 b) {
    int c;
    for (c = 0; c < 8; ++c) a.x[c] /= b.x[c];
    return a;
}
static SP__INLINE void sp__v8_store(double *p, sp__v8 v) { memcpy(p, v.x, sizeof v.x); }
static SP__INLINE sp__v8 sp__v8_sqrt(sp__v8 v) {
    sp__uf3_vsqrt(8, v.x);
    return v;
}
#define SP__V8_MUL(a, b) sp__v8_mul((a), (b))
#define SP__V8_ADD(a, b) sp__v8_add((a), (b))
#define SP__V8_SUB(a, b) sp__v8_sub((a), (b))
#define SP__V8_DIV(a, b) sp__v8_div((a), (b))
#define SP__V8_EL(v, c) ((v).x[c])
#endif
/* s[0] = sum a[0..3], s[1] = sum c[0..3], s[2] = sum b[0..3], s[3] = sum c[4..7], each as
   (x0 + x1) + (x2 + x3); with AVX-512 as a 4x4 transpose-and-add (4 shuffles instead of 12) */
static SP__INLINE void sp__v8_hsum3(sp__v8 a, sp__v8 b, sp__v8 c, double *s) {
#if defined(SP__UF3_AVX512) && defined(SP__UF3_V8EXT)
    const __m512d x = _mm512_insertf64x4((__m512d)a, _mm512_castpd512_pd256((__m512d)b), 1); /* a.lo | b.lo */
    /* per 128-bit lane k: (x[2k] + x[2k+1], c[2k] + c[2k+1]) */
    const __m512d y = _mm512_add_pd(_mm512_unpacklo_pd(x, (__m512d)c), _mm512_unpackhi_pd(x, (__m512d)c));
    /* lanes 0+1 and 2+3: lane 0 = (sum a, sum c.lo), lane 2 = (sum b, sum c.hi) */
    const __m512d z = _mm512_add_pd(y, _mm512_shuffle_f64x2(y, y, 0xB1));
    _mm_storeu_pd(s, _mm512_castpd512_pd128(z));
    _mm_storeu_pd(s + 2, _mm512_extractf64x2_pd(z, 2));
#else
    s[0] = (SP__V8_EL(a, 0) + SP__V8_EL(a, 1)) + (SP__V8_EL(a, 2) + SP__V8_EL(a, 3));
    s[1] = (SP__V8_EL(c, 0) + SP__V8_EL(c, 1)) + (SP__V8_EL(c, 2) + SP__V8_EL(c, 3));
    s[2] = (SP__V8_EL(b, 0) + SP__V8_EL(b, 1)) + (SP__V8_EL(b, 2) + SP__V8_EL(b, 3));
    s[3] = (SP__V8_EL(c, 4) + SP__V8_EL(c, 5)) + (SP__V8_EL(c, 6) + SP__V8_EL(c, 7));
#endif
}
/* (v0..v3, v0..v3) and (v4..v7, v4..v7) */
static SP__INLINE sp__v8 sp__v8_lolo(sp__v8 v) {
#if defined(SP__UF3_AVX512) && defined(SP__UF3_V8EXT)
    return (sp__v8)_mm512_shuffle_f64x2((__m512d)v, (__m512d)v, 0x44);
#else
    int c;
    for (c = 4; c < 8; ++c) SP__V8_EL(v, c) = SP__V8_EL(v, c - 4);
    return v;
#endif
}
static SP__INLINE sp__v8 sp__v8_hihi(sp__v8 v) {
#if defined(SP__UF3_AVX512) && defined(SP__UF3_V8EXT)
    return (sp__v8)_mm512_shuffle_f64x2((__m512d)v, (__m512d)v, 0xEE);
#else
    int c;
    for (c = 0; c < 4; ++c) SP__V8_EL(v, c) = SP__V8_EL(v, c + 4);
    return v;
#endif
}

/* The 4 basis values and their derivatives of a uniform knot vector at x
   (within its knots), as one 8-vector (B[0..3], B'[0..3]), from the table vt
   (sp_uf3_trio_t.vtab; the derivative's cubic term is 0) for interval k. */
static SP__INLINE sp__v8 sp__uf3_vbasis_k(const double *SP_RESTRICT vt, double x, int k) {
    const double *SP_RESTRICT o = vt + 40 * (size_t)k;
    const sp__v8 u = sp__v8_splat(x - o[32]);
    const sp__v8 c3 = SP__V8_ADD(sp__v8_load(o + 16), SP__V8_MUL(u, sp__v8_load(o + 24)));
    return SP__V8_ADD(sp__v8_load(o), SP__V8_MUL(u, SP__V8_ADD(sp__v8_load(o + 8), SP__V8_MUL(u, c3))));
}
/* its interval */
static SP__INLINE int sp__uf3_vinterval(const sp_bspline_t *bs, double x) {
    const double km = (double)(bs->nt - 8);
    double f = (x - bs->t0) * bs->inv_dt;
    f = f < 0.0 ? 0.0 : (f > km ? km : f);
    return (int)f;
}

/* V3 and its derivatives along l, m and n, into out4 = (dV/dl, V, dV/dn,
   dV/dm). The l bond gives its basis values bl[0..3] and derivatives
   bl[4..7] at l0, the m bond the 8-vectors wm[b] = (B_m[b] x 4, B'_m[b] x 4)
   at m0, the n axis z = (B_n[0..3], B'_n[0..3]) at n0. Per row a of l, with
   X_b = C[l0+a][m0+b][n0..n0+3] in both halves, T = sum_b wm[b] X_b = (t, t')
   (t' with B'_m); then (av, am) = sum_a B_l[a] T and (al, .) = sum_a B'_l[a] T,
   and V = av.B_n, dV/dl = al.B_n, dV/dm = am.B_n, dV/dn = av.B'_n. */
static SP__INLINE void sp__uf3_vtrio(const sp_uf3_trio_t *T, int l0, const double *SP_RESTRICT bl, int m0,
                                     /* cppcheck-suppress passedByValue ; a vector register with GCC and clang */
                                     const double *SP_RESTRICT wm, sp__v8 z, int n0, double *SP_RESTRICT out4) {
    const size_t N = (size_t)T->N, MN = (size_t)T->M * N;
    const double *SP_RESTRICT r0 = T->c + ((size_t)l0 * T->M + (size_t)m0) * N + (size_t)n0;
    const sp__v8 w0 = sp__v8_load(wm), w1 = sp__v8_load(wm + 8);
    const sp__v8 w2 = sp__v8_load(wm + 16), w3 = sp__v8_load(wm + 24);
    const sp__v8 bn = sp__v8_lolo(z), dbn = sp__v8_hihi(z);
    sp__v8 ac = sp__v8_splat(0.0), al = ac;
    int a;
    for (a = 0; a < 4; ++a, r0 += MN) {
        const sp__v8 t = SP__V8_ADD(SP__V8_ADD(SP__V8_MUL(w0, sp__v8_dup4(r0)), SP__V8_MUL(w1, sp__v8_dup4(r0 + N))),
                                    SP__V8_ADD(SP__V8_MUL(w2, sp__v8_dup4(r0 + 2 * N)),
                                               SP__V8_MUL(w3, sp__v8_dup4(r0 + 3 * N))));
        ac = SP__V8_ADD(ac, SP__V8_MUL(sp__v8_splat(bl[a]), t));
        al = SP__V8_ADD(al, SP__V8_MUL(sp__v8_splat(bl[4 + a]), t));
    }
    sp__v8_hsum3(SP__V8_MUL(al, bn), SP__V8_MUL(ac, dbn), SP__V8_MUL(ac, bn), out4);
}

/* The same from the l-contracted rows S[m][n] = sum_a B_l[a] C[l0+a][m][n] and
   S2 (with B'_l), both with row length ns, at the m0 row and n0 column: per
   triplet 8 products instead of 24. */
static SP__INLINE void sp__uf3_vtrio_s(const double *SP_RESTRICT s, const double *SP_RESTRICT s2, size_t ns,
                                       /* cppcheck-suppress passedByValue ; a vector register with GCC and clang */
                                       const double *SP_RESTRICT wm, sp__v8 z, double *SP_RESTRICT out4) {
    const sp__v8 w0 = sp__v8_load(wm), w1 = sp__v8_load(wm + 8);
    const sp__v8 w2 = sp__v8_load(wm + 16), w3 = sp__v8_load(wm + 24);
    const sp__v8 bn = sp__v8_lolo(z), dbn = sp__v8_hihi(z);
    const sp__v8 ac = SP__V8_ADD(SP__V8_ADD(SP__V8_MUL(w0, sp__v8_dup4(s)), SP__V8_MUL(w1, sp__v8_dup4(s + ns))),
                                 SP__V8_ADD(SP__V8_MUL(w2, sp__v8_dup4(s + 2 * ns)),
                                            SP__V8_MUL(w3, sp__v8_dup4(s + 3 * ns))));
    const sp__v8 al = SP__V8_ADD(SP__V8_ADD(SP__V8_MUL(w0, sp__v8_dup4(s2)), SP__V8_MUL(w1, sp__v8_dup4(s2 + ns))),
                                 SP__V8_ADD(SP__V8_MUL(w2, sp__v8_dup4(s2 + 2 * ns)),
                                            SP__V8_MUL(w3, sp__v8_dup4(s2 + 3 * ns))));
    sp__v8_hsum3(SP__V8_MUL(al, bn), SP__V8_MUL(ac, dbn), SP__V8_MUL(ac, bn), out4);
}

/* One row's trio coefficients contracted with bond j's basis bj (4 values,
   4 derivatives) over the l axis: S[r][c] = sum_b B_b cj[r N + b M N + c]
   into s, the same with B'_b into s + nr ns, for nr m-rows and ns (a
   multiple of 8) n-columns; cj points at the coefficient (j's l-interval,
   first m-row, first column) (reads up to 7 past a row: T->c is padded). */
static SP__INLINE void sp__uf3_contract(const double *SP_RESTRICT cj, size_t N, size_t MN, const double *SP_RESTRICT bj,
                                        int nr, int ns, double *SP_RESTRICT s) {
    const sp__v8 l0 = sp__v8_splat(bj[0]), l1 = sp__v8_splat(bj[1]), l2 = sp__v8_splat(bj[2]);
    const sp__v8 l3 = sp__v8_splat(bj[3]), d0 = sp__v8_splat(bj[4]), d1 = sp__v8_splat(bj[5]);
    const sp__v8 d2 = sp__v8_splat(bj[6]), d3 = sp__v8_splat(bj[7]);
    double *SP_RESTRICT s2 = s + (size_t)nr * ns;
    int mr, c;
    for (mr = 0; mr < nr; ++mr) {
        const double *SP_RESTRICT cr = cj + (size_t)mr * N;
        for (c = 0; c < ns; c += SP__UF3_LANES) {
            const sp__v8 c0 = sp__v8_load(cr + c), c1 = sp__v8_load(cr + MN + c);
            const sp__v8 c2 = sp__v8_load(cr + 2 * MN + c), c3 = sp__v8_load(cr + 3 * MN + c);
            sp__v8_store(s + (size_t)mr * ns + c, SP__V8_ADD(SP__V8_ADD(SP__V8_MUL(l0, c0), SP__V8_MUL(l1, c1)),
                                                             SP__V8_ADD(SP__V8_MUL(l2, c2), SP__V8_MUL(l3, c3))));
            sp__v8_store(s2 + (size_t)mr * ns + c, SP__V8_ADD(SP__V8_ADD(SP__V8_MUL(d0, c0), SP__V8_MUL(d1, c1)),
                                                              SP__V8_ADD(SP__V8_MUL(d2, c2), SP__V8_MUL(d3, c3))));
        }
    }
}

/* Several elements (sp__uf3_center_fast; the 3-body bonds grouped by element,
   gs[b] the first of element b, smn and smx the least and greatest l-interval
   from each bond to the end of its group): the triplets (j, k > j) of bond j's
   row, of j's element a, group by group. k's element is never below a, so j is
   on the trio's l axis, as for one element. A group with enough triplets is
   contracted with j's basis over l once (the rule of the one-element path),
   the others go triplet by triplet. Writes each triplet's n-interval to tk
   and its 4 results to ph. Not inlined: in sp__uf3_center_fast the
   contraction made the one-element path slower. */
SP__NOINLINE static void sp__uf3_row_groups(const sp_uf3_trio_t *T0, int ne, const int *SP_RESTRICT gs,
                                            const int *SP_RESTRICT bl0, const int *SP_RESTRICT smn,
                                            const int *SP_RESTRICT smx, int jj, int a, int *SP_RESTRICT tk,
                                            const double *SP_RESTRICT wr, const double *SP_RESTRICT bj,
                                            const double *SP_RESTRICT wms, double *SP_RESTRICT s3,
                                            double *SP_RESTRICT ph) {
    enum { W = SP__UF3_LANES };
    const int k0 = jj + 1, lj = bl0[jj];
    int b, t;
    for (b = a; b < ne; ++b) {
        const sp_uf3_trio_t *T = T0 + sp_pot_pair_index(ne, a, b);
        const sp_bspline_t *bsn = &T->bs[2];
        const int ks = b == a ? k0 : gs[b], t0 = ks - k0, t1 = gs[b + 1] - k0, cnt = t1 - t0;
        const size_t N = (size_t)T->N, MN = (size_t)T->M * N;
        int nlo, nhi, nr = 0, ns = 0, mlo = 0, use = 0;
        if (cnt <= 0) continue;
        nlo = nhi = tk[t0] = sp__uf3_vinterval(bsn, wr[t0]);
        for (t = t0 + 1; t < t1; ++t) {
            const int n0 = tk[t] = sp__uf3_vinterval(bsn, wr[t]);
            nlo = n0 < nlo ? n0 : nlo;
            nhi = n0 > nhi ? n0 : nhi;
        }
        if (cnt >= 4) {
            mlo = smn[ks];
            nr = smx[ks] + 4 - mlo;
            ns = (nhi + 4 - nlo + W - 1) / W * W;
            use = 14 * nr * (ns / W) < 34 * cnt - 40;
        }
        if (use) sp__uf3_contract(T->c + ((size_t)lj * T->M + (size_t)mlo) * N + nlo, N, MN, bj, nr, ns, s3);
        for (t = t0; t < t1; ++t) {
            const int kk = k0 + t, n0 = tk[t];
            const double rjk = wr[t];
            double *SP_RESTRICT o = ph + 4 * t;
            if (rjk < bsn->t0 || rjk > bsn->t1) {
                o[0] = o[1] = o[2] = o[3] = 0.0;
                continue;
            }
            if (use) {
                const size_t off = (size_t)(bl0[kk] - mlo) * ns + (size_t)(n0 - nlo);
                sp__uf3_vtrio_s(s3 + off, s3 + (size_t)nr * ns + off, (size_t)ns, wms + 32 * (size_t)kk,
                                sp__uf3_vbasis_k(T->vtab[2], rjk, n0), o);
            } else
                sp__uf3_vtrio(T, lj, bj, bl0[kk], wms + 32 * (size_t)kk, sp__uf3_vbasis_k(T->vtab[2], rjk, n0), n0, o);
        }
    }
}

/* Per-thread scratch of sp__uf3_center_fast, doubles, cap a multiple of 8:
   entries dx dy dz r 1/r | bonds bx by bz 1/r sd gx gy gz | basis 8 and
   wm 32 per bond | one row's results, 4 per triplet (2 cap unused) | then, for up to
   tcap = 4 cap triplets (a chunk of rows), r_jk vectors, r_jk, 1/r_jk | the
   l-contracted rows S, S2 (2 s3max) | ints: types, bonds' entries, types,
   basis index, entries to zero, suffix minima and maxima of the basis index |
   triplets' n-interval. */
#define SP__UF3_SCR_DOUBLES (5 + 8 + 40 + 6)
#define SP__UF3_TCAP(cap) (4 * (cap))
static size_t sp__uf3_scratch_bytes(const sp_pot_t *pot, int maxdeg) {
    const size_t cap = ((size_t)maxdeg + 2 * SP__UF3_LANES) / SP__UF3_LANES * SP__UF3_LANES;
    const size_t tc = SP__UF3_TCAP(cap) + SP__UF3_LANES;
    return cap * (SP__UF3_SCR_DOUBLES * sizeof(double) + 7 * sizeof(int)) + tc * (5 * sizeof(double) + sizeof(int)) +
           2 * (size_t)pot->uf3.s3max * sizeof(double) + 128;
}

static SP__INLINE double sp__uf3_center_fast_t(const sp_pot_t *pot, const sp_nlist_t *nl, const int *type, int i,
                                               void *scratch, int maxdeg, double *SP_RESTRICT fb,
                                               double *SP_RESTRICT fdir, double *SP_RESTRICT wdir, double m1,
                                               double m2, int *SP_RESTRICT lst, const int single) {
    enum { W = SP__UF3_LANES };
    const sp_uf3_t *u = &pot->uf3;
    const int ne = pot->nelem, ti = type[i], np = ne * (ne + 1) / 2;
    const int b0 = nl->first[i], n = nl->first[i + 1] - b0, npad = (n + W - 1) / W * W;
    const size_t cap = ((size_t)maxdeg + 2 * W) / W * W;
    const int *SP_RESTRICT jl = nl->j + b0;
    const double *SP_RESTRICT xe = nl->xe;
    const double xi0 = xe[3 * (size_t)i], xi1 = xe[3 * (size_t)i + 1], xi2 = xe[3 * (size_t)i + 2];
    const double *SP_RESTRICT poly = u->pair[0].poly;
    /* cppcheck-suppress invalidPointerCast ; one block carved into typed arrays, never reinterpreted */
    double *const sd0 = (double *)((char *)scratch + ((64 - ((size_t)scratch & 63)) & 63)); /* 64-byte aligned */
    /* entries: difference vectors, r, 1/r, neighbour types */
    double *SP_RESTRICT dx = sd0, *SP_RESTRICT dy = sd0 + cap, *SP_RESTRICT dz = sd0 + 2 * cap;
    double *SP_RESTRICT rs = sd0 + 3 * cap, *SP_RESTRICT iv = sd0 + 4 * cap;
    const size_t tcap = SP__UF3_TCAP(cap);
    double *SP_RESTRICT s3 = sd0 + SP__UF3_SCR_DOUBLES * cap + 5 * (tcap + W);
    /* cppcheck-suppress invalidPointerCast ; one block carved into typed arrays, never reinterpreted */
    int *SP_RESTRICT pt = (int *)(s3 + 2 * (size_t)u->s3max);
    double ae[W], afx[W], afy[W], afz[W], axx[W], axy[W], axz[W], ayy[W], ayz[W], azz[W];
    double e = u->e1[ti], s[10];
    /* the pairs (ti, tj): parameters by neighbour type */
    double et0[SP_MAX_ELEMENTS], eih[SP_MAX_ELEMENTS], ekm[SP_MAX_ELEMENTS], ecut[SP_MAX_ELEMENTS];
    int eoff[SP_MAX_ELEMENTS], q, l, a;
    for (a = 0; a < ne; ++a) {
        const int p = sp_pot_pair_index(ne, ti, a);
        et0[a] = u->p_t0[p]; eih[a] = u->p_ih[p]; ekm[a] = u->p_km[p]; ecut[a] = u->p_cut[p]; eoff[a] = u->p_off[p];
    }
    /* 1. difference vectors, distances */
    for (q = 0; q < n; ++q) {
        const int g = jl[q];
        const double ax = xe[3 * (size_t)g] - xi0, ay = xe[3 * (size_t)g + 1] - xi1, az = xe[3 * (size_t)g + 2] - xi2;
        dx[q] = ax; dy[q] = ay; dz[q] = az;
        rs[q] = ax * ax + ay * ay + az * az;
    }
    for (q = n; q < npad; ++q) {
        dx[q] = dy[q] = dz[q] = 0.0;
        rs[q] = 1e300; /* beyond every cutoff */
    }
    sp__uf3_vsqrt(npad, rs);
    for (q = 0; q < npad; ++q) iv[q] = 1.0 / rs[q];
    if (!single) {
        for (q = 0; q < n; ++q) pt[q] = type[nl->owner[jl[q]]];
        for (q = n; q < npad; ++q) pt[q] = 0;
    }
    /* 2. V2, lane-blocked */
    for (l = 0; l < W; ++l)
        ae[l] = afx[l] = afy[l] = afz[l] = axx[l] = axy[l] = axz[l] = ayy[l] = ayz[l] = azz[l] = 0.0;
#if defined(SP__UF3_AVX512)
    if (!single || u->pair[0].nint <= 32) {
        /* the same lanes with AVX-512. One element: the power form (at most 32
           intervals) held in registers, looked up by two-table permutes instead of
           gathers; several: each lane's pair parameters permuted from the per-type
           values by its neighbour's type, its coefficients gathered */
        const double *SP_RESTRICT vt = u->pair[0].vt;
        const __m512d zero = _mm512_setzero_pd(), two = _mm512_set1_pd(2.0), three = _mm512_set1_pd(3.0);
        __m512d tb[5][4], sa[10], pv[4];
        __m512i poff = _mm512_setzero_si512();
        int c;
        if (single) {
            for (c = 0; c < 5; ++c)
                for (a = 0; a < 4; ++a) tb[c][a] = _mm512_loadu_pd(vt + 32 * c + 8 * a);
        } else {
            for (a = ne; a < SP_MAX_ELEMENTS; ++a) et0[a] = eih[a] = ekm[a] = ecut[a] = 0.0, eoff[a] = 0;
            poff = _mm512_cvtepi32_epi64(_mm256_loadu_si256((const __m256i *)eoff));
        }
        pv[0] = _mm512_loadu_pd(et0); pv[1] = _mm512_loadu_pd(eih); pv[2] = _mm512_loadu_pd(ekm); pv[3] = _mm512_loadu_pd(ecut);
        for (c = 0; c < 10; ++c) sa[c] = zero;
        for (q = 0; q < npad; q += W) {
            const __m512d r = _mm512_loadu_pd(rs + q), ivq = _mm512_loadu_pd(iv + q);
            const __m512d ex = _mm512_loadu_pd(dx + q), ey = _mm512_loadu_pd(dy + q), ez = _mm512_loadu_pd(dz + q);
            __m512d co[5], t0, ih, km, cut, f, x, v, d, w;
            __m512i k, ty = _mm512_setzero_si512();
            __mmask8 in;
            if (single) {
                t0 = _mm512_set1_pd(et0[0]); ih = _mm512_set1_pd(eih[0]); km = _mm512_set1_pd(ekm[0]); cut = _mm512_set1_pd(ecut[0]);
            } else {
                ty = _mm512_cvtepi32_epi64(_mm256_loadu_si256((const __m256i *)(pt + q)));
                t0 = _mm512_permutexvar_pd(ty, pv[0]); ih = _mm512_permutexvar_pd(ty, pv[1]);
                km = _mm512_permutexvar_pd(ty, pv[2]); cut = _mm512_permutexvar_pd(ty, pv[3]);
            }
            f = _mm512_min_pd(_mm512_max_pd(_mm512_mul_pd(_mm512_sub_pd(r, t0), ih), zero), km);
            k = _mm512_cvtepi32_epi64(_mm512_cvttpd_epi32(f));
            in = _mm512_cmp_pd_mask(r, cut, _CMP_LT_OQ);
            if (single) {
                const __mmask8 hi = _mm512_test_epi64_mask(k, _mm512_set1_epi64(16));
                for (c = 0; c < 5; ++c)
                    co[c] = _mm512_mask_blend_pd(hi, _mm512_permutex2var_pd(tb[c][0], k, tb[c][1]),
                                                 _mm512_permutex2var_pd(tb[c][2], k, tb[c][3]));
            } else { /* poly index off + 5 k */
                k = _mm512_add_epi64(_mm512_permutexvar_epi64(ty, poff), _mm512_add_epi64(_mm512_slli_epi64(k, 2), k));
                for (c = 0; c < 5; ++c) co[c] = _mm512_i64gather_pd(k, poly + c, 8);
            }
            x = _mm512_sub_pd(r, co[0]);
            v = _mm512_add_pd(co[1], _mm512_mul_pd(x, _mm512_add_pd(co[2], _mm512_mul_pd(x, _mm512_add_pd(
                                                                        co[3], _mm512_mul_pd(x, co[4]))))));
            d = _mm512_add_pd(co[2], _mm512_mul_pd(x, _mm512_add_pd(_mm512_mul_pd(two, co[3]),
                                                                     _mm512_mul_pd(_mm512_mul_pd(three, x), co[4]))));
            v = _mm512_mask_blend_pd(in, zero, v);
            w = _mm512_mask_blend_pd(in, zero, _mm512_mul_pd(d, ivq));
            sa[0] = _mm512_add_pd(sa[0], v);
            sa[1] = _mm512_add_pd(sa[1], _mm512_mul_pd(w, ex));
            sa[2] = _mm512_add_pd(sa[2], _mm512_mul_pd(w, ey));
            sa[3] = _mm512_add_pd(sa[3], _mm512_mul_pd(w, ez));
            sa[4] = _mm512_sub_pd(sa[4], _mm512_mul_pd(_mm512_mul_pd(w, ex), ex));
            sa[5] = _mm512_sub_pd(sa[5], _mm512_mul_pd(_mm512_mul_pd(w, ex), ey));
            sa[6] = _mm512_sub_pd(sa[6], _mm512_mul_pd(_mm512_mul_pd(w, ex), ez));
            sa[7] = _mm512_sub_pd(sa[7], _mm512_mul_pd(_mm512_mul_pd(w, ey), ey));
            sa[8] = _mm512_sub_pd(sa[8], _mm512_mul_pd(_mm512_mul_pd(w, ey), ez));
            sa[9] = _mm512_sub_pd(sa[9], _mm512_mul_pd(_mm512_mul_pd(w, ez), ez));
        }
        _mm512_storeu_pd(ae, sa[0]);
        _mm512_storeu_pd(afx, sa[1]); _mm512_storeu_pd(afy, sa[2]); _mm512_storeu_pd(afz, sa[3]);
        _mm512_storeu_pd(axx, sa[4]); _mm512_storeu_pd(axy, sa[5]); _mm512_storeu_pd(axz, sa[6]);
        _mm512_storeu_pd(ayy, sa[7]); _mm512_storeu_pd(ayz, sa[8]); _mm512_storeu_pd(azz, sa[9]);
    } else
#endif
    for (q = 0; q < npad; q += W)
        SP__UF3_IVDEP for (l = 0; l < W; ++l) {
            const int p = single ? 0 : pt[q + l];
            const double r = rs[q + l];
            /* cppcheck-suppress uninitvar ; p is a neighbour type, < ne: set above */
            const double t0 = et0[p], ih = eih[p], km = ekm[p], cut = ecut[p];
            /* cppcheck-suppress uninitvar ; p is a neighbour type, < ne: set above */
            const int off = eoff[p];
            double f = (r - t0) * ih, x, a1, a2, a3, v, d, w;
            int k;
            f = f < 0.0 ? 0.0 : (f > km ? km : f);
            k = off + 5 * (int)f;
            x = r - poly[k];
            a1 = poly[k + 2]; a2 = poly[k + 3]; a3 = poly[k + 4];
            v = poly[k + 1] + x * (a1 + x * (a2 + x * a3));
            d = a1 + x * (2.0 * a2 + 3.0 * x * a3);
            v = r < cut ? v : 0.0;
            w = r < cut ? d * iv[q + l] : 0.0; /* V2'(r) / r */
            ae[l] += v;
            afx[l] += w * dx[q + l]; afy[l] += w * dy[q + l]; afz[l] += w * dz[q + l];
            axx[l] -= w * dx[q + l] * dx[q + l]; axy[l] -= w * dx[q + l] * dy[q + l];
            axz[l] -= w * dx[q + l] * dz[q + l]; ayy[l] -= w * dy[q + l] * dy[q + l];
            ayz[l] -= w * dy[q + l] * dz[q + l]; azz[l] -= w * dz[q + l] * dz[q + l];
        }
    for (a = 0; a < 10; ++a) s[a] = 0.0;
    for (l = 0; l < W; ++l) {
        e += ae[l];
        s[0] += afx[l]; s[1] += afy[l]; s[2] += afz[l];
        s[3] += axx[l]; s[4] += axy[l]; s[5] += axz[l]; s[6] += ayy[l]; s[7] += ayz[l]; s[8] += azz[l];
    }
    /* the pair force on i is sum_j 2 V2'(r) u_ij, its virial sum_j r_ij (x) (-V2'(r) u_ij) */
    fdir[0] = 2.0 * s[0]; fdir[1] = 2.0 * s[1]; fdir[2] = 2.0 * s[2];
    wdir[0] = s[3]; wdir[1] = s[4]; wdir[2] = s[5];
    wdir[3] = s[4]; wdir[4] = s[6]; wdir[5] = s[7];
    wdir[6] = s[5]; wdir[7] = s[7]; wdir[8] = s[8];
    /* 3. 3-body */
    if (u->has3) {
        const sp_uf3_trio_t *T0 = u->trio + (size_t)ti * np;
        const sp_bspline_t *bsl = &u->trio[0].bs[0]; /* same3: every trio's l and m knots */
        const double *SP_RESTRICT vtl = u->trio[0].vtab[0];
        const double lo3 = bsl->t0, hi3 = bsl->t1;
        /* compacted bonds: difference vector, 1/r, sum of dV/dr, force from the r_jk terms */
        double *SP_RESTRICT bx = sd0 + 5 * cap, *SP_RESTRICT by = sd0 + 6 * cap, *SP_RESTRICT bz = sd0 + 7 * cap;
        double *SP_RESTRICT bi = sd0 + 8 * cap, *SP_RESTRICT sd = sd0 + 9 * cap;
        double *SP_RESTRICT gx = sd0 + 10 * cap, *SP_RESTRICT gy = sd0 + 11 * cap, *SP_RESTRICT gz = sd0 + 12 * cap;
        double *SP_RESTRICT bas = sd0 + 13 * cap;  /* 8 per bond: 4 values, 4 derivatives */
        double *SP_RESTRICT wms = sd0 + 21 * cap;  /* 32 per bond: (B[b] x 4, B'[b] x 4), b = 0..3 */
        /* one row of triplets (j, k > j): (dV/dr_ij, V, dV/dr_jk, dV/dr_ik) */
        double *SP_RESTRICT ph = sd0 + 55 * cap;
        /* triplets of a chunk of rows: r_jk vector, r_jk, 1/r_jk, interval along n */
        double *SP_RESTRICT tx = sd0 + SP__UF3_SCR_DOUBLES * cap, *SP_RESTRICT ty = tx + (tcap + W);
        double *SP_RESTRICT tz = ty + (tcap + W), *SP_RESTRICT tr = tz + (tcap + W);
        double *SP_RESTRICT ti_ = tr + (tcap + W);
        int *SP_RESTRICT idx = pt + cap, *SP_RESTRICT bt = pt + 2 * cap, *SP_RESTRICT bl0 = pt + 3 * cap;
        int *SP_RESTRICT zl = pt + 4 * cap, *SP_RESTRICT smn = pt + 5 * cap, *SP_RESTRICT smx = pt + 6 * cap;
        int *SP_RESTRICT tk = pt + 7 * cap;
        const sp_bspline_t *bsn = &T0->bs[2];
        int jj0 = 0, gs[SP_MAX_ELEMENTS + 1];
        int nb = 0, nz = 0, nm = 0, jj, t;
        /* the 3-body bonds; the entries within m2 that are not (their Fb slot gets a zero);
           the reverse entries of those within m1, listed for the gather in lst */
        q = 0;
#if defined(SP__UF3_AVX512) && defined(__AVX512VL__) && (defined(__GNUC__) || defined(__clang__))
        { /* the same compaction 8 entries at a time (register compress) */
            const __m512d vlo = _mm512_set1_pd(lo3), vhi = _mm512_set1_pd(hi3);
            const __m512d vm1 = _mm512_set1_pd(m1), vm2 = _mm512_set1_pd(m2);
            const int *SP_RESTRICT rv = nl->rev + b0;
            for (; q + W <= n; q += W) {
                const __m512d r = _mm512_loadu_pd(rs + q);
                const __mmask8 in3 = _mm512_cmp_pd_mask(r, vlo, _CMP_GE_OQ) & _mm512_cmp_pd_mask(r, vhi, _CMP_LE_OQ);
                const __mmask8 z2 = _mm512_cmp_pd_mask(r, vm2, _CMP_NGT_UQ) & (__mmask8)~in3;
                const __mmask8 w1 = _mm512_cmp_pd_mask(r, vm1, _CMP_NGT_UQ);
                const __m256i iq = _mm256_add_epi32(_mm256_set1_epi32(q), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
                _mm256_storeu_si256((__m256i *)(idx + nb), _mm256_maskz_compress_epi32(in3, iq));
                _mm256_storeu_si256((__m256i *)(zl + nz), _mm256_maskz_compress_epi32(z2, iq));
                _mm256_storeu_si256((__m256i *)(lst + b0 + nm),
                                    _mm256_maskz_compress_epi32(w1, _mm256_loadu_si256((const __m256i *)(rv + q))));
                nb += __builtin_popcount(in3);
                nz += __builtin_popcount(z2);
                nm += __builtin_popcount(w1);
            }
        }
#endif
        for (; q < n; ++q) {
            const double r = rs[q];
            const int in3 = (r >= lo3) & (r <= hi3);
            idx[nb] = q;
            nb += in3;
            zl[nz] = q;
            nz += !(r > m2) & !in3;
            lst[b0 + nm] = nl->rev[b0 + q];
            nm += !(r > m1);
        }
        if (nm < n) lst[b0 + nm] = -1;
        if (!single) { /* several elements: the 3-body bonds grouped by element, in list order within each */
            int c[SP_MAX_ELEMENTS + 1] = {0}, b;
            for (jj = 0; jj < nb; ++jj) {
                tk[jj] = idx[jj];
                ++c[pt[idx[jj]] + 1];
            }
            for (b = 0; b < ne; ++b) c[b + 1] += c[b];
            for (b = 0; b <= ne; ++b) gs[b] = c[b];
            for (jj = 0; jj < nb; ++jj) idx[c[pt[tk[jj]]]++] = tk[jj];
        }
#if (defined(__GNUC__) || defined(__clang__)) && !defined(__CUDACC__)
        for (jj = 0; jj < nb; ++jj) __builtin_prefetch(fb + 3 * (size_t)(b0 + idx[jj]), 1, 3); /* written below */
#endif
        for (jj = 0; jj < nb; ++jj) {
            sp__v8 z;
            int b;
            q = idx[jj];
            bx[jj] = dx[q]; by[jj] = dy[q]; bz[jj] = dz[q]; bi[jj] = iv[q];
            bt[jj] = single ? 0 : pt[q];
            bl0[jj] = sp__uf3_vinterval(bsl, rs[q]);
            z = sp__uf3_vbasis_k(vtl, rs[q], bl0[jj]);
            sp__v8_store(bas + 8 * jj, z);
            for (b = 0; b < 4; ++b) {
                double *w = wms + 32 * (size_t)jj + 8 * b;
                w[0] = w[1] = w[2] = w[3] = SP__V8_EL(z, b);
                w[4] = w[5] = w[6] = w[7] = SP__V8_EL(z, 4 + b);
            }
            sd[jj] = gx[jj] = gy[jj] = gz[jj] = 0.0;
        }
        for (jj = nb; jj < nb + W; ++jj) bx[jj] = by[jj] = bz[jj] = 0.0;
        if (single && nb > 0) { /* the m-intervals of the bonds after each bond */
            smn[nb - 1] = smx[nb - 1] = bl0[nb - 1];
            for (jj = nb - 2; jj >= 0; --jj) {
                smn[jj] = bl0[jj + 1] < smn[jj + 1] ? bl0[jj + 1] : smn[jj + 1];
                smx[jj] = bl0[jj + 1] > smx[jj + 1] ? bl0[jj + 1] : smx[jj + 1];
            }
        }
        for (jj = nb - 1; !single && jj >= 0; --jj) { /* several: from each bond to the end of its group */
            const int last = jj == nb - 1 || bt[jj + 1] != bt[jj];
            smn[jj] = last || bl0[jj] < smn[jj + 1] ? bl0[jj] : smn[jj + 1];
            smx[jj] = last || bl0[jj] > smx[jj + 1] ? bl0[jj] : smx[jj + 1];
        }
        while (jj0 < nb) {
            /* a chunk of rows jj0..jj1-1 whose triplets fit in tcap; triplet (jj, k0 + t) at rb + t */
            int jj1 = jj0, tot = 0, rb;
            while (jj1 < nb && tot + (nb - jj1 - 1) + W <= (int)tcap) tot += nb - 1 - jj1++;
            /* r_jk vectors row by row on 8-wide vectors (the padding lanes read the zeroed bonds
               beyond nb, and are overwritten by the next row), then r_jk, 1/r_jk and, for one
               element, the interval along n for the whole chunk */
            for (jj = jj0, rb = 0; jj < jj1; rb += nb - 1 - jj++) {
                const int k0 = jj + 1, m = nb - k0;
                const sp__v8 xj = sp__v8_splat(bx[jj]), yj = sp__v8_splat(by[jj]), zj = sp__v8_splat(bz[jj]);
                for (t = 0; t < m; t += W) {
                    const sp__v8 ax = SP__V8_SUB(sp__v8_load(bx + k0 + t), xj);
                    const sp__v8 ay = SP__V8_SUB(sp__v8_load(by + k0 + t), yj);
                    const sp__v8 az = SP__V8_SUB(sp__v8_load(bz + k0 + t), zj);
                    sp__v8_store(tx + rb + t, ax);
                    sp__v8_store(ty + rb + t, ay);
                    sp__v8_store(tz + rb + t, az);
                    sp__v8_store(tr + rb + t, SP__V8_ADD(SP__V8_ADD(SP__V8_MUL(ax, ax), SP__V8_MUL(ay, ay)),
                                                         SP__V8_MUL(az, az)));
                }
            }
            for (t = tot; t < tot + W; ++t) tr[t] = 1.0; /* lanes past the chunk */
            {
                const sp__v8 one = sp__v8_splat(1.0);
                for (t = 0; t < tot; t += W) {
                    const sp__v8 r = sp__v8_sqrt(sp__v8_load(tr + t));
                    sp__v8_store(tr + t, r);
                    sp__v8_store(ti_ + t, SP__V8_DIV(one, r));
                }
                if (single)
                    for (t = 0; t < tot; ++t) tk[t] = sp__uf3_vinterval(bsn, tr[t]);
            }
            for (jj = jj0, rb = 0; jj < jj1; rb += nb - 1 - jj++) {
                const int k0 = jj + 1, m = nb - k0;
                const double *SP_RESTRICT bj = bas + 8 * jj;
                const double *SP_RESTRICT wx = tx + rb, *SP_RESTRICT wy = ty + rb, *SP_RESTRICT wz = tz + rb;
                const double *SP_RESTRICT wr = tr + rb, *SP_RESTRICT wi = ti_ + rb;
                const int lj = bl0[jj];
                double sj = 0.0, hx = 0.0, hy = 0.0, hz = 0.0;
                if (!single) {
                    sp__uf3_row_groups(T0, ne, gs, bl0, smn, smx, jj, bt[jj], tk + rb, wr, bj, wms, s3, ph);
                    goto row_done;
                }
                if (m >= 4) {
                    /* many triplets in the row: contract over l once, for the m rows and n
                       columns the row's triplets reach, if that is cheaper (8-wide operations:
                       14 per row and 8 columns, against 34 per triplet saved) */
                    const sp_uf3_trio_t *T = T0;
                    const int mlo = smn[jj], nr = smx[jj] + 4 - mlo;
                    int nlo = tk[rb], nhi = tk[rb], ns, c, mr;
                    for (t = 1; t < m; ++t) {
                        nlo = tk[rb + t] < nlo ? tk[rb + t] : nlo;
                        nhi = tk[rb + t] > nhi ? tk[rb + t] : nhi;
                    }
                    ns = (nhi + 4 - nlo + W - 1) / W * W;
                    if (14 * nr * (ns / W) < 34 * m - 40) {
                        /* (sp__uf3_contract over l, written out: called here, the whole
                           one-element path ran 5 % slower) */
                        const size_t N = (size_t)T->N, MN = (size_t)T->M * N;
                        const sp__v8 l0 = sp__v8_splat(bj[0]), l1 = sp__v8_splat(bj[1]), l2 = sp__v8_splat(bj[2]);
                        const sp__v8 l3 = sp__v8_splat(bj[3]), d0 = sp__v8_splat(bj[4]), d1 = sp__v8_splat(bj[5]);
                        const sp__v8 d2 = sp__v8_splat(bj[6]), d3 = sp__v8_splat(bj[7]);
                        double *SP_RESTRICT s2 = s3 + (size_t)nr * ns;
                        for (mr = 0; mr < nr; ++mr) {
                            const double *SP_RESTRICT cr = T->c + ((size_t)lj * T->M + (size_t)(mlo + mr)) * N + nlo;
                            for (c = 0; c < ns; c += W) { /* (reads up to 7 past a row: T->c is padded) */
                                const sp__v8 c0 = sp__v8_load(cr + c), c1 = sp__v8_load(cr + MN + c);
                                const sp__v8 c2 = sp__v8_load(cr + 2 * MN + c), c3 = sp__v8_load(cr + 3 * MN + c);
                                sp__v8_store(s3 + (size_t)mr * ns + c,
                                             SP__V8_ADD(SP__V8_ADD(SP__V8_MUL(l0, c0), SP__V8_MUL(l1, c1)),
                                                        SP__V8_ADD(SP__V8_MUL(l2, c2), SP__V8_MUL(l3, c3))));
                                sp__v8_store(s2 + (size_t)mr * ns + c,
                                             SP__V8_ADD(SP__V8_ADD(SP__V8_MUL(d0, c0), SP__V8_MUL(d1, c1)),
                                                        SP__V8_ADD(SP__V8_MUL(d2, c2), SP__V8_MUL(d3, c3))));
                            }
                        }
                        for (t = 0; t < m; ++t) {
                            const int kk = k0 + t, n0 = tk[rb + t];
                            const double rjk = wr[t];
                            double *SP_RESTRICT o = ph + 4 * t;
                            const size_t off = (size_t)(bl0[kk] - mlo) * ns + (size_t)(n0 - nlo);
                            if (rjk < T->bs[2].t0 || rjk > T->bs[2].t1) {
                                o[0] = o[1] = o[2] = o[3] = 0.0;
                                continue;
                            }
                            sp__uf3_vtrio_s(s3 + off, s2 + off, (size_t)ns, wms + 32 * (size_t)kk,
                                            sp__uf3_vbasis_k(T->vtab[2], rjk, n0), o);
                        }
                        goto row_done;
                    }
                }
                /* per triplet (dV/dr_ij, V, dV/dr_jk, dV/dr_ik) into ph[4 t..] */
                for (t = 0; t < m; ++t) {
                    const int kk = k0 + t, n0 = tk[rb + t];
                    const double rjk = wr[t];
                    double *SP_RESTRICT o = ph + 4 * t;
                    if (rjk < T0->bs[2].t0 || rjk > T0->bs[2].t1) {
                        o[0] = o[1] = o[2] = o[3] = 0.0;
                        continue;
                    }
                    sp__uf3_vtrio(T0, lj, bj, bl0[kk], wms + 32 * (size_t)kk, sp__uf3_vbasis_k(T0->vtab[2], rjk, n0), n0,
                                  o);
                }
            row_done:
                /* F_j += -dV/dr_ij u_ij + dV/dr_jk u_jk, F_k += -dV/dr_ik u_ik - dV/dr_jk u_jk
                   (the radial parts summed as sd, times the unit vectors at the end) */
                for (t = 0; t < m; ++t) {
                    const double wnt = ph[4 * t + 2] * wi[t], fx = wnt * wx[t], fy = wnt * wy[t], fz = wnt * wz[t];
                    sj += ph[4 * t];
                    e += ph[4 * t + 1];
                    hx += fx; hy += fy; hz += fz;
                    sd[k0 + t] += ph[4 * t + 3];
                    gx[k0 + t] -= fx;
                    gy[k0 + t] -= fy;
                    gz[k0 + t] -= fz;
                }
                sd[jj] += sj;
                gx[jj] += hx; gy[jj] += hy; gz[jj] += hz;
            }
            jj0 = jj1;
        }
        /* Fb = -dE_i/dr_ij, the force of E_i on j, is stored in slot b for the
           entries within m2 (zero where not a 3-body bond); this centre's share,
           -Fb on i and r_ij (x) Fb, goes into its direct force and virial, so that
           the gather of atom i only adds the slots rev b of its entries within
           m1 < m2, which it lists here in lst (sp_pot_compute) */
        for (t = 0; t < nz; ++t) {
            double *o = fb + 3 * (size_t)(b0 + zl[t]);
            o[0] = o[1] = o[2] = 0.0;
        }
        for (jj = 0; jj < nb; ++jj) { /* the bond forces, in place */
            const double c = sd[jj] * bi[jj];
            gx[jj] -= c * bx[jj];
            gy[jj] -= c * by[jj];
            gz[jj] -= c * bz[jj];
        }
        {
            double f0 = fdir[0], f1 = fdir[1], f2 = fdir[2], w[9];
            for (a = 0; a < 9; ++a) w[a] = wdir[a];
            for (jj = 0; jj < nb; ++jj) {
                f0 -= gx[jj]; f1 -= gy[jj]; f2 -= gz[jj];
                w[0] += bx[jj] * gx[jj]; w[1] += bx[jj] * gy[jj]; w[2] += bx[jj] * gz[jj];
                w[3] += by[jj] * gx[jj]; w[4] += by[jj] * gy[jj]; w[5] += by[jj] * gz[jj];
                w[6] += bz[jj] * gx[jj]; w[7] += bz[jj] * gy[jj]; w[8] += bz[jj] * gz[jj];
            }
            fdir[0] = f0; fdir[1] = f1; fdir[2] = f2;
            for (a = 0; a < 9; ++a) wdir[a] = w[a];
        }
        for (jj = 0; jj < nb; ++jj) {
            double *o = fb + 3 * (size_t)(b0 + idx[jj]);
            o[0] = gx[jj]; o[1] = gy[jj]; o[2] = gz[jj];
        }
    }
    (void)fb; (void)m1; (void)m2; (void)lst;
    return e;
}

/* The gather list of centre i alone, as sp__uf3_center_fast lists it (the
   same distances, bit for bit): the reverse entries of its entries within
   m1, then -1 if any entry is left out. For a centre whose energy is not
   wanted (sp_out_t.contributing 0): the others' forces on it still need it. */
static void sp__uf3_gather_list(const sp_nlist_t *nl, int i, double m1, int *SP_RESTRICT lst) {
    const int b0 = nl->first[i], n = nl->first[i + 1] - b0;
    const double *SP_RESTRICT xe = nl->xe;
    const double xi0 = xe[3 * (size_t)i], xi1 = xe[3 * (size_t)i + 1], xi2 = xe[3 * (size_t)i + 2];
    int q, nm = 0;
    for (q = 0; q < n; ++q) {
        const int g = nl->j[b0 + q];
        const double ax = xe[3 * (size_t)g] - xi0, ay = xe[3 * (size_t)g + 1] - xi1, az = xe[3 * (size_t)g + 2] - xi2;
        const double r = sqrt(ax * ax + ay * ay + az * az); /* sp__uf3_vsqrt's correctly rounded root */
        lst[b0 + nm] = nl->rev[b0 + q];
        nm += !(r > m1);
    }
    if (nm < n) lst[b0 + nm] = -1;
}

static double sp__uf3_center_fast(const sp_pot_t *pot, const sp_nlist_t *nl, const int *type, int i, void *scratch,
                                  int maxdeg, double *SP_RESTRICT fb, double *SP_RESTRICT fdir,
                                  double *SP_RESTRICT wdir, double m1, double m2, int *SP_RESTRICT lst) {
    if (pot->nelem == 1)
        return sp__uf3_center_fast_t(pot, nl, type, i, scratch, maxdeg, fb, fdir, wdir, m1, m2, lst, 1);
    return sp__uf3_center_fast_t(pot, nl, type, i, scratch, maxdeg, fb, fdir, wdir, m1, m2, lst, 0);
}

/* ---- s-NNP (Vita & Trinkle 2023, Eqs. 2, 9, 10) ----
   Per centre i (filters shared by all centre elements, one network per element):
     G3_a = sum_{j<k} f_a,tj(r_ij) f_a,tk(r_ik) g_a,tjtk(cos theta_jik)   (r < cut3)
     G2_b = sum_j rho_b,tj(r_ij)                                           (r < cut2)
     Gs   = sum_j s_tj(r_ij)                                               (r < cuts)
     x = (G3_1..G3_n3, G2_1..G2_n2)
     E_i = e0_ti + [skip] sum_d x_d + [short] Gs + [network] sigma(N_ti(x))
   N_ti: linear layers, CELU after each hidden one; sigma = softplus or identity.
   Every spline is evaluated from its power form on the segment of x: with
   u = (x - x_seg)/h, v = c0 + u (c1 + u (c2 + u c3)), v' = (c1 + u (2 c2 + 3 u c3))/h;
   segment 0 is the linear extension below the first knot, segment n the one
   above the last. All filters of one family share their knots, so a bond's
   segment is found once for all of them. */

static int sp__max_degree(const sp_nlist_t *nl);

/* the per-filter loops below write caches that never overlap what they read */
#if defined(__GNUC__) && !defined(__clang__) && !defined(__INTEL_COMPILER)
#define SP__IVDEP _Pragma("GCC ivdep")
#else
#define SP__IVDEP
#endif

enum { SP__SNNP_F = 0, SP__SNNP_G = 1, SP__SNNP_RHO = 2, SP__SNNP_S = 3 };

/* knots of family fam: lo, hi, count */
SP__PRIVATE void sp__snnp_grid(const sp_snnp_arch_t *a, int fam, double *lo, double *hi, int *n) {
    switch (fam) {
    case SP__SNNP_F: *lo = a->r3lo; *hi = a->r3hi; *n = a->k3; break;
    case SP__SNNP_G: *lo = -1.0; *hi = 1.0; *n = a->kg; break;
    case SP__SNNP_RHO: *lo = a->r2lo; *hi = a->r2hi; *n = a->k2; break;
    default: *lo = a->rslo; *hi = a->rshi; *n = a->ks; break;
    }
}

/* segment of x on a grid of n knots from x0 with spacing 1/inv_h, and u */
static SP__INLINE int sp__snnp_seg(double x, double x0, double inv_h, int n, double *u) {
    double s = (x - x0) * inv_h;
    int k;
    if (s < 0.0) {
        *u = s;
        return 0;
    }
    if (!(s < (double)(n - 1))) { /* also NaN: no index is formed from it */
        *u = s - (double)(n - 1);
        return n;
    }
    k = (int)s;
    if (k > n - 2) k = n - 2;
    *u = s - (double)k;
    return k + 1;
}

/* power form of a clamped spline into tab: coefficient c of segment q at
   tab[q * qs + c * cs] */
SP__PRIVATE void sp__snnp_power(const sp_spline_t *s, double *tab, size_t qs, size_t cs) {
    const int n = s->n;
    const double h = s->h, h3 = h * h * h;
    double *c = tab;
    int k;
    c[0] = s->y[0]; c[cs] = s->d0 * h; c[2 * cs] = 0.0; c[3 * cs] = 0.0;
    for (k = 0; k < n - 1; ++k) {
        const double *g = s->seg + 5 * k; /* .., .., .., y''_k/(6h), y''_{k+1}/(6h) */
        c = tab + (size_t)(k + 1) * qs;
        c[0] = s->y[k];
        c[cs] = (s->y[k + 1] - s->y[k]) - h3 * (2.0 * g[3] + g[4]);
        c[2 * cs] = 3.0 * h3 * g[3];
        c[3 * cs] = h3 * (g[4] - g[3]);
    }
    c = tab + (size_t)n * qs;
    c[0] = s->y[n - 1]; c[cs] = s->dN * h; c[2 * cs] = 0.0; c[3 * cs] = 0.0;
}

/* the clamped spline of theta (n + 2 values) on the uniform knots lo..hi */
SP__PRIVATE sp_result_t sp__snnp_spline(sp_spline_t *s, double lo, double hi, int n, const double *theta) {
    double x[SP_SPLINE_MAX_KNOTS];
    int k;
    for (k = 0; k < n; ++k) x[k] = lo + (hi - lo) * k / (n - 1);
    x[n - 1] = hi;
    return sp_spline_init(s, n, x, theta, theta[n], theta[n + 1]);
}

SP__PRIVATE int sp__snnp_nspl(const sp_snnp_arch_t *a, int fam) {
    int np = a->nelem * (a->nelem + 1) / 2;
    switch (fam) {
    case SP__SNNP_F: return a->n3 * a->nelem;
    case SP__SNNP_G: return a->n3 * np;
    case SP__SNNP_RHO: return a->n2 * a->nelem;
    default: return a->short_range ? a->nelem : 0;
    }
}

SP__PRIVATE sp_result_t sp__snnp_check_arch(const sp_snnp_arch_t *a, sp_diag_t *diag) {
    int e, q, fam;
    if (!a) return sp__fail(diag, SP_ERR_BAD_ARG, 0, "no architecture");
    if (a->nelem < 1 || a->nelem > SP_MAX_ELEMENTS)
        return sp__fail(diag, SP_ERR_BAD_ARG, 0, "number of elements %d outside 1..%d", a->nelem, SP_MAX_ELEMENTS);
    for (e = 0; e < a->nelem; ++e) {
        if (!sp_element_symbol(a->z[e])[0])
            return sp__fail(diag, SP_ERR_UNKNOWN_ELEMENT, 0, "atomic number %d is not an element", a->z[e]);
        for (q = 0; q < e; ++q)
            if (a->z[q] == a->z[e]) return sp__fail(diag, SP_ERR_BAD_ARG, 0, "element %s listed twice", sp_element_symbol(a->z[e]));
    }
    if (a->n3 < 0 || a->n3 > SP_SNNP_MAX_FILTERS || a->n2 < 0 || a->n2 > SP_SNNP_MAX_FILTERS)
        return sp__fail(diag, SP_ERR_BAD_ARG, 0, "filter counts %d (3-body), %d (2-body) outside 0..%d", a->n3, a->n2,
                        SP_SNNP_MAX_FILTERS);
    if (a->n3 + a->n2 == 0 && !a->short_range) return sp__fail(diag, SP_ERR_BAD_ARG, 0, "the model has no filter");
    if (a->network) {
        if (a->n3 + a->n2 == 0) return sp__fail(diag, SP_ERR_BAD_ARG, 0, "a network needs at least one filter as input");
        if (a->nhidden < 0 || a->nhidden > SP_SNNP_MAX_HIDDEN)
            return sp__fail(diag, SP_ERR_BAD_ARG, 0, "hidden layers %d outside 0..%d", a->nhidden, SP_SNNP_MAX_HIDDEN);
        for (q = 0; q < a->nhidden; ++q)
            if (a->width[q] < 1 || a->width[q] > SP_SNNP_MAX_WIDTH)
                return sp__fail(diag, SP_ERR_BAD_ARG, 0, "hidden layer %d has width %d (1..%d)", q + 1, a->width[q],
                                SP_SNNP_MAX_WIDTH);
        if (!(a->celu_alpha > 0.0 && a->celu_alpha < 1e100))
            return sp__fail(diag, SP_ERR_BAD_ARG, 0, "CELU alpha must be positive and finite");
    }
    for (fam = 0; fam < 4; ++fam) {
        double lo, hi;
        int n;
        static const char *const names[4] = {"f (3-body radial)", "g (angular)", "rho (2-body)", "short-range"};
        if (sp__snnp_nspl(a, fam) == 0) continue;
        sp__snnp_grid(a, fam, &lo, &hi, &n);
        if (n < 3 || n > SP_SPLINE_MAX_KNOTS)
            return sp__fail(diag, SP_ERR_BAD_ARG, 0, "%s splines: %d knots outside 3..%d", names[fam], n, SP_SPLINE_MAX_KNOTS);
        if (fam != SP__SNNP_G && !(lo >= 0.0 && hi > lo && hi <= 100.0 && hi - lo > 1e-3))
            return sp__fail(diag, SP_ERR_BAD_ARG, 0, "%s knots: need 0 <= first < last <= 100 A, got %g .. %g", names[fam],
                            lo, hi);
    }
    return SP_OK;
}

/* rebuilds splines and power forms from m->theta */
SP__PRIVATE sp_result_t sp__snnp_build(sp_snnp_t *m) {
    const sp_snnp_arch_t *a = &m->arch;
    int fam, k, base = 0, off[4];
    off[0] = m->off_f; off[1] = m->off_g; off[2] = m->off_rho; off[3] = m->off_s;
    for (fam = 0; fam < 4; ++fam) {
        double lo, hi;
        int n, ns = sp__snnp_nspl(a, fam);
        sp__snnp_grid(a, fam, &lo, &hi, &n);
        for (k = 0; k < ns; ++k) {
            sp_spline_t *s = m->spl + base + k;
            double *tab;
            size_t nf;
            sp_result_t r = sp__snnp_spline(s, lo, hi, n, m->theta + off[fam] + (size_t)k * (n + 2));
            if (r != SP_OK) return r;
            switch (fam) { /* spline k = (filter, element or pair) */
            case SP__SNNP_F: {
                int f = k / a->nelem, e = k % a->nelem;
                nf = (size_t)a->n3; tab = m->tab3 + (size_t)e * (n + 1) * nf * 4 + f; break;
            }
            case SP__SNNP_G: {
                int f = k / m->npairs, p = k % m->npairs;
                nf = (size_t)a->n3; tab = m->tabg + (size_t)p * (n + 1) * nf * 4 + f; break;
            }
            case SP__SNNP_RHO: {
                int f = k / a->nelem, e = k % a->nelem;
                nf = (size_t)a->n2; tab = m->tab2 + (size_t)e * (n + 1) * nf * 4 + f; break;
            }
            default: nf = 1; tab = m->tabs + (size_t)k * (n + 1) * 4; break;
            }
            sp__snnp_power(s, tab, 4 * nf, nf);
        }
        base += ns;
    }
    return SP_OK;
}

SP_API sp_result_t sp_snnp_create(sp_pot_t *pot, const sp_snnp_arch_t *arch, sp_diag_t *diag) {
    sp_snnp_t *m;
    sp_snnp_arch_t a;
    sp_allocator_t al;
    sp_result_t r;
    size_t nd = 0, tabsz[4], jacsz[4], nspl = 0;
    int fam, l, e;
    char *mem;
    if (!pot || !arch) return sp__fail(diag, SP_ERR_BAD_ARG, 0, "bad argument");
    memset(&a, 0, sizeof a);
    a = *arch;
    if (a.celu_alpha == 0.0) a.celu_alpha = 1.0;
    if ((r = sp__snnp_check_arch(&a, diag)) != SP_OK) return r;
    /* canonical form: flags 0/1, fields of absent parts 0 */
    a.short_range = a.short_range != 0; a.skip = a.skip != 0; a.nobias = a.nobias != 0;
    a.softplus = a.softplus != 0; a.network = a.network != 0;
    if (!a.network) { a.nhidden = 0; a.nobias = 0; a.softplus = 0; }
    for (e = a.nelem; e < SP_MAX_ELEMENTS; ++e) a.z[e] = 0;
    for (l = a.nhidden; l < SP_SNNP_MAX_HIDDEN; ++l) a.width[l] = 0;
    if (!a.n3) { a.r3lo = a.r3hi = 0.0; a.k3 = a.kg = 0; }
    if (!a.n2) { a.r2lo = a.r2hi = 0.0; a.k2 = 0; }
    if (!a.short_range) { a.rslo = a.rshi = 0.0; a.ks = 0; }
    al = pot->allocator;
    memset(pot, 0, sizeof *pot);
    pot->allocator = al;
    m = &pot->snnp;
    m->arch = a;
    m->npairs = a.nelem * (a.nelem + 1) / 2;
    m->nin = a.n3 + a.n2;
    m->nlayers = a.network ? a.nhidden + 1 : 0;
    m->dims[0] = m->nin;
    if (a.network) {
        for (l = 0; l < a.nhidden; ++l) m->dims[l + 1] = a.width[l];
        m->dims[m->nlayers] = 1;
    }
    m->act_off[0] = 0;
    for (l = 0; l <= m->nlayers; ++l) m->act_off[l + 1] = m->act_off[l] + m->dims[l];
    m->net_size = 0;
    for (l = 0; l < m->nlayers; ++l) {
        m->lay_off[l] = m->net_size;
        m->net_size += m->dims[l + 1] * (m->dims[l] + (a.nobias ? 0 : 1));
    }
    {
        double lo, hi;
        int n, off = 0, *offs[4];
        offs[0] = &m->off_f; offs[1] = &m->off_g; offs[2] = &m->off_rho; offs[3] = &m->off_s;
        for (fam = 0; fam < 4; ++fam) {
            int ns = sp__snnp_nspl(&a, fam), nf = fam == SP__SNNP_F || fam == SP__SNNP_G ? a.n3 : fam == SP__SNNP_RHO ? a.n2 : 1;
            int ng = fam == SP__SNNP_G ? m->npairs : a.nelem;
            sp__snnp_grid(&a, fam, &lo, &hi, &n);
            *offs[fam] = off;
            if (ns == 0) { lo = 0.0; hi = 2.0; n = 3; }
            m->x0[fam] = lo;
            m->nk[fam] = n;
            m->h[fam] = (hi - lo) / (n - 1);
            m->inv_h[fam] = 1.0 / m->h[fam];
            if (ns == 0) { tabsz[fam] = jacsz[fam] = 0; continue; }
            off += ns * (n + 2);
            tabsz[fam] = (size_t)ng * (size_t)(n + 1) * (size_t)nf * 4;
            jacsz[fam] = (size_t)(n + 1) * 4 * (size_t)(n + 2);
            nspl += (size_t)ns;
        }
        for (e = 0; e < a.nelem; ++e) m->off_net[e] = off + e * m->net_size;
        m->off_e0 = off + a.nelem * m->net_size;
        m->nparams = m->off_e0 + a.nelem;
    }
    m->cut3 = a.n3 ? a.r3hi : 0.0;
    m->cut2 = a.n2 ? a.r2hi : 0.0;
    m->cuts = a.short_range ? a.rshi : 0.0;
    nd = (size_t)m->nparams;
    for (fam = 0; fam < 4; ++fam) nd += tabsz[fam] + jacsz[fam];
    mem = (char *)sp__alloc(&pot->allocator, nspl * sizeof(sp_spline_t) + nd * sizeof(double) + 64);
    if (!mem) return sp__fail(diag, SP_ERR_NO_MEMORY, 0, "out of memory");
    memset(mem, 0, nspl * sizeof(sp_spline_t) + nd * sizeof(double) + 64);
    pot->mem = mem;
    m->spl = (sp_spline_t *)mem;
    {
        /* cppcheck-suppress invalidPointerCast ; one block carved into typed arrays, never reinterpreted */
        double *d = (double *)(mem + nspl * sizeof(sp_spline_t));
        double **tabs[4], **jacs[4];
        tabs[0] = &m->tab3; tabs[1] = &m->tabg; tabs[2] = &m->tab2; tabs[3] = &m->tabs;
        jacs[0] = &m->jac3; jacs[1] = &m->jacg; jacs[2] = &m->jac2; jacs[3] = &m->jacs;
        m->theta = d; d += m->nparams;
        for (fam = 0; fam < 4; ++fam) {
            *tabs[fam] = d; d += tabsz[fam];
            *jacs[fam] = d; d += jacsz[fam];
        }
    }
    /* d(power form)/d(theta) of each family, column by column (the map is linear) */
    for (fam = 0; fam < 4; ++fam) {
        double lo, hi, th[SP_SPLINE_MAX_KNOTS + 2], tmp[4 * (SP_SPLINE_MAX_KNOTS + 1)];
        double *J = fam == 0 ? m->jac3 : fam == 1 ? m->jacg : fam == 2 ? m->jac2 : m->jacs;
        int n, q, c;
        sp_spline_t s;
        if (!jacsz[fam]) continue;
        sp__snnp_grid(&a, fam, &lo, &hi, &n);
        for (l = 0; l < n + 2; ++l) {
            memset(th, 0, sizeof th);
            th[l] = 1.0;
            if (sp__snnp_spline(&s, lo, hi, n, th) != SP_OK) {
                sp_pot_free(pot);
                pot->allocator = al;
                return sp__fail(diag, SP_ERR_BAD_ARG, 0, "knots rejected by the spline section");
            }
            sp__snnp_power(&s, tmp, 4, 1);
            for (q = 0; q <= n; ++q)
                for (c = 0; c < 4; ++c) J[((size_t)q * 4 + c) * (n + 2) + l] = tmp[4 * q + c];
        }
    }
    pot->kind = SP_POT_SNNP;
    pot->nelem = a.nelem;
    for (e = 0; e < a.nelem; ++e) strcpy(pot->elem[e], sp_element_symbol(a.z[e]));
    pot->cutoff = m->cut3;
    if (m->cut2 > pot->cutoff) pot->cutoff = m->cut2;
    if (m->cuts > pot->cutoff) pot->cutoff = m->cuts;
    r = sp__snnp_build(m);
    if (r != SP_OK) {
        sp_pot_free(pot);
        pot->allocator = al;
        return sp__fail(diag, r, 0, "spline construction failed");
    }
    return SP_OK;
}

SP_API sp_result_t sp_snnp_set_params(sp_pot_t *pot, const double *theta) {
    int k;
    if (!pot || pot->kind != SP_POT_SNNP || !theta) return SP_ERR_BAD_ARG;
    for (k = 0; k < pot->snnp.nparams; ++k) {
        if (!sp__isfinite(theta[k])) return SP_ERR_NOT_FINITE;
        if (fabs(theta[k]) > 1e100) return SP_ERR_RANGE;
    }
    memcpy(pot->snnp.theta, theta, (size_t)pot->snnp.nparams * sizeof(double));
    return sp__snnp_build(&pot->snnp);
}

SP_API int sp_snnp_param_pinned(const sp_pot_t *pot, int k) {
    const sp_snnp_t *m;
    int fam, off[4];
    if (!pot || pot->kind != SP_POT_SNNP) return 0;
    m = &pot->snnp;
    off[0] = m->off_f; off[1] = m->off_g; off[2] = m->off_rho; off[3] = m->off_s;
    for (fam = 0; fam < 4; ++fam) {
        int n = m->nk[fam], ns = sp__snnp_nspl(&m->arch, fam);
        if (fam == SP__SNNP_G || k < off[fam] || k >= off[fam] + ns * (n + 2)) continue;
        return (k - off[fam]) % (n + 2) == n - 1;
    }
    return 0;
}

/* ---- the network: activations a (and z before the activation) of layer l at
   act_off[l]; layer 0 is the input x, the last the output y ---- */

static SP__INLINE double sp__celu(double z, double al, double *d1, double *d2) {
    double e;
    if (z > 0.0) {
        *d1 = 1.0;
        *d2 = 0.0;
        return z;
    }
    e = exp(z / al);
    *d1 = e;
    *d2 = e / al;
    return al * (e - 1.0);
}

/* softplus log(1 + e^y) and its first two derivatives */
static SP__INLINE double sp__softplus(double y, double *d1, double *d2) {
    double s;
    if (y > 0.0) {
        double q = exp(-y);
        s = 1.0 / (1.0 + q);
        *d1 = s;
        *d2 = s * (1.0 - s);
        return y + log1p(q);
    }
    s = exp(y);
    *d1 = s / (1.0 + s);
    *d2 = *d1 * (1.0 - *d1);
    return log1p(s);
}

/* forward pass (optionally with a tangent ad, zd): returns y */
SP__PRIVATE double sp__snnp_net_fwd(const sp_snnp_t *m, const double *W, double *a, double *z, double *ad, double *zd) {
    const int L = m->nlayers - 1, nb = !m->arch.nobias;
    const double al = m->arch.celu_alpha;
    int l, o, i;
    for (l = 0; l <= L; ++l) {
        const int din = m->dims[l], dout = m->dims[l + 1];
        const double *Wl = W + m->lay_off[l], *bl = Wl + (size_t)dout * din;
        const double *in = a + m->act_off[l], *ind = ad ? ad + m->act_off[l] : NULL;
        double *zo = z + m->act_off[l + 1], *ao = a + m->act_off[l + 1];
        for (o = 0; o < dout; ++o) {
            const double *w = Wl + (size_t)o * din;
            double s = 0.0, sd = 0.0;
            for (i = 0; i < din; ++i) s += w[i] * in[i];
            if (nb) s += bl[o];
            zo[o] = s;
            if (ind) {
                for (i = 0; i < din; ++i) sd += w[i] * ind[i];
                zd[m->act_off[l + 1] + o] = sd;
            }
            if (l < L) {
                double d1, d2;
                ao[o] = sp__celu(s, al, &d1, &d2);
                if (ind) ad[m->act_off[l + 1] + o] = d1 * sd;
            } else {
                ao[o] = s;
                if (ind) ad[m->act_off[l + 1] + o] = sd;
            }
        }
    }
    return a[m->act_off[L + 1]];
}

/* reverse pass. Seeds bar[out] (and, with a tangent, bard[out]); leaves the
   input adjoints in bar[0..nin) (bard). With gW != NULL, adds the weight
   gradient sum zbar (x) a_in + zdbar (x) ad_in. */
SP__PRIVATE void sp__snnp_net_bwd(const sp_snnp_t *m, const double *W, const double *a, const double *z,
                                  const double *ad, const double *zd, double *bar, double *bard, double *gW) {
    const int L = m->nlayers - 1, nb = !m->arch.nobias;
    const double al = m->arch.celu_alpha;
    int l, o, i;
    for (l = L; l >= 0; --l) {
        const int din = m->dims[l], dout = m->dims[l + 1];
        const double *Wl = W + m->lay_off[l];
        double *zb = bar + m->act_off[l + 1], *zdb = bard ? bard + m->act_off[l + 1] : NULL;
        double *ib = bar + m->act_off[l], *idb = bard ? bard + m->act_off[l] : NULL;
        const double *in = a + m->act_off[l], *ind = ad ? ad + m->act_off[l] : NULL;
        if (l < L)
            for (o = 0; o < dout; ++o) { /* a = celu(z), ad = celu'(z) zd */
                double d1, d2;
                sp__celu(z[m->act_off[l + 1] + o], al, &d1, &d2);
                if (zdb) {
                    zb[o] = zb[o] * d1 + zdb[o] * d2 * zd[m->act_off[l + 1] + o];
                    zdb[o] *= d1;
                } else {
                    zb[o] *= d1;
                }
            }
        if (gW) {
            double *g = gW + m->lay_off[l];
            for (o = 0; o < dout; ++o) {
                double *go = g + (size_t)o * din;
                for (i = 0; i < din; ++i) go[i] += zb[o] * in[i];
                if (zdb)
                    for (i = 0; i < din; ++i) go[i] += zdb[o] * ind[i];
                if (nb) g[(size_t)dout * din + o] += zb[o];
            }
        }
        for (i = 0; i < din; ++i) {
            double s = 0.0, sd = 0.0;
            for (o = 0; o < dout; ++o) s += Wl[(size_t)o * din + i] * zb[o];
            ib[i] = s;
            if (zdb) {
                for (o = 0; o < dout; ++o) sd += Wl[(size_t)o * din + i] * zdb[o];
                idb[i] = sd;
            }
        }
    }
}

/* ---- per-thread scratch of one centre ---- */
typedef struct sp__snnp_scr_t {
    int *bq, *bt, *b3, *s3, *s2, *ss, *tseg;         /* entry, type, 3-body bonds, segments */
    double *ux, *uy, *uz, *ir, *u3, *u2, *us, *Sp;   /* per bond */
    double *F, *Fp, *Fg, *Pp;                        /* per bond x filter */
    double *tc, *tg, *tgp, *tu, *tcd;                /* per triplet (x filter) */
    int *tpair;                                      /* per triplet: g's element pair */
    double *x, *xd, *xb, *xdb;                       /* G, tangent, adjoints (nin) */
    double *na, *nz, *nad, *nzd, *nbar, *nbard;      /* network buffers */
    double *rd, *wx, *wy, *wz, *qq, *Fd, *sig1, *sig2; /* backpropagation only */
} sp__snnp_scr_t;

/* lays out the scratch of one centre for up to maxdeg bonds at base (NULL:
   only counts); returns the bytes */
SP__PRIVATE size_t sp__snnp_scr(const sp_snnp_t *m, int maxdeg, int bp, void *base, sp__snnp_scr_t *S) {
    const size_t md = (size_t)maxdeg + 4, T = md * (md - 1) / 2 + 1, n3 = (size_t)m->arch.n3 + 1, n2 = (size_t)m->arch.n2 + 1;
    const size_t na = (size_t)m->act_off[m->nlayers + 1] + 1, nin = (size_t)m->nin + 1;
    size_t off = 0;
    char *b = (char *)base;
    int k;
#define SP__SNNP_CARVE(ptr, type, count)                                             \
    do {                                                                             \
        if (b) (ptr) = (type *)(void *)(b + off);                                    \
        off += (((size_t)(count) * sizeof(type)) + 63) & ~(size_t)63;                \
    } while (0)
    double **dv[8];
    int **iv[6];
    dv[0] = &S->ux; dv[1] = &S->uy; dv[2] = &S->uz; dv[3] = &S->ir; dv[4] = &S->u3; dv[5] = &S->u2;
    dv[6] = &S->us; dv[7] = &S->Sp;
    for (k = 0; k < 8; ++k) SP__SNNP_CARVE(*dv[k], double, md);
    SP__SNNP_CARVE(S->F, double, md * n3);
    SP__SNNP_CARVE(S->Fp, double, md * n3);
    SP__SNNP_CARVE(S->Fg, double, md * n3);
    SP__SNNP_CARVE(S->Pp, double, md * n2);
    SP__SNNP_CARVE(S->tc, double, T);
    SP__SNNP_CARVE(S->tg, double, T * n3);
    SP__SNNP_CARVE(S->tgp, double, T * n3);
    SP__SNNP_CARVE(S->x, double, nin);
    SP__SNNP_CARVE(S->xd, double, nin);
    SP__SNNP_CARVE(S->xb, double, nin);
    SP__SNNP_CARVE(S->xdb, double, nin);
    SP__SNNP_CARVE(S->na, double, na);
    SP__SNNP_CARVE(S->nz, double, na);
    SP__SNNP_CARVE(S->nbar, double, na);
    if (bp) {
        SP__SNNP_CARVE(S->tu, double, T);
        SP__SNNP_CARVE(S->tcd, double, T);
        SP__SNNP_CARVE(S->tseg, int, T);
        SP__SNNP_CARVE(S->tpair, int, T);
        SP__SNNP_CARVE(S->nad, double, na);
        SP__SNNP_CARVE(S->nzd, double, na);
        SP__SNNP_CARVE(S->nbard, double, na);
        SP__SNNP_CARVE(S->rd, double, md);
        SP__SNNP_CARVE(S->wx, double, md);
        SP__SNNP_CARVE(S->wy, double, md);
        SP__SNNP_CARVE(S->wz, double, md);
        SP__SNNP_CARVE(S->qq, double, md);
        SP__SNNP_CARVE(S->Fd, double, md * n3);
        SP__SNNP_CARVE(S->sig1, double, md * n3);
        SP__SNNP_CARVE(S->sig2, double, md * n3);
    }
    iv[0] = &S->bq; iv[1] = &S->bt; iv[2] = &S->b3; iv[3] = &S->s3; iv[4] = &S->s2; iv[5] = &S->ss;
    for (k = 0; k < 6; ++k) SP__SNNP_CARVE(*iv[k], int, md);
#undef SP__SNNP_CARVE
    return off + 64;
}

SP__PRIVATE size_t sp__snnp_scratch_bytes(const sp_pot_t *pot, int maxdeg) {
    sp__snnp_scr_t S;
    return sp__snnp_scr(&pot->snnp, maxdeg, 0, NULL, &S);
}

/* Bonds of centre i: unit vectors, segments and filter values; G2 and Gs
   summed (x + n3, *Gs); the list slots of i zeroed when fb != NULL.
   Returns the bonds within the largest cutoff; *nb3 of them are 3-body bonds. */
SP__PRIVATE int sp__snnp_bonds(const sp_snnp_t *m, const sp_nlist_t *nl, const int *type, int i,
                               const sp__snnp_scr_t *S, double *fb, double *Gs, int *nb3) {
    const sp_snnp_arch_t *A = &m->arch;
    const int n3 = A->n3, n2 = A->n2, ne = A->nelem;
    const double c3 = m->cut3, c2 = m->cut2, cs = m->cuts;
    double cmax = c3 > c2 ? c3 : c2, cmax2;
    const double *xi = nl->xe + 3 * (size_t)i;
    double *G2 = S->x + n3;
    int b, q = 0, k3 = 0, a;
    if (cs > cmax) cmax = cs;
    cmax2 = cmax * cmax;
    for (a = 0; a < n2; ++a) G2[a] = 0.0;
    *Gs = 0.0;
    for (b = nl->first[i]; b < nl->first[i + 1]; ++b) {
        const int g = nl->j[b];
        const double *xg = nl->xe + 3 * (size_t)g;
        const double dx = xg[0] - xi[0], dy = xg[1] - xi[1], dz = xg[2] - xi[2];
        const double r2 = dx * dx + dy * dy + dz * dz;
        double r, ir, u;
        int tj, sg;
        if (fb) fb[3 * (size_t)b] = fb[3 * (size_t)b + 1] = fb[3 * (size_t)b + 2] = 0.0;
        if (!(r2 < cmax2)) continue;
        tj = ne == 1 ? 0 : type[nl->owner[g]];
        r = sqrt(r2);
        ir = 1.0 / r;
        S->bq[q] = b;
        S->bt[q] = tj;
        S->ir[q] = ir;
        S->ux[q] = dx * ir; S->uy[q] = dy * ir; S->uz[q] = dz * ir;
        S->s2[q] = S->ss[q] = -1;
        if (n2 && r < c2) {
            const double *c;
            double *pp = S->Pp + (size_t)q * n2;
            sg = sp__snnp_seg(r, m->x0[SP__SNNP_RHO], m->inv_h[SP__SNNP_RHO], m->nk[SP__SNNP_RHO], &u);
            c = m->tab2 + ((size_t)tj * (m->nk[SP__SNNP_RHO] + 1) + (size_t)sg) * n2 * 4;
            for (a = 0; a < n2; ++a) {
                G2[a] += c[a] + u * (c[n2 + a] + u * (c[2 * n2 + a] + u * c[3 * n2 + a]));
                pp[a] = (c[n2 + a] + u * (2.0 * c[2 * n2 + a] + 3.0 * u * c[3 * n2 + a])) * m->inv_h[SP__SNNP_RHO];
            }
            S->s2[q] = sg;
            S->u2[q] = u;
        }
        if (cs > 0.0 && r < cs) {
            const double *c;
            sg = sp__snnp_seg(r, m->x0[SP__SNNP_S], m->inv_h[SP__SNNP_S], m->nk[SP__SNNP_S], &u);
            c = m->tabs + ((size_t)tj * (m->nk[SP__SNNP_S] + 1) + (size_t)sg) * 4;
            *Gs += c[0] + u * (c[1] + u * (c[2] + u * c[3]));
            S->Sp[q] = (c[1] + u * (2.0 * c[2] + 3.0 * u * c[3])) * m->inv_h[SP__SNNP_S];
            S->ss[q] = sg;
            S->us[q] = u;
        }
        if (n3 && r < c3) {
            const double *c;
            double *F = S->F + (size_t)k3 * n3, *Fp = S->Fp + (size_t)k3 * n3;
            sg = sp__snnp_seg(r, m->x0[SP__SNNP_F], m->inv_h[SP__SNNP_F], m->nk[SP__SNNP_F], &u);
            c = m->tab3 + ((size_t)tj * (m->nk[SP__SNNP_F] + 1) + (size_t)sg) * n3 * 4;
            for (a = 0; a < n3; ++a) {
                F[a] = c[a] + u * (c[n3 + a] + u * (c[2 * n3 + a] + u * c[3 * n3 + a]));
                Fp[a] = (c[n3 + a] + u * (2.0 * c[2 * n3 + a] + 3.0 * u * c[3 * n3 + a])) * m->inv_h[SP__SNNP_F];
            }
            S->b3[k3] = q;
            S->s3[k3] = sg;
            S->u3[k3] = u;
            ++k3;
        }
        ++q;
    }
    *nb3 = k3;
    return q;
}

/* The filters x = (G3, G2) of centre i (and *Gs) after sp__snnp_bonds: triplet
   loop 1 sums G3_a = sum_{j<k} f_a(r_ij) f_a(r_ik) g_a(cos) and keeps cos, g, g'. */
SP__PRIVATE void sp__snnp_g3(const sp_snnp_t *m, const sp__snnp_scr_t *S, int nb3) {
    const int n3 = m->arch.n3, ne = m->arch.nelem;
    const double ihg = m->inv_h[SP__SNNP_G];
    double xs[SP_SNNP_MAX_FILTERS]; /* local: no aliasing with the caches, so the filter loop vectorises */
    int jj, kk, a;
    size_t T = 0;
    for (a = 0; a < n3; ++a) xs[a] = 0.0;
    for (jj = 0; jj < nb3; ++jj) {
        const int qj = S->b3[jj], tj = S->bt[qj];
        const double ujx = S->ux[qj], ujy = S->uy[qj], ujz = S->uz[qj];
        const double *SP_RESTRICT Fj = S->F + (size_t)jj * n3;
        for (kk = jj + 1; kk < nb3; ++kk, ++T) {
            const int qk = S->b3[kk];
            const double c = ujx * S->ux[qk] + ujy * S->uy[qk] + ujz * S->uz[qk];
            const double *SP_RESTRICT Fk = S->F + (size_t)kk * n3;
            const int p = ne == 1 ? 0 : sp_pot_pair_index(ne, tj, S->bt[qk]);
            double u, *SP_RESTRICT tg = S->tg + T * n3, *SP_RESTRICT tgp = S->tgp + T * n3;
            const int sg = sp__snnp_seg(c, -1.0, ihg, m->nk[SP__SNNP_G], &u);
            const double *SP_RESTRICT cg = m->tabg + ((size_t)p * (m->nk[SP__SNNP_G] + 1) + (size_t)sg) * n3 * 4;
            S->tc[T] = c;
            SP__IVDEP
            for (a = 0; a < n3; ++a) {
                const double gv = cg[a] + u * (cg[n3 + a] + u * (cg[2 * n3 + a] + u * cg[3 * n3 + a]));
                tg[a] = gv;
                tgp[a] = (cg[n3 + a] + u * (2.0 * cg[2 * n3 + a] + 3.0 * u * cg[3 * n3 + a])) * ihg;
                xs[a] += Fj[a] * Fk[a] * gv;
            }
        }
    }
    for (a = 0; a < n3; ++a) S->x[a] = xs[a];
}

/* E_i of a centre of type ti from its filters S->x (sp__snnp_g3) and its
   short-range sum Gs; with grad, gamma = dE_i/dx into S->xb. */
SP__PRIVATE double sp__snnp_energy(const sp_snnp_t *m, const sp__snnp_scr_t *S, int ti, double Gs, int grad) {
    const sp_snnp_arch_t *A = &m->arch;
    const int nin = m->nin;
    const double *x = S->x;
    double e = m->theta[m->off_e0 + ti], *gam = S->xb;
    int a;
    for (a = 0; a < nin; ++a) gam[a] = 0.0;
    if (A->network) {
        const double *W = m->theta + m->off_net[ti];
        double y, d1 = 1.0, d2;
        for (a = 0; a < nin; ++a) S->na[a] = x[a];
        y = sp__snnp_net_fwd(m, W, S->na, S->nz, NULL, NULL);
        if (A->softplus) e += sp__softplus(y, &d1, &d2);
        else e += y;
        if (grad) {
            S->nbar[m->act_off[m->nlayers]] = d1;
            sp__snnp_net_bwd(m, W, S->na, S->nz, NULL, NULL, S->nbar, NULL, NULL);
            for (a = 0; a < nin; ++a) gam[a] = S->nbar[a];
        }
    }
    if (A->skip) {
        for (a = 0; a < nin; ++a) {
            e += x[a];
            gam[a] += 1.0;
        }
    }
    if (A->short_range) e += Gs;
    return e;
}

/* E_i and the bond forces fb = -dE_i/dr_ij of centre i (fb NULL: E_i alone,
   for Monte-Carlo trials). After the filters and the network (gamma =
   dE_i/dx), triplet loop 2 turns the kept g, g' into bond forces. */
SP__PRIVATE double sp__snnp_center(const sp_pot_t *pot, const sp_nlist_t *nl, const int *type, int i, void *scratch,
                                   int maxdeg, double *SP_RESTRICT fb) {
    const sp_snnp_t *m = &pot->snnp;
    const sp_snnp_arch_t *A = &m->arch;
    const int n3 = A->n3, n2 = A->n2, ne = A->nelem, ti = ne == 1 ? 0 : type[i];
    sp__snnp_scr_t S;
    double Gs, e, *gam;
    int nq, nb3, jj, kk, a, q;
    size_t T;
    sp__snnp_scr(m, maxdeg, 0, scratch, &S);
    nq = sp__snnp_bonds(m, nl, type, i, &S, fb, &Gs, &nb3);
    sp__snnp_g3(m, &S, nb3);
    e = sp__snnp_energy(m, &S, ti, Gs, fb != NULL);
    if (!fb) return e;
    gam = S.xb;
    /* 2-body and short-range bond forces */
    for (q = 0; q < nq; ++q) {
        double s = 0.0, *o = fb + 3 * (size_t)S.bq[q];
        if (S.s2[q] >= 0) {
            const double *pp = S.Pp + (size_t)q * n2;
            for (a = 0; a < n2; ++a) s += gam[n3 + a] * pp[a];
        }
        if (S.ss[q] >= 0) s += S.Sp[q];
        o[0] -= s * S.ux[q];
        o[1] -= s * S.uy[q];
        o[2] -= s * S.uz[q];
    }
    /* triplet loop 2: d(sum_a gamma_a G3_a)/dr_ij and /dr_ik from the kept g, g' */
    for (jj = 0; jj < nb3; ++jj)
        for (a = 0; a < n3; ++a) {
            S.Fg[(size_t)jj * n3 + a] = gam[a] * S.F[(size_t)jj * n3 + a];
            S.Fp[(size_t)jj * n3 + a] *= gam[a];
        }
    T = 0;
    for (jj = 0; jj < nb3; ++jj) {
        const int qj = S.b3[jj];
        const double ujx = S.ux[qj], ujy = S.uy[qj], ujz = S.uz[qj], irj = S.ir[qj];
        const double *SP_RESTRICT Fj = S.F + (size_t)jj * n3, *SP_RESTRICT Fgj = S.Fg + (size_t)jj * n3;
        const double *SP_RESTRICT Fpj = S.Fp + (size_t)jj * n3;
        double srj = 0.0, vjx = 0.0, vjy = 0.0, vjz = 0.0, *oj;
        for (kk = jj + 1; kk < nb3; ++kk, ++T) {
            const int qk = S.b3[kk];
            const double c = S.tc[T], irk = S.ir[qk];
            const double *SP_RESTRICT Fk = S.F + (size_t)kk * n3, *SP_RESTRICT Fpk = S.Fp + (size_t)kk * n3;
            const double *SP_RESTRICT tg = S.tg + T * n3, *SP_RESTRICT tgp = S.tgp + T * n3;
            double sj = 0.0, sk = 0.0, sc = 0.0, rk, *ok;
            SP__IVDEP
            for (a = 0; a < n3; ++a) {
                sj += Fpj[a] * Fk[a] * tg[a];
                sk += Fj[a] * Fpk[a] * tg[a];
                sc += Fgj[a] * Fk[a] * tgp[a];
            }
            /* dE/dr_j += sj u_j + sc (u_k - c u_j)/r_j; dE/dr_k likewise */
            srj += sj - sc * c * irj;
            vjx += sc * irj * S.ux[qk];
            vjy += sc * irj * S.uy[qk];
            vjz += sc * irj * S.uz[qk];
            rk = sk - sc * c * irk;
            ok = fb + 3 * (size_t)S.bq[qk];
            ok[0] -= rk * S.ux[qk] + sc * irk * ujx;
            ok[1] -= rk * S.uy[qk] + sc * irk * ujy;
            ok[2] -= rk * S.uz[qk] + sc * irk * ujz;
        }
        oj = fb + 3 * (size_t)S.bq[qj];
        oj[0] -= srj * ujx + vjx;
        oj[1] -= srj * ujy + vjy;
        oj[2] -= srj * ujz + vjz;
    }
    return e;
}

/* adds (vb, db) = adjoints of a spline's value and derivative at local u to
   the adjoints of the 4 power-form coefficients of its segment */
static SP__INLINE void sp__snnp_acc(double *c, size_t cs, double vb, double db, double u, double ih) {
    const double dbi = db * ih;
    c[0] += vb;
    c[cs] += vb * u + dbi;
    c[2 * cs] += (vb * u + 2.0 * dbi) * u;
    c[3 * cs] += (vb * u + 3.0 * dbi) * u * u;
}

/* Backpropagation of Phi_i = lam E_i - dE_i/de (x + e v) for centre i: power-form
   adjoints into cb3, cbg, cb2, cbs (table layout), network and e0 gradients into g. */
SP__PRIVATE void sp__snnp_center_bp(const sp_pot_t *pot, const sp_nlist_t *nl, const int *type, int i, double lam,
                                    const double *v, const double *sv, const sp__snnp_scr_t *Sp_, double *cb3, double *cbg,
                                    double *cb2, double *cbs, double *g) {
    const sp_snnp_t *m = &pot->snnp;
    const sp_snnp_arch_t *A = &m->arch;
    const int n3 = A->n3, n2 = A->n2, ne = A->nelem, nin = m->nin, ti = ne == 1 ? 0 : type[i];
    const double ihg = m->inv_h[SP__SNNP_G], ih3 = m->inv_h[SP__SNNP_F], ih2 = m->inv_h[SP__SNNP_RHO];
    const double ihs = m->inv_h[SP__SNNP_S];
    const sp__snnp_scr_t S = *Sp_;
    double Gs, *x = S.x, *xd = S.xd, *xb = S.xb, *xdb = S.xdb;
    double xs[SP_SNNP_MAX_FILTERS], xds[SP_SNNP_MAX_FILTERS], s1[SP_SNNP_MAX_FILTERS], s2[SP_SNNP_MAX_FILTERS];
    int nq, nb3, jj, kk, a, q;
    size_t T;
    nq = sp__snnp_bonds(m, nl, type, i, &S, NULL, &Gs, &nb3);
    /* tangents: rd = dr/de, w = (v_j - v_i + sv^T r_ij)/r, qq = rd/r */
    for (q = 0; q < nq; ++q) {
        double dv0 = 0.0, dv1 = 0.0, dv2 = 0.0;
        if (v) {
            const double *vj = v + 3 * (size_t)nl->owner[nl->j[S.bq[q]]], *vi = v + 3 * (size_t)i;
            dv0 = vj[0] - vi[0]; dv1 = vj[1] - vi[1]; dv2 = vj[2] - vi[2];
        }
        if (sv) {
            const double *xi = nl->xe + 3 * (size_t)i, *xj = nl->xe + 3 * (size_t)nl->j[S.bq[q]];
            const double rx = xj[0] - xi[0], ry = xj[1] - xi[1], rz = xj[2] - xi[2];
            dv0 += sv[0] * rx + sv[3] * ry + sv[6] * rz;
            dv1 += sv[1] * rx + sv[4] * ry + sv[7] * rz;
            dv2 += sv[2] * rx + sv[5] * ry + sv[8] * rz;
        }
        S.rd[q] = S.ux[q] * dv0 + S.uy[q] * dv1 + S.uz[q] * dv2;
        S.wx[q] = dv0 * S.ir[q]; S.wy[q] = dv1 * S.ir[q]; S.wz[q] = dv2 * S.ir[q];
        S.qq[q] = S.rd[q] * S.ir[q];
    }
    for (a = 0; a < nin; ++a) xd[a] = 0.0;
    for (q = 0; q < nq; ++q) {
        if (S.s2[q] >= 0)
            for (a = 0; a < n2; ++a) xd[n3 + a] += S.Pp[(size_t)q * n2 + a] * S.rd[q];
    }
    for (jj = 0; jj < nb3; ++jj) {
        const double r = S.rd[S.b3[jj]];
        for (a = 0; a < n3; ++a) S.Fd[(size_t)jj * n3 + a] = S.Fp[(size_t)jj * n3 + a] * r;
    }
    /* triplet loop C: G3, its tangent, g and g' kept */
    for (a = 0; a < n3; ++a) xs[a] = xds[a] = 0.0;
    T = 0;
    for (jj = 0; jj < nb3; ++jj) {
        const int qj = S.b3[jj], tj = S.bt[qj];
        const double ujx = S.ux[qj], ujy = S.uy[qj], ujz = S.uz[qj];
        const double wjx = S.wx[qj], wjy = S.wy[qj], wjz = S.wz[qj], qqj = S.qq[qj];
        const double *SP_RESTRICT Fj = S.F + (size_t)jj * n3, *SP_RESTRICT Fdj = S.Fd + (size_t)jj * n3;
        for (kk = jj + 1; kk < nb3; ++kk, ++T) {
            const int qk = S.b3[kk];
            const double c = ujx * S.ux[qk] + ujy * S.uy[qk] + ujz * S.uz[qk];
            const double cd = S.ux[qk] * wjx + S.uy[qk] * wjy + S.uz[qk] * wjz + ujx * S.wx[qk] + ujy * S.wy[qk] +
                              ujz * S.wz[qk] - c * (qqj + S.qq[qk]);
            const double *SP_RESTRICT Fk = S.F + (size_t)kk * n3, *SP_RESTRICT Fdk = S.Fd + (size_t)kk * n3;
            const int p = ne == 1 ? 0 : sp_pot_pair_index(ne, tj, S.bt[qk]);
            double u, *SP_RESTRICT tg = S.tg + T * n3, *SP_RESTRICT tgp = S.tgp + T * n3;
            const int sg = sp__snnp_seg(c, -1.0, ihg, m->nk[SP__SNNP_G], &u);
            const double *SP_RESTRICT cg = m->tabg + ((size_t)p * (m->nk[SP__SNNP_G] + 1) + (size_t)sg) * n3 * 4;
            S.tpair[T] = p;
            S.tcd[T] = cd;
            S.tseg[T] = sg;
            S.tu[T] = u;
            SP__IVDEP
            for (a = 0; a < n3; ++a) {
                const double gv = cg[a] + u * (cg[n3 + a] + u * (cg[2 * n3 + a] + u * cg[3 * n3 + a]));
                const double gp = (cg[n3 + a] + u * (2.0 * cg[2 * n3 + a] + 3.0 * u * cg[3 * n3 + a])) * ihg;
                tg[a] = gv;
                tgp[a] = gp;
                xs[a] += Fj[a] * Fk[a] * gv;
                xds[a] += (Fdj[a] * Fk[a] + Fj[a] * Fdk[a]) * gv + Fj[a] * Fk[a] * gp * cd;
            }
        }
    }
    for (a = 0; a < n3; ++a) {
        x[a] = xs[a];
        xd[a] += xds[a];
    }
    /* network with tangent, reverse with seeds lam (value) and -1 (tangent) */
    for (a = 0; a < nin; ++a) xb[a] = xdb[a] = 0.0;
    if (A->network) {
        const double *W = m->theta + m->off_net[ti];
        double *gW = g + m->off_net[ti];
        const int out = m->act_off[m->nlayers];
        double y, yd, d1 = 1.0, d2 = 0.0;
        for (a = 0; a < nin; ++a) {
            S.na[a] = x[a];
            S.nad[a] = xd[a];
        }
        y = sp__snnp_net_fwd(m, W, S.na, S.nz, S.nad, S.nzd);
        yd = S.nad[out];
        if (A->softplus) sp__softplus(y, &d1, &d2);
        S.nbar[out] = lam * d1 - d2 * yd;
        S.nbard[out] = -d1;
        sp__snnp_net_bwd(m, W, S.na, S.nz, S.nad, S.nzd, S.nbar, S.nbard, gW);
        for (a = 0; a < nin; ++a) {
            xb[a] = S.nbar[a];
            xdb[a] = S.nbard[a];
        }
    }
    if (A->skip)
        for (a = 0; a < nin; ++a) {
            xb[a] += lam;
            xdb[a] -= 1.0;
        }
    g[m->off_e0 + ti] += lam;
    /* 2-body and short-range filters */
    for (q = 0; q < nq; ++q) {
        const int tj = S.bt[q];
        if (S.s2[q] >= 0) {
            double *c = cb2 + ((size_t)tj * (m->nk[SP__SNNP_RHO] + 1) + (size_t)S.s2[q]) * n2 * 4;
            for (a = 0; a < n2; ++a) sp__snnp_acc(c + a, (size_t)n2, xb[n3 + a], xdb[n3 + a] * S.rd[q], S.u2[q], ih2);
        }
        if (S.ss[q] >= 0 && A->short_range) {
            double *c = cbs + ((size_t)tj * (m->nk[SP__SNNP_S] + 1) + (size_t)S.ss[q]) * 4;
            sp__snnp_acc(c, 1, lam, -S.rd[q], S.us[q], ihs);
        }
    }
    /* triplet loop D: adjoints of f (through sig1, sig2 per bond) and g */
    if (n3 == 0) return;
    memset(S.sig1, 0, (size_t)nb3 * n3 * sizeof(double));
    memset(S.sig2, 0, (size_t)nb3 * n3 * sizeof(double));
    T = 0;
    for (jj = 0; jj < nb3; ++jj) {
        const double *SP_RESTRICT Fj = S.F + (size_t)jj * n3, *SP_RESTRICT Fdj = S.Fd + (size_t)jj * n3;
        double *s1j = s1, *s2j = s2;
        for (a = 0; a < n3; ++a) s1[a] = s2[a] = 0.0;
        for (kk = jj + 1; kk < nb3; ++kk, ++T) {
            const double *SP_RESTRICT Fk = S.F + (size_t)kk * n3, *SP_RESTRICT Fdk = S.Fd + (size_t)kk * n3;
            double *SP_RESTRICT s1k = S.sig1 + (size_t)kk * n3, *SP_RESTRICT s2k = S.sig2 + (size_t)kk * n3;
            const double *SP_RESTRICT tg = S.tg + T * n3, *SP_RESTRICT tgp = S.tgp + T * n3;
            const double cd = S.tcd[T], u = S.tu[T];
            const int p = S.tpair[T];
            double *SP_RESTRICT cg = cbg + ((size_t)p * (m->nk[SP__SNNP_G] + 1) + (size_t)S.tseg[T]) * n3 * 4;
            SP__IVDEP
            for (a = 0; a < n3; ++a) {
                const double gv = tg[a], gp = tgp[a], FF = Fj[a] * Fk[a];
                s1j[a] += Fk[a] * gv;
                s1k[a] += Fj[a] * gv;
                s2j[a] += Fdk[a] * gv + Fk[a] * gp * cd;
                s2k[a] += Fdj[a] * gv + Fj[a] * gp * cd;
                sp__snnp_acc(cg + a, (size_t)n3, xb[a] * FF + xdb[a] * (Fdj[a] * Fk[a] + Fj[a] * Fdk[a]), xdb[a] * FF * cd,
                             u, ihg);
            }
        }
        for (a = 0; a < n3; ++a) {
            S.sig1[(size_t)jj * n3 + a] += s1[a];
            S.sig2[(size_t)jj * n3 + a] += s2[a];
        }
    }
    for (jj = 0; jj < nb3; ++jj) {
        const int qj = S.b3[jj];
        double *c = cb3 + ((size_t)S.bt[qj] * (m->nk[SP__SNNP_F] + 1) + (size_t)S.s3[jj]) * n3 * 4;
        for (a = 0; a < n3; ++a) {
            const double s1 = S.sig1[(size_t)jj * n3 + a], s2 = S.sig2[(size_t)jj * n3 + a];
            sp__snnp_acc(c + a, (size_t)n3, xb[a] * s1 + xdb[a] * s2, xdb[a] * S.rd[qj] * s1, S.u3[jj], ih3);
        }
    }
}

SP_API sp_result_t sp_snnp_backprop(const sp_pot_t *pot, const sp_nlist_t *nl, const int *type, double e_adj,
                                    const double *f_adj, const double *w_adj, sp_work_t *ws, double *out_grad) {
    const sp_snnp_t *m;
    size_t scr, nc[4], tot, need;
    int i, maxdeg, fam, k;
    double *cb[4];
    sp__snnp_scr_t S;
    if (!pot || pot->kind != SP_POT_SNNP || !nl || !ws || !out_grad || (nl->natoms > 0 && !type))
        return SP_ERR_BAD_ARG;
    if (nl->cutoff < pot->cutoff) return SP_ERR_RANGE;
    m = &pot->snnp;
    for (i = 0; i < nl->natoms; ++i)
        if (type[i] < 0 || type[i] >= pot->nelem) return SP_ERR_UNKNOWN_ELEMENT;
    maxdeg = sp__max_degree(nl);
    scr = sp__snnp_scr(m, maxdeg, 1, NULL, &S);
    nc[0] = (size_t)m->arch.nelem * (m->nk[0] + 1) * m->arch.n3 * 4;
    nc[1] = (size_t)m->npairs * (m->nk[1] + 1) * m->arch.n3 * 4;
    nc[2] = (size_t)m->arch.nelem * (m->nk[2] + 1) * m->arch.n2 * 4;
    nc[3] = m->arch.short_range ? (size_t)m->arch.nelem * (m->nk[3] + 1) * 4 : 0;
    tot = nc[0] + nc[1] + nc[2] + nc[3] + 1;
    need = scr + tot * sizeof(double) + 64;
    if (!sp__reserve(&ws->allocator, &ws->scratch, &ws->cap_scratch, need, 1)) return SP_ERR_NO_MEMORY;
    cb[0] = (double *)(void *)(((uintptr_t)ws->scratch + 63) & ~(uintptr_t)63);
    cb[1] = cb[0] + nc[0];
    cb[2] = cb[1] + nc[1];
    cb[3] = cb[2] + nc[2];
    memset(cb[0], 0, tot * sizeof(double));
    sp__snnp_scr(m, maxdeg, 1, (char *)(cb[0] + tot), &S);
    for (i = 0; i < nl->natoms; ++i) sp__snnp_center_bp(pot, nl, type, i, e_adj, f_adj, w_adj, &S, cb[0], cb[1], cb[2], cb[3], out_grad);
    /* power-form adjoints -> theta: grad_theta += J^T cbar, spline by spline */
    for (fam = 0; fam < 4; ++fam) {
        const int n = m->nk[fam], ns = sp__snnp_nspl(&m->arch, fam);
        const double *J = fam == 0 ? m->jac3 : fam == 1 ? m->jacg : fam == 2 ? m->jac2 : m->jacs;
        const int off = fam == 0 ? m->off_f : fam == 1 ? m->off_g : fam == 2 ? m->off_rho : m->off_s;
        const int per = fam == 0 ? m->arch.nelem : fam == 1 ? m->npairs : fam == 2 ? m->arch.nelem : m->arch.nelem;
        const int nf = fam == 0 || fam == 1 ? m->arch.n3 : fam == 2 ? m->arch.n2 : 1;
        for (k = 0; k < ns; ++k) {
            const int f = fam == 3 ? 0 : k / per, e = fam == 3 ? k : k % per;
            const double *c = cb[fam] + (size_t)e * (n + 1) * nf * 4 + f;
            double *gt = out_grad + off + (size_t)k * (n + 2);
            int q, l, cc;
            for (q = 0; q <= n; ++q)
                for (cc = 0; cc < 4; ++cc) {
                    const double w = c[((size_t)q * 4 + cc) * nf];
                    const double *Jr = J + ((size_t)q * 4 + cc) * (n + 2);
                    if (w == 0.0) continue;
                    for (l = 0; l < n + 2; ++l) gt[l] += Jr[l] * w;
                }
        }
    }
    return SP_OK;
}

SP_API sp_result_t sp_snnp_filters(const sp_pot_t *pot, const sp_nlist_t *nl, const int *type, sp_work_t *ws,
                                   double *out_g, double *out_dedg, double *out_energy) {
    const sp_snnp_t *m;
    sp__snnp_scr_t S;
    size_t nin;
    int i;
    if (!pot || pot->kind != SP_POT_SNNP || !nl || !ws || (nl->natoms > 0 && !type)) return SP_ERR_BAD_ARG;
    if (nl->cutoff < pot->cutoff) return SP_ERR_RANGE;
    m = &pot->snnp;
    nin = (size_t)m->nin;
    for (i = 0; i < nl->natoms; ++i)
        if (type[i] < 0 || type[i] >= pot->nelem) return SP_ERR_UNKNOWN_ELEMENT;
    {
        const int maxdeg = sp__max_degree(nl);
        if (!sp__reserve(&ws->allocator, &ws->scratch, &ws->cap_scratch, sp__snnp_scr(m, maxdeg, 0, NULL, &S), 1))
            return SP_ERR_NO_MEMORY;
        sp__snnp_scr(m, maxdeg, 0, ws->scratch, &S);
    }
    for (i = 0; i < nl->natoms; ++i) {
        double Gs, e;
        int nb3;
        sp__snnp_bonds(m, nl, type, i, &S, NULL, &Gs, &nb3);
        sp__snnp_g3(m, &S, nb3);
        if (!out_dedg && !out_energy) e = 0.0;
        else e = sp__snnp_energy(m, &S, m->arch.nelem == 1 ? 0 : type[i], Gs, 1);
        if (out_g) memcpy(out_g + nin * (size_t)i, S.x, nin * sizeof(double));
        if (out_dedg) memcpy(out_dedg + nin * (size_t)i, S.xb, nin * sizeof(double));
        if (out_energy) out_energy[i] = e;
    }
    return SP_OK;
}

SP_API sp_result_t sp_snnp_drop_filter(sp_pot_t *pot, int element, int filter) {
    sp_snnp_t *m;
    int o;
    if (!pot || pot->kind != SP_POT_SNNP) return SP_ERR_BAD_ARG;
    m = &pot->snnp;
    if (element < 0 || element >= m->arch.nelem || filter < 0 || filter >= m->nin) return SP_ERR_BAD_ARG;
    if (!m->arch.network || m->arch.skip) return SP_ERR_UNSUPPORTED;
    for (o = 0; o < m->dims[1]; ++o) m->theta[m->off_net[element] + m->lay_off[0] + (size_t)o * m->nin + filter] = 0.0;
    return SP_OK;
}

/* Cutoff (largest last knot of phi, rho, f, F) and U(0) of an s-MEAM potential. */
static void sp__meam_finish(sp_pot_t *pot) {
    sp_meam_t *m = &pot->meam;
    int ne = pot->nelem, np = ne * (ne + 1) / 2, e;
    double rc = 0.0;
    for (e = 0; e < np; ++e) if (m->phi[e].xmax > rc) rc = m->phi[e].xmax;
    for (e = 0; e < ne; ++e) {
        if (m->rho[e].xmax > rc) rc = m->rho[e].xmax;
        if (m->f[e].xmax > rc) rc = m->f[e].xmax;
        m->zero_energy[e] = sp_spline_eval(&m->U[e], 0.0, NULL);
    }
    if (pot->kind == SP_POT_MEAM_SW && m->F[0].xmax > rc) rc = m->F[0].xmax;
    m->nelem = ne;
    pot->cutoff = rc;
}

static int sp__max_degree(const sp_nlist_t *nl) {
    int i, m = 0;
    for (i = 0; i < nl->natoms; ++i)
        if (nl->first[i + 1] - nl->first[i] > m) m = nl->first[i + 1] - nl->first[i];
    return m;
}

static int sp__nthreads(void) {
#ifdef SP__OMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/* Per-bond slots are needed by many-body terms only (not by UF2). */
static int sp__pot_needs_bonds(const sp_pot_t *pot) { return !(pot->kind == SP_POT_UF3 && !pot->uf3.has3); }

/* Scratch of one thread for centres of up to maxdeg entries. */
static size_t sp__pot_scratch_bytes(const sp_pot_t *pot, int maxdeg) {
    size_t b = sp__bonds_bytes(maxdeg);
    if (pot->kind == SP_POT_UF3 && pot->uf3.fast && sp__uf3_scratch_bytes(pot, maxdeg) > b)
        b = sp__uf3_scratch_bytes(pot, maxdeg);
    if (pot->kind == SP_POT_SNNP) b = sp__snnp_scratch_bytes(pot, maxdeg);
    return b;
}

/* The workspace of the centres: per-bond slots when bonds (UF3 keeps a
   list of entries, one int each, after the 3 doubles per entry), natom
   doubles, scratch bytes. Returns 0 when out of memory. */
static int sp__pot_reserve(const sp_pot_t *pot, const sp_nlist_t *nl, sp_work_t *ws, int bonds, size_t scratch,
                           size_t natom) {
    return (!bonds ||
            sp__reserve(&ws->allocator, (void **)&ws->fbond, &ws->cap_bonds,
                        (pot->kind == SP_POT_UF3 ? 4 : 3) * nl->n_entries + 4, sizeof(double))) &&
           sp__reserve(&ws->allocator, (void **)&ws->atom, &ws->cap_atom, natom, sizeof(double)) &&
           sp__reserve(&ws->allocator, &ws->scratch, &ws->cap_scratch, scratch, 1);
}

/* E_i of centre i; its per-bond forces into fb, its direct force and
   virial into fa[3], va[9] (UF3; zero for the others). */
static double sp__pot_center(const sp_pot_t *pot, const sp_nlist_t *nl, const int *type, int i, const sp__bonds_t *bd,
                             void *scratch, int maxdeg, double *fb, double *fa, double *va, double m1, double m2,
                             int *lst) {
    double e;
    int a;
    if (pot->kind == SP_POT_UF3) {
        if (pot->uf3.fast) return sp__uf3_center_fast(pot, nl, type, i, scratch, maxdeg, fb, fa, va, m1, m2, lst);
        return sp__uf3_center(pot, nl, type, i, bd, fb, fa, va);
    }
    e = pot->kind == SP_POT_SNNP ? sp__snnp_center(pot, nl, type, i, scratch, maxdeg, fb)
                                 : sp__meam_center(pot, nl, type, i, bd, fb);
    for (a = 0; a < 3; ++a) fa[a] = 0.0;
    for (a = 0; a < 9; ++a) va[a] = 0.0;
    return e;
}

/* UF3's centres put the whole pair force 2 V2'(r) u_ij on i (E_i's half and
   E_j's). With contributing flags c, the pair adds (c_i + c_j)/2 of it: adds
   scale V2'(r) u_ij to f for each neighbour j whose flag is want (a centre
   flagged 0: want 1, scale 1, instead of its own force; one flagged 1: want 0,
   scale -1, on top of it). */
static void sp__uf3_pair_flagged(const sp_pot_t *pot, const sp_nlist_t *nl, const int *type, const int *c, int i,
                                 int want, double scale, double *f) {
    const int ne = pot->nelem, ti = type[i];
    const double *xi = nl->xe + 3 * (size_t)i;
    int b;
    for (b = nl->first[i]; b < nl->first[i + 1]; ++b) {
        const int g = nl->j[b], o = nl->owner[g];
        const double *xg = nl->xe + 3 * (size_t)g;
        const double dx = xg[0] - xi[0], dy = xg[1] - xi[1], dz = xg[2] - xi[2], r = sqrt(dx * dx + dy * dy + dz * dz);
        const sp_uf3_pair_t *P = pot->uf3.pair + sp_pot_pair_index(ne, ti, type[o]);
        double dv = 0.0, q;
        if ((c[o] != 0) != want || !(r < P->cut) || !(r < pot->cutoff)) continue;
        sp__uf3_pair_eval(P, r, &dv);
        q = scale * dv / r;
        f[0] += q * dx;
        f[1] += q * dy;
        f[2] += q * dz;
    }
}

SP_API sp_result_t sp_pot_compute(const sp_pot_t *pot, const sp_nlist_t *nl, const int *type,
                                  sp_work_t *ws, sp_out_t *out) {
    const int n = nl ? nl->natoms : 0;
    int i, nth, maxdeg;
    double *fb, *ea, *va, *fa, m1 = -1.0, m2 = -1.0;
    int *lst = NULL;
    size_t per_thread;
    if (!pot || !nl || !ws || !out || (n > 0 && !type)) return SP_ERR_BAD_ARG;
    if (pot->kind == SP_POT_NONE) return SP_ERR_BAD_ARG;
    if (nl->cutoff < pot->cutoff) return SP_ERR_RANGE;
    for (i = 0; i < n; ++i)
        if (type[i] < 0 || type[i] >= pot->nelem) return SP_ERR_UNKNOWN_ELEMENT;
    /* below 256 atoms one thread: the work of a step is then shorter than what
       waking threads costs on a shared machine */
    nth = n < 256 ? 1 : sp__nthreads();
    maxdeg = sp__max_degree(nl);
    per_thread = sp__pot_scratch_bytes(pot, maxdeg);
    if (!sp__pot_reserve(pot, nl, ws, sp__pot_needs_bonds(pot), (size_t)nth * per_thread, 13 * (size_t)n + 1))
        return SP_ERR_NO_MEMORY;
    fb = sp__pot_needs_bonds(pot) ? ws->fbond : NULL;
    if (pot->kind == SP_POT_UF3 && pot->uf3.fast && pot->uf3.has3) {
        /* UF3, vectorised 3-body: the force of E_i on j, non-zero only for
           r_ij <= cut3, is written (by centre i) into slot b, for entries with
           r <= m2 only; the gather of atom i adds the slots rev b of its entries
           with r <= m1, which centre i lists in lst (after the forces in fb). The
           two ends of a bond compute r from
           different images, equal to a few ulps of the coordinates; the margins
           (1e-10 relative to the largest coordinate or shift) cover that many
           times over. */
        double xm = 0.0, mg;
        size_t a;
        for (a = 0; a < 3 * (size_t)nl->next; ++a) {
            const double v = fabs(nl->xe[a]) + fabs(nl->shift[a]);
            xm = v > xm ? v : xm;
        }
        mg = 1e-10 * (xm + pot->uf3.cut3);
        m1 = pot->uf3.cut3 + mg;
        m2 = pot->uf3.cut3 + 2.0 * mg;
        /* cppcheck-suppress invalidPointerCast ; one block carved into typed arrays, never reinterpreted */
        lst = (int *)(fb + 3 * nl->n_entries + 4);
    }
    ea = ws->atom;
    va = ws->atom + n;
    fa = ws->atom + 10 * (size_t)n;
#ifdef SP__OMP
#pragma omp parallel num_threads(nth) if (nth > 1)
#endif
    {
        int tid = 0, ii;
#ifdef SP__OMP
        tid = omp_get_thread_num();
#endif
        {
            sp__bonds_t bd;
            sp__bonds_setup(&bd, (char *)ws->scratch + (size_t)tid * per_thread, maxdeg);
#ifdef SP__OMP
#pragma omp for schedule(dynamic, 32)
#endif
            for (ii = 0; ii < n; ++ii) {
                if (!out->contributing || out->contributing[ii]) {
                    ea[ii] = sp__pot_center(pot, nl, type, ii, &bd, (char *)ws->scratch + (size_t)tid * per_thread,
                                            maxdeg, fb, fa + 3 * (size_t)ii, va + 9 * (size_t)ii, m1, m2, lst);
                    if (out->contributing && pot->kind == SP_POT_UF3)
                        sp__uf3_pair_flagged(pot, nl, type, out->contributing, ii, 0, -1.0, fa + 3 * (size_t)ii);
                } else { /* flagged 0: not evaluated; UF3's vectorised path still lists its gather */
                    double *f = fa + 3 * (size_t)ii;
                    int a;
                    if (lst) sp__uf3_gather_list(nl, ii, m1, lst);
                    ea[ii] = 0.0;
                    f[0] = f[1] = f[2] = 0.0;
                    for (a = 0; a < 9; ++a) va[9 * (size_t)ii + a] = 0.0;
                    if (fb) memset(fb + 3 * (size_t)nl->first[ii], 0, 3 * sizeof(double) * (size_t)(nl->first[ii + 1] - nl->first[ii]));
                    if (pot->kind == SP_POT_UF3) sp__uf3_pair_flagged(pot, nl, type, out->contributing, ii, 1, 1.0, f);
                }
            }
            /* gather: forces and per-atom virials from the per-bond slots */
#ifdef SP__OMP
#pragma omp for schedule(static)
#endif
            for (ii = 0; ii < n; ++ii) {
                double f[3], w[9];
                const double *xi = nl->xe + 3 * (size_t)ii;
                int b, a, c;
                for (a = 0; a < 3; ++a) f[a] = fa[3 * (size_t)ii + a];
                for (a = 0; a < 9; ++a) w[a] = va[9 * (size_t)ii + a];
                if (lst) { /* UF3 vectorised: only the listed reverse slots (see above) */
                    for (b = nl->first[ii]; b < nl->first[ii + 1] && lst[b] >= 0; ++b) {
                        const double *fr = fb + 3 * (size_t)lst[b];
                        f[0] += fr[0];
                        f[1] += fr[1];
                        f[2] += fr[2];
                    }
                }
                for (b = nl->first[ii]; fb && !lst && b < nl->first[ii + 1]; ++b) {
                    const double *fo = fb + 3 * (size_t)b, *fr = fb + 3 * (size_t)nl->rev[b];
                    const double *xg = nl->xe + 3 * (size_t)nl->j[b];
                    double d[3];
                    d[0] = xg[0] - xi[0]; d[1] = xg[1] - xi[1]; d[2] = xg[2] - xi[2];
                    f[0] += fr[0] - fo[0];
                    f[1] += fr[1] - fo[1];
                    f[2] += fr[2] - fo[2];
                    for (a = 0; a < 3; ++a)
                        for (c = 0; c < 3; ++c) w[3 * a + c] += d[a] * fo[c];
                }
                if (out->forces) {
                    out->forces[3 * (size_t)ii] = f[0];
                    out->forces[3 * (size_t)ii + 1] = f[1];
                    out->forces[3 * (size_t)ii + 2] = f[2];
                }
                for (a = 0; a < 9; ++a) va[9 * (size_t)ii + a] = w[a];
            }
        }
    }
    out->energy = 0.0;
    for (i = 0; i < 9; ++i) out->virial[i] = 0.0;
    for (i = 0; i < n; ++i) {
        int a;
        out->energy += ea[i];
        for (a = 0; a < 9; ++a) out->virial[a] += va[9 * (size_t)i + a];
    }
    if (out->energies) memcpy(out->energies, ea, (size_t)n * sizeof(double));
    if (out->virials) memcpy(out->virials, va, 9 * (size_t)n * sizeof(double));
    /* overflow in a potential's numbers (e.g. knots near 1e308) must not pass as a result */
    if (!sp__isfinite(out->energy) || !sp__isfinite(out->virial[0] + out->virial[4] + out->virial[8]))
        return SP_ERR_NOT_FINITE;
    return SP_OK;
}

SP_API sp_result_t sp_pot_compute_once(const sp_pot_t *pot, int natoms, const double *pos,
                                       const int *type, const double *cell, const int *pbc,
                                       double *out_energy, double *out_forces,
                                       double *out_energies, double *out_virial,
                                       sp_diag_t *diag) {
    sp_nlist_t nl;
    sp_work_t ws;
    sp_cell_t c;
    sp_out_t o;
    sp_result_t r;
    int d;
    if (!pot || !cell || !pbc) return sp__fail(diag, SP_ERR_BAD_ARG, 0, "bad argument");
    memset(&nl, 0, sizeof nl);
    memset(&ws, 0, sizeof ws);
    memset(&o, 0, sizeof o);
    for (d = 0; d < 9; ++d) c.h[d] = cell[d];
    for (d = 0; d < 3; ++d) c.pbc[d] = pbc[d];
    r = sp_nlist_build(&nl, &c, pos, natoms, pot->cutoff, diag);
    if (r == SP_OK) {
        o.forces = out_forces;
        o.energies = out_energies;
        r = sp_pot_compute(pot, &nl, type, &ws, &o);
        if (r != SP_OK) sp__fail(diag, r, 0, "%s", sp_result_str(r));
    }
    if (r == SP_OK) {
        if (out_energy) *out_energy = o.energy;
        if (out_virial) memcpy(out_virial, o.virial, sizeof o.virial);
    }
    sp_work_free(&ws);
    sp_nlist_free(&nl);
    return r;
}

/* A Monte-Carlo trial under way (sp_pot_move_energy, sp_pot_swap_energy,
   sp_pot_retype_energy):
   its centres, sorted, each once; their energies before the change; its
   own doubles (extra); what the centre evaluations write into. */
typedef struct sp__trial_t {
    int *set, ns, maxdeg;
    double *eold, *extra, *fb, m3;
    int *lst;
    sp__bonds_t bd;
} sp__trial_t;

/* The workspace of a trial that changes atoms a[0..na): its centres are
   among them and their partners; nextra doubles of its own. Only UF3 with
   3-body terms evaluates a centre with its bond forces; the others compute
   E_i alone, without per-bond slots. */
static sp_result_t sp__trial_begin(const sp_pot_t *pot, const sp_nlist_t *nl, sp_work_t *ws, const int *a, int na,
                                   size_t nextra, sp__trial_t *T) {
    const int bonds = pot->kind == SP_POT_UF3 && sp__pot_needs_bonds(pot);
    size_t per, k = 0;
    int q, b;
    T->maxdeg = 0;
    T->ns = 0;
    for (q = 0; q < na; ++q)
        /* cppcheck-suppress objectIndex ; a is the address of one int only where na = 1 */
        for (b = nl->first[a[q]] - 1; b < nl->first[a[q] + 1]; ++b) {
            /* cppcheck-suppress objectIndex ; as above */
            const int c = b < nl->first[a[q]] ? a[q] : nl->owner[nl->j[b]];
            const int d = nl->first[c + 1] - nl->first[c];
            T->maxdeg = d > T->maxdeg ? d : T->maxdeg;
            ++k;
        }
    per = (sp__pot_scratch_bytes(pot, T->maxdeg) + 63) / 64 * 64;
    if (!sp__pot_reserve(pot, nl, ws, bonds, per + (k + nextra) * sizeof(double) + k * sizeof(int), 1) ||
        !sp__reserve(&ws->allocator, (void **)&ws->trial_e, &ws->cap_trial_e, k, sizeof(double)) ||
        !sp__reserve(&ws->allocator, (void **)&ws->trial_c, &ws->cap_trial_c, k, sizeof(int)))
        return SP_ERR_NO_MEMORY;
    /* cppcheck-suppress invalidPointerCast ; one block carved into typed arrays, never reinterpreted */
    T->eold = (double *)((char *)ws->scratch + per);
    T->extra = T->eold + k;
    /* cppcheck-suppress invalidPointerCast ; one block carved into typed arrays, never reinterpreted */
    T->set = (int *)(T->extra + nextra);
    T->fb = bonds ? ws->fbond : NULL;
    T->lst = NULL;
    /* cppcheck-suppress invalidPointerCast ; one block carved into typed arrays, never reinterpreted */
    if (pot->kind == SP_POT_UF3 && pot->uf3.fast && pot->uf3.has3) T->lst = (int *)(T->fb + 3 * nl->n_entries + 4);
    T->m3 = pot->kind == SP_POT_UF3 ? pot->uf3.cut3 : 0.0; /* slot margins: forces only */
    sp__bonds_setup(&T->bd, ws->scratch, T->maxdeg);
    return SP_OK;
}

/* The trial is done: what the accept call of its kind checks and writes. */
static void sp__trial_keep(sp_work_t *ws, const sp__trial_t *T, int kind, int i, int j) {
    ws->trial_kind = kind;
    ws->trial_i = i;
    ws->trial_j = j;
    ws->trial_n = T->ns;
}

/* Accepts the trial: its centres' new energies into energies (when given). */
static void sp__trial_accept(sp_work_t *ws, double *energies) {
    int k;
    if (energies)
        for (k = 0; k < ws->trial_n; ++k) energies[ws->trial_c[k]] = ws->trial_e[k];
    ws->trial_n = 0;
}

/* Centre c into the trial's set (sorted, once). */
static void sp__trial_add(sp__trial_t *T, int c) {
    int q;
    for (q = 0; q < T->ns && T->set[q] < c; ++q) {}
    if (q < T->ns && T->set[q] == c) return;
    memmove(T->set + q + 1, T->set + q, (size_t)(T->ns - q) * sizeof(int));
    T->set[q] = c;
    ++T->ns;
}

/* The partners of atom a within the cutoff of it (plus a margin for the
   ulps by which a centre's own view of the distance differs: a centre taken
   in without need adds an exact 0), also as seen from xa (the position of
   a's image a after a move; NULL: none). */
static void sp__trial_partners(const sp_pot_t *pot, const sp_nlist_t *nl, int a, const double *xa, sp__trial_t *T) {
    const double rm2 = (pot->cutoff + 1e-9) * (pot->cutoff + 1e-9), *xo = nl->xe + 3 * (size_t)a;
    int b, q;
    for (b = nl->first[a]; b < nl->first[a + 1]; ++b) {
        const int j = nl->j[b], c = nl->owner[j];
        const double *xj = nl->xe + 3 * (size_t)j;
        double r0 = 0.0, r1 = 0.0;
        if (c == a) continue;
        for (q = 0; q < 3; ++q) {
            r0 += (xj[q] - xo[q]) * (xj[q] - xo[q]);
            if (xa) r1 += (xj[q] - xa[q]) * (xj[q] - xa[q]);
        }
        if (r0 < rm2 || (xa && r1 < rm2)) sp__trial_add(T, c);
    }
}

/* The elements of the set's centres and their neighbours, and the
   energies of its centres before the change (from energies when given). */
static sp_result_t sp__trial_before(const sp_pot_t *pot, const sp_nlist_t *nl, const int *type, sp_work_t *ws,
                                    const double *energies, sp__trial_t *T) {
    double fa[3], va[9];
    int k, b;
    for (k = 0; k < T->ns; ++k)
        for (b = nl->first[T->set[k]] - 1; b < nl->first[T->set[k] + 1]; ++b) {
            const int t = type[b < nl->first[T->set[k]] ? T->set[k] : nl->owner[nl->j[b]]];
            if (t < 0 || t >= pot->nelem) return SP_ERR_UNKNOWN_ELEMENT;
        }
    for (k = 0; k < T->ns; ++k)
        T->eold[k] = energies ? energies[T->set[k]]
                              : sp__pot_center(pot, nl, type, T->set[k], &T->bd, ws->scratch, T->maxdeg, T->fb, fa,
                                               va, T->m3, T->m3, T->lst);
    return SP_OK;
}

/* The energies of the set's centres after the change (kept in ws for the
   accept) and the sum of their changes. */
static double sp__trial_after(const sp_pot_t *pot, const sp_nlist_t *nl, const int *type, sp_work_t *ws,
                              sp__trial_t *T) {
    double de = 0.0, fa[3], va[9];
    int k;
    for (k = 0; k < T->ns; ++k) {
        ws->trial_e[k] = sp__pot_center(pot, nl, type, T->set[k], &T->bd, ws->scratch, T->maxdeg, T->fb, fa, va,
                                        T->m3, T->m3, T->lst);
        ws->trial_c[k] = T->set[k];
        de += ws->trial_e[k] - T->eold[k];
    }
    return de;
}

SP_API sp_result_t sp_pot_move_energy(const sp_pot_t *pot, sp_nlist_t *nl, const int *type, sp_work_t *ws,
                                      int i, const double *x, const double *energies, double *out_de) {
    double xi[3], skin, de;
    int k, nimg;
    sp__trial_t T;
    sp_result_t r;
    if (!pot || !nl || !type || !ws || !x || !out_de || pot->kind == SP_POT_NONE) return SP_ERR_BAD_ARG;
    if (i < 0 || i >= nl->natoms || !nl->gfirst) return SP_ERR_BAD_ARG;
    ws->trial_n = 0;
    if (nl->cutoff < pot->cutoff) return SP_ERR_RANGE;
    if (!sp__isfinite(x[0]) || !sp__isfinite(x[1]) || !sp__isfinite(x[2])) return SP_ERR_NOT_FINITE;
    skin = nl->cutoff - pot->cutoff;
    for (k = 0; k < 3; ++k) xi[k] = x[k] + nl->shift[3 * (size_t)i + k];
    {
        const double *x0 = nl->x0 + 3 * (size_t)i;
        const double d0 = xi[0] - x0[0], d1 = xi[1] - x0[1], d2 = xi[2] - x0[2];
        if (4.0 * (d0 * d0 + d1 * d1 + d2 * d2) > skin * skin) return SP_ERR_RANGE;
    }
    nimg = nl->gfirst[i + 1] - nl->gfirst[i];
    if ((r = sp__trial_begin(pot, nl, ws, &i, 1, 3 * (size_t)(nimg + 1), &T)) != SP_OK) return r;
    /* i, and every atom with an image within the cutoff of i before or after the move */
    sp__trial_add(&T, i);
    sp__trial_partners(pot, nl, i, xi, &T);
    if ((r = sp__trial_before(pot, nl, type, ws, energies, &T)) != SP_OK) return r;
    for (k = 0; k <= nimg; ++k) /* i's copies' positions, to be put back */
        memcpy(T.extra + 3 * (size_t)k, nl->xe + 3 * (size_t)sp__nl_copy(nl, i, k), 3 * sizeof(double));
    sp_nlist_move(nl, i, x);
    de = sp__trial_after(pot, nl, type, ws, &T);
    for (k = 0; k <= nimg; ++k)
        memcpy(nl->xe + 3 * (size_t)sp__nl_copy(nl, i, k), T.extra + 3 * (size_t)k, 3 * sizeof(double));
    *out_de = de;
    if (!sp__isfinite(de)) return SP_ERR_NOT_FINITE;
    sp__trial_keep(ws, &T, 0, i, -1);
    memcpy(ws->trial_x, x, sizeof ws->trial_x);
    return SP_OK;
}

SP_API sp_result_t sp_pot_move_accept(sp_nlist_t *nl, sp_work_t *ws, int i, const double *x, double *energies) {
    if (!nl || !ws || !x || i < 0 || i >= nl->natoms || !nl->gfirst) return SP_ERR_BAD_ARG;
    if (ws->trial_n < 1 || ws->trial_kind != 0 || ws->trial_i != i || x[0] != ws->trial_x[0] ||
        x[1] != ws->trial_x[1] || x[2] != ws->trial_x[2])
        return SP_ERR_BAD_ARG;
    sp__trial_accept(ws, energies);
    sp_nlist_move(nl, i, x);
    return SP_OK;
}

SP_API sp_result_t sp_pot_swap_energy(const sp_pot_t *pot, const sp_nlist_t *nl, int *type, sp_work_t *ws, int i,
                                      int j, const double *energies, double *out_de) {
    int a[2], t;
    double de;
    sp__trial_t T;
    sp_result_t r;
    if (!pot || !nl || !type || !ws || !out_de || pot->kind == SP_POT_NONE) return SP_ERR_BAD_ARG;
    if (i < 0 || i >= nl->natoms || j < 0 || j >= nl->natoms || i == j || !nl->gfirst) return SP_ERR_BAD_ARG;
    ws->trial_n = 0;
    if (nl->cutoff < pot->cutoff) return SP_ERR_RANGE;
    a[0] = i;
    a[1] = j;
    if ((r = sp__trial_begin(pot, nl, ws, a, 2, 0, &T)) != SP_OK) return r;
    sp__trial_add(&T, i);
    sp__trial_add(&T, j);
    sp__trial_partners(pot, nl, i, NULL, &T);
    sp__trial_partners(pot, nl, j, NULL, &T);
    if ((r = sp__trial_before(pot, nl, type, ws, energies, &T)) != SP_OK) return r;
    t = type[i]; type[i] = type[j]; type[j] = t;
    de = sp__trial_after(pot, nl, type, ws, &T);
    t = type[i]; type[i] = type[j]; type[j] = t;
    *out_de = de;
    if (!sp__isfinite(de)) return SP_ERR_NOT_FINITE;
    sp__trial_keep(ws, &T, 1, i, j);
    return SP_OK;
}

SP_API sp_result_t sp_pot_swap_accept(sp_work_t *ws, int *type, int i, int j, double *energies) {
    int t;
    if (!ws || !type || ws->trial_n < 1 || ws->trial_kind != 1 ||
        !((ws->trial_i == i && ws->trial_j == j) || (ws->trial_i == j && ws->trial_j == i)))
        return SP_ERR_BAD_ARG;
    sp__trial_accept(ws, energies);
    t = type[i]; type[i] = type[j]; type[j] = t;
    return SP_OK;
}

SP_API sp_result_t sp_pot_retype_energy(const sp_pot_t *pot, const sp_nlist_t *nl, int *type, sp_work_t *ws, int i,
                                        int t, const double *energies, double *out_de) {
    int t0;
    double de;
    sp__trial_t T;
    sp_result_t r;
    if (!pot || !nl || !type || !ws || !out_de || pot->kind == SP_POT_NONE) return SP_ERR_BAD_ARG;
    if (i < 0 || i >= nl->natoms || !nl->gfirst) return SP_ERR_BAD_ARG;
    ws->trial_n = 0;
    if (t < 0 || t >= pot->nelem) return SP_ERR_UNKNOWN_ELEMENT;
    if (nl->cutoff < pot->cutoff) return SP_ERR_RANGE;
    if ((r = sp__trial_begin(pot, nl, ws, &i, 1, 0, &T)) != SP_OK) return r;
    sp__trial_add(&T, i);
    sp__trial_partners(pot, nl, i, NULL, &T);
    if ((r = sp__trial_before(pot, nl, type, ws, energies, &T)) != SP_OK) return r;
    t0 = type[i];
    type[i] = t;
    de = sp__trial_after(pot, nl, type, ws, &T);
    type[i] = t0;
    *out_de = de;
    if (!sp__isfinite(de)) return SP_ERR_NOT_FINITE;
    sp__trial_keep(ws, &T, 2, i, t);
    return SP_OK;
}

SP_API sp_result_t sp_pot_retype_accept(sp_work_t *ws, int *type, int i, int t, double *energies) {
    if (!ws || !type || ws->trial_n < 1 || ws->trial_kind != 2 || ws->trial_i != i || ws->trial_j != t)
        return SP_ERR_BAD_ARG;
    sp__trial_accept(ws, energies);
    type[i] = t;
    return SP_OK;
}
/* ==================================================================
 * >>props    implementation
 * ================================================================== */

/* Energies and forces of one cell through a kept neighbour list with a
   skin: rebuilt when an atom has moved more than skin/2 since the last
   build (sp_nlist_stale), else updated. */
typedef struct sp__calc_t {
    const sp_pot_t *pot;
    const sp_cell_t *cell;
    const int *type;
    int natoms, built;
    double skin;
    sp_nlist_t nl;
    sp_work_t ws;
} sp__calc_t;

static void sp__calc_init(sp__calc_t *c, const sp_pot_t *pot, const sp_cell_t *cell, const int *type, int natoms,
                          double skin) {
    memset(c, 0, sizeof *c);
    c->pot = pot;
    c->cell = cell;
    c->type = type;
    c->natoms = natoms;
    c->skin = skin;
    c->nl.allocator = pot->allocator;
    c->ws.allocator = pot->allocator;
}

static void sp__calc_free(sp__calc_t *c) {
    sp_nlist_free(&c->nl);
    sp_work_free(&c->ws);
}

static sp_result_t sp__calc(sp__calc_t *c, const double *pos, double *forces, double *energy, double *virial,
                            sp_diag_t *diag) {
    sp_out_t o;
    sp_result_t r;
    if (!c->built || sp_nlist_stale(&c->nl, pos, c->pot->cutoff)) {
        c->built = 0;
        r = sp_nlist_build(&c->nl, c->cell, pos, c->natoms, c->pot->cutoff + c->skin, diag);
        if (r != SP_OK) return r;
        c->built = 1;
    } else {
        sp_nlist_update(&c->nl, pos);
    }
    memset(&o, 0, sizeof o);
    o.forces = forces;
    r = sp_pot_compute(c->pot, &c->nl, c->type, &c->ws, &o);
    if (r != SP_OK) return sp__fail(diag, r, 0, "%s", sp_result_str(r));
    *energy = o.energy;
    if (virial) memcpy(virial, o.virial, sizeof o.virial);
    return SP_OK;
}

/* FIRE (Bitzek et al. 2006) with the parameters of ASE's FIRE: dt 0.1,
   dt_max 1.0, N_min 5, f_inc 1.1, f_dec 0.5, alpha 0.1, f_alpha 0.99; the
   step of the whole vector at most maxmove. With halfback, an uphill step
   (P = v.F < 0) is first half taken back, as FIRE 2.0 does (Guenole et al.
   2020; LAMMPS min_style fire, halfstepback). */
typedef struct sp__fire_t {
    double dt, alpha, last; /* last: the last step was last * v */
    int npos, started;
} sp__fire_t;

static void sp__fire_init(sp__fire_t *s) {
    s->dt = 0.1;
    s->alpha = 0.1;
    s->last = 0.0;
    s->npos = 0;
    s->started = 0;
}

/* One step of x (velocities v, forces f, n numbers). */
static void sp__fire_step(sp__fire_t *s, double *x, double *v, const double *f, size_t n, double maxmove, int halfback) {
    double vf = 0.0, vv = 0.0, ff = 0.0, dr2 = 0.0, sc;
    size_t a;
    for (a = 0; a < n; ++a) {
        vf += v[a] * f[a];
        vv += v[a] * v[a];
        ff += f[a] * f[a];
    }
    if (!s->started) {
        memset(v, 0, n * sizeof(double));
        s->started = 1;
    } else if (vf > 0.0) {
        const double mix = s->alpha * sqrt(vv / ff);
        for (a = 0; a < n; ++a) v[a] = (1.0 - s->alpha) * v[a] + mix * f[a];
        if (s->npos > 5) {
            s->dt = s->dt * 1.1 < 1.0 ? s->dt * 1.1 : 1.0;
            s->alpha *= 0.99;
        }
        ++s->npos;
    } else {
        if (halfback)
            for (a = 0; a < n; ++a) x[a] -= 0.5 * s->last * v[a];
        memset(v, 0, n * sizeof(double));
        s->alpha = 0.1;
        s->dt *= 0.5;
        s->npos = 0;
    }
    for (a = 0; a < n; ++a) {
        v[a] += s->dt * f[a];
        dr2 += v[a] * v[a];
    }
    dr2 *= s->dt * s->dt;
    sc = dr2 > maxmove * maxmove ? s->dt * maxmove / sqrt(dr2) : s->dt;
    s->last = sc;
    for (a = 0; a < n; ++a) x[a] += sc * v[a];
}

/* Largest |F_a|^2 of n3 / 3 atoms (NaN if any). */
static double sp__max_force2(const double *f, size_t n3) {
    double m = 0.0;
    size_t a;
    for (a = 0; a < n3; a += 3) {
        const double f2 = f[a] * f[a] + f[a + 1] * f[a + 1] + f[a + 2] * f[a + 2];
        if (!(f2 <= m)) m = f2;
    }
    return m;
}

/* sp_relax, counting its force evaluations into *steps. */
static sp_result_t sp__relax(const sp_pot_t *pot, int natoms, double *pos, const int *type, const sp_cell_t *cell,
                             const sp_relax_opts_t *opts, double *out_energy, double *out_virial, int *steps,
                             sp_diag_t *diag) {
    const double fmax = opts && opts->fmax > 0.0 ? opts->fmax : 1e-8;
    const double skin = opts && opts->skin > 0.0 ? opts->skin : 1.0;
    const double maxmove = opts && opts->max_move > 0.0 ? opts->max_move : 0.1;
    const int maxs = opts && opts->max_steps > 0 ? opts->max_steps : 20000;
    const size_t n3 = 3 * (size_t)natoms;
    double *mem, *f, *v, e = 0.0, W[9];
    int step;
    sp__fire_t fire;
    sp__calc_t c;
    sp_result_t r = SP_OK;
    if (!pot || !cell || natoms < 0 || (natoms > 0 && (!pos || !type)))
        return sp__fail(diag, SP_ERR_BAD_ARG, 0, "bad argument to sp_relax");
    if (opts && (!(opts->fmax >= 0.0 && opts->fmax < HUGE_VAL) || !(opts->skin >= 0.0 && opts->skin < 1e3) ||
                 !(opts->max_move >= 0.0 && opts->max_move < 1e3) || opts->max_steps < 0 || opts->only_axis < 0 ||
                 opts->only_axis > 3))
        return sp__fail(diag, SP_ERR_BAD_ARG, 0, "relaxation options out of range");
    mem = (double *)sp__alloc(&pot->allocator, (2 * n3 + 1) * sizeof(double));
    if (!mem) return sp__fail(diag, SP_ERR_NO_MEMORY, 0, "out of memory");
    f = mem;
    v = f + n3;
    sp__calc_init(&c, pot, cell, type, natoms, skin);
    sp__fire_init(&fire);
    for (step = 0;; ++step) {
        double f2max;
        r = sp__calc(&c, pos, f, &e, W, diag);
        ++*steps;
        if (r != SP_OK) break;
        if (opts && opts->only_axis) {
            size_t q;
            for (q = 0; q < n3; ++q)
                if ((int)(q % 3) != opts->only_axis - 1) f[q] = 0.0;
        }
        f2max = sp__max_force2(f, n3);
        if (f2max <= fmax * fmax) break;
        if (!(f2max < HUGE_VAL)) {
            r = sp__fail(diag, SP_ERR_NOT_FINITE, 0, "non-finite force during relaxation");
            break;
        }
        if (step + 1 >= maxs) {
            r = sp__fail(diag, SP_ERR_NO_CONVERGENCE, 0, "relaxation not converged in %d steps (largest force %.3g eV/A)",
                         maxs, sqrt(f2max));
            break;
        }
        sp__fire_step(&fire, pos, v, f, n3, maxmove, 0);
    }
    if (r == SP_OK) {
        if (out_energy) *out_energy = e;
        if (out_virial) memcpy(out_virial, W, sizeof W);
    }
    sp__calc_free(&c);
    sp__free(&pot->allocator, mem);
    return r;
}

SP_API sp_result_t sp_relax(const sp_pot_t *pot, int natoms, double *pos, const int *type, const sp_cell_t *cell,
                            const sp_relax_opts_t *opts, double *out_energy, double *out_virial, int *out_steps,
                            sp_diag_t *diag) {
    int steps = 0;
    const sp_result_t r = sp__relax(pot, natoms, pos, type, cell, opts, out_energy, out_virial, &steps, diag);
    if (out_steps) *out_steps = steps;
    return r;
}

/* sp_elastic, counting the force evaluations of its relaxations. */
static sp_result_t sp__elastic(const sp_pot_t *pot, int natoms, const double *pos, const int *type,
                               const sp_cell_t *cell, double strain, const sp_relax_opts_t *relax, double *out_c,
                               int *steps, sp_diag_t *diag) {
    static const int va[6] = {0, 1, 2, 1, 0, 0}, vb[6] = {0, 1, 2, 2, 2, 1}; /* xx yy zz yz xz xy */
    double sig[2][6], *xs;
    int i, j, s, d;
    sp_result_t r = SP_OK;
    if (!pot || !cell || !out_c || natoms < 1 || !pos || !type)
        return sp__fail(diag, SP_ERR_BAD_ARG, 0, "bad argument to sp_elastic");
    if (!(strain > 0.0 && strain < 0.1)) return sp__fail(diag, SP_ERR_BAD_ARG, 0, "strain %g not in (0, 0.1)", strain);
    if (!cell->pbc[0] || !cell->pbc[1] || !cell->pbc[2])
        return sp__fail(diag, SP_ERR_BAD_CELL, 0, "elastic constants need a cell periodic in all three directions");
    xs = (double *)sp__alloc(&pot->allocator, 3 * (size_t)natoms * sizeof(double));
    if (!xs) return sp__fail(diag, SP_ERR_NO_MEMORY, 0, "out of memory");
    for (j = 0; j < 6 && r == SP_OK; ++j) {
        for (s = 0; s < 2 && r == SP_OK; ++s) {
            double F[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1}, W[9], e, vol;
            const double eps = (s == 0 ? strain : -strain) * (j < 3 ? 1.0 : 0.5);
            sp_cell_t cs;
            F[3 * va[j] + vb[j]] += eps;
            if (j >= 3) F[3 * vb[j] + va[j]] += eps;
            for (d = 0; d < 3; ++d) cs.pbc[d] = 1;
            for (i = 0; i < 3; ++i)
                for (d = 0; d < 3; ++d)
                    cs.h[3 * i + d] = F[3 * d] * cell->h[3 * i] + F[3 * d + 1] * cell->h[3 * i + 1] +
                                      F[3 * d + 2] * cell->h[3 * i + 2];
            for (i = 0; i < natoms; ++i)
                for (d = 0; d < 3; ++d)
                    xs[3 * i + d] = F[3 * d] * pos[3 * i] + F[3 * d + 1] * pos[3 * i + 1] + F[3 * d + 2] * pos[3 * i + 2];
            if (relax) {
                r = sp__relax(pot, natoms, xs, type, &cs, relax, &e, W, steps, diag);
            } else {
                r = sp_pot_compute_once(pot, natoms, xs, type, cs.h, cs.pbc, &e, NULL, NULL, W, diag);
            }
            if (r != SP_OK) break;
            vol = fabs(sp__det3(cs.h));
            for (i = 0; i < 6; ++i)
                sig[s][i] = -0.5 * (W[3 * va[i] + vb[i]] + W[3 * vb[i] + va[i]]) / vol;
        }
        if (r == SP_OK)
            for (i = 0; i < 6; ++i) out_c[6 * i + j] = (sig[0][i] - sig[1][i]) / (2.0 * strain);
    }
    sp__free(&pot->allocator, xs);
    return r;
}

SP_API sp_result_t sp_elastic(const sp_pot_t *pot, int natoms, const double *pos, const int *type,
                              const sp_cell_t *cell, double strain, const sp_relax_opts_t *relax, double *out_c,
                              sp_diag_t *diag) {
    int steps = 0;
    return sp__elastic(pot, natoms, pos, type, cell, strain, relax, out_c, &steps, diag);
}

SP_API sp_result_t sp_eos_fit(int n, const double *volume, const double *energy, double *out) {
    double M[4][5], xm = 0.0, xs = 0.0, c[4], sq, t0, x0, v0, pxx, pxxx, g1, g2, evv, evvv;
    int k, p, q, distinct = 0;
    if (n < 4 || !volume || !energy || !out) return SP_ERR_BAD_ARG;
    for (k = 0; k < n; ++k) {
        if (!sp__isfinite(volume[k]) || !sp__isfinite(energy[k])) return SP_ERR_NOT_FINITE;
        if (!(volume[k] > 0.0)) return SP_ERR_BAD_ARG;
        for (p = 0; p < k && volume[p] != volume[k]; ++p) {}
        distinct += p == k;
        xm += pow(volume[k], -2.0 / 3.0);
    }
    if (distinct < 4) return SP_ERR_BAD_ARG;
    xm /= n;
    for (k = 0; k < n; ++k)
        if (fabs(pow(volume[k], -2.0 / 3.0) - xm) > xs) xs = fabs(pow(volume[k], -2.0 / 3.0) - xm);
    /* normal equations of the cubic in t = (V^(-2/3) - xm) / xs, |t| <= 1 */
    memset(M, 0, sizeof M);
    for (k = 0; k < n; ++k) {
        const double t = (pow(volume[k], -2.0 / 3.0) - xm) / xs;
        double tp[7];
        tp[0] = 1.0;
        for (p = 1; p < 7; ++p) tp[p] = tp[p - 1] * t;
        for (p = 0; p < 4; ++p) {
            for (q = 0; q < 4; ++q) M[p][q] += tp[p + q];
            M[p][4] += tp[p] * energy[k];
        }
    }
    for (p = 0; p < 4; ++p) { /* Gaussian elimination, partial pivoting */
        int piv = p;
        for (q = p + 1; q < 4; ++q)
            if (fabs(M[q][p]) > fabs(M[piv][p])) piv = q;
        if (!(fabs(M[piv][p]) > 1e-12 * M[0][0])) return SP_ERR_SINGULAR;
        if (piv != p)
            for (q = 0; q < 5; ++q) {
                const double tmp = M[p][q];
                M[p][q] = M[piv][q];
                M[piv][q] = tmp;
            }
        for (q = p + 1; q < 4; ++q) {
            const double f = M[q][p] / M[p][p];
            for (k = p; k < 5; ++k) M[q][k] -= f * M[p][k];
        }
    }
    for (p = 3; p >= 0; --p) {
        double s = M[p][4];
        for (q = p + 1; q < 4; ++q) s -= M[p][q] * c[q];
        c[p] = s / M[p][p];
    }
    /* the minimum: root of c1 + 2 c2 t + 3 c3 t^2 where the curvature 2 sq is positive */
    sq = c[2] * c[2] - 3.0 * c[1] * c[3];
    if (!(sq > 0.0)) return SP_ERR_SINGULAR;
    sq = sqrt(sq);
    if (!(c[2] + sq != 0.0)) return SP_ERR_SINGULAR;
    t0 = -c[1] / (c[2] + sq);
    x0 = xm + xs * t0;
    if (!(fabs(t0) <= 2.0) || !(x0 > 0.0)) return SP_ERR_SINGULAR; /* no minimum near the data */
    v0 = pow(x0, -1.5);
    pxx = 2.0 * sq / (xs * xs);
    pxxx = 6.0 * c[3] / (xs * xs * xs);
    g1 = -2.0 / 3.0 * pow(v0, -5.0 / 3.0);
    g2 = 10.0 / 9.0 * pow(v0, -8.0 / 3.0);
    evv = pxx * g1 * g1;
    evvv = pxxx * g1 * g1 * g1 + 3.0 * pxx * g1 * g2;
    out[0] = v0;
    out[1] = c[0] + t0 * (c[1] + t0 * (c[2] + t0 * c[3]));
    out[2] = v0 * evv;
    out[3] = -1.0 - v0 * evvv / evv;
    out[4] = 0.0;
    for (k = 0; k < n; ++k) {
        const double t = (pow(volume[k], -2.0 / 3.0) - xm) / xs;
        const double d = c[0] + t * (c[1] + t * (c[2] + t * c[3])) - energy[k];
        out[4] += d * d;
    }
    out[4] = sqrt(out[4] / n);
    return SP_OK;
}

/* The NEB force of an image between prev and next (energies ep, ec, en),
   from its true force F (in place): the upwind tangent of Henkelman &
   Jonsson (2000), F less its tangent part (climbing: less twice it, no
   spring), plus the spring k (|next - cur| - |cur - prev|) along the
   tangent. tau: n3 of scratch. */
static void sp__neb_force(const double *prev, const double *cur, const double *next, double ep, double ec, double en,
                          double *F, double *tau, size_t n3, double k, int climb) {
    double wp, wm, t2 = 0.0, dp2 = 0.0, dm2 = 0.0, ft = 0.0, inv, along;
    size_t a;
    if (en > ec && ec > ep) {
        wp = 1.0;
        wm = 0.0;
    } else if (en < ec && ec < ep) {
        wp = 0.0;
        wm = 1.0;
    } else {
        const double dn = fabs(en - ec), dp = fabs(ep - ec), vmax = dn > dp ? dn : dp, vmin = dn > dp ? dp : dn;
        wp = en > ep ? vmax : vmin;
        wm = en > ep ? vmin : vmax;
    }
    for (a = 0; a < n3; ++a) {
        const double up = next[a] - cur[a], um = cur[a] - prev[a];
        tau[a] = wp * up + wm * um;
        t2 += tau[a] * tau[a];
        dp2 += up * up;
        dm2 += um * um;
    }
    inv = t2 > 0.0 ? 1.0 / sqrt(t2) : 0.0;
    for (a = 0; a < n3; ++a) {
        tau[a] *= inv;
        ft += F[a] * tau[a];
    }
    along = climb ? -2.0 * ft : k * (sqrt(dp2) - sqrt(dm2)) - ft;
    for (a = 0; a < n3; ++a) F[a] += along * tau[a];
}

/* The energies of the nimages + 2 configurations of a band. */
static sp_result_t sp__neb_energies(const sp_pot_t *pot, int natoms, const int *type, const sp_cell_t *cell,
                                    int nimages, const double *path, double *E, sp_diag_t *diag) {
    sp_result_t r = SP_OK;
    int m;
    for (m = 0; m < nimages + 2 && r == SP_OK; ++m)
        r = sp_pot_compute_once(pot, natoms, path + (size_t)m * 3 * natoms, type, cell->h, cell->pbc, &E[m], NULL, NULL,
                                NULL, diag);
    return r;
}

SP_API sp_result_t sp_neb(const sp_pot_t *pot, int natoms, const int *type, const sp_cell_t *cell, int nimages,
                          double *path, const sp_neb_opts_t *opts, double *out_energies, int *out_steps,
                          sp_diag_t *diag) {
    const double ftol = opts && opts->fmax > 0.0 ? opts->fmax : 1e-3;
    const double k = opts && opts->spring > 0.0 ? opts->spring : 1.0;
    const double maxmove = opts && opts->max_move > 0.0 ? opts->max_move : 0.1;
    const int maxs = opts && opts->max_steps > 0 ? opts->max_steps : 5000, climb = !(opts && opts->no_climb);
    const size_t n3 = 3 * (size_t)natoms, nm = (size_t)nimages * n3;
    double *mem, *E, *F, *v, *tau;
    sp__calc_t *calc;
    sp__fire_t fire;
    sp_result_t r = SP_OK;
    double f2prev = HUGE_VAL;
    int step = 0, m, climbing = 0, climbing_top = 0, was, may_climb;
    if (out_steps) *out_steps = 0;
    if (!pot || !cell || !path || natoms < 1 || !type || nimages < 1 || nimages > 1000)
        return sp__fail(diag, SP_ERR_BAD_ARG, 0, "bad argument to sp_neb");
    if (opts && (!(opts->fmax >= 0.0 && opts->fmax < HUGE_VAL) || !(opts->spring >= 0.0 && opts->spring < 1e6) ||
                 !(opts->max_move >= 0.0 && opts->max_move < 1e3) || opts->max_steps < 0))
        return sp__fail(diag, SP_ERR_BAD_ARG, 0, "NEB options out of range");
    mem = (double *)sp__alloc(&pot->allocator, ((size_t)nimages + 2 + 2 * nm + n3) * sizeof(double) +
                                                   (size_t)nimages * sizeof(sp__calc_t));
    if (!mem) return sp__fail(diag, SP_ERR_NO_MEMORY, 0, "out of memory");
    E = mem;
    F = E + nimages + 2;
    v = F + nm;
    tau = v + nm;
    calc = (sp__calc_t *)(void *)(tau + n3);
    memset(v, 0, nm * sizeof(double));
    for (m = 0; m < nimages; ++m) sp__calc_init(calc + m, pot, cell, type, natoms, 1.0);
    r = sp_pot_compute_once(pot, natoms, path, type, cell->h, cell->pbc, &E[0], NULL, NULL, NULL, diag);
    if (r == SP_OK)
        r = sp_pot_compute_once(pot, natoms, path + (size_t)(nimages + 1) * n3, type, cell->h, cell->pbc,
                                &E[nimages + 1], NULL, NULL, NULL, diag);
    sp__fire_init(&fire);
    for (step = 0; r == SP_OK; ++step) {
        double f2max = 0.0;
        int top = 1;
        for (m = 1; m <= nimages && r == SP_OK; ++m)
            r = sp__calc(calc + m - 1, path + (size_t)m * n3, F + (size_t)(m - 1) * n3, &E[m], NULL, diag);
        if (r != SP_OK) break;
        for (m = 2; m <= nimages; ++m)
            if (E[m] > E[top]) top = m;
        /* the top image climbs once the band has settled, and only when it is above both ends
           and not next to one (there the tangent is poor, and a path with a lower state on it
           has no single saddle) */
        may_climb = climb && E[top] > E[0] && E[top] > E[nimages + 1] && top != 1 && top != nimages;
        was = climbing ? climbing_top : 0;
        if (!may_climb) climbing = 0;
        else if (f2prev < 0.01) climbing = 1;
        climbing_top = top;
        /* the forces jump where climbing starts, stops or moves to another image: FIRE starts
           again from rest, else the band keeps velocities of the old forces (and can run away) */
        if ((climbing ? top : 0) != was) sp__fire_init(&fire);
        for (m = 1; m <= nimages; ++m) {
            double f2;
            sp__neb_force(path + (size_t)(m - 1) * n3, path + (size_t)m * n3, path + (size_t)(m + 1) * n3, E[m - 1], E[m],
                          E[m + 1], F + (size_t)(m - 1) * n3, tau, n3, k, climbing && m == top);
            f2 = sp__max_force2(F + (size_t)(m - 1) * n3, n3);
            if (!(f2 <= f2max)) f2max = f2;
        }
        f2prev = f2max;
        if (f2max <= ftol * ftol && (climbing || !may_climb)) break;
        if (!(f2max < HUGE_VAL)) {
            r = sp__fail(diag, SP_ERR_NOT_FINITE, 0, "non-finite force in the band");
            break;
        }
        if (step + 1 >= maxs) {
            r = sp__fail(diag, SP_ERR_NO_CONVERGENCE, 0, "NEB not converged in %d steps (largest force %.3g eV/A)", maxs,
                         sqrt(f2max));
            break;
        }
        sp__fire_step(&fire, path + n3, v, F, nm, maxmove, 1);
    }
    if (r == SP_OK && out_energies) memcpy(out_energies, E, ((size_t)nimages + 2) * sizeof(double));
    if (out_steps) *out_steps = step + 1;
    for (m = 0; m < nimages; ++m) sp__calc_free(calc + m);
    sp__free(&pot->allocator, mem);
    return r;
}

/* A first-order saddle point near x (natoms atoms) by the dimer method
   (Henkelman & Jonsson 1999): the lowest-curvature mode is found from
   mode (3 natoms numbers, any length) by Rayleigh-Ritz rotations in the
   plane of the mode and its rotational force (Hessian products by forward
   differences of the forces, 1e-3 A), and the point moved by FIRE along the
   force with its component along the mode reversed (only that component,
   uphill, while the curvature is positive). Converged when every atom's
   force is at most fmax with negative curvature; x and mode (unit) are
   updated, *energy is the saddle's, *steps counts force evaluations.
   Errors: SP_ERR_NO_CONVERGENCE, those of sp_pot_compute. */
static sp_result_t sp__dimer(const sp_pot_t *pot, int natoms, const int *type, const sp_cell_t *cell, double *x,
                             double *mode, double fmax, int max_steps, double *energy, int *steps, sp_diag_t *diag) {
    const double dr = 1e-3;
    const size_t n3 = 3 * (size_t)natoms;
    double *mem = (double *)sp__alloc(&pot->allocator, 8 * n3 * sizeof(double)), *F0, *F1, *HN, *T, *HT, *y, *v, *fe;
    double e1, curv, f2 = HUGE_VAL;
    sp__calc_t calc;
    sp__fire_t fire;
    sp_result_t r = SP_OK;
    size_t q;
    int step, rot;
    if (!mem) return sp__fail(diag, SP_ERR_NO_MEMORY, 0, "out of memory");
    F0 = mem; F1 = F0 + n3; HN = F1 + n3; T = HN + n3; HT = T + n3; y = HT + n3; v = y + n3; fe = v + n3;
    memset(v, 0, n3 * sizeof(double));
    sp__calc_init(&calc, pot, cell, type, natoms, 1.0);
    sp__fire_init(&fire);
    {
        double nn = 0.0;
        for (q = 0; q < n3; ++q) nn += mode[q] * mode[q];
        nn = nn > 0.0 ? 1.0 / sqrt(nn) : 0.0;
        for (q = 0; q < n3; ++q) mode[q] *= nn;
    }
    for (step = 0; step < max_steps; ++step) {
        double fn = 0.0;
        if ((r = sp__calc(&calc, x, F0, energy, NULL, diag)) != SP_OK) break;
        ++*steps;
        /* H N from the forces at x + dr N */
        for (q = 0; q < n3; ++q) y[q] = x[q] + dr * mode[q];
        if ((r = sp__calc(&calc, y, F1, &e1, NULL, diag)) != SP_OK) break;
        ++*steps;
        for (q = 0; q < n3; ++q) HN[q] = (F0[q] - F1[q]) / dr;
        for (rot = 0; rot < 4; ++rot) {
            double c = 0.0, tt = 0.0, a11, a12, a22, phi, cs, sn;
            for (q = 0; q < n3; ++q) c += mode[q] * HN[q];
            for (q = 0; q < n3; ++q) {
                T[q] = HN[q] - c * mode[q];
                tt += T[q] * T[q];
            }
            if (!(sqrt(tt) > 1e-3 * (fabs(c) + 1e-3))) break;
            tt = 1.0 / sqrt(tt);
            for (q = 0; q < n3; ++q) {
                T[q] *= tt;
                y[q] = x[q] + dr * T[q];
            }
            if ((r = sp__calc(&calc, y, F1, &e1, NULL, diag)) != SP_OK) break;
            ++*steps;
            a11 = c;
            a12 = a22 = 0.0;
            for (q = 0; q < n3; ++q) {
                HT[q] = (F0[q] - F1[q]) / dr;
                a12 += mode[q] * HT[q];
                a22 += T[q] * HT[q];
            }
            /* the lower eigenvector (cos phi, sin phi) of [[a11, a12], [a12, a22]] */
            phi = 0.5 * atan2(2.0 * a12, a11 - a22);
            cs = cos(phi);
            sn = sin(phi);
            if (a11 * cs * cs + 2.0 * a12 * cs * sn + a22 * sn * sn > a11 * sn * sn - 2.0 * a12 * cs * sn + a22 * cs * cs) {
                const double t = cs;
                cs = -sn;
                sn = t;
            }
            for (q = 0; q < n3; ++q) {
                mode[q] = cs * mode[q] + sn * T[q];
                HN[q] = cs * HN[q] + sn * HT[q];
            }
            if (fabs(sn) < 1e-3) break;
        }
        if (r != SP_OK) break;
        {
            double c = 0.0, fN = 0.0;
            for (q = 0; q < n3; ++q) {
                c += mode[q] * HN[q];
                fN += F0[q] * mode[q];
            }
            curv = c;
            for (q = 0; q < n3; ++q) fe[q] = c < 0.0 ? F0[q] - 2.0 * fN * mode[q] : -fN * mode[q];
        }
        f2 = sp__max_force2(F0, n3);
        if (f2 <= fmax * fmax && curv < 0.0) break;
        for (q = 0; q < n3; ++q) fn += fe[q] * fe[q];
        if (!(fn < HUGE_VAL)) {
            r = sp__fail(diag, SP_ERR_NOT_FINITE, 0, "non-finite force in the saddle search");
            break;
        }
        sp__fire_step(&fire, x, v, fe, n3, 0.05, 0);
    }
    if (r == SP_OK && step == max_steps)
        r = sp__fail(diag, SP_ERR_NO_CONVERGENCE, 0, "saddle search not converged in %d steps (largest force %.3g eV/A)",
                     max_steps, sqrt(f2));
    sp__calc_free(&calc);
    sp__free(&pot->allocator, mem);
    return r;
}

/* Atoms of a conventional cell, and the nearest-neighbour distance / a. */
static int sp__lattice_basis(sp_lattice_t lattice, const double **basis, double *nn) {
    static const double b[8][3] = {{0, 0, 0},       {0, .5, .5},     {.5, 0, .5},     {.5, .5, 0},
                                   {.25, .25, .25}, {.25, .75, .75}, {.75, .25, .75}, {.75, .75, .25}};
    static const double bcc[2][3] = {{0, 0, 0}, {.5, .5, .5}};
    *basis = &b[0][0];
    switch (lattice) {
    case SP_LATTICE_SC: *nn = 1.0; return 1;
    case SP_LATTICE_BCC: *basis = &bcc[0][0]; *nn = 0.8660254037844386; return 2;
    case SP_LATTICE_FCC: *nn = 0.7071067811865476; return 4;
    case SP_LATTICE_DIAMOND: *nn = 0.4330127018922193; return 8;
    default: return 0;
    }
}

/* Atoms of n[0] x n[1] x n[2] cells of nb atoms at fractions basis of the
   orthogonal cell of sides L; the count (0 for a bad size) and, when pos
   and cell are not NULL, the atoms and the periodic cell. */
static int sp__ortho_cells(const double *L, const double *basis, int nb, const int *n, double *pos, sp_cell_t *cell) {
    int x, y, z, k, m = 0;
    if (n[0] < 1 || n[1] < 1 || n[2] < 1 || n[0] > 1000 || n[1] > 1000 || n[2] > 1000 ||
        (size_t)nb * n[0] * n[1] * n[2] > (size_t)100000000)
        return 0;
    if (!pos || !cell) return nb * n[0] * n[1] * n[2];
    memset(cell, 0, sizeof *cell);
    cell->h[0] = n[0] * L[0];
    cell->h[4] = n[1] * L[1];
    cell->h[8] = n[2] * L[2];
    cell->pbc[0] = cell->pbc[1] = cell->pbc[2] = 1;
    for (x = 0; x < n[0]; ++x)
        for (y = 0; y < n[1]; ++y)
            for (z = 0; z < n[2]; ++z)
                for (k = 0; k < nb; ++k, ++m) {
                    pos[3 * m] = (x + basis[3 * k]) * L[0];
                    pos[3 * m + 1] = (y + basis[3 * k + 1]) * L[1];
                    pos[3 * m + 2] = (z + basis[3 * k + 2]) * L[2];
                }
    return m;
}

SP_API int sp_lattice_cell(sp_lattice_t lattice, double a, int n, double *pos, sp_cell_t *cell) {
    const int ns[3] = {n, n, n};
    return lattice == SP_LATTICE_HCP ? 0 : sp_lattice_cells(lattice, a, 0.0, ns, pos, cell);
}

/* hcp in its orthorhombic cell (a, a sqrt 3, c): A plane at z = 0, B at c/2 */
static const double sp__hcp_basis[4][3] = {{0, 0, 0}, {.5, .5, 0}, {.5, 1.0 / 6.0, .5}, {0, 2.0 / 3.0, .5}};

SP_API int sp_hcp_cell(double a, double c, const int *n, double *pos, sp_cell_t *cell) {
    return sp_lattice_cells(SP_LATTICE_HCP, a, c, n, pos, cell);
}

SP_API int sp_lattice_cells(sp_lattice_t lattice, double a, double c, const int *n, double *pos, sp_cell_t *cell) {
    const double L[3] = {a, lattice == SP_LATTICE_HCP ? a * 1.7320508075688772 : a, lattice == SP_LATTICE_HCP ? c : a};
    const double *basis = &sp__hcp_basis[0][0];
    double nn;
    const int nb = lattice == SP_LATTICE_HCP ? 4 : sp__lattice_basis(lattice, &basis, &nn);
    if (!n || nb == 0 || !(a > 0.0 && a < 1e6 && L[2] > 0.0 && L[2] < 1e6)) return 0;
    return sp__ortho_cells(L, basis, nb, n, pos, cell);
}

/* (Re)allocates positions and types of n atoms of one type; 0 when out of memory. */
static int sp__props_alloc(const sp_pot_t *pot, int type, int n, double **pos, int **types) {
    int i;
    sp__free(&pot->allocator, *pos);
    sp__free(&pot->allocator, *types);
    *pos = (double *)sp__alloc(&pot->allocator, 3 * (size_t)n * sizeof(double));
    *types = (int *)sp__alloc(&pot->allocator, (size_t)n * sizeof(int));
    if (!*pos || !*types) return 0;
    for (i = 0; i < n; ++i) (*types)[i] = type;
    return 1;
}

/* A perfect one-element crystal as a function of its lattice constant a:
   cubic (lattice) or hcp (lattice 0, c = c_a a), one cell. */
typedef struct sp__xtal_t {
    sp_lattice_t lattice;
    double c_a;
    double dzx; /* hcp, set by sp__xtal_ep: (W_zz - (W_xx + W_yy) / 2) / V, > 0 when c is too short */
} sp__xtal_t;

/* Energy per atom and pressure (trace W / 3V, positive under compression)
   of the crystal X at lattice constant a; pos holds its atoms (<= 8). */
static sp_result_t sp__xtal_ep(const sp_pot_t *pot, const int *type, sp__xtal_t *X, double a, double *pos, double *e,
                               double *p, sp_diag_t *diag) {
    static const int one[3] = {1, 1, 1};
    sp_cell_t cell;
    double W[9], vol;
    const int n = X->lattice ? sp_lattice_cell(X->lattice, a, 1, pos, &cell) : sp_hcp_cell(a, X->c_a * a, one, pos, &cell);
    const sp_result_t r = sp_pot_compute_once(pot, n, pos, type, cell.h, cell.pbc, e, NULL, NULL, W, diag);
    if (r != SP_OK) return r;
    vol = cell.h[0] * cell.h[4] * cell.h[8];
    *e /= n;
    *p = (W[0] + W[4] + W[8]) / (3.0 * vol);
    X->dzx = (W[8] - 0.5 * (W[0] + W[4])) / vol;
    return SP_OK;
}

/* The zero of the pressure of X by bisection, from a bracket grown around amin. */
static sp_result_t sp__xtal_a0(const sp_pot_t *pot, const int *types, sp__xtal_t *X, double amin, double *pos, double *a0,
                               sp_diag_t *diag) {
    double lo = 0.99 * amin, hi = 1.01 * amin, plo, phi, e, p, a;
    sp_result_t r;
    int k;
    if ((r = sp__xtal_ep(pot, types, X, lo, pos, &e, &plo, diag)) != SP_OK) return r;
    if ((r = sp__xtal_ep(pot, types, X, hi, pos, &e, &phi, diag)) != SP_OK) return r;
    for (k = 0; k < 40 && !(plo > 0.0 && phi < 0.0); ++k) {
        if (!(plo > 0.0)) {
            lo *= 0.98;
            r = sp__xtal_ep(pot, types, X, lo, pos, &e, &plo, diag);
        } else {
            hi *= 1.02;
            r = sp__xtal_ep(pot, types, X, hi, pos, &e, &phi, diag);
        }
        if (r != SP_OK) return r;
    }
    if (!(plo > 0.0 && phi < 0.0))
        return sp__fail(diag, SP_ERR_NO_CONVERGENCE, 0, "no zero of the pressure near a = %.4f A", amin);
    for (k = 0; k < 200 && hi - lo > 1e-13 * hi; ++k) {
        a = 0.5 * (lo + hi);
        if ((r = sp__xtal_ep(pot, types, X, a, pos, &e, &p, diag)) != SP_OK) return r;
        if (p > 0.0) lo = a;
        else if (p < 0.0) hi = a;
        else lo = hi = a;
    }
    *a0 = 0.5 * (lo + hi);
    return SP_OK;
}

/* The lattice constant of lowest energy per atom on a scan of nearest-
   neighbour distances 1.5 A .. 0.95 cutoff (nn: that distance / a). */
static sp_result_t sp__xtal_scan(const sp_pot_t *pot, const int *types, sp__xtal_t *X, double nn, double *pos, double *amin,
                                 sp_diag_t *diag) {
    const double d1 = 0.95 * pot->cutoff;
    double e, p, emin = HUGE_VAL;
    int k, kmin = -1, nk = (int)((d1 - 1.5) / 0.01);
    sp_result_t r = SP_OK;
    for (k = 0; k <= nk && r == SP_OK; ++k) {
        r = sp__xtal_ep(pot, types, X, (1.5 + 0.01 * k) / nn, pos, &e, &p, diag);
        if (r == SP_OK && e < emin) {
            emin = e;
            kmin = k;
        }
    }
    if (r != SP_OK) return r;
    if (kmin <= 0 || kmin >= nk)
        return sp__fail(diag, SP_ERR_NO_CONVERGENCE, 0,
                        "no energy minimum between nearest-neighbour distances 1.5 and %.2f A (give a guess)", d1);
    *amin = (1.5 + 0.01 * kmin) / nn;
    return SP_OK;
}

/* Birch-Murnaghan fit to the energies at volumes v0 (1 + k range / 5),
   k = -5..5, the crystal scaled uniformly from a0; eos[5] as sp_eos_fit. */
static sp_result_t sp__xtal_eos(const sp_pot_t *pot, const int *types, sp__xtal_t *X, double a0, double v0, double range,
                                double *pos, double *eos, sp_diag_t *diag) {
    double V[11], E[11], p;
    sp_result_t r;
    int k;
    for (k = 0; k < 11; ++k) {
        const double s = 1.0 + (k - 5) * range / 5.0;
        V[k] = v0 * s;
        if ((r = sp__xtal_ep(pot, types, X, a0 * cbrt(s), pos, &E[k], &p, diag)) != SP_OK) return r;
    }
    r = sp_eos_fit(11, V, E, eos);
    return r == SP_OK ? r : sp__fail(diag, r, 0, "equation of state: %s", sp_result_str(r));
}

/* Relaxed- (c) and clamped-ion (cc) 6x6 tensors (GPa) of the n-atom cell:
   the relaxation tightened to 1e-7 of the forces a strain brings (of order
   10 eV/A^2 x strain x a, and never looser than asked), so that the
   relaxed constants are good to about 1e-7. */
static sp_result_t sp__xtal_elastic(const sp_pot_t *pot, int n, const double *pos, const int *types, const sp_cell_t *cell,
                                    double strain, double a, const sp_relax_opts_t *relax, double *c, double *cc, int *steps,
                                    sp_diag_t *diag) {
    sp_relax_opts_t re = *relax;
    const double ftight = 1e-6 * strain * a;
    sp_result_t r;
    int k;
    if ((r = sp__elastic(pot, n, pos, types, cell, strain, NULL, cc, steps, diag)) != SP_OK) return r;
    if (!(re.fmax > 0.0 && re.fmax < ftight)) re.fmax = ftight;
    if ((r = sp__elastic(pot, n, pos, types, cell, strain, &re, c, steps, diag)) != SP_OK) return r;
    for (k = 0; k < 36; ++k) {
        c[k] *= SP_EV_A3_TO_GPA;
        cc[k] *= SP_EV_A3_TO_GPA;
    }
    return SP_OK;
}

/* Surfaces (100), (110), (111): orthogonal cells of the cubic lattice whose
   third vector is the normal (rows, in units of a). */
static const int sp__surf_dirs[3][9] = {
    {1, 0, 0, 0, 1, 0, 0, 0, 1}, {1, -1, 0, 0, 0, 1, 1, 1, 0}, {1, -1, 0, 1, 1, -2, 1, 1, 1}};

/* One period of the cubic surface s: the rows v, the atoms p (Cartesian)
   with fractions in [0, 1) along the rows, f3 their fraction along the
   normal; returns their number (up to 48). */
static int sp__cubic_period(sp_lattice_t lattice, double a, int s, double *v, double *p, double *f3) {
    const int *D = sp__surf_dirs[s];
    const double *basis;
    double nn;
    const int nb = sp__lattice_basis(lattice, &basis, &nn), nper = nb * (s == 0 ? 1 : s == 1 ? 2 : 6);
    int x, y, z, b, d, np = 0;
    for (d = 0; d < 9; ++d) v[d] = D[d] * a;
    for (x = -3; x <= 3; ++x)
        for (y = -3; y <= 3; ++y)
            for (z = -3; z <= 3; ++z)
                for (b = 0; b < nb; ++b) {
                    const double q[3] = {x + basis[3 * b], y + basis[3 * b + 1], z + basis[3 * b + 2]};
                    double f[3];
                    for (d = 0; d < 3; ++d) {
                        const int *row = D + 3 * d;
                        f[d] = (q[0] * row[0] + q[1] * row[1] + q[2] * row[2]) /
                               (double)(row[0] * row[0] + row[1] * row[1] + row[2] * row[2]);
                    }
                    if (f[0] < -1e-9 || f[0] >= 1.0 - 1e-9 || f[1] < -1e-9 || f[1] >= 1.0 - 1e-9 || f[2] < -1e-9 ||
                        f[2] >= 1.0 - 1e-9 || np == nper)
                        continue;
                    for (d = 0; d < 3; ++d) p[3 * np + d] = q[d] * a;
                    f3[np++] = f[2] < 0.0 ? 0.0 : f[2];
                }
    return np == nper ? np : 0;
}

/* The same for hcp (a, c) and its orthorhombic cell (x along a, y along
   a sqrt 3, z along c): the basal plane (0001) (s = 0, normal z) and the
   prism plane (10-10) (s = 1, normal y, rows c and a in the plane). */
static int sp__hcp_period(double a, double c, int s, double *v, double *p, double *f3) {
    const double L[3] = {a, a * 1.7320508075688772, c};
    const int ax = s == 0 ? 2 : 1;
    int i, d;
    memset(v, 0, 9 * sizeof(double));
    for (i = 0; i < 3; ++i) v[3 * i + (ax + 1 + i) % 3] = L[(ax + 1 + i) % 3];
    for (i = 0; i < 4; ++i) {
        for (d = 0; d < 3; ++d) p[3 * i + d] = sp__hcp_basis[i][d] * L[d];
        f3[i] = sp__hcp_basis[i][ax];
    }
    return 4;
}

/* The slab of the period (v, p, f3 of nper atoms), periods thick, cut at
   fraction cut of a period along the normal: atoms into pos, cell open
   along the normal. */
static void sp__slab(const double *v, const double *p, const double *f3, int nper, int periods, double cut, double *pos,
                     sp_cell_t *cell) {
    int i, j, d, m = 0;
    for (j = 0; j < periods; ++j)
        for (i = 0; i < nper; ++i, ++m) {
            double g = f3[i] - cut;
            g -= floor(g);
            for (d = 0; d < 3; ++d) pos[3 * m + d] = p[3 * i + d] + (g - f3[i] + j) * v[6 + d];
        }
    memset(cell, 0, sizeof *cell);
    for (d = 0; d < 6; ++d) cell->h[d] = v[d];
    for (d = 0; d < 3; ++d) cell->h[6 + d] = periods * v[6 + d];
    cell->pbc[0] = cell->pbc[1] = 1;
}

/* The slab of the period (v, p, f3 of nper atoms; see sp__slab), periods
   thick, cut half-way between the atomic planes where its energy is lowest:
   atoms into pos (types their types), its cell and energy *e. */
static sp_result_t sp__slab_best(const sp_pot_t *pot, const double *v, const double *p, const double *f3, int nper,
                                 int periods, double *pos, const int *types, sp_cell_t *cell, double *e, sp_diag_t *diag) {
    double planes[48], cbest = 0.0, ek = 0.0;
    int k, d, npl = 0;
    sp_result_t r;
    /* atomic planes along the normal (sorted, distinct) */
    for (k = 0; k < nper; ++k) {
        int q = npl;
        for (d = 0; d < npl; ++d)
            if (fabs(planes[d] - f3[k]) < 1e-9) q = -1;
        if (q < 0) continue;
        while (q > 0 && planes[q - 1] > f3[k]) {
            planes[q] = planes[q - 1];
            --q;
        }
        planes[q] = f3[k];
        ++npl;
    }
    *e = HUGE_VAL;
    for (k = 0; k < npl; ++k) {
        const double cut = 0.5 * (planes[k] + (k + 1 < npl ? planes[k + 1] : planes[0] + 1.0));
        sp__slab(v, p, f3, nper, periods, cut, pos, cell);
        r = sp_pot_compute_once(pot, nper * periods, pos, types, cell->h, cell->pbc, &ek, NULL, NULL, NULL, diag);
        if (r != SP_OK) return r;
        if (ek < *e) {
            *e = ek;
            cbest = cut;
        }
    }
    sp__slab(v, p, f3, nper, periods, cbest, pos, cell);
    return SP_OK;
}

/* Unrelaxed and relaxed energies (J/m^2) of the surface normal to the
   third row of the orthogonal period (v, p, f3 of nper atoms; see
   sp__slab): slabs periods thick (0: at least 3 cutoffs), of the cuts
   half-way between atomic planes the one of lowest unrelaxed energy, then
   relaxed. *pos, *types regrown for the slab, *nslab its atoms. */
static sp_result_t sp__surface(const sp_pot_t *pot, int type, const double *v, const double *p, const double *f3,
                               int nper, double e0, int periods, const sp_relax_opts_t *relax, double **pos, int **types,
                               int *steps, double *g_unrel, double *g_rel, int *nslab, sp_diag_t *diag) {
    const double area = sqrt((v[0] * v[0] + v[1] * v[1] + v[2] * v[2]) * (v[3] * v[3] + v[4] * v[4] + v[5] * v[5]));
    const double thick = sqrt(v[6] * v[6] + v[7] * v[7] + v[8] * v[8]);
    double best, e;
    int n;
    sp_cell_t cell;
    sp_result_t r;
    if (periods <= 0)
        for (periods = 2; periods * thick < 3.0 * pot->cutoff;) ++periods;
    n = nper * periods;
    if (nper < 1 || !sp__props_alloc(pot, type, n, pos, types))
        return sp__fail(diag, nper < 1 ? SP_ERR_RANGE : SP_ERR_NO_MEMORY, 0, nper < 1 ? "internal: surface cell" : "out of memory");
    if ((r = sp__slab_best(pot, v, p, f3, nper, periods, *pos, *types, &cell, &best, diag)) != SP_OK) return r;
    r = sp__relax(pot, n, *pos, *types, &cell, relax, &e, NULL, steps, diag);
    if (r != SP_OK) return r;
    *g_unrel = (best - n * e0) / (2.0 * area) * SP_EV_A2_TO_JM2;
    *g_rel = (e - n * e0) / (2.0 * area) * SP_EV_A2_TO_JM2;
    *nslab = n;
    return SP_OK;
}

/* Displaces n atoms by up to amp along each axis, a fixed pattern (seed). */
static void sp__jitter(double *x, int n, double amp, uint64_t seed) {
    size_t q;
    for (q = 0; q < 3 * (size_t)n; ++q) {
        uint64_t z = seed + 0x9E3779B97F4A7C15ULL * (q + 1);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        z ^= z >> 31;
        x[q] += amp * ((double)(z >> 11) * (2.0 / 9007199254740992.0) - 1.0);
    }
}

/* The atom (1..n-1) of pos nearest the point x (the first of equals). */
static int sp__nearest(const double *pos, int n, const double *x) {
    double dmin = HUGE_VAL;
    int i, j = 1;
    for (i = 1; i < n; ++i) {
        const double *y = pos + 3 * (size_t)i;
        const double d2 = (y[0] - x[0]) * (y[0] - x[0]) + (y[1] - x[1]) * (y[1] - x[1]) + (y[2] - x[2]) * (y[2] - x[2]);
        if (d2 < dmin - 1e-9) {
            dmin = d2;
            j = i;
        }
    }
    return j;
}

/* v less the lattice vector (of the periodic cell h, inverse g) nearest it. */
static void sp__wrap_near(const double *h, const double *g, double *v) {
    double f[3];
    int d;
    for (d = 0; d < 3; ++d) f[d] = floor(v[0] * g[d] + v[1] * g[3 + d] + v[2] * g[6 + d] + 0.5);
    for (d = 0; d < 3; ++d) v[d] -= f[0] * h[d] + f[1] * h[3 + d] + f[2] * h[6 + d];
}

/* A symmetry of a hop of the vacancy from site 0 (at the origin) of the
   perfect crystal pos (n sites, periodic cell h, inverse g) to site hp:
   the translation by x_hp (Bravais lattices, hcp in the basal plane), else
   the inversion through x_hp / 2 (diamond, hcp across the planes). map[u]:
   the site that site u goes to. Returns 1 (translation), 2 (inversion), or
   0 when neither maps every site onto a site. */
static int sp__vac_op(const double *pos, int n, const double *h, const double *g, int hp, int *map) {
    const double *d = pos + 3 * (size_t)hp;
    int kind, u, w, c;
    for (kind = 1; kind <= 2; ++kind) {
        for (u = 0; u < n; ++u) {
            for (w = 0; w < n; ++w) {
                double v[3];
                for (c = 0; c < 3; ++c) v[c] = (kind == 1 ? pos[3 * u + c] + d[c] : d[c] - pos[3 * u + c]) - pos[3 * w + c];
                sp__wrap_near(h, g, v);
                if (v[0] * v[0] + v[1] * v[1] + v[2] * v[2] < 1e-12) break;
            }
            if (w == n) break;
            map[u] = w;
        }
        if (u == n) return kind;
    }
    return 0;
}

/* Moves a configuration of the vacancy (atoms 1..n-1 at X + 3 (L - 1),
   unwrapped near their sites) by the hop's symmetry (kind, map; forward:
   vacancy on site 0 to vacancy on site hp, with atom hp on site 0;
   backward: the reverse) into Y, near the sites of the result. */
static void sp__vac_move(const double *pos, int n, const double *h, const double *g, int hp, int kind, const int *map,
                         int forward, const double *X, double *Y) {
    const double *d = pos + 3 * (size_t)hp;
    int u, c;
    for (u = 0; u < n; ++u) {
        /* site u of the start holds atom u (none on 0); site map[u] of the end holds atom map[u] (hp on 0) */
        const int t = map[u], lt = t == 0 ? hp : t, src = forward ? u : lt, dst = forward ? lt : u;
        const int site = forward ? t : u;
        const double *x = X + 3 * (size_t)(src - 1);
        double v[3];
        if (u == 0) continue;
        for (c = 0; c < 3; ++c) {
            const double y = forward ? (kind == 1 ? x[c] + d[c] : d[c] - x[c]) : (kind == 1 ? x[c] - d[c] : d[c] - x[c]);
            v[c] = y - pos[3 * (size_t)site + c];
        }
        sp__wrap_near(h, g, v);
        for (c = 0; c < 3; ++c) Y[3 * (size_t)(dst - 1) + c] = pos[3 * (size_t)site + c] + v[c];
    }
}

/* Whether each atom L of X (1..n-1) lies within tol of its site, the atom
   hp of site 0 when end. */
static int sp__vac_on_sites(const double *pos, int n, const double *h, const double *g, int hp, int end, const double *X,
                            double tol) {
    int L, c;
    for (L = 1; L < n; ++L) {
        const double *x = pos + 3 * (size_t)(end && L == hp ? 0 : L);
        double v[3];
        for (c = 0; c < 3; ++c) v[c] = X[3 * (size_t)(L - 1) + c] - x[c];
        sp__wrap_near(h, g, v);
        if (v[0] * v[0] + v[1] * v[1] + v[2] * v[2] > tol * tol) return 0;
    }
    return 1;
}

/* The saddle of a hop whose band (path, energies E; 5 images) did not
   converge: the dimer method from the band's highest inner image along its
   tangent, taken when the saddle, pushed 0.05 A either way along its mode
   and relaxed, falls to the vacancy on site 0 on one side and on site hp
   on the other (atoms within tol of the sites). Its energy into *e_saddle.
   SP_ERR_NO_CONVERGENCE when no such saddle is found. */
static sp_result_t sp__vac_saddle(const sp_pot_t *pot, int n, const double *pos, const int *types, const sp_cell_t *cell,
                                  const double *g, const sp_relax_opts_t *relax, const sp_neb_opts_t *neb, int hp,
                                  double tol, const double *path, const double *E, double *e_saddle, int *steps,
                                  sp_diag_t *diag) {
    const size_t n3 = 3 * (size_t)(n - 1);
    const double fmax = neb && neb->fmax > 0.0 ? neb->fmax : 1e-3;
    double *x = (double *)sp__alloc(&pot->allocator, 4 * n3 * sizeof(double)), *md, *s[2], e;
    sp_result_t r;
    size_t q;
    int top = 1, m, side[2] = {0, 0};
    if (!x) return sp__fail(diag, SP_ERR_NO_MEMORY, 0, "out of memory");
    md = x + n3;
    s[0] = md + n3;
    s[1] = s[0] + n3;
    for (m = 2; m <= 5; ++m)
        if (E[m] > E[top]) top = m;
    memcpy(x, path + top * n3, n3 * sizeof(double));
    for (q = 0; q < n3; ++q) md[q] = path[(top + 1) * n3 + q] - path[(top - 1) * n3 + q];
    r = sp__dimer(pot, n - 1, types, cell, x, md, fmax, 2000, e_saddle, steps, diag);
    for (m = 0; m < 2 && r == SP_OK; ++m) {
        for (q = 0; q < n3; ++q) s[m][q] = x[q] + (m ? -0.05 : 0.05) * md[q];
        r = sp__relax(pot, n - 1, s[m], types, cell, relax, &e, NULL, steps, diag);
        side[m] = sp__vac_on_sites(pos, n, cell->h, g, hp, 0, s[m], tol) ? 1
                  : sp__vac_on_sites(pos, n, cell->h, g, hp, 1, s[m], tol) ? 2 : 0;
    }
    if (r == SP_OK && !(side[0] && side[1] && side[0] != side[1]))
        r = sp__fail(diag, SP_ERR_NO_CONVERGENCE, 0, "the saddle found does not join the two sites");
    sp__free(&pot->allocator, x);
    return r;
}

/* The vacancy at the origin of the perfect cell pos (n atoms, the first at
   the origin): its relaxed energy, and for each of the nhop atoms hop[k]
   (1..n-1) its jump into the vacancy (sp_neb, 5 images, between the relaxed
   vacancy and its image under a symmetry of the hop, so the two ends are
   equivalent minima): em[k] the highest image, em_low[k] the lowest, less
   the relaxed vacancy. When a band passes a lower state, that state is
   relaxed; one with the vacancy on either site replaces the relaxed
   vacancy and the hops are done again (the vacancy relaxed from the
   displaced sites can be a shallow minimum above the lowest one). */
static sp_result_t sp__vacancy(const sp_pot_t *pot, int n, const double *pos, const int *types, const sp_cell_t *cell,
                               const sp_relax_opts_t *relax, const sp_neb_opts_t *neb, double jitter, int nhop,
                               const int *hop, double *e_vac, double *em, double *em_low, int *em_converged, int *steps,
                               sp_diag_t *diag) {
    const size_t n3 = 3 * (size_t)(n - 1);
    double *start = (double *)sp__alloc(&pot->allocator, 8 * n3 * sizeof(double) + (size_t)n * sizeof(int)), *path;
    double E[7], g[9];
    int *map, k, m, ns = 0, kind, lowered = 0;
    size_t q;
    sp_result_t r;
    if (!start) return sp__fail(diag, SP_ERR_NO_MEMORY, 0, "out of memory");
    path = start + n3;
    map = (int *)(void *)(path + 7 * n3);
    sp__inv3(cell->h, sp__det3(cell->h), g);
    memcpy(start, pos + 3, n3 * sizeof(double));
    if (jitter > 0.0) sp__jitter(start, n - 1, jitter, 1);
    r = sp__relax(pot, n - 1, start, types, cell, relax, e_vac, NULL, steps, diag);
    for (k = 0; k < nhop && r == SP_OK; ++k) {
        const double tol = 0.3 * sqrt(pos[3 * hop[k]] * pos[3 * hop[k]] + pos[3 * hop[k] + 1] * pos[3 * hop[k] + 1] +
                                      pos[3 * hop[k] + 2] * pos[3 * hop[k] + 2]);
        double elow;
        int low = 1;
        if (!(kind = sp__vac_op(pos, n, cell->h, g, hop[k], map))) {
            r = sp__fail(diag, SP_ERR_RANGE, 0, "internal: no symmetry of the crystal takes the vacancy to atom %d",
                         hop[k] + 1);
            break;
        }
        memcpy(path, start, n3 * sizeof(double));
        sp__vac_move(pos, n, cell->h, g, hop[k], kind, map, 1, start, path + 6 * n3);
        for (m = 1; m < 6; ++m)
            for (q = 0; q < n3; ++q) path[m * n3 + q] = path[q] + m / 6.0 * (path[6 * n3 + q] - path[q]);
        r = sp_neb(pot, n - 1, types, cell, 5, path, neb, E, &ns, diag);
        *steps += 5 * ns;
        em_converged[k] = r == SP_OK;
        if (r == SP_ERR_NO_CONVERGENCE) r = sp__neb_energies(pot, n - 1, types, cell, 5, path, E, diag);
        if (r != SP_OK) break;
        em[k] = em_low[k] = E[1] - E[0];
        for (m = 2; m < 6; ++m) {
            if (E[m] - E[0] > em[k]) em[k] = E[m] - E[0];
            if (E[m] - E[0] < em_low[k]) {
                em_low[k] = E[m] - E[0];
                low = m;
            }
        }
        if (em_low[k] > -1e-4 || lowered >= 4) {
            double es;
            if (!em_converged[k] &&
                (r = sp__vac_saddle(pot, n, pos, types, cell, g, relax, neb, hop[k], tol, path, E, &es, steps, diag)) == SP_OK) {
                em[k] = es - *e_vac;
                em_converged[k] = 2;
            }
            if (r == SP_ERR_NO_CONVERGENCE) r = SP_OK;
            continue;
        }
        /* a lower state: relaxed, and taken for the vacancy when it has one on either site */
        r = sp__relax(pot, n - 1, path + low * n3, types, cell, relax, &elow, NULL, steps, diag);
        if (r == SP_ERR_NO_CONVERGENCE) { /* no minimum reached from it: nothing to take */
            r = SP_OK;
            continue;
        }
        if (r != SP_OK || !(elow < *e_vac - 1e-6)) continue;
        if (sp__vac_on_sites(pos, n, cell->h, g, hop[k], 0, path + low * n3, tol))
            memcpy(start, path + low * n3, n3 * sizeof(double));
        else if (sp__vac_on_sites(pos, n, cell->h, g, hop[k], 1, path + low * n3, tol))
            sp__vac_move(pos, n, cell->h, g, hop[k], kind, map, 0, path + low * n3, start);
        else continue;
        *e_vac = elow;
        ++lowered;
        k = -1;
    }
    sp__free(&pot->allocator, start);
    return r;
}

/* Checks of the arguments shared by sp_cubic_props and sp_hcp_props. */
static sp_result_t sp__props_check(const sp_pot_t *pot, int type, const sp_props_opts_t *opts, sp_diag_t *diag) {
    if (type < 0 || type >= pot->nelem) return sp__fail(diag, SP_ERR_UNKNOWN_ELEMENT, 0, "no element %d", type);
    if (opts && (!(opts->a_guess >= 0.0 && opts->a_guess < 1e3) || !(opts->strain >= 0.0 && opts->strain < 0.1) ||
                 !(opts->eos_range >= 0.0 && opts->eos_range < 0.5) || !(opts->jitter < 0.5) ||
                 !(opts->c_a_guess == 0.0 || (opts->c_a_guess >= 1.0 && opts->c_a_guess <= 2.5)) ||
                 opts->vacancy_size > 20 || opts->slab_periods > 50))
        return sp__fail(diag, SP_ERR_BAD_ARG, 0, "property options out of range");
    return SP_OK;
}

SP_API sp_result_t sp_cubic_props(const sp_pot_t *pot, int type, sp_lattice_t lattice, const sp_props_opts_t *opts,
                                  sp_cubic_props_t *out, sp_diag_t *diag) {
    const double *basis;
    double nn = 1.0, a, p, eos[5], Cc[36], amin = 0.0;
    const int nb = sp__lattice_basis(lattice, &basis, &nn);
    const double strain = opts && opts->strain > 0.0 ? opts->strain : 1e-5;
    const double range = opts && opts->eos_range > 0.0 ? opts->eos_range : 0.05;
    const double jitter = opts && opts->jitter != 0.0 ? opts->jitter : 0.02;
    static const sp_relax_opts_t relax_default = {0.0, 0, 0.0, 0.0, 0};
    const sp_relax_opts_t *relax = opts ? &opts->relax : &relax_default;
    int *types = NULL, n = 0, nvac, k, i, steps = 0;
    double *pos = NULL;
    sp__xtal_t X;
    sp_cell_t cell;
    sp_result_t r = SP_OK;
    if (!pot || !out || nb == 0) return sp__fail(diag, SP_ERR_BAD_ARG, 0, "bad argument to sp_cubic_props");
    if ((r = sp__props_check(pot, type, opts, diag)) != SP_OK) return r;
    memset(out, 0, sizeof *out);
    memset(&X, 0, sizeof X);
    X.lattice = lattice;
    /* atoms: one conventional cell; the vacancy supercell (n x n x n) comes later */
    n = nb;
    if (!sp__props_alloc(pot, type, n, &pos, &types)) {
        r = sp__fail(diag, SP_ERR_NO_MEMORY, 0, "out of memory");
        goto done;
    }

    /* 1. a0: the root of the pressure near the guess or the lowest energy on a scan */
    if (opts && opts->a_guess > 0.0) amin = opts->a_guess;
    else if ((r = sp__xtal_scan(pot, types, &X, nn, pos, &amin, diag)) != SP_OK) goto done;
    if ((r = sp__xtal_a0(pot, types, &X, amin, pos, &a, diag)) != SP_OK) goto done;
    out->a0 = a;
    if ((r = sp__xtal_ep(pot, types, &X, a, pos, &out->e0, &p, diag)) != SP_OK) goto done;
    out->v0 = a * a * a / nb;

    /* 2. equation of state around V0 */
    if ((r = sp__xtal_eos(pot, types, &X, a, out->v0, range, pos, eos, diag)) != SP_OK) goto done;
    out->eos_v0 = eos[0];
    out->eos_e0 = eos[1];
    out->eos_b = eos[2] * SP_EV_A3_TO_GPA;
    out->eos_bp = eos[3];
    out->eos_rms = eos[4];

    /* 3. elastic constants of one conventional cell, clamped and relaxed ions */
    sp_lattice_cell(lattice, a, 1, pos, &cell);
    if ((r = sp__xtal_elastic(pot, nb, pos, types, &cell, strain, a, relax, out->c, Cc, &steps, diag)) != SP_OK) goto done;
    {
        const double *C[2];
        double avg[2][3];
        int t;
        C[0] = out->c;
        C[1] = Cc;
        for (t = 0; t < 2; ++t) {
            avg[t][0] = (C[t][0] + C[t][7] + C[t][14]) / 3.0;
            avg[t][1] = (C[t][1] + C[t][2] + C[t][6] + C[t][8] + C[t][12] + C[t][13]) / 6.0;
            avg[t][2] = (C[t][21] + C[t][28] + C[t][35]) / 3.0;
        }
        out->c11 = avg[0][0];
        out->c12 = avg[0][1];
        out->c44 = avg[0][2];
        out->c11_clamped = avg[1][0];
        out->c12_clamped = avg[1][1];
        out->c44_clamped = avg[1][2];
        out->b = (out->c11 + 2.0 * out->c12) / 3.0;
        for (i = 0; i < 6; ++i)
            for (k = 0; k < 6; ++k) {
                const double ideal = i == k ? (i < 3 ? out->c11 : out->c44) : (i < 3 && k < 3 ? out->c12 : 0.0);
                if (fabs(out->c[6 * i + k] - ideal) > out->cubic_dev) out->cubic_dev = fabs(out->c[6 * i + k] - ideal);
            }
    }

    /* 4. vacancy formation energy at constant volume, and the hop of the nearest neighbour */
    nvac = opts ? opts->vacancy_size : 0;
    if (nvac == 0)
        for (nvac = 1; nb * nvac * nvac * nvac < 100 || (nvac * a < 2.0 * pot->cutoff && nvac < 20); ++nvac) {}
    if (nvac > 0) {
        static const double origin[3] = {0, 0, 0};
        double e_perfect, e_vac;
        int hop;
        n = sp_lattice_cell(lattice, a, nvac, NULL, NULL);
        if (!sp__props_alloc(pot, type, n, &pos, &types)) {
            r = sp__fail(diag, SP_ERR_NO_MEMORY, 0, "out of memory");
            goto done;
        }
        k = sp_lattice_cell(lattice, a, nvac, pos, &cell);
        r = sp_pot_compute_once(pot, k, pos, types, cell.h, cell.pbc, &e_perfect, NULL, NULL, NULL, diag);
        if (r != SP_OK) goto done;
        hop = sp__nearest(pos, k, origin);
        r = sp__vacancy(pot, k, pos, types, &cell, relax, opts ? &opts->neb : NULL, jitter,
                        opts && opts->migration < 0 ? 0 : 1, &hop, &e_vac, &out->em, &out->em_low, &out->em_converged,
                        &steps, diag);
        if (r != SP_OK) goto done;
        out->evf = e_vac - (double)(k - 1) / k * e_perfect;
        out->vac_atoms = k;
    }

    /* 5. surface energies */
    for (k = 0; k < 3 && !(opts && opts->slab_periods < 0); ++k) {
        double v[9], ps[3 * 48], f3[48];
        const int nper = sp__cubic_period(lattice, a, k, v, ps, f3);
        r = sp__surface(pot, type, v, ps, f3, nper, out->e0, opts ? opts->slab_periods : 0, relax, &pos, &types, &steps,
                        &out->esurf_unrelaxed[k], &out->esurf[k], &out->slab_atoms[k], diag);
        if (r != SP_OK) goto done;
    }
    out->relax_steps = steps;
done:
    sp__free(&pot->allocator, pos);
    sp__free(&pot->allocator, types);
    return r;
}

SP_API sp_result_t sp_hcp_props(const sp_pot_t *pot, int type, const sp_props_opts_t *opts, sp_hcp_props_t *out,
                                sp_diag_t *diag) {
    const double strain = opts && opts->strain > 0.0 ? opts->strain : 1e-5;
    const double range = opts && opts->eos_range > 0.0 ? opts->eos_range : 0.05;
    const double jitter = opts && opts->jitter != 0.0 ? opts->jitter : 0.02;
    static const sp_relax_opts_t relax_default = {0.0, 0, 0.0, 0.0, 0};
    const sp_relax_opts_t *relax = opts ? &opts->relax : &relax_default;
    double a, p, eos[5], Cc[36], amin = 0.0, qlo, qhi, dlo, dhi, q;
    int *types = NULL, n = 4, nv[3], k, i, steps = 0;
    double *pos = NULL;
    sp__xtal_t X;
    sp_cell_t cell;
    sp_result_t r = SP_OK;
    if (!pot || !out) return sp__fail(diag, SP_ERR_BAD_ARG, 0, "bad argument to sp_hcp_props");
    if ((r = sp__props_check(pot, type, opts, diag)) != SP_OK) return r;
    memset(out, 0, sizeof *out);
    memset(&X, 0, sizeof X);
    X.c_a = opts && opts->c_a_guess > 0.0 ? opts->c_a_guess : 1.6329931618554521; /* sqrt(8/3) */
    if (!sp__props_alloc(pot, type, n, &pos, &types)) {
        r = sp__fail(diag, SP_ERR_NO_MEMORY, 0, "out of memory");
        goto done;
    }

    /* 1. a near the energy minimum at the starting c/a, then c/a: bisection on the
       difference of the axial stresses, each point at zero pressure */
    if (opts && opts->a_guess > 0.0) amin = opts->a_guess;
    else if ((r = sp__xtal_scan(pot, types, &X, X.c_a * X.c_a / 4.0 + 1.0 / 3.0 < 1.0 ? sqrt(X.c_a * X.c_a / 4.0 + 1.0 / 3.0) : 1.0,
                                pos, &amin, diag)) != SP_OK)
        goto done;
    if ((r = sp__xtal_a0(pot, types, &X, amin, pos, &a, diag)) != SP_OK) goto done;
    qlo = qhi = X.c_a;
    dlo = dhi = X.dzx;
    for (k = 0; k < 60 && !(dlo > 0.0 && dhi < 0.0); ++k) {
        const int down = !(dlo > 0.0);
        X.c_a = down ? qlo - 0.01 : qhi + 0.01;
        if (X.c_a < 1.0 || X.c_a > 2.5) break;
        if ((r = sp__xtal_a0(pot, types, &X, a, pos, &a, diag)) != SP_OK) goto done;
        if (down) {
            qlo = X.c_a;
            dlo = X.dzx;
        } else {
            qhi = X.c_a;
            dhi = X.dzx;
        }
    }
    if (!(dlo > 0.0 && dhi < 0.0)) {
        r = sp__fail(diag, SP_ERR_NO_CONVERGENCE, 0, "no zero-stress c/a of hcp between 1.0 and 2.5 (give a guess)");
        goto done;
    }
    for (k = 0; k < 200 && qhi - qlo > 1e-13 * qhi; ++k) {
        X.c_a = q = 0.5 * (qlo + qhi);
        if ((r = sp__xtal_a0(pot, types, &X, a, pos, &a, diag)) != SP_OK) goto done;
        if (X.dzx > 0.0) qlo = q;
        else if (X.dzx < 0.0) qhi = q;
        else qlo = qhi = q;
    }
    X.c_a = 0.5 * (qlo + qhi);
    if ((r = sp__xtal_a0(pot, types, &X, a, pos, &a, diag)) != SP_OK) goto done;
    out->a0 = a;
    out->c_a = X.c_a;
    out->c0 = X.c_a * a;
    if ((r = sp__xtal_ep(pot, types, &X, a, pos, &out->e0, &p, diag)) != SP_OK) goto done;
    out->v0 = a * a * 1.7320508075688772 * out->c0 / 4.0;

    /* 2. equation of state at fixed c/a */
    if ((r = sp__xtal_eos(pot, types, &X, a, out->v0, range, pos, eos, diag)) != SP_OK) goto done;
    out->eos_v0 = eos[0];
    out->eos_e0 = eos[1];
    out->eos_b = eos[2] * SP_EV_A3_TO_GPA;
    out->eos_bp = eos[3];
    out->eos_rms = eos[4];

    /* 3. elastic constants of the orthorhombic cell, clamped and relaxed ions */
    nv[0] = nv[1] = nv[2] = 1;
    sp_hcp_cell(a, out->c0, nv, pos, &cell);
    if ((r = sp__xtal_elastic(pot, 4, pos, types, &cell, strain, a, relax, out->c, Cc, &steps, diag)) != SP_OK) goto done;
    {
        const double *C[2];
        double h[2][6], ideal[36];
        int t;
        C[0] = out->c;
        C[1] = Cc;
        for (t = 0; t < 2; ++t) {
            h[t][0] = 0.5 * (C[t][0] + C[t][7]);
            h[t][1] = 0.5 * (C[t][1] + C[t][6]);
            h[t][2] = 0.25 * (C[t][2] + C[t][8] + C[t][12] + C[t][13]);
            h[t][3] = C[t][14];
            h[t][4] = 0.5 * (C[t][21] + C[t][28]);
            h[t][5] = C[t][35];
        }
        out->c11 = h[0][0]; out->c12 = h[0][1]; out->c13 = h[0][2];
        out->c33 = h[0][3]; out->c44 = h[0][4]; out->c66 = h[0][5];
        out->c11_clamped = h[1][0]; out->c12_clamped = h[1][1]; out->c13_clamped = h[1][2];
        out->c33_clamped = h[1][3]; out->c44_clamped = h[1][4]; out->c66_clamped = h[1][5];
        out->b = (out->c33 * (out->c11 + out->c12) - 2.0 * out->c13 * out->c13) /
                 (out->c11 + out->c12 + 2.0 * out->c33 - 4.0 * out->c13);
        memset(ideal, 0, sizeof ideal);
        ideal[0] = ideal[7] = out->c11;
        ideal[1] = ideal[6] = out->c12;
        ideal[2] = ideal[8] = ideal[12] = ideal[13] = out->c13;
        ideal[14] = out->c33;
        ideal[21] = ideal[28] = out->c44;
        ideal[35] = 0.5 * (out->c11 - out->c12);
        for (i = 0; i < 36; ++i)
            if (fabs(out->c[i] - ideal[i]) > out->hex_dev) out->hex_dev = fabs(out->c[i] - ideal[i]);
    }

    /* 4. vacancy formation energy at constant volume, hops within the basal plane and out of it */
    k = opts ? opts->vacancy_size : 0;
    if (k > 0) {
        nv[0] = nv[1] = nv[2] = k;
    } else if (k == 0) {
        const double w[3] = {a, a * 1.7320508075688772, out->c0};
        for (i = 0; i < 3; ++i)
            for (nv[i] = 1; nv[i] * w[i] < 2.0 * pot->cutoff && nv[i] < 20; ++nv[i]) {}
        while (4 * nv[0] * nv[1] * nv[2] < 100) {
            int m = 0;
            for (i = 1; i < 3; ++i)
                if (nv[i] * w[i] < nv[m] * w[m]) m = i;
            ++nv[m];
        }
    }
    if (k >= 0) {
        const double site[2][3] = {{a, 0.0, 0.0}, {0.5 * a, a * 0.28867513459481287, 0.5 * out->c0}};
        double e_perfect, e_vac;
        int hop[2];
        n = sp_hcp_cell(a, out->c0, nv, NULL, NULL);
        if (!sp__props_alloc(pot, type, n, &pos, &types)) {
            r = sp__fail(diag, SP_ERR_NO_MEMORY, 0, "out of memory");
            goto done;
        }
        sp_hcp_cell(a, out->c0, nv, pos, &cell);
        r = sp_pot_compute_once(pot, n, pos, types, cell.h, cell.pbc, &e_perfect, NULL, NULL, NULL, diag);
        if (r != SP_OK) goto done;
        hop[0] = sp__nearest(pos, n, site[0]);
        hop[1] = sp__nearest(pos, n, site[1]);
        r = sp__vacancy(pot, n, pos, types, &cell, relax, opts ? &opts->neb : NULL, jitter,
                        opts && opts->migration < 0 ? 0 : 2, hop, &e_vac, out->em, out->em_low, out->em_converged,
                        &steps, diag);
        if (r != SP_OK) goto done;
        out->evf = e_vac - (double)(n - 1) / n * e_perfect;
        out->vac_atoms = n;
    }

    /* 5. surface energies: basal (0001), normal z, and prism (10-10), normal y, of the orthorhombic cell */
    for (k = 0; k < 2 && !(opts && opts->slab_periods < 0); ++k) {
        double v[9], ps[12], f3[4];
        sp__hcp_period(a, out->c0, k, v, ps, f3);
        r = sp__surface(pot, type, v, ps, f3, 4, out->e0, opts ? opts->slab_periods : 0, relax, &pos, &types, &steps,
                        &out->esurf_unrelaxed[k], &out->esurf[k], &out->slab_atoms[k], diag);
        if (r != SP_OK) goto done;
    }
    out->relax_steps = steps;
done:
    sp__free(&pot->allocator, pos);
    sp__free(&pot->allocator, types);
    return r;
}

SP_API sp_result_t sp_gsfe(const sp_pot_t *pot, int type, sp_lattice_t lattice, double a, double c, int plane,
                           const double *slip, int npts, const sp_props_opts_t *opts, double *out_u,
                           double *out_gamma, double *out_gamma_unrelaxed, sp_diag_t *diag) {
    static const sp_relax_opts_t relax_default = {0.0, 0, 0.0, 0.0, 0};
    double v[9], p[3 * 48], f3[48], L[3], e[9], s[3], nrm = 0.0, area, e0u = 0.0, e0r = 0.0, eu, er = 0.0;
    double *base = NULL, *x = NULL;
    int *types = NULL, nper, periods, n, upper, k, i, d, steps = 0;
    sp_relax_opts_t ro;
    sp_cell_t cell;
    sp_result_t r = SP_OK;
    if (!pot || !slip || npts < 2 || npts > 100000 || plane < 0 || plane > (lattice == SP_LATTICE_HCP ? 1 : 2) ||
        !(a > 0.0 && a < 1e3) || lattice < SP_LATTICE_SC || lattice > SP_LATTICE_HCP ||
        (lattice == SP_LATTICE_HCP && !(c > 0.0 && c < 1e3)))
        return sp__fail(diag, SP_ERR_BAD_ARG, 0, "bad argument to sp_gsfe");
    if ((r = sp__props_check(pot, type, opts, diag)) != SP_OK) return r;
    nper = lattice == SP_LATTICE_HCP ? sp__hcp_period(a, c, plane, v, p, f3)
                                     : sp__cubic_period(lattice, a, plane, v, p, f3);
    for (d = 0; d < 3; ++d) {
        L[d] = sp__norm3(v + 3 * d);
        for (i = 0; i < 3; ++i) e[3 * d + i] = v[3 * d + i] / L[d];
        s[d] = a * (slip[0] * e[3 * d] + slip[1] * e[3 * d + 1] + slip[2] * e[3 * d + 2]);
        nrm += slip[d] * slip[d];
    }
    if (!(nrm < 1e6) || fabs(s[2]) > 1e-9 * a * (1.0 + sqrt(nrm)))
        return sp__fail(diag, SP_ERR_BAD_ARG, 0, "slip (%g %g %g) not in the plane", slip[0], slip[1], slip[2]);
    /* the period turned so that its rows lie along x, y, z */
    for (k = 0; k < nper; ++k) {
        double q[3];
        for (d = 0; d < 3; ++d) q[d] = p[3 * k] * e[3 * d] + p[3 * k + 1] * e[3 * d + 1] + p[3 * k + 2] * e[3 * d + 2];
        memcpy(p + 3 * k, q, sizeof q);
    }
    memset(v, 0, sizeof v);
    v[0] = L[0];
    v[4] = L[1];
    v[8] = L[2];
    area = L[0] * L[1];
    periods = opts ? opts->slab_periods : 0;
    if (periods <= 0)
        for (periods = 2; periods * L[2] < 4.0 * pot->cutoff;) ++periods;
    periods += periods & 1;
    n = nper * periods;
    upper = nper * (periods / 2);
    base = (double *)sp__alloc(&pot->allocator, 3 * (size_t)n * sizeof(double));
    if (!base || !sp__props_alloc(pot, type, n, &x, &types)) {
        r = sp__fail(diag, SP_ERR_NO_MEMORY, 0, "out of memory");
        goto done;
    }
    if ((r = sp__slab_best(pot, v, p, f3, nper, periods, base, types, &cell, &e0u, diag)) != SP_OK) goto done;
    ro = opts ? opts->relax : relax_default;
    ro.only_axis = 3;
    for (k = 0; k < npts; ++k) {
        const double t = (double)k / (npts - 1);
        memcpy(x, base, 3 * (size_t)n * sizeof(double));
        for (i = upper; i < n; ++i) {
            x[3 * i] += t * s[0];
            x[3 * i + 1] += t * s[1];
        }
        eu = e0u; /* t = 0: the slab of the cut search */
        if (k > 0 && (r = sp_pot_compute_once(pot, n, x, types, cell.h, cell.pbc, &eu, NULL, NULL, NULL, diag)) != SP_OK)
            goto done;
        if ((r = sp__relax(pot, n, x, types, &cell, &ro, &er, NULL, &steps, diag)) != SP_OK) goto done;
        if (k == 0) e0r = er;
        if (out_u) out_u[k] = t * sqrt(s[0] * s[0] + s[1] * s[1]);
        if (out_gamma_unrelaxed) out_gamma_unrelaxed[k] = (eu - e0u) / area * SP_EV_A2_TO_JM2;
        if (out_gamma) out_gamma[k] = (er - e0r) / area * SP_EV_A2_TO_JM2;
    }
done:
    sp__free(&pot->allocator, base);
    sp__free(&pot->allocator, x);
    sp__free(&pot->allocator, types);
    return r;
}

SP_API int sp_lattice_primitive(sp_lattice_t lattice, double a, double c, double *pos, sp_cell_t *cell) {
    static const double fcc[9] = {0, .5, .5, .5, 0, .5, .5, .5, 0}, bcc[9] = {-.5, .5, .5, .5, -.5, .5, .5, .5, -.5};
    const double *H = lattice == SP_LATTICE_BCC ? bcc : fcc;
    int d, n = lattice == SP_LATTICE_DIAMOND || lattice == SP_LATTICE_HCP ? 2 : 1;
    if (lattice < SP_LATTICE_SC || lattice > SP_LATTICE_HCP || !(a > 0.0 && a < 1e6) || !pos || !cell ||
        (lattice == SP_LATTICE_HCP && !(c > 0.0 && c < 1e6)))
        return 0;
    memset(cell, 0, sizeof *cell);
    memset(pos, 0, 3 * (size_t)n * sizeof(double));
    cell->pbc[0] = cell->pbc[1] = cell->pbc[2] = 1;
    if (lattice == SP_LATTICE_SC) {
        cell->h[0] = cell->h[4] = cell->h[8] = a;
    } else if (lattice == SP_LATTICE_HCP) {
        cell->h[0] = a;
        cell->h[3] = -0.5 * a;
        cell->h[4] = 0.8660254037844386 * a;
        cell->h[8] = c;
        pos[3] = 0.5 * a;
        pos[4] = 0.28867513459481287 * a;
        pos[5] = 0.5 * c;
    } else {
        for (d = 0; d < 9; ++d) cell->h[d] = H[d] * a;
        if (n == 2) pos[3] = pos[4] = pos[5] = 0.25 * a;
    }
    return n;
}

SP_API sp_result_t sp_phonons(const sp_pot_t *pot, int natoms, const double *pos, const int *type,
                              const sp_cell_t *cell, const double *mass, int nq, const double *q,
                              const sp_phonon_opts_t *opts, double *freq, sp_diag_t *diag) {
    const double delta = opts && opts->displacement > 0.0 ? opts->displacement : 0.001;
    double range, vol, Hs[9], G[9];
    int N[3], d, e, i, s, a, sgn, nsc, n3, m2;
    size_t M, k;
    double *x = NULL, *f[2] = {NULL, NULL}, *phi = NULL, *sep = NULL, *D = NULL, *w = NULL, *work = NULL;
    int *ty = NULL;
    sp__calc_t calc;
    sp_cell_t sc;
    sp_result_t r = SP_OK;
    if (!pot || natoms < 1 || natoms > 1000 || !pos || !type || !cell || !mass || nq < 0 || (nq > 0 && (!q || !freq)))
        return sp__fail(diag, SP_ERR_BAD_ARG, 0, "bad argument to sp_phonons");
    if (opts && (!(opts->displacement >= 0.0 && opts->displacement < 0.1) || !(opts->range >= 0.0 && opts->range < 1e3)))
        return sp__fail(diag, SP_ERR_BAD_ARG, 0, "phonon options out of range");
    for (i = 0; i < natoms; ++i) {
        if (!(mass[i] > 0.0 && mass[i] < 1e6)) return sp__fail(diag, SP_ERR_BAD_ARG, 0, "atom %d: mass %g", i, mass[i]);
        if (type[i] < 0 || type[i] >= pot->nelem) return sp__fail(diag, SP_ERR_UNKNOWN_ELEMENT, 0, "atom %d: no element %d", i, type[i]);
    }
    if (!cell->pbc[0] || !cell->pbc[1] || !cell->pbc[2])
        return sp__fail(diag, SP_ERR_BAD_CELL, 0, "phonons need a cell periodic in all three directions");
    if ((r = sp_cell_check(cell, &vol)) != SP_OK) return sp__fail(diag, r, 0, "bad cell");
    range = opts && opts->range > 0.0 ? opts->range : 2.0 * pot->cutoff;
    /* supercell: every width (volume over the opposite face) at least twice the range */
    for (d = 0, M = (size_t)natoms; d < 3; ++d) {
        double cr[3];
        sp__cross(cell->h + 3 * ((d + 1) % 3), cell->h + 3 * ((d + 2) % 3), cr);
        N[d] = (int)ceil(2.0 * range / (vol / sp__norm3(cr)) - 1e-9);
        if (N[d] < 1) N[d] = 1;
        if (N[d] > 1000) N[d] = 1000;
        M *= (size_t)N[d];
    }
    if (M > 1000000) return sp__fail(diag, SP_ERR_RANGE, 0, "phonon supercell of %zu atoms (range %.2f A)", M, range);
    nsc = (int)M;
    n3 = 3 * natoms;
    m2 = 2 * n3;
    x = (double *)sp__alloc(&pot->allocator, 3 * M * sizeof(double));
    f[0] = (double *)sp__alloc(&pot->allocator, 3 * M * sizeof(double));
    f[1] = (double *)sp__alloc(&pot->allocator, 3 * M * sizeof(double));
    phi = (double *)sp__alloc(&pot->allocator, (size_t)n3 * 3 * M * sizeof(double));
    sep = (double *)sp__alloc(&pot->allocator, 3 * M * (size_t)natoms * sizeof(double));
    D = (double *)sp__alloc(&pot->allocator, (size_t)m2 * m2 * sizeof(double));
    w = (double *)sp__alloc(&pot->allocator, 3 * (size_t)m2 * sizeof(double));
    ty = (int *)sp__alloc(&pot->allocator, M * sizeof(int));
    if (!x || !f[0] || !f[1] || !phi || !sep || !D || !w || !ty) {
        r = sp__fail(diag, SP_ERR_NO_MEMORY, 0, "out of memory");
        goto done;
    }
    work = w + m2;
    memset(&sc, 0, sizeof sc);
    for (d = 0; d < 3; ++d) {
        sc.pbc[d] = 1;
        for (e = 0; e < 3; ++e) Hs[3 * d + e] = sc.h[3 * d + e] = N[d] * cell->h[3 * d + e];
    }
    sp__inv3(Hs, sp__det3(Hs), G);
    /* atom j = image * natoms + t at x_t + n0 h0 + n1 h1 + n2 h2 */
    for (k = 0; k < M; ++k) {
        const int t = (int)(k % (size_t)natoms), im = (int)(k / (size_t)natoms);
        const int n0 = im % N[0], n1 = (im / N[0]) % N[1], n2 = im / (N[0] * N[1]);
        for (e = 0; e < 3; ++e)
            x[3 * k + e] = pos[3 * t + e] + n0 * cell->h[e] + n1 * cell->h[3 + e] + n2 * cell->h[6 + e];
        ty[k] = type[t];
    }
    /* separations x_j - x_s through the nearest image of the supercell */
    for (s = 0; s < natoms; ++s)
        for (k = 0; k < M; ++k) {
            double dv[3], fr[3], best = HUGE_VAL, *o = sep + 3 * ((size_t)s * M + k);
            int c0, c1, c2;
            for (e = 0; e < 3; ++e) dv[e] = x[3 * k + e] - x[3 * s + e];
            for (e = 0; e < 3; ++e) fr[e] = floor(dv[0] * G[e] + dv[1] * G[3 + e] + dv[2] * G[6 + e] + 0.5);
            for (c0 = -1; c0 <= 1; ++c0)
                for (c1 = -1; c1 <= 1; ++c1)
                    for (c2 = -1; c2 <= 1; ++c2) {
                        double v[3], l2;
                        for (e = 0; e < 3; ++e)
                            v[e] = dv[e] - (fr[0] + c0) * Hs[e] - (fr[1] + c1) * Hs[3 + e] - (fr[2] + c2) * Hs[6 + e];
                        l2 = v[0] * v[0] + v[1] * v[1] + v[2] * v[2];
                        if (l2 < best - 1e-12) {
                            best = l2;
                            memcpy(o, v, sizeof v);
                        }
                    }
        }
    /* force constants phi[(s a) j b] = -dF_jb / du_sa, central differences, the displaced
       supercells through one kept neighbour list */
    sp__calc_init(&calc, pot, &sc, ty, nsc, 1.0);
    for (s = 0; s < natoms && r == SP_OK; ++s)
        for (a = 0; a < 3 && r == SP_OK; ++a) {
            for (sgn = 0; sgn < 2 && r == SP_OK; ++sgn) {
                double en;
                x[3 * s + a] += sgn ? -delta : delta;
                r = sp__calc(&calc, x, f[sgn], &en, NULL, diag);
                x[3 * s + a] -= sgn ? -delta : delta;
            }
            if (r != SP_OK) break;
            for (k = 0; k < 3 * M; ++k) phi[(size_t)(3 * s + a) * 3 * M + k] = -(f[0][k] - f[1][k]) / (2.0 * delta);
        }
    sp__calc_free(&calc);
    if (r != SP_OK) goto done;
    /* D(q) = A + iB (3n x 3n), made Hermitian, as the real symmetric [[A, -B], [B, A]]: each
       eigenvalue twice */
    for (i = 0; i < nq && r == SP_OK; ++i) {
        const double *qi = q + 3 * (size_t)i;
        int u, v;
        memset(D, 0, (size_t)m2 * m2 * sizeof(double));
        for (s = 0; s < natoms; ++s)
            for (k = 0; k < M; ++k) {
                const int t = (int)(k % (size_t)natoms);
                const double *dv = sep + 3 * ((size_t)s * M + k), ph = qi[0] * dv[0] + qi[1] * dv[1] + qi[2] * dv[2];
                const double inv = 1.0 / sqrt(mass[s] * mass[t]), cr = cos(ph) * inv, ci = sin(ph) * inv;
                for (u = 3 * s; u < 3 * s + 3; ++u)
                    for (e = 0; e < 3; ++e) {
                        const double p = phi[(size_t)u * 3 * M + 3 * k + e];
                        D[(size_t)u * m2 + 3 * t + e] += p * cr;
                        D[(size_t)(u + n3) * m2 + 3 * t + e] += p * ci;
                    }
            }
        for (u = 0; u < n3; ++u)
            for (v = 0; v <= u; ++v) {
                const double re = 0.5 * (D[(size_t)u * m2 + v] + D[(size_t)v * m2 + u]);
                const double im = 0.5 * (D[(size_t)(u + n3) * m2 + v] - D[(size_t)(v + n3) * m2 + u]);
                D[(size_t)u * m2 + v] = D[(size_t)(u + n3) * m2 + v + n3] = re;
                D[(size_t)(u + n3) * m2 + v] = im;
                D[(size_t)(v + n3) * m2 + u] = -im;
            }
        r = sp_linalg_eigsym(m2, D, m2, w, work);
        if (r != SP_OK) {
            r = sp__fail(diag, r, 0, "dynamical matrix at q %d: %s", i, sp_result_str(r));
            break;
        }
        for (u = 0; u < n3; ++u) {
            const double l = 0.5 * (w[2 * u] + w[2 * u + 1]);
            freq[(size_t)i * n3 + u] = (l < 0.0 ? -sqrt(-l) : sqrt(l)) * SP_PHONON_THZ;
        }
    }
done:
    sp__free(&pot->allocator, x);
    sp__free(&pot->allocator, f[0]);
    sp__free(&pot->allocator, f[1]);
    sp__free(&pot->allocator, phi);
    sp__free(&pot->allocator, sep);
    sp__free(&pot->allocator, D);
    sp__free(&pot->allocator, w);
    sp__free(&pot->allocator, ty);
    return r;
}
/* ==================================================================
 * >>linalg   implementation
 * ================================================================== */


#define SP__A(i, j) a[(size_t)(i) * (size_t)lda + (size_t)(j)]

/* In-place transpose of the leading n x n block. */
SP__PRIVATE void sp__transpose_sq(int n, double *a, int lda) {
    int i, j;
    for (i = 0; i < n; ++i)
        for (j = i + 1; j < n; ++j) {
            double t = SP__A(i, j);
            SP__A(i, j) = SP__A(j, i);
            SP__A(j, i) = t;
        }
}

/* Householder reduction of the symmetric matrix in a (lower triangle read)
   to tridiagonal form T = Q^T A Q: diagonal in d, subdiagonal in e[1..n-1]
   (e[0] = 0), and Q accumulated in a (Wilkinson & Reinsch, tred2). Rows are
   processed from the last one upwards; each step annihilates row i left of
   the subdiagonal with the reflector P = I - u u^T / h, u = x -+ |x| e_{i-1},
   applied as A <- A - u q^T - q u^T with p = A u / h, q = p - (u^T p / 2h) u.
   The input is scaled by the row's 1-norm so that the squares cannot
   overflow or underflow. */
SP__PRIVATE void sp__tred2(int n, double *a, int lda, double *d, double *e) {
    int i, j, k;
    for (j = 0; j < n; ++j) d[j] = SP__A(n - 1, j);
    for (i = n - 1; i > 0; --i) {
        double scale = 0.0, h = 0.0;
        for (k = 0; k < i; ++k) scale += fabs(d[k]);
        if (scale == 0.0) {
            /* row already reduced: nothing to annihilate */
            e[i] = d[i - 1];
            for (j = 0; j < i; ++j) {
                d[j] = SP__A(i - 1, j);
                SP__A(i, j) = 0.0;
                SP__A(j, i) = 0.0;
            }
        } else {
            double f, g, hh;
            for (k = 0; k < i; ++k) {
                d[k] /= scale;
                h += d[k] * d[k];
            }
            f = d[i - 1];
            g = sqrt(h);
            if (f > 0) g = -g; /* sign chosen to avoid cancellation in f - g */
            e[i] = scale * g;
            h -= f * g;
            d[i - 1] = f - g; /* d[0..i-1] now holds u */
            for (j = 0; j < i; ++j) e[j] = 0.0;
            /* e = A u (lower triangle of the leading i x i block); u stored in column i */
            for (j = 0; j < i; ++j) {
                f = d[j];
                SP__A(j, i) = f;
                g = e[j] + SP__A(j, j) * f;
                for (k = j + 1; k <= i - 1; ++k) {
                    g += SP__A(k, j) * d[k];
                    e[k] += SP__A(k, j) * f;
                }
                e[j] = g;
            }
            /* p = A u / h, K = u^T p / 2h, q = p - K u */
            f = 0.0;
            for (j = 0; j < i; ++j) {
                e[j] /= h;
                f += e[j] * d[j];
            }
            hh = f / (h + h);
            for (j = 0; j < i; ++j) e[j] -= hh * d[j];
            /* A <- A - u q^T - q u^T (lower triangle) */
            for (j = 0; j < i; ++j) {
                f = d[j];
                g = e[j];
                for (k = j; k <= i - 1; ++k) SP__A(k, j) -= (f * e[k] + g * d[k]);
                d[j] = SP__A(i - 1, j);
                SP__A(i, j) = 0.0;
            }
        }
        d[i] = h;
    }
    /* accumulate Q = P_{n-1} ... P_1 from the reflectors kept in the upper part */
    for (i = 0; i < n - 1; ++i) {
        double h;
        SP__A(n - 1, i) = SP__A(i, i);
        SP__A(i, i) = 1.0;
        h = d[i + 1];
        if (h != 0.0) {
            for (k = 0; k <= i; ++k) d[k] = SP__A(k, i + 1) / h;
            for (j = 0; j <= i; ++j) {
                double g = 0.0;
                for (k = 0; k <= i; ++k) g += SP__A(k, i + 1) * SP__A(k, j);
                for (k = 0; k <= i; ++k) SP__A(k, j) -= g * d[k];
            }
        }
        for (k = 0; k <= i; ++k) SP__A(k, i + 1) = 0.0;
    }
    for (j = 0; j < n; ++j) {
        d[j] = SP__A(n - 1, j);
        SP__A(n - 1, j) = 0.0;
    }
    SP__A(n - 1, n - 1) = 1.0;
    e[0] = 0.0;
}

/* Implicit QL with Wilkinson shifts on the tridiagonal (d, e) (Wilkinson &
   Reinsch, tql2). The rotations are applied to the ROWS of a, which holds
   Q^T on entry (so the inner loop runs over contiguous memory); on return
   row k of a is the eigenvector of d[k]. Returns 0 on success, -1 if one
   eigenvalue needed more than 60 sweeps. */
SP__PRIVATE int sp__tql2_rows(int n, double *a, int lda, double *d, double *e) {
    const double eps = 2.220446049250313080847e-16; /* 2^-52 */
    double f = 0.0, tst1 = 0.0;
    int i, k, l, m;
    for (i = 1; i < n; ++i) e[i - 1] = e[i];
    e[n - 1] = 0.0;
    for (l = 0; l < n; ++l) {
        double t = fabs(d[l]) + fabs(e[l]);
        if (t > tst1) tst1 = t;
        /* find a small subdiagonal element: e[n-1] == 0 stops the search */
        for (m = l; m < n - 1; ++m)
            if (fabs(e[m]) <= eps * tst1) break;
        if (m > l) {
            int iter = 0;
            do {
                double g, p, r, dl1, h, c, c2, c3, el1, s, s2;
                if (++iter > 60) return -1;
                /* shift: eigenvalue of the leading 2x2 block closer to d[l] */
                g = d[l];
                p = (d[l + 1] - g) / (2.0 * e[l]);
                r = hypot(p, 1.0);
                if (p < 0) r = -r;
                d[l] = e[l] / (p + r);
                d[l + 1] = e[l] * (p + r);
                dl1 = d[l + 1];
                h = g - d[l];
                for (i = l + 2; i < n; ++i) d[i] -= h;
                f += h;
                /* implicit QL sweep from m-1 down to l (Givens rotations) */
                p = d[m];
                c = 1.0;
                c2 = c;
                c3 = c;
                el1 = e[l + 1];
                s = 0.0;
                s2 = 0.0;
                for (i = m - 1; i >= l; --i) {
                    double *SP_RESTRICT ri = a + (size_t)i * (size_t)lda;
                    double *SP_RESTRICT ri1 = ri + lda;
                    c3 = c2;
                    c2 = c;
                    s2 = s;
                    g = c * e[i];
                    h = c * p;
                    r = hypot(p, e[i]);
                    e[i + 1] = s * r;
                    s = e[i] / r;
                    c = p / r;
                    p = c * d[i] - s * g;
                    d[i + 1] = h + s * (c * g + s * d[i]);
                    for (k = 0; k < n; ++k) {
                        double vk1 = ri1[k], vk = ri[k];
                        ri1[k] = s * vk + c * vk1;
                        ri[k] = c * vk - s * vk1;
                    }
                }
                p = -s * s2 * c3 * el1 * e[l] / dl1;
                e[l] = s * p;
                d[l] = c * p;
            } while (fabs(e[l]) > eps * tst1);
        }
        d[l] += f;
        e[l] = 0.0;
    }
    return 0;
}

SP_API sp_result_t sp_linalg_eigsym(int n, double *a, int lda, double *out_w, double *work) {
    int i, j, k;
    if (n < 0) return SP_ERR_BAD_ARG;
    if (n == 0) return SP_OK;
    if (!a || !out_w || !work || lda < n) return SP_ERR_BAD_ARG;
    for (i = 0; i < n; ++i)
        for (j = 0; j <= i; ++j)
            if (!sp__isfinite(SP__A(i, j))) return SP_ERR_NOT_FINITE;
    if (n == 1) {
        out_w[0] = SP__A(0, 0);
        SP__A(0, 0) = 1.0;
        return SP_OK;
    }
    sp__tred2(n, a, lda, out_w, work);
    sp__transpose_sq(n, a, lda); /* rows of a = columns of Q */
    if (sp__tql2_rows(n, a, lda, out_w, work) != 0) return SP_ERR_NO_CONVERGENCE;
    /* ascending order (selection sort: at most n-1 row swaps) */
    for (i = 0; i < n - 1; ++i) {
        int kmin = i;
        for (j = i + 1; j < n; ++j)
            if (out_w[j] < out_w[kmin]) kmin = j;
        if (kmin != i) {
            double t = out_w[i];
            double *ri = a + (size_t)i * (size_t)lda, *rk = a + (size_t)kmin * (size_t)lda;
            out_w[i] = out_w[kmin];
            out_w[kmin] = t;
            for (k = 0; k < n; ++k) {
                t = ri[k];
                ri[k] = rk[k];
                rk[k] = t;
            }
        }
    }
    sp__transpose_sq(n, a, lda); /* columns = eigenvectors */
    return SP_OK;
}

#undef SP__A

/* ==================================================================
 * >>cmaes   implementation
 * ================================================================== */
/* Notation follows Hansen's tutorial (arXiv:1604.00772): mean m, step size
   sigma, C = B D^2 B^T, evolution paths p_sigma (ps) and p_c (pc),
   y_k = (x_k - m_old)/sigma, weights w_i, mu_eff.

   Active CMA (desc.active, ON by default): the lambda - mu worst steps enter
   the rank-mu update with negative weights (tutorial eq. 50-53, each scaled
   by n / |C^-1/2 y_k|^2 = n / |z_k|^2 and the total capped by
   alpha_posdef so that C stays positive definite), which shrinks C along
   directions that proved bad. It is on because it clearly helps on the
   benchmark set (`splinepot bench cmaes`, median evaluations over ten
   seeds, active vs passive): ellipsoid -30% (n = 10, 20, 45), Rosenbrock
   -17..-21%, IPOP-Rastrigin n = 10 -20% (higher success per run at
   lambda = 80..160), n = 20/45 within 3%, sphere +1..+3%. The cost is
   lambda instead of mu rank-one terms per generation, O(lambda n^2). */

#define SP__CMAES_HIST 20000 /* stagnation window cap (tutorial: 20000) */

SP__PRIVATE uint64_t sp__splitmix64(uint64_t *x) {
    uint64_t z = (*x += (uint64_t)0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * (uint64_t)0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * (uint64_t)0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

SP__PRIVATE uint64_t sp__rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* xoshiro256** (Blackman & Vigna 2018) */
SP__PRIVATE uint64_t sp__xoshiro_next(uint64_t *s) {
    uint64_t result = sp__rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = sp__rotl64(s[3], 45);
    return result;
}

/* uniform in [0, 1) with 53 random bits */
SP__PRIVATE double sp__cmaes_unif(sp_cmaes_t *es) {
    return (double)(sp__xoshiro_next(es->rng) >> 11) * (1.0 / 9007199254740992.0);
}

/* standard normal, Marsaglia's polar method (pairs; the spare is kept) */
SP__PRIVATE double sp__cmaes_gauss(sp_cmaes_t *es) {
    double u, v, s, m;
    if (es->has_spare) {
        es->has_spare = 0;
        return es->gauss_spare;
    }
    do {
        u = 2.0 * sp__cmaes_unif(es) - 1.0;
        v = 2.0 * sp__cmaes_unif(es) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    m = sqrt(-2.0 * log(s) / s);
    es->gauss_spare = v * m;
    es->has_spare = 1;
    return u * m;
}

/* Boundary transformation of one coordinate (c-cmaes
   boundary_transformation.c / pycma BoundTransform): periodic shift into one
   period, reflection into [lb - al, ub + au], then identity on
   [lb + al, ub - au] and a quadratic of slope 1..0 in the margins. */
SP__PRIVATE double sp__cmaes_bound1(double y, double lb, double ub) {
    int has_lb = lb > -HUGE_VAL, has_ub = ub < HUGE_VAL;
    double al, au, x;
    if (!has_lb && !has_ub) return y;
    if (has_lb && has_ub) {
        double w = ub - lb;
        al = 0.05 * (1.0 + fabs(lb));
        au = 0.05 * (1.0 + fabs(ub));
        if (al > 0.5 * w) al = 0.5 * w;
        if (au > 0.5 * w) au = 0.5 * w;
        if (y < lb - 2.0 * al - 0.5 * w || y > ub + 2.0 * au + 0.5 * w) {
            double r = 2.0 * (w + al + au), s0 = lb - 2.0 * al - 0.5 * w;
            y -= r * floor((y - s0) / r);
        }
        if (y > ub + au) y -= 2.0 * (y - ub - au);
        if (y < lb - al) y += 2.0 * (lb - al - y);
        if (y < lb + al) {
            double t = y - (lb - al);
            x = lb + t * t / (4.0 * al);
        } else if (y > ub - au) {
            double t = y - (ub + au);
            x = ub - t * t / (4.0 * au);
        } else {
            x = y;
        }
    } else if (has_lb) {
        al = 0.05 * (1.0 + fabs(lb));
        if (y < lb - al) y += 2.0 * (lb - al - y);
        if (y < lb + al) {
            double t = y - (lb - al);
            x = lb + t * t / (4.0 * al);
        } else {
            x = y;
        }
    } else {
        au = 0.05 * (1.0 + fabs(ub));
        if (y > ub + au) y -= 2.0 * (y - ub - au);
        if (y > ub - au) {
            double t = y - (ub + au);
            x = ub - t * t / (4.0 * au);
        } else {
            x = y;
        }
    }
    if (has_lb && x < lb) x = lb; /* rounding guard */
    if (has_ub && x > ub) x = ub;
    return x;
}

SP__PRIVATE void sp__cmaes_bound(const sp_cmaes_t *es, const double *y, double *x) {
    int i;
    if (!es->bounded) {
        if (x != y) memcpy(x, y, (size_t)es->n * sizeof(double));
        return;
    }
    for (i = 0; i < es->n; ++i) x[i] = sp__cmaes_bound1(y[i], es->lower[i], es->upper[i]);
}

/* stable merge sort of 0..m-1 by f (ties keep index order), bottom-up */
SP__PRIVATE void sp__cmaes_sort(const double *f, int *idx, int *tmp, int m) {
    int width, i, *src = idx, *dst = tmp;
    for (i = 0; i < m; ++i) idx[i] = i;
    for (width = 1; width < m; width *= 2) {
        int lo;
        for (lo = 0; lo < m; lo += 2 * width) {
            int mid = lo + width < m ? lo + width : m;
            int hi = lo + 2 * width < m ? lo + 2 * width : m;
            int p = lo, q = mid, o = lo;
            while (p < mid && q < hi) dst[o++] = (f[src[q]] < f[src[p]]) ? src[q++] : src[p++];
            while (p < mid) dst[o++] = src[p++];
            while (q < hi) dst[o++] = src[q++];
        }
        {
            int *t = src;
            src = dst;
            dst = t;
        }
    }
    if (src != idx) memcpy(idx, src, (size_t)m * sizeof(int));
}

/* k-th smallest (0-based) of v[0..m-1], reordering v (Hoare selection with
   a median-of-three pivot; deterministic) */
SP__PRIVATE double sp__cmaes_select(double *v, int m, int k) {
    int lo = 0, hi = m - 1;
    while (hi > lo) {
        int mid = lo + (hi - lo) / 2, i = lo, j = hi;
        double a = v[lo], b = v[mid], c = v[hi], pivot;
        pivot = (a < b) ? ((b < c) ? b : ((a < c) ? c : a)) : ((a < c) ? a : ((b < c) ? c : b));
        while (i <= j) {
            while (v[i] < pivot) ++i;
            while (pivot < v[j]) --j;
            if (i <= j) {
                double t = v[i];
                v[i] = v[j];
                v[j] = t;
                ++i;
                --j;
            }
        }
        if (k <= j) hi = j;
        else if (k >= i) lo = i;
        else return v[k];
    }
    return v[k];
}

SP__PRIVATE int sp__cmaes_default_lambda(int n) { return 4 + (int)floor(3.0 * log((double)n)); }

/* next IPOP population size; -1 on int overflow */
SP__PRIVATE int sp__cmaes_next_lambda(int lambda, double inc) {
    double l = floor((double)lambda * inc);
    if (l > 2147483647.0 / 8.0) return -1;
    return l < (double)lambda ? lambda : (int)l;
}

SP_API sp_cmaes_desc_t sp_cmaes_desc_defaults(const sp_cmaes_desc_t *desc) {
    sp_cmaes_desc_t d;
    memset(&d, 0, sizeof d);
    if (desc) d = *desc;
    if (d.sigma0 == 0.0) d.sigma0 = 0.3;
    if (d.popsize == 0 && d.dim > 0) d.popsize = sp__cmaes_default_lambda(d.dim);
    if (d.mu == 0) d.mu = d.popsize / 2;
    if (d.seed == 0) d.seed = 1;
    if (d.tolfun == 0.0) d.tolfun = 1e-12;
    if (d.tolx == 0.0) d.tolx = 1e-12 * d.sigma0;
    if (d.maxcond == 0.0) d.maxcond = 1e14;
    if (d.tolupsigma == 0.0) d.tolupsigma = 1e20;
    if (d.incpopsize == 0.0) d.incpopsize = 2.0;
    if (d.damps_factor == 0.0) d.damps_factor = 1.0;
    if (d.active == SP_CMAES_ACTIVE_DEFAULT) d.active = SP_CMAES_ACTIVE_ON;
    return d;
}

SP_API const char *sp_cmaes_stop_str(sp_cmaes_stop_t reason) {
    static const char *const names[] = {"running",      "ftarget",         "maxevals",
                                        "user",         "tolfun",          "tolx",
                                        "noeffectaxis", "noeffectcoord",   "condition",
                                        "stagnation",   "tolupsigma",      "numeric"};
    if ((int)reason < 0 || (int)reason >= (int)SP_CMAES_STOP_COUNT) return "unknown";
    return names[reason];
}

/* Workspace plan: doubles then ints, 64-byte aligned, sizes in elements. */
typedef struct sp__cmaes_plan_t {
    int n, lambda_max, hist_cap;
    size_t n_doubles, n_ints, bytes;
} sp__cmaes_plan_t;

/* 0 on success, else the error */
SP__PRIVATE sp_result_t sp__cmaes_plan(const sp_cmaes_desc_t *desc, sp__cmaes_plan_t *p) {
    sp_cmaes_desc_t d;
    size_t n, L, H, nd, ni;
    int r, lam;
    if (!desc) return SP_ERR_BAD_ARG;
    d = sp_cmaes_desc_defaults(desc);
    if (d.dim <= 0 || d.popsize < 2 || d.restarts < 0 || d.restarts > 1000) return SP_ERR_BAD_ARG;
    if (!(d.incpopsize >= 1.0) || d.incpopsize > 1e6) return SP_ERR_BAD_ARG;
    lam = d.popsize;
    for (r = 0; r < d.restarts; ++r) {
        lam = sp__cmaes_next_lambda(lam, d.incpopsize);
        if (lam < 0) return SP_ERR_BAD_ARG;
    }
    n = (size_t)d.dim;
    L = (size_t)lam;
    H = SP__CMAES_HIST;
    if (n > ((size_t)-1) / 64 / n) return SP_ERR_BAD_ARG;
    if (L > ((size_t)-1) / 64 / n) return SP_ERR_BAD_ARG;
    /* x0, lower, upper, xmean, xold, pc, ps, D, xbest: 9n; tmp 3n; eigwork 2n;
       C, B: 2n^2; weights, znorm2, fvals: 3L; arx (and pheno if bounded): L*n;
       hist_best, hist_median: 2H; scratch: 0.3 H + 2 */
    nd = 14 * n + 2 * n * n + 3 * L + L * n * ((desc->lower || desc->upper) ? 2 : 1) + 2 * H + (3 * H) / 10 + 2;
    ni = 2 * L;
    if (nd > ((size_t)-1) / 16 || ni > ((size_t)-1) / 16) return SP_ERR_BAD_ARG;
    p->n = d.dim;
    p->lambda_max = lam;
    p->hist_cap = (int)H;
    p->n_doubles = nd;
    p->n_ints = ni;
    p->bytes = 64 + nd * sizeof(double) + ni * sizeof(int);
    return SP_OK;
}

SP_API size_t sp_cmaes_workspace_size(const sp_cmaes_desc_t *desc) {
    sp__cmaes_plan_t p;
    if (sp__cmaes_plan(desc, &p) != SP_OK) return 0;
    return p.bytes;
}

/* Strategy parameters and weights for the current lambda/mu (tutorial
   Table 1 / eq. 49-58). */
SP__PRIVATE void sp__cmaes_set_params(sp_cmaes_t *es) {
    int i, lam = es->lambda, mu = es->mu;
    double n = (double)es->n, base, spos = 0.0, spos2 = 0.0, sneg = 0.0, sneg2 = 0.0;
    double mueff_neg, a_mu, a_mueff, a_posdef, aneg;
    double *w = es->weights;
    base = (es->mu0 == 0) ? log(0.5 * (lam + 1)) : log(mu + 0.5);
    for (i = 0; i < lam; ++i) {
        w[i] = base - log((double)(i + 1));
        if (i < mu) {
            if (w[i] < 0.0) w[i] = 0.0; /* cannot happen with the bases above */
            spos += w[i];
            spos2 += w[i] * w[i];
        } else {
            if (w[i] > 0.0) w[i] = 0.0;
            sneg -= w[i];
            sneg2 += w[i] * w[i];
        }
    }
    es->mueff = spos * spos / spos2;
    es->cc = (4.0 + es->mueff / n) / (n + 4.0 + 2.0 * es->mueff / n);
    es->cs = (es->mueff + 2.0) / (n + es->mueff + 5.0);
    es->c1 = 2.0 / ((n + 1.3) * (n + 1.3) + es->mueff);
    es->cmu = 2.0 * (es->mueff - 2.0 + 1.0 / es->mueff) / ((n + 2.0) * (n + 2.0) + es->mueff);
    if (es->cmu > 1.0 - es->c1) es->cmu = 1.0 - es->c1;
    {
        double t = sqrt((es->mueff - 1.0) / (n + 1.0)) - 1.0;
        es->damps = (1.0 + 2.0 * (t > 0.0 ? t : 0.0) + es->cs) * es->damps_factor;
    }
    es->chi_n = sqrt(n) * (1.0 - 1.0 / (4.0 * n) + 1.0 / (21.0 * n * n));
    /* negative weights (active CMA) */
    aneg = 0.0;
    if (es->active && sneg > 0.0 && es->cmu > 0.0) {
        mueff_neg = sneg * sneg / sneg2;
        a_mu = 1.0 + es->c1 / es->cmu;
        a_mueff = 1.0 + 2.0 * mueff_neg / (es->mueff + 2.0);
        a_posdef = (1.0 - es->c1 - es->cmu) / (n * es->cmu);
        aneg = a_mu;
        if (a_mueff < aneg) aneg = a_mueff;
        if (a_posdef < aneg) aneg = a_posdef;
        aneg /= sneg;
    }
    es->sum_w = 0.0;
    for (i = 0; i < lam; ++i) {
        w[i] = (i < mu) ? w[i] / spos : w[i] * aneg;
        es->sum_w += w[i];
    }
    {
        /* eigen-decompose once lambda/((c1+cmu) n 10) evaluations have passed */
        double gap = 1.0 / ((es->c1 + es->cmu) * n * 10.0);
        es->eigen_gap = gap < 1.0 ? 1 : (gap > 1e6 ? 1000000 : (int)floor(gap) + 1);
    }
}

/* (Re)start a run with the current lambda: mean x0, sigma0, C = I. */
SP__PRIVATE void sp__cmaes_start_run(sp_cmaes_t *es) {
    int n = es->n, i;
    es->mu = (es->mu0 == 0) ? es->lambda / 2
                            : (int)floor((double)es->mu0 * es->lambda / es->lambda0);
    if (es->mu < 1) es->mu = 1;
    if (es->mu > es->lambda) es->mu = es->lambda;
    sp__cmaes_set_params(es);
    memcpy(es->xmean, es->x0, (size_t)n * sizeof(double));
    memcpy(es->xold, es->x0, (size_t)n * sizeof(double));
    memset(es->pc, 0, (size_t)n * sizeof(double));
    memset(es->ps, 0, (size_t)n * sizeof(double));
    memset(es->C, 0, (size_t)n * (size_t)n * sizeof(double));
    memset(es->B, 0, (size_t)n * (size_t)n * sizeof(double));
    for (i = 0; i < n; ++i) {
        es->C[(size_t)i * n + i] = 1.0;
        es->B[(size_t)i * n + i] = 1.0;
        es->D[i] = 1.0;
    }
    es->sigma = es->sigma0;
    es->gen = 0;
    es->eigen_gen = 0;
    es->asked = 0;
    es->hist_count = 0;
    es->hist_pos = 0;
}

SP_API sp_result_t sp_cmaes_init(sp_cmaes_t *es, const sp_cmaes_desc_t *desc, void *mem,
                                 size_t bytes) {
    sp__cmaes_plan_t plan;
    sp_cmaes_desc_t d;
    sp_result_t r;
    double *dp;
    int *ip;
    size_t n, L;
    uintptr_t base;
    int i;
    uint64_t sm;
    if (!es || !desc) return SP_ERR_BAD_ARG;
    d = sp_cmaes_desc_defaults(desc);
    if (d.dim <= 0 || d.popsize < 0 || d.mu < 0 || d.restarts < 0 || d.max_evals < 0)
        return SP_ERR_BAD_ARG;
    if (!sp__isfinite(d.sigma0) || !sp__isfinite(d.tolfun) || !sp__isfinite(d.tolx) ||
        !sp__isfinite(d.maxcond) || !sp__isfinite(d.tolupsigma) ||
        !sp__isfinite(d.incpopsize) || !sp__isfinite(d.damps_factor) ||
        (d.has_ftarget && d.ftarget != d.ftarget))
        return SP_ERR_NOT_FINITE;
    if (d.sigma0 <= 0.0 || d.popsize < 2 || d.mu > d.popsize || d.tolfun < 0.0 ||
        d.tolx < 0.0 || d.maxcond <= 1.0 || d.tolupsigma <= 0.0 || d.incpopsize < 1.0 ||
        d.damps_factor <= 0.0 ||
        (d.active != SP_CMAES_ACTIVE_ON && d.active != SP_CMAES_ACTIVE_OFF))
        return SP_ERR_BAD_ARG;
    if (d.x0)
        for (i = 0; i < d.dim; ++i)
            if (!sp__isfinite(d.x0[i])) return SP_ERR_NOT_FINITE;
    for (i = 0; i < d.dim; ++i) {
        double lb = d.lower ? d.lower[i] : -HUGE_VAL, ub = d.upper ? d.upper[i] : HUGE_VAL;
        if (lb != lb || ub != ub) return SP_ERR_NOT_FINITE;
        if (!(lb < ub) || lb == HUGE_VAL || ub == -HUGE_VAL) return SP_ERR_BAD_ARG;
    }
    r = sp__cmaes_plan(desc, &plan);
    if (r != SP_OK) return r;
    if (!mem) return SP_ERR_BAD_ARG;
    if (bytes < plan.bytes) return SP_ERR_WORKSPACE_TOO_SMALL;

    memset(es, 0, sizeof *es);
    n = (size_t)d.dim;
    L = (size_t)plan.lambda_max;
    base = ((uintptr_t)mem + 63u) & ~(uintptr_t)63u;
    dp = (double *)(void *)base;
    es->x0 = dp; dp += n;
    es->lower = dp; dp += n;
    es->upper = dp; dp += n;
    es->xmean = dp; dp += n;
    es->xold = dp; dp += n;
    es->pc = dp; dp += n;
    es->ps = dp; dp += n;
    es->D = dp; dp += n;
    es->xbest = dp; dp += n;
    es->tmp = dp; dp += 3 * n;
    es->eigwork = dp; dp += 2 * n;
    es->C = dp; dp += n * n;
    es->B = dp; dp += n * n;
    es->weights = dp; dp += L;
    es->znorm2 = dp; dp += L;
    es->fvals = dp; dp += L;
    es->arx = dp; dp += L * n;
    es->bounded = (d.lower || d.upper) ? 1 : 0;
    if (es->bounded) {
        es->pheno = dp;
        dp += L * n;
    } else {
        es->pheno = es->arx;
    }
    es->hist_best = dp; dp += plan.hist_cap;
    es->hist_median = dp; dp += plan.hist_cap;
    es->scratch = dp; dp += (3 * (size_t)plan.hist_cap) / 10 + 2;
    ip = (int *)(void *)dp;
    es->idx = ip; ip += L;
    es->idx_tmp = ip; ip += L;
    SP_ASSERT((char *)ip <= (char *)mem + plan.bytes);

    es->n = d.dim;
    es->lambda0 = d.popsize;
    es->mu0 = desc->mu; /* 0: lambda/2 in every run */
    es->lambda_max = plan.lambda_max;
    es->restarts = d.restarts;
    es->has_ftarget = d.has_ftarget ? 1 : 0;
    es->active = d.active == SP_CMAES_ACTIVE_ON;
    es->max_evals = d.max_evals;
    es->sigma0 = d.sigma0;
    es->ftarget = d.ftarget;
    es->tolfun = d.tolfun;
    es->tolx = d.tolx;
    es->maxcond = d.maxcond;
    es->tolupsigma = d.tolupsigma;
    es->incpopsize = d.incpopsize;
    es->damps_factor = d.damps_factor;
    es->hist_cap = plan.hist_cap;
    for (i = 0; i < d.dim; ++i) {
        double lb = d.lower ? d.lower[i] : -HUGE_VAL, ub = d.upper ? d.upper[i] : HUGE_VAL;
        es->lower[i] = lb;
        es->upper[i] = ub;
        if (d.x0) es->x0[i] = d.x0[i];
        else if (lb > -HUGE_VAL && ub < HUGE_VAL) es->x0[i] = 0.5 * (lb + ub);
        else es->x0[i] = 0.0;
    }
    sm = d.seed;
    for (i = 0; i < 4; ++i) es->rng[i] = sp__splitmix64(&sm);
    es->has_spare = 0;
    es->gauss_spare = 0.0;
    es->run = 0;
    es->lambda = es->lambda0;
    es->stop = SP_CMAES_RUNNING;
    es->run_stop = SP_CMAES_RUNNING;
    es->evals = 0;
    es->gen_total = 0;
    es->fbest = HUGE_VAL;
    es->fbest_gen = HUGE_VAL;
    es->evals_best = 0;
    sp__cmaes_bound(es, es->x0, es->xbest);
    sp__cmaes_start_run(es);
    return SP_OK;
}

SP_API sp_result_t sp_cmaes_create(sp_cmaes_t *es, const sp_cmaes_desc_t *desc) {
    size_t bytes;
    void *mem;
    sp_result_t r;
    sp_allocator_t a;
    if (!es || !desc) return SP_ERR_BAD_ARG;
    bytes = sp_cmaes_workspace_size(desc);
    if (bytes == 0) return sp_cmaes_init(es, desc, NULL, 0); /* reports the argument error */
    a = desc->allocator;
    mem = sp__alloc(&a, bytes);
    if (!mem) return SP_ERR_NO_MEMORY;
    r = sp_cmaes_init(es, desc, mem, bytes);
    if (r != SP_OK) {
        sp__free(&a, mem);
        return r;
    }
    es->owned = mem;
    es->allocator = a;
    return SP_OK;
}

SP_API void sp_cmaes_destroy(sp_cmaes_t *es) {
    if (!es) return;
    if (es->owned) sp__free(&es->allocator, es->owned);
    es->owned = NULL;
}

SP_API sp_result_t sp_cmaes_ask(sp_cmaes_t *es, const double **out_pop, int *out_lambda) {
    int n, k, i, j;
    if (!es || !out_pop || !out_lambda) return SP_ERR_BAD_ARG;
    if (es->stop != SP_CMAES_RUNNING) return SP_ERR_RANGE;
    n = es->n;
    if (!es->asked) {
        double *z = es->tmp, *dz = es->tmp + n;
        for (k = 0; k < es->lambda; ++k) {
            double *x = es->arx + (size_t)k * n, s2 = 0.0;
            /* x_k = m + sigma B D z_k,  z_k ~ N(0, I) */
            for (i = 0; i < n; ++i) {
                z[i] = sp__cmaes_gauss(es);
                s2 += z[i] * z[i];
                dz[i] = es->D[i] * z[i];
            }
            es->znorm2[k] = s2;
            for (i = 0; i < n; ++i) {
                const double *SP_RESTRICT bi = es->B + (size_t)i * n;
                double y = 0.0;
                for (j = 0; j < n; ++j) y += bi[j] * dz[j];
                x[i] = es->xmean[i] + es->sigma * y;
            }
            if (es->bounded) sp__cmaes_bound(es, x, es->pheno + (size_t)k * n);
        }
        es->asked = 1;
    }
    *out_pop = es->pheno;
    *out_lambda = es->lambda;
    return SP_OK;
}

/* Eigen-decomposition of C into B, D; returns a stop reason or RUNNING. */
SP__PRIVATE int sp__cmaes_eigen(sp_cmaes_t *es) {
    int n = es->n, i, j;
    double dmin, dmax;
    for (i = 0; i < n; ++i) /* C keeps its upper triangle; eigsym reads the lower one */
        for (j = i; j < n; ++j) es->B[(size_t)j * n + i] = es->C[(size_t)i * n + j];
    if (sp_linalg_eigsym(n, es->B, n, es->D, es->eigwork) != SP_OK) return SP_CMAES_STOP_NUMERIC;
    es->eigen_gen = es->gen;
    dmin = es->D[0];
    dmax = es->D[n - 1];
    for (i = 0; i < n; ++i) es->D[i] = es->D[i] > 0.0 ? sqrt(es->D[i]) : 1e-300;
    if (!(dmin > 0.0) || dmax > es->maxcond * dmin) return SP_CMAES_STOP_CONDITION;
    return SP_CMAES_RUNNING;
}

/* Run-level stopping rules (tutorial B.3), checked after each generation. */
SP__PRIVATE int sp__cmaes_check_run(sp_cmaes_t *es, int eig_status) {
    int n = es->n, i, k, lam = es->lambda;
    double s = es->sigma;
    if (eig_status != SP_CMAES_RUNNING) return eig_status;
    /* TolFun: best values of the last 10 + ceil(30 n / lambda) generations and
       all values of this generation lie within tolfun */
    {
        int h = 10 + (30 * n + lam - 1) / lam;
        if (h > es->hist_cap) h = es->hist_cap;
        if (es->gen >= h) {
            double lo = es->fvals[es->idx[0]], hi = es->fvals[es->idx[lam - 1]];
            for (k = 1; k <= h; ++k) {
                double v = es->hist_best[(es->hist_pos - k + es->hist_cap) % es->hist_cap];
                if (v < lo) lo = v;
                if (v > hi) hi = v;
            }
            if (hi - lo < es->tolfun) return SP_CMAES_STOP_TOLFUN;
        }
    }
    /* TolX */
    for (i = 0; i < n; ++i) {
        double sd = sqrt(es->C[(size_t)i * n + i]), p = fabs(es->pc[i]);
        if (s * (sd > p ? sd : p) >= es->tolx) break;
    }
    if (i == n) return SP_CMAES_STOP_TOLX;
    /* NoEffectAxis: principal axis gen mod n */
    {
        int ax = es->gen % n;
        double f = 0.1 * s * es->D[ax];
        for (i = 0; i < n; ++i)
            if (es->xmean[i] + f * es->B[(size_t)i * n + ax] != es->xmean[i]) break;
        if (i == n) return SP_CMAES_STOP_NOEFFECT_AXIS;
    }
    /* NoEffectCoord */
    for (i = 0; i < n; ++i)
        if (es->xmean[i] + 0.2 * s * sqrt(es->C[(size_t)i * n + i]) == es->xmean[i])
            return SP_CMAES_STOP_NOEFFECT_COORD;
    /* TolUpSigma */
    if (s / es->sigma0 > es->tolupsigma * es->D[n - 1]) return SP_CMAES_STOP_TOLUPSIGMA;
    /* Stagnation: window of the last 20% of generations, at least
       120 + 30 n / lambda, at most the history length; compare the medians of
       its oldest and newest 30% for both the best and the median f */
    {
        int w = 120 + (30 * n) / lam, w2 = (int)ceil(0.2 * es->gen), m3, j;
        if (w2 > w) w = w2;
        if (w > es->hist_cap) w = es->hist_cap;
        if (es->gen >= w && es->hist_count >= w) {
            double old_b = 0.0, new_b = 0.0, old_m = 0.0, new_m = 0.0;
            m3 = (int)ceil(0.3 * w);
            for (j = 0; j < 2; ++j) {
                const double *hsrc = j ? es->hist_median : es->hist_best;
                double med_old, med_new;
                for (k = 0; k < m3; ++k)
                    es->scratch[k] = hsrc[(es->hist_pos - w + k + es->hist_cap) % es->hist_cap];
                med_old = sp__cmaes_select(es->scratch, m3, (m3 - 1) / 2);
                for (k = 0; k < m3; ++k)
                    es->scratch[k] = hsrc[(es->hist_pos - m3 + k + es->hist_cap) % es->hist_cap];
                med_new = sp__cmaes_select(es->scratch, m3, (m3 - 1) / 2);
                if (j) { old_m = med_old; new_m = med_new; }
                else { old_b = med_old; new_b = med_new; }
            }
            if (new_b >= old_b && new_m >= old_m) return SP_CMAES_STOP_STAGNATION;
        }
    }
    return SP_CMAES_RUNNING;
}

SP_API sp_result_t sp_cmaes_tell(sp_cmaes_t *es, const double *fvals) {
    int n, lam, mu, i, j, k, eig = SP_CMAES_RUNNING, reason;
    double *yw, *t1, *t2, sigma, psn, hsig, a, fmin;
    if (!es || !fvals) return SP_ERR_BAD_ARG;
    if (es->stop != SP_CMAES_RUNNING) return SP_ERR_RANGE;
    if (!es->asked) return SP_ERR_BAD_ARG;
    n = es->n;
    lam = es->lambda;
    mu = es->mu;
    sigma = es->sigma;
    yw = es->tmp;
    t1 = es->tmp + n;
    t2 = es->tmp + 2 * n;

    /* rank: NaN counts as +Inf */
    for (k = 0; k < lam; ++k) es->fvals[k] = (fvals[k] != fvals[k]) ? HUGE_VAL : fvals[k];
    sp__cmaes_sort(es->fvals, es->idx, es->idx_tmp, lam);
    es->evals += lam;
    es->asked = 0;
    fmin = es->fvals[es->idx[0]];
    es->fbest_gen = fmin;
    if (fmin < es->fbest) {
        es->fbest = fmin;
        es->evals_best = es->evals;
        memcpy(es->xbest, es->pheno + (size_t)es->idx[0] * n, (size_t)n * sizeof(double));
    }
    es->hist_best[es->hist_pos] = fmin;
    es->hist_median[es->hist_pos] = es->fvals[es->idx[lam / 2]];
    es->hist_pos = (es->hist_pos + 1) % es->hist_cap;
    if (es->hist_count < es->hist_cap) ++es->hist_count;

    /* m <- sum_{i<mu} w_i x_{i:lambda};  y_w = (m - m_old) / sigma */
    memcpy(es->xold, es->xmean, (size_t)n * sizeof(double));
    for (i = 0; i < n; ++i) es->xmean[i] = 0.0;
    for (k = 0; k < mu; ++k) {
        const double *SP_RESTRICT x = es->arx + (size_t)es->idx[k] * n;
        double w = es->weights[k];
        for (i = 0; i < n; ++i) es->xmean[i] += w * x[i];
    }
    for (i = 0; i < n; ++i) yw[i] = (es->xmean[i] - es->xold[i]) / sigma;

    /* p_s <- (1-cs) p_s + sqrt(cs (2-cs) mueff) C^-1/2 y_w,  C^-1/2 = B D^-1 B^T */
    for (j = 0; j < n; ++j) t1[j] = 0.0;
    for (i = 0; i < n; ++i) {
        const double *SP_RESTRICT bi = es->B + (size_t)i * n;
        for (j = 0; j < n; ++j) t1[j] += bi[j] * yw[i];
    }
    for (j = 0; j < n; ++j) t1[j] /= es->D[j];
    for (i = 0; i < n; ++i) {
        const double *SP_RESTRICT bi = es->B + (size_t)i * n;
        double s = 0.0;
        for (j = 0; j < n; ++j) s += bi[j] * t1[j];
        t2[i] = s;
    }
    {
        double c = sqrt(es->cs * (2.0 - es->cs) * es->mueff);
        psn = 0.0;
        for (i = 0; i < n; ++i) {
            es->ps[i] = (1.0 - es->cs) * es->ps[i] + c * t2[i];
            psn += es->ps[i] * es->ps[i];
        }
        psn = sqrt(psn);
    }
    /* h_sigma stalls p_c when |p_s| is large (tutorial eq. 45) */
    hsig = (psn / sqrt(1.0 - pow(1.0 - es->cs, 2.0 * (es->gen + 1))) / es->chi_n <
            1.4 + 2.0 / (n + 1.0))
               ? 1.0
               : 0.0;
    {
        double c = hsig * sqrt(es->cc * (2.0 - es->cc) * es->mueff);
        for (i = 0; i < n; ++i) es->pc[i] = (1.0 - es->cc) * es->pc[i] + c * yw[i];
    }

    /* C <- (1 + c1 delta(h) - c1 - cmu sum w) C + c1 pc pc^T + cmu sum w_i° y_i y_i^T
       (upper triangle only) */
    a = 1.0 + es->c1 * (1.0 - hsig) * es->cc * (2.0 - es->cc) - es->c1 - es->cmu * es->sum_w;
    for (i = 0; i < n; ++i) {
        double *SP_RESTRICT ci = es->C + (size_t)i * n;
        double p = es->c1 * es->pc[i];
        for (j = i; j < n; ++j) ci[j] = a * ci[j] + p * es->pc[j];
    }
    {
        int nk = es->active ? lam : mu;
        double inv_s2 = 1.0 / (sigma * sigma);
        for (k = 0; k < nk; ++k) {
            const double *SP_RESTRICT x = es->arx + (size_t)es->idx[k] * n;
            double w = es->weights[k], coef;
            if (w == 0.0) continue;
            if (w < 0.0) { /* w° = w n / |C^-1/2 y|^2, and C^-1/2 y = B z */
                double z2 = es->znorm2[es->idx[k]];
                w *= (z2 > 0.0) ? n / z2 : 0.0;
            }
            coef = es->cmu * w * inv_s2;
            for (i = 0; i < n; ++i) t1[i] = x[i] - es->xold[i];
            for (i = 0; i < n; ++i) {
                double *SP_RESTRICT ci = es->C + (size_t)i * n;
                double p = coef * t1[i];
                for (j = i; j < n; ++j) ci[j] += p * t1[j];
            }
        }
    }

    /* CSA: sigma <- sigma exp(min(1, cs/damps (|p_s|/E|N(0,I)| - 1))) */
    {
        double e = (es->cs / es->damps) * (psn / es->chi_n - 1.0);
        if (e > 1.0) e = 1.0;
        es->sigma = sigma * exp(e);
    }
    /* flat fitness: the best 70% share one value -> enlarge sigma (tutorial B.3) */
    {
        int q = (int)ceil(0.7 * lam);
        if (q > lam - 1) q = lam - 1;
        if (es->fvals[es->idx[0]] == es->fvals[es->idx[q]])
            es->sigma *= exp(0.2 + es->cs / es->damps);
    }
    ++es->gen;
    ++es->gen_total;

    if (es->gen - es->eigen_gen >= es->eigen_gap) eig = sp__cmaes_eigen(es);

    /* final stops */
    if (es->has_ftarget && fmin <= es->ftarget) {
        es->stop = es->run_stop = SP_CMAES_STOP_FTARGET;
        return SP_OK;
    }
    if (es->max_evals > 0 && es->evals >= es->max_evals) {
        es->stop = es->run_stop = SP_CMAES_STOP_MAXEVALS;
        return SP_OK;
    }
    reason = sp__cmaes_check_run(es, eig);
    if (reason != SP_CMAES_RUNNING) {
        es->run_stop = reason;
        if (es->run < es->restarts) {
            /* IPOP: restart with a larger population */
            ++es->run;
            es->lambda = sp__cmaes_next_lambda(es->lambda, es->incpopsize);
            if (es->lambda > es->lambda_max || es->lambda < 0) es->lambda = es->lambda_max;
            sp__cmaes_start_run(es);
        } else {
            es->stop = reason;
        }
    }
    return SP_OK;
}

SP_API sp_cmaes_stop_t sp_cmaes_stop(const sp_cmaes_t *es) {
    return es ? (sp_cmaes_stop_t)es->stop : SP_CMAES_STOP_NUMERIC;
}

SP_API const double *sp_cmaes_best_x(const sp_cmaes_t *es) { return es ? es->xbest : NULL; }

SP_API double sp_cmaes_best_f(const sp_cmaes_t *es) { return es ? es->fbest : HUGE_VAL; }

SP_API void sp_cmaes_mean(const sp_cmaes_t *es, double *out_x) {
    if (!es || !out_x) return;
    sp__cmaes_bound(es, es->xmean, out_x);
}

SP_API int sp_cmaes_format_progress(const sp_cmaes_t *es, char *buf, size_t size) {
    double axis;
    if (!es) return 0;
    axis = es->D[0] > 0.0 ? es->D[es->n - 1] / es->D[0] : HUGE_VAL;
    return snprintf(buf, size,
                    "run %d gen %d evals %lld lambda %d sigma %.3e axis %.2e fgen %.10e "
                    "fbest %.10e%s%s",
                    es->run, es->gen, (long long)es->evals, es->lambda, es->sigma, axis,
                    es->fbest_gen, es->fbest, es->stop ? " stop " : "",
                    es->stop ? sp_cmaes_stop_str((sp_cmaes_stop_t)es->stop) : "");
}

SP_API sp_result_t sp_cmaes_minimize(const sp_cmaes_desc_t *desc, sp_cmaes_batch_fn fn,
                                     void *user, double *out_xbest,
                                     sp_cmaes_result_t *out_result) {
    sp_cmaes_t es;
    sp_allocator_t a;
    size_t bytes, fbytes;
    void *mem;
    double *f;
    sp_result_t r;
    if (!desc || !fn) return SP_ERR_BAD_ARG;
    bytes = sp_cmaes_workspace_size(desc);
    if (bytes == 0) return sp_cmaes_init(&es, desc, NULL, 0);
    a = desc->allocator;
    bytes = (bytes + 63u) & ~(size_t)63u;
    /* lambda_max function values after the workspace */
    {
        sp__cmaes_plan_t plan;
        sp__cmaes_plan(desc, &plan);
        fbytes = (size_t)plan.lambda_max * sizeof(double) + 64u;
    }
    mem = sp__alloc(&a, bytes + fbytes);
    if (!mem) return SP_ERR_NO_MEMORY;
    r = sp_cmaes_init(&es, desc, mem, bytes);
    if (r != SP_OK) {
        sp__free(&a, mem);
        return r;
    }
    f = (double *)(void *)(((uintptr_t)((char *)mem + bytes) + 63u) & ~(uintptr_t)63u);
    while (es.stop == SP_CMAES_RUNNING) {
        const double *pop;
        int lambda;
        sp_cmaes_ask(&es, &pop, &lambda);
        if (fn(pop, lambda, es.n, f, user) != 0) {
            es.stop = SP_CMAES_STOP_USER;
            break;
        }
        sp_cmaes_tell(&es, f);
    }
    if (out_xbest) memcpy(out_xbest, es.xbest, (size_t)es.n * sizeof(double));
    if (out_result) {
        out_result->fbest = es.fbest;
        out_result->evals = es.evals;
        out_result->evals_best = es.evals_best;
        out_result->generations = es.gen_total;
        out_result->runs = es.run + 1;
        out_result->lambda = es.lambda;
        out_result->stop = (sp_cmaes_stop_t)es.stop;
        out_result->run_stop =
            es.stop == SP_CMAES_STOP_USER ? SP_CMAES_STOP_USER : (sp_cmaes_stop_t)es.run_stop;
    }
    sp__free(&a, mem);
    return SP_OK;
}

#undef SP__CMAES_HIST
/* ==================================================================
 * >>ridge   implementation
 * ==================================================================
 * Packed layout: pending row k (0 <= k < block_rows), column j lives at
 * pack[(j / 8) * block_rows * 8 + k * 8 + j % 8], scaled by sqrt(w_k);
 * columns p..p_pad-1 are zero. A block update adds, for every pair of
 * strips I <= J, the 8 x 8 tile sum_k strip_I[k]^T strip_J[k] into G. */

#define SP__RIDGE_W 8 /* strip width (columns) */
#if defined(__AVX512F__)
#define SP__RIDGE_MR 8 /* micro-tile rows: 8 x 8 fits AVX-512's registers */
#else
#define SP__RIDGE_MR 4 /* 4 x 8 fits 16 AVX2 / SSE2 registers */
#endif
#define SP__RIDGE_ALIGN 64
#define SP__RIDGE_EPS 2.220446049250313e-16 /* DBL_EPSILON */

SP__PRIVATE size_t sp__ridge_round(size_t n) {
    return (n + SP__RIDGE_ALIGN - 1) / SP__RIDGE_ALIGN * SP__RIDGE_ALIGN;
}

/* Micro-kernel: c (MR x 8) = sum_k a[k*8 + 0..MR-1]^T b[k*8 + 0..7], then
   g[i*ldg + j] += c[i][j] for i < mr, j < nr (and j >= i + diag when diag >= 0,
   i.e. only the upper triangle on diagonal tiles). Written as separate row
   accumulators with a splat of a[i], which gcc turns into broadcast-multiply
   and add on whole vector registers. */
SP__PRIVATE void sp__ridge_kernel(int kb, const double *SP_RESTRICT a,
                                  const double *SP_RESTRICT b, double *SP_RESTRICT g,
                                  int ldg, int mr, int nr, int diag) {
    double c0[8], c1[8], c2[8], c3[8];
#if SP__RIDGE_MR == 8
    double c4[8], c5[8], c6[8], c7[8];
#endif
    int j, k;
    for (j = 0; j < 8; ++j) {
        c0[j] = 0.0; c1[j] = 0.0; c2[j] = 0.0; c3[j] = 0.0;
#if SP__RIDGE_MR == 8
        c4[j] = 0.0; c5[j] = 0.0; c6[j] = 0.0; c7[j] = 0.0;
#endif
    }
    for (k = 0; k < kb; ++k) {
        const double *ak = a + (size_t)k * SP__RIDGE_W, *bk = b + (size_t)k * SP__RIDGE_W;
        double a0 = ak[0], a1 = ak[1], a2 = ak[2], a3 = ak[3];
#if SP__RIDGE_MR == 8
        double a4 = ak[4], a5 = ak[5], a6 = ak[6], a7 = ak[7];
#endif
        for (j = 0; j < 8; ++j) {
            double bj = bk[j];
            c0[j] += a0 * bj; c1[j] += a1 * bj; c2[j] += a2 * bj; c3[j] += a3 * bj;
#if SP__RIDGE_MR == 8
            c4[j] += a4 * bj; c5[j] += a5 * bj; c6[j] += a6 * bj; c7[j] += a7 * bj;
#endif
        }
    }
    if (mr == SP__RIDGE_MR && nr == 8 && diag < 0) {
        for (j = 0; j < 8; ++j) {
            g[j] += c0[j]; g[ldg + j] += c1[j];
            g[2 * ldg + j] += c2[j]; g[3 * ldg + j] += c3[j];
#if SP__RIDGE_MR == 8
            g[4 * ldg + j] += c4[j]; g[5 * ldg + j] += c5[j];
            g[6 * ldg + j] += c6[j]; g[7 * ldg + j] += c7[j];
#endif
        }
    } else {
        int i;
        for (i = 0; i < mr; ++i) {
            const double *ci = i == 0 ? c0 : i == 1 ? c1 : i == 2 ? c2 : c3;
#if SP__RIDGE_MR == 8
            if (i >= 4) ci = i == 4 ? c4 : i == 5 ? c5 : i == 6 ? c6 : c7;
#endif
            for (j = diag >= 0 ? diag + i : 0; j < nr; ++j) g[(size_t)i * ldg + j] += ci[j];
        }
    }
}

SP_API sp_ridge_desc_t sp_ridge_desc_defaults(const sp_ridge_desc_t *desc) {
    sp_ridge_desc_t d;
    if (desc) d = *desc;
    else memset(&d, 0, sizeof d);
    if (d.block_rows == 0) d.block_rows = 256;
    return d;
}

SP__PRIVATE int sp__ridge_desc_ok(const sp_ridge_desc_t *d) {
    return d->p >= 1 && d->block_rows >= 8 && d->block_rows <= 65536 && d->num_threads >= 0;
}

SP__PRIVATE size_t sp__ridge_ppad(int p) { return ((size_t)p + 7) / 8 * 8; }

SP_API size_t sp_ridge_workspace_size(const sp_ridge_desc_t *desc) {
    sp_ridge_desc_t d = sp_ridge_desc_defaults(desc);
    size_t p, pp, total;
    if (!desc || !sp__ridge_desc_ok(&d)) return 0;
    p = (size_t)d.p;
    pp = sp__ridge_ppad(d.p);
    if (p > ((size_t)-1) / 16 / p) return 0;
    if (pp > ((size_t)-1) / 16 / (size_t)d.block_rows) return 0;
    total = SP__RIDGE_ALIGN;                                   /* base alignment */
    total += sp__ridge_round(p * p * sizeof(double));          /* G */
    total += sp__ridge_round(p * sizeof(double));              /* b */
    total += sp__ridge_round(pp * (size_t)d.block_rows * sizeof(double)); /* pack */
    total += sp__ridge_round((size_t)d.block_rows * sizeof(double));      /* pack_y */
    return total;
}

SP_API sp_result_t sp_ridge_init(sp_ridge_t *r, const sp_ridge_desc_t *desc, void *mem,
                                 size_t bytes) {
    sp_ridge_desc_t d = sp_ridge_desc_defaults(desc);
    size_t need, p, pp;
    unsigned char *m;
    if (!r || !desc || !mem || !sp__ridge_desc_ok(&d)) return SP_ERR_BAD_ARG;
    need = sp_ridge_workspace_size(&d);
    if (need == 0) return SP_ERR_BAD_ARG;
    if (bytes < need) return SP_ERR_WORKSPACE_TOO_SMALL;
    p = (size_t)d.p;
    pp = sp__ridge_ppad(d.p);
    memset(r, 0, sizeof *r);
    m = (unsigned char *)mem;
    m += (SP__RIDGE_ALIGN - (size_t)((uintptr_t)m % SP__RIDGE_ALIGN)) % SP__RIDGE_ALIGN;
    r->G = (double *)(void *)m;
    m += sp__ridge_round(p * p * sizeof(double));
    r->b = (double *)(void *)m;
    m += sp__ridge_round(p * sizeof(double));
    r->pack = (double *)(void *)m;
    m += sp__ridge_round(pp * (size_t)d.block_rows * sizeof(double));
    r->pack_y = (double *)(void *)m;
    r->p = d.p;
    r->block_rows = d.block_rows;
    r->num_threads = d.num_threads;
    r->allocator = d.allocator;
    sp_ridge_reset(r);
    return SP_OK;
}

SP_API sp_result_t sp_ridge_create(sp_ridge_t *r, const sp_ridge_desc_t *desc) {
    sp_ridge_desc_t d = sp_ridge_desc_defaults(desc);
    size_t need;
    void *mem;
    sp_result_t res;
    if (!r || !desc || !sp__ridge_desc_ok(&d)) return SP_ERR_BAD_ARG;
    need = sp_ridge_workspace_size(&d);
    if (need == 0) return SP_ERR_NO_MEMORY;
    mem = sp__alloc(&d.allocator, need);
    if (!mem) return SP_ERR_NO_MEMORY;
    res = sp_ridge_init(r, &d, mem, need);
    if (res != SP_OK) {
        sp__free(&d.allocator, mem);
        return res;
    }
    r->owned = mem;
    return SP_OK;
}

SP_API void sp_ridge_destroy(sp_ridge_t *r) {
    if (!r) return;
    if (r->owned) sp__free(&r->allocator, r->owned);
    memset(r, 0, sizeof *r);
}

SP_API void sp_ridge_reset(sp_ridge_t *r) {
    size_t p;
    if (!r || !r->G) return;
    p = (size_t)r->p;
    memset(r->G, 0, p * p * sizeof(double));
    memset(r->b, 0, p * sizeof(double));
    memset(r->pack, 0, sp__ridge_ppad(r->p) * (size_t)r->block_rows * sizeof(double));
    memset(r->pack_y, 0, (size_t)r->block_rows * sizeof(double));
    r->yty = r->ysum = r->wsum = 0.0;
    r->nrows = 0;
    r->pending = 0;
}

/* The block update, run by every thread of the enclosing parallel region
   (orphaned worksharing loops; serial when called outside one). Each b
   strip and each G tile is owned by one thread per block and summed over
   the rows in order, so the result does not depend on the thread count. */
SP__PRIVATE void sp__ridge_update(sp_ridge_t *r, int ns, int kb, int js, int nmacro) {
    const double *pk = r->pack;
    const int p = r->p, cap = r->block_rows;
    int s, jm;
    /* b += Pk^T yk, one strip per iteration */
#ifdef SP__OMP
#pragma omp for schedule(static)
#endif
    for (s = 0; s < ns; ++s) {
        const double *st = pk + (size_t)s * cap * SP__RIDGE_W;
        double acc[SP__RIDGE_W];
        int k, jj, nc = p - s * SP__RIDGE_W < SP__RIDGE_W ? p - s * SP__RIDGE_W : SP__RIDGE_W;
        for (jj = 0; jj < SP__RIDGE_W; ++jj) acc[jj] = 0.0;
        for (k = 0; k < kb; ++k) {
            double yk = r->pack_y[k];
            for (jj = 0; jj < SP__RIDGE_W; ++jj) acc[jj] += st[(size_t)k * SP__RIDGE_W + jj] * yk;
        }
        for (jj = 0; jj < nc; ++jj) r->b[s * SP__RIDGE_W + jj] += acc[jj];
    }
    /* G(upper) += Pk^T Pk: macro panels of js strips J (kept in L2), tasks
       (strip I, panel) with I <= the panel's last strip */
    for (jm = 0; jm < nmacro; ++jm) {
        int j0 = jm * js, j1 = j0 + js < ns ? j0 + js : ns, I;
#ifdef SP__OMP
#pragma omp for schedule(dynamic, 1) nowait
#endif
        for (I = 0; I < j1; ++I) {
            const double *sa = pk + (size_t)I * cap * SP__RIDGE_W;
            int h, J;
            for (h = 0; h < SP__RIDGE_W; h += SP__RIDGE_MR) {
                int row0 = I * SP__RIDGE_W + h;
                int mr = p - row0 < SP__RIDGE_MR ? p - row0 : SP__RIDGE_MR;
                if (mr <= 0) break;
                for (J = I > j0 ? I : j0; J < j1; ++J) {
                    int col0 = J * SP__RIDGE_W;
                    int nr = p - col0 < SP__RIDGE_W ? p - col0 : SP__RIDGE_W;
                    sp__ridge_kernel(kb, sa + h, pk + (size_t)J * cap * SP__RIDGE_W,
                                     r->G + (size_t)row0 * p + col0, p, mr, nr,
                                     J == I ? h : -1);
                }
            }
        }
    }
}

SP_API void sp_ridge_flush(sp_ridge_t *r) {
    int ns, kb, js, nmacro;
    if (!r || !r->G || r->pending == 0) return;
    ns = (r->p + SP__RIDGE_W - 1) / SP__RIDGE_W;
    kb = r->pending;
    /* B strips kept hot per macro panel: about 256 KiB of packed rows */
    js = (int)(32768 / ((size_t)kb * SP__RIDGE_W));
    if (js < 1) js = 1;
    nmacro = (ns + js - 1) / js;
#ifdef SP__OMP
    {
        int nt = r->num_threads > 0 ? r->num_threads : omp_get_max_threads();
        double flops = (double)kb * (double)r->p * (double)r->p;
#pragma omp parallel num_threads(nt) if (nt > 1 && flops > 4e6)
        sp__ridge_update(r, ns, kb, js, nmacro);
    }
#else
    sp__ridge_update(r, ns, kb, js, nmacro);
#endif
    r->pending = 0;
}

SP_API sp_result_t sp_ridge_add_rows(sp_ridge_t *r, int nrows, const double *X, int ldx,
                                     const double *y, const double *w) {
    int i, j, p, ns;
    if (!r || !r->G || nrows < 0) return SP_ERR_BAD_ARG;
    if (nrows == 0) return SP_OK;
    p = r->p;
    if (!X || ldx < p) return SP_ERR_BAD_ARG;
    /* validate everything first (cheap next to the update: 1/p of its cost) */
    for (i = 0; i < nrows; ++i) {
        const double *xr = X + (size_t)i * ldx;
        double bad = 0.0;
        for (j = 0; j < p; ++j) bad += xr[j] - xr[j];
        if (bad != 0.0) return SP_ERR_NOT_FINITE; /* inf - inf and NaN give NaN */
        if (y && !sp__isfinite(y[i])) return SP_ERR_NOT_FINITE;
        if (w) {
            if (!sp__isfinite(w[i])) return SP_ERR_NOT_FINITE;
            if (w[i] < 0.0) return SP_ERR_BAD_ARG;
        }
    }
    ns = (p + SP__RIDGE_W - 1) / SP__RIDGE_W;
    for (i = 0; i < nrows; ++i) {
        const double *xr = X + (size_t)i * ldx;
        double wi = w ? w[i] : 1.0, sw = w ? sqrt(w[i]) : 1.0, yi = y ? y[i] : 0.0;
        int s;
        if (r->pending == r->block_rows) sp_ridge_flush(r);
        for (s = 0; s < ns; ++s) {
            double *dst = r->pack + ((size_t)s * r->block_rows + (size_t)r->pending) * SP__RIDGE_W;
            const double *src = xr + s * SP__RIDGE_W;
            int jj, nc = p - s * SP__RIDGE_W < SP__RIDGE_W ? p - s * SP__RIDGE_W : SP__RIDGE_W;
            if (nc == SP__RIDGE_W) {
                for (jj = 0; jj < SP__RIDGE_W; ++jj) dst[jj] = sw * src[jj];
            } else {
                for (jj = 0; jj < nc; ++jj) dst[jj] = sw * src[jj];
                for (; jj < SP__RIDGE_W; ++jj) dst[jj] = 0.0;
            }
        }
        r->pack_y[r->pending] = sw * yi;
        r->pending++;
        r->yty += wi * yi * yi;
        r->ysum += wi * yi;
        r->wsum += wi;
        r->nrows++;
    }
    return SP_OK;
}

SP_API sp_result_t sp_ridge_merge(sp_ridge_t *dst, double alpha, sp_ridge_t *src, double beta) {
    size_t i, n;
    if (!dst || !src || !dst->G || !src->G || dst->p != src->p) return SP_ERR_BAD_ARG;
    if (!sp__isfinite(alpha) || !sp__isfinite(beta)) return SP_ERR_BAD_ARG;
    sp_ridge_flush(dst);
    sp_ridge_flush(src);
    n = (size_t)dst->p * (size_t)dst->p;
    if (dst == src) {
        for (i = 0; i < n; ++i) dst->G[i] *= alpha + beta;
        for (i = 0; i < (size_t)dst->p; ++i) dst->b[i] *= alpha + beta;
        dst->yty *= alpha + beta;
        dst->ysum *= alpha + beta;
        dst->wsum *= alpha + beta;
        dst->nrows += dst->nrows;
        return SP_OK;
    }
    for (i = 0; i < n; ++i) dst->G[i] = alpha * dst->G[i] + beta * src->G[i];
    for (i = 0; i < (size_t)dst->p; ++i) dst->b[i] = alpha * dst->b[i] + beta * src->b[i];
    dst->yty = alpha * dst->yty + beta * src->yty;
    dst->ysum = alpha * dst->ysum + beta * src->ysum;
    dst->wsum = alpha * dst->wsum + beta * src->wsum;
    dst->nrows += src->nrows;
    return SP_OK;
}

SP_API sp_result_t sp_ridge_get_gram(sp_ridge_t *r, double *out_G) {
    size_t i, j, p;
    if (!r || !r->G || !out_G) return SP_ERR_BAD_ARG;
    sp_ridge_flush(r);
    p = (size_t)r->p;
    for (i = 0; i < p; ++i)
        for (j = 0; j < p; ++j) out_G[i * p + j] = j >= i ? r->G[i * p + j] : r->G[j * p + i];
    return SP_OK;
}

SP_API double sp_ridge_sse(sp_ridge_t *r, const double *c) {
    size_t i, j, p;
    double quad = 0.0, lin = 0.0;
    if (!r || !r->G || !c) return 0.0;
    sp_ridge_flush(r);
    p = (size_t)r->p;
    for (i = 0; i < p; ++i) {
        const double *gi = r->G + i * p;
        double off = 0.0;
        for (j = i + 1; j < p; ++j) off += gi[j] * c[j];
        quad += c[i] * (gi[i] * c[i] + 2.0 * off);
        lin += c[i] * r->b[i];
    }
    return r->yty - 2.0 * lin + quad;
}

/* --- penalties --- */

SP__PRIVATE int sp__ridge_range_ok(double *P, int p, int col0, int ncols, double lambda) {
    return P && p >= 1 && col0 >= 0 && ncols >= 0 && col0 <= p && ncols <= p - col0 &&
           sp__isfinite(lambda) && lambda >= 0.0;
}

SP_API sp_result_t sp_ridge_penalty_ridge(double *P, int p, int col0, int ncols, double lambda) {
    int i;
    if (!sp__ridge_range_ok(P, p, col0, ncols, lambda)) return SP_ERR_BAD_ARG;
    for (i = col0; i < col0 + ncols; ++i) P[(size_t)i * p + i] += lambda;
    return SP_OK;
}

SP_API sp_result_t sp_ridge_penalty_curvature(double *P, int p, int col0, int ncols,
                                              double lambda) {
    int i;
    if (!sp__ridge_range_ok(P, p, col0, ncols, lambda)) return SP_ERR_BAD_ARG;
    if (ncols < 2) return SP_OK;
    /* row i of D: 1 at i-1, -2 (ends: -1) at i, 1 at i+1; P += lambda r^T r */
    for (i = 0; i < ncols; ++i) {
        int c[3], n = 0, a, e;
        double v[3];
        if (i > 0) { c[n] = col0 + i - 1; v[n++] = 1.0; }
        c[n] = col0 + i; v[n++] = (i == 0 || i == ncols - 1) ? -1.0 : -2.0;
        if (i < ncols - 1) { c[n] = col0 + i + 1; v[n++] = 1.0; }
        for (a = 0; a < n; ++a)
            for (e = 0; e < n; ++e) P[(size_t)c[a] * p + c[e]] += lambda * (v[a] * v[e]);
    }
    return SP_OK;
}

SP_API sp_result_t sp_ridge_penalty_rows(double *P, int p, int nrows, const int *row_start,
                                         const int *cols, const double *vals, double lambda) {
    int k, a, e;
    if (!P || p < 1 || nrows < 0 || !row_start || !sp__isfinite(lambda) || lambda < 0.0)
        return SP_ERR_BAD_ARG;
    if (row_start[0] != 0) return SP_ERR_BAD_ARG;
    for (k = 0; k < nrows; ++k) {
        if (row_start[k + 1] < row_start[k]) return SP_ERR_BAD_ARG;
        if (row_start[k + 1] > row_start[k] && (!cols || !vals)) return SP_ERR_BAD_ARG;
        for (a = row_start[k]; a < row_start[k + 1]; ++a) {
            if (cols[a] < 0 || cols[a] >= p) return SP_ERR_BAD_ARG;
            if (!sp__isfinite(vals[a])) return SP_ERR_NOT_FINITE;
        }
    }
    for (k = 0; k < nrows; ++k)
        for (a = row_start[k]; a < row_start[k + 1]; ++a)
            for (e = row_start[k]; e < row_start[k + 1]; ++e)
                P[(size_t)cols[a] * p + cols[e]] += lambda * (vals[a] * vals[e]);
    return SP_OK;
}

/* --- solve --- */

SP_API sp_ridge_solve_desc_t sp_ridge_solve_desc_defaults(const sp_ridge_solve_desc_t *desc) {
    sp_ridge_solve_desc_t d;
    if (desc) d = *desc;
    else memset(&d, 0, sizeof d);
    if (d.cond_max == 0.0) d.cond_max = 1e10;
    return d;
}

SP_API size_t sp_ridge_solve_workspace_size(int p) {
    size_t n;
    if (p < 1) return 0;
    n = (size_t)p;
    if (n > ((size_t)-1) / 32 / n) return 0;
    return SP__RIDGE_ALIGN + 2 * sp__ridge_round(n * n * sizeof(double)) +
           sp__ridge_round(10 * n * sizeof(double)) + sp__ridge_round(n * sizeof(int));
}

/* Blocked right-looking Cholesky A = U^T U of the upper triangle (row-major,
   n x n, stride n), in place. Returns 0, or k+1 if pivot k is <= thresh. */
SP__PRIVATE int sp__ridge_chol(int n, double *A, double thresh, int nthreads) {
    const int nb = 64;
    int k0;
    (void)nthreads;
    for (k0 = 0; k0 < n; k0 += nb) {
        int k1 = k0 + nb < n ? k0 + nb : n, k, i;
        for (k = k0; k < k1; ++k) {
            double *ak = A + (size_t)k * n, d = ak[k], inv;
            int j;
            if (!(d > thresh) || !sp__isfinite(d)) return k + 1;
            d = sqrt(d);
            ak[k] = d;
            inv = 1.0 / d;
            for (j = k + 1; j < n; ++j) ak[j] *= inv;
            for (i = k + 1; i < k1; ++i) {
                double *ai = A + (size_t)i * n, u = ak[i];
                for (j = i; j < n; ++j) ai[j] -= u * ak[j];
            }
        }
        /* trailing rows: A_i,i: -= sum_{k in block} U_ki U_k,i: (rows owned by one thread) */
#ifdef SP__OMP
#pragma omp parallel for schedule(dynamic, 8) num_threads(nthreads) if (nthreads > 1 && n - k1 > 128)
#endif
        for (i = k1; i < n; ++i) {
            double *ai = A + (size_t)i * n;
            int kk, j;
            for (kk = k0; kk < k1; ++kk) {
                const double *ak = A + (size_t)kk * n;
                double u = ak[i];
                for (j = i; j < n; ++j) ai[j] -= u * ak[j];
            }
        }
    }
    return 0;
}

/* x = A^{-1} x with A = U^T U (U upper, row-major, stride n). */
SP__PRIVATE void sp__ridge_chol_solve(int n, const double *U, double *x) {
    int i, j;
    for (i = 0; i < n; ++i) { /* U^T z = x, column-oriented */
        const double *ui = U + (size_t)i * n;
        double zi = x[i] / ui[i];
        x[i] = zi;
        for (j = i + 1; j < n; ++j) x[j] -= ui[j] * zi;
    }
    for (i = n - 1; i >= 0; --i) { /* U x = z */
        const double *ui = U + (size_t)i * n;
        double s = x[i];
        for (j = i + 1; j < n; ++j) s -= ui[j] * x[j];
        x[i] = s / ui[i];
    }
}

/* Hager/Higham estimate of ||A^{-1}||_1 from the Cholesky factor (A symmetric). */
SP__PRIVATE double sp__ridge_inv_norm1(int n, const double *U, double *x, double *z) {
    double est = 0.0, alt = 0.0;
    int i, it, jlast = -1;
    for (i = 0; i < n; ++i) x[i] = 1.0 / n;
    for (it = 0; it < 5; ++it) {
        double nrm = 0.0, zmax = -1.0, ztx = 0.0;
        int jmax = 0;
        sp__ridge_chol_solve(n, U, x);
        for (i = 0; i < n; ++i) nrm += fabs(x[i]);
        if (it > 0 && nrm <= est) break;
        est = nrm;
        for (i = 0; i < n; ++i) z[i] = x[i] >= 0.0 ? 1.0 : -1.0;
        sp__ridge_chol_solve(n, U, z);
        for (i = 0; i < n; ++i) {
            if (fabs(z[i]) > zmax) { zmax = fabs(z[i]); jmax = i; }
        }
        /* z^T x_prev where x_prev = e_jlast (or 1/n) */
        if (jlast >= 0) ztx = z[jlast];
        else for (i = 0; i < n; ++i) ztx += z[i] / n;
        if (it > 0 && (zmax <= ztx || jmax == jlast)) break;
        for (i = 0; i < n; ++i) x[i] = 0.0;
        x[jmax] = 1.0;
        jlast = jmax;
    }
    for (i = 0; i < n; ++i) x[i] = (i % 2 ? -1.0 : 1.0) * (1.0 + (n > 1 ? (double)i / (n - 1) : 0.0));
    sp__ridge_chol_solve(n, U, x);
    for (i = 0; i < n; ++i) alt += fabs(x[i]);
    alt = 2.0 * alt / (3.0 * n);
    return est > alt ? est : alt;
}

SP_API sp_result_t sp_ridge_solve_gram(int p, const double *G, int ldg, const double *b,
                                       const sp_ridge_solve_desc_t *desc, double *out_c,
                                       sp_ridge_info_t *out_info, void *work, size_t work_bytes) {
    sp_ridge_solve_desc_t d = sp_ridge_solve_desc_defaults(desc);
    sp_ridge_info_t info;
    size_t need, np;
    unsigned char *m;
    double *A, *F, *scale, *rhs, *x, *t1, *t2, *ew, *ework;
    const double *P = d.P;
    int *fidx, *act;
    int i, j, k, n, nact, nthreads = 1;
    double rcond;
#define SP__RIDGE_SYM(M, ld, i_, j_) \
    ((i_) <= (j_) ? (M)[(size_t)(i_) * (ld) + (j_)] : (M)[(size_t)(j_) * (ld) + (i_)])

    /* validate */
    if (p < 1 || !G || !b || !out_c || ldg < p) return SP_ERR_BAD_ARG;
    if (d.n_frozen < 0 || d.n_frozen > p || (d.n_frozen > 0 && !d.frozen)) return SP_ERR_BAD_ARG;
    if ((int)d.method < 0 || (int)d.method > (int)SP_RIDGE_EIGEN) return SP_ERR_BAD_ARG;
    if (!(d.cond_max > 1.0) || !(d.rcond >= 0.0 && d.rcond < 1.0)) return SP_ERR_BAD_ARG;
    need = sp_ridge_solve_workspace_size(p);
    if (need == 0) return SP_ERR_BAD_ARG;
    if (!work || work_bytes < need) return SP_ERR_WORKSPACE_TOO_SMALL;
    np = (size_t)p;
    m = (unsigned char *)work;
    m += (SP__RIDGE_ALIGN - (size_t)((uintptr_t)m % SP__RIDGE_ALIGN)) % SP__RIDGE_ALIGN;
    A = (double *)(void *)m;
    m += sp__ridge_round(np * np * sizeof(double));
    F = (double *)(void *)m;
    m += sp__ridge_round(np * np * sizeof(double));
    scale = (double *)(void *)m;
    rhs = scale + np;
    x = rhs + np;
    t1 = x + np;
    t2 = t1 + np;
    ew = t2 + np;
    ework = ew + np; /* 2p */
    /* cvals = ework + 2p (p doubles): the solution before it is written out */
    m += sp__ridge_round(10 * np * sizeof(double));
    fidx = (int *)(void *)m;
    act = (int *)(void *)F; /* reuse F's memory for the active list until F is needed */
    for (i = 0; i < p; ++i) fidx[i] = 0;
    for (k = 0; k < d.n_frozen; ++k) {
        int f = d.frozen[k];
        if (f < 0 || f >= p || fidx[f]) return SP_ERR_BAD_ARG;
        fidx[f] = 1;
        if (d.frozen_values && !sp__isfinite(d.frozen_values[k])) return SP_ERR_NOT_FINITE;
    }
    for (i = 0; i < p; ++i) {
        if (!sp__isfinite(b[i])) return SP_ERR_NOT_FINITE;
        for (j = i; j < p; ++j) {
            if (!sp__isfinite(G[(size_t)i * ldg + j])) return SP_ERR_NOT_FINITE;
            if (P && !sp__isfinite(P[(size_t)i * np + j])) return SP_ERR_NOT_FINITE;
        }
    }
    /* frozen values into x (full length p, reused below as "c") */
    {
        double *cv = ework + 2 * np;
        for (i = 0; i < p; ++i) cv[i] = 0.0;
        for (k = 0; k < d.n_frozen; ++k)
            cv[d.frozen[k]] = d.frozen_values ? d.frozen_values[k] : 0.0;
    }
    memset(&info, 0, sizeof info);
    info.method = SP_RIDGE_AUTO;
    info.n_free = p - d.n_frozen;
    /* free columns with non-zero diagonal (the active set) */
    nact = 0;
    for (i = 0; i < p; ++i) {
        double dii;
        if (fidx[i]) continue;
        dii = G[(size_t)i * ldg + i] + (P ? P[(size_t)i * np + i] : 0.0);
        if (dii < 0.0) return SP_ERR_BAD_ARG;
        if (dii == 0.0) info.n_zero++;
        else act[nact++] = i;
    }
    n = nact;
    if (info.n_free == 0) {
        double *cv = ework + 2 * np;
        for (i = 0; i < p; ++i) out_c[i] = cv[i];
        if (out_info) *out_info = info;
        return SP_OK;
    }
    if (n == 0) {
        if (out_info) *out_info = info;
        return SP_ERR_SINGULAR;
    }
#ifdef SP__OMP
    nthreads = omp_get_max_threads();
#endif
    /* A = S (G + P)_aa S, rhs = S (b_a - (G + P)_a,frozen c_frozen), S = diag^-1/2.
       A is built as n x n with stride n at the start of the A block. */
    {
        double *cv = ework + 2 * np;
        for (k = 0; k < n; ++k) {
            int gi = act[k];
            double dii = G[(size_t)gi * ldg + gi] + (P ? P[(size_t)gi * np + gi] : 0.0);
            scale[k] = 1.0 / sqrt(dii);
        }
        for (k = 0; k < n; ++k) {
            int gi = act[k];
            double r = b[gi];
            for (j = 0; j < d.n_frozen; ++j) {
                int f = d.frozen[j];
                double v = cv[f];
                if (v != 0.0)
                    r -= (SP__RIDGE_SYM(G, (size_t)ldg, gi, f) + (P ? SP__RIDGE_SYM(P, np, gi, f) : 0.0)) * v;
            }
            rhs[k] = r * scale[k];
            for (j = 0; j < n; ++j) {
                int gj = act[j];
                double v = SP__RIDGE_SYM(G, (size_t)ldg, gi, gj) + (P ? SP__RIDGE_SYM(P, np, gi, gj) : 0.0);
                A[(size_t)k * n + j] = scale[k] * v * scale[j];
            }
        }
        /* keep the active list out of F's way: move it to the tail of fidx */
        for (k = 0; k < n; ++k) t2[k] = (double)act[k];
    }
    rcond = d.rcond > 0.0 ? d.rcond : 10.0 * n * SP__RIDGE_EPS;
    info.rank = n;
    if (d.method != SP_RIDGE_EIGEN) {
        int fail;
        double anorm = 0.0, thresh = d.method == SP_RIDGE_AUTO ? 1.0 / d.cond_max : 0.0;
        memcpy(F, A, (size_t)n * n * sizeof(double));
        fail = sp__ridge_chol(n, F, thresh, nthreads);
        if (!fail) {
            for (j = 0; j < n; ++j) {
                double s = 0.0;
                for (i = 0; i < n; ++i) s += fabs(A[(size_t)i * n + j]);
                if (s > anorm) anorm = s;
            }
            info.cond = anorm * sp__ridge_inv_norm1(n, F, x, t1);
        }
        if (d.method == SP_RIDGE_CHOLESKY && fail) {
            info.method = SP_RIDGE_CHOLESKY;
            info.cond = HUGE_VAL;
            if (out_info) *out_info = info;
            return SP_ERR_SINGULAR;
        }
        if (!fail && (d.method == SP_RIDGE_CHOLESKY || info.cond <= d.cond_max)) {
            /* solve, then one step of iterative refinement with A */
            for (i = 0; i < n; ++i) x[i] = rhs[i];
            sp__ridge_chol_solve(n, F, x);
            for (i = 0; i < n; ++i) {
                const double *ai = A + (size_t)i * n;
                double s = rhs[i];
                for (j = 0; j < n; ++j) s -= ai[j] * x[j];
                t1[i] = s;
            }
            sp__ridge_chol_solve(n, F, t1);
            for (i = 0; i < n; ++i) x[i] += t1[i];
            info.method = SP_RIDGE_CHOLESKY;
        } else {
            d.method = SP_RIDGE_EIGEN;
        }
    }
    if (d.method == SP_RIDGE_EIGEN) {
        sp_result_t er;
        double lmax, lmin, tol;
        int kept = 0;
        memcpy(F, A, (size_t)n * n * sizeof(double));
        er = sp_linalg_eigsym(n, F, n, ew, ework);
        if (er != SP_OK) return er;
        lmax = ew[n - 1];
        lmin = ew[0];
        info.method = SP_RIDGE_EIGEN;
        info.cond = lmin > 0.0 ? lmax / lmin : HUGE_VAL;
        if (!(lmax > 0.0)) {
            info.rank = 0;
            if (out_info) *out_info = info;
            return SP_ERR_SINGULAR;
        }
        tol = rcond * lmax;
        /* t1 = V^T rhs (row-wise, fixed order), scaled by 1/w on kept modes */
        for (k = 0; k < n; ++k) t1[k] = 0.0;
        for (i = 0; i < n; ++i) {
            const double *vi = F + (size_t)i * n;
            double ri = rhs[i];
            for (k = 0; k < n; ++k) t1[k] += vi[k] * ri;
        }
        for (k = 0; k < n; ++k) {
            if (ew[k] > tol) { t1[k] /= ew[k]; ++kept; }
            else t1[k] = 0.0;
        }
        for (i = 0; i < n; ++i) {
            const double *vi = F + (size_t)i * n;
            double s = 0.0;
            for (k = 0; k < n; ++k) s += vi[k] * t1[k];
            x[i] = s;
        }
        info.rank = kept;
    }
    {
        double *cv = ework + 2 * np;
        for (k = 0; k < n; ++k) {
            double v = scale[k] * x[k];
            if (!sp__isfinite(v)) return SP_ERR_NOT_FINITE; /* cannot happen for finite input */
            cv[(int)t2[k]] = v;
        }
        for (i = 0; i < p; ++i) out_c[i] = cv[i];
    }
    if (out_info) *out_info = info;
    return SP_OK;
#undef SP__RIDGE_SYM
}

SP_API sp_result_t sp_ridge_solve(sp_ridge_t *r, const sp_ridge_solve_desc_t *desc,
                                  double *out_c, sp_ridge_info_t *out_info) {
    size_t need;
    void *work;
    sp_result_t res;
    if (!r || !r->G) return SP_ERR_BAD_ARG;
    need = sp_ridge_solve_workspace_size(r->p);
    if (need == 0) return SP_ERR_NO_MEMORY;
    sp_ridge_flush(r);
    work = sp__alloc(&r->allocator, need);
    if (!work) return SP_ERR_NO_MEMORY;
    res = sp_ridge_solve_gram(r->p, r->G, r->p, r->b, desc, out_c, out_info, work, need);
    sp__free(&r->allocator, work);
    return res;
}
/* ==================================================================
 * >>fit      implementation
 * ================================================================== */

SP_API sp_result_t sp_uf3_features(const sp_pot_t *layout, const sp_nlist_t *nl, const int *type,
                                   const int *col_of, double *out_energy_row, double *out_force_rows,
                                   double *out_virial_rows, int p) {
    const sp_uf3_t *u;
    int ne, np, i, q, off2[SP_MAX_ELEMENTS * (SP_MAX_ELEMENTS + 1) / 2];
    size_t off3[SP_MAX_ELEMENTS * SP_MAX_ELEMENTS * (SP_MAX_ELEMENTS + 1) / 2], off;
    sp_bspline_t bs2[SP_MAX_ELEMENTS * (SP_MAX_ELEMENTS + 1) / 2];
    enum { MAXB = 512 };
    int bj[MAXB], bt[MAXB], bi0[MAXB];
    double br[MAXB], bu[MAXB][3], bb[MAXB][8];
    if (!layout || layout->kind != SP_POT_UF3 || !nl || !type || !col_of || !out_energy_row || p < 1)
        return SP_ERR_BAD_ARG;
    u = &layout->uf3;
    ne = layout->nelem;
    np = ne * (ne + 1) / 2;
    off = (size_t)ne;
    for (q = 0; q < np; ++q) {
        off2[q] = (int)off;
        off += (size_t)u->pair[q].nt - 4;
        sp_bspline_init(&bs2[q], u->pair[q].t, u->pair[q].nt);
    }
    for (q = 0; u->has3 && q < ne * np; ++q) {
        off3[q] = off;
        off += (size_t)u->trio[q].L * u->trio[q].M * u->trio[q].N;
    }
    for (i = 0; i < nl->natoms; ++i) {
        const int ti = type[i];
        const double *xi = nl->xe + 3 * (size_t)i;
        double *fi = out_force_rows ? out_force_rows + 3 * (size_t)i * p : NULL;
        int b, nb = 0, jj, kk;
        if (col_of[ti] >= 0) out_energy_row[col_of[ti]] += 1.0;
        for (b = nl->first[i]; b < nl->first[i + 1]; ++b) {
            const int g = nl->j[b], o = nl->owner[g], tj = type[o], pq = sp_pot_pair_index(ne, ti, tj);
            const double *xg = nl->xe + 3 * (size_t)g;
            const double d[3] = {xg[0] - xi[0], xg[1] - xi[1], xg[2] - xi[2]};
            const double r = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]), uv[3] = {d[0] / r, d[1] / r, d[2] / r};
            if (r < u->pair[pq].cut) {
                double bv[4], dbv[4];
                int i0 = sp_bspline_basis_fast(&bs2[pq], r, bv, dbv), a, c;
                double *fo = out_force_rows ? out_force_rows + 3 * (size_t)o * p : NULL;
                if (i0 < 0) { /* below the first knot: the first piece, as the evaluator */
                    int k0 = 3;
                    double ders[4][4];
                    sp__bspline_ders(u->pair[pq].t, k0, r, 1, ders);
                    for (a = 0; a < 4; ++a) { bv[a] = ders[0][a]; dbv[a] = ders[1][a]; }
                    i0 = 0;
                }
                for (a = 0; a < 4; ++a) {
                    const int col = col_of[off2[pq] + i0 + a];
                    if (col < 0) continue;
                    out_energy_row[col] += bv[a];
                    if (fo)
                        for (c = 0; c < 3; ++c) {
                            fo[(size_t)c * p + col] -= dbv[a] * uv[c];
                            fi[(size_t)c * p + col] += dbv[a] * uv[c];
                        }
                    if (out_virial_rows) /* W = -r u u^T V2'(r) */
                        for (c = 0; c < 9; ++c) out_virial_rows[(size_t)c * p + col] -= r * uv[c / 3] * uv[c % 3] * dbv[a];
                }
            }
            if (u->has3 && r <= u->cut3 && nb < MAXB) {
                bj[nb] = o;
                bt[nb] = tj;
                br[nb] = r;
                bu[nb][0] = uv[0]; bu[nb][1] = uv[1]; bu[nb][2] = uv[2];
                bi0[nb] = sp_bspline_basis_fast(&u->trio[0].bs[0], r, bb[nb], bb[nb] + 4);
                ++nb;
            }
        }
        for (jj = 0; jj < nb; ++jj)
            for (kk = jj + 1; kk < nb; ++kk) {
                int J = jj, K = kk, a, b2, c, tq, il, im, in;
                const sp_uf3_trio_t *T;
                double vjk[3], rjk, ujk[3], bn[4], dbn[4], lb[8], mb[8];
                const double *pl, *pm;
                double *fJ, *fK;
                if (bt[K] < bt[J]) { J = kk; K = jj; }
                tq = ti * np + sp_pot_pair_index(ne, bt[J], bt[K]);
                T = u->trio + tq;
                if (br[J] > T->bs[0].t1 || br[K] > T->bs[1].t1 || br[J] < T->bs[0].t0 || br[K] < T->bs[1].t0)
                    continue;
                for (c = 0; c < 3; ++c) vjk[c] = br[K] * bu[K][c] - br[J] * bu[J][c];
                rjk = sqrt(vjk[0] * vjk[0] + vjk[1] * vjk[1] + vjk[2] * vjk[2]);
                if (rjk < T->bs[2].t0 || rjk > T->bs[2].t1) continue;
                for (c = 0; c < 3; ++c) ujk[c] = vjk[c] / rjk;
                in = sp_bspline_basis_fast(&T->bs[2], rjk, bn, dbn);
                if (u->same3) {
                    il = bi0[J]; pl = bb[J];
                    im = bi0[K]; pm = bb[K];
                } else {
                    il = sp_bspline_basis_fast(&T->bs[0], br[J], lb, lb + 4); pl = lb;
                    im = sp_bspline_basis_fast(&T->bs[1], br[K], mb, mb + 4); pm = mb;
                }
                fJ = out_force_rows ? out_force_rows + 3 * (size_t)bj[J] * p : NULL;
                fK = out_force_rows ? out_force_rows + 3 * (size_t)bj[K] * p : NULL;
                for (a = 0; a < 4; ++a)
                    for (b2 = 0; b2 < 4; ++b2) {
                        const size_t rowi = off3[tq] + ((size_t)(il + a) * T->M + (size_t)(im + b2)) * T->N + in;
                        const double lm = pl[a] * pm[b2], dl_ = pl[4 + a] * pm[b2], dm_ = pl[a] * pm[4 + b2];
                        for (c = 0; c < 4; ++c) {
                            const int col = col_of[rowi + c];
                            double v, dl, dm, dn;
                            int e;
                            if (col < 0) continue;
                            v = lm * bn[c];
                            dl = dl_ * bn[c];
                            dm = dm_ * bn[c];
                            dn = lm * dbn[c];
                            out_energy_row[col] += v;
                            if (out_virial_rows) /* W = -(r_ij u u^T dl + r_ik u u^T dm + r_jk u u^T dn) */
                                for (e = 0; e < 9; ++e)
                                    out_virial_rows[(size_t)e * p + col] -=
                                        br[J] * bu[J][e / 3] * bu[J][e % 3] * dl + br[K] * bu[K][e / 3] * bu[K][e % 3] * dm +
                                        rjk * ujk[e / 3] * ujk[e % 3] * dn;
                            if (!fJ) continue;
                            for (e = 0; e < 3; ++e) {
                                /* F = -dE/dx: x_j moves r_ij (+u_ij) and r_jk (-u_jk) */
                                fJ[(size_t)e * p + col] -= dl * bu[J][e] - dn * ujk[e];
                                fK[(size_t)e * p + col] -= dm * bu[K][e] + dn * ujk[e];
                                fi[(size_t)e * p + col] += dl * bu[J][e] + dm * bu[K][e];
                            }
                        }
                    }
            }
    }
    return SP_OK;
}

SP_API sp_uf3_fit_desc_t sp_uf3_fit_desc_defaults(const sp_uf3_fit_desc_t *desc) {
    sp_uf3_fit_desc_t d;
    if (desc) d = *desc;
    else memset(&d, 0, sizeof d);
    if (d.kappa == 0.0) d.kappa = 0.5;
    if (d.lambda_ridge == 0.0) d.lambda_ridge = 1e-10;
    if (d.lambda_curv == 0.0) d.lambda_curv = 1e-6;
    return d;
}

static void sp__fit_progress(const sp_uf3_fit_desc_t *d, const char *fmt, ...) {
    char line[256];
    va_list ap;
    if (!d->progress) return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    d->progress(line, d->user);
}

static double sp__now(void) {
#ifdef SP__OMP
    return omp_get_wtime();
#else
    return (double)clock() / CLOCKS_PER_SEC;
#endif
}

/* Builds the layout (knots, zero coefficients) of the model to fit. */
static sp_result_t sp__uf3_layout(const sp_uf3_fit_desc_t *d, sp_pot_t *pot, sp_diag_t *diag) {
    int nt2[SP_MAX_ELEMENTS * (SP_MAX_ELEMENTS + 1) / 2], nt3[3 * SP_MAX_ELEMENTS * SP_MAX_ELEMENTS * (SP_MAX_ELEMENTS + 1) / 2];
    int ne = d->nelem, np = ne * (ne + 1) / 2, k, has3 = d->n3 > 0;
    sp_result_t r;
    for (k = 0; k < np; ++k) nt2[k] = d->n2 + 7;
    for (k = 0; k < ne * np; ++k) {
        nt3[3 * k] = nt3[3 * k + 1] = d->n3 + 7;
        nt3[3 * k + 2] = 2 * d->n3 + 7;
    }
    pot->allocator = d->allocator;
    r = sp_uf3_create(pot, ne, d->z, has3, nt2, nt3);
    if (r != SP_OK) return sp__fail(diag, r, 0, "cannot create the UF3 model (check elements and knot counts)");
    for (k = 0; k < np; ++k) sp_bspline_knots_uniform(d->r2min, d->r2max, d->n2, pot->uf3.pair[k].t);
    for (k = 0; has3 && k < ne * np; ++k) {
        sp_bspline_knots_uniform(d->r3min, d->r3max, d->n3, pot->uf3.trio[k].t[0]);
        sp_bspline_knots_uniform(d->r3min, d->r3max, d->n3, pot->uf3.trio[k].t[1]);
        sp_bspline_knots_uniform(d->r3min, 2.0 * d->r3max, 2 * d->n3, pot->uf3.trio[k].t[2]);
    }
    return sp_uf3_finish(pot, diag);
}

/* The flat coefficient vector of a fit: the layout potential lay (knots,
   no coefficients) and the column of each of its coefficients in
   sp_uf3_features' order (col, -1 where trimmed or, for a trio with equal
   neighbour elements, the column of its mirror), *p columns in all. */
static sp_result_t sp__uf3_fit_columns(const sp_uf3_fit_desc_t *d, sp_pot_t *lay, int **out_col, int *out_p,
                                       sp_diag_t *diag) {
    const sp_allocator_t *al = &d->allocator;
    int ne = d->nelem, np, ntrio, k, a, p = 0, *col;
    size_t nfull, q;
    sp_result_t r;
    if ((r = sp__uf3_layout(d, lay, diag)) != SP_OK) return r;
    np = ne * (ne + 1) / 2;
    ntrio = lay->uf3.has3 ? ne * np : 0;
    /* columns: e1, free 2-body (all but the last 3), free 3-body (l <= m for equal neighbours) */
    nfull = (size_t)ne;
    for (k = 0; k < np; ++k) nfull += (size_t)lay->uf3.pair[k].nt - 4;
    for (k = 0; k < ntrio; ++k) nfull += (size_t)lay->uf3.trio[k].L * lay->uf3.trio[k].M * lay->uf3.trio[k].N;
    col = (int *)sp__alloc(al, nfull * sizeof(int));
    if (!col) return SP_ERR_NO_MEMORY;
    q = 0;
    for (k = 0; k < ne; ++k) col[q++] = p++;
    for (k = 0; k < np; ++k)
        for (a = 0; a < lay->uf3.pair[k].nt - 4; ++a) col[q++] = (a < lay->uf3.pair[k].nt - 7) ? p++ : -1;
    for (k = 0; k < ntrio; ++k) {
        const sp_uf3_trio_t *T = lay->uf3.trio + k;
        int l, m, n, na, nbb, sym;
        size_t base = q;
        sp__pair_elements(ne, k % np, &na, &nbb); /* the trio's neighbour elements */
        sym = (na == nbb);
        for (l = 0; l < T->L; ++l)
            for (m = 0; m < T->M; ++m)
                for (n = 0; n < T->N; ++n) {
                    size_t idx = base + ((size_t)l * T->M + m) * T->N + n;
                    if (l >= T->L - 3 || m >= T->M - 3 || n >= T->N - 3) col[idx] = -1;
                    else if (sym && m < l) col[idx] = col[base + ((size_t)m * T->M + l) * T->N + n];
                    else col[idx] = p++;
                }
        q += (size_t)T->L * T->M * T->N;
    }
    *out_col = col;
    *out_p = p;
    return SP_OK;
}

/* The energy (per atom), force and stress rows of the configurations, each
   weighted by its weight squared, into the accumulators of its fold:
   configuration k into acc[3 (k % folds)] (energies), + 1 (forces), + 2
   (stresses; only with a stress weight and a periodic cell with a stress).
   *seconds: the time it took. */
static sp_result_t sp__uf3_fit_rows(const sp_uf3_fit_desc_t *d, const sp_pot_t *lay, const int *col, int p,
                                    const sp_config_t *configs, int nconfigs, int folds, sp_ridge_t *acc,
                                    double *seconds, sp_diag_t *diag) {
    const sp_allocator_t *al = &d->allocator;
    const int ne = d->nelem;
    double *erow, *frows, *vrows, t0 = sp__now();
    int k, a, maxn = 0;
    sp_nlist_t nl;
    sp_result_t r = SP_OK;
    memset(&nl, 0, sizeof nl);
    nl.allocator = d->allocator;
    for (k = 0; k < nconfigs; ++k)
        if (configs[k].natoms > maxn) maxn = configs[k].natoms;
    erow = (double *)sp__alloc(al, (size_t)p * sizeof(double));
    frows = (double *)sp__alloc(al, 3 * (size_t)maxn * (size_t)p * sizeof(double) + 8);
    vrows = (double *)sp__alloc(al, 9 * (size_t)p * sizeof(double));
    if (!erow || !frows || !vrows) { r = SP_ERR_NO_MEMORY; goto done; }
    for (k = 0; k < nconfigs; ++k) {
        const sp_config_t *cf = configs + k;
        sp_ridge_t *A = acc + 3 * (k % folds);
        double w = cf->weight > 0.0 ? cf->weight : 1.0, ye, wrow, vol = 0.0;
        sp_diag_t d2;
        int n = cf->natoms, str = 0;
        if (n < 1 || !cf->pos || !cf->type) {
            r = sp__fail(diag, SP_ERR_BAD_ARG, 0, "configuration %d has no atoms", k + 1);
            goto done;
        }
        for (a = 0; a < n; ++a)
            if (cf->type[a] < 0 || cf->type[a] >= ne) {
                r = sp__fail(diag, SP_ERR_UNKNOWN_ELEMENT, 0, "configuration %d: atom %d has no element of the fit", k + 1, a + 1);
                goto done;
            }
        if (!sp__isfinite(cf->energy)) {
            r = sp__fail(diag, SP_ERR_NOT_FINITE, 0, "configuration %d: energy is not finite", k + 1);
            goto done;
        }
        r = sp_nlist_build(&nl, &cf->cell, cf->pos, n, lay->cutoff, &d2);
        if (r != SP_OK) {
            sp__fail(diag, r, 0, "configuration %d: %s", k + 1, d2.msg);
            goto done;
        }
        if (d->stress_weight > 0.0 && cf->stress && cf->cell.pbc[0] && cf->cell.pbc[1] && cf->cell.pbc[2]) {
            str = sp_cell_check(&cf->cell, &vol) == SP_OK && vol > 0.0;
            for (a = 0; str && a < 9; ++a)
                if (!sp__isfinite(cf->stress[a])) {
                    r = sp__fail(diag, SP_ERR_NOT_FINITE, 0, "configuration %d: a stress is not finite", k + 1);
                    goto done;
                }
        }
        memset(erow, 0, (size_t)p * sizeof(double));
        if (cf->forces) memset(frows, 0, 3 * (size_t)n * (size_t)p * sizeof(double));
        if (str) memset(vrows, 0, 9 * (size_t)p * sizeof(double));
        sp_uf3_features(lay, &nl, cf->type, col, erow, cf->forces ? frows : NULL, str ? vrows : NULL, p);
        /* energies per atom */
        for (a = 0; a < p; ++a) erow[a] /= n;
        ye = cf->energy / n;
        wrow = w * w;
        if ((r = sp_ridge_add_rows(A, 1, erow, p, &ye, &wrow)) != SP_OK) goto done;
        if (cf->forces) {
            for (a = 0; a < 3 * n; ++a)
                if (!sp__isfinite(cf->forces[a])) {
                    r = sp__fail(diag, SP_ERR_NOT_FINITE, 0, "configuration %d: a force is not finite", k + 1);
                    goto done;
                }
            for (a = 0; a < 3 * n; ++a)
                if ((r = sp_ridge_add_rows(A + 1, 1, frows + (size_t)a * p, p, cf->forces + a, &wrow)) != SP_OK)
                    goto done;
        }
        if (str) { /* stress -W/V: xx yy zz yz xz xy */
            for (a = 0; a < 6; ++a) {
                double *row = vrows + (size_t)sp__voigt[a] * p;
                size_t j;
                for (j = 0; j < (size_t)p; ++j) row[j] /= -vol;
                if ((r = sp_ridge_add_rows(A + 2, 1, row, p, cf->stress + sp__voigt[a], &wrow)) != SP_OK) goto done;
            }
        }
        if ((k + 1) % 50 == 0 || k + 1 == nconfigs)
            sp__fit_progress(d, "uf3 fit: features %d/%d (%.1f s)", k + 1, nconfigs, sp__now() - t0);
    }
    for (k = 0; k < 3 * folds; ++k)
        if (acc[k].G) sp_ridge_flush(acc + k);
done:
    *seconds = sp__now() - t0;
    sp_nlist_free(&nl);
    sp__free(al, erow);
    sp__free(al, frows);
    sp__free(al, vrows);
    return r;
}

/* The (weighted) variance of an accumulator's targets; 1 where it vanishes */
static double sp__uf3_fit_var(const sp_ridge_t *r) {
    const double m = r->ysum / r->wsum, v = r->yty / r->wsum - m * m;
    return v > 1e-30 ? v : 1.0;
}

/* The weights that make one objective of the energy, force and stress rows
   (e, f, s; s->G NULL: no stresses): kappa/n_E and (1-kappa)/n_F, each over
   the variance of its targets, and S/n_S over that of the stresses; with
   configuration weights, n and the variances are weighted too (sums of
   w^2), so that a weight sqrt 2 is the configuration given twice and only
   the weights' ratios matter. The standard deviations go to info. */
static void sp__uf3_fit_scales(const sp_uf3_fit_desc_t *d, const sp_ridge_t *e, const sp_ridge_t *f,
                               const sp_ridge_t *s, double *we, double *wf, double *ws, sp_uf3_fit_info_t *info) {
    const double ve = sp__uf3_fit_var(e);
    info->std_energy = sqrt(ve);
    *we = d->kappa / (e->wsum * ve);
    *wf = 0.0;
    *ws = 0.0;
    if (f->nrows > 0) {
        const double vf = sp__uf3_fit_var(f);
        info->std_force = sqrt(vf);
        *wf = (1.0 - d->kappa) / (f->wsum * vf);
    } else {
        *we = 1.0 / (e->wsum * ve);
    }
    if (s->G && s->nrows > 0) {
        const double vs = sp__uf3_fit_var(s);
        info->std_stress = sqrt(vs);
        *ws = d->stress_weight / (s->wsum * vs);
    }
}

/* The penalty matrix P (p x p, set here): ridge (tiny on e1), 2-body second
   differences and 3-body Laplacians with curvature weight lambda_curv. */
static sp_result_t sp__uf3_fit_penalty(const sp_uf3_fit_desc_t *d, const sp_pot_t *lay, const int *col, int p,
                                       double lambda_curv, double *P) {
    const sp_allocator_t *al = &d->allocator;
    const int ne = d->nelem, np = ne * (ne + 1) / 2, ntrio = lay->uf3.has3 ? ne * np : 0;
    int k, *row_start = NULL, *pcols = NULL;
    double *pvals = NULL;
    size_t q;
    sp_result_t r = SP_OK;
    memset(P, 0, (size_t)p * (size_t)p * sizeof(double));
    sp_ridge_penalty_ridge(P, p, 0, ne, 1e-16);
    if (d->lambda_ridge > 0.0) sp_ridge_penalty_ridge(P, p, ne, p - ne, d->lambda_ridge);
    if (!(lambda_curv > 0.0)) return SP_OK;
    {
        int c0 = ne;
        for (k = 0; k < np; ++k) {
            int nfree = lay->uf3.pair[k].nt - 7;
            sp_ridge_penalty_curvature(P, p, c0, nfree, lambda_curv);
            c0 += nfree;
        }
    }
    q = (size_t)ne;
    for (k = 0; k < np; ++k) q += (size_t)lay->uf3.pair[k].nt - 4;
    for (k = 0; k < ntrio; ++k) {
        const sp_uf3_trio_t *T = lay->uf3.trio + k;
        size_t ng = (size_t)T->L * T->M * T->N, nrows = 0, nent = 0;
        int l, m, n;
        row_start = (int *)sp__alloc(al, (ng + 1) * sizeof(int));
        pcols = (int *)sp__alloc(al, 7 * ng * sizeof(int));
        pvals = (double *)sp__alloc(al, 7 * ng * sizeof(double));
        if (!row_start || !pcols || !pvals) { r = SP_ERR_NO_MEMORY; break; }
        for (l = 0; l < T->L; ++l)
            for (m = 0; m < T->M; ++m)
                for (n = 0; n < T->N; ++n) {
                    static const int nbr[6][3] = {{1, 0, 0}, {-1, 0, 0}, {0, 1, 0}, {0, -1, 0}, {0, 0, 1}, {0, 0, -1}};
                    int cc = col[q + ((size_t)l * T->M + m) * T->N + n], e, cnt = 0;
                    size_t start = nent;
                    if (cc < 0) continue;
                    row_start[nrows] = (int)nent;
                    pcols[nent] = cc;
                    pvals[nent++] = 0.0;
                    for (e = 0; e < 6; ++e) {
                        int l2 = l + nbr[e][0], m2 = m + nbr[e][1], n2 = n + nbr[e][2], c2;
                        if (l2 < 0 || m2 < 0 || n2 < 0 || l2 >= T->L || m2 >= T->M || n2 >= T->N) continue;
                        ++cnt;
                        c2 = col[q + ((size_t)l2 * T->M + m2) * T->N + n2];
                        if (c2 < 0) continue; /* trimmed: held at 0 */
                        pcols[nent] = c2;
                        pvals[nent++] = 1.0;
                    }
                    pvals[start] = -(double)cnt;
                    ++nrows;
                }
        row_start[nrows] = (int)nent;
        sp_ridge_penalty_rows(P, p, (int)nrows, row_start, pcols, pvals, lambda_curv);
        sp__free(al, row_start); row_start = NULL;
        sp__free(al, pcols); pcols = NULL;
        sp__free(al, pvals); pvals = NULL;
        q += ng;
    }
    sp__free(al, row_start);
    sp__free(al, pcols);
    sp__free(al, pvals);
    return r;
}

/* 3 folds accumulators of p unknowns (the stress ones only with a stress weight) */
static sp_result_t sp__uf3_fit_accs(const sp_uf3_fit_desc_t *d, int p, int folds, sp_ridge_t *acc, sp_diag_t *diag) {
    sp_ridge_desc_t rd;
    sp_result_t r = SP_OK;
    int k;
    memset(&rd, 0, sizeof rd);
    rd.p = p;
    rd.allocator = d->allocator;
    for (k = 0; k < 3 * folds && r == SP_OK; ++k)
        if (k % 3 < 2 || d->stress_weight > 0.0) r = sp_ridge_create(acc + k, &rd);
    if (r == SP_ERR_NO_MEMORY) /* p x p normal equations, one set per row kind and fold */
        sp__fail(diag, r, 0, "out of memory: the normal equations of %d coefficients take %.3g GB each", p,
                 8.0 * (double)p * (double)p / 1e9);
    return r;
}

/* desc with defaults, checked */
static sp_result_t sp__uf3_fit_desc(const sp_uf3_fit_desc_t *desc, sp_uf3_fit_desc_t *d, sp_diag_t *diag) {
    *d = sp_uf3_fit_desc_defaults(desc);
    if (d->nelem < 1 || d->nelem > SP_MAX_ELEMENTS || d->n2 < 1 || !(d->r2max > d->r2min) || d->r2min < 0 ||
        d->n3 < 0 || (d->n3 > 0 && !(d->r3max > d->r3min)) || !(d->kappa > 0.0 && d->kappa < 1.0) ||
        !(d->stress_weight >= 0.0 && d->stress_weight <= 1e6))
        return sp__fail(diag, SP_ERR_BAD_ARG, 0, "bad fit settings (knot ranges, intervals, kappa in (0,1), stress weight)");
    return SP_OK;
}

SP_API sp_result_t sp_uf3_fit(const sp_uf3_fit_desc_t *desc, const sp_config_t *configs, int nconfigs,
                              sp_pot_t *out_pot, sp_uf3_fit_info_t *out_info, sp_diag_t *diag) {
    sp_uf3_fit_desc_t d;
    sp_pot_t lay;
    sp_uf3_fit_info_t info;
    sp_ridge_t acc[3];
    sp_ridge_solve_desc_t sd;
    sp_result_t r = SP_OK;
    int ne, np, ntrio, k, a, p = 0, *col = NULL;
    size_t q;
    double *P = NULL, *c = NULL, t0, we, wf, ws;
    sp_allocator_t *al;
    if (!desc || !configs || nconfigs < 1 || !out_pot) return sp__fail(diag, SP_ERR_BAD_ARG, 0, "bad argument");
    if ((r = sp__uf3_fit_desc(desc, &d, diag)) != SP_OK) return r;
    memset(&info, 0, sizeof info);
    memset(&lay, 0, sizeof lay);
    memset(acc, 0, sizeof acc);
    al = &d.allocator;
    if ((r = sp__uf3_fit_columns(&d, &lay, &col, &p, diag)) != SP_OK) goto done;
    ne = d.nelem;
    np = ne * (ne + 1) / 2;
    ntrio = lay.uf3.has3 ? ne * np : 0;
    info.n_params = p;
    sp__fit_progress(&d, "uf3 fit: %d configurations, %d coefficients (%s)", nconfigs, p, ntrio ? "UF2,3" : "UF2");
    if ((r = sp__uf3_fit_accs(&d, p, 1, acc, diag)) != SP_OK) goto done;
    if ((r = sp__uf3_fit_rows(&d, &lay, col, p, configs, nconfigs, 1, acc, &info.seconds_features, diag)) != SP_OK)
        goto done;
    info.n_energy_rows = acc[0].nrows;
    info.n_force_rows = acc[1].nrows;
    info.n_stress_rows = acc[2].G ? acc[2].nrows : 0;
    if (d.stress_weight > 0.0 && info.n_stress_rows == 0) {
        r = sp__fail(diag, SP_ERR_BAD_ARG, 0, "a stress weight but no periodic configuration with a stress");
        goto done;
    }
    sp__uf3_fit_scales(&d, acc, acc + 1, acc + 2, &we, &wf, &ws, &info);
    if ((r = sp_ridge_merge(acc, we, acc + 1, wf)) != SP_OK) goto done;
    if (info.n_stress_rows > 0 && (r = sp_ridge_merge(acc, 1.0, acc + 2, ws)) != SP_OK) goto done;
    P = (double *)sp__alloc(al, (size_t)p * (size_t)p * sizeof(double));
    c = (double *)sp__alloc(al, (size_t)p * sizeof(double));
    if (!P || !c) { r = SP_ERR_NO_MEMORY; goto done; }
    if ((r = sp__uf3_fit_penalty(&d, &lay, col, p, d.lambda_curv, P)) != SP_OK) goto done;
    t0 = sp__now();
    sd = sp_ridge_solve_desc_defaults(NULL);
    sd.P = P;
    r = sp_ridge_solve(acc, &sd, c, &info.solve);
    info.seconds_solve = sp__now() - t0;
    if (r != SP_OK) { sp__fail(diag, r, 0, "ridge solve failed: %s", sp_result_str(r)); goto done; }
    sp__fit_progress(&d, "uf3 fit: solved in %.2f s (%s, condition ~%.2g, rank %d)", info.seconds_solve,
                     info.solve.method == SP_RIDGE_CHOLESKY ? "Cholesky" : "eigen", info.solve.cond, info.solve.rank);
    /* the model: coefficients from the flat vector (0 where trimmed) */
    q = 0;
    for (k = 0; k < ne; ++k) lay.uf3.e1[k] = c[col[q++]];
    for (k = 0; k < np; ++k)
        for (a = 0; a < lay.uf3.pair[k].nt - 4; ++a, ++q) lay.uf3.pair[k].c[a] = col[q] >= 0 ? c[col[q]] : 0.0;
    for (k = 0; k < ntrio; ++k) {
        sp_uf3_trio_t *T = lay.uf3.trio + k;
        size_t ng = (size_t)T->L * T->M * T->N, e;
        for (e = 0; e < ng; ++e, ++q) T->c[e] = col[q] >= 0 ? c[col[q]] : 0.0;
    }
    if ((r = sp_uf3_finish(&lay, diag)) != SP_OK) goto done;
    *out_pot = lay;
    memset(&lay, 0, sizeof lay);
    if (out_info) *out_info = info;
done:
    for (k = 0; k < 3; ++k) sp_ridge_destroy(acc + k);
    sp_pot_free(&lay);
    sp__free(al, col);
    sp__free(al, P);
    sp__free(al, c);
    return r;
}

SP_API sp_result_t sp_uf3_cv(const sp_uf3_fit_desc_t *desc, const sp_config_t *configs, int nconfigs, int folds,
                             int nlambda, const double *lambda_curv, sp_uf3_cv_t *out, sp_diag_t *diag) {
    sp_uf3_fit_desc_t d;
    sp_pot_t lay;
    sp_uf3_fit_info_t info;
    sp_ridge_t *acc = NULL, T[3];
    sp_ridge_solve_desc_t sd;
    sp_result_t r = SP_OK;
    int k, f, l, g, p = 0, *col = NULL;
    double *P = NULL, *c = NULL, sse[3][SP_UF3_CV_MAX], wsum[3] = {0, 0, 0}, var[3] = {1, 1, 1}, seconds;
    void *work = NULL;
    size_t wbytes;
    sp_allocator_t *al;
    if (!desc || !configs || !out || !lambda_curv || nconfigs < 1)
        return sp__fail(diag, SP_ERR_BAD_ARG, 0, "bad argument");
    if (folds < 2 || folds > nconfigs || nlambda < 1 || nlambda > SP_UF3_CV_MAX)
        return sp__fail(diag, SP_ERR_BAD_ARG, 0, "cross-validation needs 2..%d folds (a configuration in each) "
                        "and 1..%d curvature penalties", nconfigs, SP_UF3_CV_MAX);
    for (l = 0; l < nlambda; ++l)
        if (!(lambda_curv[l] >= 0.0 && lambda_curv[l] < 1e30))
            return sp__fail(diag, SP_ERR_BAD_ARG, 0, "curvature penalty %d is not finite and >= 0", l + 1);
    if ((r = sp__uf3_fit_desc(desc, &d, diag)) != SP_OK) return r;
    memset(out, 0, sizeof *out);
    memset(&lay, 0, sizeof lay);
    memset(&info, 0, sizeof info);
    memset(T, 0, sizeof T);
    memset(sse, 0, sizeof sse);
    al = &d.allocator;
    if ((r = sp__uf3_fit_columns(&d, &lay, &col, &p, diag)) != SP_OK) goto done;
    sp__fit_progress(&d, "uf3 cv: %d configurations in %d folds, %d coefficients, %d curvature penalties", nconfigs,
                     folds, p, nlambda);
    acc = (sp_ridge_t *)sp__alloc(al, 3 * (size_t)folds * sizeof(sp_ridge_t));
    if (!acc) { r = SP_ERR_NO_MEMORY; goto done; }
    memset(acc, 0, 3 * (size_t)folds * sizeof(sp_ridge_t));
    if ((r = sp__uf3_fit_accs(&d, p, folds, acc, diag)) != SP_OK || (r = sp__uf3_fit_accs(&d, p, 1, T, diag)) != SP_OK)
        goto done;
    if ((r = sp__uf3_fit_rows(&d, &lay, col, p, configs, nconfigs, folds, acc, &seconds, diag)) != SP_OK) goto done;
    /* the whole set's sums: the variances of the loss */
    for (f = 0; f < folds; ++f)
        for (k = 0; k < 3; ++k)
            if (acc[3 * f + k].G && (r = sp_ridge_merge(T + k, 1.0, acc + 3 * f + k, 1.0)) != SP_OK) goto done;
    if (d.stress_weight > 0.0 && T[2].nrows == 0) {
        r = sp__fail(diag, SP_ERR_BAD_ARG, 0, "a stress weight but no periodic configuration with a stress");
        goto done;
    }
    for (k = 0; k < 3; ++k)
        if (T[k].G && T[k].nrows > 0) {
            wsum[k] = T[k].wsum;
            var[k] = sp__uf3_fit_var(T + k);
        }
    P = (double *)sp__alloc(al, (size_t)p * (size_t)p * sizeof(double));
    c = (double *)sp__alloc(al, (size_t)p * sizeof(double));
    wbytes = sp_ridge_solve_workspace_size(p);
    work = sp__alloc(al, wbytes);
    if (!P || !c || !work) { r = SP_ERR_NO_MEMORY; goto done; }
    sd = sp_ridge_solve_desc_defaults(NULL);
    sd.P = P;
    for (f = 0; f < folds; ++f) {
        double we, wf, ws;
        /* the other folds, weighted as sp_uf3_fit would weight those configurations alone */
        for (k = 0; k < 3; ++k)
            if (T[k].G) sp_ridge_reset(T + k);
        for (g = 0; g < folds; ++g)
            for (k = 0; k < 3 && g != f; ++k)
                if (T[k].G && (r = sp_ridge_merge(T + k, 1.0, acc + 3 * g + k, 1.0)) != SP_OK) goto done;
        if (d.stress_weight > 0.0 && T[2].nrows == 0) {
            r = sp__fail(diag, SP_ERR_BAD_ARG, 0, "fold %d: the other folds hold no configuration with a stress", f + 1);
            goto done;
        }
        sp__uf3_fit_scales(&d, T, T + 1, T + 2, &we, &wf, &ws, &info);
        if ((r = sp_ridge_merge(T, we, T + 1, wf)) != SP_OK) goto done;
        if (T[2].G && (r = sp_ridge_merge(T, 1.0, T + 2, ws)) != SP_OK) goto done;
        for (l = 0; l < nlambda; ++l) {
            if ((r = sp__uf3_fit_penalty(&d, &lay, col, p, lambda_curv[l], P)) != SP_OK ||
                (r = sp_ridge_solve_gram(p, T[0].G, p, T[0].b, &sd, c, NULL, work, wbytes)) != SP_OK) {
                sp__fail(diag, r, 0, "fold %d, curvature penalty %g: %s", f + 1, lambda_curv[l], sp_result_str(r));
                goto done;
            }
            for (k = 0; k < 3; ++k)
                if (acc[3 * f + k].G) sse[k][l] += sp_ridge_sse(acc + 3 * f + k, c);
        }
        sp__fit_progress(&d, "uf3 cv: fold %d/%d done", f + 1, folds);
    }
    out->folds = folds;
    out->nlambda = nlambda;
    out->best = 0;
    for (l = 0; l < nlambda; ++l) {
        double loss;
        out->lambda_curv[l] = lambda_curv[l];
        out->rmse_energy[l] = wsum[0] > 0.0 ? sqrt((sse[0][l] > 0.0 ? sse[0][l] : 0.0) / wsum[0]) : 0.0;
        out->rmse_force[l] = wsum[1] > 0.0 ? sqrt((sse[1][l] > 0.0 ? sse[1][l] : 0.0) / wsum[1]) : 0.0;
        out->rmse_stress[l] = wsum[2] > 0.0 ? sqrt((sse[2][l] > 0.0 ? sse[2][l] : 0.0) / wsum[2]) : 0.0;
        loss = wsum[1] > 0.0 ? d.kappa * out->rmse_energy[l] * out->rmse_energy[l] / var[0] +
                                   (1.0 - d.kappa) * out->rmse_force[l] * out->rmse_force[l] / var[1]
                             : out->rmse_energy[l] * out->rmse_energy[l] / var[0];
        if (wsum[2] > 0.0) loss += d.stress_weight * out->rmse_stress[l] * out->rmse_stress[l] / var[2];
        out->loss[l] = loss;
        if (loss < out->loss[out->best]) out->best = l;
    }
done:
    if (acc)
        for (k = 0; k < 3 * folds; ++k) sp_ridge_destroy(acc + k);
    for (k = 0; k < 3; ++k) sp_ridge_destroy(T + k);
    sp__free(al, acc);
    sp_pot_free(&lay);
    sp__free(al, col);
    sp__free(al, P);
    sp__free(al, c);
    sp__free(al, work);
    return r;
}

/* ==================================================================
 * >>sv       implementation
 * ================================================================== */

/* Sizes of a layout and where its blocks start in a parameter vector. */
typedef struct sp__smoff_t {
    int ne, np, nr2, nu2, ng, ng2;
    int rho, U, f, g, npar; /* phi starts at 0 */
} sp__smoff_t;

static sp__smoff_t sp__smeam_offsets(const sp_smeam_layout_t *lay) {
    sp__smoff_t o;
    o.ne = lay->nelem > 0 ? lay->nelem : 1;
    o.np = o.ne * (o.ne + 1) / 2;
    o.ng = lay->ng > 0 ? lay->ng : lay->nr;
    o.nr2 = lay->nr + 2;
    o.nu2 = lay->nu + 2;
    o.ng2 = o.ng + 2;
    o.rho = o.np * o.nr2;
    o.U = o.rho + o.ne * o.nr2;
    o.f = o.U + o.ne * o.nu2;
    o.g = o.f + o.ne * o.nr2;
    o.npar = o.g + o.np * o.ng2;
    return o;
}

/* U knot range of element e */
static void sp__smeam_urange(const sp_smeam_layout_t *lay, int e, double *lo, double *hi) {
    const int own = lay->nelem > 1 && lay->urange[e][1] > lay->urange[e][0];
    *lo = own ? lay->urange[e][0] : lay->ulo;
    *hi = own ? lay->urange[e][1] : lay->uhi;
}

/* 1 for a usable layout: knot counts, finite ranges, 1..SP_MAX_ELEMENTS elements */
static int sp__smeam_layout_ok(const sp_smeam_layout_t *lay) {
    const int ng = lay->ng > 0 ? lay->ng : lay->nr;
    int e;
    if (lay->nr < 3 || ng < 3 || lay->nu < 2 || lay->nr > SP_SPLINE_MAX_KNOTS || ng > SP_SPLINE_MAX_KNOTS ||
        lay->nu > SP_SPLINE_MAX_KNOTS || !(lay->rc > lay->rlo) || !sp__isfinite(lay->rc - lay->rlo) ||
        lay->nelem < 0 || lay->nelem > SP_MAX_ELEMENTS)
        return 0;
    for (e = 0; e < (lay->nelem > 0 ? lay->nelem : 1); ++e) {
        double lo, hi;
        sp__smeam_urange(lay, e, &lo, &hi);
        if (!(hi > lo) || !sp__isfinite(hi - lo)) return 0;
    }
    return 1;
}

SP_API int sp_smeam_layout_npar(const sp_smeam_layout_t *lay) {
    if (!lay || lay->nelem < 0 || lay->nelem > SP_MAX_ELEMENTS) return 0;
    return sp__smeam_offsets(lay).npar;
}

static void sp__uniform_knots(int n, double lo, double hi, double *x) {
    int k;
    for (k = 0; k < n; ++k) x[k] = (k == n - 1) ? hi : lo + (hi - lo) * k / (n - 1);
}

static void sp__smeam_uknots(const sp_smeam_layout_t *lay, int e, double *x) {
    double lo, hi;
    sp__smeam_urange(lay, e, &lo, &hi);
    sp__uniform_knots(lay->nu, lo, hi, x);
}

SP_API void sp_smeam_sv_free(sp_smeam_sv_t *sv) {
    sp_allocator_t a;
    if (!sv) return;
    a = sv->allocator;
    sp__free(&a, sv->ds); /* the start of the one block */
    memset(sv, 0, sizeof *sv);
    sv->allocator = a;
}

SP_API sp_result_t sp_smeam_sv_build(sp_smeam_sv_t *sv, const sp_smeam_layout_t *lay, const sp_config_t *cf,
                                     sp_diag_t *diag) {
    sp_nlist_t nl;
    sp_result_t r;
    double xr[SP_SPLINE_MAX_KNOTS], *Mr = NULL;
    int nr2, ng2, i, b, nb, nt, n, ne;
    sp__smoff_t o;
    size_t bytes;
    char *mem;
    sp_allocator_t al;
    if (!sv || !lay || !cf || !cf->pos || cf->natoms < 1) return sp__fail(diag, SP_ERR_BAD_ARG, 0, "bad argument");
    if (!sp__smeam_layout_ok(lay)) return sp__fail(diag, SP_ERR_BAD_ARG, 0, "bad s-MEAM layout");
    o = sp__smeam_offsets(lay);
    ne = o.ne;
    if (ne > 1 && !cf->type) return sp__fail(diag, SP_ERR_BAD_ARG, 0, "%d elements but no atom types", ne);
    for (i = 0; cf->type && i < cf->natoms; ++i)
        if (cf->type[i] < 0 || cf->type[i] >= ne)
            return sp__fail(diag, SP_ERR_UNKNOWN_ELEMENT, 0, "atom %d has type %d (the layout has %d elements)", i + 1,
                            cf->type[i], ne);
    al = sv->allocator;
    memset(sv, 0, sizeof *sv);
    sv->allocator = al;
    memset(&nl, 0, sizeof nl);
    nl.allocator = al;
    r = sp_nlist_build(&nl, &cf->cell, cf->pos, cf->natoms, lay->rc, diag);
    if (r != SP_OK) return r;
    sp_nlist_update(&nl, cf->pos);
    n = cf->natoms;
    nb = (int)nl.n_entries;
    nt = 0;
    for (i = 0; i < n; ++i) {
        int d = nl.first[i + 1] - nl.first[i];
        nt += d * (d - 1) / 2;
    }
    nr2 = o.nr2;
    ng2 = o.ng2;
    bytes = sizeof(double) * ((size_t)nb * (nr2 + 4) + (size_t)n * ne * nr2 + (size_t)o.np * nr2 + (size_t)nt +
                              (size_t)lay->nr * nr2) +
            sizeof(int) * ((size_t)nb * 3 + 2 * (size_t)nt + 2 * (size_t)n + 1) + 64;
    mem = (char *)sp__alloc(&al, bytes);
    if (!mem) {
        sp_nlist_free(&nl);
        return sp__fail(diag, SP_ERR_NO_MEMORY, 0, "out of memory (%zu bytes of structure vectors)", bytes);
    }
    /* cppcheck-suppress invalidPointerCast ; one block carved into typed arrays, never reinterpreted */
    sv->ds = (double *)mem;
    sv->u = sv->ds + (size_t)nb * nr2;
    sv->rho_sum = sv->u + (size_t)nb * 4;
    sv->phi_sum = sv->rho_sum + (size_t)n * ne * nr2;
    sv->cs = sv->phi_sum + (size_t)o.np * nr2;
    Mr = sv->cs + nt;
    /* cppcheck-suppress invalidPointerCast ; one block carved into typed arrays, never reinterpreted */
    sv->centre = (int *)(Mr + (size_t)lay->nr * nr2);
    sv->rev = sv->centre + nb;
    sv->btype = sv->rev + nb;
    sv->tj = sv->btype + nb;
    sv->tk = sv->tj + nt;
    sv->first = sv->tk + nt;
    sv->atype = sv->first + n + 1;
    sv->natoms = n;
    sv->nbonds = nb;
    sv->ntrip = nt;
    sv->nr2 = nr2;
    sv->ng2 = ng2;
    sv->nelem = ne;
    sp__uniform_knots(lay->nr, lay->rlo, lay->rc, xr);
    sp_spline_basis_matrix(lay->nr, xr, SP_SPLINE_CLAMPED, Mr);
    memset(sv->rho_sum, 0, sizeof(double) * ((size_t)n * ne * nr2 + (size_t)o.np * nr2));
    for (i = 0; i <= n; ++i) sv->first[i] = nl.first[i];
    for (i = 0; i < n; ++i) sv->atype[i] = cf->type ? cf->type[i] : 0;
    for (i = 0; i < n; ++i)
        for (b = nl.first[i]; b < nl.first[i + 1]; ++b) {
            const double *xi = nl.xe + 3 * (size_t)i, *xj = nl.xe + 3 * (size_t)nl.j[b];
            double d[3] = {xj[0] - xi[0], xj[1] - xi[1], xj[2] - xi[2]};
            double rr = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]), sb[SP_SPLINE_MAX_KNOTS + 2];
            const int tj = sv->atype[nl.owner[nl.j[b]]];
            double *rs = sv->rho_sum + ((size_t)i * ne + tj) * nr2;
            double *ps = sv->phi_sum + (size_t)sp_pot_pair_index(ne, sv->atype[i], tj) * nr2;
            int q;
            sv->centre[b] = i;
            sv->rev[b] = nl.rev[b];
            sv->btype[b] = tj;
            sv->u[4 * (size_t)b] = d[0] / rr;
            sv->u[4 * (size_t)b + 1] = d[1] / rr;
            sv->u[4 * (size_t)b + 2] = d[2] / rr;
            sv->u[4 * (size_t)b + 3] = 1.0 / rr;
            sp_spline_basis(lay->nr, xr, SP_SPLINE_CLAMPED, Mr, rr, sb, sv->ds + (size_t)b * nr2);
            for (q = 0; q < nr2; ++q) {
                rs[q] += sb[q];
                ps[q] += 0.5 * sb[q];
            }
        }
    nt = 0;
    for (i = 0; i < n; ++i) {
        int bj, bk;
        for (bj = nl.first[i]; bj < nl.first[i + 1]; ++bj)
            for (bk = bj + 1; bk < nl.first[i + 1]; ++bk) {
                const double *uj = sv->u + 4 * (size_t)bj, *uk = sv->u + 4 * (size_t)bk;
                double c = uj[0] * uk[0] + uj[1] * uk[1] + uj[2] * uk[2];
                sv->tj[nt] = bj;
                sv->tk[nt] = bk;
                sv->cs[nt] = c;
                ++nt;
            }
    }
    sp_nlist_free(&nl);
    return SP_OK;
}

SP_API size_t sp_smeam_sv_workspace_size(const sp_smeam_sv_t *sv, const sp_smeam_layout_t *lay, int chunk) {
    size_t npar = (size_t)sp_smeam_layout_npar(lay);
    if (chunk < 1) chunk = 1;
    return sizeof(double) * (size_t)chunk * (6 * (size_t)sv->nbonds + 3 * (size_t)sv->natoms + 2 * npar) + 64;
}

/* Where x falls on a clamped spline of n uniform knots xk (sp__spline_eval's
   cases and arithmetic): its value is sum_a cv[a] R_a and its derivative
   sum_a cd[a] R_a, R_a the parameter row r[a] of the spline (y_0..y_{n-1},
   d0, dN) or, z[a] = 1, the row r[a] of its z_k = y''_k / (6 h). */
typedef struct sp__smseg_t {
    int r[4], z[4];
    double cv[4], cd[4];
} sp__smseg_t;

static void sp__smeam_seg(double x, const double *xk, int n, sp__smseg_t *g) {
    const double h = (xk[n - 1] - xk[0]) / (n - 1), hsq = h * h, xs = xk[n - 1] - xk[0];
    int a;
    x -= xk[0];
    for (a = 0; a < 4; ++a) {
        g->z[a] = a >= 2;
        g->cv[a] = g->cd[a] = 0.0;
    }
    if (x <= 0.0 || !(x < xs)) { /* linear beyond the ends: y0 + d0 x, yN + dN (x - xs) */
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
        d = (xk[k + 1] - xk[0]) - x; /* sp__spline_eval's a */
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

/* z_k = y''_k / (6 h) of the clamped splines of n knots x whose parameters
   start at rows q0, q0 + n + 2, ... (nspl of them) of T (npar x pc), into the
   same rows of Z */
static void sp__smeam_sv_z(const double *T, double *Z, int pc, int q0, int nspl, int n, const double *x) {
    const double h6 = (x[n - 1] - x[0]) / (n - 1) * 6.0;
    double y[SP_SPLINE_MAX_KNOTS], y2[SP_SPLINE_MAX_KNOTS];
    int sp, p, k;
    for (sp = 0; sp < nspl; ++sp) {
        const size_t q = (size_t)q0 + (size_t)sp * (n + 2);
        for (p = 0; p < pc; ++p) {
            for (k = 0; k < n; ++k) y[k] = T[(q + k) * pc + p];
            sp__spline_y2(n, x, y, SP_SPLINE_CLAMPED, T[(q + n) * pc + p], T[(q + n + 1) * pc + p], y2);
            for (k = 0; k < n; ++k) Z[(q + k) * pc + p] = y2[k] / h6;
        }
    }
}

/* One chunk of pc parameter sets (T: npar x pc, set index innermost): the
   per-bond f, f', phi' and dn_i/dr_ij (dn: nb x 3 x pc), and n_i (nn: n x pc).
   The splines of rho, f, g and phi' are evaluated by segments (per set the
   z_k of sp__smeam_sv_z in Z, npar x pc scratch; per bond or triplet the 4
   rows and weights of sp__smeam_seg), which is the same function as the
   products with the dense bases s, s' (4 terms instead of nr + 2 or ng + 2). */
static void sp__smeam_sv_density_chunk(const sp_smeam_sv_t *sv, const sp_smeam_layout_t *lay, int pc,
                                       const double *T, double *fv, double *fd, double *pd, double *dn,
                                       double *nn, double *SP_RESTRICT Z) {
    const sp__smoff_t o = sp__smeam_offsets(lay);
    const int nr2 = sv->nr2, ne = o.ne;
    const int n = sv->natoms, nb = sv->nbonds, nt = sv->ntrip;
    double xr[SP_SPLINE_MAX_KNOTS], xg[SP_SPLINE_MAX_KNOTS];
    int p, q, b, t, i, d, e;
    sp__uniform_knots(lay->nr, lay->rlo, lay->rc, xr);
    sp__uniform_knots(o.ng, -1.0, 1.0, xg);
    sp__smeam_sv_z(T, Z, pc, 0, o.np + ne, lay->nr, xr); /* phi, rho */
    sp__smeam_sv_z(T, Z, pc, o.f, ne, lay->nr, xr);
    sp__smeam_sv_z(T, Z, pc, o.g, o.np, o.ng, xg);
    /* bonds: f, f', rho' (into dn), phi' of the neighbour's element and the pair */
    for (b = 0; b < nb; ++b) {
        const double *ub = sv->u + 4 * (size_t)b;
        const int tj = sv->btype[b], pq = ne == 1 ? 0 : sp_pot_pair_index(ne, sv->atype[sv->centre[b]], tj);
        const size_t of = (size_t)(o.f + tj * nr2), orh = (size_t)(o.rho + tj * nr2), op = (size_t)pq * nr2;
        double *SP_RESTRICT f1 = fv + (size_t)b * pc, *SP_RESTRICT f2 = fd + (size_t)b * pc;
        double *SP_RESTRICT f3 = pd + (size_t)b * pc, *SP_RESTRICT dx = dn + 3 * (size_t)b * pc;
        const double *SP_RESTRICT F[4], *SP_RESTRICT R[4], *SP_RESTRICT H[4];
        sp__smseg_t g;
        sp__smeam_seg(1.0 / ub[3], xr, lay->nr, &g);
        for (q = 0; q < 4; ++q) {
            const double *B = g.z[q] ? Z : T;
            F[q] = B + (of + g.r[q]) * pc;
            R[q] = B + (orh + g.r[q]) * pc;
            H[q] = B + (op + g.r[q]) * pc;
        }
        for (p = 0; p < pc; ++p) {
            const double rp = g.cd[0] * R[0][p] + g.cd[1] * R[1][p] + g.cd[2] * R[2][p] + g.cd[3] * R[3][p]; /* rho'(r) */
            f1[p] = g.cv[0] * F[0][p] + g.cv[1] * F[1][p] + g.cv[2] * F[2][p] + g.cv[3] * F[3][p];
            f2[p] = g.cd[0] * F[0][p] + g.cd[1] * F[1][p] + g.cd[2] * F[2][p] + g.cd[3] * F[3][p];
            f3[p] = g.cd[0] * H[0][p] + g.cd[1] * H[1][p] + g.cd[2] * H[2][p] + g.cd[3] * H[3][p];
            dx[p] = rp * ub[0];
            dx[pc + p] = rp * ub[1];
            dx[2 * (size_t)pc + p] = rp * ub[2];
        }
    }
    /* atoms: n_i from rho of each neighbour element */
    for (i = 0; i < n; ++i) {
        double *SP_RESTRICT ni = nn + (size_t)i * pc;
        for (p = 0; p < pc; ++p) ni[p] = 0.0;
        for (e = 0; e < ne; ++e)
            for (q = 0; q < nr2; ++q) {
                const double s = sv->rho_sum[((size_t)i * ne + e) * nr2 + q];
                const double *SP_RESTRICT Tr = T + (size_t)(o.rho + e * nr2 + q) * pc;
                for (p = 0; p < pc; ++p) ni[p] += s * Tr[p];
            }
    }
    /* triplets: f_j f_k g into n_i, and dn_i/dr_ij, dn_i/dr_ik */
    for (t = 0; t < nt; ++t) {
        const int bj = sv->tj[t], bk = sv->tk[t], i0 = sv->centre[bj];
        const double *uj = sv->u + 4 * (size_t)bj, *uk = sv->u + 4 * (size_t)bk, c = sv->cs[t];
        const int pg = ne == 1 ? 0 : sp_pot_pair_index(ne, sv->btype[bj], sv->btype[bk]);
        const size_t og = (size_t)(o.g + pg * o.ng2);
        const double *SP_RESTRICT G[4];
        sp__smseg_t sg;
        const double *SP_RESTRICT fj = fv + (size_t)bj * pc, *SP_RESTRICT fk = fv + (size_t)bk * pc;
        const double *SP_RESTRICT fdj = fd + (size_t)bj * pc, *SP_RESTRICT fdk = fd + (size_t)bk * pc;
        double *SP_RESTRICT ni = nn + (size_t)i0 * pc;
        double *SP_RESTRICT dj = dn + 3 * (size_t)bj * pc, *SP_RESTRICT dk = dn + 3 * (size_t)bk * pc;
        double cj[3], ck[3];
        for (d = 0; d < 3; ++d) {
            cj[d] = (uk[d] - c * uj[d]) * uj[3];
            ck[d] = (uj[d] - c * uk[d]) * uk[3];
        }
        sp__smeam_seg(c, xg, o.ng, &sg);
        for (q = 0; q < 4; ++q) G[q] = (sg.z[q] ? Z : T) + (og + sg.r[q]) * pc;
        for (p = 0; p < pc; ++p) {
            const double g = sg.cv[0] * G[0][p] + sg.cv[1] * G[1][p] + sg.cv[2] * G[2][p] + sg.cv[3] * G[3][p];
            const double gd = sg.cd[0] * G[0][p] + sg.cd[1] * G[1][p] + sg.cd[2] * G[2][p] + sg.cd[3] * G[3][p];
            const double ff = fj[p] * fk[p];
            const double a1 = fdj[p] * fk[p] * g, a2 = ff * gd, a3 = fj[p] * fdk[p] * g;
            ni[p] += ff * g;
            dj[p] += a1 * uj[0] + a2 * cj[0];
            dj[pc + p] += a1 * uj[1] + a2 * cj[1];
            dj[2 * (size_t)pc + p] += a1 * uj[2] + a2 * cj[2];
            dk[p] += a3 * uk[0] + a2 * ck[0];
            dk[pc + p] += a3 * uk[1] + a2 * ck[1];
            dk[2 * (size_t)pc + p] += a3 * uk[2] + a2 * ck[2];
        }
    }
}

static sp_result_t sp__smeam_sv_eval(const sp_smeam_sv_t *sv, const sp_smeam_layout_t *lay, int P,
                                     const double *theta, double *out_energy, double *out_forces, int chunk,
                                     void *work, size_t work_bytes) {
    const sp__smoff_t o = sp__smeam_offsets(lay);
    const int npar = o.npar, nr2 = sv->nr2, ne = o.ne;
    const int n = sv->natoms, nb = sv->nbonds;
    double xu[SP_MAX_ELEMENTS][SP_SPLINE_MAX_KNOTS];
    int p0, e;
    if (work_bytes < sp_smeam_sv_workspace_size(sv, lay, chunk) || !work) return SP_ERR_WORKSPACE_TOO_SMALL;
    if (!sp__smeam_layout_ok(lay) || ne != sv->nelem || nr2 != lay->nr + 2 || sv->ng2 != o.ng2) return SP_ERR_BAD_ARG;
    for (e = 0; e < ne; ++e) sp__smeam_uknots(lay, e, xu[e]);
    for (p0 = 0; p0 < P; p0 += chunk) {
        const int pc = (P - p0 < chunk) ? P - p0 : chunk;
        double *T = (double *)work;                /* npar x pc: parameters, set index innermost */
        double *fv = T + (size_t)npar * pc;        /* nb x pc: f(r) */
        double *fd = fv + (size_t)nb * pc;         /* f'(r) */
        double *pd = fd + (size_t)nb * pc;         /* phi'(r) */
        double *dn = pd + (size_t)nb * pc;         /* nb x 3 x pc: dn_i/dr_ij, then bond forces */
        double *nn = dn + 3 * (size_t)nb * pc;     /* n x pc: n_i */
        double *dU = nn + (size_t)n * pc;          /* n x pc: U'(n_i) */
        double *eu = dU + (size_t)n * pc;          /* n x pc: U(n_i) - U(0) */
        double *SP_RESTRICT Z = eu + (size_t)n * pc;  /* npar x pc: the splines' z_k */
        int p, q, b, i, d;
        for (p = 0; p < pc; ++p)
            for (q = 0; q < npar; ++q) {
                double v = theta[(size_t)(p0 + p) * npar + q];
                if (!sp__isfinite(v)) return SP_ERR_NOT_FINITE;
                T[(size_t)q * pc + p] = v;
            }
        sp__smeam_sv_density_chunk(sv, lay, pc, T, fv, fd, pd, dn, nn, Z);
        /* U of each element per parameter set, and the energies */
        for (p = 0; p < pc; ++p) {
            sp_spline_t U[SP_MAX_ELEMENTS];
            double e_tot = 0.0, u0[SP_MAX_ELEMENTS] = {0.0};
            for (e = 0; e < ne; ++e) {
                const double *Tu = T + (size_t)(o.U + e * o.nu2) * pc + p;
                double y[SP_SPLINE_MAX_KNOTS];
                for (q = 0; q < lay->nu; ++q) y[q] = Tu[(size_t)q * pc];
                if (sp_spline_init(&U[e], lay->nu, xu[e], y, Tu[(size_t)lay->nu * pc], Tu[(size_t)(lay->nu + 1) * pc]) !=
                    SP_OK)
                    return SP_ERR_NOT_FINITE;
                u0[e] = sp__spline_eval(&U[e], 0.0, NULL);
            }
            for (q = 0; q < o.np * nr2; ++q) e_tot += sv->phi_sum[q] * T[(size_t)q * pc + p];
            for (i = 0; i < n; ++i) {
                const int ti = sv->atype[i];
                double du;
                eu[(size_t)i * pc + p] = sp__spline_eval(&U[ti], nn[(size_t)i * pc + p], &du) - u0[ti];
                dU[(size_t)i * pc + p] = du;
            }
            for (i = 0; i < n; ++i) e_tot += eu[(size_t)i * pc + p];
            out_energy[p0 + p] = e_tot;
        }
        if (!out_forces) continue;
        /* bond forces -dE_i/dr_ij = -(phi'/2 u + U'_i dn_i/dr_ij), then the gather */
        for (b = 0; b < nb; ++b) {
            const double *ub = sv->u + 4 * (size_t)b, *SP_RESTRICT du = dU + (size_t)sv->centre[b] * pc;
            const double *SP_RESTRICT ph = pd + (size_t)b * pc;
            for (d = 0; d < 3; ++d) {
                double *SP_RESTRICT x = dn + (3 * (size_t)b + d) * pc;
                for (p = 0; p < pc; ++p) x[p] = -(0.5 * ph[p] * ub[d] + du[p] * x[p]);
            }
        }
        for (i = 0; i < n; ++i)
            for (d = 0; d < 3; ++d)
                for (p = 0; p < pc; ++p) {
                    double f = 0.0;
                    for (b = sv->first[i]; b < sv->first[i + 1]; ++b)
                        f += dn[(3 * (size_t)sv->rev[b] + d) * pc + p] - dn[(3 * (size_t)b + d) * pc + p];
                    out_forces[(size_t)(p0 + p) * 3 * n + 3 * (size_t)i + d] = f;
                }
    }
    return SP_OK;
}

SP_API sp_result_t sp_smeam_sv_eval(const sp_smeam_sv_t *sv, const sp_smeam_layout_t *lay, int P,
                                    const double *theta, double *out_energy, double *out_forces, int chunk,
                                    void *work, size_t work_bytes) {
    if (!sv || !lay || P < 0 || (P > 0 && (!theta || !out_energy)) || chunk < 1) return SP_ERR_BAD_ARG;
    return sp__smeam_sv_eval(sv, lay, P, theta, out_energy, out_forces, chunk, work, work_bytes);
}

SP_API sp_result_t sp_smeam_sv_density(const sp_smeam_sv_t *sv, const sp_smeam_layout_t *lay, int P,
                                       const double *theta, double *out_n, double *out_dn, int chunk, void *work,
                                       size_t work_bytes) {
    sp__smoff_t o;
    int n, nb, p0;
    if (!sv || !lay || P < 0 || (P > 0 && (!theta || !out_n)) || chunk < 1) return SP_ERR_BAD_ARG;
    if (work_bytes < sp_smeam_sv_workspace_size(sv, lay, chunk) || !work) return SP_ERR_WORKSPACE_TOO_SMALL;
    if (!sp__smeam_layout_ok(lay)) return SP_ERR_BAD_ARG;
    o = sp__smeam_offsets(lay);
    if (o.ne != sv->nelem || o.nr2 != sv->nr2 || o.ng2 != sv->ng2) return SP_ERR_BAD_ARG;
    n = sv->natoms;
    nb = sv->nbonds;
    for (p0 = 0; p0 < P; p0 += chunk) {
        const int pc = (P - p0 < chunk) ? P - p0 : chunk;
        double *T = (double *)work, *fv = T + (size_t)o.npar * pc, *fd = fv + (size_t)nb * pc;
        double *pd = fd + (size_t)nb * pc, *dn = pd + (size_t)nb * pc, *nn = dn + 3 * (size_t)nb * pc;
        double *Z = nn + (size_t)n * pc;
        int p, q, i, b;
        for (p = 0; p < pc; ++p)
            for (q = 0; q < o.npar; ++q) {
                const int used = (q >= o.rho && q < o.U) || q >= o.f; /* rho, f, g */
                const double v = used ? theta[(size_t)(p0 + p) * o.npar + q] : 0.0;
                if (!sp__isfinite(v)) return SP_ERR_NOT_FINITE;
                T[(size_t)q * pc + p] = v;
            }
        sp__smeam_sv_density_chunk(sv, lay, pc, T, fv, fd, pd, dn, nn, Z);
        for (p = 0; p < pc; ++p) {
            double *on = out_n + (size_t)(p0 + p) * n;
            for (i = 0; i < n; ++i) on[i] = nn[(size_t)i * pc + p];
            if (out_dn) {
                double *od = out_dn + (size_t)(p0 + p) * 3 * nb;
                for (b = 0; b < 3 * nb; ++b) od[b] = dn[(size_t)b * pc + p];
            }
        }
    }
    return SP_OK;
}

SP_API void sp_smeam_sv_phi_rows(const sp_smeam_sv_t *sv, double *out_energy_row, double *out_force_rows,
                                 double *out_virial_rows) {
    const int nr2 = sv->nr2, n = sv->natoms, ne = sv->nelem, w = ne * (ne + 1) / 2 * nr2;
    int i, b, d, e, q;
    if (out_energy_row)
        for (q = 0; q < w; ++q) out_energy_row[q] = sv->phi_sum[q];
    if (out_force_rows) memset(out_force_rows, 0, sizeof(double) * 3 * (size_t)n * w);
    if (out_virial_rows) memset(out_virial_rows, 0, sizeof(double) * 9 * (size_t)w);
    /* F_i = sum over the bonds b of i of phi'(r_b) u_b (both bond directions
       together); W = -1/2 sum over all bonds of phi'(r_b) r_b u_b u_b^T */
    for (i = 0; i < n; ++i)
        for (b = sv->first[i]; b < sv->first[i + 1]; ++b) {
            const double *ds = sv->ds + (size_t)b * nr2, *ub = sv->u + 4 * (size_t)b;
            const int off = sp_pot_pair_index(ne, sv->atype[i], sv->btype[b]) * nr2;
            for (d = 0; out_force_rows && d < 3; ++d) {
                double *row = out_force_rows + (3 * (size_t)i + d) * w + off;
                for (q = 0; q < nr2; ++q) row[q] += ds[q] * ub[d];
            }
            for (d = 0; out_virial_rows && d < 3; ++d)
                for (e = 0; e < 3; ++e) {
                    const double c = -0.5 * ub[d] * ub[e] / ub[3];
                    double *row = out_virial_rows + (size_t)(3 * d + e) * w + off;
                    for (q = 0; q < nr2; ++q) row[q] += c * ds[q];
                }
        }
}

SP_API size_t sp_smeam_sv_u_rows_workspace_size(const sp_smeam_sv_t *sv, const sp_smeam_layout_t *lay) {
    return sizeof(double) * ((size_t)sv->natoms + (size_t)lay->nu + 2) * ((size_t)lay->nu + 2);
}

SP_API sp_result_t sp_smeam_sv_u_rows(const sp_smeam_sv_t *sv, const sp_smeam_layout_t *lay, const double *nvals,
                                      const double *dn, double *out_energy_row, double *out_force_rows,
                                      double *out_virial_rows, void *work, size_t work_bytes) {
    double xu[SP_SPLINE_MAX_KNOTS], *M, *w, *s0, *ds0;
    int nu2, n, ne, wu, i, b, d, k, e;
    if (!sv || !lay || !nvals || ((out_force_rows || out_virial_rows) && !dn)) return SP_ERR_BAD_ARG;
    if (!sp__smeam_layout_ok(lay) || sp__smeam_offsets(lay).ne != sv->nelem) return SP_ERR_BAD_ARG;
    if (!work || work_bytes < sp_smeam_sv_u_rows_workspace_size(sv, lay)) return SP_ERR_WORKSPACE_TOO_SMALL;
    nu2 = lay->nu + 2;
    n = sv->natoms;
    ne = sv->nelem;
    wu = ne * nu2;
    M = (double *)work;                       /* nu x nu2 */
    s0 = M + (size_t)lay->nu * nu2;           /* nu2: s(0) */
    ds0 = s0 + nu2;                           /* nu2: scratch */
    w = ds0 + nu2;                            /* n x nu2: s'(n_i) on the knots of i's element */
    for (i = 0; i < n; ++i)
        if (!sp__isfinite(nvals[i])) return SP_ERR_NOT_FINITE;
    if (out_energy_row)
        for (k = 0; k < wu; ++k) out_energy_row[k] = 0.0;
    for (e = 0; e < ne; ++e) {
        sp__smeam_uknots(lay, e, xu);
        if (sp_spline_basis_matrix(lay->nu, xu, SP_SPLINE_CLAMPED, M) != SP_OK) return SP_ERR_BAD_ARG;
        sp_spline_basis(lay->nu, xu, SP_SPLINE_CLAMPED, M, 0.0, s0, ds0);
        for (i = 0; i < n; ++i) {
            double *wi = w + (size_t)i * nu2;
            if (sv->atype[i] != e) continue;
            sp_spline_basis(lay->nu, xu, SP_SPLINE_CLAMPED, M, nvals[i], ds0, wi);
            if (out_energy_row)
                for (k = 0; k < nu2; ++k) out_energy_row[e * nu2 + k] += ds0[k] - s0[k];
        }
    }
    if (out_virial_rows) { /* W = -sum_i U'(n_i) sum over the bonds b of i of r_b (dn_i/dr_b)^T */
        memset(out_virial_rows, 0, sizeof(double) * 9 * (size_t)wu);
        for (i = 0; i < n; ++i) {
            const double *wi = w + (size_t)i * nu2;
            const int oi = sv->atype[i] * nu2;
            double t[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
            for (b = sv->first[i]; b < sv->first[i + 1]; ++b) {
                const double *ub = sv->u + 4 * (size_t)b;
                for (d = 0; d < 3; ++d)
                    for (e = 0; e < 3; ++e) t[3 * d + e] -= ub[d] / ub[3] * dn[3 * (size_t)b + e];
            }
            for (d = 0; d < 9; ++d)
                for (k = 0; k < nu2; ++k) out_virial_rows[(size_t)d * wu + oi + k] += t[d] * wi[k];
        }
    }
    if (!out_force_rows) return SP_OK;
    /* F_i = sum over the bonds b = (i, j) of U'(n_i) dn_i/dr_ij - U'(n_j) dn_j/dr_ji */
    memset(out_force_rows, 0, sizeof(double) * 3 * (size_t)n * wu);
    for (i = 0; i < n; ++i) {
        const double *wi = w + (size_t)i * nu2;
        const int oi = sv->atype[i] * nu2;
        for (b = sv->first[i]; b < sv->first[i + 1]; ++b) {
            const int rb = sv->rev[b], oj = sv->btype[b] * nu2;
            const double *wj = w + (size_t)sv->centre[rb] * nu2;
            for (d = 0; d < 3; ++d) {
                const double a = dn[3 * (size_t)b + d], c = dn[3 * (size_t)rb + d];
                double *SP_RESTRICT row = out_force_rows + (3 * (size_t)i + d) * wu;
                for (k = 0; k < nu2; ++k) row[oi + k] += wi[k] * a;
                for (k = 0; k < nu2; ++k) row[oj + k] -= wj[k] * c;
            }
        }
    }
    return SP_OK;
}

SP_API sp_result_t sp_smeam_layout_pot(const sp_smeam_layout_t *lay, const double *theta,
                                       const char *const *elements, sp_pot_t *out) {
    double xr[SP_SPLINE_MAX_KNOTS], xg[SP_SPLINE_MAX_KNOTS], xu[SP_SPLINE_MAX_KNOTS];
    sp__smoff_t o;
    sp_allocator_t al;
    sp_result_t r;
    int k, e, ns;
    if (!lay || !theta || !out || !elements || !sp__smeam_layout_ok(lay)) return SP_ERR_BAD_ARG;
    o = sp__smeam_offsets(lay);
    for (e = 0; e < o.ne; ++e) {
        int e2;
        if (!elements[e] || !sp_element_z(elements[e])) return SP_ERR_BAD_ARG;
        for (e2 = 0; e2 < e; ++e2)
            if (strcmp(elements[e], elements[e2]) == 0) return SP_ERR_BAD_ARG;
    }
    ns = 2 * o.np + 3 * o.ne;
    al = out->allocator;
    memset(out, 0, sizeof *out);
    out->allocator = al;
    sp__uniform_knots(lay->nr, lay->rlo, lay->rc, xr);
    sp__uniform_knots(o.ng, -1.0, 1.0, xg);
    out->mem = sp__alloc(&out->allocator, (size_t)ns * sizeof(sp_spline_t));
    if (!out->mem) return SP_ERR_NO_MEMORY;
    out->kind = SP_POT_MEAM;
    out->nelem = o.ne;
    for (e = 0; e < o.ne; ++e) snprintf(out->elem[e], sizeof out->elem[e], "%s", elements[e]);
    out->meam.phi = (sp_spline_t *)out->mem;
    out->meam.rho = out->meam.phi + o.np;
    out->meam.U = out->meam.rho + o.ne;
    out->meam.f = out->meam.U + o.ne;
    out->meam.g = out->meam.f + o.ne;
    out->meam.new_format = 1;
    /* the splines lie in the parameter vector's order: phi, rho, U, f, g */
    for (k = 0; k < ns; ++k) {
        const int isU = k >= o.np + o.ne && k < o.np + 2 * o.ne, isg = k >= o.np + 3 * o.ne;
        const int nk = isU ? lay->nu : isg ? o.ng : lay->nr;
        const int start = k < o.np + o.ne ? k * o.nr2
                          : isU           ? o.U + (k - o.np - o.ne) * o.nu2
                          : !isg          ? o.f + (k - o.np - 2 * o.ne) * o.nr2
                                          : o.g + (k - o.np - 3 * o.ne) * o.ng2;
        const double *th = theta + start;
        if (isU) sp__smeam_uknots(lay, k - o.np - o.ne, xu);
        r = sp_spline_init(out->meam.phi + k, nk, isU ? xu : isg ? xg : xr, th, th[nk], th[nk + 1]);
        if (r != SP_OK) {
            sp_pot_free(out);
            return r;
        }
    }
    sp__meam_finish(out);
    return SP_OK;
}

/* ==================================================================
 * >>snnp     implementation
 * ================================================================== */

SP_API sp_snnp_fit_desc_t sp_snnp_fit_desc_defaults(const sp_snnp_fit_desc_t *desc) {
    sp_snnp_fit_desc_t d;
    if (desc) d = *desc;
    else memset(&d, 0, sizeof d);
    if (d.epochs == 0) d.epochs = 1000;
    if (d.batch == 0) d.batch = 8;
    if (d.lr == 0.0) d.lr = 2e-3;
    if (d.lr_spline == 0.0) d.lr_spline = 3.0;
    if (d.amsgrad == 0) d.amsgrad = 1;
    if (d.beta1 == 0.0) d.beta1 = 0.9;
    if (d.beta2 == 0.0) d.beta2 = 0.999;
    if (d.eps == 0.0) d.eps = 1e-8;
    if (d.milestones[0] == 0.0 && d.milestones[1] == 0.0 && d.milestones[2] == 0.0 && d.milestones[3] == 0.0) {
        d.milestones[0] = 0.5;
        d.milestones[1] = 0.75;
        d.milestones[2] = 0.9;
    }
    if (d.gamma == 0.0) d.gamma = 0.3;
    if (d.w_energy == 0.0) d.w_energy = 100.0;
    if (d.w_force == 0.0) d.w_force = 1.0;
    if (d.l2 == 0.0) d.l2 = 1e-6;
    if (d.val_fraction == 0.0) d.val_fraction = 0.1;
    if (d.patience == 0) d.patience = d.epochs / 3 > 10 ? d.epochs / 3 : 10;
    if (d.init_scale == 0.0) d.init_scale = d.arch.skip ? 0.3 : 1.0;
    if (d.seed == 0) d.seed = 1;
    return d;
}

/* uniform [0, 1) from xoshiro256** (the >>cmaes generator) */
SP__PRIVATE double sp__snnp_unif(uint64_t *s) {
    return (double)(sp__xoshiro_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

#define SP__PI 3.14159265358979323846

/* initial filter shapes (before scaling): family fam, filter f, at x */
SP__PRIVATE double sp__snnp_shape(const sp_snnp_arch_t *a, int fam, int f, double x) {
    if (fam == SP__SNNP_G) { /* Legendre P_l(cos theta), l = f mod 4 */
        int l = f % (a->n3 < 4 ? a->n3 : 4);
        return l == 0 ? 1.0 : l == 1 ? x : l == 2 ? 0.5 * (3.0 * x * x - 1.0) : 0.5 * (5.0 * x * x * x - 3.0 * x);
    } else {
        double lo, hi, fc;
        int n, nr, k;
        sp__snnp_grid(a, fam, &lo, &hi, &n);
        if (x >= hi) return 0.0;
        if (fam == SP__SNNP_S) return 0.0;
        if (fam == SP__SNNP_F) {
            int L = a->n3 < 4 ? a->n3 : 4;
            nr = (a->n3 + L - 1) / L;
            k = f / L;
        } else {
            nr = a->n2;
            k = f;
        }
        if (nr == 1) return 0.5 * (1.0 + cos(SP__PI * (x < lo ? 0.0 : (x - lo) / (hi - lo))));
        fc = 0.5 * (1.0 + cos(SP__PI * x / hi));
        {
            double R = lo + (k + 0.5) * (hi - lo) / nr, w = (hi - lo) / nr;
            return exp(-(x - R) * (x - R) / (w * w)) * fc;
        }
    }
}

/* theta of every spline from the shapes: values at the knots, slopes at the
   ends (radial: 0 at the cutoff) */
SP__PRIVATE void sp__snnp_init_splines(const sp_snnp_t *m, double *th) {
    const sp_snnp_arch_t *a = &m->arch;
    int fam, k, q;
    for (fam = 0; fam < 4; ++fam) {
        const int ns = sp__snnp_nspl(a, fam), n = m->nk[fam];
        const int off = fam == 0 ? m->off_f : fam == 1 ? m->off_g : fam == 2 ? m->off_rho : m->off_s;
        const int per = fam == 1 ? m->npairs : a->nelem;
        double lo, hi;
        int nn;
        sp__snnp_grid(a, fam, &lo, &hi, &nn);
        for (k = 0; k < ns; ++k) {
            double *t = th + off + (size_t)k * (n + 2), dx = 1e-5 * (hi - lo);
            const int f = k / per;
            for (q = 0; q < n; ++q) t[q] = sp__snnp_shape(a, fam, f, q == n - 1 ? hi : lo + (hi - lo) * q / (n - 1));
            t[n] = (sp__snnp_shape(a, fam, f, lo + dx) - sp__snnp_shape(a, fam, f, lo - dx)) / (2.0 * dx);
            t[n + 1] = fam == SP__SNNP_G ? (sp__snnp_shape(a, fam, f, hi + dx) - sp__snnp_shape(a, fam, f, hi - dx)) / (2.0 * dx)
                                         : 0.0;
            if (fam != SP__SNNP_G) t[n - 1] = 0.0;
        }
    }
}

/* Solves A x = b (n x n, row-major, destroyed) by Gaussian elimination with
   partial pivoting; a zero pivot leaves that unknown 0. */
SP__PRIVATE void sp__snnp_solve(int n, double *A, double *b, double *x) {
    int i, j, k;
    for (k = 0; k < n; ++k) {
        int p = k;
        for (i = k + 1; i < n; ++i)
            if (fabs(A[i * n + k]) > fabs(A[p * n + k])) p = i;
        if (p != k) {
            for (j = 0; j < n; ++j) { double t = A[k * n + j]; A[k * n + j] = A[p * n + j]; A[p * n + j] = t; }
            { double t = b[k]; b[k] = b[p]; b[p] = t; }
        }
        if (A[k * n + k] == 0.0) continue;
        for (i = k + 1; i < n; ++i) {
            double f = A[i * n + k] / A[k * n + k];
            for (j = k; j < n; ++j) A[i * n + j] -= f * A[k * n + j];
            b[i] -= f * b[k];
        }
    }
    for (k = n - 1; k >= 0; --k) {
        double s = b[k];
        for (j = k + 1; j < n; ++j) s -= A[k * n + j] * x[j];
        x[k] = A[k * n + k] != 0.0 ? s / A[k * n + k] : 0.0;
    }
}

/* per-thread buffers of the fit */
typedef struct sp__snnp_thr_t {
    sp_work_t ws, wb;
    double *F, *fadj;
} sp__snnp_thr_t;

/* E, F and W of configuration c into res (SP__SNNP_NRES: e, sum de^2, sum dF^2,
   force count, sum dsigma^2, stress count; the stress only where vol > 0);
   with grad != NULL also the gradient of
   w^2 (we/ne ((E - Eref)/N)^2 + wf/nf sum (F - Fref)^2 + ws/ns sum (sigma - sigma_ref)^2)
   (w the configuration's weight) */
#define SP__SNNP_NRES 6
SP__PRIVATE sp_result_t sp__snnp_eval_cf(const sp_pot_t *pot, const sp_config_t *cf, const sp_nlist_t *nl, double vol,
                                         sp__snnp_thr_t *t, double we, double wf, double ws, double *res, double *grad) {
    sp_out_t o;
    sp_result_t r;
    int a, n = cf->natoms;
    double de, sf = 0.0, ss = 0.0, wadj[9];
    if (cf->weight > 0.0) { /* the configuration's weight, squared as on a row of a linear fit */
        we *= cf->weight * cf->weight;
        wf *= cf->weight * cf->weight;
        ws *= cf->weight * cf->weight;
    }
    memset(&o, 0, sizeof o);
    o.forces = t->F;
    r = sp_pot_compute(pot, nl, cf->type, &t->ws, &o);
    if (r != SP_OK) return r;
    de = (o.energy - cf->energy) / n;
    for (a = 0; cf->forces && a < 3 * n; ++a) {
        const double d = t->F[a] - cf->forces[a];
        sf += d * d;
        t->fadj[a] = 2.0 * wf * d;
    }
    memset(wadj, 0, sizeof wadj);
    for (a = 0; vol > 0.0 && a < 6; ++a) { /* sigma = -W/V */
        const int v = sp__voigt[a];
        const double d = -o.virial[v] / vol - cf->stress[v];
        ss += d * d;
        wadj[v] = -2.0 * ws * d / vol;
    }
    res[0] = o.energy;
    res[1] = de * de;
    res[2] = sf;
    res[3] = cf->forces ? 3.0 * n : 0.0;
    res[4] = ss;
    res[5] = vol > 0.0 ? 6.0 : 0.0;
    if (!grad) return SP_OK;
    return sp_snnp_backprop(pot, nl, cf->type, 2.0 * we * de / n, cf->forces && wf != 0.0 ? t->fadj : NULL,
                            vol > 0.0 && ws != 0.0 ? wadj : NULL, &t->wb, grad);
}

SP_API sp_result_t sp_snnp_fit(const sp_snnp_fit_desc_t *desc, const sp_config_t *configs, int nconfigs,
                               sp_pot_t *out_pot, sp_snnp_fit_info_t *out_info, sp_diag_t *diag) {
    sp_snnp_fit_desc_t d;
    sp_snnp_fit_info_t info;
    sp_allocator_t al;
    sp_result_t r = SP_OK;
    sp_snnp_t *m;
    sp_nlist_t *nl = NULL;
    sp__snnp_thr_t *thr = NULL;
    int *order = NULL, *tr = NULL, *va = NULL, ntr = 0, nva = 0, nth = 1, c, k, e, maxn = 0, np, epoch, nfree = 0;
    unsigned char *freep = NULL;
    double *th = NULL, *best = NULL, *gbuf = NULL, *grad = NULL, *am = NULL, *av = NULL, *avmax = NULL, *lrs = NULL;
    double *res = NULL, *vol = NULL, t0, best_loss = HUGE_VAL;
    uint64_t rng[4], sm;
    char line[512];
    double tstart;
#ifdef SP__OMP
    tstart = omp_get_wtime();
#else
    tstart = (double)clock() / CLOCKS_PER_SEC;
#endif
    t0 = tstart;
    memset(&info, 0, sizeof info);
    if (!desc || !configs || nconfigs < 1 || !out_pot) return sp__fail(diag, SP_ERR_BAD_ARG, 0, "bad argument to sp_snnp_fit");
    d = sp_snnp_fit_desc_defaults(desc);
    if (d.epochs < 1 || d.batch < 1 || !(d.lr > 0.0) || !(d.gamma > 0.0) || d.w_energy < 0.0 || !(d.beta1 >= 0.0 && d.beta1 < 1.0) ||
        !(d.beta2 >= 0.0 && d.beta2 < 1.0) || !(d.val_fraction < 0.9) || !(d.init_scale > 0.0) || !(d.lr_spline > 0.0) ||
        !(d.w_stress >= 0.0))
        return sp__fail(diag, SP_ERR_BAD_ARG, 0, "bad training settings (epochs, batch, lr, gamma, weights, betas, val_fraction)");
    if (d.w_force < 0.0) d.w_force = 0.0;
    if (d.l2 < 0.0) d.l2 = 0.0;
    al = out_pot->allocator;
    if (d.init) {
        if (d.init->kind != SP_POT_SNNP) return sp__fail(diag, SP_ERR_BAD_ARG, 0, "init is not an s-NNP model");
        d.arch = d.init->snnp.arch;
    }
    if ((r = sp_snnp_create(out_pot, &d.arch, diag)) != SP_OK) return r;
    m = &out_pot->snnp;
    np = m->nparams;
    for (c = 0; c < nconfigs; ++c) {
        const sp_config_t *cf = configs + c;
        if (cf->natoms < 1 || !cf->pos || !cf->type || !sp__isfinite(cf->energy)) {
            r = sp__fail(diag, SP_ERR_BAD_ARG, 0, "configuration %d: no atoms, positions, types or energy", c + 1);
            goto done;
        }
        for (k = 0; k < cf->natoms; ++k)
            if (cf->type[k] < 0 || cf->type[k] >= m->arch.nelem) {
                r = sp__fail(diag, SP_ERR_UNKNOWN_ELEMENT, 0, "configuration %d, atom %d: type %d not in the model", c + 1,
                             k + 1, cf->type[k]);
                goto done;
            }
        if (cf->natoms > maxn) maxn = cf->natoms;
    }
#ifdef SP__OMP
    nth = omp_get_max_threads();
#endif
    nl = (sp_nlist_t *)sp__alloc(&al, (size_t)nconfigs * sizeof(sp_nlist_t));
    thr = (sp__snnp_thr_t *)sp__alloc(&al, (size_t)nth * sizeof(sp__snnp_thr_t));
    order = (int *)sp__alloc(&al, 3 * (size_t)nconfigs * sizeof(int));
    freep = (unsigned char *)sp__alloc(&al, (size_t)np);
    th = (double *)sp__alloc(&al, 8 * (size_t)np * sizeof(double));
    gbuf = (double *)sp__alloc(&al, (size_t)d.batch * np * sizeof(double));
    res = (double *)sp__alloc(&al, (SP__SNNP_NRES + 1) * (size_t)nconfigs * sizeof(double));
    if (!nl || !thr || !order || !freep || !th || !gbuf || !res) {
        r = sp__fail(diag, SP_ERR_NO_MEMORY, 0, "out of memory");
        goto done;
    }
    memset(nl, 0, (size_t)nconfigs * sizeof(sp_nlist_t));
    memset(thr, 0, (size_t)nth * sizeof(sp__snnp_thr_t));
    for (k = 0; k < nth; ++k) {
        thr[k].ws.allocator = thr[k].wb.allocator = al;
        thr[k].F = (double *)sp__alloc(&al, 6 * (size_t)maxn * sizeof(double));
        if (!thr[k].F) { r = sp__fail(diag, SP_ERR_NO_MEMORY, 0, "out of memory"); goto done; }
        thr[k].fadj = thr[k].F + 3 * (size_t)maxn;
    }
    vol = res + SP__SNNP_NRES * (size_t)nconfigs;
    best = th + np; grad = th + 2 * (size_t)np; am = th + 3 * (size_t)np; av = th + 4 * (size_t)np;
    avmax = th + 5 * (size_t)np; lrs = th + 6 * (size_t)np;
    tr = order + nconfigs;
    va = order + 2 * (size_t)nconfigs;
    for (c = 0; c < nconfigs; ++c) {
        const sp_config_t *cf = configs + c;
        nl[c].allocator = al;
        r = sp_nlist_build(&nl[c], &cf->cell, cf->pos, cf->natoms, out_pot->cutoff, diag);
        if (r != SP_OK) {
            char msg[256];
            snprintf(msg, sizeof msg, "%s", diag ? diag->msg : "");
            r = sp__fail(diag, r, 0, "configuration %d: %s", c + 1, msg);
            goto done;
        }
        /* the volume of a configuration whose stress is fitted, else 0 */
        if (d.w_stress > 0.0 && cf->stress && cf->cell.pbc[0] && cf->cell.pbc[1] && cf->cell.pbc[2] &&
            sp_cell_check(&cf->cell, &vol[c]) == SP_OK) {
            for (k = 0; k < 9; ++k)
                if (!sp__isfinite(cf->stress[k])) {
                    r = sp__fail(diag, SP_ERR_NOT_FINITE, 0, "configuration %d: a stress is not finite", c + 1);
                    goto done;
                }
        } else {
            vol[c] = 0.0;
        }
    }
    /* seeded split */
    sm = d.seed;
    for (k = 0; k < 4; ++k) rng[k] = sp__splitmix64(&sm);
    for (c = 0; c < nconfigs; ++c) order[c] = c;
    for (c = nconfigs - 1; c > 0; --c) {
        int j = (int)(sp__snnp_unif(rng) * (c + 1)), t = order[c];
        if (j > c) j = c;
        order[c] = order[j];
        order[j] = t;
    }
    nva = d.val_fraction > 0.0 ? (int)floor(d.val_fraction * nconfigs + 0.5) : 0;
    if (nva >= nconfigs) nva = nconfigs - 1;
    ntr = nconfigs - nva;
    for (c = 0; c < nva; ++c) va[c] = order[c];
    for (c = 0; c < ntr; ++c) tr[c] = order[nva + c];
    /* sorted, so that the sets do not depend on the shuffle's order */
    for (c = 1; c < nva; ++c) { int v = va[c], j = c; while (j > 0 && va[j - 1] > v) { va[j] = va[j - 1]; --j; } va[j] = v; }
    for (c = 1; c < ntr; ++c) { int v = tr[c], j = c; while (j > 0 && tr[j - 1] > v) { tr[j] = tr[j - 1]; --j; } tr[j] = v; }
    info.n_train = ntr;
    info.n_val = nva;

    /* ---- initial parameters ---- */
    if (d.init) {
        memcpy(th, d.init->snnp.theta, (size_t)np * sizeof(double));
    } else {
        double *feat = NULL, s2[2 * SP_SNNP_MAX_FILTERS + 1];
        long cnt = 0;
        int a, l;
        memset(th, 0, (size_t)np * sizeof(double));
        sp__snnp_init_splines(m, th);
        if ((r = sp_snnp_set_params(out_pot, th)) != SP_OK) { r = sp__fail(diag, r, 0, "initial splines"); goto done; }
        /* scale every filter to an RMS of init_scale over the training atoms */
        feat = (double *)sp__alloc(&al, (size_t)maxn * m->nin * sizeof(double));
        if (!feat) { r = sp__fail(diag, SP_ERR_NO_MEMORY, 0, "out of memory"); goto done; }
        memset(s2, 0, sizeof s2);
        for (c = 0; c < ntr; ++c) {
            const sp_nlist_t *L = &nl[tr[c]];
            if ((r = sp_snnp_filters(out_pot, L, configs[tr[c]].type, &thr[0].ws, feat, NULL, NULL)) != SP_OK) {
                sp__free(&al, feat);
                r = sp__fail(diag, r, 0, "filters of training configuration %d", tr[c] + 1);
                goto done;
            }
            for (k = 0; k < L->natoms; ++k)
                for (a = 0; a < m->nin; ++a) s2[a] += feat[(size_t)k * m->nin + a] * feat[(size_t)k * m->nin + a];
            cnt += L->natoms;
        }
        sp__free(&al, feat);
        for (a = 0; a < m->nin; ++a) {
            double rms = sqrt(s2[a] / (cnt ? cnt : 1)), f = rms > 1e-300 ? d.init_scale / rms : 1.0;
            if (a < m->arch.n3) {
                for (k = 0; k < m->npairs; ++k) {
                    double *t = th + m->off_g + ((size_t)a * m->npairs + k) * (m->nk[SP__SNNP_G] + 2);
                    for (l = 0; l < m->nk[SP__SNNP_G] + 2; ++l) t[l] *= f;
                }
            } else {
                for (k = 0; k < m->arch.nelem; ++k) {
                    double *t = th + m->off_rho + ((size_t)(a - m->arch.n3) * m->arch.nelem + k) * (m->nk[SP__SNNP_RHO] + 2);
                    for (l = 0; l < m->nk[SP__SNNP_RHO] + 2; ++l) t[l] *= f;
                }
            }
        }
        /* networks: He-uniform hidden layers, a small output layer, biases 0 */
        for (e = 0; e < m->arch.nelem && m->arch.network; ++e)
            for (l = 0; l < m->nlayers; ++l) {
                const int din = m->dims[l], dout = m->dims[l + 1];
                const double bound = (l < m->nlayers - 1 ? sqrt(6.0 / din) : 0.3 * sqrt(3.0 / din));
                double *W = th + m->off_net[e] + m->lay_off[l];
                for (k = 0; k < din * dout; ++k) W[k] = bound * (2.0 * sp__snnp_unif(rng) - 1.0);
            }
        if ((r = sp_snnp_set_params(out_pot, th)) != SP_OK) { r = sp__fail(diag, r, 0, "initial parameters"); goto done; }
        /* e0: least-squares per-element energy of the residual, per atom */
        {
            double A[SP_MAX_ELEMENTS * SP_MAX_ELEMENTS], b[SP_MAX_ELEMENTS], x0[SP_MAX_ELEMENTS];
            const int ne = m->arch.nelem;
            memset(A, 0, sizeof A);
            memset(b, 0, sizeof b);
            for (c = 0; c < ntr; ++c) {
                const sp_config_t *cf = configs + tr[c];
                double frac[SP_MAX_ELEMENTS], rr[SP__SNNP_NRES];
                int p, q;
                if ((r = sp__snnp_eval_cf(out_pot, cf, &nl[tr[c]], 0.0, &thr[0], 0.0, 0.0, 0.0, rr, NULL)) != SP_OK) {
                    r = sp__fail(diag, r, 0, "configuration %d: initial model not finite", tr[c] + 1);
                    goto done;
                }
                memset(frac, 0, sizeof frac);
                for (k = 0; k < cf->natoms; ++k) frac[cf->type[k]] += 1.0 / cf->natoms;
                for (p = 0; p < ne; ++p) {
                    for (q = 0; q < ne; ++q) A[p * ne + q] += frac[p] * frac[q];
                    b[p] += frac[p] * (cf->energy - rr[0]) / cf->natoms;
                }
            }
            for (e = 0; e < ne; ++e) A[e * ne + e] *= 1.0 + 1e-12;
            sp__snnp_solve(ne, A, b, x0);
            for (e = 0; e < ne; ++e) th[m->off_e0 + e] = x0[e];
        }
    }
    if ((r = sp_snnp_set_params(out_pot, th)) != SP_OK) { r = sp__fail(diag, r, 0, "initial parameters"); goto done; }
    /* trained parameters and their step scales */
    {
        double rms[4] = {0, 0, 0, 0}, mean_rms = 0.0;
        int fam, cntf[4] = {0, 0, 0, 0}, nz = 0;
        const int offs[4] = {m->off_f, m->off_g, m->off_rho, m->off_s};
        for (k = 0; k < np; ++k) {
            freep[k] = !sp_snnp_param_pinned(out_pot, k);
            lrs[k] = 1.0;
        }
        for (fam = 0; fam < 4; ++fam) {
            const int ns = sp__snnp_nspl(&m->arch, fam), n = m->nk[fam];
            for (k = 0; k < ns; ++k) {
                int q;
                for (q = 0; q < n + 2; ++q) {
                    const int idx = offs[fam] + k * (n + 2) + q;
                    if (fam != SP__SNNP_G && q == n + 1) freep[idx] = 0; /* slope at the cutoff stays 0 */
                    if (!freep[idx]) continue;
                    rms[fam] += th[idx] * th[idx];
                    ++cntf[fam];
                }
            }
            rms[fam] = cntf[fam] ? sqrt(rms[fam] / cntf[fam]) : 0.0;
            if (rms[fam] > 0.0) { mean_rms += rms[fam]; ++nz; }
        }
        mean_rms = nz ? mean_rms / nz : 1.0;
        for (fam = 0; fam < 4; ++fam) {
            const int ns = sp__snnp_nspl(&m->arch, fam), n = m->nk[fam];
            const double s = d.lr_spline * (rms[fam] > 0.0 ? rms[fam] : mean_rms);
            for (k = 0; k < ns * (n + 2); ++k) lrs[offs[fam] + k] = s;
        }
        for (k = 0; k < np; ++k) nfree += freep[k];
    }
    info.n_params = nfree;
    memset(am, 0, 3 * (size_t)np * sizeof(double));
    memcpy(best, th, (size_t)np * sizeof(double));
    {
        double s_e = 0.0, s_f = 0.0, nf = 0.0, s_s = 0.0, ns = 0.0;
        int step = 0;
        if (d.progress) {
            snprintf(line, sizeof line,
                     "snnp fit: %d training and %d validation configurations, %d parameters (%d trained), %d thread%s",
                     ntr, nva, np, nfree, nth, nth == 1 ? "" : "s");
            d.progress(line, d.user);
        }
        int total = d.epochs; /* cut when max_seconds would be exceeded; the schedule follows the cut */
        double tloop;
#ifdef SP__OMP
        tloop = omp_get_wtime();
#else
        tloop = (double)clock() / CLOCKS_PER_SEC;
#endif
        for (epoch = 0; epoch < total; ++epoch) {
            double lr = d.lr, vl = 0.0, ve = 0.0, vf = 0.0, vnf = 0.0, vs = 0.0, vns = 0.0, now, te_e, te_f, te_s;
            int b0, q, improved = 0;
            for (q = 0; q < 4; ++q)
                if (d.milestones[q] > 0.0 && epoch >= (int)floor(d.milestones[q] * total + 0.5)) lr *= d.gamma;
            for (c = ntr - 1; c > 0; --c) {
                int j = (int)(sp__snnp_unif(rng) * (c + 1)), t = tr[c];
                if (j > c) j = c;
                tr[c] = tr[j];
                tr[j] = t;
            }
            s_e = s_f = nf = s_s = ns = 0.0;
            for (b0 = 0; b0 < ntr; b0 += d.batch) {
                const int nb = ntr - b0 < d.batch ? ntr - b0 : d.batch;
                double nfb = 0.0, nsb = 0.0, bc1, bc2;
                int bad = 0, kk;
                for (k = 0; k < nb; ++k) {
                    if (configs[tr[b0 + k]].forces) nfb += 3.0 * configs[tr[b0 + k]].natoms;
                    if (vol[tr[b0 + k]] > 0.0) nsb += 6.0;
                }
                if (nfb == 0.0) nfb = 1.0;
                if (nsb == 0.0) nsb = 1.0;
                memset(gbuf, 0, (size_t)nb * np * sizeof(double));
#ifdef SP__OMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(nth)
#endif
                for (kk = 0; kk < nb; ++kk) {
                    int tid = 0;
                    const int cc = tr[b0 + kk];
#ifdef SP__OMP
                    tid = omp_get_thread_num();
#endif
                    if (sp__snnp_eval_cf(out_pot, configs + cc, &nl[cc], vol[cc], &thr[tid], d.w_energy / nb,
                                         d.w_force / nfb, d.w_stress / nsb, res + SP__SNNP_NRES * (size_t)cc,
                                         gbuf + (size_t)kk * np) != SP_OK)
                        res[SP__SNNP_NRES * (size_t)cc] = HUGE_VAL;
                }
                /* fixed-order reduction */
                memcpy(grad, gbuf, (size_t)np * sizeof(double));
                for (k = 1; k < nb; ++k) {
                    const double *g = gbuf + (size_t)k * np;
                    int p;
                    for (p = 0; p < np; ++p) grad[p] += g[p];
                }
                for (k = 0; k < nb; ++k) {
                    const double *rr = res + SP__SNNP_NRES * (size_t)tr[b0 + k];
                    if (!sp__isfinite(rr[0])) bad = 1;
                    s_e += rr[1];
                    s_f += rr[2];
                    nf += rr[3];
                    s_s += rr[4];
                    ns += rr[5];
                }
                for (e = 0; e < m->arch.nelem && m->arch.network && d.l2 > 0.0; ++e) {
                    int l;
                    for (l = 0; l < m->nlayers; ++l) {
                        const int off = m->off_net[e] + m->lay_off[l], nw = m->dims[l] * m->dims[l + 1];
                        for (k = 0; k < nw; ++k) grad[off + k] += 2.0 * d.l2 * th[off + k];
                    }
                }
                for (k = 0; k < np && !bad; ++k)
                    if (!sp__isfinite(grad[k])) bad = 1;
                if (bad) {
                    r = sp__fail(diag, SP_ERR_NOT_FINITE, 0, "the loss diverged in epoch %d; the best parameters so far are kept",
                                 epoch + 1);
                    goto finish;
                }
                /* Adam / AMSGrad step */
                ++step;
                bc1 = 1.0 - pow(d.beta1, step);
                bc2 = 1.0 - pow(d.beta2, step);
                for (k = 0; k < np; ++k) {
                    double vh;
                    if (!freep[k]) continue;
                    am[k] = d.beta1 * am[k] + (1.0 - d.beta1) * grad[k];
                    av[k] = d.beta2 * av[k] + (1.0 - d.beta2) * grad[k] * grad[k];
                    if (av[k] > avmax[k]) avmax[k] = av[k];
                    vh = (d.amsgrad > 0 ? avmax[k] : av[k]) / bc2;
                    th[k] -= lr * lrs[k] * (am[k] / bc1) / (sqrt(vh) + d.eps);
                }
                if ((r = sp_snnp_set_params(out_pot, th)) != SP_OK) {
                    r = sp__fail(diag, r, 0, "parameters left the valid range in epoch %d", epoch + 1);
                    goto finish;
                }
            }
            te_e = sqrt(s_e / ntr);
            te_f = nf > 0 ? sqrt(s_f / nf) : 0.0;
            te_s = ns > 0 ? sqrt(s_s / ns) : 0.0;
            /* validation */
            if (nva > 0) {
                int kk, bad = 0;
#ifdef SP__OMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(nth)
#endif
                for (kk = 0; kk < nva; ++kk) {
                    int tid = 0;
#ifdef SP__OMP
                    tid = omp_get_thread_num();
#endif
                    if (sp__snnp_eval_cf(out_pot, configs + va[kk], &nl[va[kk]], vol[va[kk]], &thr[tid], 0.0, 0.0, 0.0,
                                         res + SP__SNNP_NRES * (size_t)va[kk], NULL) != SP_OK)
                        res[SP__SNNP_NRES * (size_t)va[kk]] = HUGE_VAL;
                }
                for (k = 0; k < nva; ++k) {
                    const double *rr = res + SP__SNNP_NRES * (size_t)va[k];
                    if (!sp__isfinite(rr[0])) bad = 1;
                    ve += rr[1];
                    vf += rr[2];
                    vnf += rr[3];
                    vs += rr[4];
                    vns += rr[5];
                }
                vl = d.w_energy * ve / nva + (vnf > 0 ? d.w_force * vf / vnf : 0.0) + (vns > 0 ? d.w_stress * vs / vns : 0.0);
                if (bad || !sp__isfinite(vl)) vl = HUGE_VAL;
                ve = sqrt(ve / nva);
                vf = vnf > 0 ? sqrt(vf / vnf) : 0.0;
                vs = vns > 0 ? sqrt(vs / vns) : 0.0;
            } else {
                vl = d.w_energy * te_e * te_e + d.w_force * te_f * te_f + d.w_stress * te_s * te_s;
            }
            if (vl < best_loss || nva == 0) {
                best_loss = vl;
                memcpy(best, th, (size_t)np * sizeof(double));
                info.best_epoch = epoch + 1;
                info.train_rmse_e = te_e;
                info.train_rmse_f = te_f;
                info.val_rmse_e = ve;
                info.val_rmse_f = vf;
                info.train_rmse_s = te_s;
                info.val_rmse_s = vs;
                info.val_loss = vl;
                improved = 1;
            }
            info.epochs = epoch + 1;
#ifdef SP__OMP
            now = omp_get_wtime();
#else
            now = (double)clock() / CLOCKS_PER_SEC;
#endif
            if (d.progress) {
                char str_tr[32] = "", str_va[32] = ""; /* stresses, when fitted */
                if (ns > 0) snprintf(str_tr, sizeof str_tr, " %.3f GPa", SP_EV_A3_TO_GPA * te_s);
                if (vns > 0) snprintf(str_va, sizeof str_va, " %.3f GPa", SP_EV_A3_TO_GPA * vs);
                if (nva > 0)
                    snprintf(line, sizeof line,
                             "snnp fit: epoch %d/%d lr %.2e train %.2f meV/atom %.4f eV/A%s val %.2f meV/atom %.4f eV/A%s%s %.1f s",
                             epoch + 1, total, lr, 1000.0 * te_e, te_f, str_tr, 1000.0 * ve, vf, str_va, improved ? " *" : "",
                             now - t0);
                else
                    snprintf(line, sizeof line, "snnp fit: epoch %d/%d lr %.2e train %.2f meV/atom %.4f eV/A%s %.1f s",
                             epoch + 1, total, lr, 1000.0 * te_e, te_f, str_tr, now - t0);
                d.progress(line, d.user);
            }
            if (nva > 0 && epoch + 1 - info.best_epoch >= d.patience) {
                info.stop = 1;
                break;
            }
            if (d.max_seconds > 0.0 && now - t0 > d.max_seconds) {
                info.stop = 2;
                break;
            }
            if (d.max_seconds > 0.0 && epoch >= 9) { /* would the remaining epochs overrun max_seconds? */
                const double per = (now - tloop) / (epoch + 1), left = d.max_seconds - (now - t0);
                if (per * (total - epoch - 1) > 1.02 * left) {
                    int cut = epoch + 1 + (int)floor(left / per);
                    if (cut < epoch + 2) cut = epoch + 2;
                    if (cut < total) {
                        total = cut;
                        info.stop = 2;
                    }
                }
            }
        }
    }
finish:
    {
        sp_result_t r2 = sp_snnp_set_params(out_pot, best);
        if (r == SP_OK) r = r2;
    }
done:
#ifdef SP__OMP
    info.seconds = omp_get_wtime() - tstart;
#else
    info.seconds = (double)clock() / CLOCKS_PER_SEC - tstart;
#endif
    if (nl)
        for (c = 0; c < nconfigs; ++c) sp_nlist_free(&nl[c]);
    if (thr)
        for (k = 0; k < nth; ++k) {
            sp_work_free(&thr[k].ws);
            sp_work_free(&thr[k].wb);
            sp__free(&al, thr[k].F);
        }
    sp__free(&al, nl);
    sp__free(&al, thr);
    sp__free(&al, order);
    sp__free(&al, freep);
    sp__free(&al, th);
    sp__free(&al, gbuf);
    sp__free(&al, res);
    if (r != SP_OK && r != SP_ERR_NOT_FINITE) {
        sp_pot_free(out_pot);
        out_pot->allocator = al;
    }
    if (out_info) *out_info = info;
    return r;
}

/* ==================================================================
 * >>io       implementation
 * ================================================================== */

/* A cursor over physical lines of a text buffer. */
typedef struct sp__lines_t {
    const char *s;
    size_t len, pos;
    int line;             /* number of the line last returned */
    int strict;           /* reject numbers with trailing garbage (no LAMMPS prefix rule) */
} sp__lines_t;

/* Next physical line (without the newline); 0 at end of input. */
static int sp__next_line(sp__lines_t *L, const char **out, size_t *out_len) {
    size_t a, b;
    if (L->pos >= L->len) return 0;
    a = L->pos;
    b = a;
    while (b < L->len && L->s[b] != '\n') ++b;
    *out = L->s + a;
    *out_len = b - a;
    if (*out_len > 0 && (*out)[*out_len - 1] == '\r') --*out_len;
    L->pos = (b < L->len) ? b + 1 : b;
    ++L->line;
    return 1;
}

#define SP__MAXTOK 64
typedef struct sp__toks_t {
    int n;
    const char *p[SP__MAXTOK];
    int len[SP__MAXTOK];
} sp__toks_t;

/* Splits at white space, stopping at '#' when strip_comment is set; t->n
   counts every token of the line. want NULL: the first SP__MAXTOK tokens go
   to t->p, t->len; else only those of the columns want[0..nw) (increasing,
   nw <= SP__MAXTOK): t->p[q], t->len[q] for column want[q] (len 0 past the
   line's end). */
static void sp__split_cols(const char *s, size_t len, int strip_comment, const int *want, int nw, sp__toks_t *t) {
    size_t i = 0;
    int q;
    for (q = 0; q < nw; ++q) t->len[q] = 0, t->p[q] = s;
    q = 0;
    t->n = 0;
    while (i < len) {
        size_t a;
        while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\f' || s[i] == '\v')) ++i;
        if (i >= len || (strip_comment && s[i] == '#')) break;
        a = i;
        while (i < len && !(s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\f' || s[i] == '\v') &&
               !(strip_comment && s[i] == '#'))
            ++i;
        if (want ? q < nw && want[q] == t->n : t->n < SP__MAXTOK) {
            t->p[q] = s + a;
            t->len[q++] = (int)(i - a);
        }
        ++t->n;
    }
}

static void sp__split(const char *s, size_t len, int strip_comment, sp__toks_t *t) {
    sp__split_cols(s, len, strip_comment, NULL, 0, t);
}

/* A line split by sp__split into more than SP__MAXTOK tokens: its next
   SP__MAXTOK, those after the last held, up to end (t->n: those left). */
static void sp__split_on(sp__toks_t *t, const char *end, int strip_comment) {
    const char *rest = t->p[SP__MAXTOK - 1] + t->len[SP__MAXTOK - 1];
    sp__split(rest, (size_t)(end - rest), strip_comment, t);
}

/* Next line with at least one token after stripping '#' comments (the
   LAMMPS potential-file reader skips blank and comment-only lines). */
static int sp__next_content(sp__lines_t *L, sp__toks_t *t) {
    const char *s;
    size_t n;
    while (sp__next_line(L, &s, &n)) {
        sp__split(s, n, 1, t);
        if (t->n > 0) return 1;
    }
    t->n = 0;
    return 0;
}

/* Parses a number token. Returns 1 on a clean number, 2 when only a numeric
   prefix was read (C atof semantics, as LAMMPS), 0 when there is no number;
   -1 for NaN, infinity or overflow. */
static int sp__parse_double(const char *p, int len, double *out) {
    char buf[96];
    char *end;
    double v;
    if (len <= 0 || len >= (int)sizeof buf) return 0;
    memcpy(buf, p, (size_t)len);
    buf[len] = '\0';
    errno = 0;
    v = strtod(buf, &end);
    if (end == buf) return 0;
    if (!sp__isfinite(v)) return -1;
    if (errno == ERANGE && fabs(v) > 1.0) return -1;
    *out = v;
    return (end == buf + len) ? 1 : 2; /* a NUL byte inside the token is trailing garbage too */
}

static int sp__parse_int(const char *p, int len, long *out) {
    char buf[32];
    char *end;
    long v;
    if (len <= 0 || len >= (int)sizeof buf) return 0;
    memcpy(buf, p, (size_t)len);
    buf[len] = '\0';
    errno = 0;
    v = strtol(buf, &end, 10);
    if (end == buf || *end != '\0' || errno == ERANGE) return 0;
    *out = v;
    return 1;
}

/* Number token k of line L->line into *out, with the errors every parser uses. */
static sp_result_t sp__tok_double(const sp__toks_t *t, int k, const sp__lines_t *L, const char *what,
                                  double *out, sp_diag_t *diag) {
    int r;
    if (k >= t->n || k >= SP__MAXTOK)
        return sp__fail(diag, SP_ERR_PARSE, L->line, "expected %s, found %d values", what, t->n);
    r = sp__parse_double(t->p[k], t->len[k], out);
    if (r == 0)
        return sp__fail(diag, SP_ERR_PARSE, L->line, "%s: '%.*s' is not a number", what,
                        t->len[k] > 40 ? 40 : t->len[k], t->p[k]);
    if (r < 0)
        return sp__fail(diag, SP_ERR_NOT_FINITE, L->line, "%s: '%.*s' is not a finite number", what,
                        t->len[k] > 40 ? 40 : t->len[k], t->p[k]);
    if (r == 2 && L->strict)
        return sp__fail(diag, SP_ERR_PARSE, L->line, "%s: '%.*s' is not a number", what,
                        t->len[k] > 40 ? 40 : t->len[k], t->p[k]);
    if (r == 2 && diag && diag->warning_line == 0) {
        diag->warning_line = L->line;
        snprintf(diag->warning, sizeof diag->warning,
                 "%s: '%.*s' read as its numeric prefix %.17g (as LAMMPS does)", what,
                 t->len[k] > 40 ? 40 : t->len[k], t->p[k], *out);
    }
    return SP_OK;
}

/* One spline of a meam/spline file: N, "d0 dN", [one skipped line], N x "x y y2". */
static sp_result_t sp__read_meam_spline(sp__lines_t *L, int skip_flag_line, sp_spline_t *out,
                                        int *out_line, sp_diag_t *diag) {
    sp__toks_t t;
    double x[SP_SPLINE_MAX_KNOTS], y[SP_SPLINE_MAX_KNOTS], d0, dN, y2;
    long n;
    int k, line0;
    sp_result_t r;
    if (!sp__next_content(L, &t))
        return sp__fail(diag, SP_ERR_PARSE, L->line, "file ends where a spline's knot count is expected");
    line0 = L->line;
    *out_line = line0;
    if (!sp__parse_int(t.p[0], t.len[0], &n))
        return sp__fail(diag, SP_ERR_PARSE, L->line, "knot count '%.*s' is not an integer",
                        t.len[0] > 40 ? 40 : t.len[0], t.p[0]);
    if (n < 2 || n > SP_SPLINE_MAX_KNOTS)
        return sp__fail(diag, SP_ERR_PARSE, L->line, "knot count %ld outside 2..%d (more: compile with -DSP_SPLINE_MAX_KNOTS=N)", n, SP_SPLINE_MAX_KNOTS);
    if (!sp__next_content(L, &t))
        return sp__fail(diag, SP_ERR_PARSE, L->line, "file ends where 'd0 dN' is expected");
    if ((r = sp__tok_double(&t, 0, L, "first derivative d0", &d0, diag)) != SP_OK) return r;
    if ((r = sp__tok_double(&t, 1, L, "first derivative dN", &dN, diag)) != SP_OK) return r;
    if (skip_flag_line) {
        const char *s;
        size_t sl;
        if (!sp__next_line(L, &s, &sl))
            return sp__fail(diag, SP_ERR_PARSE, L->line, "file ends where the flag line is expected");
    }
    if (fabs(d0) > 1e100 || fabs(dN) > 1e100)
        return sp__fail(diag, SP_ERR_RANGE, L->line - (skip_flag_line ? 1 : 0), "end slope beyond 1e100");
    for (k = 0; k < n; ++k) {
        if (!sp__next_content(L, &t))
            return sp__fail(diag, SP_ERR_PARSE, L->line, "file ends after %d of %ld knots", k, n);
        if ((r = sp__tok_double(&t, 0, L, "knot x", &x[k], diag)) != SP_OK) return r;
        if ((r = sp__tok_double(&t, 1, L, "knot y", &y[k], diag)) != SP_OK) return r;
        if ((r = sp__tok_double(&t, 2, L, "knot y''", &y2, diag)) != SP_OK) return r;
        /* no physical spline reaches these; beyond them sums overflow */
        if (fabs(x[k]) > 1e4 || fabs(y[k]) > 1e100)
            return sp__fail(diag, SP_ERR_RANGE, L->line, "knot (%.3g, %.3g) out of range (|x| <= 1e4, |y| <= 1e100)", x[k], y[k]);
        if (k > 0 && !(x[k] > x[k - 1]))
            return sp__fail(diag, SP_ERR_PARSE, L->line, "knots must increase (%.17g after %.17g)", x[k], x[k - 1]);
    }
    r = sp_spline_init(out, (int)n, x, y, d0, dN);
    if (r == SP_ERR_BAD_ARG)
        return sp__fail(diag, SP_ERR_PARSE, line0, "knots are not uniform (LAMMPS requires uniform knots)");
    if (r != SP_OK) return sp__fail(diag, r, line0, "bad spline");
    return SP_OK;
}

static sp_result_t sp__pot_alloc_meam(sp_pot_t *pot, int nspl) {
    pot->mem = sp__alloc(&pot->allocator, (size_t)nspl * sizeof(sp_spline_t));
    return pot->mem ? SP_OK : SP_ERR_NO_MEMORY;
}

static int sp__ends_with(const char *s, const char *suffix) {
    size_t a = s ? strlen(s) : 0, b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static sp_result_t sp__read_meam(sp_pot_t *pot, sp__lines_t *L, const char *hint, sp_diag_t *diag) {
    sp__toks_t t;
    const char *s;
    size_t sl;
    sp__lines_t save;
    sp_result_t r;
    int k, line;
    sp_meam_t *m = &pot->meam;
    if (!sp__next_line(L, &s, &sl)) return sp__fail(diag, SP_ERR_PARSE, 1, "empty file");
    save = *L;
    if (sp__next_content(L, &t) && t.len[0] == 11 && memcmp(t.p[0], "meam/spline", 11) == 0) {
        /* new multi-element format */
        long ne;
        int np, nspl, e;
        if (t.n < 2 || !sp__parse_int(t.p[1], t.len[1], &ne) || ne < 1 || ne > SP_MAX_ELEMENTS)
            return sp__fail(diag, SP_ERR_PARSE, L->line, "expected 'meam/spline <n> <elements>' with n in 1..%d",
                            SP_MAX_ELEMENTS);
        if (t.n != 2 + ne)
            return sp__fail(diag, SP_ERR_PARSE, L->line, "%ld elements announced, %d names given", ne, t.n - 2);
        pot->kind = SP_POT_MEAM;
        pot->nelem = (int)ne;
        for (e = 0; e < ne; ++e) {
            char sym[8];
            int q;
            if (t.len[2 + e] >= 4) return sp__fail(diag, SP_ERR_UNKNOWN_ELEMENT, L->line, "bad element name");
            memcpy(sym, t.p[2 + e], (size_t)t.len[2 + e]);
            sym[t.len[2 + e]] = '\0';
            if (!sp_element_z(sym))
                return sp__fail(diag, SP_ERR_UNKNOWN_ELEMENT, L->line, "unknown element '%s'", sym);
            for (q = 0; q < e; ++q)
                if (strcmp(pot->elem[q], sym) == 0)
                    return sp__fail(diag, SP_ERR_PARSE, L->line, "element '%s' listed twice", sym);
            strcpy(pot->elem[e], sym);
        }
        np = (int)(ne * (ne + 1) / 2);
        nspl = 2 * np + 3 * (int)ne;
        if ((r = sp__pot_alloc_meam(pot, nspl)) != SP_OK) return r;
        m->phi = (sp_spline_t *)pot->mem;
        m->rho = m->phi + np;
        m->U = m->rho + ne;
        m->f = m->U + ne;
        m->g = m->f + ne;
        m->new_format = 1;
        for (k = 0; k < nspl; ++k) {
            if (!sp__next_content(L, &t))
                return sp__fail(diag, SP_ERR_PARSE, L->line, "file ends after %d of %d splines", k, nspl);
            if (!(t.len[0] == 9 && memcmp(t.p[0], "spline3eq", 9) == 0))
                return sp__fail(diag, SP_ERR_PARSE, L->line, "expected 'spline3eq' before spline %d of %d",
                                k + 1, nspl);
            if ((r = sp__read_meam_spline(L, 0, m->phi + k, &line, diag)) != SP_OK) return r;
        }
        if (sp__next_content(L, &t))
            return sp__fail(diag, SP_ERR_PARSE, L->line, "unexpected content after the last of %d splines", nspl);
    } else {
        /* old single-element format: 5 splines (meam/spline) or 7 (meam/sw/spline) */
        sp_spline_t tmp[7];
        int cnt = 0, want_sw = sp__ends_with(hint, ".meam.sw.spline");
        *L = save;
        while (cnt < 7) {
            sp__lines_t before = *L;
            if (!sp__next_content(L, &t)) break;
            *L = before;
            if ((r = sp__read_meam_spline(L, 1, tmp + cnt, &line, diag)) != SP_OK) return r;
            ++cnt;
        }
        if (cnt == 7 && sp__next_content(L, &t))
            return sp__fail(diag, SP_ERR_PARSE, L->line, "unexpected content after the 7th spline");
        if (want_sw && cnt != 7)
            return sp__fail(diag, SP_ERR_PARSE, L->line, "meam/sw/spline needs 7 splines (phi F G rho U f g), found %d", cnt);
        if (cnt != 5 && cnt != 7)
            return sp__fail(diag, SP_ERR_PARSE, L->line,
                            "found %d splines: meam/spline needs 5 (phi rho U f g), meam/sw/spline 7", cnt);
        if (sp__ends_with(hint, ".meam.spline") && !want_sw && cnt != 5)
            return sp__fail(diag, SP_ERR_PARSE, L->line, "meam/spline needs 5 splines, found %d", cnt);
        pot->kind = (cnt == 7) ? SP_POT_MEAM_SW : SP_POT_MEAM;
        pot->nelem = 1;
        pot->elem[0][0] = '\0';
        if ((r = sp__pot_alloc_meam(pot, cnt)) != SP_OK) return r;
        m->phi = (sp_spline_t *)pot->mem;
        memcpy(m->phi, tmp, (size_t)cnt * sizeof(sp_spline_t));
        if (cnt == 5) {
            m->rho = m->phi + 1; m->U = m->phi + 2; m->f = m->phi + 3; m->g = m->phi + 4;
        } else { /* file order phi F G rho U f g */
            m->F = m->phi + 1; m->G = m->phi + 2; m->rho = m->phi + 3; m->U = m->phi + 4;
            m->f = m->phi + 5; m->g = m->phi + 6;
        }
    }
    sp__meam_finish(pot);
    return SP_OK;
}

/* ---- LAMMPS pair_style uf3 files (the unified format of LAMMPS >= 27Jun2024) ----
   Blocks "#UF3 POT UNITS: metal ..." / "2B A B 0 3 uk|nk" or "3B C A B 0 3 uk|nk" /
   numbers / "#". One-body energies are not part of the format; splinepot
   writes them as E1_<El>=<value> on the header line, which LAMMPS ignores. */

static int sp__knots_uniform(const double *t, int nt) {
    sp_bspline_t b;
    return sp_bspline_init(&b, t, nt) == SP_OK && b.uniform;
}

typedef struct sp__uf3_block_t {
    int kind;              /* 2 or 3 */
    int uk;                /* declared uniform knots */
    int el[3];             /* indices into the sorted element list */
    int line;              /* line of the "2B"/"3B" line */
    size_t num0, nnum;     /* numbers in the shared number array */
} sp__uf3_block_t;

static sp_result_t sp__read_uf3(sp_pot_t *pot, sp__lines_t *L, sp_diag_t *diag) {
    enum { MAXBLK = 1024 };
    sp__uf3_block_t *blk = NULL;
    double *num = NULL, e1v[SP_MAX_ELEMENTS];
    int z[SP_MAX_ELEMENTS], e1z[SP_MAX_ELEMENTS], ne = 0, nblk = 0, k, a, np, has3 = 0, in_block = 0;
    int nt2[SP_MAX_ELEMENTS * (SP_MAX_ELEMENTS + 1) / 2], nt3[3 * SP_MAX_ELEMENTS * SP_MAX_ELEMENTS * (SP_MAX_ELEMENTS + 1) / 2];
    int b2[SP_MAX_ELEMENTS * (SP_MAX_ELEMENTS + 1) / 2], b3[SP_MAX_ELEMENTS * SP_MAX_ELEMENTS * (SP_MAX_ELEMENTS + 1) / 2];
    int swap3[SP_MAX_ELEMENTS * SP_MAX_ELEMENTS * (SP_MAX_ELEMENTS + 1) / 2];
    size_t nnum = 0, capnum = 0;
    sp_result_t r = SP_OK;
    sp__toks_t t;
    const char *s;
    size_t sl;
    int ne1 = 0;
    blk = (sp__uf3_block_t *)sp__alloc(&pot->allocator, MAXBLK * sizeof(sp__uf3_block_t));
    if (!blk) return SP_ERR_NO_MEMORY;
    /* pass 1: blocks, element names, numbers */
    while (sp__next_line(L, &s, &sl)) {
        sp__split(s, sl, 0, &t);
        if (t.n == 0) continue;
        if (t.p[0][0] == '#') {
            if (sl >= 8 && memcmp(s, "#UF3 POT", 8) == 0) {
                int q;
                if (in_block) { r = sp__fail(diag, SP_ERR_PARSE, L->line, "block not closed by '#' before this header"); goto done; }
                /* E1_<El>=<value> extensions */
                for (q = 0; q < t.n && q < SP__MAXTOK; ++q)
                    if (t.len[q] > 4 && memcmp(t.p[q], "E1_", 3) == 0) {
                        const char *eq = (const char *)memchr(t.p[q], '=', (size_t)t.len[q]);
                        char sym[8];
                        double v;
                        int zl, e;
                        if (!eq || eq - t.p[q] - 3 >= (int)sizeof sym || eq - t.p[q] - 3 < 1) continue;
                        zl = (int)(eq - t.p[q] - 3);
                        memcpy(sym, t.p[q] + 3, (size_t)zl);
                        sym[zl] = '\0';
                        if (sp__parse_double(eq + 1, (int)(t.p[q] + t.len[q] - eq - 1), &v) != 1) {
                            r = sp__fail(diag, SP_ERR_PARSE, L->line, "bad one-body energy '%.*s'", t.len[q] > 40 ? 40 : t.len[q], t.p[q]);
                            goto done;
                        }
                        e = sp_element_z(sym);
                        if (!e) { r = sp__fail(diag, SP_ERR_UNKNOWN_ELEMENT, L->line, "unknown element '%s'", sym); goto done; }
                        /* kept by atomic number until the element list is known */
                        for (k = 0; k < ne1; ++k) if (e1z[k] == e) break;
                        if (k == ne1) {
                            if (ne1 == SP_MAX_ELEMENTS) continue;
                            e1z[ne1++] = e;
                        }
                        e1v[k] = v;
                    }
                in_block = 1;
                if (!sp__next_content(L, &t)) { r = sp__fail(diag, SP_ERR_PARSE, L->line, "file ends after a block header"); goto done; }
                if (nblk == MAXBLK) { r = sp__fail(diag, SP_ERR_PARSE, L->line, "too many blocks"); goto done; }
                {
                    sp__uf3_block_t *B = blk + nblk;
                    int nel, want;
                    B->line = L->line;
                    if (t.len[0] == 2 && memcmp(t.p[0], "2B", 2) == 0) { B->kind = 2; nel = 2; want = 6; }
                    else if (t.len[0] == 2 && memcmp(t.p[0], "3B", 2) == 0) { B->kind = 3; nel = 3; want = 7; }
                    else { r = sp__fail(diag, SP_ERR_PARSE, L->line, "expected '2B' or '3B' after '#UF3 POT'"); goto done; }
                    if (t.n != want) {
                        r = sp__fail(diag, SP_ERR_PARSE, L->line, "%s line needs %d words, found %d", B->kind == 2 ? "2B" : "3B", want, t.n);
                        goto done;
                    }
                    for (a = 0; a < nel; ++a) {
                        char sym[8];
                        int zz;
                        if (t.len[1 + a] >= 4) { r = sp__fail(diag, SP_ERR_UNKNOWN_ELEMENT, L->line, "bad element name"); goto done; }
                        memcpy(sym, t.p[1 + a], (size_t)t.len[1 + a]);
                        sym[t.len[1 + a]] = '\0';
                        zz = sp_element_z(sym);
                        if (!zz) { r = sp__fail(diag, SP_ERR_UNKNOWN_ELEMENT, L->line, "unknown element '%s'", sym); goto done; }
                        B->el[a] = zz; /* atomic number for now */
                    }
                    if (!(t.len[nel + 1] == 1 && t.p[nel + 1][0] == '0') || !(t.len[nel + 2] == 1 && t.p[nel + 2][0] == '3')) {
                        r = sp__fail(diag, SP_ERR_PARSE, L->line, "trims must be '0 3' (leading 0, trailing 3), as LAMMPS requires");
                        goto done;
                    }
                    if (!(t.len[nel + 3] == 2 && (memcmp(t.p[nel + 3], "uk", 2) == 0 || memcmp(t.p[nel + 3], "nk", 2) == 0))) {
                        r = sp__fail(diag, SP_ERR_PARSE, L->line, "knot spacing must be 'uk' or 'nk'");
                        goto done;
                    }
                    B->uk = t.p[nel + 3][0] == 'u';
                    if (B->kind == 3) has3 = 1;
                    B->num0 = nnum;
                    B->nnum = 0;
                    ++nblk;
                }
                continue;
            }
            if (t.len[0] == 1 && t.n == 1) { /* block end */
                if (!in_block) { r = sp__fail(diag, SP_ERR_PARSE, L->line, "'#' outside a block"); goto done; }
                in_block = 0;
                continue;
            }
            continue; /* other comment lines */
        }
        if (!in_block) { r = sp__fail(diag, SP_ERR_PARSE, L->line, "numbers outside a '#UF3 POT' block"); goto done; }
        for (a = 0; a < t.n; ++a) {
            double v = 0.0;
            sp_result_t rr;
            if (a == SP__MAXTOK) { /* a long line (knots, coefficients) */
                sp__split_on(&t, s + sl, 0);
                a = 0;
            }
            if (nnum == capnum) {
                size_t nc = capnum ? 2 * capnum : 4096;
                double *nn = (double *)sp__alloc(&pot->allocator, nc * sizeof(double));
                if (!nn) { r = SP_ERR_NO_MEMORY; goto done; }
                if (num) memcpy(nn, num, nnum * sizeof(double));
                sp__free(&pot->allocator, num);
                num = nn;
                capnum = nc;
            }
            if ((rr = sp__tok_double(&t, a, L, "number", &v, diag)) != SP_OK) { r = rr; goto done; }
            if (fabs(v) > 1e100) { r = sp__fail(diag, SP_ERR_RANGE, L->line, "number %.3g beyond 1e100", v); goto done; }
            num[nnum++] = v;
            ++blk[nblk - 1].nnum;
        }
    }
    if (in_block) { r = sp__fail(diag, SP_ERR_PARSE, L->line, "file ends inside a block (missing '#')"); goto done; }
    if (nblk == 0) { r = sp__fail(diag, SP_ERR_PARSE, L->line, "no '#UF3 POT' block"); goto done; }
    /* elements sorted by atomic number */
    for (k = 0; k < nblk; ++k)
        for (a = 0; a < blk[k].kind; ++a) {
            int zz = blk[k].el[a], q, pos;
            for (q = 0; q < ne; ++q) if (z[q] == zz) break;
            if (q < ne) continue;
            if (ne == SP_MAX_ELEMENTS) { r = sp__fail(diag, SP_ERR_RANGE, blk[k].line, "more than %d elements", SP_MAX_ELEMENTS); goto done; }
            for (pos = ne; pos > 0 && z[pos - 1] > zz; --pos) z[pos] = z[pos - 1];
            z[pos] = zz;
            ++ne;
        }
    np = ne * (ne + 1) / 2;
    for (k = 0; k < np; ++k) b2[k] = -1;
    for (k = 0; k < ne * np; ++k) b3[k] = -1;
    for (k = 0; k < nblk; ++k) {
        sp__uf3_block_t *B = blk + k;
        for (a = 0; a < B->kind; ++a) {
            int q;
            for (q = 0; z[q] != B->el[a]; ++q) {}
            B->el[a] = q;
        }
        if (B->kind == 2) {
            int pq = sp_pot_pair_index(ne, B->el[0], B->el[1]);
            double cnt;
            if (b2[pq] >= 0) { r = sp__fail(diag, SP_ERR_PARSE, B->line, "second 2B block for the same pair"); goto done; }
            b2[pq] = k;
            if (B->nnum < 2) { r = sp__fail(diag, SP_ERR_PARSE, B->line, "2B block ends early"); goto done; }
            cnt = num[B->num0 + 1];
            if (cnt != floor(cnt) || cnt < 8 || cnt > 100000) { r = sp__fail(diag, SP_ERR_PARSE, B->line + 1, "bad knot count"); goto done; }
            nt2[pq] = (int)cnt;
            if (B->nnum != 2 + (size_t)nt2[pq] + 1 + (size_t)nt2[pq] - 4 || num[B->num0 + 2 + nt2[pq]] != nt2[pq] - 4) {
                r = sp__fail(diag, SP_ERR_PARSE, B->line, "2B block: %d knots need %d coefficients (n_knots = n_coeff + 4) and nothing else",
                             nt2[pq], nt2[pq] - 4);
                goto done;
            }
        } else {
            int tq, ax;
            int lo = B->el[1] <= B->el[2];
            tq = B->el[0] * np + sp_pot_pair_index(ne, B->el[1], B->el[2]);
            if (b3[tq] >= 0) { r = sp__fail(diag, SP_ERR_PARSE, B->line, "second 3B block for the same triplet"); goto done; }
            b3[tq] = k;
            swap3[tq] = !lo;
            if (B->nnum < 6) { r = sp__fail(diag, SP_ERR_PARSE, B->line, "3B block ends early"); goto done; }
            for (ax = 0; ax < 3; ++ax) {
                double cnt = num[B->num0 + 3 + ax];
                if (cnt != floor(cnt) || cnt < 8 || cnt > 10000) { r = sp__fail(diag, SP_ERR_PARSE, B->line + 1, "bad knot count"); goto done; }
            }
            /* file order jk, ik, ij; ours ij (l), ik (m), jk (n) */
            nt3[3 * tq + 0] = (int)num[B->num0 + 5];
            nt3[3 * tq + 1] = (int)num[B->num0 + 4];
            nt3[3 * tq + 2] = (int)num[B->num0 + 3];
            if (swap3[tq]) { int tmp = nt3[3 * tq]; nt3[3 * tq] = nt3[3 * tq + 1]; nt3[3 * tq + 1] = tmp; }
            {
                size_t nk = (size_t)nt3[3 * tq] + nt3[3 * tq + 1] + nt3[3 * tq + 2];
                size_t L3 = (size_t)(nt3[3 * tq] - 4) * (nt3[3 * tq + 1] - 4) * (nt3[3 * tq + 2] - 4);
                const double *shp = num + B->num0 + 6 + nk;
                if (B->nnum != 6 + nk + 3 + L3) {
                    r = sp__fail(diag, SP_ERR_PARSE, B->line, "3B block: knots and an L x M x N coefficient grid (n_knots - 4 each) expected");
                    goto done;
                }
                if (shp[0] != num[B->num0 + 5] - 4 || shp[1] != num[B->num0 + 4] - 4 || shp[2] != num[B->num0 + 3] - 4) {
                    r = sp__fail(diag, SP_ERR_PARSE, B->line, "3B block: coefficient shape does not match the knot counts");
                    goto done;
                }
            }
        }
    }
    for (k = 0; k < np; ++k)
        if (b2[k] < 0) { r = sp__fail(diag, SP_ERR_PARSE, L->line, "a 2B block is missing for an element pair"); goto done; }
    for (k = 0; has3 && k < ne * np; ++k)
        if (b3[k] < 0) { r = sp__fail(diag, SP_ERR_PARSE, L->line, "a 3B block is missing for a triplet of elements"); goto done; }
    /* every knot vector clamped and non-decreasing, named by its block's line */
    for (k = 0; k < nblk; ++k) {
        const sp__uf3_block_t *B = blk + k;
        const double *v = num + B->num0;
        sp_bspline_t bs;
        int ax, nax = B->kind == 2 ? 1 : 3;
        size_t off = B->kind == 2 ? 2 : 6;
        for (ax = 0; ax < nax; ++ax) {
            int ntk = B->kind == 2 ? (int)v[1] : (int)v[3 + ax];
            if (sp_bspline_init(&bs, v + off, ntk) != SP_OK) {
                r = sp__fail(diag, SP_ERR_PARSE, B->line + 2 + ax, "knots are not a clamped cubic knot vector "
                             "(4 equal knots at each end, non-decreasing)");
                goto done;
            }
            off += (size_t)ntk;
        }
    }
    {
        sp_allocator_t al = pot->allocator;
        r = sp_uf3_create(pot, ne, z, has3, nt2, nt3);
        pot->allocator = al;
        if (r != SP_OK) { sp__fail(diag, r, 0, "cannot create the model"); goto done; }
    }
    for (k = 0; k < np; ++k) {
        const double *v = num + blk[b2[k]].num0;
        sp_uf3_pair_t *P = pot->uf3.pair + k;
        memcpy(P->t, v + 2, (size_t)P->nt * sizeof(double));
        memcpy(P->c, v + 3 + P->nt, (size_t)(P->nt - 4) * sizeof(double));
    }
    for (k = 0; has3 && k < ne * np; ++k) {
        const double *v = num + blk[b3[k]].num0;
        sp_uf3_trio_t *T = pot->uf3.trio + k;
        int njk = (int)v[3], nik = (int)v[4], nij = (int)v[5], l, m, n, Lf, Mf, Nf;
        const double *tjk = v + 6, *tik = tjk + njk, *tij = tik + nik, *cc = tij + nij + 3;
        Lf = nij - 4; Mf = nik - 4; Nf = njk - 4;
        memcpy(T->t[2], tjk, (size_t)njk * sizeof(double));
        if (!swap3[k]) {
            memcpy(T->t[0], tij, (size_t)nij * sizeof(double));
            memcpy(T->t[1], tik, (size_t)nik * sizeof(double));
            memcpy(T->c, cc, (size_t)Lf * Mf * Nf * sizeof(double));
        } else { /* neighbours given in decreasing atomic number: transpose l and m */
            memcpy(T->t[0], tik, (size_t)nik * sizeof(double));
            memcpy(T->t[1], tij, (size_t)nij * sizeof(double));
            for (l = 0; l < Lf; ++l)
                for (m = 0; m < Mf; ++m)
                    for (n = 0; n < Nf; ++n) T->c[((size_t)m * Lf + l) * Nf + n] = cc[((size_t)l * Mf + m) * Nf + n];
        }
    }
    /* one-body energies from the header extensions */
    for (a = 0; a < ne; ++a)
        for (k = 0; k < ne1; ++k)
            if (e1z[k] == z[a]) pot->uf3.e1[a] = e1v[k];
    r = sp_uf3_finish(pot, diag);
    /* "uk" promises uniform knots (LAMMPS computes the interval from the spacing) */
    for (k = 0; r == SP_OK && k < np; ++k)
        if (blk[b2[k]].uk && !sp__knots_uniform(pot->uf3.pair[k].t, pot->uf3.pair[k].nt))
            r = sp__fail(diag, SP_ERR_PARSE, blk[b2[k]].line, "'uk' block with non-uniform knots");
    for (k = 0; r == SP_OK && has3 && k < ne * np; ++k) {
        const sp_uf3_trio_t *T = pot->uf3.trio + k;
        if (blk[b3[k]].uk && !(T->bs[0].uniform && T->bs[1].uniform && T->bs[2].uniform))
            r = sp__fail(diag, SP_ERR_PARSE, blk[b3[k]].line, "'uk' block with non-uniform knots");
    }
done:
    sp__free(&pot->allocator, blk);
    sp__free(&pot->allocator, num);
    return r;
}

#ifndef SP_NO_STDIO
static void sp__write_list(FILE *fp, const double *v, int n) {
    int k;
    for (k = 0; k < n; ++k) fprintf(fp, k ? " %.17g" : "%.17g", v[k]);
    fputc('\n', fp);
}


static sp_result_t sp__write_uf3(const sp_pot_t *pot, FILE *fp) {
    const sp_uf3_t *u = &pot->uf3;
    int ne = pot->nelem, np = ne * (ne + 1) / 2, a, b, c, k;
    char e1s[SP_MAX_ELEMENTS * 40 + 1];
    size_t off = 0;
    e1s[0] = '\0';
    for (a = 0; a < ne; ++a)
        off += (size_t)snprintf(e1s + off, sizeof e1s - off, " E1_%s=%.17g", pot->elem[a], u->e1[a]);
    for (a = 0; a < ne; ++a)
        for (b = a; b < ne; ++b) {
            const sp_uf3_pair_t *P = u->pair + sp_pot_pair_index(ne, a, b);
            fprintf(fp, "#UF3 POT UNITS: metal DATE: - AUTHOR: splinepot CITATION: Xie, Rupp, Hennig, npj Comput. Mater. 9, 18 (2023)%s\n",
                    e1s);
            fprintf(fp, "2B %s %s 0 3 %s\n%.17g %d\n", pot->elem[a], pot->elem[b], sp__knots_uniform(P->t, P->nt) ? "uk" : "nk",
                    P->cut, P->nt);
            sp__write_list(fp, P->t, P->nt);
            fprintf(fp, "%d\n", P->nt - 4);
            sp__write_list(fp, P->c, P->nt - 4);
            fputs("#\n", fp);
        }
    for (c = 0; u->has3 && c < ne; ++c)
        for (a = 0; a < ne; ++a)
            for (b = a; b < ne; ++b) {
                const sp_uf3_trio_t *T = u->trio + c * np + sp_pot_pair_index(ne, a, b);
                int uni = sp__knots_uniform(T->t[0], T->nt[0]) && sp__knots_uniform(T->t[1], T->nt[1]) &&
                          sp__knots_uniform(T->t[2], T->nt[2]);
                fprintf(fp, "#UF3 POT UNITS: metal DATE: - AUTHOR: splinepot CITATION: Xie, Rupp, Hennig, npj Comput. Mater. 9, 18 (2023)%s\n",
                        e1s);
                fprintf(fp, "3B %s %s %s 0 3 %s\n", pot->elem[c], pot->elem[a], pot->elem[b], uni ? "uk" : "nk");
                fprintf(fp, "%.17g %.17g %.17g %d %d %d\n", T->t[2][T->nt[2] - 1], T->t[1][T->nt[1] - 1],
                        T->t[0][T->nt[0] - 1], T->nt[2], T->nt[1], T->nt[0]);
                sp__write_list(fp, T->t[2], T->nt[2]);
                sp__write_list(fp, T->t[1], T->nt[1]);
                sp__write_list(fp, T->t[0], T->nt[0]);
                fprintf(fp, "%d %d %d\n", T->L, T->M, T->N);
                for (k = 0; k < T->L * T->M; ++k) sp__write_list(fp, T->c + (size_t)k * T->N, T->N);
                fputs("#\n", fp);
            }
    return ferror(fp) ? SP_ERR_IO : SP_OK;
}
#endif

/* ---- uf3 JSON models (FORMATS.md 2.5: WeightedLinearModel.to_json) ----
   A small JSON reader first turns the text into a flat array of nodes in
   document order: a container is followed by its children (an object by
   key, value, key, value, ...) and node.next skips a whole subtree. An
   explicit stack of SP__JSON_MAX_DEPTH open containers replaces recursion;
   deeper nesting is a parse error. Strings keep their raw span and are
   decoded only when compared. NaN, Infinity and numbers that overflow are
   rejected. The uf3 layer then walks the nodes: unknown keys are ignored. */

#define SP__JSON_MAX_DEPTH 64

enum {
    SP__JSON_NULL = 0,
    SP__JSON_FALSE,
    SP__JSON_TRUE,
    SP__JSON_NUM,
    SP__JSON_STR,
    SP__JSON_ARR,
    SP__JSON_OBJ
};

typedef struct sp__json_node_t {
    int type, line;
    int next;          /* index of the first node after this node's subtree */
    int count;         /* arrays: elements; objects: members */
    size_t pos, len;   /* strings: the raw bytes between the quotes */
    double num;        /* numbers */
} sp__json_node_t;

typedef struct sp__json_t {
    const char *s;
    size_t len;
    sp__json_node_t *node;
    int n, cap;
    const sp_allocator_t *al;
} sp__json_t;

/* Appends a node; -1 when out of memory. */
SP__PRIVATE int sp__json_push(sp__json_t *J, int type, int line) {
    sp__json_node_t *x;
    if (J->n == J->cap) {
        sp__json_node_t *q;
        int nc;
        if (J->cap > (1 << 27)) return -1;
        nc = J->cap ? 2 * J->cap : 256;
        q = (sp__json_node_t *)sp__alloc(J->al, (size_t)nc * sizeof(sp__json_node_t));
        if (!q) return -1;
        if (J->n) memcpy(q, J->node, (size_t)J->n * sizeof(sp__json_node_t));
        sp__free(J->al, J->node);
        J->node = q;
        J->cap = nc;
    }
    x = J->node + J->n;
    memset(x, 0, sizeof *x);
    x->type = type;
    x->line = line;
    x->next = J->n + 1;
    return J->n++;
}

SP__PRIVATE int sp__json_hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

SP__PRIVATE int sp__json_digit(const char *s, size_t n, size_t q) { return q < n && s[q] >= '0' && s[q] <= '9'; }

/* "'x'" for a printable byte, "byte 0xNN" otherwise (for messages). */
SP__PRIVATE void sp__json_show(char c, char *buf, size_t cap) {
    unsigned char u = (unsigned char)c;
    if (u >= 0x20 && u < 0x7f) snprintf(buf, cap, "'%c'", c);
    else snprintf(buf, cap, "byte 0x%02x", (unsigned)u);
}

/* String at *pp (the opening quote); leaves *pp after the closing quote. */
SP__PRIVATE sp_result_t sp__json_string(sp__json_t *J, size_t *pp, int line, sp_diag_t *diag) {
    const char *s = J->s;
    const size_t n = J->len;
    size_t q = *pp + 1;
    int k;
    for (;;) {
        unsigned char c;
        if (q >= n) return sp__fail(diag, SP_ERR_PARSE, line, "unterminated string");
        c = (unsigned char)s[q];
        if (c == '"') break;
        if (c < 0x20)
            return sp__fail(diag, SP_ERR_PARSE, line, "control character (byte 0x%02x) inside a string", (unsigned)c);
        if (c != '\\') {
            ++q;
            continue;
        }
        if (q + 1 >= n) return sp__fail(diag, SP_ERR_PARSE, line, "unterminated string");
        c = (unsigned char)s[q + 1];
        if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' || c == 't') {
            q += 2;
        } else if (c == 'u') {
            int d;
            if (q + 6 > n) return sp__fail(diag, SP_ERR_PARSE, line, "unterminated string");
            for (d = 2; d < 6; ++d)
                if (sp__json_hex(s[q + d]) < 0) return sp__fail(diag, SP_ERR_PARSE, line, "bad \\u escape in a string");
            q += 6;
        } else {
            char b[16];
            sp__json_show((char)c, b, sizeof b);
            return sp__fail(diag, SP_ERR_PARSE, line, "invalid escape \\ followed by %s in a string", b);
        }
    }
    k = sp__json_push(J, SP__JSON_STR, line);
    if (k < 0) return sp__fail(diag, SP_ERR_NO_MEMORY, line, "out of memory");
    J->node[k].pos = *pp + 1;
    J->node[k].len = q - (*pp + 1);
    *pp = q + 1;
    return SP_OK;
}

/* Number at *pp (JSON grammar, checked before strtod sees it). */
SP__PRIVATE sp_result_t sp__json_number(sp__json_t *J, size_t *pp, int line, sp_diag_t *diag) {
    const char *s = J->s;
    const size_t n = J->len, p = *pp;
    size_t q = p;
    char buf[128], *end;
    double v;
    int k;
    if (q < n && s[q] == '-') ++q;
    if (!sp__json_digit(s, n, q)) {
        if (n - q >= 8 && memcmp(s + q, "Infinity", 8) == 0)
            return sp__fail(diag, SP_ERR_NOT_FINITE, line, "-Infinity is not a finite number");
        return sp__fail(diag, SP_ERR_PARSE, line, "malformed number");
    }
    if (s[q] == '0') ++q;
    else
        while (sp__json_digit(s, n, q)) ++q;
    if (q < n && s[q] == '.') {
        ++q;
        if (!sp__json_digit(s, n, q)) return sp__fail(diag, SP_ERR_PARSE, line, "malformed number (no digit after '.')");
        while (sp__json_digit(s, n, q)) ++q;
    }
    if (q < n && (s[q] == 'e' || s[q] == 'E')) {
        ++q;
        if (q < n && (s[q] == '+' || s[q] == '-')) ++q;
        if (!sp__json_digit(s, n, q)) return sp__fail(diag, SP_ERR_PARSE, line, "malformed number (bad exponent)");
        while (sp__json_digit(s, n, q)) ++q;
    }
    if (q - p >= sizeof buf) return sp__fail(diag, SP_ERR_PARSE, line, "number with more than 127 characters");
    memcpy(buf, s + p, q - p);
    buf[q - p] = '\0';
    errno = 0;
    v = strtod(buf, &end);
    if (end != buf + (q - p)) return sp__fail(diag, SP_ERR_PARSE, line, "malformed number '%s'", buf);
    if (!sp__isfinite(v) || (errno == ERANGE && fabs(v) > 1.0))
        return sp__fail(diag, SP_ERR_NOT_FINITE, line, "number %.40s overflows a double", buf);
    k = sp__json_push(J, SP__JSON_NUM, line);
    if (k < 0) return sp__fail(diag, SP_ERR_NO_MEMORY, line, "out of memory");
    J->node[k].num = v;
    *pp = q;
    return SP_OK;
}

/* Parses the whole text into J->node; node 0 is the top-level value. */
SP__PRIVATE sp_result_t sp__json_parse(sp__json_t *J, sp_diag_t *diag) {
    enum { WANT_VALUE, WANT_KEY, AFTER_VALUE };
    const char *s = J->s;
    const size_t n = J->len;
    size_t p = 0;
    int line = 1, depth = 0, state = WANT_VALUE, k;
    int stack[SP__JSON_MAX_DEPTH];
    char b[16];
    sp_result_t r;
    if (n >= 3 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB && (unsigned char)s[2] == 0xBF)
        p = 3; /* UTF-8 byte order mark */
    for (;;) {
        char c;
        while (p < n && (s[p] == ' ' || s[p] == '\t' || s[p] == '\r' || s[p] == '\n')) {
            if (s[p] == '\n') ++line;
            ++p;
        }
        if (state == AFTER_VALUE && depth == 0) {
            if (p < n) {
                sp__json_show(s[p], b, sizeof b);
                return sp__fail(diag, SP_ERR_PARSE, line, "unexpected %s after the end of the JSON text", b);
            }
            return SP_OK;
        }
        if (p >= n)
            return sp__fail(diag, SP_ERR_PARSE, line, "unexpected end of input%s",
                            depth ? " (a '{' or '[' is not closed)" : "");
        c = s[p];
        if (state == AFTER_VALUE) {
            sp__json_node_t *top = J->node + stack[depth - 1];
            const char close = top->type == SP__JSON_OBJ ? '}' : ']';
            if (c == ',') {
                ++p;
                state = top->type == SP__JSON_OBJ ? WANT_KEY : WANT_VALUE;
            } else if (c == close) {
                ++p;
                top->next = J->n;
                --depth;
            } else {
                sp__json_show(c, b, sizeof b);
                return sp__fail(diag, SP_ERR_PARSE, line, "expected ',' or '%c', found %s", close, b);
            }
            continue;
        }
        if (state == WANT_KEY) {
            if (c != '"') {
                sp__json_show(c, b, sizeof b);
                return sp__fail(diag, SP_ERR_PARSE, line, "expected a string key, found %s", b);
            }
            ++J->node[stack[depth - 1]].count;
            r = sp__json_string(J, &p, line, diag);
            if (r != SP_OK) return r;
            while (p < n && (s[p] == ' ' || s[p] == '\t' || s[p] == '\r' || s[p] == '\n')) {
                if (s[p] == '\n') ++line;
                ++p;
            }
            if (p >= n) return sp__fail(diag, SP_ERR_PARSE, line, "unexpected end of input (a '{' is not closed)");
            if (s[p] != ':') {
                sp__json_show(s[p], b, sizeof b);
                return sp__fail(diag, SP_ERR_PARSE, line, "expected ':' after a key, found %s", b);
            }
            ++p;
            state = WANT_VALUE;
            continue;
        }
        /* WANT_VALUE */
        if (depth > 0 && J->node[stack[depth - 1]].type == SP__JSON_ARR) ++J->node[stack[depth - 1]].count;
        state = AFTER_VALUE;
        if (c == '{' || c == '[') {
            const char close = c == '{' ? '}' : ']';
            if (depth >= SP__JSON_MAX_DEPTH)
                return sp__fail(diag, SP_ERR_PARSE, line, "nesting deeper than %d levels", SP__JSON_MAX_DEPTH);
            k = sp__json_push(J, c == '{' ? SP__JSON_OBJ : SP__JSON_ARR, line);
            if (k < 0) return sp__fail(diag, SP_ERR_NO_MEMORY, line, "out of memory");
            stack[depth++] = k;
            ++p;
            while (p < n && (s[p] == ' ' || s[p] == '\t' || s[p] == '\r' || s[p] == '\n')) {
                if (s[p] == '\n') ++line;
                ++p;
            }
            if (p < n && s[p] == close) {
                ++p;
                J->node[k].next = J->n;
                --depth;
            } else {
                state = c == '{' ? WANT_KEY : WANT_VALUE;
            }
        } else if (c == '"') {
            r = sp__json_string(J, &p, line, diag);
            if (r != SP_OK) return r;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            r = sp__json_number(J, &p, line, diag);
            if (r != SP_OK) return r;
        } else if (n - p >= 4 && memcmp(s + p, "true", 4) == 0) {
            if (sp__json_push(J, SP__JSON_TRUE, line) < 0) return sp__fail(diag, SP_ERR_NO_MEMORY, line, "out of memory");
            p += 4;
        } else if (n - p >= 5 && memcmp(s + p, "false", 5) == 0) {
            if (sp__json_push(J, SP__JSON_FALSE, line) < 0) return sp__fail(diag, SP_ERR_NO_MEMORY, line, "out of memory");
            p += 5;
        } else if (n - p >= 4 && memcmp(s + p, "null", 4) == 0) {
            if (sp__json_push(J, SP__JSON_NULL, line) < 0) return sp__fail(diag, SP_ERR_NO_MEMORY, line, "out of memory");
            p += 4;
        } else if ((n - p >= 3 && memcmp(s + p, "NaN", 3) == 0) || (n - p >= 8 && memcmp(s + p, "Infinity", 8) == 0)) {
            return sp__fail(diag, SP_ERR_NOT_FINITE, line, "%s is not a finite number", s[p] == 'N' ? "NaN" : "Infinity");
        } else {
            sp__json_show(c, b, sizeof b);
            return sp__fail(diag, SP_ERR_PARSE, line, "expected a value, found %s", b);
        }
    }
}

/* Decodes string node k into buf (NUL-terminated) and returns its length;
   -1 if it is not a string, does not fit, or holds a byte outside printable
   ASCII (no key this reader looks for does). */
SP__PRIVATE int sp__json_str(const sp__json_t *J, int k, char *buf, int cap) {
    const sp__json_node_t *x = J->node + k;
    const char *s;
    size_t i = 0;
    int o = 0;
    if (x->type != SP__JSON_STR) return -1;
    s = J->s + x->pos;
    while (i < x->len) { /* escapes were checked by the parser */
        int c = (unsigned char)s[i++];
        if (c == '\\') {
            int e = (unsigned char)s[i++];
            if (e == 'u') {
                c = (sp__json_hex(s[i]) << 12) | (sp__json_hex(s[i + 1]) << 8) | (sp__json_hex(s[i + 2]) << 4) |
                    sp__json_hex(s[i + 3]);
                i += 4;
            } else {
                c = e == 'b' ? '\b' : e == 'f' ? '\f' : e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e;
            }
        }
        if (c < 0x20 || c >= 0x7f || o + 1 >= cap) return -1;
        buf[o++] = (char)c;
    }
    buf[o] = '\0';
    return o;
}

/* Value of the last member named key of object obj (as Python's json), -1 if none. */
SP__PRIVATE int sp__json_get(const sp__json_t *J, int obj, const char *key) {
    int i, m, found = -1;
    char buf[32];
    if (obj < 0 || J->node[obj].type != SP__JSON_OBJ) return -1;
    i = obj + 1;
    for (m = 0; m < J->node[obj].count; ++m) {
        if (sp__json_str(J, i, buf, (int)sizeof buf) >= 0 && strcmp(buf, key) == 0) found = i + 1;
        i = J->node[i + 1].next;
    }
    return found;
}

/* Splits an interaction key "A", "A-B" or "C-A-B" (key node k) into atomic
   numbers z[0..2]. Returns the number of parts, 0 for a malformed key, -1
   when a part is not a chemical symbol. The decoded key goes to name. */
SP__PRIVATE int sp__json_key_z(const sp__json_t *J, int k, int *z, char *name, int cap) {
    char part[4];
    int len = sp__json_str(J, k, name, cap), i = 0, np = 0;
    if (len <= 0) {
        const sp__json_node_t *x = J->node + k;
        snprintf(name, (size_t)cap, "%.*s", (int)(x->len < 20 ? x->len : 20), J->s + x->pos);
        return 0;
    }
    while (i <= len) {
        int a = i;
        while (i < len && name[i] != '-') ++i;
        if (i - a < 1 || i - a > 3 || np == 3) return 0;
        memcpy(part, name + a, (size_t)(i - a));
        part[i - a] = '\0';
        z[np] = sp_element_z(part);
        if (z[np] == 0) return -1;
        ++np;
        ++i;
    }
    return np;
}

/* Checks that node k is an array of count numbers (count < 0: lo..hi numbers);
   the count goes to *out_n. */
SP__PRIVATE sp_result_t sp__json_nums(const sp__json_t *J, int k, int count, int lo, int hi, const char *what,
                                      const char *name, int *out_n, sp_diag_t *diag) {
    const sp__json_node_t *x = J->node + k;
    int i, m;
    if (x->type != SP__JSON_ARR)
        return sp__fail(diag, SP_ERR_PARSE, x->line, "%s of '%s' must be a list of numbers", what, name);
    if (count >= 0 && x->count != count)
        return sp__fail(diag, SP_ERR_PARSE, x->line, "%s of '%s' have %d values, expected %d", what, name, x->count,
                        count);
    if (count < 0 && (x->count < lo || x->count > hi))
        return sp__fail(diag, SP_ERR_PARSE, x->line, "%s of '%s' have %d values, expected %d to %d", what, name,
                        x->count, lo, hi);
    for (i = k + 1, m = 0; m < x->count; ++m, i = J->node[i].next)
        if (J->node[i].type != SP__JSON_NUM)
            return sp__fail(diag, SP_ERR_PARSE, J->node[i].line, "%s of '%s' must be numbers", what, name);
    if (out_n) *out_n = x->count;
    return SP_OK;
}

/* Copies the numbers of array node k (checked by sp__json_nums) to out. */
SP__PRIVATE void sp__json_copy(const sp__json_t *J, int k, double *out) {
    int i, m;
    for (i = k + 1, m = 0; m < J->node[k].count; ++m, i = J->node[i].next) out[m] = J->node[i].num;
}

/* The c-th child of array node k (c < count). */
SP__PRIVATE int sp__json_child(const sp__json_t *J, int k, int c) {
    int i = k + 1;
    while (c-- > 0) i = J->node[i].next;
    return i;
}

/* Elements a <= b of pair index p among ne. */
SP__PRIVATE void sp__json_pair_of(int ne, int p, int *out_a, int *out_b) {
    int a, b;
    for (a = 0; a < ne; ++a)
        for (b = a; b < ne; ++b)
            if (sp_pot_pair_index(ne, a, b) == p) {
                *out_a = a;
                *out_b = b;
                return;
            }
    *out_a = *out_b = 0;
}

/* The uf3 model in the parsed nodes J into pot (created here). */
SP__PRIVATE sp_result_t sp__json_uf3(const sp__json_t *J, sp_pot_t *pot, sp_diag_t *diag) {
    const sp__json_node_t *N = J->node;
    int coef, knots, elist, deg, ne = 0, np, ntr, has3 = 0, i, m, k, a, b, c;
    int z[SP_MAX_ELEMENTS], e1n[SP_MAX_ELEMENTS];
    int *blk, *c2, *k2, *nt2, *c3, *k3, *c3sw, *k3sw, *nt3;
    char name[32];
    sp_result_t r = SP_OK;
    if (N[0].type != SP__JSON_OBJ) return sp__fail(diag, SP_ERR_PARSE, N[0].line, "a uf3 model is a JSON object");
    coef = sp__json_get(J, 0, "coefficients");
    if (coef < 0) coef = sp__json_get(J, 0, "solution");
    if (coef < 0) return sp__fail(diag, SP_ERR_PARSE, N[0].line, "no \"coefficients\" in the uf3 model");
    if (N[coef].type != SP__JSON_OBJ)
        return sp__fail(diag, SP_ERR_PARSE, N[coef].line, "\"coefficients\" must be an object");
    knots = sp__json_get(J, 0, "knots");
    if (knots < 0) knots = sp__json_get(J, 0, "knots_map");
    if (knots < 0) return sp__fail(diag, SP_ERR_PARSE, N[0].line, "no \"knots\" in the uf3 model");
    if (N[knots].type != SP__JSON_OBJ) return sp__fail(diag, SP_ERR_PARSE, N[knots].line, "\"knots\" must be an object");
    deg = sp__json_get(J, 0, "degree");
    if (deg >= 0) {
        if (N[deg].type != SP__JSON_NUM) return sp__fail(diag, SP_ERR_PARSE, N[deg].line, "\"degree\" must be a number");
        if (N[deg].num != 3.0)
            return sp__fail(diag, SP_ERR_UNSUPPORTED, N[deg].line, "degree %g: only cubic B-splines (degree 3) are supported",
                            N[deg].num);
    }

    /* elements: element_list, else every symbol in the coefficient keys; sorted by Z */
    elist = sp__json_get(J, 0, "element_list");
    if (elist >= 0) {
        if (N[elist].type != SP__JSON_ARR)
            return sp__fail(diag, SP_ERR_PARSE, N[elist].line, "\"element_list\" must be a list of symbols");
        for (i = elist + 1, m = 0; m < N[elist].count; ++m, i = N[i].next) {
            int zz;
            if (sp__json_str(J, i, name, 4) < 0 || (zz = sp_element_z(name)) == 0)
                return sp__fail(diag, SP_ERR_UNKNOWN_ELEMENT, N[i].line, "element_list: entry %d is not a chemical symbol",
                                m + 1);
            for (a = 0; a < ne; ++a)
                if (z[a] == zz) return sp__fail(diag, SP_ERR_PARSE, N[i].line, "element_list: %s listed twice", name);
            if (ne == SP_MAX_ELEMENTS)
                return sp__fail(diag, SP_ERR_RANGE, N[i].line, "more than %d elements (SP_MAX_ELEMENTS)", SP_MAX_ELEMENTS);
            z[ne++] = zz;
        }
    } else {
        for (i = coef + 1, m = 0; m < N[coef].count; ++m, i = N[i + 1].next) {
            int kz[3], parts = sp__json_key_z(J, i, kz, name, (int)sizeof name);
            if (parts <= 0)
                return sp__fail(diag, parts < 0 ? SP_ERR_UNKNOWN_ELEMENT : SP_ERR_PARSE, N[i].line,
                                "coefficients: '%s' is not an interaction of chemical symbols (\"A\", \"A-B\", \"C-A-B\")",
                                name);
            for (k = 0; k < parts; ++k) {
                for (a = 0; a < ne && z[a] != kz[k]; ++a) {}
                if (a < ne) continue;
                if (ne == SP_MAX_ELEMENTS)
                    return sp__fail(diag, SP_ERR_RANGE, N[i].line, "more than %d elements (SP_MAX_ELEMENTS)",
                                    SP_MAX_ELEMENTS);
                z[ne++] = kz[k];
            }
        }
    }
    if (ne == 0) return sp__fail(diag, SP_ERR_PARSE, elist >= 0 ? N[elist].line : N[coef].line, "the model has no elements");
    for (a = 1; a < ne; ++a) /* insertion sort by atomic number */
        for (b = a; b > 0 && z[b] < z[b - 1]; --b) {
            int t = z[b];
            z[b] = z[b - 1];
            z[b - 1] = t;
        }
    np = ne * (ne + 1) / 2;
    ntr = ne * np;
    blk = (int *)sp__alloc(J->al, (size_t)(3 * np + 7 * ntr) * sizeof(int));
    if (!blk) return sp__fail(diag, SP_ERR_NO_MEMORY, 0, "out of memory");
    c2 = blk; k2 = c2 + np; nt2 = k2 + np;
    c3 = nt2 + np; k3 = c3 + ntr; c3sw = k3 + ntr; k3sw = c3sw + ntr; nt3 = k3sw + ntr;
    for (k = 0; k < np; ++k) c2[k] = k2[k] = -1;
    for (k = 0; k < ntr; ++k) c3[k] = k3[k] = -1, c3sw[k] = k3sw[k] = 0;
    for (k = 0; k < ne; ++k) e1n[k] = -1;

    /* index the interactions of "coefficients" (pass 0) and "knots" (pass 1) */
    for (c = 0; c < 2 && r == SP_OK; ++c) {
        const int obj = c == 0 ? coef : knots;
        const char *what = c == 0 ? "coefficients" : "knots";
        for (i = obj + 1, m = 0; m < N[obj].count && r == SP_OK; ++m, i = N[i + 1].next) {
            int kz[3], idx[3], parts = sp__json_key_z(J, i, kz, name, (int)sizeof name), *slot = NULL;
            if (parts <= 0) {
                r = sp__fail(diag, parts < 0 ? SP_ERR_UNKNOWN_ELEMENT : SP_ERR_PARSE, N[i].line,
                             "%s: '%s' is not an interaction of chemical symbols (\"A\", \"A-B\", \"C-A-B\")", what, name);
                break;
            }
            for (k = 0; k < parts; ++k) {
                for (a = 0; a < ne && z[a] != kz[k]; ++a) {}
                if (a == ne) break;
                idx[k] = a;
            }
            if (k < parts) {
                r = sp__fail(diag, SP_ERR_UNKNOWN_ELEMENT, N[i].line, "%s: element %s of '%s' is not an element of the model",
                             what, sp_element_symbol(kz[k]), name);
                break;
            }
            if (parts == 1) {
                if (c == 1) continue; /* no knots for one-body terms */
                slot = &e1n[idx[0]];
            } else if (parts == 2) {
                k = sp_pot_pair_index(ne, idx[0], idx[1]);
                slot = c == 0 ? &c2[k] : &k2[k];
            } else {
                k = idx[0] * np + sp_pot_pair_index(ne, idx[1], idx[2]);
                slot = c == 0 ? &c3[k] : &k3[k];
                (c == 0 ? c3sw : k3sw)[k] = idx[1] > idx[2];
                if (c == 0) has3 = 1;
            }
            if (*slot >= 0) {
                r = sp__fail(diag, SP_ERR_PARSE, N[i].line, "%s: '%s' is given twice (possibly in the other element order)",
                             what, name);
                break;
            }
            *slot = i + 1;
        }
    }

    /* check shapes: one-body numbers, pairs, trios */
    for (k = 0; k < ne && r == SP_OK; ++k)
        if (e1n[k] >= 0 && N[e1n[k]].type != SP__JSON_NUM)
            r = sp__fail(diag, SP_ERR_PARSE, N[e1n[k]].line, "coefficients: the one-body energy of %s must be a number",
                         sp_element_symbol(z[k]));
    for (a = 0; a < ne && r == SP_OK; ++a)
        for (b = a; b < ne && r == SP_OK; ++b) {
            k = sp_pot_pair_index(ne, a, b);
            snprintf(name, sizeof name, "%s-%s", sp_element_symbol(z[a]), sp_element_symbol(z[b]));
            if (c2[k] < 0)
                r = sp__fail(diag, SP_ERR_PARSE, N[coef].line, "coefficients: no 2-body term '%s'", name);
            else if (k2[k] < 0)
                r = sp__fail(diag, SP_ERR_PARSE, N[knots].line, "knots: no 2-body knots for '%s'", name);
            else if ((r = sp__json_nums(J, k2[k], -1, 8, 100000, "knots", name, &nt2[k], diag)) == SP_OK)
                r = sp__json_nums(J, c2[k], nt2[k] - 4, 0, 0, "coefficients", name, NULL, diag);
        }
    for (k = 0; k < ntr && has3 && r == SP_OK; ++k) {
        int ax, dims[3], nl, nm;
        double total = 1.0;
        c = k / np;
        sp__json_pair_of(ne, k % np, &a, &b);
        snprintf(name, sizeof name, "%s-%s-%s", sp_element_symbol(z[c]), sp_element_symbol(z[a]),
                 sp_element_symbol(z[b]));
        if (c3[k] < 0) {
            r = sp__fail(diag, SP_ERR_PARSE, N[coef].line,
                         "coefficients: 3-body terms are present but '%s' is missing (every trio is needed)", name);
            break;
        }
        if (k3[k] < 0) {
            r = sp__fail(diag, SP_ERR_PARSE, N[knots].line, "knots: no 3-body knots for '%s'", name);
            break;
        }
        if (N[k3[k]].type != SP__JSON_ARR || N[k3[k]].count != 3) {
            r = sp__fail(diag, SP_ERR_PARSE, N[k3[k]].line, "knots of '%s' must be three lists (ij, ik, jk)", name);
            break;
        }
        for (ax = 0, i = k3[k] + 1; ax < 3 && r == SP_OK; ++ax, i = N[i].next) {
            /* a key with the neighbours in decreasing-Z order lists the ik knots first */
            const int canon = (ax < 2 && k3sw[k]) ? 1 - ax : ax;
            r = sp__json_nums(J, i, -1, 8, 10000, "3-body knots", name, &nt3[3 * k + canon], diag);
            total *= (double)(nt3[3 * k + canon] - 4);
        }
        if (r != SP_OK) break;
        if (total > 5e7) {
            r = sp__fail(diag, SP_ERR_RANGE, N[k3[k]].line, "3-body grid of '%s' is too large", name);
            break;
        }
        i = c3[k];
        if (N[i].type == SP__JSON_ARR && N[i].count > 0 && N[i + 1].type == SP__JSON_NUM) {
            r = sp__fail(diag, SP_ERR_UNSUPPORTED, N[i].line,
                         "3-body coefficients of '%s' are a flat (compressed) vector, as in legacy uf3 files; only the "
                         "decompressed L x M x N grid of current uf3 (to_json) is supported",
                         name);
            break;
        }
        dims[0] = nt3[3 * k + (c3sw[k] ? 1 : 0)] - 4;
        dims[1] = nt3[3 * k + (c3sw[k] ? 0 : 1)] - 4;
        dims[2] = nt3[3 * k + 2] - 4;
        if (N[i].type != SP__JSON_ARR || N[i].count != dims[0]) {
            r = sp__fail(diag, SP_ERR_PARSE, N[i].line, "3-body coefficients of '%s' must be a %d x %d x %d nested list",
                         name, dims[0], dims[1], dims[2]);
            break;
        }
        for (nl = 0, i = c3[k] + 1; nl < dims[0] && r == SP_OK; ++nl, i = N[i].next) {
            int j;
            if (N[i].type != SP__JSON_ARR || N[i].count != dims[1]) {
                r = sp__fail(diag, SP_ERR_PARSE, N[i].line, "3-body coefficients of '%s' must be a %d x %d x %d nested list",
                             name, dims[0], dims[1], dims[2]);
                break;
            }
            for (nm = 0, j = i + 1; nm < dims[1] && r == SP_OK; ++nm, j = N[j].next)
                r = sp__json_nums(J, j, dims[2], 0, 0, "3-body coefficient rows", name, NULL, diag);
        }
    }
    if (r == SP_OK) {
        r = sp_uf3_create(pot, ne, z, has3, nt2, nt3);
        if (r != SP_OK) r = sp__fail(diag, r, N[0].line, "cannot create the potential: %s", sp_result_str(r));
    }
    /* fill knots, coefficients, one-body energies */
    for (k = 0; k < ne && r == SP_OK; ++k) pot->uf3.e1[k] = e1n[k] >= 0 ? N[e1n[k]].num : 0.0;
    for (k = 0; k < np && r == SP_OK; ++k) {
        sp_uf3_pair_t *P = pot->uf3.pair + k;
        sp_bspline_t bs;
        sp__json_copy(J, k2[k], P->t);
        sp__json_copy(J, c2[k], P->c);
        if (sp_bspline_init(&bs, P->t, P->nt) != SP_OK)
            r = sp__fail(diag, SP_ERR_PARSE, N[k2[k]].line,
                         "2-body knots are not a clamped cubic knot vector (non-decreasing, first four and last four equal)");
    }
    for (k = 0; k < ntr && has3 && r == SP_OK; ++k) {
        sp_uf3_trio_t *T = pot->uf3.trio + k;
        int ax, nl, nm, sw = c3sw[k];
        for (ax = 0, i = k3[k] + 1; ax < 3 && r == SP_OK; ++ax, i = N[i].next) {
            const int canon = (ax < 2 && k3sw[k]) ? 1 - ax : ax;
            sp_bspline_t bs;
            sp__json_copy(J, i, T->t[canon]);
            if (sp_bspline_init(&bs, T->t[canon], T->nt[canon]) != SP_OK)
                r = sp__fail(diag, SP_ERR_PARSE, N[i].line,
                             "3-body knots are not a clamped cubic knot vector (non-decreasing, first four and last four equal)");
        }
        /* the key's first neighbour is axis l; transpose when that is the higher-Z one */
        for (nl = 0, i = c3[k] + 1; nl < (sw ? T->M : T->L) && r == SP_OK; ++nl, i = N[i].next) {
            int j;
            for (nm = 0, j = i + 1; nm < (sw ? T->L : T->M); ++nm, j = N[j].next) {
                const int l = sw ? nm : nl, mm = sw ? nl : nm;
                sp__json_copy(J, j, T->c + ((size_t)l * T->M + (size_t)mm) * T->N);
            }
        }
    }
    if (r == SP_OK) {
        r = sp_uf3_finish(pot, diag);
        if (r != SP_OK && diag && diag->line == 0) diag->line = N[knots].line;
    }
    sp__free(J->al, blk);
    return r;
}

/* Reads a uf3 JSON model (FORMATS.md 2.5; keys "coefficients" or legacy
   "solution", "knots" or "knots_map", "element_list", "degree"; other keys
   are ignored). Interaction keys may name the two elements of a pair, or the
   two neighbours of a trio, in either order; a trio key with the neighbours
   in decreasing atomic number has its l and m axes swapped. pot is
   overwritten; on error it is left empty and diag names the line. */
SP__PRIVATE sp_result_t sp__uf3_read_json(sp_pot_t *pot, const char *text, size_t len, sp_diag_t *diag) {
    sp__json_t J;
    sp_allocator_t al;
    sp_result_t r;
    if (!pot || (!text && len)) return sp__fail(diag, SP_ERR_BAD_ARG, 0, "bad argument");
    al = pot->allocator;
    memset(pot, 0, sizeof *pot);
    pot->allocator = al;
    memset(&J, 0, sizeof J);
    J.s = text;
    J.len = len;
    J.al = &al;
    r = sp__json_parse(&J, diag);
    if (r == SP_OK) r = sp__json_uf3(&J, pot, diag);
    sp__free(&al, J.node);
    if (r != SP_OK) {
        sp_pot_free(pot);
        pot->allocator = al;
    }
    return r;
}

#ifndef SP_NO_STDIO
/* Shortest of %.15g, %.16g, %.17g that reads back as the same double. */
SP__PRIVATE void sp__json_put_num(FILE *fp, double x) {
    char buf[40];
    int prec;
    for (prec = 15; prec <= 17; ++prec) {
        snprintf(buf, sizeof buf, "%.*g", prec, x);
        if (strtod(buf, NULL) == x) break;
    }
    fputs(buf, fp);
}

SP__PRIVATE void sp__json_put_list(FILE *fp, const double *v, int n) {
    int i;
    fputc('[', fp);
    for (i = 0; i < n; ++i) {
        if (i) fputs(", ", fp);
        sp__json_put_num(fp, v[i]);
    }
    fputc(']', fp);
}

/* The "knots" object (also written as "knots_map"). */
SP__PRIVATE void sp__json_put_knots(FILE *fp, const sp_pot_t *pot) {
    const sp_uf3_t *u = &pot->uf3;
    const int ne = pot->nelem, np = ne * (ne + 1) / 2;
    int a, b, c, ax;
    fputs("{\n", fp);
    for (a = 0; a < ne; ++a)
        for (b = a; b < ne; ++b) {
            const sp_uf3_pair_t *P = u->pair + sp_pot_pair_index(ne, a, b);
            fprintf(fp, "%s        \"%s-%s\": ", (a || b) ? ",\n" : "", pot->elem[a], pot->elem[b]);
            sp__json_put_list(fp, P->t, P->nt);
        }
    for (c = 0; c < ne && u->has3; ++c)
        for (a = 0; a < ne; ++a)
            for (b = a; b < ne; ++b) {
                const sp_uf3_trio_t *T = u->trio + (size_t)c * np + sp_pot_pair_index(ne, a, b);
                fprintf(fp, ",\n        \"%s-%s-%s\": [\n", pot->elem[c], pot->elem[a], pot->elem[b]);
                for (ax = 0; ax < 3; ++ax) {
                    fputs(ax ? ",\n            " : "            ", fp);
                    sp__json_put_list(fp, T->t[ax], T->nt[ax]);
                }
                fputs("\n        ]", fp);
            }
    fputs("\n    }", fp);
}

/* Writes a UF3 potential as a uf3 JSON model (the develop to_json layout:
   indent 4, lists of numbers on one line, decompressed 3-body grids as
   nested lists, shortest round-trip numbers). Reading it back with
   sp__uf3_read_json gives bit-identical knots and coefficients. */
SP__PRIVATE sp_result_t sp__uf3_write_json(const sp_pot_t *pot, FILE *fp) {
    const sp_uf3_t *u;
    int ne, np, a, b, c, k, l, m;
    if (!pot || !fp) return SP_ERR_BAD_ARG;
    if (pot->kind != SP_POT_UF3) return SP_ERR_UNSUPPORTED;
    u = &pot->uf3;
    ne = pot->nelem;
    np = ne * (ne + 1) / 2;
    for (k = 0; k < ne; ++k)
        if (!sp__isfinite(u->e1[k])) return SP_ERR_NOT_FINITE;
    for (k = 0; k < np; ++k)
        for (l = 0; l < u->pair[k].nt; ++l)
            if (!sp__isfinite(u->pair[k].t[l]) || (l < u->pair[k].nt - 4 && !sp__isfinite(u->pair[k].c[l])))
                return SP_ERR_NOT_FINITE;
    for (k = 0; k < ne * np && u->has3; ++k) {
        const sp_uf3_trio_t *T = u->trio + k;
        size_t q, n = (size_t)T->L * T->M * T->N;
        for (a = 0; a < 3; ++a)
            for (l = 0; l < T->nt[a]; ++l)
                if (!sp__isfinite(T->t[a][l])) return SP_ERR_NOT_FINITE;
        for (q = 0; q < n; ++q)
            if (!sp__isfinite(T->c[q])) return SP_ERR_NOT_FINITE;
    }
    fputs("{\n    \"coefficients\": {\n", fp);
    for (k = 0; k < ne; ++k) {
        fprintf(fp, "%s        \"%s\": ", k ? ",\n" : "", pot->elem[k]);
        sp__json_put_num(fp, u->e1[k]);
    }
    for (a = 0; a < ne; ++a)
        for (b = a; b < ne; ++b) {
            const sp_uf3_pair_t *P = u->pair + sp_pot_pair_index(ne, a, b);
            fprintf(fp, ",\n        \"%s-%s\": ", pot->elem[a], pot->elem[b]);
            sp__json_put_list(fp, P->c, P->nt - 4);
        }
    for (c = 0; c < ne && u->has3; ++c)
        for (a = 0; a < ne; ++a)
            for (b = a; b < ne; ++b) {
                const sp_uf3_trio_t *T = u->trio + (size_t)c * np + sp_pot_pair_index(ne, a, b);
                fprintf(fp, ",\n        \"%s-%s-%s\": [\n", pot->elem[c], pot->elem[a], pot->elem[b]);
                for (l = 0; l < T->L; ++l) {
                    fputs(l ? ",\n            [\n" : "            [\n", fp);
                    for (m = 0; m < T->M; ++m) {
                        fputs(m ? ",\n                " : "                ", fp);
                        sp__json_put_list(fp, T->c + ((size_t)l * T->M + (size_t)m) * T->N, T->N);
                    }
                    fputs("\n            ]", fp);
                }
                fputs("\n        ]", fp);
            }
    fputs("\n    },\n    \"knots\": ", fp);
    sp__json_put_knots(fp, pot);
    fputs(",\n    \"knot_strategy\": \"linear\",\n    \"offset_1b\": true,\n"
          "    \"leading_trim\": {\"2\": 0, \"3\": 0},\n    \"trailing_trim\": {\"2\": 3, \"3\": 3},\n"
          "    \"knots_map\": ",
          fp);
    sp__json_put_knots(fp, pot);
    fputs(",\n    \"element_list\": [", fp);
    for (k = 0; k < ne; ++k) fprintf(fp, "%s\"%s\"", k ? ", " : "", pot->elem[k]);
    fputs("],\n    \"degree\": 3\n}\n", fp);
    return ferror(fp) ? SP_ERR_IO : SP_OK;
}
#endif

/* ---- s-NNP models (docs/snnp_format.md): "splinepot-snnp 1", header lines
   in a fixed order, then the parameter blocks in theta order, then "end".
   Every line is checked where it stands; numbers must be finite and at most
   1e100 in size; a radial spline's value at its cutoff must be 0. */

SP__PRIVATE int sp__tok_is(const sp__toks_t *t, int k, const char *word) {
    size_t n = strlen(word);
    return k < t->n && k < SP__MAXTOK && (size_t)t->len[k] == n && memcmp(t->p[k], word, n) == 0;
}

/* next content line, which must start with keyword */
SP__PRIVATE sp_result_t sp__snnp_kw(sp__lines_t *L, sp__toks_t *t, const char *kw, int nargs, sp_diag_t *diag) {
    if (!sp__next_content(L, t)) return sp__fail(diag, SP_ERR_PARSE, L->line, "file ends where '%s' is expected", kw);
    if (!sp__tok_is(t, 0, kw))
        return sp__fail(diag, SP_ERR_PARSE, L->line, "expected '%s', found '%.*s'", kw, t->len[0] > 40 ? 40 : t->len[0],
                        t->p[0]);
    if (nargs >= 0 && t->n != 1 + nargs)
        return sp__fail(diag, SP_ERR_PARSE, L->line, "'%s' takes %d value%s, found %d", kw, nargs, nargs == 1 ? "" : "s",
                        t->n - 1);
    return SP_OK;
}

SP__PRIVATE sp_result_t sp__snnp_int(const sp__toks_t *t, int k, const sp__lines_t *L, const char *what, long lo,
                                     long hi, int *out, sp_diag_t *diag) {
    long v;
    if (k >= t->n || k >= SP__MAXTOK || !sp__parse_int(t->p[k], t->len[k], &v))
        return sp__fail(diag, SP_ERR_PARSE, L->line, "%s: expected an integer", what);
    if (v < lo || v > hi) return sp__fail(diag, SP_ERR_PARSE, L->line, "%s %ld outside %ld..%ld", what, v, lo, hi);
    *out = (int)v;
    return SP_OK;
}

/* element token k must be element e of the model */
SP__PRIVATE sp_result_t sp__snnp_el(const sp__toks_t *t, int k, const sp__lines_t *L, const sp_pot_t *pot, int e,
                                    sp_diag_t *diag) {
    if (!sp__tok_is(t, k, pot->elem[e]))
        return sp__fail(diag, SP_ERR_PARSE, L->line, "expected element %s here, found '%.*s'", pot->elem[e],
                        k < t->n && t->len[k] <= 40 ? t->len[k] : 0, k < t->n ? t->p[k] : "");
    return SP_OK;
}

/* count numbers on the following content lines (wrapped freely) */
SP__PRIVATE sp_result_t sp__snnp_nums(sp__lines_t *L, int count, double *out, const char *what, sp_diag_t *diag) {
    sp__toks_t t;
    int got = 0, k;
    sp_result_t r;
    while (got < count) {
        if (!sp__next_content(L, &t))
            return sp__fail(diag, SP_ERR_PARSE, L->line, "file ends after %d of the %d numbers of %s", got, count, what);
        if (got + t.n > count)
            return sp__fail(diag, SP_ERR_PARSE, L->line, "%s has %d numbers, this line brings %d more", what, count,
                            got + t.n - count);
        for (k = 0; k < t.n; ++k) {
            if (k == SP__MAXTOK) { /* a long line: it ends at the next newline */
                const char *end = L->s + L->len, *nl = (const char *)memchr(t.p[k - 1], '\n', (size_t)(end - t.p[k - 1]));
                sp__split_on(&t, nl ? nl : end, 1);
                k = 0;
            }
            if ((r = sp__tok_double(&t, k, L, what, out + got, diag)) != SP_OK) return r;
            if (fabs(out[got]) > 1e100)
                return sp__fail(diag, SP_ERR_RANGE, L->line, "%s: %.3g is beyond 1e100", what, out[got]);
            ++got;
        }
    }
    return SP_OK;
}

SP__PRIVATE sp_result_t sp__read_snnp(sp_pot_t *pot, sp__lines_t *L, sp_diag_t *diag) {
    sp__toks_t t;
    sp_snnp_arch_t a;
    sp_result_t r;
    sp_snnp_t *m;
    int e, q, k, fam, hdr_line, ver;
    memset(&a, 0, sizeof a);
    if (!sp__next_content(L, &t) || !sp__tok_is(&t, 0, "splinepot-snnp"))
        return sp__fail(diag, SP_ERR_PARSE, L->line, "expected 'splinepot-snnp 1' on the first line");
    if (t.n != 2 || sp__snnp_int(&t, 1, L, "format version", 0, 1000000, &ver, NULL) != SP_OK)
        return sp__fail(diag, SP_ERR_PARSE, L->line, "expected 'splinepot-snnp <version>'");
    if (ver != 1)
        return sp__fail(diag, SP_ERR_UNSUPPORTED, L->line, "s-NNP format version %d is not supported (this reader: 1)", ver);
    /* elements */
    if ((r = sp__snnp_kw(L, &t, "elements", -1, diag)) != SP_OK) return r;
    if ((r = sp__snnp_int(&t, 1, L, "number of elements", 1, SP_MAX_ELEMENTS, &a.nelem, diag)) != SP_OK) return r;
    if (t.n != 2 + a.nelem)
        return sp__fail(diag, SP_ERR_PARSE, L->line, "%d elements announced, %d names given", a.nelem, t.n - 2);
    for (e = 0; e < a.nelem; ++e) {
        char sym[8];
        if (t.len[2 + e] >= 4) return sp__fail(diag, SP_ERR_UNKNOWN_ELEMENT, L->line, "bad element name");
        memcpy(sym, t.p[2 + e], (size_t)t.len[2 + e]);
        sym[t.len[2 + e]] = '\0';
        a.z[e] = sp_element_z(sym);
        if (!a.z[e]) return sp__fail(diag, SP_ERR_UNKNOWN_ELEMENT, L->line, "unknown element '%s'", sym);
        for (q = 0; q < e; ++q)
            if (a.z[q] == a.z[e]) return sp__fail(diag, SP_ERR_PARSE, L->line, "element '%s' listed twice", sym);
    }
    if ((r = sp__snnp_kw(L, &t, "filters", 2, diag)) != SP_OK) return r;
    if ((r = sp__snnp_int(&t, 1, L, "3-body filters", 0, SP_SNNP_MAX_FILTERS, &a.n3, diag)) != SP_OK) return r;
    if ((r = sp__snnp_int(&t, 2, L, "2-body filters", 0, SP_SNNP_MAX_FILTERS, &a.n2, diag)) != SP_OK) return r;
    {
        static const char *const flags[4] = {"short", "skip", "nobias", "softplus"};
        int *dst[4];
        dst[0] = &a.short_range; dst[1] = &a.skip; dst[2] = &a.nobias; dst[3] = &a.softplus;
        for (q = 0; q < 4; ++q) {
            if ((r = sp__snnp_kw(L, &t, flags[q], 1, diag)) != SP_OK) return r;
            if ((r = sp__snnp_int(&t, 1, L, flags[q], 0, 1, dst[q], diag)) != SP_OK) return r;
        }
    }
    if ((r = sp__snnp_kw(L, &t, "network", -1, diag)) != SP_OK) return r;
    if (t.n == 2 && sp__tok_is(&t, 1, "none")) {
        a.network = 0;
        if (a.nobias || a.softplus)
            return sp__fail(diag, SP_ERR_PARSE, L->line, "'nobias' and 'softplus' must be 0 without a network");
    } else {
        a.network = 1;
        if ((r = sp__snnp_int(&t, 1, L, "hidden layers", 0, SP_SNNP_MAX_HIDDEN, &a.nhidden, diag)) != SP_OK) return r;
        if (t.n != 2 + a.nhidden)
            return sp__fail(diag, SP_ERR_PARSE, L->line, "%d hidden layers announced, %d widths given", a.nhidden, t.n - 2);
        for (q = 0; q < a.nhidden; ++q)
            if ((r = sp__snnp_int(&t, 2 + q, L, "layer width", 1, SP_SNNP_MAX_WIDTH, &a.width[q], diag)) != SP_OK) return r;
        if (a.n3 + a.n2 == 0) return sp__fail(diag, SP_ERR_PARSE, L->line, "a network needs at least one filter as input");
    }
    if ((r = sp__snnp_kw(L, &t, "celu_alpha", 1, diag)) != SP_OK) return r;
    if ((r = sp__tok_double(&t, 1, L, "celu_alpha", &a.celu_alpha, diag)) != SP_OK) return r;
    if (!(a.celu_alpha > 1e-6 && a.celu_alpha < 1e6))
        return sp__fail(diag, SP_ERR_RANGE, L->line, "celu_alpha %g outside (1e-6, 1e6)", a.celu_alpha);
    for (fam = 0; fam < 4; ++fam) {
        static const char *const kws[4] = {"knots_f", "knots_g", "knots_rho", "knots_short"};
        int present = fam < 2 ? a.n3 > 0 : fam == 2 ? a.n2 > 0 : a.short_range;
        double lo = -1.0, hi = 1.0;
        int n;
        if (!present) continue;
        if ((r = sp__snnp_kw(L, &t, kws[fam], fam == 1 ? 1 : 3, diag)) != SP_OK) return r;
        if (fam != 1) {
            if ((r = sp__tok_double(&t, 1, L, "first knot", &lo, diag)) != SP_OK) return r;
            if ((r = sp__tok_double(&t, 2, L, "last knot", &hi, diag)) != SP_OK) return r;
            if (!(lo >= 0.0 && hi > lo && hi <= 100.0 && hi - lo > 1e-3))
                return sp__fail(diag, SP_ERR_RANGE, L->line, "knots need 0 <= first < last <= 100 A, got %g .. %g", lo, hi);
        }
        if ((r = sp__snnp_int(&t, fam == 1 ? 1 : 3, L, "knot count", 3, SP_SPLINE_MAX_KNOTS, &n, diag)) != SP_OK) return r;
        switch (fam) {
        case 0: a.r3lo = lo; a.r3hi = hi; a.k3 = n; break;
        case 1: a.kg = n; break;
        case 2: a.r2lo = lo; a.r2hi = hi; a.k2 = n; break;
        default: a.rslo = lo; a.rshi = hi; a.ks = n; break;
        }
    }
    hdr_line = L->line;
    if (a.n3 + a.n2 == 0 && !a.short_range) return sp__fail(diag, SP_ERR_PARSE, hdr_line, "the model has no filter");
    { /* every parameter takes at least 2 bytes: refuse to allocate for a header the rest cannot fill */
        const double ne = a.nelem, np = ne * (ne + 1) / 2;
        double cnt = ne + (a.n3 ? a.n3 * (ne * (a.k3 + 2) + np * (a.kg + 2)) : 0) + (a.n2 ? a.n2 * ne * (a.k2 + 2) : 0) +
                     (a.short_range ? ne * (a.ks + 2) : 0);
        if (a.network) {
            int din = a.n3 + a.n2;
            for (q = 0; q <= a.nhidden; ++q) {
                const int dout = q < a.nhidden ? a.width[q] : 1;
                cnt += ne * dout * (din + (a.nobias ? 0 : 1));
                din = dout;
            }
        }
        if (2.0 * cnt > (double)(L->len - L->pos))
            return sp__fail(diag, SP_ERR_PARSE, hdr_line, "the file is too short for the %.0f parameters its header announces",
                            cnt);
    }
    if ((r = sp_snnp_create(pot, &a, diag)) != SP_OK) {
        if (diag) diag->line = hdr_line;
        return r;
    }
    m = &pot->snnp;
    for (e = 0; e < a.nelem; ++e) {
        if ((r = sp__snnp_kw(L, &t, "e0", 2, diag)) != SP_OK) return r;
        if ((r = sp__snnp_el(&t, 1, L, pot, e, diag)) != SP_OK) return r;
        if ((r = sp__tok_double(&t, 2, L, "e0", &m->theta[m->off_e0 + e], diag)) != SP_OK) return r;
        if (fabs(m->theta[m->off_e0 + e]) > 1e100) return sp__fail(diag, SP_ERR_RANGE, L->line, "e0 beyond 1e100");
    }
    /* splines in theta order */
    for (fam = 0; fam < 4; ++fam) {
        static const char *const kws[4] = {"f", "g", "rho", "sr"};
        static const char *const what[4] = {"an f spline", "a g spline", "a rho spline", "the short-range spline"};
        const int ns = sp__snnp_nspl(&m->arch, fam), n = m->nk[fam];
        const int off = fam == 0 ? m->off_f : fam == 1 ? m->off_g : fam == 2 ? m->off_rho : m->off_s;
        const int per = fam == 1 ? m->npairs : a.nelem;
        for (k = 0; k < ns; ++k) {
            const int f = k / per, el = k % per;
            double *th = m->theta + off + (size_t)k * (n + 2);
            int line;
            if ((r = sp__snnp_kw(L, &t, kws[fam], fam == 3 ? 1 : fam == 1 ? 3 : 2, diag)) != SP_OK) return r;
            line = L->line;
            if (fam != 3) {
                int idx;
                if ((r = sp__snnp_int(&t, 1, L, "filter number", 1, 1000, &idx, diag)) != SP_OK) return r;
                if (idx != f + 1)
                    return sp__fail(diag, SP_ERR_PARSE, L->line, "expected %s %d here, found %s %d", kws[fam], f + 1,
                                    kws[fam], idx);
            }
            if (fam == 1) {
                int ea, eb;
                sp__pair_elements(a.nelem, el, &ea, &eb);
                if ((r = sp__snnp_el(&t, 2, L, pot, ea, diag)) != SP_OK) return r;
                if ((r = sp__snnp_el(&t, 3, L, pot, eb, diag)) != SP_OK) return r;
            } else if ((r = sp__snnp_el(&t, fam == 3 ? 1 : 2, L, pot, el, diag)) != SP_OK) {
                return r;
            }
            if ((r = sp__snnp_nums(L, n + 2, th, what[fam], diag)) != SP_OK) return r;
            if (fam != 1 && th[n - 1] != 0.0)
                return sp__fail(diag, SP_ERR_RANGE, line, "%s must be 0 at its cutoff (its last knot value is %.17g)",
                                what[fam], th[n - 1]);
        }
    }
    /* networks */
    for (e = 0; e < a.nelem && a.network; ++e)
        for (q = 0; q < m->nlayers; ++q) {
            const int din = m->dims[q], dout = m->dims[q + 1];
            double *W = m->theta + m->off_net[e] + m->lay_off[q];
            int v;
            if ((r = sp__snnp_kw(L, &t, "W", 4, diag)) != SP_OK) return r;
            if ((r = sp__snnp_el(&t, 1, L, pot, e, diag)) != SP_OK) return r;
            if ((r = sp__snnp_int(&t, 2, L, "layer", 1, SP_SNNP_MAX_HIDDEN + 1, &v, diag)) != SP_OK) return r;
            if (v != q + 1) return sp__fail(diag, SP_ERR_PARSE, L->line, "expected layer %d here, found %d", q + 1, v);
            if ((r = sp__snnp_int(&t, 3, L, "rows", 1, SP_SNNP_MAX_WIDTH, &v, diag)) != SP_OK) return r;
            if (v != dout) return sp__fail(diag, SP_ERR_PARSE, L->line, "layer %d has %d rows, not %d", q + 1, dout, v);
            if ((r = sp__snnp_int(&t, 4, L, "columns", 1, SP_SNNP_MAX_WIDTH, &v, diag)) != SP_OK) return r;
            if (v != din) return sp__fail(diag, SP_ERR_PARSE, L->line, "layer %d has %d columns, not %d", q + 1, din, v);
            if ((r = sp__snnp_nums(L, dout * din, W, "a weight matrix", diag)) != SP_OK) return r;
            if (a.nobias) continue;
            if ((r = sp__snnp_kw(L, &t, "b", 3, diag)) != SP_OK) return r;
            if ((r = sp__snnp_el(&t, 1, L, pot, e, diag)) != SP_OK) return r;
            if ((r = sp__snnp_int(&t, 2, L, "layer", 1, SP_SNNP_MAX_HIDDEN + 1, &v, diag)) != SP_OK) return r;
            if (v != q + 1) return sp__fail(diag, SP_ERR_PARSE, L->line, "expected layer %d here, found %d", q + 1, v);
            if ((r = sp__snnp_int(&t, 3, L, "rows", 1, SP_SNNP_MAX_WIDTH, &v, diag)) != SP_OK) return r;
            if (v != dout) return sp__fail(diag, SP_ERR_PARSE, L->line, "layer %d has %d biases, not %d", q + 1, dout, v);
            if ((r = sp__snnp_nums(L, dout, W + (size_t)dout * din, "a bias vector", diag)) != SP_OK) return r;
        }
    if ((r = sp__snnp_kw(L, &t, "end", 0, diag)) != SP_OK) return r;
    if (sp__next_content(L, &t)) return sp__fail(diag, SP_ERR_PARSE, L->line, "unexpected content after 'end'");
    if ((r = sp__snnp_build(m)) != SP_OK) return sp__fail(diag, r, hdr_line, "a spline could not be built");
    return SP_OK;
}

SP_API sp_result_t sp_pot_read(sp_pot_t *pot, const char *text, size_t len, const char *name_hint,
                               sp_diag_t *diag) {
    sp__lines_t L;
    sp_allocator_t a;
    sp_result_t r;
    size_t i;
    if (!pot || (!text && len)) return sp__fail(diag, SP_ERR_BAD_ARG, 0, "bad argument");
    if (diag) {
        diag->warning_line = 0;
        diag->warning[0] = '\0';
    }
    a = pot->allocator;
    memset(pot, 0, sizeof *pot);
    pot->allocator = a;
    {
        int line = 1;
        for (i = 0; i < len; ++i) {
            if (text[i] == '\n') ++line;
            if (text[i] == '\0') return sp__fail(diag, SP_ERR_PARSE, line, "file contains a NUL byte (binary data?)");
        }
    }
    L.s = text;
    L.len = len;
    L.pos = 0;
    L.line = 0;
    L.strict = 0;
    {
        size_t q = 0;
        while (q < len && (text[q] == ' ' || text[q] == '\t' || text[q] == '\r' || text[q] == '\n')) ++q;
        if (len - q >= 8 && memcmp(text + q, "#UF3 POT", 8) == 0) {
            L.strict = 1;
            r = sp__read_uf3(pot, &L, diag);
        } else if (len - q >= 14 && memcmp(text + q, "splinepot-snnp", 14) == 0) {
            L.strict = 1;
            r = sp__read_snnp(pot, &L, diag);
        } else if (q < len && (text[q] == '{' || (len - q >= 3 && memcmp(text + q, "\xef\xbb\xbf", 3) == 0))) {
            r = sp__uf3_read_json(pot, text, len, diag);
        } else {
            r = sp__read_meam(pot, &L, name_hint, diag);
        }
    }
    if (r != SP_OK) sp_pot_free(pot), pot->allocator = a;
    return r;
}

SP_API void sp_frame_free(sp_frame_t *f) {
    sp_allocator_t a;
    if (!f) return;
    a = f->allocator;
    sp__free(&a, f->pos);
    sp__free(&a, f->z);
    sp__free(&a, f->forces);
    sp__free(&a, f->energies);
    sp__free(&a, f->velocities);
    sp__free(&a, f->comment_extra);
    memset(f, 0, sizeof *f);
    f->allocator = a;
}

/* key=value pairs of an extxyz comment line; values may be quoted. */
typedef struct sp__kv_t {
    const char *k, *v;
    int klen, vlen;
} sp__kv_t;

static int sp__next_kv(const char *s, size_t len, size_t *pos, sp__kv_t *kv) {
    size_t i = *pos;
    while (i < len && (s[i] == ' ' || s[i] == '\t')) ++i;
    if (i >= len) return 0;
    kv->k = s + i;
    while (i < len && s[i] != '=' && s[i] != ' ' && s[i] != '\t') ++i;
    kv->klen = (int)(s + i - kv->k);
    if (i < len && s[i] == '=') {
        char q;
        ++i;
        if (i < len && (s[i] == '"' || s[i] == '\'')) {
            q = s[i++];
            kv->v = s + i;
            while (i < len && s[i] != q) ++i;
            kv->vlen = (int)(s + i - kv->v);
            if (i < len) ++i;
        } else {
            kv->v = s + i;
            while (i < len && s[i] != ' ' && s[i] != '\t') ++i;
            kv->vlen = (int)(s + i - kv->v);
        }
    } else {
        kv->v = "T";
        kv->vlen = 1;
    }
    *pos = i;
    return 1;
}

static int sp__key_is(const sp__kv_t *kv, const char *name) {
    size_t n = strlen(name);
    int i;
    if ((size_t)kv->klen != n) return 0;
    for (i = 0; i < kv->klen; ++i) {
        char c = kv->k[i];
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c != name[i]) return 0;
    }
    return 1;
}

/* n numbers of a quoted value into out; returns SP_OK or an error. */
static sp_result_t sp__kv_numbers(const sp__kv_t *kv, int n, double *out, int line, sp_diag_t *diag) {
    sp__toks_t t;
    int k;
    sp__split(kv->v, (size_t)kv->vlen, 0, &t);
    if (t.n != n)
        return sp__fail(diag, SP_ERR_PARSE, line, "%.*s= needs %d numbers, found %d", kv->klen, kv->k, n, t.n);
    for (k = 0; k < n; ++k) {
        int r = sp__parse_double(t.p[k], t.len[k], out + k);
        if (r == -1) return sp__fail(diag, SP_ERR_NOT_FINITE, line, "%.*s= has a non-finite number", kv->klen, kv->k);
        if (r != 1) return sp__fail(diag, SP_ERR_PARSE, line, "%.*s= has a bad number '%.*s'", kv->klen, kv->k,
                                    t.len[k] > 40 ? 40 : t.len[k], t.p[k]);
    }
    return SP_OK;
}

SP_API sp_result_t sp_xyz_read_frame(const char *text, size_t len, size_t *io_pos, int *io_line,
                                     sp_frame_t *out, sp_diag_t *diag) {
    sp__lines_t L;
    sp__toks_t t;
    const char *s;
    size_t sl, p, extra_len = 0;
    long nat;
    sp__kv_t kv;
    int col_species = -1, col_z = -1, col_pos = -1, col_forces = -1, col_energies = -1, col_vel = -1, ncol = 0;
    int k, d, comment_line, has_pbc = 0, want[11], nw = 0;
    sp_result_t r;
    sp_allocator_t a;
    if (!out || !io_pos || !io_line || (!text && len)) return SP_ERR_BAD_ARG;
    a = out->allocator;
    memset(out, 0, sizeof *out);
    out->allocator = a;
    L.s = text; L.len = len; L.pos = *io_pos; L.line = *io_line; L.strict = 1;
    /* natoms line (blank lines between frames are skipped) */
    do {
        if (!sp__next_line(&L, &s, &sl)) return SP_ERR_RANGE;
        sp__split(s, sl, 0, &t);
    } while (t.n == 0);
    if (t.n != 1 || !sp__parse_int(t.p[0], t.len[0], &nat) || nat < 0 || nat > 100000000)
        return sp__fail(diag, SP_ERR_PARSE, L.line, "expected the number of atoms");
    if ((size_t)nat > (L.len - L.pos) / 2) /* every atom line needs at least 2 bytes */
        return sp__fail(diag, SP_ERR_PARSE, L.line, "%ld atoms announced, but the file is too short for them", nat);
    if (!sp__next_line(&L, &s, &sl))
        return sp__fail(diag, SP_ERR_PARSE, L.line, "file ends where the comment line is expected");
    comment_line = L.line;
    out->natoms = (int)nat;
    out->pos = (double *)sp__alloc(&a, 3 * (size_t)nat * sizeof(double));
    out->z = (int *)sp__alloc(&a, (size_t)nat * sizeof(int));
    out->comment_extra = (char *)sp__alloc(&a, 2 * sl + 2); /* tokens plus one space each */
    if (!out->pos || !out->z || !out->comment_extra) { r = SP_ERR_NO_MEMORY; goto fail; }
    out->comment_extra[0] = '\0';
    /* comment line */
    p = 0;
    while (sp__next_kv(s, sl, &p, &kv)) {
        if (sp__key_is(&kv, "lattice")) {
            if ((r = sp__kv_numbers(&kv, 9, out->cell, comment_line, diag)) != SP_OK) goto fail;
            out->has_cell = 1;
        } else if (sp__key_is(&kv, "pbc")) {
            sp__split(kv.v, (size_t)kv.vlen, 0, &t);
            if (t.n != 3) { r = sp__fail(diag, SP_ERR_PARSE, comment_line, "pbc= needs 3 flags"); goto fail; }
            for (d = 0; d < 3; ++d) {
                char c = t.p[d][0];
                if (t.len[d] == 1 && (c == 'T' || c == 't' || c == '1')) out->pbc[d] = 1;
                else if (c == 'T' || c == 't') out->pbc[d] = 1; /* True */
                else if (c == 'F' || c == 'f' || c == '0') out->pbc[d] = 0;
                else { r = sp__fail(diag, SP_ERR_PARSE, comment_line, "bad pbc flag"); goto fail; }
            }
            has_pbc = 1;
        } else if (sp__key_is(&kv, "energy")) {
            if ((r = sp__kv_numbers(&kv, 1, &out->energy, comment_line, diag)) != SP_OK) goto fail;
            out->has_energy = 1;
        } else if (sp__key_is(&kv, "stress") || sp__key_is(&kv, "virial")) {
            double v[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
            int is_stress = sp__key_is(&kv, "stress");
            sp__split(kv.v, (size_t)kv.vlen, 0, &t);
            if (t.n == 6) { /* Voigt xx yy zz yz xz xy */
                double q[6] = {0, 0, 0, 0, 0, 0};
                if ((r = sp__kv_numbers(&kv, 6, q, comment_line, diag)) != SP_OK) goto fail;
                v[0] = q[0]; v[4] = q[1]; v[8] = q[2];
                v[5] = v[7] = q[3]; v[2] = v[6] = q[4]; v[1] = v[3] = q[5];
            } else if ((r = sp__kv_numbers(&kv, 9, v, comment_line, diag)) != SP_OK) goto fail;
            if (is_stress) { memcpy(out->stress, v, sizeof v); out->has_stress = 1; }
            else { memcpy(out->virial, v, sizeof v); out->has_virial = 1; }
        } else if (sp__key_is(&kv, "properties")) {
            /* name:type:count triples */
            int i = 0, field = 0, start = 0, c0 = 0;
            char name[32];
            name[0] = '\0';
            char typ = 0;
            for (i = 0; i <= kv.vlen; ++i) {
                if (i == kv.vlen || kv.v[i] == ':') {
                    int fl = i - start;
                    const char *fp = kv.v + start;
                    if (field % 3 == 0) {
                        if (fl >= (int)sizeof name) fl = (int)sizeof name - 1;
                        memcpy(name, fp, (size_t)fl);
                        name[fl] = '\0';
                    } else if (field % 3 == 1) {
                        typ = fl == 1 ? fp[0] : '?';
                    } else {
                        long cnt;
                        if (!sp__parse_int(fp, fl, &cnt) || cnt < 1 || cnt > 100000 - c0 ||
                            !(typ == 'S' || typ == 'R' || typ == 'I' || typ == 'L')) {
                            r = sp__fail(diag, SP_ERR_PARSE, comment_line, "bad Properties= entry '%s'", name);
                            goto fail;
                        }
                        if (strcmp(name, "species") == 0 && typ == 'S' && cnt == 1) col_species = c0;
                        else if (strcmp(name, "Z") == 0 && typ == 'I' && cnt == 1) col_z = c0;
                        else if (strcmp(name, "pos") == 0 && typ == 'R' && cnt == 3) col_pos = c0;
                        else if ((strcmp(name, "forces") == 0 || strcmp(name, "force") == 0) && typ == 'R' && cnt == 3)
                            col_forces = c0;
                        else if (strcmp(name, "energies") == 0 && typ == 'R' && cnt == 1) col_energies = c0;
                        else if ((strcmp(name, "vel") == 0 || strcmp(name, "velo") == 0 ||
                                  strcmp(name, "velocities") == 0) && typ == 'R' && cnt == 3)
                            col_vel = c0;
                        c0 += (int)cnt;
                    }
                    ++field;
                    start = i + 1;
                }
            }
            if (field % 3 != 0) { r = sp__fail(diag, SP_ERR_PARSE, comment_line, "Properties= is incomplete"); goto fail; }
            ncol = c0;
        } else {
            /* keep other keys (and the weight, which an eval's output carries on) verbatim: the token's span */
            size_t start = (size_t)(kv.k - s), n0 = p - start;
            if (sp__key_is(&kv, "weight") || sp__key_is(&kv, "config_weight")) {
                if ((r = sp__kv_numbers(&kv, 1, &out->weight, comment_line, diag)) != SP_OK) goto fail;
                if (!(out->weight > 0.0)) {
                    r = sp__fail(diag, SP_ERR_PARSE, comment_line, "%.*s= must be > 0", kv.klen, kv.k);
                    goto fail;
                }
                out->has_weight = 1;
            }
            if (extra_len) out->comment_extra[extra_len++] = ' ';
            memcpy(out->comment_extra + extra_len, s + start, n0);
            extra_len += n0;
            out->comment_extra[extra_len] = '\0';
        }
    }
    if (ncol == 0) { /* plain XYZ: species x y z */
        col_species = 0; col_pos = 1; ncol = 4;
    }
    if (col_pos < 0 || (col_species < 0 && col_z < 0)) {
        r = sp__fail(diag, SP_ERR_PARSE, comment_line, "Properties= lacks species (or Z) and pos");
        goto fail;
    }
    { /* the columns read, in line order; each col_ becomes its place among them (any number of
         other columns is passed over) */
        int *const cols[6] = {&col_species, &col_z, &col_pos, &col_forces, &col_energies, &col_vel};
        static const int width[6] = {1, 1, 3, 3, 1, 3};
        int c, q;
        for (q = 0; q < 6; ++q)
            for (c = 0; *cols[q] >= 0 && c < width[q]; ++c) {
                int w = nw++; /* insertion in order */
                for (; w > 0 && want[w - 1] > *cols[q] + c; --w) want[w] = want[w - 1];
                want[w] = *cols[q] + c;
            }
        for (q = 0; q < 6; ++q)
            if (*cols[q] >= 0) {
                for (c = 0; want[c] != *cols[q]; ++c) {}
                *cols[q] = c;
            }
    }
    if (!has_pbc) out->pbc[0] = out->pbc[1] = out->pbc[2] = out->has_cell;
    if (col_forces >= 0 && !(out->forces = (double *)sp__alloc(&a, 3 * (size_t)nat * sizeof(double)))) {
        r = SP_ERR_NO_MEMORY; goto fail;
    }
    if (col_energies >= 0 && !(out->energies = (double *)sp__alloc(&a, (size_t)nat * sizeof(double)))) {
        r = SP_ERR_NO_MEMORY; goto fail;
    }
    if (col_vel >= 0 && !(out->velocities = (double *)sp__alloc(&a, 3 * (size_t)nat * sizeof(double)))) {
        r = SP_ERR_NO_MEMORY; goto fail;
    }
    for (k = 0; k < nat; ++k) {
        if (!sp__next_line(&L, &s, &sl)) {
            r = sp__fail(diag, SP_ERR_PARSE, L.line, "file ends after %d of %ld atom lines", k, nat);
            goto fail;
        }
        sp__split_cols(s, sl, 0, want, nw, &t);
        if (t.n != ncol) {
            r = sp__fail(diag, SP_ERR_PARSE, L.line, "expected %d columns, found %d", ncol, t.n);
            goto fail;
        }
        if (col_species >= 0) {
            char sym[8];
            int tl = t.len[col_species];
            if (tl >= (int)sizeof sym) tl = (int)sizeof sym - 1;
            memcpy(sym, t.p[col_species], (size_t)tl);
            sym[tl] = '\0';
            out->z[k] = sp_element_z(sym);
            if (!out->z[k]) {
                r = sp__fail(diag, SP_ERR_UNKNOWN_ELEMENT, L.line, "unknown element '%s'", sym);
                goto fail;
            }
        } else {
            long z;
            if (!sp__parse_int(t.p[col_z], t.len[col_z], &z) || z < 1 || z > 118) {
                r = sp__fail(diag, SP_ERR_UNKNOWN_ELEMENT, L.line, "bad atomic number");
                goto fail;
            }
            out->z[k] = (int)z;
        }
        for (d = 0; d < 3; ++d) {
            if ((r = sp__tok_double(&t, col_pos + d, &L, "position", &out->pos[3 * k + d], diag)) != SP_OK) goto fail;
            if (col_forces >= 0 &&
                (r = sp__tok_double(&t, col_forces + d, &L, "force", &out->forces[3 * k + d], diag)) != SP_OK)
                goto fail;
            if (col_vel >= 0 &&
                (r = sp__tok_double(&t, col_vel + d, &L, "velocity", &out->velocities[3 * k + d], diag)) != SP_OK)
                goto fail;
        }
        if (col_energies >= 0 &&
            (r = sp__tok_double(&t, col_energies, &L, "per-atom energy", &out->energies[k], diag)) != SP_OK)
            goto fail;
    }
    *io_pos = L.pos;
    *io_line = L.line;
    return SP_OK;
fail:
    sp_frame_free(out);
    return r;
}

#ifndef SP_NO_STDIO
SP_API sp_result_t sp_read_file(const char *path, char **out_text, size_t *out_len,
                                sp_allocator_t *alloc, sp_diag_t *diag) {
    FILE *fp;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    if (!path || !out_text || !out_len) return SP_ERR_BAD_ARG;
    fp = fopen(path, "rb");
    if (!fp) return sp__fail(diag, SP_ERR_IO, 0, "cannot open: %s", strerror(errno));
    for (;;) {
        size_t got;
        if (n + 65536 + 1 > cap) {
            size_t nc = cap ? 2 * cap : 65536 * 2;
            char *nb = (char *)sp__alloc(alloc, nc);
            if (!nb) { sp__free(alloc, buf); fclose(fp); return sp__fail(diag, SP_ERR_NO_MEMORY, 0, "out of memory"); }
            if (buf) memcpy(nb, buf, n);
            sp__free(alloc, buf);
            buf = nb;
            cap = nc;
        }
        got = fread(buf + n, 1, cap - n - 1, fp);
        n += got;
        if (got == 0) break;
    }
    if (ferror(fp)) { sp__free(alloc, buf); fclose(fp); return sp__fail(diag, SP_ERR_IO, 0, "read error"); }
    fclose(fp);
    buf[n] = '\0';
    *out_text = buf;
    *out_len = n;
    return SP_OK;
}

SP_API sp_result_t sp_pot_read_file(sp_pot_t *pot, const char *path, sp_diag_t *diag) {
    char *text;
    size_t len;
    sp_result_t r;
    if (!pot) return SP_ERR_BAD_ARG;
    r = sp_read_file(path, &text, &len, &pot->allocator, diag);
    if (r != SP_OK) return r;
    r = sp_pot_read(pot, text, len, path, diag);
    sp__free(&pot->allocator, text);
    return r;
}

static void sp__write_meam_spline(FILE *fp, const sp_spline_t *s, const char *pre) {
    int k;
    fputs(pre, fp);
    fprintf(fp, "%d\n%.17g %.17g\n", s->n, s->d0, s->dN);
    if (pre[0] == '\0') fputs("1 0 1 0\n", fp);
    for (k = 0; k < s->n; ++k) {
        double y2 = (k < s->n - 1 ? s->seg[5 * k + 3] : s->seg[5 * (k - 1) + 4]) * (s->h * 6.0);
        fprintf(fp, "%.17g %.17g %.17g\n", s->x[k], s->y[k], y2);
    }
}

/* numbers, at most per_line on one line, each with 17 significant digits */
static void sp__write_wrapped(FILE *fp, const double *v, int n, int per_line) {
    int k;
    for (k = 0; k < n; ++k) fprintf(fp, "%s%.17g%s", k % per_line ? " " : "", v[k], (k % per_line == per_line - 1 || k == n - 1) ? "\n" : "");
}

/* An s-NNP model in the format of docs/snnp_format.md (version 1). */
static sp_result_t sp__write_snnp(const sp_pot_t *pot, FILE *fp) {
    const sp_snnp_t *m = &pot->snnp;
    const sp_snnp_arch_t *a = &m->arch;
    int e, k, fam, q;
    fprintf(fp, "splinepot-snnp 1\n# s-NNP model (Vita & Trinkle 2023) written by splinepot %d.%d.%d; format: docs/snnp_format.md\n",
            SP_VERSION_MAJOR, SP_VERSION_MINOR, SP_VERSION_PATCH);
    fprintf(fp, "elements %d", a->nelem);
    for (e = 0; e < a->nelem; ++e) fprintf(fp, " %s", pot->elem[e]);
    fprintf(fp, "\nfilters %d %d      # 3-body and 2-body filters (the network inputs)\n", a->n3, a->n2);
    fprintf(fp, "short %d          # short-range pair filter summed straight into E_i\n", a->short_range ? 1 : 0);
    fprintf(fp, "skip %d           # skip connection: E_i += sum of the filters\n", a->skip ? 1 : 0);
    fprintf(fp, "nobias %d         # network layers without bias terms\n", a->nobias ? 1 : 0);
    fprintf(fp, "softplus %d       # softplus on the network output\n", a->softplus ? 1 : 0);
    if (a->network) {
        fprintf(fp, "network %d", a->nhidden);
        for (k = 0; k < a->nhidden; ++k) fprintf(fp, " %d", a->width[k]);
        fputs("      # hidden layers and their widths (CELU), then one linear output\n", fp);
    } else {
        fputs("network none     # filters only\n", fp);
    }
    fprintf(fp, "celu_alpha %.17g\n", a->celu_alpha);
    if (a->n3) {
        fprintf(fp, "knots_f %.17g %.17g %d    # f: first knot, last knot = 3-body cutoff, count\n", a->r3lo, a->r3hi, a->k3);
        fprintf(fp, "knots_g %d    # g: knots on [-1, 1]\n", a->kg);
    }
    if (a->n2) fprintf(fp, "knots_rho %.17g %.17g %d    # rho: first knot, last knot = 2-body cutoff, count\n", a->r2lo, a->r2hi, a->k2);
    if (a->short_range)
        fprintf(fp, "knots_short %.17g %.17g %d    # short-range filter: first knot, inner cutoff, count\n", a->rslo, a->rshi, a->ks);
    for (e = 0; e < a->nelem; ++e) fprintf(fp, "e0 %s %.17g\n", pot->elem[e], m->theta[m->off_e0 + e]);
    fputs("# splines: the knot values y_0 .. y_n-1, then the end slopes d0 dN\n", fp);
    for (fam = 0; fam < 4; ++fam) {
        const int ns = sp__snnp_nspl(a, fam), n = m->nk[fam];
        const int off = fam == 0 ? m->off_f : fam == 1 ? m->off_g : fam == 2 ? m->off_rho : m->off_s;
        const int per = fam == 1 ? m->npairs : a->nelem;
        for (k = 0; k < ns; ++k) {
            const double *th = m->theta + off + (size_t)k * (n + 2);
            const int f = k / per, el = k % per;
            if (fam == 0) fprintf(fp, "f %d %s\n", f + 1, pot->elem[el]);
            else if (fam == 2) fprintf(fp, "rho %d %s\n", f + 1, pot->elem[el]);
            else if (fam == 3) fprintf(fp, "sr %s\n", pot->elem[el]);
            else {
                int ea, eb;
                sp__pair_elements(a->nelem, el, &ea, &eb);
                fprintf(fp, "g %d %s %s\n", f + 1, pot->elem[ea], pot->elem[eb]);
            }
            sp__write_wrapped(fp, th, n, 6);
            fprintf(fp, "%.17g %.17g\n", th[n], th[n + 1]);
        }
    }
    if (a->network) fputs("# networks: per element and layer, W (rows = outputs), then b unless nobias\n", fp);
    for (e = 0; e < a->nelem && a->network; ++e)
        for (q = 0; q < m->nlayers; ++q) {
            const int din = m->dims[q], dout = m->dims[q + 1];
            const double *W = m->theta + m->off_net[e] + m->lay_off[q];
            fprintf(fp, "W %s %d %d %d\n", pot->elem[e], q + 1, dout, din);
            for (k = 0; k < dout; ++k) sp__write_wrapped(fp, W + (size_t)k * din, din, 8);
            if (a->nobias) continue;
            fprintf(fp, "b %s %d %d\n", pot->elem[e], q + 1, dout);
            sp__write_wrapped(fp, W + (size_t)dout * din, dout, 8);
        }
    fputs("end\n", fp);
    return ferror(fp) ? SP_ERR_IO : SP_OK;
}

SP_API sp_result_t sp_pot_write(const sp_pot_t *pot, FILE *fp) {
    const sp_meam_t *m;
    int k, nspl;
    if (!pot || !fp) return SP_ERR_BAD_ARG;
    m = &pot->meam;
    if (pot->kind == SP_POT_MEAM && (m->new_format || pot->elem[0][0])) {
        int ne = pot->nelem;
        nspl = ne * (ne + 1) + 3 * ne;
        fprintf(fp, "# meam/spline potential written by splinepot %d.%d.%d\nmeam/spline %d", SP_VERSION_MAJOR,
                SP_VERSION_MINOR, SP_VERSION_PATCH, ne);
        for (k = 0; k < ne; ++k) fprintf(fp, " %s", pot->elem[k]);
        fputc('\n', fp);
        for (k = 0; k < nspl; ++k) sp__write_meam_spline(fp, m->phi + k, "spline3eq\n");
    } else if (pot->kind == SP_POT_UF3) {
        return sp__write_uf3(pot, fp);
    } else if (pot->kind == SP_POT_SNNP) {
        return sp__write_snnp(pot, fp);
    } else if (pot->kind == SP_POT_MEAM || pot->kind == SP_POT_MEAM_SW) {
        nspl = pot->kind == SP_POT_MEAM ? 5 : 7;
        fprintf(fp, "# %s potential written by splinepot %d.%d.%d (old single-element format)\n",
                pot->kind == SP_POT_MEAM ? "meam/spline" : "meam/sw/spline", SP_VERSION_MAJOR, SP_VERSION_MINOR,
                SP_VERSION_PATCH);
        for (k = 0; k < nspl; ++k) sp__write_meam_spline(fp, m->phi + k, "");
    } else {
        return SP_ERR_UNSUPPORTED;
    }
    return ferror(fp) ? SP_ERR_IO : SP_OK;
}

SP_API sp_result_t sp_uf3_write_table(const sp_pot_t *pot, int a, int b, int npoints, double rlo, FILE *fp,
                                      const char *keyword) {
    const sp_uf3_pair_t *P;
    int k;
    if (!pot || pot->kind != SP_POT_UF3 || !fp || !keyword || a < 0 || b < 0 || a >= pot->nelem ||
        b >= pot->nelem || npoints < 2)
        return SP_ERR_BAD_ARG;
    if (pot->uf3.has3) return SP_ERR_UNSUPPORTED;
    P = pot->uf3.pair + sp_pot_pair_index(pot->nelem, a, b);
    if (!(rlo > 0.0 && rlo < P->cut)) return SP_ERR_BAD_ARG;
    fprintf(fp, "# UF2 pair %s-%s written by splinepot: E = 2 V2(r), F = -dE/dr\n\n%s\nN %d R %.17g %.17g\n\n",
            pot->elem[a], pot->elem[b], keyword, npoints, rlo, P->cut);
    for (k = 0; k < npoints; ++k) {
        double r = (k == npoints - 1) ? P->cut : rlo + (P->cut - rlo) * k / (npoints - 1), d, v;
        v = (r < P->cut) ? sp__uf3_pair_eval(P, r, &d) : (d = 0.0, 0.0);
        fprintf(fp, "%d %.17g %.17g %.17g\n", k + 1, r, 2.0 * v, -2.0 * d);
    }
    return ferror(fp) ? SP_ERR_IO : SP_OK;
}

SP_API sp_result_t sp_pot_write_json(const sp_pot_t *pot, FILE *fp) {
    if (!pot || !fp) return SP_ERR_BAD_ARG;
    return sp__uf3_write_json(pot, fp);
}

static void sp__write_numbers(FILE *fp, const char *key, const double *v, int n) {
    int k;
    fprintf(fp, " %s=\"", key);
    for (k = 0; k < n; ++k) fprintf(fp, k ? " %.17g" : "%.17g", v[k]);
    fputc('"', fp);
}

SP_API void sp_xyz_write_frame(FILE *fp, const sp_frame_t *f, const char *extra) {
    int k;
    fprintf(fp, "%d\n", f->natoms);
    if (f->has_cell) {
        sp__write_numbers(fp, "Lattice", f->cell, 9);
        fputc(' ', fp);
    }
    fprintf(fp, "Properties=species:S:1:pos:R:3%s%s%s", f->forces ? ":forces:R:3" : "",
            f->energies ? ":energies:R:1" : "", f->velocities ? ":vel:R:3" : "");
    if (f->has_energy) fprintf(fp, " energy=%.17g", f->energy);
    if (f->has_stress) sp__write_numbers(fp, "stress", f->stress, 9);
    if (f->has_virial) sp__write_numbers(fp, "virial", f->virial, 9);
    fprintf(fp, " pbc=\"%c %c %c\"", f->pbc[0] ? 'T' : 'F', f->pbc[1] ? 'T' : 'F', f->pbc[2] ? 'T' : 'F');
    if (extra && extra[0]) fprintf(fp, " %s", extra);
    fputc('\n', fp);
    for (k = 0; k < f->natoms; ++k) {
        const double *x = f->pos + 3 * k;
        fprintf(fp, "%-2s %.17g %.17g %.17g", sp_element_symbol(f->z[k]), x[0], x[1], x[2]);
        if (f->forces) fprintf(fp, " %.17g %.17g %.17g", f->forces[3 * k], f->forces[3 * k + 1], f->forces[3 * k + 2]);
        if (f->energies) fprintf(fp, " %.17g", f->energies[k]);
        if (f->velocities)
            fprintf(fp, " %.17g %.17g %.17g", f->velocities[3 * k], f->velocities[3 * k + 1], f->velocities[3 * k + 2]);
        fputc('\n', fp);
    }
}
#endif

/* ==================================================================
 * >>cuda     implementation (fallbacks; the kernels are in splinepot_cuda.cu)
 * ================================================================== */
#if !defined(SPLINEPOT_CUDA) && !defined(SP_CUDA)
SP_API sp_result_t sp_cuda_device_info(int *out_count, char *out_name, size_t name_len) {
    if (out_count) *out_count = 0;
    if (out_name && name_len) out_name[0] = '\0';
    return SP_ERR_NO_CUDA;
}
SP_API const char *sp_cuda_last_error(void) { return sp_result_str(SP_ERR_NO_CUDA); }
SP_API sp_result_t sp_cuda_sv_create(sp_cuda_sv_t **out, const sp_smeam_layout_t *lay, const sp_smeam_sv_t *sv,
                                     int nconf, const double *const *ref_forces, sp_diag_t *diag) {
    (void)lay; (void)sv; (void)nconf; (void)ref_forces;
    if (out) *out = NULL;
    return sp__fail(diag, SP_ERR_NO_CUDA, 0, "%s", sp_result_str(SP_ERR_NO_CUDA));
}
SP_API sp_result_t sp_cuda_sv_eval(sp_cuda_sv_t *g, int P, const double *theta, double *out_energy,
                                   double *out_forces, double *out_force_sse) {
    (void)g; (void)P; (void)theta; (void)out_energy; (void)out_forces; (void)out_force_sse;
    return SP_ERR_NO_CUDA;
}
SP_API void sp_cuda_sv_free(sp_cuda_sv_t *g) { (void)g; }
SP_API sp_result_t sp_cuda_sys_create(sp_cuda_sys_t **out, const sp_pot_t *pot, int natoms, const int *type,
                                      sp_diag_t *diag) {
    (void)pot; (void)natoms; (void)type;
    if (out) *out = NULL;
    return sp__fail(diag, SP_ERR_NO_CUDA, 0, "%s", sp_result_str(SP_ERR_NO_CUDA));
}
SP_API sp_result_t sp_cuda_sys_set_nlist(sp_cuda_sys_t *g, const sp_nlist_t *nl, const double *pos) {
    (void)g; (void)nl; (void)pos;
    return SP_ERR_NO_CUDA;
}
SP_API sp_result_t sp_cuda_sys_build_nlist(sp_cuda_sys_t *g, const sp_cell_t *cell, const double *pos,
                                           double cutoff) {
    (void)g; (void)cell; (void)pos; (void)cutoff;
    return SP_ERR_NO_CUDA;
}
SP_API sp_result_t sp_cuda_sys_get_list(sp_cuda_sys_t *g, size_t *out_entries, int *first, int *nbr, double *vec) {
    (void)g; (void)first; (void)nbr; (void)vec;
    if (out_entries) *out_entries = 0;
    return SP_ERR_NO_CUDA;
}
SP_API sp_result_t sp_cuda_sys_set_positions(sp_cuda_sys_t *g, const double *pos) {
    (void)g; (void)pos;
    return SP_ERR_NO_CUDA;
}
SP_API sp_result_t sp_cuda_sys_compute(sp_cuda_sys_t *g, sp_out_t *out) {
    (void)g; (void)out;
    return SP_ERR_NO_CUDA;
}
SP_API void sp_cuda_sys_free(sp_cuda_sys_t *g) { (void)g; }
SP_API sp_result_t sp_cuda_md_init(sp_cuda_sys_t *g, const double *vel, const double *mass, double mvv2e) {
    (void)g; (void)vel; (void)mass; (void)mvv2e;
    return SP_ERR_NO_CUDA;
}
SP_API sp_result_t sp_cuda_md_drift(sp_cuda_sys_t *g, double dt, double *out_dmax2) {
    (void)g; (void)dt; (void)out_dmax2;
    return SP_ERR_NO_CUDA;
}
SP_API sp_result_t sp_cuda_md_langevin(sp_cuda_sys_t *g, double c1, double kT, uint64_t seed, uint64_t step) {
    (void)g; (void)c1; (void)kT; (void)seed; (void)step;
    return SP_ERR_NO_CUDA;
}
SP_API sp_result_t sp_cuda_md_forces(sp_cuda_sys_t *g, double *out_energy) {
    (void)g; (void)out_energy;
    return SP_ERR_NO_CUDA;
}
SP_API sp_result_t sp_cuda_md_kick(sp_cuda_sys_t *g, double dt, double *out_ke) {
    (void)g; (void)dt; (void)out_ke;
    return SP_ERR_NO_CUDA;
}
SP_API sp_result_t sp_cuda_md_get(sp_cuda_sys_t *g, double *pos, double *vel, double *forces) {
    (void)g; (void)pos; (void)vel; (void)forces;
    return SP_ERR_NO_CUDA;
}
#endif

#endif /* SPLINEPOT_IMPLEMENTATION_DONE */
#endif /* SPLINEPOT_IMPLEMENTATION */

/*
------------------------------------------------------------------------------
MIT License

Copyright (c) 2026 the splinepot authors

Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do
so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
------------------------------------------------------------------------------
*/
