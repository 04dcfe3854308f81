/* splinepot - command-line tool for splinepot.h
 *
 *   splinepot eval POTENTIAL IN.xyz [-o OUT.xyz]
 *   splinepot md POTENTIAL IN.xyz --steps N [--dt fs] [--temp K] [--seed S]
 *                [--thermostat] [--damp fs] [--skin A] [--every N] [--dump OUT.xyz]
 *   splinepot mc POTENTIAL IN.xyz --sweeps N [--temp K] [--step A] [--seed S] [--skin A]
 *                [--swaps F] [--retypes F --mu EL=EV,...] [--every N] [--dump OUT.xyz]
 *   splinepot plot MODEL -o FILE.svg
 *   splinepot convert IN OUT [--points N] [--rlo R] [--element X]
 *   splinepot props POTENTIAL --lattice sc|bcc|fcc|diamond|hcp [--element X] [-o R.json]
 *   splinepot phonons POTENTIAL --lattice sc|bcc|fcc|diamond|hcp [-o BANDS.dat] [--svg B.svg]
 *   splinepot gsfe POTENTIAL --lattice sc|bcc|fcc|diamond [--plane P --slip H,K,L] [-o CURVE.dat]
 *   splinepot fit uf3|smeam|snnp ...
 *   splinepot filters MODEL.snnp DATA.xyz [-o ATOMS.dat]
 *   splinepot rdf TRAJ.xyz [--rmax R] [--bins N] [--skip K] [--ref REF.xyz] [-o RDF.dat]
 *   splinepot msd TRAJ.xyz [--dt PS] [-o MSD.dat]
 *   splinepot bench cells|cmaes|ridge|structvec ...
 *   splinepot demo
 *
 * Errors: exit status 1 and one line "error: FILE:LINE: what" on stderr.
 * Output files are written to a temporary name and renamed on success.
 */
#define _POSIX_C_SOURCE 200809L
#define SPLINEPOT_IMPLEMENTATION
#include "../splinepot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/stat.h>

#include "../examples/sw_silicon.h"
#include "bench_cmaes.c"
#include "bench_ridge.c"

static const char *usage_text =
    "usage: splinepot <command> [options]\n"
    "\n"
    "commands:\n"
    "  eval POTENTIAL IN.xyz [-o OUT.xyz]\n"
    "      energies, forces, per-atom energies and stress of every frame; the\n"
    "      potential format is detected from the file (meam/spline, meam/sw/spline)\n"
    "  md POTENTIAL IN.xyz --steps N [--dt FS] [--temp K] [--seed S] [--thermostat]\n"
    "      [--damp FS] [--skin A] [--every N] [--dump OUT.xyz] [--gpu]\n"
    "      velocity-Verlet NVE (Langevin NVT with --thermostat) on the first frame;\n"
    "      prints the energy drift and, last, 'perf: X us/atom-step'\n"
    "  mc POTENTIAL IN.xyz --sweeps N [--temp K] [--step A] [--seed S] [--skin A] [--swaps F]\n"
    "      [--retypes F --mu EL=EV,...] [--every N] [--dump OUT.xyz]\n"
    "      Metropolis Monte Carlo (N, V, T; semi-grand-canonical with --retypes) with single-atom\n"
    "      moves, swaps and changes of element on the first frame; prints\n"
    "      the mean energy and, last, 'perf: X us/trial'\n"
    "  plot MODEL -o FILE.svg\n"
    "      draws the splines of a potential as SVG\n"
    "  convert IN OUT [--points N] [--rlo R] [--element X]\n"
    "      the potential in OUT's format: .json, .uf3 (UF3), .table (UF2 for LAMMPS pair_style table)\n"
    "  props POTENTIAL --lattice sc|bcc|fcc|diamond|hcp [--element X] [-o R.json]\n"
    "      lattice constant(s), elastic constants, EOS, vacancy, surfaces of a crystal\n"
    "  phonons POTENTIAL --lattice sc|bcc|fcc|diamond|hcp [-o BANDS.dat] [--svg B.svg]\n"
    "      phonon dispersion along a high-symmetry path\n"
    "  gsfe POTENTIAL --lattice sc|bcc|fcc|diamond [--plane P --slip H,K,L] [-o CURVE.dat]\n"
    "      generalized stacking-fault energy curve\n"
    "  melt POTENTIAL --lattice sc|bcc|fcc|diamond|hcp --temp K [--cells NX,NY,NZ] [--hold K]\n"
    "      melting point by solid-liquid coexistence (NPH), or which phase grows at --hold K\n"
    "  rdf TRAJ.xyz [--rmax R] [--bins N] [--skip K] [--ref REF.xyz] [-o RDF.dat]\n"
    "      partial radial distribution functions and coordination numbers of a trajectory\n"
    "  msd TRAJ.xyz [--dt PS] [-o MSD.dat]\n"
    "      mean square displacement of each element and its diffusion coefficient\n"
    "  filters MODEL.snnp DATA.xyz [-o ATOMS.dat]\n"
    "      an s-NNP's filters over a data set: per-element statistics, dE/dG, sensitivities\n"
    "  fit uf3|smeam|snnp --train A.xyz [--test B.xyz] [options] -o MODEL [--report R.json]\n"
    "  bench cells [--cutoff A] [--max N]\n"
    "      neighbour-list build time per atom, 10^3 to 10^6 atoms\n"
    "  bench ridge [--rows N] [--p P]\n"
    "      normal-equation assembly GFLOP/s, against OpenBLAS dsyrk when installed\n"
    "  bench structvec [--nparams P] [--gpu]\n"
    "      s-MEAM structure vectors: 108-atom fcc, 10 000 parameter sets, energies and forces\n"
    "  bench cmaes\n"
    "      CMA-ES on sphere, ellipsoid, Rosenbrock, Rastrigin (IPOP), n = 10, 20, 45\n"
    "  demo\n"
    "      the main job on built-in defaults\n"
    "\n"
    "run 'splinepot <command> --help' for the options of one command\n";

/* ---------------------------------------------------------------- errors */

static int fail_file(const char *file, const sp_diag_t *d, sp_result_t r) {
    if (d && d->line > 0)
        fprintf(stderr, "error: %s:%d: %s\n", file, d->line, d->msg[0] ? d->msg : sp_result_str(r));
    else
        fprintf(stderr, "error: %s: %s\n", file, (d && d->msg[0]) ? d->msg : sp_result_str(r));
    return 1;
}

static int fail_msg(const char *msg) {
    fprintf(stderr, "error: %s\n", msg);
    return 1;
}

/* --gpu: 1 when the CUDA layer (build/splinepot_cuda) has a device, else an error line and 0 */
static int gpu_ready(void) {
    int n = 0;
    char name[256];
    sp_result_t r = sp_cuda_device_info(&n, name, sizeof name);
    if (r == SP_ERR_NO_CUDA) return !fail_msg("built without CUDA");
    if (r != SP_OK || n < 1) return !fail_msg(r != SP_OK ? sp_cuda_last_error() : "no CUDA device");
    fprintf(stderr, "gpu: %s\n", name);
    return 1;
}

static void warn_file(const char *file, const sp_diag_t *d) {
    if (d->warning_line) fprintf(stderr, "warning: %s:%d: %s\n", file, d->warning_line, d->warning);
}

/* ------------------------------------------------------- safe output file */

typedef struct out_file_t {
    FILE *fp;
    char tmp[4096];
    const char *path;
} out_file_t;

static int out_open(out_file_t *o, const char *path) {
    o->path = path;
    if (!path) {
        o->fp = stdout;
        return 1;
    }
    snprintf(o->tmp, sizeof o->tmp, "%s.tmp%ld", path, (long)clock());
    o->fp = fopen(o->tmp, "wb");
    if (!o->fp) fprintf(stderr, "error: %s: cannot write\n", path);
    return o->fp != NULL;
}

/* ok != 0: close and rename; otherwise remove the temporary file (the
   caller has reported why). Only a failure of the write itself is reported here. */
static int out_close(out_file_t *o, int ok) {
    int wrote;
    if (!o->path) {
        fflush(stdout);
        return ok;
    }
    wrote = fclose(o->fp) == 0;
    if (ok && wrote && rename(o->tmp, o->path) == 0) return 1;
    remove(o->tmp);
    if (ok) fprintf(stderr, "error: %s: could not be written\n", o->path);
    return 0;
}

/* ------------------------------------------------------------- arguments */

/* the command-line words a command has looked up as options (and their
   values), so that main can name the ones it never asked for */
enum { OPT_SEEN_MAX = 256 };
static const char *opt_seen[OPT_SEEN_MAX];
static int opt_nseen;

static void opt_mark(const char *word) {
    int k;
    for (k = 0; k < opt_nseen; ++k)
        if (opt_seen[k] == word) return;
    if (opt_nseen < OPT_SEEN_MAX) opt_seen[opt_nseen++] = word;
}

static const char *opt_value(int argc, char **argv, const char *name) {
    int i;
    for (i = 0; i < argc - 1; ++i)
        if (strcmp(argv[i], name) == 0) {
            opt_mark(argv[i]);
            opt_mark(argv[i + 1]);
            return argv[i + 1];
        }
    return NULL;
}

static int opt_flag(int argc, char **argv, const char *name) {
    int i;
    for (i = 0; i < argc; ++i)
        if (strcmp(argv[i], name) == 0) {
            opt_mark(argv[i]);
            return 1;
        }
    return 0;
}

/* after a command that succeeded: a warning for each option word (-x, --xyz,
   not a negative number) it never looked up, a misspelt or misplaced option */
static void opt_warn_unused(int argc, char **argv, const char *cmd) {
    int i, k;
    for (i = 0; i < argc; ++i) {
        const char *w = argv[i];
        int seen = 0;
        if (w[0] != '-' || w[1] == '\0' || (w[1] >= '0' && w[1] <= '9') || w[1] == '.') continue;
        for (k = 0; k < opt_nseen; ++k)
            if (opt_seen[k] == w) seen = 1;
        if (!seen) fprintf(stderr, "warning: %s: option '%s' was not used (misspelt, or not an option of %s?)\n", cmd, w, cmd);
    }
}

static int opt_double(int argc, char **argv, const char *name, double def, double *out) {
    const char *v = opt_value(argc, argv, name);
    char *end;
    if (!v) {
        *out = def;
        return 1;
    }
    *out = strtod(v, &end);
    if (end == v || *end || !(*out - *out == 0.0)) {
        fprintf(stderr, "error: %s needs a number, got '%s'\n", name, v);
        return 0;
    }
    return 1;
}

static int opt_long(int argc, char **argv, const char *name, long def, long *out) {
    const char *v = opt_value(argc, argv, name);
    char *end;
    if (!v) {
        *out = def;
        return 1;
    }
    *out = strtol(v, &end, 10);
    if (end == v || *end) {
        fprintf(stderr, "error: %s needs an integer, got '%s'\n", name, v);
        return 0;
    }
    return 1;
}

/* positional argument k (options with a value are skipped) */
static const char *positional(int argc, char **argv, int k, const char *const *with_value) {
    int i, n = 0;
    for (i = 0; i < argc; ++i) {
        int j, skip = 0;
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            for (j = 0; with_value[j]; ++j)
                if (strcmp(argv[i], with_value[j]) == 0) skip = 1;
            i += skip;
            continue;
        }
        if (n++ == k) return argv[i];
    }
    return NULL;
}

static int tu_exists_quiet(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ------------------------------------------------------ frames and types */

typedef struct frames_t {
    sp_frame_t *f;
    int *line;   /* first line of each frame in its file */
    int n;
} frames_t;

static void frames_free(frames_t *fr) {
    int k;
    for (k = 0; k < fr->n; ++k) sp_frame_free(&fr->f[k]);
    free(fr->f);
    free(fr->line);
    fr->f = NULL;
    fr->line = NULL;
    fr->n = 0;
}

static int read_frames(const char *path, frames_t *out) {
    char *text;
    size_t len, pos = 0;
    int line = 0, cap = 0;
    sp_diag_t diag;
    sp_result_t r;
    memset(&diag, 0, sizeof diag);
    out->f = NULL;
    out->line = NULL;
    out->n = 0;
    if ((r = sp_read_file(path, &text, &len, NULL, &diag)) != SP_OK) return fail_file(path, &diag, r), 0;
    for (;;) {
        sp_frame_t f;
        int first = line + 1;
        memset(&f, 0, sizeof f);
        r = sp_xyz_read_frame(text, len, &pos, &line, &f, &diag);
        if (r == SP_ERR_RANGE) break;
        if (r != SP_OK) {
            free(text);
            frames_free(out);
            return fail_file(path, &diag, r), 0;
        }
        if (out->n == cap) {
            cap = cap ? 2 * cap : 16;
            out->f = (sp_frame_t *)realloc(out->f, (size_t)cap * sizeof(sp_frame_t));
            out->line = (int *)realloc(out->line, (size_t)cap * sizeof(int));
            if (!out->f || !out->line) return free(text), fail_msg("out of memory"), 0;
        }
        out->line[out->n] = first;
        out->f[out->n++] = f;
    }
    free(text);
    if (out->n == 0) {
        fprintf(stderr, "error: %s:1: no frames\n", path);
        return 0;
    }
    return 1;
}

static int load_potential(const char *path, sp_pot_t *pot) {
    sp_diag_t diag;
    sp_result_t r;
    memset(&diag, 0, sizeof diag);
    memset(pot, 0, sizeof *pot);
    r = sp_pot_read_file(pot, path, &diag);
    if (r != SP_OK) return fail_file(path, &diag, r), 0;
    warn_file(path, &diag);
    return 1;
}

/* writes a potential to path (format from the extension), via a temporary file */
static int write_model(const sp_pot_t *pot, const char *path) {
    out_file_t of;
    sp_result_t r;
    if (!out_open(&of, path)) return 0;
    r = sp__ends_with(path, ".json") ? sp_pot_write_json(pot, of.fp) : sp_pot_write(pot, of.fp);
    if (r != SP_OK) fprintf(stderr, "error: %s: %s\n", path, sp_result_str(r));
    return out_close(&of, r == SP_OK);
}

/* types of a frame's atoms in the potential; 0 with an error message */
static int map_types(const sp_pot_t *pot, const char *xyz, int line, const sp_frame_t *f, int *type) {
    int k;
    for (k = 0; k < f->natoms; ++k) {
        type[k] = sp_pot_find_element(pot, sp_element_symbol(f->z[k]));
        if (type[k] < 0) {
            fprintf(stderr, "error: %s:%d: atom %d: element %s is not in the potential\n", xyz, line + 1 + k + 1,
                    k + 1, sp_element_symbol(f->z[k]));
            return 0;
        }
    }
    return 1;
}

static void frame_cell(const sp_frame_t *f, sp_cell_t *c) {
    int d;
    for (d = 0; d < 9; ++d) c->h[d] = f->has_cell ? f->cell[d] : 0.0;
    for (d = 0; d < 3; ++d) c->pbc[d] = f->pbc[d];
}

/* the Voigt components xx yy zz yz xz xy of a row-major 3 x 3 tensor */
static const int VOIGT[6] = {0, 4, 8, 5, 2, 1};

static double cell_volume(const double *h) {
    return fabs(h[0] * (h[4] * h[8] - h[5] * h[7]) - h[1] * (h[3] * h[8] - h[5] * h[6]) +
                h[2] * (h[3] * h[7] - h[4] * h[6]));
}

/* a frame with a reference stress in a cell periodic in all three directions */
static int frame_has_stress(const sp_frame_t *f) {
    return f->has_stress && f->has_cell && f->pbc[0] && f->pbc[1] && f->pbc[2] && cell_volume(f->cell) > 0.0;
}

/* the square of a frame's weight= (1 without one): the factor of its terms in a fit's loss */
static double frame_weight2(const sp_frame_t *f) {
    return f->has_weight ? f->weight * f->weight : 1.0;
}

/* -------------------------------------------------------------------- eval */

static int cmd_eval(int argc, char **argv) {
    static const char *const withv[] = {"-o", NULL};
    const char *potfile = positional(argc, argv, 0, withv), *xyz = positional(argc, argv, 1, withv);
    const char *outpath = opt_value(argc, argv, "-o");
    sp_pot_t pot;
    frames_t fr;
    sp_nlist_t nl;
    sp_work_t ws;
    out_file_t of;
    int k, ok = 1;
    if (opt_flag(argc, argv, "--help") || !potfile || !xyz) {
        fputs("usage: splinepot eval POTENTIAL IN.xyz [-o OUT.xyz]\n"
              "  Writes every frame with energy=, stress= (eV/A^3, ASE sign; periodic cells),\n"
              "  virial= (eV, LAMMPS sign), a forces column and an energies column.\n"
              "  Frames that carry reference energy/forces are compared on stderr.\n",
              potfile && xyz ? stdout : stderr);
        return potfile && xyz ? 0 : 2;
    }
    if (!load_potential(potfile, &pot)) return 1;
    if (!read_frames(xyz, &fr)) return sp_pot_free(&pot), 1;
    memset(&nl, 0, sizeof nl);
    memset(&ws, 0, sizeof ws);
    if (!out_open(&of, outpath)) return sp_pot_free(&pot), frames_free(&fr), 1;
    for (k = 0; k < fr.n && ok; ++k) {
        sp_frame_t *f = &fr.f[k];
        sp_frame_t o = *f;
        int *type = (int *)malloc((size_t)f->natoms * sizeof(int) + 1);
        double *forces = (double *)malloc(3 * (size_t)f->natoms * sizeof(double) + 1);
        double *energies = (double *)malloc((size_t)f->natoms * sizeof(double) + 1);
        sp_cell_t cell;
        sp_out_t res;
        sp_diag_t diag;
        sp_result_t r;
        memset(&diag, 0, sizeof diag);
        memset(&res, 0, sizeof res);
        if (!type || !forces || !energies) ok = fail_msg("out of memory") == 0;
        if (ok) ok = map_types(&pot, xyz, fr.line[k], f, type);
        if (ok) {
            frame_cell(f, &cell);
            r = sp_nlist_build(&nl, &cell, f->pos, f->natoms, pot.cutoff, &diag);
            if (r != SP_OK) {
                fprintf(stderr, "error: %s:%d: frame %d: %s\n", xyz, fr.line[k], k + 1, diag.msg);
                ok = 0;
            }
        }
        if (ok) {
            res.forces = forces;
            res.energies = energies;
            r = sp_pot_compute(&pot, &nl, type, &ws, &res);
            if (r != SP_OK) {
                fprintf(stderr, "error: %s:%d: frame %d: %s%s\n", xyz, fr.line[k], k + 1, sp_result_str(r),
                        r == SP_ERR_NOT_FINITE ? " (the potential overflows for this structure)" : "");
                ok = 0;
            }
        }
        if (ok) {
            int a, full = f->pbc[0] && f->pbc[1] && f->pbc[2] && f->has_cell;
            if (f->has_energy || f->forces || (full && f->has_stress)) {
                double fmax = 0.0, smax = 0.0;
                if (f->forces)
                    for (a = 0; a < 3 * f->natoms; ++a)
                        if (fabs(forces[a] - f->forces[a]) > fmax) fmax = fabs(forces[a] - f->forces[a]);
                for (a = 0; full && f->has_stress && a < 9; ++a) {
                    const double ds = fabs(-res.virial[a] / cell_volume(f->cell) - f->stress[a]);
                    if (ds > smax) smax = ds;
                }
                fprintf(stderr, "frame %d: %d atoms, E = %.12f eV", k + 1, f->natoms, res.energy);
                if (f->has_energy) fprintf(stderr, ", dE vs file = %.3g eV", res.energy - f->energy);
                if (f->forces) fprintf(stderr, ", max |dF| vs file = %.3g eV/A", fmax);
                if (full && f->has_stress) fprintf(stderr, ", max |dstress| vs file = %.3g GPa", SP_EV_A3_TO_GPA * smax);
                fputc('\n', stderr);
            }
            o.energy = res.energy;
            o.has_energy = 1;
            o.forces = forces;
            o.energies = energies;
            memcpy(o.virial, res.virial, sizeof o.virial);
            o.has_virial = 1;
            o.has_stress = full;
            if (full) {
                double v = cell_volume(f->cell);
                for (a = 0; a < 9; ++a) o.stress[a] = -res.virial[a] / v;
            }
            sp_xyz_write_frame(of.fp, &o, f->comment_extra);
        }
        free(type);
        free(forces);
        free(energies);
    }
    ok = out_close(&of, ok);
    sp_work_free(&ws);
    sp_nlist_free(&nl);
    frames_free(&fr);
    sp_pot_free(&pot);
    return ok ? 0 : 1;
}

/* ---------------------------------------------------------------------- md */

#define MVV2E 1.0364269e-4   /* amu A^2/ps^2 -> eV (LAMMPS metal) */
#define BOLTZ 8.617343e-5    /* eV/K (LAMMPS metal) */
#define BAR_PER_EVA3 1.6021765e6 /* eV/A^3 -> bar (LAMMPS metal nktv2p) */

typedef struct rng_t { uint64_t s; } rng_t;

static uint64_t rng_next(rng_t *r) { /* splitmix64 */
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double rng_uniform(rng_t *r) { return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0); }

static double rng_gauss(rng_t *r) {
    double u1 = rng_uniform(r), u2 = rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* adds the lengths |a| |b| |c| (A) and the angles b^c, a^c, a^b (degrees) of cell h to lsum and asum */
static void cell_shape_add(const double *h, double *lsum, double *asum) {
    double len[3];
    int d;
    for (d = 0; d < 3; ++d) {
        len[d] = sqrt(h[3 * d] * h[3 * d] + h[3 * d + 1] * h[3 * d + 1] + h[3 * d + 2] * h[3 * d + 2]);
        lsum[d] += len[d];
    }
    for (d = 0; d < 3; ++d) {
        const double *h1 = h + 3 * ((d + 1) % 3), *h2 = h + 3 * ((d + 2) % 3);
        asum[d] += acos((h1[0] * h2[0] + h1[1] * h2[1] + h1[2] * h2[2]) / (len[(d + 1) % 3] * len[(d + 2) % 3])) *
                   57.29577951308232;
    }
}

/* c = a b (3x3, row-major) */
static void mat3_mul(const double *a, const double *b, double *c) {
    int i, j;
    for (i = 0; i < 3; ++i)
        for (j = 0; j < 3; ++j) c[3 * i + j] = a[3 * i] * b[j] + a[3 * i + 1] * b[3 + j] + a[3 * i + 2] * b[6 + j];
}

/* the tilts b_x, c_x, c_y of a lower-triangular cell h (rows a, b, c) and
   the diagonal element each leans over (b_y, c_z, c_z): mc --tri's moves and
   shear statistics */
static const int cell_tilt[3] = {3, 6, 7}, cell_tilt_over[3] = {4, 8, 8};

/* folds the tilts of a lower-triangular cell h (rows a, b, c) back into
   [-1/2, 1/2] of the diagonal element each leans over, by lattice vectors:
   c -= k b (c_y), c -= k a (c_x), b -= k a (b_x); the same periodic crystal.
   Returns 1 when it changed h. */
static int cell_fold(double *h) {
    static const int tilt[3] = {7, 6, 3}, diag[3] = {4, 0, 0}, from[3] = {2, 2, 1}, by[3] = {1, 0, 0};
    int q, d, changed = 0;
    for (q = 0; q < 3; ++q) {
        const double k = floor(h[tilt[q]] / h[diag[q]] + 0.5);
        if (fabs(h[tilt[q]]) <= 0.5 * fabs(h[diag[q]]) || k == 0.0) continue;
        for (d = 0; d < 3; ++d) h[3 * from[q] + d] -= k * h[3 * by[q] + d];
        changed = 1;
    }
    return changed;
}

/* Mean and standard deviation of the volumes summed in vsum (count, sum,
   sum of squares) and the bulk modulus of their fluctuations, kT <V> /
   <dV^2> in GPa (0 without fluctuations). */
static double volume_stats(const double *vsum, double kt, double *mean, double *sd) {
    const double vm = vsum[1] / vsum[0], var = vsum[2] / vsum[0] - vm * vm;
    *mean = vm;
    *sd = sqrt(var > 0 ? var : 0);
    return var > 0 ? kt * vm / var * SP_EV_A3_TO_GPA : 0.0;
}

/* One step of stochastic cell rescaling (Bernetti & Bussi 2020): the map m
   of the cell (h -> h m, x -> x m) and its inverse mi (v -> v mi), from the
   instantaneous pressure pint or tensor pt (eV/A^3), target p0, kT, volume,
   beta/tau (compressibility over relaxation time, 1/(eV/A^3 ps)), dt (ps).
   mode 0: isotropic, d ln V = (beta/tau)(P - p0 + kT/V) dt + sqrt(2 kT beta
   dt/(V tau)) xi, m = exp(d ln V / 3) I; 1: each axis by its own P_aa, with
   beta/3 so that the volume relaxes at the same rate; 2: the symmetric strain
   e_ab from the whole tensor (mobility halved off the diagonal, where one
   shear moves two components), m = I + e. */
static void cell_strain(int mode, const double *pt, double pint, double p0, double kt, double vol, double bt,
                        double dt, rng_t *rng, double *m, double *mi) {
    int d, e;
    for (d = 0; d < 9; ++d) m[d] = 0.0;
    if (mode == 0) {
        const double de = bt * (pint - p0 + kt / vol) * dt + sqrt(2.0 * kt * bt * dt / vol) * rng_gauss(rng);
        m[0] = m[4] = m[8] = exp(de / 3.0);
    } else if (mode == 1) {
        for (d = 0; d < 3; ++d)
            m[4 * d] = exp(bt / 3.0 * (pt[4 * d] - p0 + kt / vol) * dt + sqrt(2.0 * kt * bt * dt / (3.0 * vol)) * rng_gauss(rng));
    } else {
        for (d = 0; d < 3; ++d)
            for (e = d; e < 3; ++e) {
                const double de = bt / 3.0 * (pt[3 * d + e] - (d == e ? p0 - kt / vol : 0.0)) * dt +
                                  sqrt((d == e ? 2.0 : 1.0) * kt * bt * dt / (3.0 * vol)) * rng_gauss(rng);
                m[3 * d + e] = m[3 * e + d] = (d == e ? 1.0 : 0.0) + de;
            }
    }
    sp__inv3(m, sp__det3(m), mi);
}

static double kinetic(int n, const double *v, const double *mass) {
    double ke = 0.0;
    int i;
    for (i = 0; i < n; ++i) ke += 0.5 * mass[i] * (v[3 * i] * v[3 * i] + v[3 * i + 1] * v[3 * i + 1] + v[3 * i + 2] * v[3 * i + 2]);
    return ke * MVV2E;
}

/* Velocities (A/ps) drawn at temperature temp, without centre-of-mass
   motion, scaled to exactly temp over 3 (n - 1) degrees of freedom. */
static void thermal_velocities(int n, const double *mass, double temp, rng_t *rng, double *v) {
    double vc[3] = {0, 0, 0}, mt = 0.0, ke, s;
    int i, d;
    for (i = 0; i < n; ++i)
        for (d = 0; d < 3; ++d) {
            v[3 * i + d] = rng_gauss(rng) * sqrt(BOLTZ * temp / (mass[i] * MVV2E));
            vc[d] += mass[i] * v[3 * i + d];
        }
    for (i = 0; i < n; ++i) mt += mass[i];
    for (i = 0; i < n; ++i)
        for (d = 0; d < 3; ++d) v[3 * i + d] -= vc[d] / mt;
    ke = kinetic(n, v, mass);
    s = (n > 1 && ke > 0) ? sqrt(1.5 * (n - 1) * BOLTZ * temp / ke) : 0.0;
    for (i = 0; i < 3 * n; ++i) v[i] *= s;
}

/* The first half of a velocity-Verlet step: half kick, drift; then, given an
   rng, BAOAB's O step (Langevin friction c1 = exp(-dt / damp), noise at temp).
   Atoms with held[i] set (held may be NULL) stand still, velocities kept. */
static void md_kick_drift(int n, const double *mass, const double *F, const int *held, double dt, double c1,
                          double temp, rng_t *rng, double *x, double *v) {
    int i, d;
    for (i = 0; i < n; ++i) {
        const double inv_m = 1.0 / (mass[i] * MVV2E);
        if (held && held[i]) continue;
        for (d = 0; d < 3; ++d) {
            v[3 * i + d] += 0.5 * dt * F[3 * i + d] * inv_m;
            x[3 * i + d] += dt * v[3 * i + d];
        }
    }
    for (i = 0; rng && i < n; ++i) { /* BAOAB: the O step between the two position halves is folded here */
        const double sd = sqrt((1.0 - c1 * c1) * BOLTZ * temp / (mass[i] * MVV2E));
        if (held && held[i]) continue;
        for (d = 0; d < 3; ++d) v[3 * i + d] = c1 * v[3 * i + d] + sd * rng_gauss(rng);
    }
}

/* The second half kick of a velocity-Verlet step, held atoms left out */
static void md_kick(int n, const double *mass, const double *F, const int *held, double dt, double *v) {
    int i, d;
    for (i = 0; i < n; ++i) {
        const double inv_m = 1.0 / (mass[i] * MVV2E);
        if (held && held[i]) continue;
        for (d = 0; d < 3; ++d) v[3 * i + d] += 0.5 * dt * F[3 * i + d] * inv_m;
    }
}

static int cmd_md(int argc, char **argv) {
    static const char *const withv[] = {"--steps", "--dt", "--temp", "--seed", "--damp", "--skin",
                                        "--every", "--dump", "--press", "--pdamp", "--bulk", NULL};
    const char *potfile = positional(argc, argv, 0, withv), *xyz = positional(argc, argv, 1, withv);
    const char *dump = opt_value(argc, argv, "--dump");
    long steps, seed, every;
    double dt_fs, temp, damp_fs, skin, dt, e0 = 0.0, emax_dev = 0.0, t_force = 0.0, t_list = 0.0, eq = 0.0, eq_dev = 0.0;
    double press = 0.0, pdamp_fs, bulk, vsum[3] = {0, 0, 0}, psum = 0.0, pdiag[3] = {0, 0, 0}, lsum[3] = {0, 0, 0};
    double csum[3] = {0, 0, 0};
    int thermo = opt_flag(argc, argv, "--thermostat"), gpu = opt_flag(argc, argv, "--gpu");
    int npt = opt_value(argc, argv, "--press") != NULL, aniso = opt_flag(argc, argv, "--aniso");
    int tri = opt_flag(argc, argv, "--tri");
    sp_cuda_sys_t *g = NULL;
    sp_pot_t pot;
    frames_t fr;
    sp_frame_t *f;
    sp_nlist_t nl;
    sp_work_t ws;
    sp_cell_t cell;
    sp_out_t res;
    sp_diag_t diag;
    sp_result_t r;
    int *type = NULL, n, i, d, rebuilds = 0, ok = 1, devlist = gpu;
    double *x = NULL, *v = NULL, *F = NULL, *mass = NULL, vol = 0.0, pint = 0.0, pt[9];
    rng_t rng;
    long step;
    out_file_t of;
    double t0;
    if (opt_flag(argc, argv, "--help") || !potfile || !xyz) {
        fputs("usage: splinepot md POTENTIAL IN.xyz --steps N [--dt FS=1] [--temp K=300] [--seed S=1]\n"
              "       [--thermostat] [--damp FS=100] [--press BAR [--aniso|--tri] [--pdamp FS=1000] [--bulk GPA=100]]\n"
              "       [--skin A=1.0] [--every N=100] [--dump OUT.xyz] [--gpu]\n"
              "  Velocity-Verlet NVE from the first frame (its vel column, else velocities drawn at\n"
              "  --temp, seeded; --dump frames carry vel, so a run can go on from one);\n"
              "  --thermostat adds a Langevin thermostat (BAOAB splitting) at --temp;\n"
              "  --press (with --thermostat, periodic cells) holds the pressure at BAR by isotropic\n"
              "  stochastic cell rescaling (Bernetti & Bussi 2020), relaxation time --pdamp for a\n"
              "  crystal of bulk modulus --bulk, and reports the mean volume and pressure and the\n"
              "  bulk modulus of the volume fluctuations; --aniso: x, y and z scaled each by its own\n"
              "  pressure (P_xx, P_yy, P_zz), so that a non-cubic crystal finds its shape; --tri: the\n"
              "  cell strained by the whole pressure tensor (shears too), so that any cell relaxes.\n"
              "  Prints step, potential, kinetic and total energy, temperature every N steps,\n"
              "  then the total-energy drift and, last, 'perf: X us/atom-step'.\n"
              "  --gpu: forces, integration and neighbour lists on the GPU (build/splinepot_cuda; lists on\n"
              "         the CPU unless the cell is periodic and every height >= 3 (cutoff + skin)).\n",
              potfile && xyz ? stdout : stderr);
        return potfile && xyz ? 0 : 2;
    }
    if (!opt_long(argc, argv, "--steps", 1000, &steps) || !opt_double(argc, argv, "--dt", 1.0, &dt_fs) ||
        !opt_double(argc, argv, "--temp", 300.0, &temp) || !opt_long(argc, argv, "--seed", 1, &seed) ||
        !opt_double(argc, argv, "--damp", 100.0, &damp_fs) || !opt_double(argc, argv, "--skin", 1.0, &skin) ||
        !opt_long(argc, argv, "--every", 100, &every) || !opt_double(argc, argv, "--press", 0.0, &press) ||
        !opt_double(argc, argv, "--pdamp", 1000.0, &pdamp_fs) || !opt_double(argc, argv, "--bulk", 100.0, &bulk))
        return 1;
    if (steps < 0 || !(dt_fs > 0) || temp < 0 || !(damp_fs > 0) || skin < 0 || every < 1)
        return fail_msg("md: --steps >= 0, --dt > 0, --temp >= 0, --damp > 0, --skin >= 0, --every >= 1");
    if (npt && (!thermo || gpu || !(pdamp_fs >= 10.0 * dt_fs) || !(bulk > 0) || !(fabs(press) < 1e9)))
        return fail_msg("md: --press needs --thermostat, no --gpu, --pdamp >= 10 --dt, --bulk > 0 and a finite pressure");
    if ((aniso || tri) && !npt) return fail_msg("md: --aniso and --tri go with --press");
    if (aniso && tri) return fail_msg("md: --aniso or --tri, not both");
    if (gpu && !gpu_ready()) return 1;
    if (!load_potential(potfile, &pot)) return 1;
    if (!read_frames(xyz, &fr)) return sp_pot_free(&pot), 1;
    f = &fr.f[0];
    n = f->natoms;
    dt = dt_fs * 1e-3;
    memset(&nl, 0, sizeof nl);
    memset(&ws, 0, sizeof ws);
    memset(&res, 0, sizeof res);
    memset(&diag, 0, sizeof diag);
    type = (int *)malloc((size_t)n * sizeof(int) + 1);
    x = (double *)malloc(3 * (size_t)n * sizeof(double) + 8);
    v = (double *)malloc(3 * (size_t)n * sizeof(double) + 8);
    F = (double *)malloc(3 * (size_t)n * sizeof(double) + 8);
    mass = (double *)malloc((size_t)n * sizeof(double) + 8);
    if (!type || !x || !v || !F || !mass) ok = !fail_msg("out of memory");
    if (ok) ok = map_types(&pot, xyz, fr.line[0], f, type);
    for (i = 0; ok && i < n; ++i) {
        mass[i] = sp_element_mass(f->z[i]);
        if (!(mass[i] > 0)) ok = !fail_msg("md: atom without a known mass");
    }
    if (ok) {
        memcpy(x, f->pos, 3 * (size_t)n * sizeof(double));
        rng.s = (uint64_t)seed * 0x9E3779B97F4A7C15ULL + 12345;
        if (f->velocities) /* a run goes on from a dumped frame */
            memcpy(v, f->velocities, 3 * (size_t)n * sizeof(double));
        else
            thermal_velocities(n, mass, temp, &rng, v);
        frame_cell(f, &cell);
        if (npt && !(cell.pbc[0] && cell.pbc[1] && cell.pbc[2] && cell_volume(cell.h) > 0))
            ok = !fail_msg("md: --press needs a cell periodic along a, b and c");
    }
    if (ok && dump && !out_open(&of, dump)) ok = 0;
    if (ok && gpu && ((r = sp_cuda_sys_create(&g, &pot, n, type, &diag)) != SP_OK ||
                      (r = sp_cuda_md_init(g, v, mass, MVV2E)) != SP_OK))
        ok = !fail_msg(g ? sp_cuda_last_error() : diag.msg);
    if (ok) {
        double ke;
        double c1 = exp(-dt / (damp_fs * 1e-3));
        t0 = now_seconds();
        for (step = 0; step <= steps && ok; ++step) {
            double dmax2 = 0.0;
            if (step > 0 && gpu) { /* drift (and O step) on the device; only dmax2 comes back */
                r = sp_cuda_md_drift(g, dt, &dmax2);
                if (r == SP_OK && thermo) r = sp_cuda_md_langevin(g, c1, BOLTZ * temp, (uint64_t)seed, (uint64_t)step);
                if (r != SP_OK) {
                    fprintf(stderr, "error: md step %ld: %s\n", step, sp_cuda_last_error());
                    ok = 0;
                    break;
                }
            } else if (step > 0) {
                md_kick_drift(n, mass, F, NULL, dt, c1, temp, thermo ? &rng : NULL, x, v);
            }
            if (step == 0 || (gpu ? 4.0 * dmax2 > skin * skin : sp_nlist_stale(&nl, x, pot.cutoff))) {
                double tl = now_seconds();
                r = SP_ERR_UNSUPPORTED;
                if (devlist) { /* on the device, from its positions (x at step 0) */
                    r = sp_cuda_sys_build_nlist(g, &cell, step == 0 ? x : NULL, pot.cutoff + skin);
                    if (r != SP_OK) snprintf(diag.msg, sizeof diag.msg, "%s", sp_cuda_last_error());
                    if (r == SP_ERR_UNSUPPORTED) fprintf(stderr, "gpu: neighbour lists on the CPU (%s)\n", diag.msg);
                    devlist = r == SP_OK;
                }
                if (r == SP_ERR_UNSUPPORTED) {
                    if (gpu && step > 0) sp_cuda_md_get(g, x, NULL, NULL);
                    r = sp_nlist_build(&nl, &cell, x, n, pot.cutoff + skin, &diag);
                    if (r == SP_OK && gpu && sp_cuda_sys_set_nlist(g, &nl, x) != SP_OK)
                        snprintf(diag.msg, sizeof diag.msg, "%s", sp_cuda_last_error()), r = SP_ERR_DEVICE;
                }
                if (r != SP_OK) {
                    fprintf(stderr, "error: md step %ld: %s\n", step, diag.msg);
                    ok = 0;
                    break;
                }
                ++rebuilds;
                t_list += now_seconds() - tl;
            } else if (!gpu) {
                sp_nlist_update(&nl, x);
            }
            res.forces = F;
            {
                double tf = now_seconds();
                r = gpu ? sp_cuda_md_forces(g, &res.energy) : sp_pot_compute(&pot, &nl, type, &ws, &res);
                t_force += now_seconds() - tf;
            }
            if (r != SP_OK) {
                fprintf(stderr, "error: md step %ld: %s\n", step, sp_result_str(r));
                ok = 0;
                break;
            }
            if (step > 0 && !gpu) md_kick(n, mass, F, NULL, dt, v);
            if (!gpu) ke = kinetic(n, v, mass);
            else if (sp_cuda_md_kick(g, step > 0 ? dt : 0.0, &ke) != SP_OK) {
                fprintf(stderr, "error: md step %ld: %s\n", step, sp_cuda_last_error());
                ok = 0;
                break;
            }
            if (step == 0) e0 = res.energy + ke;
            if (fabs(res.energy + ke - e0) > emax_dev) emax_dev = fabs(res.energy + ke - e0);
            /* after 10 % of the run the kinetic energy has equilibrated */
            if (step == steps / 10) eq = res.energy + ke;
            if (step >= steps / 10 && fabs(res.energy + ke - eq) > eq_dev) eq_dev = fabs(res.energy + ke - eq);
            if (npt) { /* instantaneous pressure, bar (LAMMPS: (2 K + tr W) / 3 V), and its tensor */
                double kab[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
                int e;
                vol = cell_volume(cell.h);
                pint = (2.0 * ke + res.virial[0] + res.virial[4] + res.virial[8]) / (3.0 * vol);
                for (i = 0; i < n; ++i)
                    for (d = 0; d < 3; ++d)
                        for (e = 0; e < 3; ++e) kab[3 * d + e] += mass[i] * v[3 * i + d] * v[3 * i + e];
                for (d = 0; d < 3; ++d)
                    for (e = 0; e < 3; ++e)
                        pt[3 * d + e] = (kab[3 * d + e] * MVV2E + 0.5 * (res.virial[3 * d + e] + res.virial[3 * e + d])) / vol;
                if (step >= steps / 10) {
                    vsum[0] += 1.0;
                    vsum[1] += vol;
                    vsum[2] += vol * vol;
                    psum += pint * BAR_PER_EVA3;
                    for (d = 0; d < 3; ++d) pdiag[d] += pt[4 * d] * BAR_PER_EVA3;
                    cell_shape_add(cell.h, lsum, csum);
                }
            }
            if (step % every == 0 || step == steps) {
                printf("step %8ld  pe %.10f  ke %.10f  etot %.10f  T %.2f K", step, res.energy, ke,
                       res.energy + ke, n > 1 ? 2.0 * ke / (3.0 * (n - 1) * BOLTZ) : 0.0);
                if (npt) printf("  V %.4f A^3  P %.2f bar", vol, pint * BAR_PER_EVA3);
                printf("\n");
                if (dump) {
                    sp_frame_t o = *f;
                    memcpy(o.cell, cell.h, sizeof o.cell);
                    if (gpu) sp_cuda_md_get(g, x, v, F);
                    o.pos = x;
                    o.forces = F;
                    o.velocities = v;
                    o.energies = NULL;
                    o.energy = res.energy;
                    o.has_energy = 1;
                    o.has_stress = o.has_virial = 0;
                    sp_xyz_write_frame(of.fp, &o, NULL);
                }
            }
            if (npt && step < steps) { /* stochastic cell rescaling: h, x by m, v by m^-1 */
                double mm[9], mi[9], dev = 0.0;
                cell_strain(tri ? 2 : aniso, pt, pint, press / BAR_PER_EVA3, BOLTZ * temp, vol,
                            SP_EV_A3_TO_GPA / bulk / (pdamp_fs * 1e-3), dt, &rng, mm, mi);
                for (i = 0; i < 9; ++i) dev = fmax(dev, fabs(mm[i] - (i % 4 == 0 ? 1.0 : 0.0)));
                if (!(dev < 0.05)) { /* a stable barostat changes the cell by 1e-4 per step, not 5 % */
                    fprintf(stderr, "error: md step %ld: the cell changed by %.3g in one step (pressure %.4g bar): "
                            "the barostat is unstable; raise --pdamp or --bulk\n", step, dev, pint * BAR_PER_EVA3);
                    ok = 0;
                    break;
                }
                sp__map3(cell.h, 3, mm);
                sp__map3(x, (size_t)n, mm);
                sp__map3(v, (size_t)n, mi);
                if ((r = sp_nlist_deform(&nl, mm)) != SP_OK) {
                    fprintf(stderr, "error: md step %ld: cell change: %s\n", step, sp_result_str(r));
                    ok = 0;
                    break;
                }
                sp_nlist_update(&nl, x);
            }
        }
        if (ok && gpu) sp_cuda_md_get(g, x, v, F);
        if (ok) {
            double el = now_seconds() - t0, etot = res.energy + kinetic(n, v, mass);
            printf("energy drift: %.3e eV/atom (final - initial), max |E - E0| %.3e eV/atom, %d neighbour builds%s\n",
                   (etot - e0) / n, emax_dev / n, rebuilds, devlist ? " (on the device)" : "");
            printf("energy drift after equilibration (from 10 %% of the run): %.3e eV/atom, max deviation %.3e eV/atom\n",
                   (etot - eq) / n, eq_dev / n);
            if (npt && vsum[0] > 1.0) {
                double vm, sd;
                const double bf = volume_stats(vsum, BOLTZ * temp, &vm, &sd);
                printf("pressure (from 10 %% of the run): %.2f bar (target %.2f), volume %.4f A^3 (std %.4f), "
                       "%.6f A^3/atom, bulk modulus kT <V>/<dV^2> %.2f GPa\n", psum / vsum[0], press, vm, sd, vm / n, bf);
                printf("cell (from 10 %% of the run): |a| %.5f |b| %.5f |c| %.5f A, angles %.4f %.4f %.4f deg, "
                       "pressure xx %.2f yy %.2f zz %.2f bar\n", lsum[0] / vsum[0], lsum[1] / vsum[0], lsum[2] / vsum[0],
                       csum[0] / vsum[0], csum[1] / vsum[0], csum[2] / vsum[0], pdiag[0] / vsum[0], pdiag[1] / vsum[0],
                       pdiag[2] / vsum[0]);
            }
            printf("time: %.3f s total, %.3f s in forces, %.3f s in neighbour lists\n", el, t_force, t_list);
            printf("perf: %.4f us/atom-step\n", 1e6 * el / ((double)n * (double)(steps + 1)));
        }
        if (dump) ok = out_close(&of, ok);
    }
    free(type); free(x); free(v); free(F); free(mass);
    sp_cuda_sys_free(g);
    sp_work_free(&ws);
    sp_nlist_free(&nl);
    frames_free(&fr);
    sp_pot_free(&pot);
    return ok ? 0 : 1;
}

/* ---------------------------------------------------------------------- mc */

/* Metropolis: accepts a change of dw (eV) at kT with probability min(1, exp(-dw / kT)) */
static int metropolis(rng_t *rng, double dw, double kt) { return dw <= 0.0 || rng_uniform(rng) < exp(-dw / kt); }

/* A trial that failed: its error line; returns 0 */
static int mc_fail(long sweep, sp_result_t r, const sp_diag_t *diag) {
    fprintf(stderr, "error: mc sweep %ld: %s\n", sweep, r == SP_ERR_OVERLAP ? diag->msg : sp_result_str(r));
    return 0;
}

/* Metropolis Monte Carlo at constant N, V, T: one atom at a time, moved
   by a uniform step in a cube, or (--swaps F, that fraction of the trials)
   two atoms of different elements exchanged, or (--retypes F) one atom
   given another element at chemical potentials --mu (semi-grand-canonical:
   the acceptance weighs dE - (mu_new - mu_old)); each trial costed by
   sp_pot_move_energy, sp_pot_swap_energy or sp_pot_retype_energy (the
   centres that see the atoms only), accepted with probability
   min(1, exp(-dW / kT)). With --press P, each sweep ends in a volume trial
   (N, P, T): ln V a uniform step, atoms and cell scaled, the list following
   (sp_nlist_deform), one full evaluation, dW = dE + P dV - (N + 1) kT
   ln(V'/V); with --aniso the step scales one Cartesian axis, x, y or z
   at random (the same measure: V^N dV = V^(N+1) d ln L). With --tri the
   cell is kept lower-triangular (a along x, b in the xy plane, LAMMPS's
   form) and a trial changes one of its six elements, the atoms following
   in fractional coordinates: a diagonal one by a uniform step in its log
   (dV/V the same step, so the acceptance above), or a tilt b_x, c_x or c_y
   by a uniform step times the diagonal element it leans over (b_y, c_z),
   which no tilt trial changes, so the steps are symmetric and the volume
   stays: dW = dE. That samples exp(-(E + PV)/kT) V^N over the six
   elements, each with a flat measure; a tilt past half its diagonal
   neighbour's length is folded back by a lattice vector (b - a, c - b,
   c - a: the same crystal). The steps are tuned towards half the trials
   accepted during the first tenth of the sweeps, then held, so that the
   sampling after it is of the Boltzmann distribution. */
static int cmd_mc(int argc, char **argv) {
    static const char *const withv[] = {"--sweeps", "--temp", "--step", "--seed", "--skin", "--every", "--dump",
                                        "--swaps", "--retypes", "--mu", "--press", "--vstep", NULL};
    const char *potfile = positional(argc, argv, 0, withv), *xyz = positional(argc, argv, 1, withv);
    const char *dump = opt_value(argc, argv, "--dump"), *mus = opt_value(argc, argv, "--mu");
    long sweeps, seed, every, sw, neq, nacc = 0, ntry = 0, wacc = 0, wtry = 0, sacc = 0, stry = 0, racc = 0, rtry = 0;
    double temp, step, skin, kt, fswap, fret, mu[SP_MAX_ELEMENTS] = {0}, e, efull = 0.0, smax, sum = 0.0, sum2 = 0.0, t_trials = 0.0, t_full;
    double press, vstep, vol = 0.0, vsum[3] = {0, 0, 0};
    long vacc = 0, vtry = 0, vwacc = 0, vwtry = 0;
    const int npt = opt_value(argc, argv, "--press") != NULL, aniso = opt_flag(argc, argv, "--aniso");
    const int tri = opt_flag(argc, argv, "--tri");
    double lsum[3] = {0, 0, 0}, asum[3] = {0, 0, 0}, gsum[3][2] = {{0, 0}, {0, 0}, {0, 0}}; /* --tri: shears b_x/b_y, c_x/c_z, c_y/c_z */
    sp_pot_t pot;
    frames_t fr;
    sp_frame_t *f;
    sp_nlist_t nl;
    sp_work_t ws;
    sp_cell_t cell;
    sp_out_t res;
    sp_diag_t diag;
    sp_result_t r;
    int *type = NULL, n, rebuilds = 0, ok = 1;
    double *x = NULL, *ea = NULL, *xs = NULL, *eas = NULL;
    rng_t rng;
    out_file_t of;
    if (opt_flag(argc, argv, "--help") || !potfile || !xyz) {
        fputs("usage: splinepot mc POTENTIAL IN.xyz --sweeps N [--temp K=300] [--step A=0.1] [--seed S=1]\n"
              "       [--skin A=1.0] [--swaps F=0] [--retypes F=0 --mu EL=EV,...] [--press BAR [--vstep L=0.01] [--aniso|--tri]]\n"
              "       [--every N=10] [--dump OUT.xyz]\n"
              "  Metropolis Monte Carlo (N, V, T) from the first frame: sweeps of N single-atom trial\n"
              "  moves (uniform in a cube of half-width --step), each costed from the atoms that see\n"
              "  the moved one (sp_pot_move_energy); --swaps F: that fraction of the trials exchanges two\n"
              "  atoms of different elements instead (sp_pot_swap_energy); --retypes F: that fraction\n"
              "  gives one atom another element (sp_pot_retype_energy), accepted on dE - (mu_new - mu_old)\n"
              "  with the chemical potentials --mu (eV; 0 for an element not named); --press: (N, P, T), each\n"
              "  sweep ends in a trial of the volume (a uniform step of at most --vstep in ln V, atoms and\n"
              "  periodic cell scaled; --aniso: along x, y or z, one at random; --tri: one element of the cell,\n"
              "  a diagonal one or a tilt, in LAMMPS's form, a along x and b in the xy plane, so that shears\n"
              "  relax too). The steps are tuned towards 50 % of the trials accepted in the first\n"
              "  10 % of the sweeps, then held. Prints sweep, energy, acceptance and step every N sweeps,\n"
              "  then the mean energy (and volume, with the bulk modulus of its fluctuations) after the tuning,\n"
              "  the running energy against a full evaluation and, last, 'perf: X us/trial'.\n",
              potfile && xyz ? stdout : stderr);
        return potfile && xyz ? 0 : 2;
    }
    if (!opt_long(argc, argv, "--sweeps", 100, &sweeps) || !opt_double(argc, argv, "--temp", 300.0, &temp) ||
        !opt_double(argc, argv, "--step", 0.1, &step) || !opt_long(argc, argv, "--seed", 1, &seed) ||
        !opt_double(argc, argv, "--skin", 1.0, &skin) || !opt_long(argc, argv, "--every", 10, &every) ||
        !opt_double(argc, argv, "--swaps", 0.0, &fswap) || !opt_double(argc, argv, "--retypes", 0.0, &fret) ||
        !opt_double(argc, argv, "--press", 0.0, &press) || !opt_double(argc, argv, "--vstep", 0.01, &vstep))
        return 1;
    if (npt && !(fabs(press) < 1e9 && vstep > 0 && vstep < 0.5))
        return fail_msg("mc: --press needs a finite pressure and 0 < --vstep < 0.5");
    if ((aniso || tri) && !npt) return fail_msg("mc: --aniso and --tri need --press");
    if (aniso && tri) return fail_msg("mc: --aniso or --tri, not both");
    if (sweeps < 1 || !(temp > 0) || !(step > 0) || !(skin > 0) || every < 1 || !(fswap >= 0 && fret >= 0) ||
        !(fswap + fret <= 1))
        return fail_msg("mc: --sweeps >= 1, --temp > 0, --step > 0, --skin > 0, --every >= 1, "
                        "--swaps, --retypes >= 0 and their sum <= 1");
    /* a trial may go half the skin from where its atom was at the last build */
    smax = 0.999 * skin / (2.0 * sqrt(3.0));
    if (step > smax) return fail_msg("mc: --step must stay below --skin / (2 sqrt 3)");
    if (!load_potential(potfile, &pot)) return 1;
    if (!read_frames(xyz, &fr)) return sp_pot_free(&pot), 1;
    f = &fr.f[0];
    n = f->natoms;
    kt = BOLTZ * temp;
    neq = sweeps / 10;
    memset(&nl, 0, sizeof nl);
    memset(&ws, 0, sizeof ws);
    memset(&res, 0, sizeof res);
    memset(&diag, 0, sizeof diag);
    type = (int *)malloc((size_t)n * sizeof(int) + 1);
    x = (double *)malloc(3 * (size_t)n * sizeof(double) + 8);
    ea = (double *)malloc((size_t)n * sizeof(double) + 8);
    if (npt) {
        xs = (double *)malloc(3 * (size_t)n * sizeof(double) + 8);
        eas = (double *)malloc((size_t)n * sizeof(double) + 8);
    }
    if (!type || !x || !ea || (npt && (!xs || !eas))) ok = !fail_msg("out of memory");
    if (ok && n < 1) ok = !fail_msg("mc: the frame has no atoms");
    if (ok) ok = map_types(&pot, xyz, fr.line[0], f, type);
    if (ok && fswap > 0) {
        int k = 1;
        while (k < n && type[k] == type[0]) ++k;
        if (k == n) ok = !fail_msg("mc: --swaps needs atoms of two elements");
    }
    if (ok && fret > 0) {
        int k;
        if (pot.nelem < 2) ok = !fail_msg("mc: --retypes needs a potential of two elements or more");
        for (k = 0; ok && k < pot.nelem; ++k)
            if (sp_element_z(pot.elem[k]) < 1) ok = !fail_msg("mc: --retypes: the potential names an unknown element");
    }
    while (ok && mus && *mus) { /* --mu EL=EV[,EL=EV...] */
        char sym[8], *end;
        size_t len = strcspn(mus, "=,");
        int t;
        if (len == 0 || len >= sizeof sym || mus[len] != '=') {
            ok = !fail_msg("mc: --mu takes EL=EV[,EL=EV...]");
            break;
        }
        memcpy(sym, mus, len);
        sym[len] = 0;
        t = sp_pot_find_element(&pot, sym);
        if (t < 0) {
            fprintf(stderr, "error: mc: --mu: element %s is not in the potential\n", sym);
            ok = 0;
            break;
        }
        mu[t] = strtod(mus + len + 1, &end);
        if (end == mus + len + 1 || (*end && *end != ',') || !sp__isfinite(mu[t])) {
            ok = !fail_msg("mc: --mu takes EL=EV[,EL=EV...]");
            break;
        }
        mus = *end ? end + 1 : end;
    }
    if (ok) {
        memcpy(x, f->pos, 3 * (size_t)n * sizeof(double));
        frame_cell(f, &cell);
        vol = cell_volume(cell.h);
        if (npt && !(cell.pbc[0] && cell.pbc[1] && cell.pbc[2] && vol > 0))
            ok = !fail_msg("mc: --press needs a cell periodic along a, b and c");
        if (ok && tri && !(cell.h[1] == 0.0 && cell.h[2] == 0.0 && cell.h[5] == 0.0)) {
            fprintf(stderr, "error: %s:%d: mc --tri needs the cell in LAMMPS's form, a along x and b in the xy plane "
                            "(Lattice a_y = a_z = b_z = 0)\n", xyz, fr.line[0] + 1);
            ok = 0;
        }
        rng.s = (uint64_t)seed * 0x9E3779B97F4A7C15ULL + 54321;
        res.energies = ea; /* kept up to date by sp_pot_move_accept: each trial evaluates the centres once */
        if ((r = sp_nlist_build(&nl, &cell, x, n, pot.cutoff + skin, &diag)) != SP_OK)
            ok = !fail_file(xyz, &diag, r);
        else if ((r = sp_pot_compute(&pot, &nl, type, &ws, &res)) != SP_OK)
            ok = !fail_msg(sp_result_str(r));
    }
    if (ok && dump && !out_open(&of, dump)) ok = 0;
    press /= BAR_PER_EVA3;
    e = res.energy;
    if (ok) printf("sweep %8d  pe %.10f  (%d atoms, %.1f K, step %.4f A)\n", 0, e, n, temp, step);
    for (sw = 1; ok && sw <= sweeps; ++sw) {
        double t0 = now_seconds();
        long k;
        for (k = 0; k < n && ok; ++k) {
            const int a = (int)(rng_uniform(&rng) * n);
            const double u = fswap + fret > 0 ? rng_uniform(&rng) : 1.0;
            double xn[3], de;
            int d;
            if (u >= fswap && u < fswap + fret) { /* another element for atom a */
                const int t = (type[a] + 1 + (int)(rng_uniform(&rng) * (pot.nelem - 1))) % pot.nelem;
                if ((r = sp_pot_retype_energy(&pot, &nl, type, &ws, a, t, ea, &de)) != SP_OK) {
                    ok = mc_fail(sw, r, &diag);
                    break;
                }
                ++rtry;
                if (metropolis(&rng, de - (mu[t] - mu[type[a]]), kt)) {
                    sp_pot_retype_accept(&ws, type, a, t, ea);
                    f->z[a] = sp_element_z(pot.elem[t]);
                    e += de;
                    ++racc;
                }
                continue;
            }
            if (u < fswap) { /* a swap with an atom of another element */
                int b = a, tries;
                for (tries = 0; tries < 1000 && type[b] == type[a]; ++tries) b = (int)(rng_uniform(&rng) * n);
                if (type[b] == type[a]) continue;
                if ((r = sp_pot_swap_energy(&pot, &nl, type, &ws, a, b, ea, &de)) != SP_OK) {
                    ok = mc_fail(sw, r, &diag);
                    break;
                }
                ++stry;
                if (metropolis(&rng, de, kt)) {
                    const int z = f->z[a];
                    sp_pot_swap_accept(&ws, type, a, b, ea);
                    f->z[a] = f->z[b];
                    f->z[b] = z;
                    e += de;
                    ++sacc;
                }
                continue;
            }
            for (d = 0; d < 3; ++d) xn[d] = x[3 * (size_t)a + d] + step * (2.0 * rng_uniform(&rng) - 1.0);
            r = sp_pot_move_energy(&pot, &nl, type, &ws, a, xn, ea, &de);
            if (r == SP_ERR_RANGE) { /* beyond half the skin: a new list from the current positions */
                r = sp_nlist_build(&nl, &cell, x, n, pot.cutoff + skin, &diag);
                if (r == SP_OK) r = sp_pot_move_energy(&pot, &nl, type, &ws, a, xn, ea, &de);
                ++rebuilds;
            }
            if (r != SP_OK) {
                ok = mc_fail(sw, r, &diag);
                break;
            }
            ++ntry;
            ++wtry;
            if (metropolis(&rng, de, kt)) {
                sp_pot_move_accept(&nl, &ws, a, xn, ea);
                memcpy(x + 3 * (size_t)a, xn, sizeof xn);
                e += de;
                ++nacc;
                ++wacc;
            }
        }
        if (ok && npt) { /* a cell trial: atoms, cell and list mapped by mm, then one full evaluation */
            const double dl = vstep * (2.0 * rng_uniform(&rng) - 1.0), m = exp(aniso ? dl : dl / 3.0);
            double mm[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0}, mi[9], lnv = dl, vn;
            sp_cell_t cn = cell; /* the changed cell */
            int i;
            memcpy(xs, x, 3 * (size_t)n * sizeof(double));
            if (tri) { /* one element of the lower-triangular h; mm = h^-1 h', its inverse mi = h'^-1 h */
                double hi[9], hni[9];
                int k = (int)(rng_uniform(&rng) * 6.0);
                if (k > 5) k = 5;
                if (k < 3) cn.h[4 * k] *= exp(dl);
                else cn.h[cell_tilt[k - 3]] += dl * cell.h[cell_tilt_over[k - 3]], lnv = 0.0;
                sp__inv3(cell.h, sp__det3(cell.h), hi);
                sp__inv3(cn.h, sp__det3(cn.h), hni);
                mat3_mul(hi, cn.h, mm);
                mat3_mul(hni, cell.h, mi);
                sp__map3(x, (size_t)n, mm);
            } else {
                if (aniso) { /* one Cartesian axis */
                    int ax = (int)(rng_uniform(&rng) * 3.0);
                    if (ax > 2) ax = 2;
                    mm[0] = mm[4] = mm[8] = 1.0;
                    mm[4 * ax] = m;
                } else {
                    mm[0] = mm[4] = mm[8] = m;
                }
                for (i = 0; i < 9; ++i) cn.h[i] *= mm[4 * (i % 3)];
                for (i = 0; i < 3 * n; ++i) x[i] *= mm[4 * (i % 3)];
                for (i = 0; i < 9; ++i) mi[i] = i % 4 == 0 ? 1.0 / mm[i] : 0.0;
            }
            vn = vol * exp(lnv);
            r = sp_nlist_deform(&nl, mm);
            if (r == SP_OK) {
                sp_nlist_update(&nl, x);
                if (sp_nlist_stale(&nl, x, pot.cutoff)) { /* the skin is used up: a new list on the scaled cell */
                    r = sp_nlist_build(&nl, &cn, x, n, pot.cutoff + skin, &diag);
                    ++rebuilds;
                }
                res.energies = eas;
                if (r == SP_OK) r = sp_pot_compute(&pot, &nl, type, &ws, &res);
                res.energies = ea;
            }
            if (r != SP_OK) {
                ok = mc_fail(sw, r, &diag);
                break;
            }
            ++vtry;
            ++vwtry;
            if (metropolis(&rng, res.energy - e + press * (vn - vol) - (n + 1) * kt * lnv, kt)) {
                double *tmp = ea;
                cell = cn;
                vol = vn;
                ea = eas;
                eas = tmp;
                e = res.energy;
                ++vacc;
                ++vwacc;
                if (tri && cell_fold(cell.h)) { /* the same crystal, other cell vectors: a new list */
                    if ((r = sp_nlist_build(&nl, &cell, x, n, pot.cutoff + skin, &diag)) != SP_OK) {
                        ok = mc_fail(sw, r, &diag);
                        break;
                    }
                    ++rebuilds;
                }
            } else { /* back: the positions as they were, the list mapped back */
                memcpy(x, xs, 3 * (size_t)n * sizeof(double));
                r = sp_nlist_deform(&nl, mi);
                if (r == SP_OK) sp_nlist_update(&nl, x);
                if (r == SP_OK && sp_nlist_stale(&nl, x, pot.cutoff)) {
                    r = sp_nlist_build(&nl, &cell, x, n, pot.cutoff + skin, &diag);
                    ++rebuilds;
                }
                if (r != SP_OK) {
                    ok = mc_fail(sw, r, &diag);
                    break;
                }
            }
        }
        t_trials += now_seconds() - t0;
        if (!ok) break;
        if (sw <= neq) { /* tuning: towards half the trials accepted, within the skin's limit */
            const double acc = wtry ? (double)wacc / (double)wtry : 0.5, vacc_f = vwtry ? (double)vwacc / vwtry : 0.5;
            if (wtry) step *= acc > 0.5 ? (acc > 0.75 ? 1.5 : 1.1) : (acc < 0.25 ? 0.67 : 0.91);
            if (step > smax) step = smax;
            if (vwtry && sw % 10 == 0) {
                vstep *= vacc_f > 0.5 ? (vacc_f > 0.75 ? 1.5 : 1.1) : (vacc_f < 0.25 ? 0.67 : 0.91);
                if (vstep > 0.2) vstep = 0.2;
                vwacc = vwtry = 0;
            }
            if (sw == neq) nacc = ntry = vacc = vtry = 0;
            wacc = wtry = 0;
        } else {
            sum += e / n;
            sum2 += (e / n) * (e / n);
            vsum[0] += 1.0;
            vsum[1] += vol;
            vsum[2] += vol * vol;
            cell_shape_add(cell.h, lsum, asum);
            if (tri) {
                int q;
                for (q = 0; q < 3; ++q) {
                    const double g = cell.h[cell_tilt[q]] / cell.h[cell_tilt_over[q]];
                    gsum[q][0] += g;
                    gsum[q][1] += g * g;
                }
            }
        }
        if (sw % every == 0 || sw == sweeps) {
            printf("sweep %8ld  pe %.10f  accepted %.3f  step %.4f A", sw, e,
                   ntry ? (double)nacc / (double)ntry : (double)wacc / (double)(wtry ? wtry : 1), step);
            if (npt) printf("  V %.4f A^3", vol);
            printf("\n");
            if (dump) {
                sp_frame_t o = *f;
                memcpy(o.cell, cell.h, sizeof o.cell);
                o.pos = x;
                o.forces = NULL;
                o.energies = NULL;
                o.velocities = NULL;
                o.energy = e;
                o.has_energy = 1;
                o.has_stress = o.has_virial = 0;
                sp_xyz_write_frame(of.fp, &o, NULL);
            }
        }
    }
    if (ok) { /* the running sum against a full evaluation, which also times one */
        double t0 = now_seconds();
        res.energies = NULL;
        sp_nlist_update(&nl, x);
        r = sp_pot_compute(&pot, &nl, type, &ws, &res);
        t_full = now_seconds() - t0;
        efull = res.energy;
        if (r != SP_OK) ok = !fail_msg(sp_result_str(r));
    }
    if (ok) {
        const long np = sweeps - neq;
        const double mean = np > 0 ? sum / np : e / n, var = np > 1 ? (sum2 - sum * sum / np) / (np - 1) : 0.0;
        printf("mean pe %.8f eV/atom over sweeps %ld..%ld (sd of the sweep values %.2e), accepted %.3f, step %.4f A\n",
               mean, neq + 1, sweeps, var > 0 ? sqrt(var) : 0.0, ntry ? (double)nacc / (double)ntry : 0.0, step);
        if (fswap > 0) printf("swaps: %ld accepted of %ld\n", sacc, stry);
        if (npt && vsum[0] > 1.0) {
            double vm, sd;
            const double bf = volume_stats(vsum, kt, &vm, &sd);
            printf("volume (after the tuning, at %.2f bar): %.4f A^3 (std %.4f), %.6f A^3/atom, bulk modulus kT <V>/<dV^2> "
                   "%.2f GPa; %s trials: %ld accepted of %ld, step %.5f in %s\n", press * BAR_PER_EVA3, vm, sd, vm / n,
                   bf, tri ? "cell" : "volume", vacc, vtry, vstep, tri ? "ln h_aa and h_ab / h_bb" : "ln V");
            printf("cell (after the tuning): |a| %.5f |b| %.5f |c| %.5f A, angles %.4f %.4f %.4f deg\n", lsum[0] / vsum[0],
                   lsum[1] / vsum[0], lsum[2] / vsum[0], asum[0] / vsum[0], asum[1] / vsum[0], asum[2] / vsum[0]);
            if (tri) { /* <g^2> = kT S/V for the engineering shear g (S66, S55, S44 of the compliance) */
                double gm[3];
                int q;
                for (q = 0; q < 3; ++q) {
                    const double mg = gsum[q][0] / vsum[0], var = gsum[q][1] / vsum[0] - mg * mg;
                    gm[q] = var > 0 ? kt / (vm * var) * SP_EV_A3_TO_GPA : 0.0;
                }
                printf("shear moduli from the shear fluctuations, kT/(<V> <dg^2>): xy %.2f, xz %.2f, yz %.2f GPa "
                       "(1/S66, 1/S55, 1/S44)\n", gm[0], gm[1], gm[2]);
            }
        }
        if (fret > 0) {
            int t, i;
            printf("changes of element: %ld accepted of %ld; now", racc, rtry);
            for (t = 0; t < pot.nelem; ++t) {
                int c = 0;
                for (i = 0; i < n; ++i) c += type[i] == t;
                printf(" %s %d", pot.elem[t], c);
            }
            printf("\n");
        }
        printf("energy check: running sum %.10f, full evaluation %.10f eV (difference %.2e eV), %d neighbour builds\n",
               e, efull, e - efull, rebuilds + 1);
        printf("time: %.3f s in %ld trials; one full evaluation %.3f ms\n", t_trials, sweeps * (long)n, 1e3 * t_full);
        printf("perf: %.4f us/trial\n", 1e6 * t_trials / ((double)sweeps * (double)n));
    }
    if (dump) ok = out_close(&of, ok);
    free(type);
    free(x);
    free(ea);
    free(xs);
    free(eas);
    sp_work_free(&ws);
    sp_nlist_free(&nl);
    frames_free(&fr);
    sp_pot_free(&pot);
    return ok ? 0 : 1;
}

/* -------------------------------------------------------------------- plot */

typedef struct svg_panel_t {
    double x0, y0, w, h;       /* pixel box */
    double xmin, xmax, ymin, ymax;
} svg_panel_t;

static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
                                      "#e377c2", "#17becf"};

static double px(const svg_panel_t *p, double x) { return p->x0 + (x - p->xmin) / (p->xmax - p->xmin) * p->w; }
static double py(const svg_panel_t *p, double y) { return p->y0 + p->h - (y - p->ymin) / (p->ymax - p->ymin) * p->h; }

static void svg_axes(FILE *fp, const svg_panel_t *p, const char *title, const char *xlabel) {
    int k;
    fprintf(fp, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='none' stroke='#444'/>\n", p->x0, p->y0,
            p->w, p->h);
    fprintf(fp, "<text x='%.1f' y='%.1f' font-size='14' text-anchor='middle'>%s</text>\n", p->x0 + p->w / 2,
            p->y0 - 8, title);
    fprintf(fp, "<text x='%.1f' y='%.1f' font-size='12' text-anchor='middle'>%s</text>\n", p->x0 + p->w / 2,
            p->y0 + p->h + 32, xlabel);
    for (k = 0; k <= 4; ++k) {
        double xv = p->xmin + k * (p->xmax - p->xmin) / 4, yv = p->ymin + k * (p->ymax - p->ymin) / 4;
        fprintf(fp, "<text x='%.1f' y='%.1f' font-size='10' text-anchor='middle'>%.3g</text>\n", px(p, xv),
                p->y0 + p->h + 14, xv);
        fprintf(fp, "<text x='%.1f' y='%.1f' font-size='10' text-anchor='end'>%.3g</text>\n", p->x0 - 4,
                py(p, yv) + 3, yv);
    }
    if (p->ymin < 0 && p->ymax > 0)
        fprintf(fp, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#bbb' stroke-dasharray='3,3'/>\n",
                p->x0, py(p, 0), p->x0 + p->w, py(p, 0));
}

/* draws spline s over [xa, xb] with its knots */
static void svg_spline(FILE *fp, const svg_panel_t *p, const sp_spline_t *s, double xa, double xb,
                       const char *color, const char *label, int row) {
    int k, m = 200;
    fprintf(fp, "<polyline fill='none' stroke='%s' stroke-width='1.6' points='", color);
    for (k = 0; k <= m; ++k) {
        double x = xa + (xb - xa) * k / m, y = sp_spline_eval(s, x, NULL);
        if (y > p->ymax) y = p->ymax;
        if (y < p->ymin) y = p->ymin;
        fprintf(fp, "%.1f,%.1f ", px(p, x), py(p, y));
    }
    fputs("'/>\n", fp);
    for (k = 0; k < s->n; ++k)
        if (s->x[k] >= xa && s->x[k] <= xb && s->y[k] <= p->ymax && s->y[k] >= p->ymin)
            fprintf(fp, "<circle cx='%.1f' cy='%.1f' r='2.5' fill='%s'/>\n", px(p, s->x[k]), py(p, s->y[k]), color);
    if (label)
        fprintf(fp, "<text x='%.1f' y='%.1f' font-size='11' fill='%s' text-anchor='end'>%s</text>\n",
                p->x0 + p->w - 6, p->y0 + 14 + 13 * row, color, label);
}

static void spline_range(const sp_spline_t *s, int n, double xa, double xb, double *ymin, double *ymax) {
    int i, k;
    *ymin = 1e300;
    *ymax = -1e300;
    for (i = 0; i < n; ++i)
        for (k = 0; k <= 200; ++k) {
            double y = sp_spline_eval(s + i, xa + (xb - xa) * k / 200, NULL);
            if (y < *ymin) *ymin = y;
            if (y > *ymax) *ymax = y;
        }
    if (!(*ymax > *ymin)) { *ymin -= 1; *ymax += 1; }
    {
        double pad = 0.06 * (*ymax - *ymin);
        *ymin -= pad;
        *ymax += pad;
    }
}

/* UF3: 2-body curves V2(r) (x2: the pair energy of a bond), and 3-body
   slices V3(r, r, r_jk(theta)) against the bond angle for three bond lengths */
static void plot_uf3(FILE *fp, const sp_pot_t *pot, const char *model) {
    const sp_uf3_t *u = &pot->uf3;
    int ne = pot->nelem, np = ne * (ne + 1) / 2, a, b, k, panel = 0, ntr = u->has3 ? ne * np : 0;
    int npan = 1 + (ntr < 5 ? ntr : 5);
    fprintf(fp, "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' font-family='sans-serif'>\n"
                "<rect width='100%%' height='100%%' fill='white'/>\n"
                "<text x='20' y='24' font-size='16'>%s (UF3)</text>\n",
            3 * 330 + 40, ((npan + 2) / 3) * 290 + 50, model);
    {
        svg_panel_t p;
        double ymin = 1e300, ymax = -1e300, rlo = 1e300, rhi = 0;
        int row = 0;
        for (k = 0; k < np; ++k) {
            if (u->pair[k].t[0] < rlo) rlo = u->pair[k].t[0];
            if (u->pair[k].cut > rhi) rhi = u->pair[k].cut;
        }
        for (k = 0; k < np; ++k)
            for (a = 0; a <= 200; ++a) {
                double r = rlo + (rhi - rlo) * a / 200, d, v = 2.0 * sp__uf3_pair_eval(u->pair + k, r, &d);
                if (r >= u->pair[k].cut) v = 0.0;
                if (v < ymin) ymin = v;
                if (v > ymax) ymax = v;
            }
        if (ymax > 2.0 && ymin < 2.0) ymax = 2.0;
        if (!(ymax > ymin)) ymax = ymin + 1;
        p.x0 = 60; p.y0 = 60; p.w = 260; p.h = 200;
        p.xmin = rlo; p.xmax = rhi; p.ymin = ymin - 0.06 * (ymax - ymin); p.ymax = ymax + 0.06 * (ymax - ymin);
        svg_axes(fp, &p, "pair energy 2 V2(r) [eV]", "r [A]");
        for (a = 0; a < ne; ++a)
            for (b = a; b < ne; ++b) {
                const sp_uf3_pair_t *P = u->pair + sp_pot_pair_index(ne, a, b);
                char label[32];
                int q;
                snprintf(label, sizeof label, "%s-%s", pot->elem[a], pot->elem[b]);
                fprintf(fp, "<polyline fill='none' stroke='%s' stroke-width='1.6' points='", palette[row % 8]);
                for (q = 0; q <= 300; ++q) {
                    double r = rlo + (P->cut - rlo) * q / 300, d, v = 2.0 * sp__uf3_pair_eval(P, r, &d);
                    if (v > p.ymax) v = p.ymax;
                    if (v < p.ymin) v = p.ymin;
                    fprintf(fp, "%.1f,%.1f ", px(&p, r), py(&p, v));
                }
                fputs("'/>\n", fp);
                fprintf(fp, "<text x='%.1f' y='%.1f' font-size='11' fill='%s' text-anchor='end'>%s</text>\n",
                        p.x0 + p.w - 6, p.y0 + 14 + 13 * row, palette[row % 8], label);
                ++row;
            }
        panel = 1;
    }
    for (k = 0; k < ntr && panel < npan; ++k, ++panel) {
        const sp_uf3_trio_t *T = u->trio + k;
        svg_panel_t p;
        double rs[3], lo = T->t[0][0], hi = T->t[0][T->nt[0] - 1], ymin = 1e300, ymax = -1e300;
        char title[64];
        int c = k / np, na, nb, q, m;
        sp__pair_elements(ne, k % np, &na, &nb);
        for (q = 0; q < 3; ++q) rs[q] = lo + (hi - lo) * (0.25 + 0.2 * q);
        for (q = 0; q < 3; ++q)
            for (m = 0; m <= 120; ++m) {
                double th = (40.0 + 140.0 * m / 120) * 3.141592653589793 / 180, rjk = 2 * rs[q] * sin(th / 2), bl[4], bm[4], bn[4], dl, dm, dn;
                double v = 0.0;
                int il = sp_bspline_basis_fast(&T->bs[0], rs[q], bl, NULL), im = sp_bspline_basis_fast(&T->bs[1], rs[q], bm, NULL);
                int in = sp_bspline_basis_fast(&T->bs[2], rjk, bn, NULL);
                double z4[4] = {0, 0, 0, 0};
                if (il >= 0 && im >= 0 && in >= 0) v = sp__uf3_trio_eval(T, il, bl, z4, im, bm, z4, in, bn, z4, &dl, &dm, &dn);
                if (v < ymin) ymin = v;
                if (v > ymax) ymax = v;
            }
        if (!(ymax > ymin)) { ymin -= 1; ymax += 1; }
        p.x0 = 60 + (panel % 3) * 330; p.y0 = 60 + (panel / 3) * 290; p.w = 260; p.h = 200;
        p.xmin = 40; p.xmax = 180; p.ymin = ymin - 0.06 * (ymax - ymin); p.ymax = ymax + 0.06 * (ymax - ymin);
        snprintf(title, sizeof title, "V3 %s: %s-%s, r_ij = r_ik [eV]", pot->elem[c], pot->elem[na], pot->elem[nb]);
        svg_axes(fp, &p, title, "angle jik [degrees]");
        for (q = 0; q < 3; ++q) {
            char label[32];
            fprintf(fp, "<polyline fill='none' stroke='%s' stroke-width='1.6' points='", palette[q]);
            for (m = 0; m <= 120; ++m) {
                double deg = 40.0 + 140.0 * m / 120, th = deg * 3.141592653589793 / 180, rjk = 2 * rs[q] * sin(th / 2);
                double bl[4], bm[4], bn[4], dl, dm, dn, v = 0.0, z4[4] = {0, 0, 0, 0};
                int il = sp_bspline_basis_fast(&T->bs[0], rs[q], bl, NULL), im = sp_bspline_basis_fast(&T->bs[1], rs[q], bm, NULL);
                int in = sp_bspline_basis_fast(&T->bs[2], rjk, bn, NULL);
                if (il >= 0 && im >= 0 && in >= 0) v = sp__uf3_trio_eval(T, il, bl, z4, im, bm, z4, in, bn, z4, &dl, &dm, &dn);
                fprintf(fp, "%.1f,%.1f ", px(&p, deg), py(&p, v));
            }
            fputs("'/>\n", fp);
            snprintf(label, sizeof label, "r = %.2f A", rs[q]);
            fprintf(fp, "<text x='%.1f' y='%.1f' font-size='11' fill='%s' text-anchor='end'>%s</text>\n",
                    p.x0 + p.w - 6, p.y0 + 14 + 13 * q, palette[q], label);
        }
    }
    fputs("</svg>\n", fp);
}

static int plot_snnp(FILE *fp, const sp_pot_t *pot, const char *model); /* fit_snnp.c */

static int cmd_plot(int argc, char **argv) {
    static const char *const withv[] = {"-o", NULL};
    const char *model = positional(argc, argv, 0, withv), *outpath = opt_value(argc, argv, "-o");
    sp_pot_t pot;
    out_file_t of;
    const sp_meam_t *m;
    int ne, np, panel = 0, k, a, b;
    const char *names[7];
    const sp_spline_t *sets[7];
    int counts[7], npan;
    if (opt_flag(argc, argv, "--help") || !model || !outpath) {
        fputs("usage: splinepot plot MODEL -o FILE.svg\n"
              "  One panel per spline kind (s-MEAM: phi, rho, U, f, g; meam/sw: also F, G),\n"
              "  one curve per element or element pair, knots as dots.\n",
              model && outpath ? stdout : stderr);
        return model && outpath ? 0 : 2;
    }
    if (!load_potential(model, &pot)) return 1;
    if (pot.kind == SP_POT_UF3) {
        if (!out_open(&of, outpath)) return sp_pot_free(&pot), 1;
        plot_uf3(of.fp, &pot, model);
        sp_pot_free(&pot);
        return out_close(&of, 1) ? 0 : 1;
    }
    if (pot.kind == SP_POT_SNNP) {
        if (!out_open(&of, outpath)) return sp_pot_free(&pot), 1;
        k = plot_snnp(of.fp, &pot, model);
        sp_pot_free(&pot);
        return out_close(&of, k) ? 0 : 1;
    }
    m = &pot.meam;
    ne = pot.nelem;
    np = ne * (ne + 1) / 2;
    names[0] = "phi(r) [eV]"; sets[0] = m->phi; counts[0] = np;
    names[1] = "rho(r)"; sets[1] = m->rho; counts[1] = ne;
    names[2] = "U(n) [eV]"; sets[2] = m->U; counts[2] = ne;
    names[3] = "f(r)"; sets[3] = m->f; counts[3] = ne;
    names[4] = "g(cos theta)"; sets[4] = m->g; counts[4] = np;
    npan = 5;
    if (pot.kind == SP_POT_MEAM_SW) {
        names[5] = "F(r)"; sets[5] = m->F; counts[5] = 1;
        names[6] = "G(cos theta)"; sets[6] = m->G; counts[6] = 1;
        npan = 7;
    }
    if (!out_open(&of, outpath)) return sp_pot_free(&pot), 1;
    fprintf(of.fp, "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' font-family='sans-serif'>\n"
                   "<rect width='100%%' height='100%%' fill='white'/>\n"
                   "<text x='20' y='24' font-size='16'>%s</text>\n",
            3 * 330 + 40, ((npan + 2) / 3) * 290 + 50, model);
    for (panel = 0; panel < npan; ++panel) {
        svg_panel_t p;
        double xa = 1e300, xb = -1e300;
        int row = 0;
        for (k = 0; k < counts[panel]; ++k) {
            if (sets[panel][k].xmin < xa) xa = sets[panel][k].xmin;
            if (sets[panel][k].xmax > xb) xb = sets[panel][k].xmax;
        }
        if (panel == 2 || panel == 4 || panel == 6) { /* U and g: show a margin of extrapolation */
            double w = xb - xa;
            xa -= 0.1 * w;
            xb += 0.1 * w;
        } else {
            xb = pot.cutoff;
        }
        p.x0 = 60 + (panel % 3) * 330;
        p.y0 = 60 + (panel / 3) * 290;
        p.w = 260;
        p.h = 200;
        p.xmin = xa;
        p.xmax = xb;
        spline_range(sets[panel], counts[panel], xa, xb, &p.ymin, &p.ymax);
        if (panel == 0 && p.ymax > 5.0 && p.ymin < 5.0) p.ymax = 5.0; /* repulsive wall off the scale */
        svg_axes(of.fp, &p, names[panel], (panel == 2) ? "n" : (panel == 4 || panel == 6) ? "cos theta" : "r [A]");
        for (k = 0; k < counts[panel]; ++k) {
            char label[32];
            label[0] = '\0';
            if (ne > 1) {
                if (counts[panel] == np && panel != 1) {
                    sp__pair_elements(ne, k, &a, &b);
                    snprintf(label, sizeof label, "%s-%s", pot.elem[a], pot.elem[b]);
                } else {
                    snprintf(label, sizeof label, "%s", pot.elem[k]);
                }
            }
            svg_spline(of.fp, &p, &sets[panel][k], xa, xb, palette[k % 8], label[0] ? label : NULL, row++);
        }
    }
    fputs("</svg>\n", of.fp);
    sp_pot_free(&pot);
    return out_close(&of, 1) ? 0 : 1;
}

/* splinepot convert IN OUT: the potential IN written in the format of OUT's
   extension; a UF2 model also as a LAMMPS pair_style table, with the
   LAMMPS lines that use it printed */
static int cmd_convert(int argc, char **argv) {
    static const char *const withv[] = {"--points", "--rlo", "--element", NULL};
    const char *in = positional(argc, argv, 0, withv), *outpath = positional(argc, argv, 1, withv);
    const char *el = opt_value(argc, argv, "--element");
    const char *const kinds[5] = {"", "meam/spline", "meam/sw/spline", "UF3", "s-NNP"};
    long points;
    double rlo;
    sp_pot_t pot;
    out_file_t of;
    sp_result_t r = SP_OK;
    int table, json, a, b, ok;
    if (opt_flag(argc, argv, "--help") || !in || !outpath) {
        fputs("usage: splinepot convert IN OUT [--points N=20000] [--rlo R] [--element X]\n"
              "  Writes the potential IN in the format OUT's name ends with:\n"
              "    .json             uf3 JSON model (UF3)\n"
              "    .uf3              LAMMPS pair_style uf3 (UF3)\n"
              "    .table            LAMMPS pair_style table, one section per element pair (UF3 without\n"
              "                      3-body terms), N points from R (default: the pair's first knot) to\n"
              "                      its cutoff; prints the pair_style and pair_coeff lines to use\n"
              "    anything else     the potential's own format (meam/spline, meam/sw/spline, s-NNP)\n"
              "  --element X names the element of a file that names none (the old meam/spline format):\n"
              "  the output is then a meam/spline file in the multi-element format, naming it.\n",
              in && outpath ? stdout : stderr);
        return in && outpath ? 0 : 2;
    }
    if (!opt_long(argc, argv, "--points", 20000, &points) || !opt_double(argc, argv, "--rlo", 0.0, &rlo)) return 2;
    if (points < 2 || points > 10000000 || rlo < 0.0) return fail_msg("convert: --points 2..1e7, --rlo >= 0");
    if (!load_potential(in, &pot)) return 1;
    if (el && (!sp_element_z(el) || strlen(el) > 3)) {
        fprintf(stderr, "error: --element: unknown element '%s'\n", el);
        return sp_pot_free(&pot), 1;
    }
    if (el && (pot.kind != SP_POT_MEAM || pot.nelem != 1 || pot.elem[0][0])) {
        fprintf(stderr, "error: %s: --element is for a meam/spline file that names no element; this one is a %s "
                        "potential of %s\n", in, kinds[pot.kind], pot.nelem == 1 ? pot.elem[0] : "several elements");
        return sp_pot_free(&pot), 1;
    }
    if (el) snprintf(pot.elem[0], sizeof pot.elem[0], "%s", el);
    table = sp__ends_with(outpath, ".table");
    json = sp__ends_with(outpath, ".json");
    if ((table || json || sp__ends_with(outpath, ".uf3")) && pot.kind != SP_POT_UF3) {
        fprintf(stderr, "error: %s: a %s potential cannot be written as %s\n", in, kinds[pot.kind],
                table ? "a table" : json ? "uf3 JSON" : "a LAMMPS uf3 file");
        return sp_pot_free(&pot), 1;
    }
    if (table && pot.uf3.has3) {
        fprintf(stderr, "error: %s: a UF3 model with 3-body terms has no pair_style table form (UF2 only)\n", in);
        return sp_pot_free(&pot), 1;
    }
    if (!table) {
        ok = write_model(&pot, outpath);
        if (ok) printf("%s: %s potential, %d element(s), written to %s\n", in, kinds[pot.kind], pot.nelem, outpath);
        sp_pot_free(&pot);
        return ok ? 0 : 1;
    }
    for (a = 0; a < pot.nelem; ++a) /* --rlo past a pair's cutoff: said before any file is opened */
        for (b = a; b < pot.nelem; ++b) {
            const sp_uf3_pair_t *P = pot.uf3.pair + sp_pot_pair_index(pot.nelem, a, b);
            if (rlo > 0.0 && !(rlo < P->cut)) {
                fprintf(stderr, "error: --rlo %g is not below the %s-%s cutoff %g\n", rlo, pot.elem[a], pot.elem[b], P->cut);
                return sp_pot_free(&pot), 1;
            }
        }
    if (!out_open(&of, outpath)) return sp_pot_free(&pot), 1;
    for (a = 0; a < pot.nelem && r == SP_OK; ++a)
        for (b = a; b < pot.nelem && r == SP_OK; ++b) {
            const sp_uf3_pair_t *P = pot.uf3.pair + sp_pot_pair_index(pot.nelem, a, b);
            char key[16];
            snprintf(key, sizeof key, "%s_%s", pot.elem[a], pot.elem[b]);
            r = sp_uf3_write_table(&pot, a, b, (int)points, rlo > 0.0 ? rlo : P->t[0], of.fp, key);
            if (r == SP_OK) fputc('\n', of.fp);
        }
    if (r != SP_OK) fprintf(stderr, "error: %s: %s\n", outpath, sp_result_str(r));
    ok = out_close(&of, r == SP_OK);
    if (ok) {
        printf("# LAMMPS, atom types in this order:");
        for (a = 0; a < pot.nelem; ++a) printf(" %s", pot.elem[a]);
        printf("\npair_style table spline %ld\n", points);
        for (a = 0; a < pot.nelem; ++a)
            for (b = a; b < pot.nelem; ++b)
                printf("pair_coeff %d %d %s %s_%s %.17g\n", a + 1, b + 1, outpath, pot.elem[a], pot.elem[b],
                       pot.uf3.pair[sp_pot_pair_index(pot.nelem, a, b)].cut);
        printf("# the one-body energies are not in the table: add, per atom,");
        for (a = 0; a < pot.nelem; ++a) printf(" %s %.17g%s", pot.elem[a], pot.uf3.e1[a], a + 1 < pot.nelem ? "," : "");
        printf(" eV to LAMMPS's energy\n");
    }
    sp_pot_free(&pot);
    return ok ? 0 : 1;
}

/* ------------------------------------------------------------------- props */

/* s as a JSON string */
static void json_string(FILE *fp, const char *s) {
    fputc('"', fp);
    for (; *s; ++s) {
        const unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(fp, "\\%c", c);
        else if (c < 0x20) fprintf(fp, "\\u%04x", c);
        else fputc(c, fp);
    }
    fputc('"', fp);
}

/* The lines of the report both lattices share. */
static void props_print_eos(double b0, double bp, double rms, double v0, double range) {
    printf("EOS B0      %14.4f GPa     Birch-Murnaghan, volumes V0 (1 +- %g)\n", b0, range);
    printf("EOS B0'     %14.4f         (fit rms %.2g eV/atom, V0 %.6f A^3/atom)\n", bp, rms, v0);
}

static void props_print_hop(const char *what, double em, double em_low, int converged) {
    printf("E_m         %14.6f eV      %s, CI-NEB, 5 images%s\n", em, what,
           converged == 2 ? " (band not converged: its highest image refined to the saddle by the dimer method)"
           : converged   ? ""
                         : " (not converged: the highest image of the last band)");
    if (em_low < -1e-4)
        printf("# the hop passes a state %.4f eV below the relaxed vacancy: E_m is no barrier between equivalent minima\n",
               -em_low);
}

static void props_print_surface(const char *name, double g, int atoms, double g_unrel) {
    printf("E_surf(%s) %*.6f J/m^2   %d-atom slab, relaxed (unrelaxed %.6f)\n", name, (int)(18 - strlen(name)), g, atoms,
           g_unrel);
}

static void props_json_head(FILE *fp, const char *model, const char *lattice, double strain, double a0, double e0,
                            double v0) {
    fputs("{\n  \"potential\": ", fp);
    json_string(fp, model);
    fprintf(fp, ",\n  \"lattice\": \"%s\",\n  \"strain\": %.17g,\n", lattice, strain);
    fprintf(fp, "  \"a0_A\": %.17g,\n  \"e0_eV_per_atom\": %.17g,\n  \"v0_A3_per_atom\": %.17g,\n", a0, e0, v0);
}

/* "name_GPa": value and "name_clamped_GPa": value for each named constant */
static void props_json_constants(FILE *fp, int n, const char *const *names, const double *relaxed, const double *clamped) {
    int k;
    for (k = 0; k < n; ++k) fprintf(fp, "  \"%s_GPa\": %.17g,\n", names[k], relaxed[k]);
    for (k = 0; k < n; ++k) fprintf(fp, "  \"%s_clamped_GPa\": %.17g,\n", names[k], clamped[k]);
}

static void props_json_eos_c(FILE *fp, double range, double v0, double e0, double b0, double bp, double rms, const double *c) {
    int i, k;
    fprintf(fp, "  \"eos\": {\"range\": %.17g, \"v0_A3_per_atom\": %.17g, \"e0_eV_per_atom\": %.17g, \"b0_GPa\": %.17g, "
                "\"b0_prime\": %.17g, \"rms_eV_per_atom\": %.17g},\n",
            range, v0, e0, b0, bp, rms);
    fputs("  \"c_GPa\": [", fp);
    for (i = 0; i < 6; ++i) {
        fputs(i ? ",\n            [" : "[", fp);
        for (k = 0; k < 6; ++k) fprintf(fp, "%s%.17g", k ? ", " : "", c[6 * i + k]);
        fputc(']', fp);
    }
    fputs("],\n", fp);
}

/* "key": {"name": value, ...} for the n surfaces */
static void props_json_surfaces(FILE *fp, const char *key, int n, const char *const *names, const double *g) {
    int k;
    fprintf(fp, "  \"%s\": {", key);
    for (k = 0; k < n; ++k) fprintf(fp, "%s\"%s\": %.17g", k ? ", " : "", names[k], g[k]);
    fputs("},\n", fp);
}

/* The lattice named by --lattice (1 sc, 2 bcc, 3 fcc, 4 diamond, 5 hcp when
   allowed), or 0 after an error message. */
static const char *const lattice_names[6] = {"", "sc", "bcc", "fcc", "diamond", "hcp"};

static int lattice_arg(const char *lat, int with_hcp) {
    int L;
    for (L = 1; L <= 4 + with_hcp && strcmp(lat, lattice_names[L]) != 0; ++L) {}
    if (L <= 4 + with_hcp) return L;
    fprintf(stderr, "error: --lattice must be %s, got '%s'\n", with_hcp ? "sc, bcc, fcc, diamond or hcp" : "sc, bcc, fcc or diamond",
            lat);
    return 0;
}

/* The zero-stress lattice constant a (and c/a for hcp, L = 5) of element
   type unless given (nonzero; hcp takes both or neither); 0 after an error
   message. */
static int zero_stress(const char *model, const sp_pot_t *pot, int type, int L, double *a, double *ca) {
    sp_props_opts_t pro;
    sp_diag_t diag;
    sp_result_t r;
    if (L == 5 && (*a != 0.0) != (*ca != 0.0)) return !fail_msg("hcp: give --a and --c-a together, or neither");
    if (*a != 0.0) return 1;
    memset(&pro, 0, sizeof pro);
    memset(&diag, 0, sizeof diag);
    pro.vacancy_size = pro.slab_periods = -1;
    if (L == 5) {
        sp_hcp_props_t ph;
        r = sp_hcp_props(pot, type, &pro, &ph, &diag);
        *a = ph.a0;
        *ca = ph.c_a;
    } else {
        sp_cubic_props_t pc;
        r = sp_cubic_props(pot, type, (sp_lattice_t)L, &pro, &pc, &diag);
        *a = pc.a0;
    }
    if (r == SP_OK) return 1;
    fail_file(model, &diag, r);
    return 0;
}

/* Loads a potential and picks its element: el by name, else the only one. */
/* the type of element el (--element) in a loaded potential, or its only
   element when el is NULL; 0 with an error message */
static int element_type(const char *model, const char *el, const sp_pot_t *pot, int *type) {
    *type = el ? sp_pot_find_element(pot, el) : 0;
    if (!el && pot->nelem > 1) return !fail_msg("the potential has several elements: name one with --element");
    if (*type < 0) {
        fprintf(stderr, "error: %s: no element '%s'\n", model, el);
        return 0;
    }
    return 1;
}

static int potential_element(const char *model, const char *el, sp_pot_t *pot, int *type) {
    if (!load_potential(model, pot)) return 0;
    if (element_type(model, el, pot, type)) return 1;
    sp_pot_free(pot);
    return 0;
}

static int cmd_props(int argc, char **argv) {
    static const char *const withv[] = {"--lattice", "--element", "--a", "--c-a", "--strain", "--eos-range", "--fmax",
                                        "--vacancy", "--slab", "-o", NULL};
    static const char *const cubic_c[4] = {"b", "c11", "c12", "c44"};
    static const char *const hcp_c[7] = {"b", "c11", "c12", "c13", "c33", "c44", "c66"};
    static const char *const cubic_s[3] = {"100", "110", "111"}, *const hcp_s[2] = {"0001", "10-10"};
    const char *model = positional(argc, argv, 0, withv), *lat = opt_value(argc, argv, "--lattice");
    const char *el = opt_value(argc, argv, "--element"), *outpath = opt_value(argc, argv, "-o");
    sp_props_opts_t po;
    sp_cubic_props_t pr;
    sp_hcp_props_t ph;
    sp_pot_t pot;
    sp_diag_t diag;
    sp_result_t r;
    out_file_t of;
    char elname[4];
    double t0;
    long vac, slab;
    int L, type = 0, k;
    if (opt_flag(argc, argv, "--help") || !model || !lat) {
        fputs("usage: splinepot props POTENTIAL --lattice sc|bcc|fcc|diamond|hcp [--element X] [--a A]\n"
              "                       [--c-a Q] [--strain S] [--eos-range R] [--fmax F] [--vacancy N]\n"
              "                       [--slab K] [-o R.json]\n"
              "  zero-pressure lattice constant (hcp: and c/a), Birch-Murnaghan EOS, relaxed- and\n"
              "  clamped-ion elastic constants (cubic C11, C12, C44; hcp C11, C12, C13, C33, C44, C66)\n"
              "  and B, the vacancy formation energy (N x N x N cells, atoms relaxed at fixed cell;\n"
              "  N = 0: the smallest cell >= 100 atoms and 2 cutoffs wide, N < 0: none) with its\n"
              "  migration energy (CI-NEB; hcp: within and out of the basal plane), and the surface\n"
              "  energies, cubic (100), (110), (111), hcp (0001), (10-10) (slabs K periods thick;\n"
              "  0: >= 3 cutoffs, < 0: none)\n",
              opt_flag(argc, argv, "--help") ? stdout : stderr);
        return opt_flag(argc, argv, "--help") ? 0 : 2;
    }
    if (!(L = lattice_arg(lat, 1))) return 1;
    memset(&po, 0, sizeof po);
    if (!opt_double(argc, argv, "--a", 0.0, &po.a_guess) || !opt_double(argc, argv, "--c-a", 0.0, &po.c_a_guess) ||
        !opt_double(argc, argv, "--strain", 1e-5, &po.strain) ||
        !opt_double(argc, argv, "--eos-range", 0.05, &po.eos_range) ||
        !opt_double(argc, argv, "--fmax", 1e-8, &po.relax.fmax) || !opt_long(argc, argv, "--vacancy", 0, &vac) ||
        !opt_long(argc, argv, "--slab", 0, &slab))
        return 1;
    if (vac > 20 || vac < -1) return fail_msg("--vacancy must be -1 .. 20");
    if (slab > 50 || slab < -1) return fail_msg("--slab must be -1 .. 50");
    if (po.c_a_guess != 0.0 && (L != 5 || !(po.c_a_guess >= 1.0 && po.c_a_guess <= 2.5)))
        return fail_msg("--c-a is for --lattice hcp, in 1 .. 2.5");
    po.vacancy_size = (int)vac;
    po.slab_periods = (int)slab;
    if (!potential_element(model, el, &pot, &type)) return 1;
    memcpy(elname, pot.elem[type], sizeof elname);
    memset(&diag, 0, sizeof diag);
    t0 = now_seconds();
    r = L == 5 ? sp_hcp_props(&pot, type, &po, &ph, &diag) : sp_cubic_props(&pot, type, (sp_lattice_t)L, &po, &pr, &diag);
    sp_pot_free(&pot);
    if (r != SP_OK) return fail_file(model, &diag, r);
    printf("# %s: %s %s (finite strain %g; atoms relaxed to %g eV/A)\n", model, lattice_names[L], el ? el : elname,
           po.strain, po.relax.fmax);
    if (L == 5) {
        const double cr[7] = {ph.b, ph.c11, ph.c12, ph.c13, ph.c33, ph.c44, ph.c66};
        const double cc[7] = {0.0, ph.c11_clamped, ph.c12_clamped, ph.c13_clamped, ph.c33_clamped, ph.c44_clamped,
                              ph.c66_clamped};
        printf("a0          %14.8f A       zero stress\n", ph.a0);
        printf("c0          %14.8f A       c/a %.8f\n", ph.c0, ph.c_a);
        printf("E0          %14.8f eV/atom\n", ph.e0);
        printf("V0          %14.8f A^3/atom\n", ph.v0);
        printf("B           %14.4f GPa     hydrostatic, c/a free\n", ph.b);
        for (k = 1; k < 7; ++k) printf("C%s         %14.4f GPa     relaxed ions (clamped %.4f)\n", hcp_c[k] + 1, cr[k], cc[k]);
        props_print_eos(ph.eos_b, ph.eos_bp, ph.eos_rms, ph.eos_v0, po.eos_range);
        if (ph.vac_atoms) {
            printf("E_vf        %14.6f eV      %d-atom cell, constant volume, relaxed\n", ph.evf, ph.vac_atoms);
            props_print_hop("hop within the basal plane", ph.em[0], ph.em_low[0], ph.em_converged[0]);
            props_print_hop("hop to the next basal plane", ph.em[1], ph.em_low[1], ph.em_converged[1]);
        }
        for (k = 0; k < 2; ++k)
            if (ph.slab_atoms[k]) props_print_surface(hcp_s[k], ph.esurf[k], ph.slab_atoms[k], ph.esurf_unrelaxed[k]);
        printf("# hexagonal symmetry of C: largest departure %.2g GPa; %d force evaluations in relaxations; %.2f s\n",
               ph.hex_dev, ph.relax_steps, now_seconds() - t0);
        if (!outpath) return 0;
        if (!out_open(&of, outpath)) return 1;
        props_json_head(of.fp, model, lattice_names[L], po.strain, ph.a0, ph.e0, ph.v0);
        fprintf(of.fp, "  \"c0_A\": %.17g,\n  \"c_over_a\": %.17g,\n", ph.c0, ph.c_a);
        fprintf(of.fp, "  \"b_GPa\": %.17g,\n", ph.b);
        props_json_constants(of.fp, 6, hcp_c + 1, cr + 1, cc + 1);
        props_json_eos_c(of.fp, po.eos_range, ph.eos_v0, ph.eos_e0, ph.eos_b, ph.eos_bp, ph.eos_rms, ph.c);
        if (ph.vac_atoms)
            fprintf(of.fp, "  \"evf_eV\": %.17g,\n  \"vacancy_atoms\": %d,\n  \"em_basal_eV\": %.17g,\n"
                           "  \"em_basal_lowest_image_eV\": %.17g,\n  \"em_basal_converged\": %s,\n"
                           "  \"em_nonbasal_eV\": %.17g,\n  \"em_nonbasal_lowest_image_eV\": %.17g,\n"
                           "  \"em_nonbasal_converged\": %s,\n  \"em_basal_by_dimer\": %s,\n  \"em_nonbasal_by_dimer\": %s,\n",
                    ph.evf, ph.vac_atoms, ph.em[0], ph.em_low[0], ph.em_converged[0] ? "true" : "false", ph.em[1],
                    ph.em_low[1], ph.em_converged[1] ? "true" : "false", ph.em_converged[0] == 2 ? "true" : "false",
                    ph.em_converged[1] == 2 ? "true" : "false");
        if (ph.slab_atoms[0]) {
            props_json_surfaces(of.fp, "surface_J_per_m2", 2, hcp_s, ph.esurf);
            props_json_surfaces(of.fp, "surface_unrelaxed_J_per_m2", 2, hcp_s, ph.esurf_unrelaxed);
        }
        fprintf(of.fp, "  \"relax_force_evaluations\": %d\n}\n", ph.relax_steps);
    } else {
        const double cr[4] = {pr.b, pr.c11, pr.c12, pr.c44}, cc[4] = {0.0, pr.c11_clamped, pr.c12_clamped, pr.c44_clamped};
        printf("a0          %14.8f A       zero pressure\n", pr.a0);
        printf("E0          %14.8f eV/atom\n", pr.e0);
        printf("V0          %14.8f A^3/atom\n", pr.v0);
        printf("B           %14.4f GPa     (C11 + 2 C12) / 3\n", pr.b);
        for (k = 1; k < 4; ++k) printf("C%s         %14.4f GPa     relaxed ions (clamped %.4f)\n", cubic_c[k] + 1, cr[k], cc[k]);
        props_print_eos(pr.eos_b, pr.eos_bp, pr.eos_rms, pr.eos_v0, po.eos_range);
        if (pr.vac_atoms) {
            printf("E_vf        %14.6f eV      %d-atom cell, constant volume, relaxed\n", pr.evf, pr.vac_atoms);
            props_print_hop("nearest-neighbour hop", pr.em, pr.em_low, pr.em_converged);
        }
        for (k = 0; k < 3; ++k)
            if (pr.slab_atoms[k]) props_print_surface(cubic_s[k], pr.esurf[k], pr.slab_atoms[k], pr.esurf_unrelaxed[k]);
        printf("# cubic symmetry of C: largest departure %.2g GPa; %d force evaluations in relaxations; %.2f s\n",
               pr.cubic_dev, pr.relax_steps, now_seconds() - t0);
        if (!outpath) return 0;
        if (!out_open(&of, outpath)) return 1;
        props_json_head(of.fp, model, lattice_names[L], po.strain, pr.a0, pr.e0, pr.v0);
        fprintf(of.fp, "  \"b_GPa\": %.17g,\n", pr.b);
        props_json_constants(of.fp, 3, cubic_c + 1, cr + 1, cc + 1);
        props_json_eos_c(of.fp, po.eos_range, pr.eos_v0, pr.eos_e0, pr.eos_b, pr.eos_bp, pr.eos_rms, pr.c);
        if (pr.vac_atoms)
            fprintf(of.fp, "  \"evf_eV\": %.17g,\n  \"vacancy_atoms\": %d,\n  \"em_eV\": %.17g,\n  \"em_lowest_image_eV\": %.17g,\n"
                           "  \"em_converged\": %s,\n  \"em_by_dimer\": %s,\n",
                    pr.evf, pr.vac_atoms, pr.em, pr.em_low, pr.em_converged ? "true" : "false",
                    pr.em_converged == 2 ? "true" : "false");
        if (pr.slab_atoms[0]) {
            props_json_surfaces(of.fp, "surface_J_per_m2", 3, cubic_s, pr.esurf);
            props_json_surfaces(of.fp, "surface_unrelaxed_J_per_m2", 3, cubic_s, pr.esurf_unrelaxed);
        }
        fprintf(of.fp, "  \"relax_force_evaluations\": %d\n}\n", pr.relax_steps);
    }
    return out_close(&of, !ferror(of.fp)) ? 0 : 1;
}

/* -------------------------------------------------------------------- gsfe */

static int cmd_gsfe(int argc, char **argv) {
    static const char *const withv[] = {"--lattice", "--element", "--a", "--c-a", "--plane", "--slip", "--points",
                                        "--slab", "-o", NULL};
    static const char *const cubic_planes[3] = {"100", "110", "111"}, *const hcp_planes[3] = {"0001", "10-10", ""};
    static const double slips[6][3] = {{0, 0, 0}, {0, 1, 0}, {.5, -.5, .5}, {.5, .5, -1}, {.5, .5, -1}, {0, -1.7320508075688772, 0}};
    static const int plane_of[6] = {0, 0, 1, 2, 2, 0};
    const char *model = positional(argc, argv, 0, withv), *lat = opt_value(argc, argv, "--lattice");
    const char *el = opt_value(argc, argv, "--element"), *outpath = opt_value(argc, argv, "-o");
    const char *pl = opt_value(argc, argv, "--plane"), *sl = opt_value(argc, argv, "--slip");
    double a = 0.0, ca = 0.0, slip[3], *u = NULL, *g = NULL, *gu = NULL;
    const char *const *planes;
    long points, slab;
    int L, plane, type = 0, k, ok = 1, nplanes;
    sp_props_opts_t po;
    sp_pot_t pot;
    sp_diag_t diag;
    sp_result_t r;
    if (opt_flag(argc, argv, "--help") || !model || !lat) {
        fputs("usage: splinepot gsfe POTENTIAL --lattice sc|bcc|fcc|diamond|hcp [--element X] [--a A] [--c-a Q]\n"
              "                      [--plane 100|110|111|0001|10-10] [--slip X,Y,Z] [--points N] [--slab K]\n"
              "                      [-o CURVE.dat]\n"
              "  generalized stacking-fault energy: the upper half of a slab of the plane moved by t (X Y Z) a\n"
              "  (cubic: along the cube axes; hcp: x along a, y along [01-10], z along c), t = 0 .. 1 in N - 1\n"
              "  steps (default 25 points), unrelaxed and with the atoms relaxed along the normal; defaults fcc,\n"
              "  diamond (111)[11-2] over the period (a/2)[11-2] (the intrinsic fault at t = 1/3 in fcc;\n"
              "  diamond: the shuffle plane), bcc (110)[1-11] over (a/2)[1-11], sc (100)[010], hcp (0001)[0-110]\n"
              "  over the period a sqrt 3 (0,-1.7320508075688772,0; the I2 fault at t = 1/3); hcp (10-10)\n"
              "  needs --slip, e.g. 1,0,0 for [2-1-10]; slab K periods of the plane thick (default >= 4\n"
              "  cutoffs); a (and c/a) at zero stress unless given (hcp: --a and --c-a together)\n",
              opt_flag(argc, argv, "--help") ? stdout : stderr);
        return opt_flag(argc, argv, "--help") ? 0 : 2;
    }
    if (!(L = lattice_arg(lat, 1))) return 1;
    planes = L == 5 ? hcp_planes : cubic_planes;
    nplanes = L == 5 ? 2 : 3;
    plane = plane_of[L];
    memcpy(slip, slips[L], sizeof slip);
    if (pl) {
        for (plane = 0; plane < nplanes && strcmp(pl, planes[plane]) != 0; ++plane) {}
        if (plane == nplanes) return fail_msg(L == 5 ? "--plane must be 0001 or 10-10" : "--plane must be 100, 110 or 111");
    }
    if (sl) {
        char end;
        if (sscanf(sl, "%lf,%lf,%lf%c", slip, slip + 1, slip + 2, &end) != 3 || !(fabs(slip[0]) + fabs(slip[1]) + fabs(slip[2]) < 1e3))
            return fail_msg("--slip must be three numbers X,Y,Z (units of a)");
    } else if (pl && plane != plane_of[L]) {
        return fail_msg("give --slip with a --plane other than the lattice's default");
    }
    if (!opt_double(argc, argv, "--a", 0.0, &a) || !opt_double(argc, argv, "--c-a", 0.0, &ca) ||
        !opt_long(argc, argv, "--points", 25, &points) || !opt_long(argc, argv, "--slab", 0, &slab))
        return 1;
    if (points < 2 || points > 10000 || slab < 0 || slab > 50 || !(a >= 0.0 && a < 1e3) ||
        (ca != 0.0 && (L != 5 || !(ca >= 1.0 && ca <= 2.5))))
        return fail_msg("--points must be 2 .. 10000, --slab 0 .. 50, --a positive; --c-a is for hcp, in 1 .. 2.5");
    if (!potential_element(model, el, &pot, &type)) return 1;
    if (!zero_stress(model, &pot, type, L, &a, &ca)) {
        sp_pot_free(&pot);
        return 1;
    }
    memset(&diag, 0, sizeof diag);
    memset(&po, 0, sizeof po);
    po.slab_periods = (int)slab;
    u = (double *)malloc(3 * (size_t)points * sizeof(double));
    if (!u) {
        sp_pot_free(&pot);
        return fail_msg("out of memory");
    }
    g = u + points;
    gu = g + points;
    r = sp_gsfe(&pot, type, (sp_lattice_t)L, a, ca * a, plane, slip, (int)points, &po, u, g, gu, &diag);
    sp_pot_free(&pot);
    if (r != SP_OK) {
        free(u);
        return fail_file(model, &diag, r);
    }
    printf("# %s: %s a = %.8f A", model, lattice_names[L], a);
    if (L == 5) printf(", c/a = %.8f", ca);
    printf(", (%s) plane, slip t (%g %g %g) a; J/m^2\n# t        u (A)    unrelaxed      relaxed\n", planes[plane], slip[0],
           slip[1], slip[2]);
    for (k = 0; k < points; ++k) {
        const int lmin = k > 0 && k + 1 < points && g[k] < g[k - 1] && g[k] < g[k + 1];
        printf("%.4f %9.5f %12.6f %12.6f%s\n", k / (double)(points - 1), u[k], gu[k], g[k], lmin ? "   local minimum" : "");
    }
    {
        int kmax = 0;
        for (k = 1; k < points; ++k)
            if (g[k] > g[kmax]) kmax = k;
        printf("# highest (unstable fault): %.6f J/m^2 at t = %.4f\n", g[kmax], kmax / (double)(points - 1));
    }
    if (outpath) {
        out_file_t of;
        if (!out_open(&of, outpath)) ok = 0;
        else {
            fprintf(of.fp, "# %s %s a=%.17g c=%.17g plane=(%s) slip=%.17g,%.17g,%.17g\n"
                    "# t u_A gamma_unrelaxed_J_per_m2 gamma_J_per_m2\n",
                    model, lattice_names[L], a, ca * a, planes[plane], slip[0], slip[1], slip[2]);
            for (k = 0; k < points; ++k)
                fprintf(of.fp, "%.17g %.17g %.17g %.17g\n", k / (double)(points - 1), u[k], gu[k], g[k]);
            ok = out_close(&of, !ferror(of.fp));
        }
    }
    free(u);
    return ok ? 0 : 1;
}

/* ----------------------------------------------------------------- phonons */

/* A high-symmetry path of the lattice: labels and points, Cartesian 1/A. */
static int phonon_path(int L, double a, double c, const char **lab, double *pt) {
    static const char *const fccl[6] = {"G", "X", "W", "K", "G", "L"}, *const bccl[6] = {"G", "H", "N", "G", "P", "H"};
    static const char *const scl[6] = {"G", "X", "M", "G", "R", "X"}, *const hcpl[5] = {"G", "M", "K", "G", "A"};
    static const double fcc[18] = {0, 0, 0, 0, 1, 0, .5, 1, 0, .75, .75, 0, 0, 0, 0, .5, .5, .5};
    static const double bcc[18] = {0, 0, 0, 0, 0, 1, .5, .5, 0, 0, 0, 0, .5, .5, .5, 0, 0, 1};
    static const double sc[18] = {0, 0, 0, 0, .5, 0, .5, .5, 0, 0, 0, 0, .5, .5, .5, 0, .5, 0};
    const double tp = 6.283185307179586 / a;
    const char *const *l = L == 5 ? hcpl : L == 2 ? bccl : L == 1 ? scl : fccl;
    const double *p = L == 2 ? bcc : L == 1 ? sc : fcc;
    const int n = L == 5 ? 5 : 6;
    int k;
    for (k = 0; k < n; ++k) lab[k] = l[k];
    if (L == 5) { /* b1 = (2 pi / a)(1, 1/sqrt 3, 0), b2 = (2 pi / a)(0, 2/sqrt 3, 0), b3 = (2 pi / c) z */
        const double hk[15] = {0, 0, 0, .5, 0.28867513459481287, 0, 1.0 / 3.0, 0.5773502691896258, 0, 0, 0, 0, 0, 0, 0};
        for (k = 0; k < 15; ++k) pt[k] = hk[k] * tp;
        pt[14] = 0.5 * 6.283185307179586 / c;
        return n;
    }
    for (k = 0; k < 18; ++k) pt[k] = p[k] * tp;
    return n;
}

static int cmd_phonons(int argc, char **argv) {
    static const char *const withv[] = {"--lattice", "--element", "--mass", "--a", "--c-a", "--points",
                                        "--displacement", "-o", "--svg", NULL};
    const char *model = positional(argc, argv, 0, withv), *lat = opt_value(argc, argv, "--lattice");
    const char *el = opt_value(argc, argv, "--element"), *outpath = opt_value(argc, argv, "-o");
    const char *svgpath = opt_value(argc, argv, "--svg");
    const char *lab[6];
    char elname[4];
    double a = 0.0, c = 0.0, ca = 0.0, pos[6], mass[2], pt[18], *q = NULL, *f = NULL, *dist = NULL, fmin = 0.0, fmax = 0.0;
    int type[2], L, n, nseg, np, i, k, m, ok = 1;
    long points;
    sp_phonon_opts_t po;
    sp_cell_t cell;
    sp_pot_t pot;
    sp_diag_t diag;
    sp_result_t r;
    if (opt_flag(argc, argv, "--help") || !model || !lat) {
        fputs("usage: splinepot phonons POTENTIAL --lattice sc|bcc|fcc|diamond|hcp [--element X] [--mass M]\n"
              "                         [--a A] [--c-a Q] [--points N] [--displacement D] [-o BANDS.dat]\n"
              "                         [--svg B.svg]\n"
              "  phonon dispersion along a high-symmetry path of the primitive cell (fcc, diamond:\n"
              "  G-X-W-K-G-L; bcc: G-H-N-G-P-H; sc: G-X-M-G-R-X; hcp: G-M-K-G-A), N points per segment\n"
              "  (default 40), at the zero-stress lattice constants (or as given; hcp: --a and --c-a\n"
              "  together); force constants from finite displacements D (default 0.001 A) in a\n"
              "  supercell twice the reach of the potential wide; the element's mass unless --mass\n"
              "  (amu). BANDS.dat: path length (1/A), q (1/A), frequencies (THz)\n",
              opt_flag(argc, argv, "--help") ? stdout : stderr);
        return opt_flag(argc, argv, "--help") ? 0 : 2;
    }
    if (!(L = lattice_arg(lat, 1))) return 1;
    memset(&po, 0, sizeof po);
    if (!opt_double(argc, argv, "--a", 0.0, &a) || !opt_double(argc, argv, "--c-a", 0.0, &ca) ||
        !opt_long(argc, argv, "--points", 40, &points) || !opt_double(argc, argv, "--displacement", 0.001, &po.displacement) ||
        !opt_double(argc, argv, "--mass", 0.0, &mass[0]))
        return 1;
    if (!(mass[0] >= 0.0 && mass[0] < 1e4) || !(po.displacement > 0.0 && po.displacement < 0.1))
        return fail_msg("--mass must be positive (amu), --displacement in (0, 0.1) A");
    if (points < 2 || points > 10000) return fail_msg("--points must be 2 .. 10000");
    if (!(a >= 0.0 && a < 1e3) || (ca != 0.0 && (L != 5 || !(ca >= 1.0 && ca <= 2.5))))
        return fail_msg("--a must be positive; --c-a is for --lattice hcp, in 1 .. 2.5");
    if (!potential_element(model, el, &pot, &type[0])) return 1;
    memset(&diag, 0, sizeof diag);
    if (!zero_stress(model, &pot, type[0], L, &a, &ca)) {
        sp_pot_free(&pot);
        return 1;
    }
    c = ca * a;
    n = sp_lattice_primitive((sp_lattice_t)L, a, c, pos, &cell);
    type[1] = type[0];
    memcpy(elname, pot.elem[type[0]], sizeof elname);
    if (!elname[0] && el) snprintf(elname, sizeof elname, "%s", el); /* a meam/spline file names no element */
    if (mass[0] == 0.0) mass[0] = sp_element_mass(sp_element_z(elname));
    mass[1] = mass[0];
    if (!(mass[0] > 0.0)) {
        sp_pot_free(&pot);
        return fail_msg("no mass: the potential names no known element (give --element X or --mass M)");
    }
    nseg = phonon_path(L, a, c, lab, pt) - 1;
    np = nseg * (int)points + 1;
    q = (double *)malloc(3 * (size_t)np * sizeof(double));
    dist = (double *)malloc((size_t)np * sizeof(double));
    f = (double *)malloc(3 * (size_t)n * np * sizeof(double));
    if (!q || !dist || !f) {
        free(q); free(dist); free(f);
        sp_pot_free(&pot);
        return fail_msg("out of memory");
    }
    for (i = 0, m = 0; i < nseg; ++i)
        for (k = (i > 0); k <= points; ++k, ++m) {
            int d;
            for (d = 0; d < 3; ++d) q[3 * m + d] = pt[3 * i + d] + (pt[3 * i + 3 + d] - pt[3 * i + d]) * k / (double)points;
            dist[m] = m == 0 ? 0.0 : dist[m - 1] + sqrt((q[3 * m] - q[3 * m - 3]) * (q[3 * m] - q[3 * m - 3]) +
                                                        (q[3 * m + 1] - q[3 * m - 2]) * (q[3 * m + 1] - q[3 * m - 2]) +
                                                        (q[3 * m + 2] - q[3 * m - 1]) * (q[3 * m + 2] - q[3 * m - 1]));
        }
    r = sp_phonons(&pot, n, pos, type, &cell, mass, np, q, &po, f, &diag);
    sp_pot_free(&pot);
    if (r != SP_OK) {
        free(q); free(dist); free(f);
        return fail_file(model, &diag, r);
    }
    printf("# %s: %s %s, a = %.8f A, mass %.4f amu; displacement %g A\n", model, lattice_names[L], elname, a, mass[0],
           po.displacement);
    if (L == 5) printf("# c = %.8f A (c/a %.8f)\n", c, ca);
    printf("# frequencies (THz) at the path's points%s\n", n == 1 ? "" : "; imaginary ones as negative");
    for (i = 0; i <= nseg; ++i) {
        const double *fi = f + 3 * (size_t)n * (size_t)(i * points);
        printf("%-2s", lab[i]);
        for (k = 0; k < 3 * n; ++k) printf(" %10.5f", fi[k]);
        putchar('\n');
    }
    for (k = 0; k < 3 * n * np; ++k) {
        if (f[k] < fmin) fmin = f[k];
        if (f[k] > fmax) fmax = f[k];
    }
    if (fmin < -1e-3) printf("# unstable: the lowest frequency is %.4f THz (imaginary)\n", fmin);
    if (outpath) {
        out_file_t of;
        if (!out_open(&of, outpath)) ok = 0;
        else {
            fprintf(of.fp, "# %s %s a=%.17g c=%.17g; path", model, lattice_names[L], a, c);
            for (i = 0; i <= nseg; ++i) fprintf(of.fp, " %s@%.17g", lab[i], dist[i * points]);
            fputs("\n# distance_1/A qx qy qz (1/A, phase exp(i q.r)) then frequencies (THz)\n", of.fp);
            for (m = 0; m < np; ++m) {
                fprintf(of.fp, "%.17g %.17g %.17g %.17g", dist[m], q[3 * m], q[3 * m + 1], q[3 * m + 2]);
                for (k = 0; k < 3 * n; ++k) fprintf(of.fp, " %.17g", f[3 * (size_t)n * m + k]);
                fputc('\n', of.fp);
            }
            ok = out_close(&of, !ferror(of.fp));
        }
    }
    if (ok && svgpath) {
        out_file_t of;
        svg_panel_t P = {70, 40, 640, 400, 0, 0, 0, 0};
        P.xmax = dist[np - 1];
        P.ymin = fmin < -1e-3 ? 1.05 * fmin : 0.0;
        P.ymax = 1.08 * fmax;
        if (!out_open(&of, svgpath)) ok = 0;
        else {
            fputs("<svg xmlns='http://www.w3.org/2000/svg' width='760' height='500' font-family='sans-serif'>\n", of.fp);
            fprintf(of.fp, "<rect x='%.1f' y='%.1f' width='%.1f' height='%.1f' fill='none' stroke='#444'/>\n", P.x0, P.y0, P.w,
                    P.h);
            fprintf(of.fp, "<text x='%.1f' y='%.1f' font-size='14' text-anchor='middle'>phonons: %s %s</text>\n",
                    P.x0 + P.w / 2, P.y0 - 10, lattice_names[L], model);
            fprintf(of.fp, "<text x='20' y='%.1f' font-size='12' transform='rotate(-90 20 %.1f)' text-anchor='middle'>"
                           "frequency (THz)</text>\n", P.y0 + P.h / 2, P.y0 + P.h / 2);
            for (k = 0; k <= 4; ++k) {
                const double yv = P.ymin + k * (P.ymax - P.ymin) / 4;
                fprintf(of.fp, "<text x='%.1f' y='%.1f' font-size='10' text-anchor='end'>%.3g</text>\n", P.x0 - 4,
                        py(&P, yv) + 3, yv);
            }
            for (i = 0; i <= nseg; ++i) {
                const double xv = px(&P, dist[i * points]);
                fprintf(of.fp, "<line x1='%.1f' y1='%.1f' x2='%.1f' y2='%.1f' stroke='#bbb'/>\n", xv, P.y0, xv, P.y0 + P.h);
                fprintf(of.fp, "<text x='%.1f' y='%.1f' font-size='12' text-anchor='middle'>%s</text>\n", xv,
                        P.y0 + P.h + 16, strcmp(lab[i], "G") == 0 ? "&#915;" : lab[i]);
            }
            for (k = 0; k < 3 * n; ++k) {
                fprintf(of.fp, "<polyline fill='none' stroke='%s' stroke-width='1.4' points='", palette[k % 8]);
                for (m = 0; m < np; ++m) fprintf(of.fp, "%.1f,%.1f ", px(&P, dist[m]), py(&P, f[3 * (size_t)n * m + k]));
                fputs("'/>\n", of.fp);
            }
            fputs("</svg>\n", of.fp);
            ok = out_close(&of, !ferror(of.fp));
        }
    }
    free(q);
    free(dist);
    free(f);
    return ok ? 0 : 1;
}

/* ------------------------------------------------------------------- bench */

/* diamond lattice of nc^3 conventional cells with small random displacements */
static void diamond(int nc, double a, double *pos, double *cell, rng_t *rng) {
    static const double basis[8][3] = {{0, 0, 0}, {0, .5, .5}, {.5, 0, .5}, {.5, .5, 0},
                                       {.25, .25, .25}, {.25, .75, .75}, {.75, .25, .75}, {.75, .75, .25}};
    int i, j, k, b, n = 0, d;
    for (i = 0; i < nc; ++i)
        for (j = 0; j < nc; ++j)
            for (k = 0; k < nc; ++k)
                for (b = 0; b < 8; ++b) {
                    pos[3 * n] = (i + basis[b][0]) * a;
                    pos[3 * n + 1] = (j + basis[b][1]) * a;
                    pos[3 * n + 2] = (k + basis[b][2]) * a;
                    for (d = 0; d < 3; ++d) pos[3 * n + d] += 0.05 * rng_gauss(rng);
                    ++n;
                }
    for (d = 0; d < 9; ++d) cell[d] = (d % 4 == 0) ? nc * a : 0.0;
}

static int bench_cells(int argc, char **argv) {
    double rc;
    long maxn;
    static const int sizes[] = {5, 8, 12, 18, 27, 40, 50}; /* 1000 ... 1 000 000 atoms */
    int q, nth = 1;
    rng_t rng;
    if (!opt_double(argc, argv, "--cutoff", 5.5, &rc) || !opt_long(argc, argv, "--max", 1000000, &maxn)) return 1;
    rng.s = 7;
#ifdef SP__OMP
    nth = omp_get_max_threads();
#endif
    printf("# neighbour-list build (full list with reverse links), diamond Si a = 5.431 A, cutoff %.2f A, %d thread(s)\n",
           rc, nth);
    for (q = 0; q < 7 && 8L * sizes[q] * sizes[q] * sizes[q] <= maxn; ++q) {
        int nc = sizes[q], n = 8 * nc * nc * nc, reps = n < 100000 ? 5 : 3, k;
        double *pos = (double *)malloc(3 * (size_t)n * sizeof(double));
        double best = 1e300;
        sp_cell_t cell;
        sp_nlist_t nl;
        sp_diag_t diag;
        memset(&nl, 0, sizeof nl);
        if (!pos) return fail_msg("out of memory");
        diamond(nc, 5.431, pos, cell.h, &rng);
        cell.pbc[0] = cell.pbc[1] = cell.pbc[2] = 1;
        for (k = 0; k < reps; ++k) {
            double t = now_seconds();
            if (sp_nlist_build(&nl, &cell, pos, n, rc, &diag) != SP_OK) return fail_msg(diag.msg);
            t = now_seconds() - t;
            if (t < best) best = t;
        }
        printf("cells natoms=%d threads=%d neighbours/atom=%.1f build_us_per_atom=%.4f\n", n, nth,
               (double)nl.n_entries / n, 1e6 * best / n);
        sp_nlist_free(&nl);
        free(pos);
    }
    return 0;
}

/* s-MEAM structure vectors: 108-atom fcc (3x3x3, a = 3.615 A, displaced by
   up to 0.1 A), cutoff 4.0 A, 7 knots per radial spline, 10 000 random
   parameter sets, energies and forces. */
static int bench_structvec(int argc, char **argv) {
    long P, chunk;
    sp_smeam_layout_t lay = {7, 2.0, 4.0, 7, -1.5, 1.5, 0, 1, {{0, 0}}};
    static const double bas[4][3] = {{0, 0, 0}, {.5, .5, 0}, {.5, 0, .5}, {0, .5, .5}};
    double pos[3 * 108], *theta, *E, *F, t0, t1, t2;
    sp_config_t cf;
    sp_smeam_sv_t sv;
    sp_diag_t diag;
    rng_t rng;
    int n = 0, x, y, z, b, npar, k, nth = 1;
    size_t wb;
    char *work;
    if (!opt_long(argc, argv, "--nparams", 10000, &P) || !opt_long(argc, argv, "--chunk", 32, &chunk) || P < 1 || chunk < 1)
        return 2;
    if (opt_flag(argc, argv, "--gpu") && !gpu_ready()) return 1;
    rng.s = 108;
    for (x = 0; x < 3; ++x) for (y = 0; y < 3; ++y) for (z = 0; z < 3; ++z) for (b = 0; b < 4; ++b) {
        pos[3 * n] = (x + bas[b][0]) * 3.615 + 0.1 * (2 * rng_uniform(&rng) - 1);
        pos[3 * n + 1] = (y + bas[b][1]) * 3.615 + 0.1 * (2 * rng_uniform(&rng) - 1);
        pos[3 * n + 2] = (z + bas[b][2]) * 3.615 + 0.1 * (2 * rng_uniform(&rng) - 1);
        ++n;
    }
    memset(&cf, 0, sizeof cf);
    cf.natoms = n;
    cf.pos = pos;
    cf.cell.h[0] = cf.cell.h[4] = cf.cell.h[8] = 3 * 3.615;
    cf.cell.pbc[0] = cf.cell.pbc[1] = cf.cell.pbc[2] = 1;
    npar = sp_smeam_layout_npar(&lay);
    theta = (double *)malloc((size_t)P * npar * sizeof(double));
    E = (double *)malloc((size_t)P * sizeof(double));
    F = (double *)malloc((size_t)P * 3 * n * sizeof(double));
    if (!theta || !E || !F) return fail_msg("out of memory");
    for (k = 0; k < P * npar; ++k) theta[k] = 0.6 * (2 * rng_uniform(&rng) - 1);
    memset(&sv, 0, sizeof sv);
    t0 = now_seconds();
    if (sp_smeam_sv_build(&sv, &lay, &cf, &diag) != SP_OK) return fail_msg(diag.msg);
    t1 = now_seconds();
    if (opt_flag(argc, argv, "--gpu")) { /* structure vectors up once, then one population (after a warm-up) */
        sp_cuda_sv_t *g = NULL;
        double tu;
        int ok = sp_cuda_sv_create(&g, &lay, &sv, 1, NULL, &diag) == SP_OK;
        tu = now_seconds();
        ok = ok && sp_cuda_sv_eval(g, (int)P, theta, E, F, NULL) == SP_OK;
        t1 = now_seconds();
        ok = ok && sp_cuda_sv_eval(g, (int)P, theta, E, F, NULL) == SP_OK;
        t2 = now_seconds();
        sp_cuda_sv_free(g);
        if (!ok) return fail_msg(sp_cuda_last_error());
        printf("# %d atoms, %d bonds, %d triplets, %d parameters per set, gpu; upload %.4f s, first call %.4f s\n", n,
               sv.nbonds, sv.ntrip, npar, tu - t0, t1 - tu);
        printf("structvec natoms=%d nparams=%ld seconds=%.4f gpu\n", n, P, t2 - t1);
        sp_smeam_sv_free(&sv);
        free(theta); free(E); free(F);
        return 0;
    }
#ifdef SP__OMP
    nth = omp_get_max_threads();
#endif
    wb = sp_smeam_sv_workspace_size(&sv, &lay, (int)chunk);
    work = (char *)malloc(wb * (size_t)nth);
    if (!work) return fail_msg("out of memory");
    /* parameter sets split in contiguous blocks, one per thread */
#ifdef SP__OMP
#pragma omp parallel num_threads(nth)
#endif
    {
        int tid = 0;
        long lo, hi;
#ifdef SP__OMP
        tid = omp_get_thread_num();
#endif
        lo = P * tid / nth;
        hi = P * (tid + 1) / nth;
        if (hi > lo)
            sp_smeam_sv_eval(&sv, &lay, (int)(hi - lo), theta + (size_t)lo * npar, E + lo, F + (size_t)lo * 3 * n,
                             (int)chunk, work + (size_t)tid * wb, wb);
    }
    t2 = now_seconds();
    printf("# %d atoms, %d bonds, %d triplets, %d parameters per set, %d threads, chunk %ld; build %.4f s\n", n,
           sv.nbonds, sv.ntrip, npar, nth, chunk, t1 - t0);
    printf("structvec natoms=%d nparams=%ld seconds=%.4f\n", n, P, t2 - t1);
    sp_smeam_sv_free(&sv);
    free(work); free(theta); free(E); free(F);
    return 0;
}

static int cmd_bench(int argc, char **argv) {
    const char *what = argc > 0 ? argv[0] : NULL;
    if (!what || opt_flag(argc, argv, "--help")) {
        fputs("usage: splinepot bench cells [--cutoff A=5.5] [--max N=1000000]\n"
              "       splinepot bench cmaes [--verbose]\n"
              "       splinepot bench ridge [--rows N] [--p P] [--threads T] [--blas LIB|none]\n"
              "       splinepot bench structvec [--nparams P=10000] [--chunk C=32] [--gpu]\n",
              what ? stdout : stderr);
        return what ? 0 : 2;
    }
    if (strcmp(what, "cells") == 0) return bench_cells(argc - 1, argv + 1);
    if (strcmp(what, "cmaes") == 0) return sp_bench_cmaes(argc - 1, argv + 1);
    if (strcmp(what, "ridge") == 0) return sp_bench_ridge(argc - 1, argv + 1);
    if (strcmp(what, "structvec") == 0) return bench_structvec(argc - 1, argv + 1);
    fprintf(stderr, "error: bench %s: not implemented yet (see the issue tracker)\n", what);
    return 2;
}

/* --------------------------------------------------------------------- fit */

typedef struct rmse_t {
    int nconf;
    long nforce, nstress;     /* nstress: 6 per periodic frame with a reference stress */
    double e_meV, f_eVA, e_max_meV, f_max, s_GPa, s_max_GPa;
} rmse_t;

/* element list of all frames, sorted by atomic number */
static int collect_elements(const frames_t *a, const frames_t *b, int *z) {
    int n = 0, k, i, q, pass;
    for (pass = 0; pass < 2; ++pass) {
        const frames_t *fr = pass ? b : a;
        for (k = 0; fr && k < fr->n; ++k)
            for (i = 0; i < fr->f[k].natoms; ++i) {
                int zz = fr->f[k].z[i], pos;
                for (q = 0; q < n && z[q] != zz; ++q) {}
                if (q < n) continue;
                if (n == SP_MAX_ELEMENTS) return -1;
                for (pos = n; pos > 0 && z[pos - 1] > zz; --pos) z[pos] = z[pos - 1];
                z[pos] = zz;
                ++n;
            }
    }
    return n;
}

/* the training frames and (test_path not NULL) the test frames of a fit;
   on failure nothing is left allocated */
static int fit_read_sets(const char *train_path, const char *test_path, frames_t *tr, frames_t *te) {
    if (!read_frames(train_path, tr)) return 0;
    te->n = 0; te->f = NULL; te->line = NULL;
    if (test_path && !read_frames(test_path, te)) return frames_free(tr), 0;
    return 1;
}

/* every training frame has an energy (else an error naming file and line) */
static int fit_check_energies(const frames_t *tr, const char *train_path) {
    int k;
    for (k = 0; k < tr->n; ++k)
        if (!tr->f[k].has_energy) {
            fprintf(stderr, "error: %s:%d: frame %d has no energy\n", train_path, tr->line[k], k + 1);
            return 0;
        }
    return 1;
}

/* one sp_config_t per training frame, each of which must have an energy;
   atom types index z (which holds every element of the frames); *types
   holds the per-frame type arrays; a frame's weight= becomes its weight.
   Free both with fit_configs_free. */
static int fit_configs(const frames_t *tr, const char *train_path, const int *z, sp_config_t **cf, int ***types) {
    int k, q, e;
    *cf = (sp_config_t *)calloc((size_t)tr->n + 1, sizeof(sp_config_t));
    *types = (int **)calloc((size_t)tr->n + 1, sizeof(int *));
    if (!*cf || !*types) return fail_msg("out of memory"), 0;
    if (!fit_check_energies(tr, train_path)) return 0;
    for (k = 0; k < tr->n; ++k) {
        const sp_frame_t *f = tr->f + k;
        (*types)[k] = (int *)malloc((size_t)f->natoms * sizeof(int) + 1);
        if (!(*types)[k]) return fail_msg("out of memory"), 0;
        for (q = 0; q < f->natoms; ++q) {
            for (e = 0; z[e] != f->z[q]; ++e) {}
            (*types)[k][q] = e;
        }
        (*cf)[k].natoms = f->natoms;
        (*cf)[k].pos = f->pos;
        (*cf)[k].type = (*types)[k];
        frame_cell(f, &(*cf)[k].cell);
        (*cf)[k].energy = f->energy;
        (*cf)[k].forces = f->forces;
        (*cf)[k].stress = frame_has_stress(f) ? f->stress : NULL;
        (*cf)[k].weight = f->has_weight ? f->weight : 0.0;
    }
    return 1;
}

static void fit_configs_free(const frames_t *tr, sp_config_t *cf, int **types) {
    int k;
    for (k = 0; types && k < tr->n; ++k) free(types[k]);
    free(types);
    free(cf);
}

/* RMSE of a potential against the energies (per atom) and forces of frames */
static int frames_rmse_shift(const sp_pot_t *pot, const char *file, const frames_t *fr, const double *shift,
                             rmse_t *out);

static int frames_rmse(const sp_pot_t *pot, const char *file, const frames_t *fr, rmse_t *out) {
    return frames_rmse_shift(pot, file, fr, NULL, out);
}

/* as frames_rmse, comparing (E + sum over the atoms of the shift of their
   element, the potential's order) / N with the reference energy per atom;
   shift NULL: none */
static int frames_rmse_shift(const sp_pot_t *pot, const char *file, const frames_t *fr, const double *shift,
                             rmse_t *out) {
    sp_nlist_t nl;
    sp_work_t ws;
    double se = 0.0, sf = 0.0, ss = 0.0;
    int k, ok = 1;
    memset(&nl, 0, sizeof nl);
    memset(&ws, 0, sizeof ws);
    memset(out, 0, sizeof *out);
    for (k = 0; k < fr->n && ok; ++k) {
        const sp_frame_t *f = fr->f + k;
        int *type = (int *)malloc((size_t)f->natoms * sizeof(int) + 1), a;
        double *F = (double *)malloc(3 * (size_t)f->natoms * sizeof(double) + 8);
        sp_cell_t cell;
        sp_out_t res;
        sp_diag_t diag;
        memset(&res, 0, sizeof res);
        res.forces = F;
        ok = type && F && map_types(pot, file, fr->line ? fr->line[k] : 0, f, type);
        if (ok) {
            frame_cell(f, &cell);
            if (sp_nlist_build(&nl, &cell, f->pos, f->natoms, pot->cutoff, &diag) != SP_OK ||
                sp_pot_compute(pot, &nl, type, &ws, &res) != SP_OK) {
                fprintf(stderr, "error: %s: frame %d: %s\n", file, k + 1, diag.msg);
                ok = 0;
            }
        }
        if (ok && f->has_energy) {
            double sh = 0.0, de;
            for (a = 0; shift && a < f->natoms; ++a) sh += shift[type[a]];
            de = 1000.0 * ((res.energy - f->energy) / f->natoms + sh / f->natoms);
            se += de * de;
            if (fabs(de) > out->e_max_meV) out->e_max_meV = fabs(de);
            ++out->nconf;
        }
        if (ok && f->forces)
            for (a = 0; a < 3 * f->natoms; ++a) {
                double df = F[a] - f->forces[a];
                sf += df * df;
                if (fabs(df) > out->f_max) out->f_max = fabs(df);
                ++out->nforce;
            }
        if (ok && frame_has_stress(f)) {
            /* the stress, ASE sign: -W/V */
            const double v = cell_volume(f->cell);
            for (a = 0; a < 6; ++a) {
                const double ds = SP_EV_A3_TO_GPA * (-res.virial[VOIGT[a]] / v - f->stress[VOIGT[a]]);
                ss += ds * ds;
                if (fabs(ds) > out->s_max_GPa) out->s_max_GPa = fabs(ds);
                ++out->nstress;
            }
        }
        free(type);
        free(F);
    }
    out->e_meV = out->nconf ? sqrt(se / out->nconf) : 0.0;
    out->f_eVA = out->nforce ? sqrt(sf / out->nforce) : 0.0;
    out->s_GPa = out->nstress ? sqrt(ss / out->nstress) : 0.0;
    sp_work_free(&ws);
    sp_nlist_free(&nl);
    return ok;
}

/* the errors table; a stress column when either set has reference stresses */
static void print_rmse_table(FILE *fp, const rmse_t *train, const rmse_t *test) {
    const int st = train->nstress > 0 || (test && test->nstress > 0);
    int k;
    fprintf(fp, "             configs   energy RMSE (meV/atom)   force RMSE (eV/A)%s\n", st ? "   stress RMSE (GPa)" : "");
    for (k = 0; k < (test ? 2 : 1); ++k) {
        const rmse_t *r = k ? test : train;
        fprintf(fp, "  %-5s  %10d   %22.4f   %17.5f", k ? "test" : "train", r->nconf, r->e_meV, r->f_eVA);
        if (st && r->nstress) fprintf(fp, "   %17.4f", r->s_GPa);
        else if (st) fprintf(fp, "   %17s", "-");
        fputc('\n', fp);
    }
}

static void json_rmse(FILE *fp, const char *name, const rmse_t *r) {
    fprintf(fp, "  \"%s\": {\"n_configs\": %d, \"n_force_components\": %ld, \"energy_rmse_meV_per_atom\": %.10g, "
                "\"force_rmse_eV_per_A\": %.10g, \"energy_max_abs_meV_per_atom\": %.10g, \"force_max_abs_eV_per_A\": %.10g",
            name, r->nconf, r->nforce, r->e_meV, r->f_eVA, r->e_max_meV, r->f_max);
    if (r->nstress)
        fprintf(fp, ", \"n_stress_components\": %ld, \"stress_rmse_GPa\": %.10g, \"stress_max_abs_GPa\": %.10g", r->nstress,
                r->s_GPa, r->s_max_GPa);
    fputc('}', fp);
}

/* a fitted model's errors on the training frames and (te->n > 0) the test
   frames, shift: an energy per atom of each element added (NULL: none) */
static int fit_rmse(const sp_pot_t *pot, const char *train_path, const frames_t *tr, const char *test_path,
                    const frames_t *te, const double *shift, rmse_t *rtr, rmse_t *rte) {
    return frames_rmse_shift(pot, train_path, tr, shift, rtr) &&
           (te->n == 0 || frames_rmse_shift(pot, test_path, te, shift, rte));
}

/* the end of a fit report: the training and (rte not NULL) test errors, and the closing brace */
static void json_rmse_end(FILE *fp, const rmse_t *rtr, const rmse_t *rte) {
    json_rmse(fp, "train", rtr);
    if (rte) {
        fputs(",\n", fp);
        json_rmse(fp, "test", rte);
    }
    fputs("\n}\n", fp);
}

/* "RMIN:RCUT:N" */
static int parse_range(const char *opt, const char *v, double *lo, double *hi, int *n) {
    char extra;
    if (!v) return 0;
    if (sscanf(v, "%lf:%lf:%d%c", lo, hi, n, &extra) != 3 || !(*hi > *lo) || *lo < 0 || *n < 1) {
        fprintf(stderr, "error: %s needs RMIN:RCUT:N with RCUT > RMIN >= 0 and N >= 1, got '%s'\n", opt, v);
        return -1;
    }
    return 1;
}

static void fit_progress(const char *line, void *user) {
    (void)user;
    fprintf(stderr, "%s\n", line);
}


static int cmd_fit_uf3(int argc, char **argv) {
    const char *train_path = opt_value(argc, argv, "--train"), *test_path = opt_value(argc, argv, "--test");
    const char *outpath = opt_value(argc, argv, "-o"), *report = opt_value(argc, argv, "--report");
    frames_t tr, te;
    sp_uf3_fit_desc_t d;
    sp_uf3_fit_info_t info;
    sp_config_t *cf;
    sp_pot_t pot;
    sp_diag_t diag;
    sp_result_t r;
    rmse_t rtr, rte;
    sp_uf3_cv_t cv;
    int ok = 1, **types, folds = 0, nlam = 0;
    double t0 = now_seconds(), lam[SP_UF3_CV_MAX];
    memset(&d, 0, sizeof d);
    memset(&cv, 0, sizeof cv);
    if (opt_flag(argc, argv, "--help") || !train_path || !outpath || !opt_value(argc, argv, "--r2")) {
        fputs("usage: splinepot fit uf3 --train A.xyz [--test B.xyz] --r2 RMIN:RCUT:N [--r3 RMIN:RCUT:N]\n"
              "       [--lambda-ridge X=1e-10] [--lambda-curv X=1e-6] [--kappa K=0.5] [--stress S=0]\n"
              "       [--cv K [--cv-curv L1,L2,...]] -o MODEL [--report R.json]\n"
              "  Fits UF2 (UF2,3 with --r3) by ridge regression to the energies and forces of A.xyz.\n"
              "  --r2: 2-body knots on [RMIN, RCUT], N intervals. --r3: r_ij, r_ik on [RMIN, RCUT] with N\n"
              "  intervals, r_jk on [RMIN, 2 RCUT] with 2N (as LAMMPS requires). MODEL: .uf3 (LAMMPS\n"
              "  pair_style uf3) or .json (uf3). Loss: kappa/n_E sum (dE/N)^2/var(E/N)\n"
              "  + (1-kappa)/n_F sum dF^2/var(F) [+ S/n_S sum dstress^2/var(stress) over the frames with\n"
              "  a stress=, periodic cells] + lambda_curv |D c|^2 + lambda_ridge |c|^2.\n"
              "  A training frame's weight=W (or config_weight=W) in its comment line counts it W^2 times.\n"
              "  --cv K: lambda_curv chosen by K-fold cross-validation over the training frames (frame k\n"
              "  in fold k mod K) among --cv-curv (default 1e-9,1e-8,...,1e-2): the smallest held-out\n"
              "  loss wins, and the model is fitted to every training frame with it.\n",
              train_path && outpath ? stdout : stderr);
        return opt_flag(argc, argv, "--help") ? 0 : 2;
    }
    if (parse_range("--r2", opt_value(argc, argv, "--r2"), &d.r2min, &d.r2max, &d.n2) != 1) return 2;
    if (opt_value(argc, argv, "--r3") && parse_range("--r3", opt_value(argc, argv, "--r3"), &d.r3min, &d.r3max, &d.n3) != 1)
        return 2;
    if (!opt_double(argc, argv, "--lambda-ridge", 0.0, &d.lambda_ridge) ||
        !opt_double(argc, argv, "--lambda-curv", 0.0, &d.lambda_curv) || !opt_double(argc, argv, "--kappa", 0.0, &d.kappa) ||
        !opt_double(argc, argv, "--stress", 0.0, &d.stress_weight))
        return 2;
    if (opt_value(argc, argv, "--cv")) {
        long kf;
        const char *list = opt_value(argc, argv, "--cv-curv");
        if (!opt_long(argc, argv, "--cv", 0, &kf)) return 2;
        if (kf < 2 || kf > 1000) return fail_msg("fit uf3: --cv needs 2..1000 folds");
        folds = (int)kf;
        if (!list) {
            for (nlam = 0; nlam < 8; ++nlam) lam[nlam] = pow(10.0, nlam - 9.0);
        } else {
            char *end;
            const char *q = list;
            for (;;) {
                if (nlam == SP_UF3_CV_MAX) return fail_msg("fit uf3: --cv-curv takes at most 32 values");
                lam[nlam] = strtod(q, &end);
                if (end == q || !(lam[nlam] >= 0.0 && lam[nlam] < 1e30) || (*end && *end != ','))
                    return fail_msg("fit uf3: --cv-curv needs numbers >= 0 separated by commas");
                ++nlam;
                if (!*end) break;
                q = end + 1;
            }
        }
    } else if (opt_value(argc, argv, "--cv-curv")) {
        return fail_msg("fit uf3: --cv-curv needs --cv K");
    }
    if (!(sp__ends_with(outpath, ".uf3") || sp__ends_with(outpath, ".json")))
        return fail_msg("fit uf3: -o needs a .uf3 (LAMMPS) or .json (uf3) file name");
    if (!fit_read_sets(train_path, test_path, &tr, &te)) return 1;
    d.nelem = collect_elements(&tr, &te, d.z);
    if (d.nelem < 1) return frames_free(&tr), frames_free(&te), fail_msg("fit uf3: more elements than SP_MAX_ELEMENTS");
    d.progress = fit_progress;
    ok = fit_configs(&tr, train_path, d.z, &cf, &types);
    memset(&pot, 0, sizeof pot);
    memset(&diag, 0, sizeof diag);
    if (ok && folds) {
        int l;
        r = sp_uf3_cv(&d, cf, tr.n, folds, nlam, lam, &cv, &diag);
        if (r != SP_OK) ok = !fail_file(train_path, &diag, r);
        for (l = 0; ok && l < nlam; ++l) {
            fprintf(stderr, "uf3 cv: lambda_curv %-8.3g held-out %10.4f meV/atom %9.5f eV/A", cv.lambda_curv[l],
                    1000 * cv.rmse_energy[l], cv.rmse_force[l]);
            if (d.stress_weight > 0.0) fprintf(stderr, " %9.4f GPa", SP_EV_A3_TO_GPA * cv.rmse_stress[l]);
            fprintf(stderr, " loss %.6g%s\n", cv.loss[l], l == cv.best ? "  <- chosen" : "");
        }
        if (ok) d.lambda_curv = cv.lambda_curv[cv.best];
        if (ok && (cv.best == 0 || cv.best == nlam - 1) && nlam > 1)
            fprintf(stderr, "uf3 cv: the chosen lambda_curv is at the end of the range: widen --cv-curv\n");
    }
    if (ok) {
        r = sp_uf3_fit(&d, cf, tr.n, &pot, &info, &diag);
        if (r != SP_OK) ok = !fail_file(train_path, &diag, r);
    }
    if (ok) ok = fit_rmse(&pot, train_path, &tr, test_path, &te, NULL, &rtr, &rte);
    if (ok) {
        d = sp_uf3_fit_desc_defaults(&d);
        fprintf(stderr, "uf3 fit: %d coefficients, kappa %g, stress weight %g (%lld stress rows), lambda_ridge %g, "
                        "lambda_curv %g, %.1f s\n", info.n_params, d.kappa, d.stress_weight, (long long)info.n_stress_rows,
                d.lambda_ridge, d.lambda_curv, now_seconds() - t0);
        print_rmse_table(stdout, &rtr, te.n ? &rte : NULL);
        ok = write_model(&pot, outpath);
    }
    if (ok && report) {
        out_file_t of;
        if ((ok = out_open(&of, report))) {
            int e;
            fprintf(of.fp, "{\n  \"kind\": \"uf3\",\n  \"model\": \"%s\",\n  \"elements\": [", outpath);
            for (e = 0; e < d.nelem; ++e) fprintf(of.fp, "%s\"%s\"", e ? ", " : "", sp_element_symbol(d.z[e]));
            fprintf(of.fp, "],\n  \"r2\": [%.17g, %.17g, %d],\n", d.r2min, d.r2max, d.n2);
            if (d.n3) fprintf(of.fp, "  \"r3\": [%.17g, %.17g, %d],\n", d.r3min, d.r3max, d.n3);
            fprintf(of.fp, "  \"kappa\": %.17g,\n  \"stress_weight\": %.17g,\n  \"lambda_ridge\": %.17g,\n  \"lambda_curv\": %.17g,\n",
                    d.kappa, d.stress_weight, d.lambda_ridge, d.lambda_curv);
            fprintf(of.fp, "  \"one_body_eV\": {");
            for (e = 0; e < d.nelem; ++e) fprintf(of.fp, "%s\"%s\": %.17g", e ? ", " : "", sp_element_symbol(d.z[e]), pot.uf3.e1[e]);
            fprintf(of.fp, "},\n  \"n_params\": %d,\n  \"seconds\": %.3f,\n", info.n_params, now_seconds() - t0);
            fprintf(of.fp, "  \"seconds_features\": %.3f,\n  \"seconds_solve\": %.3f,\n", info.seconds_features, info.seconds_solve);
            fprintf(of.fp, "  \"solve\": {\"method\": \"%s\", \"condition_estimate\": %.6g, \"rank\": %d},\n",
                    info.solve.method == SP_RIDGE_CHOLESKY ? "cholesky" : "eigen", info.solve.cond, info.solve.rank);
            if (folds) {
                int l;
                fprintf(of.fp, "  \"cv\": {\"folds\": %d, \"lambda_curv\": [", folds);
                for (l = 0; l < nlam; ++l) fprintf(of.fp, "%s%.17g", l ? ", " : "", cv.lambda_curv[l]);
                fputs("], \"energy_rmse_meV_per_atom\": [", of.fp);
                for (l = 0; l < nlam; ++l) fprintf(of.fp, "%s%.17g", l ? ", " : "", 1000 * cv.rmse_energy[l]);
                fputs("], \"force_rmse_eV_per_A\": [", of.fp);
                for (l = 0; l < nlam; ++l) fprintf(of.fp, "%s%.17g", l ? ", " : "", cv.rmse_force[l]);
                if (d.stress_weight > 0.0) {
                    fputs("], \"stress_rmse_GPa\": [", of.fp);
                    for (l = 0; l < nlam; ++l) fprintf(of.fp, "%s%.17g", l ? ", " : "", SP_EV_A3_TO_GPA * cv.rmse_stress[l]);
                }
                fputs("], \"loss\": [", of.fp);
                for (l = 0; l < nlam; ++l) fprintf(of.fp, "%s%.17g", l ? ", " : "", cv.loss[l]);
                fprintf(of.fp, "], \"chosen\": %.17g},\n", cv.lambda_curv[cv.best]);
            }
            json_rmse_end(of.fp, &rtr, te.n ? &rte : NULL);
            ok = out_close(&of, 1);
        }
    }
    fit_configs_free(&tr, cf, types);
    sp_pot_free(&pot);
    frames_free(&tr);
    frames_free(&te);
    return ok ? 0 : 1;
}


/* types of a frame's atoms as indices into the element list z (which holds
   them all: collect_elements), and the count of each (cnt, zeroed first) */
static void frame_types(const sp_frame_t *f, const int *z, int ne, int *type, int *cnt) {
    int i, q;
    for (q = 0; q < ne; ++q) cnt[q] = 0;
    for (i = 0; i < f->natoms; ++i) {
        for (q = 0; z[q] != f->z[i]; ++q) {}
        type[i] = q;
        ++cnt[q];
    }
}

/* s-MEAM by CMA-ES over structure vectors (Vita & Trinkle 2021, sec. 3.3-3.4) */
typedef struct smeam_fit_t {
    const sp_smeam_layout_t *lay;
    sp_smeam_sv_t *sv;
    const frames_t *fr;
    int nconf, npar, nfree, *freemap, maxn;
    double std_e, std_f, kappa;
    long nforce;
    double sw_e, sw_f;         /* sums of the squared frame weights over the energies and force components */
    double *E, *sse, *theta;   /* nconf x lambda, nconf x lambda, lambda x npar */
    char *work;
    double *fbuf;
    size_t wbytes, fbytes;
    int nth, lambda_cap;
    double last_rmse_e, last_rmse_f, last_shift;
    sp_cuda_sv_t *gpu;         /* --gpu: the structure vectors on the device */
    double *gE, *gS;           /* nconf x lambda from the device */
    int gpu_failed;
    int ne;                    /* elements */
    double *frac;              /* nconf x ne: each frame's fraction of atoms of each element */
    double ldl[SP_MAX_ELEMENTS * SP_MAX_ELEMENTS]; /* sum over the frames of w2 frac frac^T, ldl_factor'ed */
} smeam_fit_t;

/* In place, the LDL^T factors of the symmetric positive semi-definite n x n
   matrix a (L below the diagonal, D on it). A pivot below 1e-10 of a's
   largest diagonal (a direction the matrix does not determine) is replaced
   by that diagonal, so ldl_solve gives it a negligible share. */
static void ldl_factor(double *a, int n) {
    double big = 0.0;
    int i, j, k;
    for (i = 0; i < n; ++i)
        if (a[i * n + i] > big) big = a[i * n + i];
    for (j = 0; j < n; ++j) {
        double d = a[j * n + j];
        for (k = 0; k < j; ++k) d -= a[j * n + k] * a[j * n + k] * a[k * n + k];
        if (!(d > 1e-10 * big)) d = big > 0.0 ? big : 1.0;
        a[j * n + j] = d;
        for (i = j + 1; i < n; ++i) {
            double v = a[i * n + j];
            for (k = 0; k < j; ++k) v -= a[i * n + k] * a[j * n + k] * a[k * n + k];
            a[i * n + j] = v / d;
        }
    }
}

/* x = A^-1 b for ldl_factor's factors of A (n = 1: x = b / A exactly) */
static void ldl_solve(const double *f, int n, const double *b, double *x) {
    int i, k;
    for (i = 0; i < n; ++i) {
        double v = b[i];
        for (k = 0; k < i; ++k) v -= f[i * n + k] * x[k];
        x[i] = v;
    }
    for (i = 0; i < n; ++i) x[i] /= f[i * n + i];
    for (i = n - 1; i >= 0; --i)
        for (k = i + 1; k < n; ++k) x[i] -= f[k * n + i] * x[k];
}

/* loss of lambda free-parameter vectors x (lambda x nfree); the energy
   constants per atom of each element (shift, lambda x ne) are the weighted
   least-squares ones of each vector */
static void smeam_loss(smeam_fit_t *F, const double *x, int lambda, double *out, double *rmse_e, double *rmse_f,
                       double *shift) {
    int p, c, q;
    for (p = 0; p < lambda; ++p) {
        double *t = F->theta + (size_t)p * F->npar;
        memset(t, 0, (size_t)F->npar * sizeof(double));
        for (q = 0; q < F->nfree; ++q) t[F->freemap[q]] = x[(size_t)p * F->nfree + q];
    }
    if (F->gpu) { /* energies and force errors of the population in one call */
        if (sp_cuda_sv_eval(F->gpu, lambda, F->theta, F->gE, NULL, F->gS) != SP_OK) F->gpu_failed = 1;
        for (c = 0; c < F->nconf; ++c)
            for (p = 0; p < lambda; ++p) {
                F->E[(size_t)c * F->lambda_cap + p] = F->gE[(size_t)c * lambda + p];
                F->sse[(size_t)c * F->lambda_cap + p] = F->gS[(size_t)c * lambda + p];
            }
    }
#ifdef SP__OMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(F->nth)
#endif
    for (c = 0; c < (F->gpu ? 0 : F->nconf); ++c) {
        int tid = 0, pp, a, n = F->fr->f[c].natoms;
        double *fb;
        const double *ref = F->fr->f[c].forces;
#ifdef SP__OMP
        tid = omp_get_thread_num();
#endif
        fb = F->fbuf + (size_t)tid * F->fbytes / sizeof(double);
        sp_smeam_sv_eval(&F->sv[c], F->lay, lambda, F->theta, F->E + (size_t)c * F->lambda_cap, ref ? fb : NULL,
                         lambda, F->work + (size_t)tid * F->wbytes, F->wbytes);
        for (pp = 0; pp < lambda; ++pp) {
            double ss = 0.0;
            for (a = 0; ref && a < 3 * n; ++a) {
                double d = fb[(size_t)pp * 3 * n + a] - ref[a];
                ss += d * d;
            }
            F->sse[(size_t)c * F->lambda_cap + pp] = ss;
        }
    }
    for (p = 0; p < lambda; ++p) { /* (each frame's terms times its squared weight= ) */
        double b[SP_MAX_ELEMENTS] = {0.0}, m[SP_MAX_ELEMENTS], se = 0.0, sf = 0.0, re, rf;
        int e;
        for (c = 0; c < F->nconf; ++c) {
            const double w2 = frame_weight2(F->fr->f + c);
            const double d = (F->E[(size_t)c * F->lambda_cap + p] - F->fr->f[c].energy) / F->fr->f[c].natoms;
            for (e = 0; e < F->ne; ++e) b[e] += w2 * F->frac[(size_t)c * F->ne + e] * d;
        }
        ldl_solve(F->ldl, F->ne, b, m);
        for (c = 0; c < F->nconf; ++c) {
            const double w2 = frame_weight2(F->fr->f + c);
            double d = (F->E[(size_t)c * F->lambda_cap + p] - F->fr->f[c].energy) / F->fr->f[c].natoms;
            for (e = 0; e < F->ne; ++e) d -= F->frac[(size_t)c * F->ne + e] * m[e];
            se += w2 * d * d;
            sf += w2 * F->sse[(size_t)c * F->lambda_cap + p];
        }
        re = sqrt(se / F->sw_e);
        rf = F->nforce ? sqrt(sf / F->sw_f) : 0.0;
        out[p] = F->kappa * (re / F->std_e) * (re / F->std_e) + (1.0 - F->kappa) * (rf / F->std_f) * (rf / F->std_f);
        if (!(out[p] == out[p])) out[p] = HUGE_VAL;
        if (rmse_e) rmse_e[p] = re;
        if (rmse_f) rmse_f[p] = rf;
        for (e = 0; shift && e < F->ne; ++e) shift[(size_t)p * F->ne + e] = -m[e];
    }
}

/* --method full: CMA-ES over all free parameters (phi, rho, U, f, g) */
/* Structure vectors of training frame k, adding E/N, (E/N)^2, F and F^2 to
   st[0..3], each times the frame's squared weight w2 (frame_weight2), w2 to
   st[4] and to st[5] per force component, and the force components to
   *nforce; 0 after an error line. */
static int smeam_sv_frame(const sp_frame_t *f, const sp_smeam_layout_t *lay, const int *z, sp_smeam_sv_t *sv,
                          const char *path, int k, double *st, long *nforce) {
    sp_config_t cf;
    sp_diag_t dg;
    const double w2 = frame_weight2(f);
    int a, cnt[SP_MAX_ELEMENTS], *type = (int *)malloc((size_t)f->natoms * sizeof(int)), r;
    if (!type) return fail_msg("out of memory");
    frame_types(f, z, lay->nelem > 0 ? lay->nelem : 1, type, cnt);
    memset(&cf, 0, sizeof cf);
    cf.natoms = f->natoms;
    cf.pos = f->pos;
    cf.type = type;
    frame_cell(f, &cf.cell);
    r = sp_smeam_sv_build(sv, lay, &cf, &dg);
    free(type);
    if (r != SP_OK) {
        fprintf(stderr, "error: %s: frame %d: %s\n", path, k + 1, dg.msg);
        return 0;
    }
    st[0] += w2 * (f->energy / f->natoms);
    st[1] += w2 * (f->energy / f->natoms) * (f->energy / f->natoms);
    st[4] += w2;
    for (a = 0; f->forces && a < 3 * f->natoms; ++a) {
        st[2] += w2 * f->forces[a];
        st[3] += w2 * f->forces[a] * f->forces[a];
        st[5] += w2;
        ++*nforce;
    }
    return 1;
}

/* the spline kind of parameter q of a layout's vector (0 phi, 1 rho, 2 U,
   3 f, 4 g: sp_smeam_layout_t's order), and q's place within its spline */
static int smeam_block(const sp_smeam_layout_t *lay, int q) {
    const int ne = lay->nelem > 0 ? lay->nelem : 1, np = ne * (ne + 1) / 2, nr2 = lay->nr + 2, nu2 = lay->nu + 2;
    const int bound[4] = {np * nr2, (np + ne) * nr2, (np + ne) * nr2 + ne * nu2, (np + 2 * ne) * nr2 + ne * nu2};
    int k = 0;
    while (k < 4 && q >= bound[k]) ++k;
    return k;
}

static int smeam_block_offset(const sp_smeam_layout_t *lay, int q) {
    const int ne = lay->nelem > 0 ? lay->nelem : 1, np = ne * (ne + 1) / 2, nr2 = lay->nr + 2, nu2 = lay->nu + 2;
    const int ng2 = (lay->ng > 0 ? lay->ng : lay->nr) + 2;
    switch (smeam_block(lay, q)) {
    case 0: return q % nr2;
    case 1: return (q - np * nr2) % nr2;
    case 2: return (q - (np + ne) * nr2) % nu2;
    case 3: return (q - (np + ne) * nr2 - ne * nu2) % nr2;
    default: return (q - (np + 2 * ne) * nr2 - ne * nu2) % ng2;
    }
}

/* the training frames (and, test_path not NULL, the test frames) of an
   s-MEAM fit: every training frame has an energy; the elements of the
   training frames, by atomic number, in z[0..*ne) (at most max_ne; test
   frames hold no others). On failure nothing is left allocated. */
static int smeam_read_sets(const char *train_path, const char *test_path, frames_t *tr, frames_t *te, int *z, int *ne,
                           int max_ne) {
    int zt[SP_MAX_ELEMENTS], n, nt, ok;
    if (!fit_read_sets(train_path, test_path, tr, te)) return 0;
    ok = fit_check_energies(tr, train_path);
    n = ok ? collect_elements(tr, NULL, z) : 0;
    if (ok && n < 0) ok = !fail_msg("fit smeam: too many elements (SP_MAX_ELEMENTS)");
    if (ok && n > max_ne) ok = !fail_msg("fit smeam --method full: one element only (the default method fits several)");
    nt = ok ? collect_elements(tr, te, zt) : 0;
    if (ok && nt != n) { /* the first test element missing from the sorted training list */
        int q = 0;
        while (q < n && z[q] == zt[q]) ++q;
        fprintf(stderr, "error: %s: element %s is not in the training set\n", test_path, sp_element_symbol(zt[q]));
        ok = 0;
    }
    *ne = n;
    if (!ok) frames_free(tr), frames_free(te);
    return ok;
}

/* the (weighted) spreads of the training energies per atom and force
   components from smeam_sv_frame's sums st; 1 where one vanishes */
static void smeam_target_std(const double *st, double *std_e, double *std_f) {
    *std_e = sqrt(st[1] / st[4] - (st[0] / st[4]) * (st[0] / st[4]));
    *std_f = st[5] > 0.0 ? sqrt(st[3] / st[5] - (st[2] / st[5]) * (st[2] / st[5])) : 1.0;
    if (!(*std_e > 1e-12)) *std_e = 1.0;
    if (!(*std_f > 1e-12)) *std_f = 1.0;
}

/* an s-MEAM fit's energy constants (and U knot ranges, ulo != NULL) per
   element, and the LAMMPS caveat for three or more elements, on stderr */
static void smeam_print_offsets(const char *const *names, int ne, const double *shift, const double *ulo,
                                const double *uhi) {
    int e;
    for (e = 0; e < ne; ++e) {
        fprintf(stderr, "smeam fit: %s: energy offset %.10f eV per atom (add it to the potential's energy for each %s atom)",
                names[e], shift[e], names[e]);
        if (ulo) fprintf(stderr, "; U knots on [%.6g, %.6g]", ulo[e], uhi[e]);
        fputc('\n', stderr);
    }
    if (ne > 2)
        fprintf(stderr, "smeam fit: note: LAMMPS meam/spline indexes the pairs of 3 or more elements differently "
                        "(FORMATS.md 1.3); it will not reproduce this potential\n");
}

/* the first lines of an s-MEAM fit's report: kind, model, elements */
static void smeam_json_head(FILE *fp, const char *model, const char *const *names, int ne) {
    int e;
    fprintf(fp, "{\n  \"kind\": \"smeam\",\n  \"model\": \"%s\",\n  \"elements\": [", model);
    for (e = 0; e < ne; ++e) fprintf(fp, "%s\"%s\"", e ? ", " : "", names[e]);
    fprintf(fp, "],\n");
}

static void smeam_json_constants(FILE *fp, const char *const *names, int ne, const double *shift) {
    int e;
    fprintf(fp, "  \"energy_constant_eV_per_atom\": {");
    for (e = 0; e < ne; ++e) fprintf(fp, "%s\"%s\": %.17g", e ? ", " : "", names[e], shift[e]);
    fprintf(fp, "},\n");
}

static int cmd_fit_smeam_full(int argc, char **argv) {
    const char *train_path = opt_value(argc, argv, "--train"), *test_path = opt_value(argc, argv, "--test");
    const char *outpath = opt_value(argc, argv, "-o"), *report = opt_value(argc, argv, "--report");
    double rcut, rmin, sigma0, minutes, kappa, ulo, uhi;
    long knots, pop, gens, seed;
    frames_t tr, te;
    sp_smeam_layout_t lay;
    smeam_fit_t F;
    sp_cmaes_desc_t cd;
    sp_cmaes_t es;
    sp_pot_t pot;
    rmse_t rtr, rte;
    int k, ok = 1, zs[SP_MAX_ELEMENTS] = {0}, ne = 0, npar, q, e, gen = 0;
    double t0 = now_seconds(), best_shift[SP_MAX_ELEMENTS] = {0.0}, *x0;
    const char *names[SP_MAX_ELEMENTS];
    if (opt_flag(argc, argv, "--help") || !train_path || !outpath) {
        fputs("usage: splinepot fit smeam --method full --train A.xyz [--test B.xyz] [--rcut R=5.2] [--rmin R=2.0] [--knots N=7]\n"
              "       [--pop P] [--generations G=100000] [--minutes M=45] [--sigma S=0.3] [--kappa K=0.5]\n"
              "       [--seed S=1] [--init-zero] [--gpu] -o X.meam.spline [--report R.json]\n"
              "  Any number of elements (those of the training set). phi, rho, f: N knots on [rmin, rcut],\n"
              "  zero with zero slope at rcut; U: N knots on [-1, 1]; g: N knots on [-1, 1]. CMA-ES minimises\n"
              "  kappa (RMSE_E/std_E)^2 + (1-kappa) (RMSE_F/std_F)^2 over the training set, energies up to\n"
              "  one constant per atom of each element, the least-squares ones of each candidate\n"
              "  (meam/spline has no one-body term; the report states them).\n"
              "  The search starts from phi = 2 V2 of a UF2 fit to the same data (--init-zero: from 0).\n"
              "  A training frame's weight=W (or config_weight=W) in its comment line counts it W^2 times.\n"
              "  --gpu: the population is evaluated on the GPU (build/splinepot_cuda).\n",
              train_path && outpath ? stdout : stderr);
        return opt_flag(argc, argv, "--help") ? 0 : 2;
    }
    if (!opt_double(argc, argv, "--rcut", 5.2, &rcut) || !opt_double(argc, argv, "--rmin", 2.0, &rmin) ||
        !opt_long(argc, argv, "--knots", 7, &knots) || !opt_long(argc, argv, "--pop", 0, &pop) ||
        !opt_long(argc, argv, "--generations", 100000, &gens) || !opt_double(argc, argv, "--minutes", 45.0, &minutes) ||
        !opt_double(argc, argv, "--sigma", 0.3, &sigma0) || !opt_double(argc, argv, "--kappa", 0.5, &kappa) ||
        !opt_long(argc, argv, "--seed", 1, &seed) || !opt_double(argc, argv, "--ulo", -1.0, &ulo) ||
        !opt_double(argc, argv, "--uhi", 1.0, &uhi))
        return 2;
    if (knots < 3 || knots > 40 || !(rcut > rmin) || rmin <= 0 || !(kappa > 0 && kappa < 1) || pop < 0 || gens < 1)
        return fail_msg("fit smeam: bad settings (knots 3..40, rcut > rmin > 0, kappa in (0,1))");
    if (opt_flag(argc, argv, "--gpu") && !gpu_ready()) return 1;
    if (!smeam_read_sets(train_path, test_path, &tr, &te, zs, &ne, SP_MAX_ELEMENTS)) return 1;
    for (e = 0; e < ne; ++e) names[e] = sp_element_symbol(zs[e]);
    memset(&lay, 0, sizeof lay);
    lay.nr = (int)knots; lay.rlo = rmin; lay.rc = rcut; lay.nu = (int)knots; lay.ulo = ulo; lay.uhi = uhi; lay.ng = (int)knots;
    lay.nelem = ne;
    npar = sp_smeam_layout_npar(&lay);
    memset(&F, 0, sizeof F);
    F.lay = &lay;
    F.fr = &tr;
    F.nconf = tr.n;
    F.npar = npar;
    F.kappa = kappa;
    F.ne = ne;
    F.freemap = (int *)malloc((size_t)npar * sizeof(int));
    for (q = 0; F.freemap && q < npar; ++q) { /* phi, rho, f: y_last and dN fixed at 0 */
        const int blk = smeam_block(&lay, q), off = smeam_block_offset(&lay, q);
        if (blk != 2 && blk != 4 && (off == lay.nr - 1 || off == lay.nr + 1)) continue;
        F.freemap[F.nfree++] = q;
    }
    /* structure vectors of the training set, and the target statistics */
    F.sv = (sp_smeam_sv_t *)calloc((size_t)tr.n, sizeof(sp_smeam_sv_t));
    F.frac = (double *)calloc((size_t)tr.n * ne, sizeof(double));
    if (!F.freemap || !F.sv || !F.frac) ok = !fail_msg("out of memory");
    {
        double st[6] = {0, 0, 0, 0, 0, 0}; /* smeam_sv_frame's sums */
        size_t maxw = 0;
        for (k = 0; k < tr.n && ok; ++k) {
            const sp_frame_t *f = tr.f + k;
            int i, a, b2;
            if (!smeam_sv_frame(f, &lay, zs, &F.sv[k], train_path, k, st, &F.nforce)) {
                ok = 0;
                break;
            }
            if (f->natoms > F.maxn) F.maxn = f->natoms;
            for (i = 0; i < f->natoms; ++i) F.frac[(size_t)k * ne + F.sv[k].atype[i]] += 1.0; /* counts, */
            for (a = 0; a < ne; ++a) F.frac[(size_t)k * ne + a] /= f->natoms;                  /* then fractions */
            for (a = 0; a < ne; ++a)
                for (b2 = 0; b2 < ne; ++b2)
                    F.ldl[a * ne + b2] += frame_weight2(f) * F.frac[(size_t)k * ne + a] * F.frac[(size_t)k * ne + b2];
        }
        if (ok) {
            ldl_factor(F.ldl, ne);
            smeam_target_std(st, &F.std_e, &F.std_f);
            F.sw_e = st[4];
            F.sw_f = st[5];
            memset(&cd, 0, sizeof cd);
            cd.dim = F.nfree;
            cd.sigma0 = sigma0;
            cd.popsize = (int)pop;
            cd.seed = (uint64_t)seed;
            cd.tolfun = 1e-14;
            x0 = (double *)calloc((size_t)F.nfree, sizeof(double));
            /* start from a UF2 pair potential fitted to the same data: phi = 2 V2 at the knots */
            if (!opt_flag(argc, argv, "--init-zero")) {
                sp_uf3_fit_desc_t ud;
                sp_uf3_fit_info_t ui;
                sp_config_t *ucf = NULL;
                int **ut = NULL;
                sp_pot_t up;
                sp_diag_t ug;
                memset(&ud, 0, sizeof ud);
                ud.nelem = ne; ud.r2min = rmin; ud.r2max = rcut; ud.n2 = 3 * (int)knots;
                for (e = 0; e < ne; ++e) ud.z[e] = zs[e];
                memset(&up, 0, sizeof up);
                if (fit_configs(&tr, train_path, zs, &ucf, &ut) && sp_uf3_fit(&ud, ucf, tr.n, &up, &ui, &ug) == SP_OK) {
                    for (q = 0; q < F.nfree; ++q) { /* phi of each pair (the same pair order as UF3's) */
                        const int idx = F.freemap[q], off = smeam_block_offset(&lay, idx);
                        const sp_uf3_pair_t *V2 = up.uf3.pair + idx / (lay.nr + 2);
                        double d;
                        if (smeam_block(&lay, idx) != 0 || off > lay.nr) continue;
                        if (off < lay.nr) /* knot values */
                            x0[q] = 2.0 * sp__uf3_pair_eval(V2, off == lay.nr - 1 ? rcut : rmin + (rcut - rmin) * off / (lay.nr - 1), &d);
                        else { /* d0 */
                            sp__uf3_pair_eval(V2, rmin, &d);
                            x0[q] = 2.0 * d;
                        }
                    }
                    fprintf(stderr, "smeam fit: start from a UF2 pair potential (%d coefficients)\n", ui.n_params);
                    sp_pot_free(&up);
                }
                fit_configs_free(&tr, ucf, ut);
            }
            cd.x0 = x0;
            cd = sp_cmaes_desc_defaults(&cd);
            F.lambda_cap = cd.popsize;
            F.nth = 1;
#ifdef SP__OMP
            F.nth = omp_get_max_threads();
#endif
            for (k = 0; k < tr.n; ++k) {
                size_t w = sp_smeam_sv_workspace_size(&F.sv[k], &lay, F.lambda_cap);
                if (w > maxw) maxw = w;
            }
            F.wbytes = (maxw + 63) & ~(size_t)63;
            F.fbytes = ((size_t)F.lambda_cap * 3 * F.maxn * sizeof(double) + 63) & ~(size_t)63;
            F.work = (char *)malloc(F.wbytes * F.nth);
            F.fbuf = (double *)malloc(F.fbytes * F.nth);
            F.E = (double *)malloc((size_t)tr.n * F.lambda_cap * sizeof(double));
            F.sse = (double *)malloc((size_t)tr.n * F.lambda_cap * sizeof(double));
            F.theta = (double *)malloc((size_t)F.lambda_cap * npar * sizeof(double));
            if (!F.work || !F.fbuf || !F.E || !F.sse || !F.theta || sp_cmaes_create(&es, &cd) != SP_OK) ok = !fail_msg("out of memory");
            free(x0);
            if (ok && opt_flag(argc, argv, "--gpu")) {
                const double **refs = (const double **)calloc((size_t)tr.n, sizeof(double *));
                sp_diag_t dg;
                for (k = 0; refs && k < tr.n; ++k) refs[k] = tr.f[k].forces;
                F.gE = (double *)malloc((size_t)tr.n * F.lambda_cap * sizeof(double));
                F.gS = (double *)malloc((size_t)tr.n * F.lambda_cap * sizeof(double));
                if (!refs || !F.gE || !F.gS) ok = !fail_msg("out of memory");
                else if (sp_cuda_sv_create(&F.gpu, &lay, F.sv, tr.n, refs, &dg) != SP_OK) ok = !fail_msg(dg.msg);
                free(refs);
                if (!ok) sp_cmaes_destroy(&es);
            }
        }
    }
    if (ok) {
        double *fv = (double *)malloc((size_t)F.lambda_cap * sizeof(double)), *re = (double *)malloc((size_t)F.lambda_cap * sizeof(double));
        double *rf = (double *)malloc((size_t)F.lambda_cap * sizeof(double)), *sh = (double *)malloc((size_t)F.lambda_cap * ne * sizeof(double));
        double best = HUGE_VAL, best_e = 0, best_f = 0, next_print = 0.0;
        fprintf(stderr, "smeam fit: %d configurations, %d free parameters, population %d, sigma0 %g, %.1f s setup\n",
                tr.n, F.nfree, F.lambda_cap, sigma0, now_seconds() - t0);
        for (gen = 0; gen < gens && sp_cmaes_stop(&es) == SP_CMAES_RUNNING; ++gen) {
            const double *popx;
            int lambda, p;
            if (sp_cmaes_ask(&es, &popx, &lambda) != SP_OK) break;
            smeam_loss(&F, popx, lambda, fv, re, rf, sh);
            if (F.gpu_failed) break;
            for (p = 0; p < lambda; ++p)
                if (fv[p] < best) {
                    best = fv[p]; best_e = re[p]; best_f = rf[p];
                    memcpy(best_shift, sh + (size_t)p * ne, (size_t)ne * sizeof(double));
                }
            sp_cmaes_tell(&es, fv);
            if (now_seconds() - t0 >= next_print) {
                fprintf(stderr, "smeam fit: generation %d, %lld evaluations, best loss %.6g (train %.2f meV/atom, %.4f eV/A), sigma %.3g, %.0f s\n",
                        gen + 1, (long long)es.evals, best, 1000 * best_e, best_f, es.sigma, now_seconds() - t0);
                next_print = now_seconds() - t0 + 10.0;
            }
            if (now_seconds() - t0 > 60.0 * minutes) break;
        }
        fprintf(stderr, "smeam fit: stopped after %d generations (%s), best loss %.6g\n", gen,
                sp_cmaes_stop(&es) == SP_CMAES_RUNNING ? "generation or time limit" : sp_cmaes_stop_str(sp_cmaes_stop(&es)), best);
        {
            const double *xb = sp_cmaes_best_x(&es);
            double *theta = (double *)calloc((size_t)npar, sizeof(double));
            for (q = 0; q < F.nfree; ++q) theta[F.freemap[q]] = xb[q];
            memset(&pot, 0, sizeof pot);
            ok = sp_smeam_layout_pot(&lay, theta, names, &pot) == SP_OK;
            if (F.gpu_failed) ok = !fail_msg(sp_cuda_last_error());
            free(theta);
        }
        free(fv); free(re); free(rf); free(sh);
        sp_cmaes_destroy(&es);
    }
    for (k = 0; k < tr.n; ++k) sp_smeam_sv_free(&F.sv[k]);
    free(F.sv); free(F.work); free(F.fbuf); free(F.E); free(F.sse); free(F.theta); free(F.freemap); free(F.frac);
    sp_cuda_sv_free(F.gpu); free(F.gE); free(F.gS);
    if (ok) ok = fit_rmse(&pot, train_path, &tr, test_path, &te, best_shift, &rtr, &rte);
    if (ok) {
        smeam_print_offsets(names, ne, best_shift, NULL, NULL);
        print_rmse_table(stdout, &rtr, te.n ? &rte : NULL);
        ok = write_model(&pot, outpath);
    }
    if (ok && report) {
        out_file_t of;
        if ((ok = out_open(&of, report))) {
            smeam_json_head(of.fp, outpath, names, ne);
            fprintf(of.fp, "  \"method\": \"CMA-ES over all parameters; energy constants by least squares\",\n");
            fprintf(of.fp, "  \"knots\": %ld,\n  \"rmin\": %.17g,\n  \"rcut\": %.17g,\n  \"generations\": %d,\n", knots, rmin, rcut, gen);
            smeam_json_constants(of.fp, names, ne, best_shift);
            fprintf(of.fp, "  \"n_params\": %d,\n  \"seconds\": %.3f,\n", F.nfree, now_seconds() - t0);
            json_rmse_end(of.fp, &rtr, te.n ? &rte : NULL);
            ok = out_close(&of, 1);
        }
    }
    if (ok || pot.mem) sp_pot_free(&pot);
    frames_free(&tr);
    frames_free(&te);
    return ok ? 0 : 1;
}

/* s-MEAM by variable projection (Vita & Trinkle 2021, sec. 3.3-3.4; Golub &
   Pereyra 1973): CMA-ES searches the parameters of rho, f and g only; for each
   candidate the parameters of phi and U and the energy constant, on which the
   loss is quadratic, are found by a small regularised linear least-squares
   solve (sp_smeam_sv_density, sp_smeam_sv_phi_rows, sp_smeam_sv_u_rows). */
typedef struct smvp_t {
    const sp_smeam_layout_t *lay;
    sp_smeam_sv_t *sv;
    const frames_t *fr;
    int nconf, npar, nfree, *freemap, maxn, lambda_cap, chunk, nth;
    int ne, npair;              /* elements, element pairs */
    int nphi, nlin;             /* linear unknowns: nphi of phi, ne (nu + 2) of U, ne constants */
    int *phimap;                /* phi parameter of each phi unknown (each pair's nr, in turn) */
    double kappa, std_e, std_f, std_s, mean_e, we, wf, ws, lam_curv, lam_ridge, upad;
    long nforce, nstress;
    double sw_e, sw_f, sw_s;     /* sums of the squared frame weights over the energies, force and stress components */
    size_t *noff, *dnoff, *foff; /* per configuration: offsets into nbuf, dnbuf, fphi */
    double *nbuf, *dnbuf;        /* densities and their bond derivatives, chunk sets per configuration */
    double *ephi, *fphi;         /* phi energy rows per atom (nconf x nphi), force rows (3 natoms x nphi) */
    double *frac;                /* nconf x ne: fraction of the atoms of each element */
    double *GFphi, *bFphi, yyF;  /* the candidate-independent force normal equations of phi */
    double *sphi;                /* nconf x 6 x nphi: phi stress rows (xx yy zz yz xz xy) of frames with a stress */
    double *GSphi, *bSphi, yyS;  /* and their normal equations */
    double *theta, *lin, *ulo, *uhi, *rmse_e, *rmse_f, *rmse_s; /* per candidate (U ranges: ne each) */
    char *work, *lwork;
    size_t wbytes, lbytes;
} smvp_t;

/* one force or stress row (phi part ph, U part u, target y), its square
   weighted by w2, into the upper triangle of the normal equations G, b (m
   unknowns: nphi of phi, then wu of U); its phi-phi block is constant and
   accumulated once, elsewhere */
static void smvp_add_row(double *G, double *b, int m, int nphi, int wu, const double *ph, const double *u, double y,
                         double w2) {
    int i, k;
    for (i = 0; i < nphi; ++i) {
        double *g = G + (size_t)i * m + nphi;
        const double pw = w2 * ph[i];
        for (k = 0; k < wu; ++k) g[k] += pw * u[k];
    }
    for (i = 0; i < wu; ++i) {
        double *g = G + (size_t)(nphi + i) * m + nphi;
        const double uw = w2 * u[i];
        for (k = i; k < wu; ++k) g[k] += uw * u[k];
        b[nphi + i] += uw * y;
    }
}

/* linear part of candidate p (set pl of the current chunk): U knot range of
   each element from its densities, normal equations over the training
   set, solve; returns the loss */
static double smvp_solve(smvp_t *F, int pl, int p, char *scratch) {
    const sp_smeam_layout_t *L0 = F->lay;
    const int m = F->nlin, nphi = F->nphi, ne = F->ne, nu2 = L0->nu + 2, wu = ne * nu2, oU = nphi, oc = nphi + wu;
    sp_smeam_layout_t lay = *L0;
    /* cppcheck-suppress invalidPointerCast ; scratch is a malloc'd block carved into doubles */
    double *GE = (double *)scratch, *GF = GE + (size_t)m * m, *GS = GF + (size_t)m * m, *G = GS + (size_t)m * m;
    double *P = G + (size_t)m * m, *bE = P + (size_t)m * m, *bF = bE + m, *bS = bF + m, *b = bS + m, *c = b + m;
    double *x = c + m, *eU = x + m, *sU = eU + wu, *WU = sU + wu, *FU = WU + 9 * (size_t)wu;
    char *uw = (char *)(FU + 3 * (size_t)F->maxn * wu), *sw;
    size_t uwb = (size_t)(F->maxn + L0->nu + 2) * nu2 * sizeof(double), swb = sp_ridge_solve_workspace_size(m);
    double lo[SP_MAX_ELEMENTS], hi[SP_MAX_ELEMENTS], yyE = 0.0, sE, sF, sS, tphi = 0.0, tU = 0.0;
    sp_ridge_solve_desc_t sd;
    int cfi, i, j, r, k, e;
    sw = uw + ((uwb + 63) & ~(size_t)63);
    for (e = 0; e < ne; ++e) lo[e] = HUGE_VAL, hi[e] = -HUGE_VAL;
    for (cfi = 0; cfi < F->nconf; ++cfi) {
        const int n = F->sv[cfi].natoms, *ty = F->sv[cfi].atype;
        const double *nv = F->nbuf + F->noff[cfi] + (size_t)pl * n;
        for (i = 0; i < n; ++i) {
            if (!(nv[i] == nv[i])) return HUGE_VAL;
            if (nv[i] < lo[ty[i]]) lo[ty[i]] = nv[i];
            if (nv[i] > hi[ty[i]]) hi[ty[i]] = nv[i];
        }
    }
    /* U knots on each element's densities' range, widened by upad of it on each side */
    for (e = 0; e < ne; ++e) {
        const double d = hi[e] - lo[e];
        if (!(d > 1e-9 * (fabs(lo[e]) + fabs(hi[e]))) || !(d > 1e-200) || !sp__isfinite(d)) return HUGE_VAL;
        lay.urange[e][0] = F->ulo[(size_t)p * ne + e] = lo[e] - F->upad * d;
        lay.urange[e][1] = F->uhi[(size_t)p * ne + e] = hi[e] + F->upad * d;
    }
    lay.ulo = lay.urange[0][0];
    lay.uhi = lay.urange[0][1];
    memset(GE, 0, sizeof(double) * (size_t)m * m * 3);
    memset(bE, 0, sizeof(double) * 3 * (size_t)m);
    for (i = 0; i < nphi; ++i) { /* constant phi-phi force and stress blocks */
        for (j = i; j < nphi; ++j) GF[(size_t)i * m + j] = F->GFphi[(size_t)i * nphi + j];
        bF[i] = F->bFphi[i];
        for (j = i; F->nstress && j < nphi; ++j) GS[(size_t)i * m + j] = F->GSphi[(size_t)i * nphi + j];
        if (F->nstress) bS[i] = F->bSphi[i];
    }
    for (cfi = 0; cfi < F->nconf; ++cfi) {
        const sp_frame_t *fr = F->fr->f + cfi;
        const int n = fr->natoms;
        const double *nv = F->nbuf + F->noff[cfi] + (size_t)pl * n;
        const double *dn = F->dnbuf + F->dnoff[cfi] + (size_t)pl * 3 * F->sv[cfi].nbonds;
        const double *fp = F->fphi + F->foff[cfi], *ref = fr->forces, *sp = F->sphi + (size_t)cfi * 6 * nphi;
        const int str = F->nstress && frame_has_stress(fr);
        const double w2 = frame_weight2(fr);
        double y = fr->energy / n - F->mean_e;
        if (sp_smeam_sv_u_rows(&F->sv[cfi], &lay, nv, dn, eU, ref ? FU : NULL, str ? WU : NULL, uw, uwb) != SP_OK)
            return HUGE_VAL;
        /* energy row per atom: (phi, U, the constant of each element times its fraction) */
        for (k = 0; k < nphi; ++k) x[k] = F->ephi[(size_t)cfi * nphi + k];
        for (k = 0; k < wu; ++k) x[oU + k] = eU[k] / n;
        for (e = 0; e < ne; ++e) x[oc + e] = F->frac[(size_t)cfi * ne + e];
        for (i = 0; i < m; ++i) {
            const double xw = w2 * x[i];
            for (j = i; j < m; ++j) GE[(size_t)i * m + j] += xw * x[j];
            bE[i] += xw * y;
        }
        yyE += w2 * y * y;
        for (r = 0; ref && r < 3 * n; ++r)
            smvp_add_row(GF, bF, m, nphi, wu, fp + (size_t)r * nphi, FU + (size_t)r * wu, ref[r], w2);
        for (r = 0; str && r < 6; ++r) { /* stress -W/V, Voigt order */
            const double *wq = WU + (size_t)VOIGT[r] * wu, vol = cell_volume(fr->cell);
            for (k = 0; k < wu; ++k) sU[k] = -wq[k] / vol;
            smvp_add_row(GS, bS, m, nphi, wu, sp + (size_t)r * nphi, sU, fr->stress[VOIGT[r]], w2);
        }
    }
    for (i = 0; i < m; ++i) {
        for (j = i; j < m; ++j)
            G[(size_t)i * m + j] = F->we * GE[(size_t)i * m + j] + F->wf * GF[(size_t)i * m + j] + F->ws * GS[(size_t)i * m + j];
        b[i] = F->we * bE[i] + F->wf * bF[i] + F->ws * bS[i];
    }
    /* penalties relative to the mean diagonal of each block: curvature of the
       knot values of every phi and U, a small ridge on all of their parameters */
    for (i = 0; i < nphi; ++i) tphi += G[(size_t)i * m + i];
    for (i = 0; i < wu; ++i) tU += G[(size_t)(oU + i) * m + oU + i];
    tphi /= nphi;
    tU /= wu;
    memset(P, 0, sizeof(double) * (size_t)m * m);
    for (k = 0; k < F->npair; ++k) sp_ridge_penalty_curvature(P, m, k * L0->nr, L0->nr - 1, F->lam_curv * tphi);
    for (e = 0; e < ne; ++e) sp_ridge_penalty_curvature(P, m, oU + e * nu2, L0->nu, F->lam_curv * tU);
    sp_ridge_penalty_ridge(P, m, 0, nphi, F->lam_ridge * tphi);
    sp_ridge_penalty_ridge(P, m, oU, wu, F->lam_ridge * tU);
    memset(&sd, 0, sizeof sd);
    sd.P = P;
    sd = sp_ridge_solve_desc_defaults(&sd);
    if (sp_ridge_solve_gram(m, G, m, b, &sd, c, NULL, sw, swb) != SP_OK) return HUGE_VAL;
    /* residual sums of squares from the normal equations (upper triangles) */
    sE = yyE;
    sF = F->yyF;
    sS = F->yyS;
    for (i = 0; i < m; ++i) {
        double qe = 0.0, qf = 0.0, qs = 0.0;
        for (j = i; j < m; ++j) {
            const double f2 = (j == i) ? 1.0 : 2.0;
            qe += f2 * GE[(size_t)i * m + j] * c[j];
            qf += f2 * GF[(size_t)i * m + j] * c[j];
            qs += f2 * GS[(size_t)i * m + j] * c[j];
        }
        sE += c[i] * (qe - 2.0 * bE[i]);
        sF += c[i] * (qf - 2.0 * bF[i]);
        sS += c[i] * (qs - 2.0 * bS[i]);
    }
    if (sE < 0.0) sE = 0.0;
    if (sF < 0.0) sF = 0.0;
    if (sS < 0.0) sS = 0.0;
    memcpy(F->lin + (size_t)p * m, c, (size_t)m * sizeof(double));
    /* (weighted, with weight= frames) */
    F->rmse_e[p] = sqrt(sE / F->sw_e);
    F->rmse_f[p] = F->nforce ? sqrt(sF / F->sw_f) : 0.0;
    F->rmse_s[p] = F->nstress ? sqrt(sS / F->sw_s) : 0.0;
    return F->we * sE + F->wf * sF + F->ws * sS;
}

static size_t smvp_scratch_bytes(const smvp_t *F) {
    const int m = F->nlin, nu2 = F->lay->nu + 2, wu = F->ne * nu2;
    size_t a = sizeof(double) * ((size_t)5 * m * m + 7 * (size_t)m + 11 * (size_t)wu + 3 * (size_t)F->maxn * wu);
    size_t u = (size_t)(F->maxn + F->lay->nu + 2) * nu2 * sizeof(double);
    return ((a + 63) & ~(size_t)63) + ((u + 63) & ~(size_t)63) + sp_ridge_solve_workspace_size(m) + 64;
}

/* loss of lambda free-parameter vectors x (lambda x nfree), in chunks of
   F->chunk candidates: densities of every configuration (parallel over
   configurations), then the linear solve of each candidate (parallel over
   candidates, each summed in configuration order: the result does not
   depend on the thread count) */
static void smvp_loss(smvp_t *F, const double *x, int lambda, double *out) {
    int p, c, q, p0;
    for (p = 0; p < lambda; ++p) {
        double *t = F->theta + (size_t)p * F->npar;
        memset(t, 0, (size_t)F->npar * sizeof(double));
        for (q = 0; q < F->nfree; ++q) t[F->freemap[q]] = x[(size_t)p * F->nfree + q];
    }
    for (p0 = 0; p0 < lambda; p0 += F->chunk) {
        const int pc = lambda - p0 < F->chunk ? lambda - p0 : F->chunk;
#ifdef SP__OMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(F->nth)
#endif
        for (c = 0; c < F->nconf; ++c) {
            int tid = 0;
#ifdef SP__OMP
            tid = omp_get_thread_num();
#endif
            sp_smeam_sv_density(&F->sv[c], F->lay, pc, F->theta + (size_t)p0 * F->npar, F->nbuf + F->noff[c],
                                F->dnbuf + F->dnoff[c], pc, F->work + (size_t)tid * F->wbytes, F->wbytes);
        }
#ifdef SP__OMP
#pragma omp parallel for schedule(dynamic, 1) num_threads(F->nth)
#endif
        for (p = 0; p < pc; ++p) {
            int tid = 0;
            double v;
#ifdef SP__OMP
            tid = omp_get_thread_num();
#endif
            v = smvp_solve(F, p, p0 + p, F->lwork + (size_t)tid * F->lbytes);
            out[p0 + p] = (v == v) ? v : HUGE_VAL;
        }
    }
}

/* the full parameter vector of candidate p (nonlinear x, solved linear part) */
static void smvp_assemble(const smvp_t *F, const double *x, const double *lin, double *theta) {
    const int oU = (F->npair + F->ne) * (F->lay->nr + 2), wu = F->ne * (F->lay->nu + 2);
    int q;
    memset(theta, 0, (size_t)F->npar * sizeof(double));
    for (q = 0; q < F->nfree; ++q) theta[F->freemap[q]] = x[q];
    for (q = 0; q < F->nphi; ++q) theta[F->phimap[q]] = lin[q];
    for (q = 0; q < wu; ++q) theta[oU + q] = lin[F->nphi + q];
}

static int cmd_fit_smeam(int argc, char **argv) {
    const char *train_path = opt_value(argc, argv, "--train"), *test_path = opt_value(argc, argv, "--test");
    const char *outpath = opt_value(argc, argv, "-o"), *report = opt_value(argc, argv, "--report");
    double rcut, rmin, sigma0, minutes, kappa, lam_curv, lam_ridge, upad, stress_w;
    long knots, uknots, pop, gens, seed, restarts;
    frames_t tr, te;
    sp_smeam_layout_t lay;
    smvp_t F;
    sp_cmaes_desc_t cd;
    sp_cmaes_t es;
    sp_pot_t pot;
    rmse_t rtr, rte;
    int k, ok = 1, z[SP_MAX_ELEMENTS], ne = 0, npar, q, e, gen = 0;
    double t0 = now_seconds(), best_shift[SP_MAX_ELEMENTS], *x0 = NULL, *best_x = NULL, *best_lin = NULL;
    double best = HUGE_VAL, best_e = 0, best_f = 0, best_s = 0, best_ulo[SP_MAX_ELEMENTS], best_uhi[SP_MAX_ELEMENTS];
    const char *names[SP_MAX_ELEMENTS];
    const char *method = opt_value(argc, argv, "--method");
    if (method && strcmp(method, "full") == 0) return cmd_fit_smeam_full(argc, argv);
    if (method && strcmp(method, "varpro") != 0) return fail_msg("fit smeam: --method is varpro or full");
    if (opt_flag(argc, argv, "--gpu")) return fail_msg("fit smeam: --gpu needs --method full");
    if (opt_flag(argc, argv, "--help") || !train_path || !outpath) {
        fputs("usage: splinepot fit smeam --train A.xyz [--test B.xyz] [--rcut R=5.2] [--rmin R=2.0] [--knots N=7]\n"
              "       [--uknots N=10] [--pop P=24] [--generations G=100000] [--minutes M=50] [--sigma S=0.3]\n"
              "       [--kappa K=0.8] [--stress S=0] [--restarts N=9] [--upad A=0.0] [--curv C=1e-6] [--ridge R=1e-9]\n"
              "       [--seed S=1] [--method varpro|full] -o X.meam.spline [--report R.json]\n"
              "  Any number of elements (those of the training set). rho, f: N knots on [rmin, rcut], zero\n"
              "  with zero slope at rcut; g: N knots on [-1, 1]. Minimises kappa (RMSE_E/std_E)^2 +\n"
              "  (1-kappa) (RMSE_F/std_F)^2 [+ S (RMSE_stress/std_stress)^2 over the frames with a stress,\n"
              "  periodic cells] over the training set, energies up to one constant per atom of\n"
              "  each element (meam/spline has no one-body term; the report states them). Variable\n"
              "  projection: CMA-ES (IPOP restarts, population doubling) searches rho, f and g; for each\n"
              "  candidate phi (N knots, zero with zero slope at rcut), U and the constants are solved\n"
              "  exactly by linear least squares with a curvature penalty C and a ridge R (relative to the\n"
              "  data). Each element's U gets --uknots knots spanning the candidate's densities of that\n"
              "  element's atoms on the training set, widened by A times their range on each side.\n"
              "  Stops after M minutes (the final evaluation and output take a few seconds more).\n"
              "  A training frame's weight=W (or config_weight=W) in its comment line counts it W^2 times.\n"
              "  --method full: the earlier CMA-ES over all parameters, with its own options and --gpu\n"
              "  (splinepot fit smeam --method full --help).\n",
              train_path && outpath ? stdout : stderr);
        return opt_flag(argc, argv, "--help") ? 0 : 2;
    }
    if (!opt_double(argc, argv, "--rcut", 5.2, &rcut) || !opt_double(argc, argv, "--rmin", 2.0, &rmin) ||
        !opt_long(argc, argv, "--knots", 7, &knots) || !opt_long(argc, argv, "--uknots", 10, &uknots) ||
        !opt_long(argc, argv, "--pop", 24, &pop) || !opt_long(argc, argv, "--generations", 100000, &gens) ||
        !opt_double(argc, argv, "--minutes", 50.0, &minutes) || !opt_double(argc, argv, "--sigma", 0.3, &sigma0) ||
        !opt_double(argc, argv, "--kappa", 0.8, &kappa) || !opt_long(argc, argv, "--seed", 1, &seed) ||
        !opt_long(argc, argv, "--restarts", 9, &restarts) || !opt_double(argc, argv, "--upad", 0.0, &upad) ||
        !opt_double(argc, argv, "--curv", 1e-6, &lam_curv) || !opt_double(argc, argv, "--ridge", 1e-9, &lam_ridge) ||
        !opt_double(argc, argv, "--stress", 0.0, &stress_w))
        return 2;
    if (knots < 3 || knots > 40 || uknots < 3 || uknots > 40 || !(rcut > rmin) || rmin <= 0 ||
        !(kappa > 0 && kappa < 1) || pop < 2 || pop > 4096 || gens < 1 || restarts < 0 || restarts > 12 ||
        !(sigma0 > 0) || !(upad >= 0 && upad <= 10) || !(lam_curv >= 0) || !(lam_ridge > 0) ||
        !(stress_w >= 0 && stress_w <= 1e6))
        return fail_msg("fit smeam: bad settings (knots and uknots 3..40, rcut > rmin > 0, kappa in (0,1), "
                        "pop 2..4096, restarts 0..12, sigma > 0, upad 0..10, curv >= 0, ridge > 0, stress 0..1e6)");
    if (!smeam_read_sets(train_path, test_path, &tr, &te, z, &ne, SP_MAX_ELEMENTS)) return 1;
    memset(&lay, 0, sizeof lay);
    lay.nr = (int)knots; lay.rlo = rmin; lay.rc = rcut; lay.nu = (int)uknots; lay.ulo = -1.0; lay.uhi = 1.0; lay.ng = (int)knots;
    lay.nelem = ne;
    npar = sp_smeam_layout_npar(&lay);
    for (e = 0; e < ne; ++e) names[e] = sp_element_symbol(z[e]), best_shift[e] = 0.0;
    memset(&F, 0, sizeof F);
    memset(&pot, 0, sizeof pot);
    F.lay = &lay;
    F.fr = &tr;
    F.nconf = tr.n;
    F.npar = npar;
    F.kappa = kappa;
    F.lam_curv = lam_curv;
    F.lam_ridge = lam_ridge;
    F.upad = upad;
    F.ne = ne;
    F.npair = ne * (ne + 1) / 2;
    F.freemap = (int *)malloc((size_t)npar * sizeof(int));
    F.phimap = (int *)malloc((size_t)npar * sizeof(int));
    for (q = 0; F.freemap && F.phimap && q < npar; ++q) {
        const int blk = smeam_block(&lay, q), off = smeam_block_offset(&lay, q);
        /* phi, rho, f: y_last and dN fixed at 0 */
        if (blk != 2 && blk != 4 && (off == lay.nr - 1 || off == lay.nr + 1)) continue;
        if (blk == 0) F.phimap[F.nphi++] = q;      /* linear */
        else if (blk != 2) F.freemap[F.nfree++] = q; /* rho, f, g: CMA-ES */
    }
    F.nlin = F.nphi + ne * (lay.nu + 2) + ne;
    /* structure vectors, phi design and target statistics of the training set */
    F.sv = (sp_smeam_sv_t *)calloc((size_t)tr.n, sizeof(sp_smeam_sv_t));
    F.noff = (size_t *)calloc((size_t)tr.n * 3 + 3, sizeof(size_t));
    F.dnoff = F.noff + tr.n + 1;
    F.foff = F.dnoff + tr.n + 1;
    F.ephi = (double *)calloc((size_t)tr.n * F.nphi + 1, sizeof(double));
    F.frac = (double *)calloc((size_t)tr.n * ne, sizeof(double));
    F.sphi = (double *)calloc((size_t)tr.n * 6 * F.nphi + 1, sizeof(double));
    F.GFphi = (double *)calloc(2 * ((size_t)F.nphi * F.nphi + F.nphi), sizeof(double));
    F.bFphi = F.GFphi + (size_t)F.nphi * F.nphi;
    F.GSphi = F.bFphi + F.nphi;
    F.bSphi = F.GSphi + (size_t)F.nphi * F.nphi;
    if (!F.sv || !F.noff || !F.ephi || !F.frac || !F.sphi || !F.GFphi || !F.freemap || !F.phimap)
        ok = !fail_msg("out of memory");
    {
        double st[6] = {0, 0, 0, 0, 0, 0}, ss[2] = {0, 0}; /* smeam_sv_frame's sums; weighted stress, stress^2 */
        size_t maxw = 0, nn = 0, ndn = 0, nf = 0;
        const int wp = F.npair * (lay.nr + 2);
        for (k = 0; k < tr.n && ok; ++k) {
            const sp_frame_t *f = tr.f + k;
            int i;
            if (!smeam_sv_frame(f, &lay, z, &F.sv[k], train_path, k, st, &F.nforce)) {
                ok = 0;
                break;
            }
            for (i = 0; i < f->natoms; ++i) F.frac[(size_t)k * ne + F.sv[k].atype[i]] += 1.0 / f->natoms;
            if (f->natoms > F.maxn) F.maxn = f->natoms;
            F.foff[k] = nf;
            nf += (size_t)3 * f->natoms * F.nphi;
        }
        if (ok) {
            double *row = (double *)malloc(3 * (size_t)F.maxn * wp * sizeof(double));
            double *er = (double *)malloc((size_t)wp * sizeof(double)), *vr = (double *)malloc((size_t)wp * 9 * sizeof(double));
            F.fphi = (double *)malloc((nf + 1) * sizeof(double));
            if (!row || !er || !vr || !F.fphi) ok = !fail_msg("out of memory");
            for (k = 0; k < tr.n && ok; ++k) { /* phi rows (free columns) and its force normal equations */
                const sp_frame_t *f = tr.f + k;
                int r, i, j;
                const int str = stress_w > 0 && frame_has_stress(f);
                const double w2 = frame_weight2(f);
                sp_smeam_sv_phi_rows(&F.sv[k], er, row, str ? vr : NULL);
                for (r = 0; str && r < 6; ++r) { /* phi stress rows -W/V and their normal equations */
                    double *sq = F.sphi + ((size_t)k * 6 + r) * F.nphi, y = f->stress[VOIGT[r]];
                    for (i = 0; i < F.nphi; ++i) sq[i] = -vr[(size_t)VOIGT[r] * wp + F.phimap[i]] / cell_volume(f->cell);
                    for (i = 0; i < F.nphi; ++i) {
                        const double qw = w2 * sq[i];
                        for (j = i; j < F.nphi; ++j) F.GSphi[(size_t)i * F.nphi + j] += qw * sq[j];
                        F.bSphi[i] += qw * y;
                    }
                    F.yyS += w2 * y * y;
                    F.sw_s += w2;
                    ss[0] += w2 * y;
                    ss[1] += w2 * y * y;
                    ++F.nstress;
                }
                for (i = 0; i < F.nphi; ++i) F.ephi[(size_t)k * F.nphi + i] = er[F.phimap[i]] / f->natoms;
                for (r = 0; r < 3 * f->natoms; ++r) {
                    double *fq = F.fphi + F.foff[k] + (size_t)r * F.nphi;
                    for (i = 0; i < F.nphi; ++i) fq[i] = row[(size_t)r * wp + F.phimap[i]];
                    if (!f->forces) continue;
                    for (i = 0; i < F.nphi; ++i) {
                        const double qw = w2 * fq[i];
                        for (j = i; j < F.nphi; ++j) F.GFphi[(size_t)i * F.nphi + j] += qw * fq[j];
                        F.bFphi[i] += qw * f->forces[r];
                    }
                    F.yyF += w2 * f->forces[r] * f->forces[r];
                }
            }
            free(row);
            free(er);
            free(vr);
        }
        if (ok) {
            /* weighted by the frames' weight= (so a weight sqrt 2 counts a frame twice) */
            F.sw_e = st[4];
            F.sw_f = st[5];
            F.mean_e = st[0] / st[4];
            smeam_target_std(st, &F.std_e, &F.std_f);
            F.we = kappa / (st[4] * F.std_e * F.std_e);
            F.wf = F.nforce ? (1.0 - kappa) / (st[5] * F.std_f * F.std_f) : 0.0;
            if (stress_w > 0 && !F.nstress) ok = !fail_msg("fit smeam: --stress needs training frames with a stress= (periodic cells)");
            if (F.nstress) {
                const double ms = ss[0] / F.sw_s;
                F.std_s = sqrt(ss[1] / F.sw_s - ms * ms);
                if (!(F.std_s > 1e-12)) F.std_s = 1.0;
                F.ws = stress_w / (F.sw_s * F.std_s * F.std_s);
            }
            memset(&cd, 0, sizeof cd);
            cd.dim = F.nfree;
            cd.sigma0 = sigma0;
            cd.popsize = (int)pop;
            cd.seed = (uint64_t)seed;
            cd.tolfun = 1e-12;
            cd.restarts = (int)restarts;
            x0 = (double *)calloc((size_t)F.nfree, sizeof(double));
            best_x = (double *)calloc((size_t)F.nfree, sizeof(double));
            best_lin = (double *)calloc((size_t)F.nlin, sizeof(double));
            /* start: rho(r) = (1-t)^3, f(r) = (1-t)^2, t = (r - rmin)/(rcut - rmin); g = 1 */
            for (q = 0; x0 && q < F.nfree; ++q) {
                const int blk = smeam_block(&lay, F.freemap[q]), off = smeam_block_offset(&lay, F.freemap[q]);
                const double pw = blk == 1 ? 3.0 : 2.0;
                if (blk == 4) x0[q] = off < lay.ng ? 1.0 : 0.0;
                else if (off < lay.nr) x0[q] = pow(1.0 - (double)off / (lay.nr - 1), pw);
                else x0[q] = -pw / (rcut - rmin); /* d0 */
            }
            cd.x0 = x0;
            cd = sp_cmaes_desc_defaults(&cd);
            F.nth = 1;
#ifdef SP__OMP
            F.nth = omp_get_max_threads();
#endif
            if (!x0 || !best_x || !best_lin || sp_cmaes_create(&es, &cd) != SP_OK) ok = !fail_msg("out of memory");
            else {
                F.lambda_cap = es.lambda_max;
                F.chunk = F.lambda_cap < 32 ? F.lambda_cap : 32; /* densities kept for 32 candidates at most */
                for (k = 0; k < tr.n; ++k) {
                    size_t w = sp_smeam_sv_workspace_size(&F.sv[k], &lay, F.chunk);
                    if (w > maxw) maxw = w;
                    F.noff[k] = nn;
                    F.dnoff[k] = ndn;
                    nn += (size_t)F.sv[k].natoms * F.chunk;
                    ndn += (size_t)3 * F.sv[k].nbonds * F.chunk;
                }
                F.wbytes = (maxw + 63) & ~(size_t)63;
                F.lbytes = (smvp_scratch_bytes(&F) + 63) & ~(size_t)63;
                F.work = (char *)malloc(F.wbytes * F.nth);
                F.lwork = (char *)malloc(F.lbytes * F.nth);
                F.nbuf = (double *)malloc((nn + 1) * sizeof(double));
                F.dnbuf = (double *)malloc((ndn + 1) * sizeof(double));
                F.theta = (double *)malloc((size_t)F.lambda_cap * npar * sizeof(double));
                F.lin = (double *)malloc((size_t)F.lambda_cap * F.nlin * sizeof(double));
                F.ulo = (double *)malloc((size_t)F.lambda_cap * (2 * ne + 3) * sizeof(double));
                if (!F.work || !F.lwork || !F.nbuf || !F.dnbuf || !F.theta || !F.lin || !F.ulo) {
                    ok = !fail_msg("out of memory (reduce --pop or --restarts)");
                    sp_cmaes_destroy(&es);
                } else {
                    F.uhi = F.ulo + (size_t)F.lambda_cap * ne;
                    F.rmse_e = F.uhi + (size_t)F.lambda_cap * ne;
                    F.rmse_f = F.rmse_e + F.lambda_cap;
                    F.rmse_s = F.rmse_f + F.lambda_cap;
                }
            }
            free(x0);
        }
    }
    if (ok) {
        double *fv = (double *)malloc((size_t)F.lambda_cap * sizeof(double)), next_print = 0.0;
        int last_run = 0;
        fprintf(stderr, "smeam fit: %d configurations, %d element%s, %d CMA-ES parameters (rho, f, g), %d linear (phi, U, "
                        "constants), population %d (up to %d with restarts), sigma0 %g, %.1f s setup\n",
                tr.n, ne, ne > 1 ? "s" : "", F.nfree, F.nlin, cd.popsize, F.lambda_cap, sigma0, now_seconds() - t0);
        for (gen = 0; fv && gen < gens && sp_cmaes_stop(&es) == SP_CMAES_RUNNING; ++gen) {
            const double *popx;
            int lambda, p;
            if (sp_cmaes_ask(&es, &popx, &lambda) != SP_OK) break;
            smvp_loss(&F, popx, lambda, fv);
            for (p = 0; p < lambda; ++p)
                if (fv[p] < best) {
                    best = fv[p]; best_e = F.rmse_e[p]; best_f = F.rmse_f[p]; best_s = F.rmse_s[p];
                    memcpy(best_ulo, F.ulo + (size_t)p * ne, (size_t)ne * sizeof(double));
                    memcpy(best_uhi, F.uhi + (size_t)p * ne, (size_t)ne * sizeof(double));
                    memcpy(best_x, popx + (size_t)p * F.nfree, (size_t)F.nfree * sizeof(double));
                    memcpy(best_lin, F.lin + (size_t)p * F.nlin, (size_t)F.nlin * sizeof(double));
                }
            sp_cmaes_tell(&es, fv);
            if (es.run != last_run) {
                fprintf(stderr, "smeam fit: restart %d (population %d) after %s, %.0f s\n", es.run, es.lambda,
                        sp_cmaes_stop_str((sp_cmaes_stop_t)es.run_stop), now_seconds() - t0);
                last_run = es.run;
            }
            if (now_seconds() - t0 >= next_print) {
                char sline[64] = "";
                if (F.nstress) snprintf(sline, sizeof sline, ", %.3f GPa", SP_EV_A3_TO_GPA * best_s);
                fprintf(stderr, "smeam fit: generation %d, %lld evaluations, best loss %.6g (train %.2f meV/atom, %.4f eV/A%s), "
                                "sigma %.3g, %.0f s\n", gen + 1, (long long)es.evals, best, 1000 * best_e, best_f, sline, es.sigma,
                        now_seconds() - t0);
                next_print = now_seconds() - t0 + 10.0;
            }
            if (now_seconds() - t0 > 60.0 * minutes) break;
        }
        fprintf(stderr, "smeam fit: stopped after %d generations (%s), best loss %.6g\n", gen,
                sp_cmaes_stop(&es) == SP_CMAES_RUNNING ? "generation or time limit" : sp_cmaes_stop_str(sp_cmaes_stop(&es)), best);
        ok = fv && best < HUGE_VAL;
        if (!ok) fprintf(stderr, "error: fit smeam: no candidate gave a finite loss\n");
        if (ok) {
            double *theta = (double *)calloc((size_t)npar, sizeof(double));
            for (e = 0; e < ne; ++e) {
                lay.urange[e][0] = best_ulo[e];
                lay.urange[e][1] = best_uhi[e];
                best_shift[e] = best_lin[F.nlin - ne + e] + F.mean_e;
            }
            lay.ulo = best_ulo[0];
            lay.uhi = best_uhi[0];
            smvp_assemble(&F, best_x, best_lin, theta);
            ok = theta && sp_smeam_layout_pot(&lay, theta, names, &pot) == SP_OK;
            free(theta);
        }
        free(fv);
        sp_cmaes_destroy(&es);
    }
    for (k = 0; F.sv && k < tr.n; ++k) sp_smeam_sv_free(&F.sv[k]);
    free(F.sv); free(F.work); free(F.lwork); free(F.nbuf); free(F.dnbuf); free(F.theta); free(F.lin); free(F.ulo);
    free(F.freemap); free(F.phimap); free(F.noff); free(F.ephi); free(F.frac); free(F.sphi); free(F.fphi); free(F.GFphi);
    free(best_x); free(best_lin);
    if (ok) ok = fit_rmse(&pot, train_path, &tr, test_path, &te, best_shift, &rtr, &rte);
    if (ok) {
        smeam_print_offsets(names, ne, best_shift, best_ulo, best_uhi);
        print_rmse_table(stdout, &rtr, te.n ? &rte : NULL);
        ok = write_model(&pot, outpath);
    }
    if (ok && report) {
        out_file_t of;
        if ((ok = out_open(&of, report))) {
            smeam_json_head(of.fp, outpath, names, ne);
            fprintf(of.fp, "  \"method\": \"variable projection: CMA-ES over rho, f, g; phi, U, constants by linear least squares\",\n");
            fprintf(of.fp, "  \"knots\": %ld,\n  \"u_knots\": %ld,\n  \"rmin\": %.17g,\n  \"rcut\": %.17g,\n  \"generations\": %d,\n",
                    knots, uknots, rmin, rcut, gen);
            fprintf(of.fp, "  \"kappa\": %.17g,\n  \"stress_weight\": %.17g,\n", kappa, stress_w);
            fprintf(of.fp, "  \"u_range\": {");
            for (e = 0; e < ne; ++e) fprintf(of.fp, "%s\"%s\": [%.17g, %.17g]", e ? ", " : "", names[e], best_ulo[e], best_uhi[e]);
            fprintf(of.fp, "},\n");
            smeam_json_constants(of.fp, names, ne, best_shift);
            fprintf(of.fp, "  \"n_params\": %d,\n  \"n_params_cmaes\": %d,\n  \"n_params_linear\": %d,\n  \"seconds\": %.3f,\n",
                    F.nfree + F.nlin, F.nfree, F.nlin, now_seconds() - t0);
            json_rmse_end(of.fp, &rtr, te.n ? &rte : NULL);
            ok = out_close(&of, 1);
        }
    }
    if (pot.mem) sp_pot_free(&pot);
    frames_free(&tr);
    frames_free(&te);
    return ok ? 0 : 1;
}

#include "fit_snnp.c"
#include "melt.c"

/* --------------------------------------------------------------------- rdf */

/* g_ab(r) (acc) and the counts per a atom (accn, may be NULL), ne x ne x
   nbins, averaged over the frames of fr after the first skip; types from the
   element list z (ne). Returns the frames used, 0 with an error message. */
static int rdf_average(const char *xyz, const frames_t *fr, const int *z, int ne, double rmax, int nbins, long skip,
                       double *acc, double *accn) {
    const size_t nh = (size_t)ne * ne * nbins;
    double *hist = (double *)calloc(nh, sizeof(double));
    int k, a, b, q, used = 0, ok = hist != NULL;
    sp_nlist_t nl;
    memset(&nl, 0, sizeof nl);
    memset(acc, 0, nh * sizeof(double));
    if (accn) memset(accn, 0, nh * sizeof(double));
    if (!ok) fail_msg("out of memory");
    for (k = (int)(skip < fr->n ? skip : fr->n); k < fr->n && ok; ++k) {
        const sp_frame_t *f = &fr->f[k];
        int *type = (int *)malloc((size_t)f->natoms * sizeof(int) + 1), cnt[SP_MAX_ELEMENTS];
        double vol = 0.0;
        sp_cell_t cell;
        sp_diag_t diag;
        sp_result_t r;
        memset(&diag, 0, sizeof diag);
        if (!type) { ok = fail_msg("out of memory") == 0; break; }
        frame_types(f, z, ne, type, cnt);
        frame_cell(f, &cell);
        if (!f->has_cell || !cell.pbc[0] || !cell.pbc[1] || !cell.pbc[2] || sp_cell_check(&cell, &vol) != SP_OK) {
            fprintf(stderr, "error: %s:%d: frame %d: the rdf needs a cell periodic in x, y and z\n", xyz, fr->line[k], k + 1);
            ok = 0;
        } else if ((r = sp_nlist_build(&nl, &cell, f->pos, f->natoms, rmax, &diag)) != SP_OK) {
            fprintf(stderr, "error: %s:%d: frame %d: %s\n", xyz, fr->line[k], k + 1, diag.msg);
            ok = 0;
        } else {
            memset(hist, 0, nh * sizeof(double));
            sp_rdf_add(&nl, type, ne, rmax, nbins, hist);
            for (a = 0; a < ne; ++a)
                for (b = 0; b < ne; ++b) {
                    const double pairs = (double)cnt[a] * (double)(cnt[b] - (a == b));
                    for (q = 0; q < nbins && pairs > 0.0; ++q) {
                        const double r0 = rmax * q / nbins, r1 = rmax * (q + 1) / nbins;
                        const double shell = 4.0 / 3.0 * 3.14159265358979323846 * (r1 * r1 * r1 - r0 * r0 * r0);
                        const size_t o = ((size_t)a * ne + b) * nbins + q;
                        acc[o] += hist[o] * vol / (pairs * shell);
                        if (accn) accn[o] += hist[o] / cnt[a];
                    }
                }
            ++used;
        }
        free(type);
    }
    if (ok && used == 0) ok = fail_msg("rdf: no frames left after --skip") == 0;
    for (k = 0; ok && (size_t)k < nh; ++k) {
        acc[k] /= used;
        if (accn) accn[k] /= used;
    }
    free(hist);
    sp_nlist_free(&nl);
    return ok ? used : 0;
}

/* splinepot rdf TRAJ.xyz: the partial radial distribution functions g_ab(r)
   and coordination numbers, averaged over the periodic frames of a
   trajectory (an md --dump, AIMD data); with --ref, their mean absolute
   difference from another trajectory's */
static int cmd_rdf(int argc, char **argv) {
    static const char *const withv[] = {"--rmax", "--bins", "--skip", "--ref", "-o", NULL};
    const char *xyz = positional(argc, argv, 0, withv), *outpath = opt_value(argc, argv, "-o");
    const char *refpath = opt_value(argc, argv, "--ref");
    double rmax, *acc = NULL, *accn = NULL, *racc = NULL;
    long nbins, skip;
    int z[SP_MAX_ELEMENTS], ne, a, b, q, used = 0, ok = 1;
    frames_t fr, rf;
    out_file_t of;
    if (opt_flag(argc, argv, "--help") || !xyz) {
        fputs("usage: splinepot rdf TRAJ.xyz [--rmax R=6] [--bins N=120] [--skip K=0] [--ref REF.xyz] [-o RDF.dat]\n"
              "  The partial radial distribution functions g_ab(r) of every pair of elements and\n"
              "  their coordination numbers n_ab(r) (neighbours of type b within r of an a atom),\n"
              "  averaged over the frames after the first K (all periodic in x, y and z), with\n"
              "  the normalisation of LAMMPS compute rdf; one row per bin (r at its centre).\n"
              "  --ref: also REF.xyz's g_ab (after the same K frames), and on stdout the mean\n"
              "  absolute difference of each g_ab over the bins (the RDF MAE of potential\n"
              "  benchmarks against AIMD).\n",
              xyz ? stdout : stderr);
        return xyz ? 0 : 2;
    }
    if (!opt_double(argc, argv, "--rmax", 6.0, &rmax) || !opt_long(argc, argv, "--bins", 120, &nbins) ||
        !opt_long(argc, argv, "--skip", 0, &skip))
        return 1;
    if (!(rmax > 0.0 && rmax < 1e3) || nbins < 1 || nbins > 100000 || skip < 0)
        return fail_msg("rdf: --rmax in (0, 1000), --bins in 1..100000, --skip >= 0");
    if (!read_frames(xyz, &fr)) return 1;
    if (refpath && !read_frames(refpath, &rf)) return frames_free(&fr), 1;
    ne = collect_elements(&fr, refpath ? &rf : NULL, z);
    if (ne < 1) ok = fail_msg("rdf: more elements than SP_MAX_ELEMENTS") == 0;
    if (ok) {
        const size_t nh = (size_t)ne * ne * nbins;
        acc = (double *)malloc(nh * sizeof(double));
        accn = (double *)malloc(nh * sizeof(double));
        racc = (double *)malloc((refpath ? nh : 1) * sizeof(double));
        if (!acc || !accn || !racc) ok = fail_msg("out of memory") == 0;
    }
    if (ok) ok = (used = rdf_average(xyz, &fr, z, ne, rmax, (int)nbins, skip, acc, accn)) > 0;
    if (ok && refpath) ok = rdf_average(refpath, &rf, z, ne, rmax, (int)nbins, skip, racc, NULL) > 0;
    if (ok && refpath) {
        printf("# g_ab(r) of %s against %s: mean absolute difference over %ld bins to %g A\n", xyz, refpath, nbins, rmax);
        for (a = 0; a < ne; ++a)
            for (b = a; b < ne; ++b) {
                double mae = 0.0;
                for (q = 0; q < nbins; ++q) {
                    const size_t o = ((size_t)a * ne + b) * nbins + q;
                    mae += fabs(acc[o] - racc[o]);
                }
                printf("rdf_mae %s%s %.8g\n", sp_element_symbol(z[a]), sp_element_symbol(z[b]), mae / nbins);
            }
    }
    if (ok && (ok = out_open(&of, outpath)) != 0) {
        double *coord = (double *)calloc((size_t)ne * ne, sizeof(double));
        fprintf(of.fp, "# radial distribution of %s: %d frames, %ld bins to %g A; g_ab and n_ab per pair%s%s\n# r", xyz, used,
                nbins, rmax, refpath ? ", then g_ab of " : "", refpath ? refpath : "");
        for (a = 0; a < ne; ++a)
            for (b = a; b < ne; ++b)
                fprintf(of.fp, " g_%s%s n_%s%s", sp_element_symbol(z[a]), sp_element_symbol(z[b]), sp_element_symbol(z[a]),
                        sp_element_symbol(z[b]));
        for (a = 0; refpath && a < ne; ++a)
            for (b = a; b < ne; ++b) fprintf(of.fp, " ref_g_%s%s", sp_element_symbol(z[a]), sp_element_symbol(z[b]));
        fputc('\n', of.fp);
        for (q = 0; q < nbins && coord; ++q) {
            fprintf(of.fp, "%.6f", rmax * (q + 0.5) / nbins);
            for (a = 0; a < ne; ++a)
                for (b = a; b < ne; ++b) {
                    const size_t o = ((size_t)a * ne + b) * nbins + q;
                    coord[a * ne + b] += accn[o];
                    fprintf(of.fp, " %.8g %.8g", acc[o], coord[a * ne + b]);
                }
            for (a = 0; refpath && a < ne; ++a)
                for (b = a; b < ne; ++b) fprintf(of.fp, " %.8g", racc[((size_t)a * ne + b) * nbins + q]);
            fputc('\n', of.fp);
        }
        if (!coord) ok = fail_msg("out of memory") == 0;
        free(coord);
        ok = out_close(&of, ok);
    }
    free(acc);
    free(accn);
    free(racc);
    frames_free(&fr);
    if (refpath) frames_free(&rf);
    return ok ? 0 : 1;
}

/* --------------------------------------------------------------------- msd */

/* splinepot msd TRAJ.xyz: the mean square displacement of each element from
   the first frame, with positions unwrapped between frames (each step taken
   as its nearest periodic image, in that frame's cell), and the diffusion
   coefficient MSD / 6 t fitted over the second half */
static int cmd_msd(int argc, char **argv) {
    static const char *const withv[] = {"--dt", "-o", NULL};
    const char *xyz = positional(argc, argv, 0, withv), *outpath = opt_value(argc, argv, "-o");
    double dtf, *u = NULL, *msd = NULL, g[9], vol;
    int z[SP_MAX_ELEMENTS], cnt[SP_MAX_ELEMENTS], *type = NULL, ne, n, k, i, d, e, ok = 1;
    frames_t fr;
    out_file_t of;
    if (opt_flag(argc, argv, "--help") || !xyz) {
        fputs("usage: splinepot msd TRAJ.xyz [--dt PS=1] [-o MSD.dat]\n"
              "  The mean square displacement of each element from the first frame (A^2), the\n"
              "  positions unwrapped between frames (each step taken to its nearest periodic\n"
              "  image in that frame's cell, so frames must be closer than half a cell width;\n"
              "  wrapped or unwrapped input alike), a row per frame at time k * PS (ps); last,\n"
              "  each element's diffusion coefficient D = slope / 6 of a least-squares line\n"
              "  through the second half of the frames (A^2/ps; x 1e-4 for cm^2/s).\n",
              xyz ? stdout : stderr);
        return xyz ? 0 : 2;
    }
    if (!opt_double(argc, argv, "--dt", 1.0, &dtf)) return 1;
    if (!(dtf > 0.0 && dtf < 1e9)) return fail_msg("msd: --dt must be positive");
    if (!read_frames(xyz, &fr)) return 1;
    n = fr.f[0].natoms;
    ne = collect_elements(&fr, NULL, z);
    if (ne < 1) return frames_free(&fr), fail_msg("msd: more elements than SP_MAX_ELEMENTS");
    if (fr.n < 2) return frames_free(&fr), fail_msg("msd: needs at least two frames");
    u = (double *)malloc(3 * (size_t)n * sizeof(double) + 8);
    type = (int *)malloc((size_t)n * sizeof(int) + 1);
    msd = (double *)calloc((size_t)fr.n * ne, sizeof(double));
    if (!u || !type || !msd) ok = fail_msg("out of memory") == 0;
    if (ok) {
        frame_types(&fr.f[0], z, ne, type, cnt);
        memcpy(u, fr.f[0].pos, 3 * (size_t)n * sizeof(double));
    }
    for (k = 1; k < fr.n && ok; ++k) {
        const sp_frame_t *f = &fr.f[k], *p = &fr.f[k - 1];
        sp_cell_t cell;
        frame_cell(f, &cell);
        if (f->natoms != n) {
            fprintf(stderr, "error: %s:%d: frame %d has %d atoms, the first %d\n", xyz, fr.line[k], k + 1, f->natoms, n);
            ok = 0;
            break;
        }
        for (i = 0; i < n && f->z[i] == fr.f[0].z[i]; ++i) {}
        if (i < n) {
            fprintf(stderr, "error: %s:%d: frame %d: atom %d is %s, in the first frame %s\n", xyz, fr.line[k], k + 1,
                    i + 1, sp_element_symbol(f->z[i]), sp_element_symbol(fr.f[0].z[i]));
            ok = 0;
            break;
        }
        vol = 0.0;
        if (f->has_cell && (cell.pbc[0] || cell.pbc[1] || cell.pbc[2])) {
            if (sp_cell_check(&cell, &vol) != SP_OK) {
                fprintf(stderr, "error: %s:%d: frame %d: degenerate cell\n", xyz, fr.line[k], k + 1);
                ok = 0;
                break;
            }
            sp__inv3(cell.h, sp__det3(cell.h), g);
        }
        for (i = 0; i < n; ++i) {
            double dx[3], s[3], r2 = 0.0;
            for (d = 0; d < 3; ++d) dx[d] = f->pos[3 * i + d] - p->pos[3 * i + d];
            if (vol > 0.0) { /* the nearest image of the step along the periodic directions */
                for (d = 0; d < 3; ++d) {
                    s[d] = dx[0] * g[d] + dx[1] * g[3 + d] + dx[2] * g[6 + d];
                    s[d] = cell.pbc[d] ? floor(s[d] + 0.5) : 0.0;
                }
                for (d = 0; d < 3; ++d) dx[d] -= s[0] * cell.h[d] + s[1] * cell.h[3 + d] + s[2] * cell.h[6 + d];
            }
            for (d = 0; d < 3; ++d) {
                u[3 * i + d] += dx[d];
                r2 += (u[3 * i + d] - fr.f[0].pos[3 * i + d]) * (u[3 * i + d] - fr.f[0].pos[3 * i + d]);
            }
            msd[(size_t)k * ne + type[i]] += r2 / cnt[type[i]];
        }
    }
    if (ok && (ok = out_open(&of, outpath)) != 0) {
        fprintf(of.fp, "# mean square displacement (A^2) of %s: %d frames, %g ps apart\n# t_ps", xyz, fr.n, dtf);
        for (e = 0; e < ne; ++e) fprintf(of.fp, " msd_%s", sp_element_symbol(z[e]));
        fputc('\n', of.fp);
        for (k = 0; k < fr.n; ++k) {
            fprintf(of.fp, "%.6f", k * dtf);
            for (e = 0; e < ne; ++e) fprintf(of.fp, " %.10g", msd[(size_t)k * ne + e]);
            fputc('\n', of.fp);
        }
        for (e = 0; e < ne; ++e) { /* least squares over frames fr.n / 2 .. fr.n - 1 */
            double st = 0.0, sm = 0.0, stt = 0.0, stm = 0.0, m = 0.0;
            for (k = fr.n / 2; k < fr.n; ++k, m += 1.0) {
                const double t = k * dtf, y = msd[(size_t)k * ne + e];
                st += t; sm += y; stt += t * t; stm += t * y;
            }
            fprintf(of.fp, "# D_%s %.8g A^2/ps (slope / 6 over the second half)\n", sp_element_symbol(z[e]),
                    m > 1.0 ? (m * stm - st * sm) / (m * stt - st * st) / 6.0 : 0.0);
        }
        ok = out_close(&of, ok);
    }
    free(u);
    free(type);
    free(msd);
    frames_free(&fr);
    return ok ? 0 : 1;
}

static int cmd_fit(int argc, char **argv) {
    const char *what = argc > 0 ? argv[0] : NULL;
    if (what && strcmp(what, "uf3") == 0) return cmd_fit_uf3(argc - 1, argv + 1);
    if (what && strcmp(what, "smeam") == 0) return cmd_fit_smeam(argc - 1, argv + 1);
    if (what && strcmp(what, "snnp") == 0) return cmd_fit_snnp(argc - 1, argv + 1);
    fputs("usage: splinepot fit uf3|smeam|snnp --train A.xyz [--test B.xyz] [options] -o MODEL [--report R.json]\n", stderr);
    return 2;
}

/* -------------------------------------------------------------------- demo */

/* s-MEAM silicon (Lenosky et al. 2000, LAMMPS's Si_1.meam.spline): forces
   against finite differences, then 2 ps of NVE MD of 512 atoms started at
   2000 K (about 1000 K after equipartition); exits non-zero when a check
   fails. */
static int demo_smeam(int argc, char **argv) {
    const char *potdir = opt_value(argc, argv, "--potentials");
    char path[2048];
    enum { NC = 4, N = 8 * NC * NC * NC, STEPS = 2000 };
    static double pos[3 * N], v[3 * N], F[3 * N], mass[N];
    double cell[9], e, ep, em, worst = 0.0, e0 = 0.0, emax = 0.0, dt = 1e-3, t0, eq = 0.0;
    int type[N], pbc[3] = {1, 1, 1}, i, k, step, builds = 0;
    sp_pot_t pot;
    sp_diag_t diag;
    rng_t rng;
    sp_nlist_t nl;
    sp_work_t ws;
    sp_cell_t c;
    sp_out_t res;
    snprintf(path, sizeof path, "%s/Si_1.meam.spline", potdir ? potdir : "/usr/share/lammps/potentials");
    memset(&diag, 0, sizeof diag);
    memset(&pot, 0, sizeof pot);
    if (sp_pot_read_file(&pot, path, &diag) != SP_OK) {
        fprintf(stderr, "error: %s: %s (install the Debian package lammps-data, or pass --potentials DIR)\n",
                path, diag.msg);
        return 1;
    }
    printf("splinepot demo: s-MEAM Si (%s), %d atoms of diamond Si\n", path, N);
    rng.s = 2026;
    diamond(NC, 5.431, pos, cell, &rng);
    for (i = 0; i < N; ++i) {
        type[i] = 0;
        mass[i] = sp_element_mass(14);
    }
    if (sp_pot_compute_once(&pot, N, pos, type, cell, pbc, &e, F, NULL, NULL, &diag) != SP_OK)
        return fail_msg(diag.msg);
    for (k = 0; k < 60; ++k) { /* 60 random coordinates, central differences h = 1e-5 A */
        int q = (int)(rng_uniform(&rng) * 3 * N);
        double xq = pos[q], fd;
        pos[q] = xq + 1e-5;
        sp_pot_compute_once(&pot, N, pos, type, cell, pbc, &ep, NULL, NULL, NULL, &diag);
        pos[q] = xq - 1e-5;
        sp_pot_compute_once(&pot, N, pos, type, cell, pbc, &em, NULL, NULL, NULL, &diag);
        pos[q] = xq;
        fd = -(ep - em) / 2e-5;
        if (fabs(fd - F[q]) > worst) worst = fabs(fd - F[q]);
    }
    printf("E = %.10f eV (%.6f eV/atom); max |F + dE/dx| over 60 coordinates: %.2e eV/A\n", e, e / N, worst);
    memset(&nl, 0, sizeof nl);
    memset(&ws, 0, sizeof ws);
    memset(&res, 0, sizeof res);
    for (k = 0; k < 9; ++k) c.h[k] = cell[k];
    c.pbc[0] = c.pbc[1] = c.pbc[2] = 1;
    for (i = 0; i < 3 * N; ++i) v[i] = rng_gauss(&rng) * sqrt(BOLTZ * 2000.0 / (mass[0] * MVV2E));
    res.forces = F;
    t0 = now_seconds();
    for (step = 0; step <= STEPS; ++step) { /* velocity Verlet, 1 fs, 1 A skin */
        double ke;
        if (step > 0)
            for (i = 0; i < N; ++i)
                for (k = 0; k < 3; ++k) {
                    v[3 * i + k] += 0.5 * dt * F[3 * i + k] / (mass[i] * MVV2E);
                    pos[3 * i + k] += dt * v[3 * i + k];
                }
        if (step == 0 || sp_nlist_stale(&nl, pos, pot.cutoff)) {
            if (sp_nlist_build(&nl, &c, pos, N, pot.cutoff + 1.0, &diag) != SP_OK) return fail_msg(diag.msg);
            ++builds;
        } else {
            sp_nlist_update(&nl, pos);
        }
        if (sp_pot_compute(&pot, &nl, type, &ws, &res) != SP_OK) return fail_msg("compute failed");
        if (step > 0)
            for (i = 0; i < 3 * N; ++i) v[i] += 0.5 * dt * F[i] / (mass[i / 3] * MVV2E);
        ke = kinetic(N, v, mass);
        if (step == 0) e0 = res.energy + ke;
        if (step == 500) eq = res.energy + ke; /* kinetic energy equilibrated after 0.5 ps */
        if (step >= 500 && fabs(res.energy + ke - eq) > emax) emax = fabs(res.energy + ke - eq);
        if (step % 500 == 0)
            printf("  t = %4.1f ps  E_pot = %.6f eV  T = %6.1f K  E_tot - E_0 = %+.2e eV/atom\n", step * dt,
                   res.energy, 2.0 * ke / (3.0 * (N - 1) * BOLTZ), (res.energy + ke - e0) / N);
    }
    printf("NVE: after equilibration (0.5 ps) max |E_tot - E(0.5 ps)| = %.2e eV/atom over %d steps;\n"
           "     %d neighbour builds, %.2f us/atom-step\n",
           emax / N, STEPS, builds, 1e6 * (now_seconds() - t0) / ((double)N * (STEPS + 1)));
    sp_work_free(&ws);
    sp_nlist_free(&nl);
    sp_pot_free(&pot);
    if (worst > 1e-7 || emax / N > 1e-4) {
        printf("demo: FAILED (force check %.2e, drift %.2e)\n", worst, emax / N);
        return 1;
    }
    printf("demo: OK (forces equal -dE/dx, energy conserved)\n");
    return 0;
}

/* A diamond-Si cell (2x2x2 conventional, 64 atoms, some with a vacancy),
   randomly strained (|e| <= 4 %) and displaced (sigma 0.02..0.25 A), labelled
   by the Stillinger-Weber teacher; no two atoms closer than 1.9 A. */
static void sw_frame(rng_t *rng, sp_frame_t *f, sp_nlist_t *nl) {
    double pos[3 * 64], cell[9], e[9] = {0}, h[9], sig = 0.02 + 0.23 * rng_uniform(rng);
    int n = 64, i, a, b, vac = rng_uniform(rng) < 0.2, ok;
    sp_cell_t c;
    sp_diag_t dg;
    do {
        rng_t r2 = *rng;
        diamond(2, 5.431, pos, cell, &r2);
        for (a = 0; a < 3; ++a)
            for (b = a; b < 3; ++b) e[3 * a + b] = e[3 * b + a] = (a == b ? 0.08 : 0.05) * (rng_uniform(rng) - 0.5);
        for (a = 0; a < 9; ++a) h[a] = cell[a];
        for (a = 0; a < 3; ++a) /* rows: h_a += e . h_a */
            for (b = 0; b < 3; ++b) h[3 * a + b] = cell[3 * a + b] + e[3 * b + 0] * cell[3 * a + 0] + e[3 * b + 1] * cell[3 * a + 1] + e[3 * b + 2] * cell[3 * a + 2];
        for (i = 0; i < 64; ++i) {
            double x[3];
            for (a = 0; a < 3; ++a) x[a] = pos[3 * i + a] + e[3 * a + 0] * pos[3 * i] + e[3 * a + 1] * pos[3 * i + 1] + e[3 * a + 2] * pos[3 * i + 2];
            for (a = 0; a < 3; ++a) pos[3 * i + a] = x[a] + sig * rng_gauss(rng);
        }
        n = vac ? 63 : 64;
        memcpy(c.h, h, sizeof h);
        c.pbc[0] = c.pbc[1] = c.pbc[2] = 1;
        ok = sp_nlist_build(nl, &c, pos, n, 1.9, &dg) == SP_OK && nl->n_entries == 0;
    } while (!ok);
    memset(f, 0, sizeof *f);
    f->natoms = n;
    f->has_cell = 1;
    memcpy(f->cell, h, sizeof h);
    f->pbc[0] = f->pbc[1] = f->pbc[2] = 1;
    f->pos = (double *)malloc(3 * (size_t)n * sizeof(double));
    f->z = (int *)malloc((size_t)n * sizeof(int));
    f->forces = (double *)malloc(3 * (size_t)n * sizeof(double));
    memcpy(f->pos, pos, 3 * (size_t)n * sizeof(double));
    for (i = 0; i < n; ++i) f->z[i] = 14;
    sp_nlist_build(nl, &c, f->pos, n, SW_CUTOFF, &dg);
    f->energy = sw_compute(nl, f->forces);
    f->has_energy = 1;
}

static int write_frames(const char *path, const frames_t *fr) {
    out_file_t of;
    int k;
    if (!out_open(&of, path)) return 0;
    for (k = 0; k < fr->n; ++k) sp_xyz_write_frame(of.fp, fr->f + k, "config_type=sw_teacher");
    return out_close(&of, 1);
}

/* The UF3 paper's exact-retrieval experiment on built-in defaults: data from
   a Stillinger-Weber silicon teacher (examples/sw_silicon.h), a UF2,3 fit
   by ridge regression, train and held-out errors, the model for LAMMPS and a
   drawing of its splines. Exits non-zero when the held-out errors exceed
   1 meV/atom or 0.02 eV/A. */
static int demo_uf3(int argc, char **argv) {
    const char *dir = opt_value(argc, argv, "--dir");
    enum { NTRAIN = 100, NTEST = 40 };
    char mpath[1024], spath[1024], trpath[1024], tepath[1024];
    frames_t tr, te;
    sp_nlist_t nl;
    rng_t rng;
    int k, ok;
    double t0 = now_seconds();
    char *av[32];
    int ac = 0;
    if (!dir) dir = "build/demo";
    mkdir(dir, 0755);
    snprintf(mpath, sizeof mpath, "%s/si_sw.uf3", dir);
    snprintf(spath, sizeof spath, "%s/si_sw.svg", dir);
    snprintf(trpath, sizeof trpath, "%s/sw_train.xyz", dir);
    snprintf(tepath, sizeof tepath, "%s/sw_test.xyz", dir);
    printf("splinepot demo: UF3 exact retrieval (Xie, Rupp & Hennig 2023)\n"
           "  teacher: Stillinger-Weber silicon (examples/sw_silicon.h)\n"
           "  data: %d training and %d held-out strained/displaced diamond-Si cells (64 atoms, some with a vacancy)\n",
           NTRAIN, NTEST);
    memset(&nl, 0, sizeof nl);
    rng.s = 2023;
    tr.n = NTRAIN; te.n = NTEST;
    tr.f = (sp_frame_t *)calloc(NTRAIN, sizeof(sp_frame_t));
    te.f = (sp_frame_t *)calloc(NTEST, sizeof(sp_frame_t));
    tr.line = te.line = NULL;
    for (k = 0; k < NTRAIN; ++k) sw_frame(&rng, tr.f + k, &nl);
    for (k = 0; k < NTEST; ++k) sw_frame(&rng, te.f + k, &nl);
    sp_nlist_free(&nl);
    ok = write_frames(trpath, &tr) && write_frames(tepath, &te);
    frames_free(&tr);
    frames_free(&te);
    if (!ok) return 1;
    printf("  fit: splinepot fit uf3 --train %s --test %s --r2 1.5:3.8:24 --r3 1.5:3.8:12 -o %s\n", trpath, tepath, mpath);
    fflush(stdout);
    av[ac++] = (char *)"--train"; av[ac++] = trpath;
    av[ac++] = (char *)"--test"; av[ac++] = tepath;
    av[ac++] = (char *)"--r2"; av[ac++] = (char *)"1.5:3.8:24";
    av[ac++] = (char *)"--r3"; av[ac++] = (char *)"1.5:3.8:12";
    av[ac++] = (char *)"-o"; av[ac++] = mpath;
    if (cmd_fit_uf3(ac, av) != 0) return 1;
    /* the written model, read back, against the held-out frames and LAMMPS's own SW frames */
    {
        sp_pot_t pot;
        rmse_t rte, rlmp;
        frames_t lmp;
        int pass;
        if (!load_potential(mpath, &pot) || !read_frames(tepath, &te)) return 1;
        ok = frames_rmse(&pot, tepath, &te, &rte);
        frames_free(&te);
        printf("  model %s read back: held-out %.4f meV/atom, %.5f eV/A\n", mpath, rte.e_meV, rte.f_eVA);
        if (tu_exists_quiet("tests/data/lmp_Si.sw.xyz") && read_frames("tests/data/lmp_Si.sw.xyz", &lmp)) {
            frames_t sub;
            /* the LAMMPS frames near equilibrium: +-10 % volume (frames 2, 3) */
            sub.f = lmp.f + 1;
            sub.line = lmp.line + 1;
            sub.n = 2;
            if (frames_rmse(&pot, "tests/data/lmp_Si.sw.xyz", &sub, &rlmp))
                printf("  on LAMMPS pair_style sw frames at +-10 %% volume: %.4f meV/atom, %.5f eV/A\n", rlmp.e_meV, rlmp.f_eVA);
            frames_free(&lmp);
        }
        sp_pot_free(&pot);
        pass = ok && rte.e_meV <= 1.0 && rte.f_eVA <= 0.02;
        av[0] = mpath; av[1] = (char *)"-o"; av[2] = spath;
        if (cmd_plot(3, av) == 0) printf("  splines drawn: %s\n", spath);
        printf("demo: %s (held-out %.3f meV/atom <= 1, %.4f eV/A <= 0.02) in %.1f s\n", pass ? "OK" : "FAILED",
               rte.e_meV, rte.f_eVA, now_seconds() - t0);
        return pass ? 0 : 1;
    }
}

static int cmd_demo(int argc, char **argv) {
    if (argc > 0 && strcmp(argv[0], "smeam") == 0) return demo_smeam(argc - 1, argv + 1);
    if (opt_flag(argc, argv, "--help")) {
        fputs("usage: splinepot demo [--dir DIR=build/demo]   UF3 exact retrieval of Stillinger-Weber Si\n"
              "       splinepot demo smeam [--potentials DIR]  s-MEAM Si: forces vs finite differences, NVE\n",
              stdout);
        return 0;
    }
    return demo_uf3(argc, argv);
}

int main(int argc, char **argv) {
    const char *cmd = argc > 1 ? argv[1] : NULL;
    if (!cmd || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage_text, cmd ? stdout : stderr);
        return cmd ? 0 : 2;
    }
    {
        static const struct {
            const char *name;
            int (*run)(int, char **);
        } cmds[] = {{"eval", cmd_eval},       {"md", cmd_md},       {"mc", cmd_mc},       {"plot", cmd_plot},
                    {"convert", cmd_convert}, {"props", cmd_props},     {"phonons", cmd_phonons}, {"gsfe", cmd_gsfe}, {"melt", cmd_melt}, {"bench", cmd_bench},
                    {"fit", cmd_fit},         {"demo", cmd_demo},   {"filters", cmd_filters}, {"rdf", cmd_rdf},
                    {"msd", cmd_msd}};
        size_t k;
        for (k = 0; k < sizeof cmds / sizeof cmds[0]; ++k)
            if (strcmp(cmd, cmds[k].name) == 0) {
                const int rc = cmds[k].run(argc - 2, argv + 2);
                char label[64];
                const int sub = argc > 2 && argv[2][0] != '-' &&
                                (strcmp(cmd, "bench") == 0 || strcmp(cmd, "fit") == 0 || strcmp(cmd, "demo") == 0);
                snprintf(label, sizeof label, "%s%s%.40s", cmd, sub ? " " : "", sub ? argv[2] : "");
                if (rc == 0) opt_warn_unused(argc - 2 - sub, argv + 2 + sub, label);
                return rc;
            }
    }
    fprintf(stderr, "error: unknown command '%s'\n%s", cmd, usage_text);
    return 2;
}
