/* Neighbour lists against brute-force enumeration over periodic images, on
   random triclinic cells with mixed periodicity, including 1- and 2-atom
   cells whose width is a third of the cutoff; the radial-distribution
   histogram (sp_rdf_add) against the same enumeration and against the
   shells of rock salt. */
#define _POSIX_C_SOURCE 200809L
#include "../splinepot.h"
#include "sp_test.h"
#include "test_util.h"
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static uint64_t rng_state = 12345;
static double urand(void) {
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng_state >> 11) * (1.0 / 9007199254740992.0);
}

typedef struct { int j; double r; } nb_t;
static int cmp_nb(const void *a, const void *b) {
    const nb_t *x = (const nb_t *)a, *y = (const nb_t *)b;
    if (x->j != y->j) return x->j - y->j;
    return (x->r > y->r) - (x->r < y->r);
}

/* brute force: every image T of every atom j with |x_j + T.h - x_i| < rc */
static int brute(const sp_cell_t *c, const double *pos, int n, double rc, int i, nb_t *out, int cap) {
    double w[3], vol = 1.0;
    int M[3], d, cnt = 0, tx, ty, tz, j;
    double h[9];
    sp_cell_check(c, &vol);
    memcpy(h, c->h, sizeof h);
    for (d = 0; d < 3; ++d) {
        double cr[3];
        const double *a = h + 3 * ((d + 1) % 3), *b = h + 3 * ((d + 2) % 3);
        cr[0] = a[1] * b[2] - a[2] * b[1]; cr[1] = a[2] * b[0] - a[0] * b[2]; cr[2] = a[0] * b[1] - a[1] * b[0];
        w[d] = vol / sqrt(cr[0] * cr[0] + cr[1] * cr[1] + cr[2] * cr[2]);
        M[d] = c->pbc[d] ? (int)ceil(rc / w[d]) + 3 : 0;
    }
    for (j = 0; j < n; ++j)
        for (tx = -M[0]; tx <= M[0]; ++tx)
            for (ty = -M[1]; ty <= M[1]; ++ty)
                for (tz = -M[2]; tz <= M[2]; ++tz) {
                    double dx[3], r2 = 0;
                    if (j == i && tx == 0 && ty == 0 && tz == 0) continue;
                    for (d = 0; d < 3; ++d) {
                        dx[d] = pos[3 * j + d] + tx * h[d] + ty * h[3 + d] + tz * h[6 + d] - pos[3 * i + d];
                        r2 += dx[d] * dx[d];
                    }
                    if (r2 < rc * rc && cnt < cap) { out[cnt].j = j; out[cnt].r = sqrt(r2); ++cnt; }
                }
    return cnt;
}

static void random_cell(sp_cell_t *c, int n, double *pos, double *rc) {
    int d, k;
    double L = 2.0 + 8.0 * urand();
    for (k = 0; k < 9; ++k) c->h[k] = 0.0;
    for (d = 0; d < 3; ++d) {
        c->h[4 * d] = L * (0.6 + 0.8 * urand());
        c->pbc[d] = urand() < 0.7;
    }
    c->h[3] = (urand() - 0.5) * L * 0.8;
    c->h[6] = (urand() - 0.5) * L * 0.8;
    c->h[7] = (urand() - 0.5) * L * 0.8;
    if (urand() < 0.3) { /* fully general orientation */
        c->h[1] = (urand() - 0.5) * L * 0.5;
        c->h[2] = (urand() - 0.5) * L * 0.5;
        c->h[5] = (urand() - 0.5) * L * 0.5;
    }
    for (k = 0; k < n; ++k)
        for (d = 0; d < 3; ++d) /* some atoms outside the cell */
            pos[3 * k + d] = (urand() * 1.6 - 0.3) * c->h[4 * d] + (urand() - 0.5);
    *rc = (n <= 2) ? 3.0 * L : 0.5 + urand() * 1.2 * L;
}

/* n atoms in a periodic triclinic cell (or a dense cluster in an open one):
   the lists of 1 and 3 threads are identical, order included, and those of
   a few atoms equal brute force. Large enough for the threaded build; the
   cluster (half the atoms in a dense core) outgrows the build's first guess
   of the list's length. */
static void big_cell(int n, int cluster) {
    enum { NCHECK = 2, CAP = 4000 };
    static nb_t bf[CAP], nl_nb[CAP];
    double *pos = (double *)malloc(3 * (size_t)n * sizeof(double)), rc = cluster ? 4.0 : 2.0;
    sp_nlist_t nl[2];
    sp_cell_t c;
    sp_diag_t diag;
    int i, d, k, run, bad = 0;
    memset(nl, 0, sizeof nl);
    memset(&c, 0, sizeof c);
    c.h[0] = 30.0; c.h[3] = 4.0; c.h[4] = 28.0; c.h[6] = -3.0; c.h[7] = 5.0; c.h[8] = 26.0;
    for (d = 0; d < 3; ++d) c.pbc[d] = !cluster;
    for (i = 0; i < 3 * n; ++i) pos[i] = !cluster ? 32.0 * urand() - 1.0 : i < 3 * n / 2 ? 5.25 + 1.5 * urand() : 12.0 * urand();
    for (run = 0; run < 2; ++run) {
#ifdef _OPENMP
        omp_set_num_threads(run == 0 ? 1 : 3);
#endif
        SP_CHECK(sp_nlist_build(&nl[run], &c, pos, n, rc, &diag) == SP_OK);
    }
    SP_CHECK(nl[0].n_entries == nl[1].n_entries);
    if (nl[0].n_entries == nl[1].n_entries) {
        SP_CHECK(memcmp(nl[0].first, nl[1].first, (n + 1) * sizeof(int)) == 0);
        SP_CHECK(memcmp(nl[0].j, nl[1].j, nl[0].n_entries * sizeof(int)) == 0);
        SP_CHECK(memcmp(nl[0].rev, nl[1].rev, nl[0].n_entries * sizeof(int)) == 0);
    }
    for (k = 0; k < NCHECK; ++k) {
        int nbf, cnt = 0, b;
        i = (int)(urand() * n);
        nbf = brute(&c, pos, n, rc, i, bf, CAP);
        for (b = nl[0].first[i]; b < nl[0].first[i + 1] && cnt < CAP; ++b) {
            int g = nl[0].j[b];
            double r2 = 0;
            for (d = 0; d < 3; ++d) r2 += (nl[0].xe[3 * g + d] - nl[0].xe[3 * i + d]) * (nl[0].xe[3 * g + d] - nl[0].xe[3 * i + d]);
            nl_nb[cnt].j = nl[0].owner[g];
            nl_nb[cnt++].r = sqrt(r2);
            if (nl[0].rev[nl[0].rev[b]] != b || nl[0].owner[nl[0].j[nl[0].rev[b]]] != i) ++bad;
        }
        if (cnt != nbf) { ++bad; continue; }
        qsort(bf, nbf, sizeof(nb_t), cmp_nb);
        qsort(nl_nb, cnt, sizeof(nb_t), cmp_nb);
        for (b = 0; b < cnt; ++b)
            if (bf[b].j != nl_nb[b].j || fabs(bf[b].r - nl_nb[b].r) > 1e-9 * (1 + rc)) ++bad;
    }
    SP_CHECK(bad == 0);
    sp_nlist_free(&nl[0]);
    sp_nlist_free(&nl[1]);
    free(pos);
}

/* `splinepot rdf` ($SPLINEPOT) on two frames of rock salt (NaCl, 1.01 a and
   1.05 a, so that the shells fall inside bins): the coordination column
   reaches 6 unlike and 12 like neighbours past the first shells, and in the
   bin of either frame's first shell g is that frame's 6 neighbours over the
   ideal gas's count there, halved by the average over the frames; --ref
   against the first frame alone gives the mean |g - g_ref| of the two
   files' columns */
static void check_tool_rdf(const double *pos, const int *type, int n, double a) {
    const char *tool = getenv("SPLINEPOT");
    const double rmax = 4.5, dr = 0.05, sc[2] = {1.01, 1.05};
    char dir[64], path[128], cmd[512], line[1024];
    double gref[2];
    int k, i, rows = 0, seen = 0, bin[2];
    FILE *fp;
    if (!tool || access(tool, X_OK) != 0) {
        printf("splinepot rdf: skipped (no $SPLINEPOT)\n");
        return;
    }
    strcpy(dir, "/tmp/splinepot_rdf_XXXXXX");
    if (!mkdtemp(dir)) { SP_CHECK(0); return; }
    snprintf(path, sizeof path, "%s/nacl.xyz", dir);
    fp = fopen(path, "w");
    for (k = 0; k < 2 && fp; ++k) {
        const double L = 2.0 * a * sc[k];
        double r0, r1;
        bin[k] = (int)(0.5 * a * sc[k] / dr);
        r0 = bin[k] * dr;
        r1 = r0 + dr;
        gref[k] = 0.5 * 6.0 * L * L * L / ((n / 2) * 4.0 / 3.0 * 3.14159265358979323846 * (r1 * r1 * r1 - r0 * r0 * r0));
        fprintf(fp, "%d\nLattice=\"%.17g 0 0 0 %.17g 0 0 0 %.17g\" Properties=species:S:1:pos:R:3 pbc=\"T T T\"\n", n, L, L, L);
        for (i = 0; i < n; ++i)
            fprintf(fp, "%s %.17g %.17g %.17g\n", type[i] ? "Cl" : "Na", sc[k] * pos[3 * i], sc[k] * pos[3 * i + 1],
                    sc[k] * pos[3 * i + 2]);
    }
    if (fp) fclose(fp);
    snprintf(cmd, sizeof cmd, "'%s' rdf '%s/nacl.xyz' --rmax %g --bins %d -o '%s/rdf.dat'", tool, dir, rmax,
             (int)(rmax / dr + 0.5), dir);
    SP_CHECK(system(cmd) == 0);
    snprintf(path, sizeof path, "%s/rdf.dat", dir);
    fp = fopen(path, "r");
    while (fp && fgets(line, sizeof line, fp)) { /* r g_NaNa n_NaNa g_NaCl n_NaCl g_ClCl n_ClCl */
        double r, g[3], c[3];
        if (line[0] == '#') continue;
        if (sscanf(line, "%lf %lf %lf %lf %lf %lf %lf", &r, &g[0], &c[0], &g[1], &c[1], &g[2], &c[2]) != 7) break;
        for (k = 0; k < 2; ++k)
            if (rows == bin[k]) { SP_CHECK_NEAR(g[1], gref[k], 1e-7, 0); ++seen; }
        if (fabs(r - 2.675) < 1e-9) { SP_CHECK_NEAR(c[1], 6.0, 0, 1e-7); ++seen; } /* past both first shells */
        if (fabs(r - 3.725) < 1e-9) { SP_CHECK_NEAR(c[0], 12.0, 0, 1e-7); SP_CHECK_NEAR(c[2], 12.0, 0, 1e-7); ++seen; }
        ++rows;
    }
    if (fp) fclose(fp);
    SP_CHECK(rows == 90 && seen == 4);
    { /* --ref: against the first frame alone, the mean |g - g_ref| of the two files' columns */
        double ga[3][90] = {{0}}, gb[3][90] = {{0}}, mae[3] = {0, 0, 0}, v;
        char name[8];
        int which, p, got = 0;
        snprintf(path, sizeof path, "%s/nacl.xyz", dir);
        fp = fopen(path, "r");
        {
            FILE *o;
            snprintf(path, sizeof path, "%s/one.xyz", dir);
            o = fopen(path, "w");
            for (i = 0; o && fp && i < n + 2 && fgets(line, sizeof line, fp); ++i) fputs(line, o);
            if (o) fclose(o);
        }
        if (fp) fclose(fp);
        snprintf(cmd, sizeof cmd, "'%s' rdf '%s/one.xyz' --rmax %g --bins 90 -o '%s/one.dat' && '%s' rdf '%s/nacl.xyz' "
                 "--rmax %g --bins 90 --ref '%s/one.xyz' > '%s/mae.txt'", tool, dir, rmax, dir, tool, dir, rmax, dir, dir);
        SP_CHECK(system(cmd) == 0);
        for (which = 0; which < 2; ++which) {
            snprintf(path, sizeof path, which ? "%s/one.dat" : "%s/rdf.dat", dir);
            fp = fopen(path, "r");
            k = 0;
            while (fp && k < 90 && fgets(line, sizeof line, fp)) {
                double r, g[3], c[3];
                if (line[0] == '#' || sscanf(line, "%lf %lf %lf %lf %lf %lf %lf", &r, &g[0], &c[0], &g[1], &c[1], &g[2], &c[2]) != 7)
                    continue;
                for (p = 0; p < 3; ++p) (which ? gb : ga)[p][k] = g[p];
                ++k;
            }
            if (fp) fclose(fp);
            SP_CHECK(k == 90);
        }
        for (p = 0; p < 3; ++p)
            for (k = 0; k < 90; ++k) mae[p] += fabs(ga[p][k] - gb[p][k]) / 90.0;
        snprintf(path, sizeof path, "%s/mae.txt", dir);
        fp = fopen(path, "r");
        while (fp && fgets(line, sizeof line, fp))
            if (sscanf(line, "rdf_mae %7s %lf", name, &v) == 2) {
                p = strcmp(name, "NaNa") == 0 ? 0 : strcmp(name, "NaCl") == 0 ? 1 : 2;
                SP_CHECK_NEAR(v, mae[p], 1e-6, 1e-9);
                ++got;
            }
        if (fp) fclose(fp);
        SP_CHECK(got == 3 && mae[1] > 0.1);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("could not remove %s\n", dir);
    printf("splinepot rdf: rock salt coordination 6 and 12 and the first shells' g as counted (%d checks)\n", seen);
}

/* `splinepot msd` ($SPLINEPOT) on a made-up trajectory in a triclinic cell:
   atom i of element e moves along its own direction by sqrt(6 D_e t) (D 0.3
   and 0.05 A^2/ps), written wrapped into the cell, so the tool must unwrap
   the steps to find MSD = 6 D t, and the fitted D */
static void check_tool_msd(void) {
    enum { N = 10, NF = 12 };
    const char *tool = getenv("SPLINEPOT");
    const double h[9] = {10, 0, 0, 2, 9, 0, 1, 1.5, 11}, D[2] = {0.3, 0.05}, dt = 0.5;
    double x0[3 * N], dir[3 * N], g[9], det;
    char dir_[64], path[128], cmd[512], line[1024];
    int i, k, d, rows = 0, nd = 0;
    FILE *fp;
    if (!tool || access(tool, X_OK) != 0) {
        printf("splinepot msd: skipped (no $SPLINEPOT)\n");
        return;
    }
    det = h[0] * (h[4] * h[8] - h[5] * h[7]) - h[1] * (h[3] * h[8] - h[5] * h[6]) + h[2] * (h[3] * h[7] - h[4] * h[6]);
    g[0] = (h[4] * h[8] - h[5] * h[7]) / det; g[1] = (h[2] * h[7] - h[1] * h[8]) / det; g[2] = (h[1] * h[5] - h[2] * h[4]) / det;
    g[3] = (h[5] * h[6] - h[3] * h[8]) / det; g[4] = (h[0] * h[8] - h[2] * h[6]) / det; g[5] = (h[2] * h[3] - h[0] * h[5]) / det;
    g[6] = (h[3] * h[7] - h[4] * h[6]) / det; g[7] = (h[1] * h[6] - h[0] * h[7]) / det; g[8] = (h[0] * h[4] - h[1] * h[3]) / det;
    for (i = 0; i < N; ++i) {
        double u[3], nrm = 0.0;
        for (d = 0; d < 3; ++d) { x0[3 * i + d] = 10.0 * urand(); u[d] = urand() - 0.5; nrm += u[d] * u[d]; }
        for (d = 0; d < 3; ++d) dir[3 * i + d] = u[d] / sqrt(nrm);
    }
    strcpy(dir_, "/tmp/splinepot_msd_XXXXXX");
    if (!mkdtemp(dir_)) { SP_CHECK(0); return; }
    snprintf(path, sizeof path, "%s/traj.xyz", dir_);
    fp = fopen(path, "w");
    for (k = 0; k < NF && fp; ++k) {
        fprintf(fp, "%d\nLattice=\"", N);
        for (d = 0; d < 9; ++d) fprintf(fp, d ? " %g" : "%g", h[d]);
        fprintf(fp, "\" Properties=species:S:1:pos:R:3 pbc=\"T T T\"\n");
        for (i = 0; i < N; ++i) {
            const double s = sqrt(6.0 * D[i % 2] * k * dt);
            double x[3], f[3];
            for (d = 0; d < 3; ++d) x[d] = x0[3 * i + d] + s * dir[3 * i + d];
            for (d = 0; d < 3; ++d) f[d] = x[0] * g[d] + x[1] * g[3 + d] + x[2] * g[6 + d];
            for (d = 0; d < 3; ++d) f[d] -= floor(f[d]); /* wrapped */
            for (d = 0; d < 3; ++d) x[d] = f[0] * h[d] + f[1] * h[3 + d] + f[2] * h[6 + d];
            fprintf(fp, "%s %.17g %.17g %.17g\n", i % 2 ? "Cl" : "Na", x[0], x[1], x[2]);
        }
    }
    if (fp) fclose(fp);
    snprintf(cmd, sizeof cmd, "'%s' msd '%s/traj.xyz' --dt %g -o '%s/msd.dat'", tool, dir_, dt, dir_);
    SP_CHECK(system(cmd) == 0);
    snprintf(path, sizeof path, "%s/msd.dat", dir_);
    fp = fopen(path, "r");
    while (fp && fgets(line, sizeof line, fp)) { /* t msd_Na msd_Cl, then "# D_Na ..." lines */
        double t, m[2], dd;
        char el[8];
        if (sscanf(line, "# D_%7s %lf", el, &dd) == 2) {
            SP_CHECK_NEAR(dd, D[strcmp(el, "Na") != 0], 1e-8, 0);
            ++nd;
            continue;
        }
        if (line[0] == '#' || sscanf(line, "%lf %lf %lf", &t, &m[0], &m[1]) != 3) continue;
        SP_CHECK_NEAR(m[0], 6.0 * D[0] * t, 1e-9, 1e-9);
        SP_CHECK_NEAR(m[1], 6.0 * D[1] * t, 1e-9, 1e-9);
        ++rows;
    }
    if (fp) fclose(fp);
    SP_CHECK(rows == NF && nd == 2);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir_);
    if (system(cmd) != 0) printf("could not remove %s\n", dir_);
    printf("splinepot msd: wrapped triclinic trajectory, MSD = 6 D t and D recovered (%d rows)\n", rows);
}

/* sp_rdf_add, normalised as the header says, against LAMMPS compute rdf
   (tests/data/lmp_rdf.txt, tools/refgen/gen_rdf.py) on the periodic Ti-O
   frames of tests/data/lmp_TiO.meam.spline.xyz: every g_ab and coordination
   number of 45 bins to 4.5 A */
static void check_rdf_lammps(void) {
    enum { NBIN = 45 };
    const double rmax = 4.5;
    sp_frame_t *fr = NULL;
    int nf = tu_read_frames("tests/data/lmp_TiO.meam.spline.xyz", &fr), fk = -1, rows = 0, i, k;
    FILE *fp = fopen("tests/data/lmp_rdf.txt", "r");
    double hist[4 * NBIN], g[4 * NBIN], c[4 * NBIN], worst_g = 0.0, worst_c = 0.0;
    char line[512];
    sp_nlist_t nl;
    memset(&nl, 0, sizeof nl);
    if (!fp || nf == 0) {
        SP_CHECK(!"tests/data/lmp_rdf.txt and lmp_TiO.meam.spline.xyz readable");
        if (fp) fclose(fp);
        tu_free_frames(fr, nf);
        return;
    }
    while (fgets(line, sizeof line, fp)) { /* frame pair bin r g coordination */
        int f1, pair, bin, a, b;
        double r, gl, cl;
        if (line[0] == '#' || sscanf(line, "%d %d %d %lf %lf %lf", &f1, &pair, &bin, &r, &gl, &cl) != 6) continue;
        if (f1 - 1 != fk) { /* a new frame: its histogram, normalised as LAMMPS does */
            const sp_frame_t *f = &fr[f1 - 1];
            int *type = (int *)malloc((size_t)f->natoms * sizeof(int)), cnt[2] = {0, 0};
            double vol = 0.0, cum;
            sp_cell_t cell;
            sp_diag_t d;
            fk = f1 - 1;
            memcpy(cell.h, f->cell, sizeof cell.h);
            for (k = 0; k < 3; ++k) cell.pbc[k] = f->pbc[k];
            for (i = 0; i < f->natoms; ++i) ++cnt[type[i] = f->z[i] == 8];
            SP_CHECK(sp_cell_check(&cell, &vol) == SP_OK && sp_nlist_build(&nl, &cell, f->pos, f->natoms, rmax, &d) == SP_OK);
            memset(hist, 0, sizeof hist);
            SP_CHECK(sp_rdf_add(&nl, type, 2, rmax, NBIN, hist) == SP_OK);
            for (a = 0; a < 2; ++a)
                for (b = 0; b < 2; ++b) {
                    const double pairs = (double)cnt[a] * (cnt[b] - (a == b));
                    for (k = 0, cum = 0.0; k < NBIN; ++k) {
                        const double r0 = k * rmax / NBIN, r1 = (k + 1) * rmax / NBIN;
                        const double shell = 4.0 / 3.0 * 3.14159265358979323846 * (r1 * r1 * r1 - r0 * r0 * r0);
                        const int o = (a * 2 + b) * NBIN + k;
                        g[o] = pairs > 0.0 ? hist[o] * vol / (pairs * shell) : 0.0;
                        cum += pairs > 0.0 ? hist[o] / cnt[a] : 0.0;
                        c[o] = cum;
                    }
                }
            free(type);
        }
        a = pair / 10 - 1;
        b = pair % 10 - 1;
        {
            const int o = (a * 2 + b) * NBIN + bin;
            if (fabs(g[o] - gl) / (1.0 + fabs(gl)) > worst_g) worst_g = fabs(g[o] - gl) / (1.0 + fabs(gl));
            if (fabs(c[o] - cl) > worst_c) worst_c = fabs(c[o] - cl);
        }
        ++rows;
    }
    fclose(fp);
    SP_CHECK(rows == 6 * 3 * NBIN);
    SP_CHECK(worst_g < 1e-12 && worst_c < 1e-12);
    printf("sp_rdf_add vs LAMMPS compute rdf (%d rows, 6 Ti-O frames): g %.2g relative, coordination %.2g\n", rows,
           worst_g, worst_c);
    sp_nlist_free(&nl);
    tu_free_frames(fr, nf);
}

/* sp_rdf_add: on random periodic triclinic cells with two types, the same
   counts as the brute-force enumeration binned here; on rock salt (a = 5,
   64 atoms) the coordination numbers of its shells: 6 unlike at a/2, 12
   like at a/sqrt 2, 8 unlike at a sqrt 3 / 2 */
static void check_rdf(void) {
    enum { NB = 90, NA = 20, CAP = 20000 };
    static nb_t bf[CAP];
    static double hist[4 * NB], ref[4 * NB];
    double pos[3 * 64];
    int type[64], trial, i, k, bad = 0;
    sp_nlist_t nl;
    sp_diag_t diag;
    memset(&nl, 0, sizeof nl);
    for (trial = 0; trial < 40; ++trial) {
        sp_cell_t c;
        double rc;
        int n = 2 + trial % (NA - 1);
        random_cell(&c, n, pos, &rc);
        c.pbc[0] = c.pbc[1] = c.pbc[2] = 1;
        for (i = 0; i < n; ++i) type[i] = (i * 7 + trial) % 3 == 0;
        if (sp_nlist_build(&nl, &c, pos, n, rc, &diag) != SP_OK) continue;
        memset(hist, 0, sizeof hist);
        memset(ref, 0, sizeof ref);
        SP_CHECK(sp_rdf_add(&nl, type, 2, rc, NB, hist) == SP_OK);
        for (i = 0; i < n; ++i) {
            const int nbf = brute(&c, pos, n, rc, i, bf, CAP);
            for (k = 0; k < nbf; ++k) ref[(type[i] * 2 + type[bf[k].j]) * NB + (int)(bf[k].r * NB / rc)] += 1.0;
        }
        for (k = 0; k < 4 * NB; ++k) bad += hist[k] != ref[k];
        SP_CHECK(sp_rdf_add(&nl, type, 2, rc * 1.01, NB, hist) == SP_ERR_RANGE);
        type[0] = 2;
        SP_CHECK(sp_rdf_add(&nl, type, 2, rc, NB, hist) == SP_ERR_BAD_ARG);
    }
    SP_CHECK(bad == 0);
    { /* rock salt: types 0 on the fcc sites, 1 shifted by a/2 along x */
        static const double fcc[4][3] = {{0, 0, 0}, {0, .5, .5}, {.5, 0, .5}, {.5, .5, 0}};
        const double a = 5.0, rmax = 4.5;
        sp_cell_t c;
        double cum[4] = {0, 0, 0, 0};
        int x, y, z, q, t, n = 0, p;
        memset(&c, 0, sizeof c);
        for (k = 0; k < 3; ++k) { c.h[4 * k] = 2 * a; c.pbc[k] = 1; }
        for (x = 0; x < 2; ++x) for (y = 0; y < 2; ++y) for (z = 0; z < 2; ++z)
            for (q = 0; q < 4; ++q)
                for (t = 0; t < 2; ++t, ++n) {
                    pos[3 * n] = a * (x + fcc[q][0] + 0.5 * t);
                    pos[3 * n + 1] = a * (y + fcc[q][1]);
                    pos[3 * n + 2] = a * (z + fcc[q][2]);
                    type[n] = t;
                }
        memset(hist, 0, sizeof hist);
        SP_CHECK(sp_nlist_build(&nl, &c, pos, n, rmax, &diag) == SP_OK);
        SP_CHECK(sp_rdf_add(&nl, type, 2, rmax, NB, hist) == SP_OK);
        /* running coordination of type-0 atoms just past each shell */
        for (p = 0; p < 4; ++p)
            for (k = 0; k < NB; ++k) {
                const double r1 = (k + 1) * rmax / NB;
                cum[p] += hist[p * NB + k] / 32.0;
                if (p == 1 && fabs(r1 - 2.55) < 0.5 * rmax / NB) SP_CHECK_NEAR(cum[p], 6.0, 0, 1e-12);
                if (p == 0 && fabs(r1 - 3.6) < 0.5 * rmax / NB) SP_CHECK_NEAR(cum[p], 12.0, 0, 1e-12);
            }
        SP_CHECK_NEAR(cum[1], 14.0, 0, 1e-12); /* 6 + 8 unlike within 4.5 A */
        SP_CHECK_NEAR(cum[2], 14.0, 0, 1e-12);
        SP_CHECK_NEAR(cum[0], 12.0, 0, 1e-12);
        SP_CHECK_NEAR(cum[3], 12.0, 0, 1e-12);
        check_tool_rdf(pos, type, n, a);
    }
    printf("sp_rdf_add: 40 random cells equal to the brute-force histogram (%d bins differ); rock salt shells 6, 12, 8\n",
           bad);
    sp_nlist_free(&nl);
}

/* Atoms of nl whose entries within rc (at the list's xe) are not, as a
   set of owners and distances, what brute force finds for the positions
   pos in cell c. */
static int list_vs_brute(const sp_nlist_t *nl, const sp_cell_t *c, const double *pos, int n, double rc) {
    enum { CAP = 20000 };
    static nb_t bf[CAP], ln[CAP];
    int i, bad = 0;
    for (i = 0; i < n; ++i) {
        int nbf = brute(c, pos, n, rc, i, bf, CAP), cnt = 0, b, d, k, ok = 1;
        for (b = nl->first[i]; b < nl->first[i + 1]; ++b) {
            const int g = nl->j[b];
            double r2 = 0.0;
            for (d = 0; d < 3; ++d) r2 += (nl->xe[3 * g + d] - nl->xe[3 * i + d]) * (nl->xe[3 * g + d] - nl->xe[3 * i + d]);
            if (r2 < rc * rc && cnt < CAP) { ln[cnt].j = nl->owner[g]; ln[cnt].r = sqrt(r2); ++cnt; }
        }
        if (cnt != nbf) { ++bad; continue; }
        qsort(bf, nbf, sizeof(nb_t), cmp_nb);
        qsort(ln, cnt, sizeof(nb_t), cmp_nb);
        for (k = 0; k < cnt; ++k)
            if (bf[k].j != ln[k].j || fabs(bf[k].r - ln[k].r) > 1e-9 * (1 + rc)) ok = 0;
        bad += !ok;
    }
    return bad;
}

/* Smallest singular value of m by power iteration on (m m^T)^-1. */
static double sigma_min(const double *m) {
    double a[9], b[9], v[3] = {1.0, 0.7, 0.3}, lam = 0.0, det;
    int i, j, k, it;
    for (i = 0; i < 3; ++i)
        for (j = 0; j < 3; ++j) {
            a[3 * i + j] = 0.0;
            for (k = 0; k < 3; ++k) a[3 * i + j] += m[3 * i + k] * m[3 * j + k];
        }
    det = a[0] * (a[4] * a[8] - a[5] * a[7]) - a[1] * (a[3] * a[8] - a[5] * a[6]) + a[2] * (a[3] * a[7] - a[4] * a[6]);
    for (i = 0; i < 3; ++i)
        for (j = 0; j < 3; ++j) { /* cofactor of (j, i) over det */
            const int r0 = (j + 1) % 3, r1 = (j + 2) % 3, c0 = (i + 1) % 3, c1 = (i + 2) % 3;
            b[3 * i + j] = (a[3 * r0 + c0] * a[3 * r1 + c1] - a[3 * r0 + c1] * a[3 * r1 + c0]) / det;
        }
    for (it = 0; it < 2000; ++it) {
        double w[3], nrm = 0.0;
        for (i = 0; i < 3; ++i) w[i] = b[3 * i] * v[0] + b[3 * i + 1] * v[1] + b[3 * i + 2] * v[2];
        for (i = 0; i < 3; ++i) nrm += w[i] * w[i];
        nrm = sqrt(nrm);
        lam = nrm;
        for (i = 0; i < 3; ++i) v[i] = w[i] / nrm;
    }
    return 1.0 / sqrt(lam);
}

/* sp_nlist_deform: a list built on random cells, then the cell and the
   positions mapped by m (isotropic, diagonal or general, up to 15 %): the
   list holds every pair brute force finds within its new cutoff, at the
   same distance; that cutoff is the old one times the smallest stretch
   (min |m_dd| for the diagonal maps, the smallest singular value by power
   iteration on (m m^T)^-1 for general ones); the shifts are whole periods of the
   new cell; the build positions are the mapped ones. */
static void check_deform(void) {
    enum { NMAX = 16 };
    double pos[3 * NMAX], xm[3 * NMAX], x0[3 * NMAX];
    sp_nlist_t nl;
    int trial, tried = 0, bad_set = 0, bad_cut = 0, bad_shift = 0, bad_x0 = 0, bad_err = 0;
    memset(&nl, 0, sizeof nl);
    for (trial = 0; trial < 400; ++trial) {
        sp_cell_t c, cm;
        double rc, m[9], rc_new, gi[9], vol;
        int n = 1 + (int)(urand() * NMAX), i, a, d, kind = trial % 3;
        sp_diag_t diag;
        random_cell(&c, n, pos, &rc);
        if (sp_nlist_build(&nl, &c, pos, n, rc, &diag) != SP_OK) continue;
        for (a = 0; a < 9; ++a) m[a] = (a % 4 == 0) ? 1.0 : 0.0;
        if (kind == 0) m[0] = m[4] = m[8] = 0.85 + 0.3 * urand();
        else if (kind == 1) for (d = 0; d < 3; ++d) m[4 * d] = 0.85 + 0.3 * urand();
        else for (a = 0; a < 9; ++a) m[a] += 0.1 * (urand() - 0.5);
        for (a = 0; a < 3 * n; a += 3)
            for (d = 0; d < 3; ++d) xm[a + d] = pos[a] * m[d] + pos[a + 1] * m[3 + d] + pos[a + 2] * m[6 + d];
        cm = c;
        for (a = 0; a < 9; a += 3)
            for (d = 0; d < 3; ++d) cm.h[a + d] = c.h[a] * m[d] + c.h[a + 1] * m[3 + d] + c.h[a + 2] * m[6 + d];
        if (sp_cell_check(&cm, &vol) != SP_OK) continue;
        memcpy(x0, nl.x0, 3 * (size_t)n * sizeof(double));
        if (sp_nlist_deform(&nl, m) != SP_OK) { ++bad_err; continue; }
        sp_nlist_update(&nl, xm);
        rc_new = nl.cutoff;
        ++tried;
        if (kind < 2) {
            double s = fmin(fabs(m[0]), fmin(fabs(m[4]), fabs(m[8])));
            if (!(fabs(rc_new - s * rc) <= 1e-14 * rc)) ++bad_cut;
        } else if (!(fabs(rc_new - sigma_min(m) * rc) <= 1e-12 * rc)) ++bad_cut;
        bad_set += list_vs_brute(&nl, &cm, xm, n, rc_new);
        for (i = 0; i < n; ++i)
            for (d = 0; d < 3; ++d) {
                const double x0m = x0[3 * i] * m[d] + x0[3 * i + 1] * m[3 + d] + x0[3 * i + 2] * m[6 + d];
                if (fabs(nl.x0[3 * i + d] - x0m) > 1e-12 * (1 + fabs(x0m))) ++bad_x0;
            }
        /* shifts: whole periods of the new cell along its periodic directions */
        for (a = 0; a < 9; ++a) gi[a] = cm.h[a];
        {
            double det = gi[0] * (gi[4] * gi[8] - gi[5] * gi[7]) - gi[1] * (gi[3] * gi[8] - gi[5] * gi[6]) +
                         gi[2] * (gi[3] * gi[7] - gi[4] * gi[6]);
            double inv[9];
            inv[0] = (gi[4] * gi[8] - gi[5] * gi[7]) / det; inv[1] = (gi[2] * gi[7] - gi[1] * gi[8]) / det;
            inv[2] = (gi[1] * gi[5] - gi[2] * gi[4]) / det; inv[3] = (gi[5] * gi[6] - gi[3] * gi[8]) / det;
            inv[4] = (gi[0] * gi[8] - gi[2] * gi[6]) / det; inv[5] = (gi[2] * gi[3] - gi[0] * gi[5]) / det;
            inv[6] = (gi[3] * gi[7] - gi[4] * gi[6]) / det; inv[7] = (gi[1] * gi[6] - gi[0] * gi[7]) / det;
            inv[8] = (gi[0] * gi[4] - gi[1] * gi[3]) / det;
            for (a = 0; a < nl.next; ++a)
                for (d = 0; d < 3; ++d) {
                    const double *s = nl.shift + 3 * (size_t)a;
                    const double t = s[0] * inv[d] + s[1] * inv[3 + d] + s[2] * inv[6 + d];
                    if (fabs(t - floor(t + 0.5)) > 1e-9 || (!cm.pbc[d] && fabs(t) > 1e-9)) ++bad_shift;
                }
        }
    }
    {   /* a singular or non-finite map is refused and leaves the list as it was */
        sp_cell_t c;
        double rc, m0[9] = {1, 0, 0, 0, 1, 0, 0, 0, 0}, mn[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1}, cut;
        sp_diag_t diag;
        random_cell(&c, 8, pos, &rc);
        if (sp_nlist_build(&nl, &c, pos, 8, rc, &diag) == SP_OK) {
            cut = nl.cutoff;
            mn[4] = NAN;
            SP_CHECK(sp_nlist_deform(&nl, m0) == SP_ERR_BAD_CELL);
            SP_CHECK(sp_nlist_deform(&nl, mn) == SP_ERR_NOT_FINITE);
            SP_CHECK(sp_nlist_deform(NULL, m0) == SP_ERR_BAD_ARG);
            SP_CHECK(nl.cutoff == cut);
        }
    }
    SP_CHECK(tried > 300);
    SP_CHECK(bad_err == 0);
    SP_CHECK(bad_set == 0);
    SP_CHECK(bad_cut == 0);
    SP_CHECK(bad_shift == 0);
    SP_CHECK(bad_x0 == 0);
    printf("sp_nlist_deform: %d random cells mapped (isotropic, diagonal, general), lists complete within the new cutoff"
           " (bad: set %d, cutoff %d, shifts %d, build positions %d)\n", tried, bad_set, bad_cut, bad_shift, bad_x0);
    sp_nlist_free(&nl);
}

/* sp_nlist_stale: lists of random cells (half of them then deformed by up
   to 4 %), the atoms moved by random steps of up to the skin: it says
   stale exactly when the largest move from the (mapped) build positions,
   as the test computes it, exceeds half of nl.cutoff - rc; when it says
   fresh, the list holds every pair brute force finds within rc of the
   moved atoms. */
static void check_stale(void) {
    enum { NMAX = 16 };
    double pos[3 * NMAX], xm[3 * NMAX], xn[3 * NMAX];
    sp_nlist_t nl;
    int trial, nstale = 0, nfresh = 0, bad_flag = 0, bad_set = 0;
    memset(&nl, 0, sizeof nl);
    for (trial = 0; trial < 600; ++trial) {
        sp_cell_t c, cm;
        double rc, skin, m[9], dmax = 0.0, vol;
        int n = 1 + (int)(urand() * NMAX), i, a, d, stale, expect;
        sp_diag_t diag;
        random_cell(&c, n, pos, &rc);
        skin = 0.2 + 0.8 * urand();
        if (sp_nlist_build(&nl, &c, pos, n, rc + skin, &diag) != SP_OK) continue;
        for (a = 0; a < 9; ++a) m[a] = (a % 4 == 0) ? 1.0 : 0.0;
        if (trial % 2) for (a = 0; a < 9; ++a) m[a] += 0.04 * (urand() - 0.5);
        for (a = 0; a < 3 * n; a += 3)
            for (d = 0; d < 3; ++d) xm[a + d] = pos[a] * m[d] + pos[a + 1] * m[3 + d] + pos[a + 2] * m[6 + d];
        cm = c;
        for (a = 0; a < 9; a += 3)
            for (d = 0; d < 3; ++d) cm.h[a + d] = c.h[a] * m[d] + c.h[a + 1] * m[3 + d] + c.h[a + 2] * m[6 + d];
        if (sp_cell_check(&cm, &vol) != SP_OK || sp_nlist_deform(&nl, m) != SP_OK) continue;
        for (i = 0; i < n; ++i) { /* a step of up to the skin in a random direction */
            double u[3], un = 0.0, len = skin * urand() * (trial % 3 ? 0.55 : 1.0);
            for (d = 0; d < 3; ++d) {
                u[d] = urand() - 0.5;
                un += u[d] * u[d];
            }
            un = sqrt(un);
            for (d = 0; d < 3; ++d) xn[3 * i + d] = xm[3 * i + d] + (un > 0 ? len * u[d] / un : 0.0);
            if (un > 0 && len > dmax) dmax = len;
        }
        sp_nlist_update(&nl, xn);
        stale = sp_nlist_stale(&nl, xn, rc);
        expect = nl.cutoff < rc || dmax > 0.5 * (nl.cutoff - rc);
        if (fabs(dmax - 0.5 * (nl.cutoff - rc)) < 1e-9) continue; /* on the edge: either answer */
        if (stale != expect) ++bad_flag;
        if (stale) { ++nstale; continue; }
        ++nfresh;
        bad_set += list_vs_brute(&nl, &cm, xn, n, rc); /* fresh: brute force within rc is in the list */
    }
    SP_CHECK(sp_nlist_stale(NULL, pos, 1.0) == 1);
    SP_CHECK(nstale > 100 && nfresh > 100);
    SP_CHECK(bad_flag == 0);
    SP_CHECK(bad_set == 0);
    printf("sp_nlist_stale: %d stale and %d fresh lists after random moves (and deformations), as the largest move says "
           "(%d wrong); fresh lists complete within the cutoff (%d atoms differ)\n", nstale, nfresh, bad_flag, bad_set);
    sp_nlist_free(&nl);
}

int main(void) {
    enum { NMAX = 24, CAP = 200000 };
    static nb_t bf[CAP], nl_nb[CAP];
    double pos[3 * NMAX];
    sp_nlist_t nl;
    int trial, bad_count = 0, bad_dist = 0, bad_rev = 0;
    memset(&nl, 0, sizeof nl);
    for (trial = 0; trial < 1200; ++trial) {
        sp_cell_t c;
        double rc;
        int n = (trial % 5 == 0) ? 1 + (trial / 5) % 2 : 1 + (int)(urand() * NMAX), i;
        sp_diag_t diag;
        sp_result_t r;
        random_cell(&c, n, pos, &rc);
        r = sp_nlist_build(&nl, &c, pos, n, rc, &diag);
        if (r != SP_OK) {
            if (r == SP_ERR_OVERLAP) continue; /* random positions may coincide */
            printf("trial %d: %s: %s\n", trial, sp_result_str(r), diag.msg);
            SP_CHECK(r == SP_OK);
            continue;
        }
        for (i = 0; i < n; ++i) {
            int nbf = brute(&c, pos, n, rc, i, bf, CAP), cnt = 0, b, k;
            for (b = nl.first[i]; b < nl.first[i + 1]; ++b) {
                int g = nl.j[b], rb = nl.rev[b], d;
                double dx[3], dr[3], r2 = 0;
                for (d = 0; d < 3; ++d) {
                    dx[d] = nl.xe[3 * g + d] - nl.xe[3 * i + d];
                    r2 += dx[d] * dx[d];
                }
                if (cnt < CAP) { nl_nb[cnt].j = nl.owner[g]; nl_nb[cnt].r = sqrt(r2); ++cnt; }
                /* reverse entry: belongs to owner(g), points back at an image of i, opposite vector */
                if (nl.rev[rb] != b || rb < nl.first[nl.owner[g]] || rb >= nl.first[nl.owner[g] + 1] ||
                    nl.owner[nl.j[rb]] != i)
                    ++bad_rev;
                else {
                    int o = nl.owner[g];
                    for (d = 0; d < 3; ++d) dr[d] = nl.xe[3 * nl.j[rb] + d] - nl.xe[3 * o + d];
                    for (d = 0; d < 3; ++d)
                        if (fabs(dr[d] + dx[d]) > 1e-9 * (1 + rc)) ++bad_rev;
                }
            }
            if (cnt != nbf) { if (bad_count < 3) printf("trial %d n=%d i=%d pbc=%d%d%d rc=%g: list %d brute %d h=%g %g %g / %g %g %g / %g %g %g\n", trial, n, i, c.pbc[0], c.pbc[1], c.pbc[2], rc, cnt, nbf, c.h[0],c.h[1],c.h[2],c.h[3],c.h[4],c.h[5],c.h[6],c.h[7],c.h[8]); ++bad_count; continue; }
            qsort(bf, nbf, sizeof(nb_t), cmp_nb);
            qsort(nl_nb, cnt, sizeof(nb_t), cmp_nb);
            for (k = 0; k < cnt; ++k)
                if (bf[k].j != nl_nb[k].j || fabs(bf[k].r - nl_nb[k].r) > 1e-9 * (1 + rc)) ++bad_dist;
        }
    }
    big_cell(24000, 0);
    big_cell(600, 1);
    check_rdf();
    check_rdf_lammps();
    check_tool_msd();
    check_deform();
    check_stale();
    SP_CHECK(bad_count == 0);
    SP_CHECK(bad_dist == 0);
    SP_CHECK(bad_rev == 0);
    if (bad_count || bad_dist || bad_rev) printf("count %d dist %d rev %d\n", bad_count, bad_dist, bad_rev);
    sp_nlist_free(&nl);
    return sp_test_finish();
}
