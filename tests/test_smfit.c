/* >>sv variable projection (fit smeam): for fixed rho, f, g the energies and
   forces are linear in the parameters of phi and U. Checks, on three cells
   (periodic fcc, a triclinic cell smaller than the cutoff, a cluster):
   - the linear model built from sp_smeam_sv_density, sp_smeam_sv_phi_rows
     and sp_smeam_sv_u_rows (U knots on the densities' range) predicts the
     energies and forces that sp_pot_compute gives for the assembled
     potential, to 1e-10, for random phi/U parameters;
   - the weighted, regularised least-squares solution from its normal
     equations minimises the loss evaluated by brute force (sp_pot_compute
     on every configuration): every +-delta perturbation along each
     parameter and random directions raises it, with a vanishing central
     difference, and the normal-equation loss equals the brute-force loss;
   - densities of a chunked batch equal those of single sets; errors;
   - `splinepot fit smeam` ($SPLINEPOT) on Ti-O data labelled by
     TiO.meam.spline: the model file it writes, read back and evaluated
     with the per-element constants of its report, gives the report's
     training errors of energies, forces and stresses (1e-6), the first two
     well below the spread of the data; with --stress 1 the stress errors
     fall below half of those of the fit without (SP_TEST_QUICK, as in the
     compiler matrix: 10 generations, the report-file agreement only);
     a test element missing from the training set and --stress without
     stresses are refused;
   - weight= in the training file (fit smeam, both methods, fit uf3): a
     frame weighted sqrt 2 fits as the frame given twice;
   - fit uf3 --cv: the report's chosen penalty is that of the smallest
     held-out loss and the model is that of --lambda-curv with it (sp_uf3_cv
     itself is checked against refits in test_uf3). */
#define _POSIX_C_SOURCE 200809L
#include "../splinepot.h"
#include "sp_test.h"
#include "test_util.h"
#include <ctype.h>
#include <unistd.h>

enum { NCONF = 3, NMAX = 40, NTRAIN = 10 /* training frames of the tool's Ti-O fits */ };

typedef struct cfg_t {
    sp_config_t cf;
    double pos[3 * NMAX];
    double eref, fref[3 * NMAX];
    sp_smeam_sv_t sv;
    double n[NMAX], *dn;
} cfg_t;

static cfg_t C[NCONF];
static sp_smeam_layout_t L;
static int nphi, nu2, m, npar, phimap[SP_SPLINE_MAX_KNOTS + 2];
static double rho_fg[256];      /* the fixed rho, f, g part of theta */
static double we, wf, *Pen;
static const char *const mo[1] = {"Mo"};

/* full parameter vector from the linear unknowns (phi free values, U, constant) */
static void assemble(const double *lin, double *theta) {
    int q, nr2 = L.nr + 2;
    memcpy(theta, rho_fg, (size_t)npar * sizeof(double));
    for (q = 0; q < nphi; ++q) theta[phimap[q]] = lin[q];
    for (q = 0; q < nu2; ++q) theta[2 * nr2 + q] = lin[nphi + q];
}

/* energy per atom (+ constant) and forces of every configuration by sp_pot_compute */
static void direct(const double *lin, double *e, double *f) {
    double theta[256];
    sp_pot_t pot;
    sp_diag_t d;
    int c, type[NMAX] = {0}, off = 0;
    assemble(lin, theta);
    memset(&pot, 0, sizeof pot);
    SP_CHECK(sp_smeam_layout_pot(&L, theta, mo, &pot) == SP_OK);
    for (c = 0; c < NCONF; ++c) {
        double E;
        SP_CHECK(sp_pot_compute_once(&pot, C[c].cf.natoms, C[c].pos, type, C[c].cf.cell.h, C[c].cf.cell.pbc, &E,
                                     f + off, NULL, NULL, &d) == SP_OK);
        e[c] = E / C[c].cf.natoms + lin[m - 1];
        off += 3 * C[c].cf.natoms;
    }
    sp_pot_free(&pot);
}

/* brute-force loss: weighted squared residuals of the direct evaluation + penalty */
static double loss_direct(const double *lin) {
    double e[NCONF], f[3 * NCONF * NMAX], s = 0.0;
    int c, k, off = 0;
    direct(lin, e, f);
    for (c = 0; c < NCONF; ++c) {
        s += we * (e[c] - C[c].eref / C[c].cf.natoms) * (e[c] - C[c].eref / C[c].cf.natoms);
        for (k = 0; k < 3 * C[c].cf.natoms; ++k) s += wf * (f[off + k] - C[c].fref[k]) * (f[off + k] - C[c].fref[k]);
        off += 3 * C[c].cf.natoms;
    }
    for (k = 0; k < m; ++k) {
        int j;
        for (j = 0; j < m; ++j) s += lin[k] * Pen[(size_t)k * m + j] * lin[j];
    }
    return s;
}

static void fcc_cell(cfg_t *c) {
    static const double bas[4][3] = {{0, 0, 0}, {.5, .5, 0}, {.5, 0, .5}, {0, .5, .5}};
    int x, y, z, b, n = 0;
    for (x = 0; x < 2; ++x) for (y = 0; y < 2; ++y) for (z = 0; z < 2; ++z) for (b = 0; b < 4; ++b) {
        c->pos[3 * n] = (x + bas[b][0]) * 3.2 + 0.12 * (2 * tu_urand() - 1);
        c->pos[3 * n + 1] = (y + bas[b][1]) * 3.2 + 0.12 * (2 * tu_urand() - 1);
        c->pos[3 * n + 2] = (z + bas[b][2]) * 3.2 + 0.12 * (2 * tu_urand() - 1);
        ++n;
    }
    c->cf.natoms = n;
    c->cf.cell.h[0] = c->cf.cell.h[4] = c->cf.cell.h[8] = 6.4;
    c->cf.cell.pbc[0] = c->cf.cell.pbc[1] = c->cf.cell.pbc[2] = 1;
}

/* writes n_conf frames of 32-atom hcp Ti cells (a 2.85..3.05 A, c/a 1.59,
   every eighth atom O, in every other frame two more: the per-element energy
   constants are determined; displaced by up to 0.12 A) labelled by pot to path;
   extra_el: the element of atom 0 of the last frame instead (NULL: none).
   Adds the sums of E/N, (E/N)^2, F, F^2 and the counts to st[0..5]. */
static int write_tio_frames(const sp_pot_t *pot, const char *path, int nconf, int seed, const char *extra_el, double *st) {
    static const int nc[3] = {2, 2, 2};
    const int ti = sp_pot_find_element(pot, "Ti"), o = sp_pot_find_element(pot, "O");
    FILE *fp = fopen(path, "w");
    uint64_t rng = 977 + (uint64_t)seed;
    int c, i, k;
    if (!fp || ti < 0 || o < 0) {
        if (fp) fclose(fp);
        return 0;
    }
    for (c = 0; c < nconf; ++c) {
        const double a = 2.85 + 0.2 * c / (nconf - 1);
        double pos[32 * 3], F[32 * 3], E, W[9], v;
        int type[32];
        sp_cell_t cell;
        sp_diag_t d;
        sp_hcp_cell(a, 1.59 * a, nc, pos, &cell);
        for (i = 0; i < 32; ++i) {
            type[i] = (i % 8 == 3 || (c % 2 && i % 16 == 6)) ? o : ti;
            for (k = 0; k < 3; ++k) pos[3 * i + k] += 0.12 * (2 * tu_urand_s(&rng) - 1);
        }
        if (sp_pot_compute_once(pot, 32, pos, type, cell.h, cell.pbc, &E, F, NULL, W, &d) != SP_OK ||
            sp_cell_check(&cell, &v) != SP_OK) {
            fclose(fp);
            return 0;
        }
        fprintf(fp, "32\nLattice=\"");
        for (k = 0; k < 9; ++k) fprintf(fp, "%s%.17g", k ? " " : "", cell.h[k]);
        fprintf(fp, "\" Properties=species:S:1:pos:R:3:forces:R:3 energy=%.17g stress=\"", E);
        for (k = 0; k < 9; ++k) fprintf(fp, "%s%.17g", k ? " " : "", -W[k] / v); /* ASE sign */
        fprintf(fp, "\" pbc=\"T T T\"\n");
        for (i = 0; i < 32; ++i) {
            const char *el = (extra_el && c == nconf - 1 && i == 0) ? extra_el : type[i] == o ? "O" : "Ti";
            fprintf(fp, "%s %.17g %.17g %.17g %.17g %.17g %.17g\n", el, pos[3 * i], pos[3 * i + 1], pos[3 * i + 2],
                    F[3 * i], F[3 * i + 1], F[3 * i + 2]);
        }
        if (st) {
            st[0] += E / 32;
            st[1] += (E / 32) * (E / 32);
            st[4] += 1;
            for (k = 0; k < 96; ++k) st[2] += F[k], st[3] += F[k] * F[k];
            st[5] += 96;
        }
    }
    return fclose(fp) == 0;
}

/* runs cmd; 1 when its exit status is nonzero and the file errpath holds want */
static int refused(const char *cmd, const char *errpath, const char *want) {
    char line[512];
    int found = 0;
    FILE *fp;
    if (system(cmd) == 0) return 0;
    fp = fopen(errpath, "r");
    while (fp && fgets(line, sizeof line, fp))
        if (strstr(line, want)) found = 1;
    if (fp) fclose(fp);
    return found;
}

/* errors of one fit: the report's training RMSEs (energy meV/atom, force
   eV/A, stress GPa) and those of its model file read back and evaluated on
   the training frames with the report's per-element constants */
typedef struct fit_errors_t {
    double rep[3], file[3];
    double crep[2], cls[2]; /* the report's energy constants (O, Ti) and the least-squares ones of the file's model */
} fit_errors_t;

static int run_fit(const char *tool, const char *tr, const char *te, const char *model, const char *rep,
                   const char *extra, int generations, fit_errors_t *out) {
    char cmd[2048], line[1024];
    double c_o = 0, c_ti = 0, se = 0, sf = 0, ss = 0, A[3] = {0, 0, 0}, b[2] = {0, 0}, det;
    int got_c = 0, got_el = 0, got_r = 0, nconf, nf = 0, k, i;
    sp_frame_t *fr = NULL;
    sp_pot_t fit;
    sp_diag_t d;
    FILE *fp;
    snprintf(cmd, sizeof cmd, "'%s' fit smeam --train '%s' --test '%s' --rmin 1.7 --rcut 5.5 --knots 8 --pop 12 "
             "--generations %d --seed 1 %s -o '%s' --report '%s' > /dev/null 2>&1", tool, tr, te, generations, extra, model,
             rep);
    if (system(cmd) != 0) return 0;
    memset(out, 0, sizeof *out);
    fp = fopen(rep, "r");
    while (fp && fgets(line, sizeof line, fp)) {
        const char *t = strstr(line, "\"train\": {"), *ts = t ? strstr(t, "\"stress_rmse_GPa\": ") : NULL;
        if (sscanf(line, " \"energy_constant_eV_per_atom\": {\"O\": %lf, \"Ti\": %lf}", &c_o, &c_ti) == 2) got_c = 1;
        if (strstr(line, "\"elements\": [\"O\", \"Ti\"]")) got_el = 1;
        if (t && ts && sscanf(t, "\"train\": {\"n_configs\": %*d, \"n_force_components\": %*d, \"energy_rmse_meV_per_atom\": "
                                 "%lf, \"force_rmse_eV_per_A\": %lf", &out->rep[0], &out->rep[1]) == 2) {
            out->rep[2] = atof(ts + 19);
            got_r = 1;
        }
    }
    if (fp) fclose(fp);
    memset(&fit, 0, sizeof fit);
    if (!got_c || !got_el || !got_r || sp_pot_read_file(&fit, model, &d) != SP_OK) return 0;
    nconf = tu_read_frames(tr, &fr);
    for (k = 0; k < nconf && fit.nelem == 2; ++k) {
        static const int voigt[6] = {0, 4, 8, 5, 2, 1};
        double E, F[96], W[9], v, sh = 0.0;
        int type[32];
        sp_cell_t c;
        for (i = 0; i < 32; ++i) {
            type[i] = sp_pot_find_element(&fit, sp_element_symbol(fr[k].z[i]));
            sh += fr[k].z[i] == 8 ? c_o : c_ti;
        }
        memcpy(c.h, fr[k].cell, sizeof c.h);
        memcpy(c.pbc, fr[k].pbc, sizeof c.pbc);
        SP_CHECK(sp_pot_compute_once(&fit, 32, fr[k].pos, type, fr[k].cell, fr[k].pbc, &E, F, NULL, W, &d) == SP_OK &&
                 sp_cell_check(&c, &v) == SP_OK);
        se += pow(1000.0 * (E + sh - fr[k].energy) / 32, 2);
        {   /* normal equations of the constants: (E - E_ref)/32 + x_O c_O + x_Ti c_Ti = 0 */
            double xo = 0.0, dk = (E - fr[k].energy) / 32;
            for (i = 0; i < 32; ++i) xo += fr[k].z[i] == 8 ? 1.0 / 32 : 0.0;
            A[0] += xo * xo; A[1] += xo * (1 - xo); A[2] += (1 - xo) * (1 - xo);
            b[0] -= xo * dk; b[1] -= (1 - xo) * dk;
        }
        for (i = 0; i < 6; ++i) ss += pow(160.21766208 * (-W[voigt[i]] / v - fr[k].stress[voigt[i]]), 2);
        for (i = 0; i < 96; ++i, ++nf) sf += (F[i] - fr[k].forces[i]) * (F[i] - fr[k].forces[i]);
    }
    det = A[0] * A[2] - A[1] * A[1];
    out->cls[0] = (A[2] * b[0] - A[1] * b[1]) / det;
    out->cls[1] = (A[0] * b[1] - A[1] * b[0]) / det;
    out->crep[0] = c_o;
    out->crep[1] = c_ti;
    out->file[0] = sqrt(se / nconf);
    out->file[1] = sqrt(sf / nf);
    out->file[2] = sqrt(ss / (6.0 * nconf));
    tu_free_frames(fr, nconf);
    k = fit.nelem == 2 && nconf == NTRAIN;
    sp_pot_free(&fit);
    return k;
}

static void check_tool_two_elements(const char *potpath) {
    const char *tool = getenv("SPLINEPOT");
    char dir[64], tr[128], te[128], bad[128], model[128], rep[128], err[128], cmd[2048];
    double st[6] = {0, 0, 0, 0, 0, 0}, std_e, std_f, loss[2] = {0.0, 0.0};
    fit_errors_t r[2];
    /* SP_TEST_QUICK (the compiler matrix): 10 generations, and only the report checked against the file */
    const int quick = getenv("SP_TEST_QUICK") != NULL, gens = quick ? 10 : 50;
    int run, q;
    sp_pot_t ref;
    sp_diag_t d;
    if (!tool || access(tool, X_OK) != 0 || !tu_exists(potpath)) {
        printf("splinepot fit smeam, two elements: skipped (no $SPLINEPOT or %s)\n", potpath);
        return;
    }
    memset(&ref, 0, sizeof ref);
    SP_CHECK(sp_pot_read_file(&ref, potpath, &d) == SP_OK);
    strcpy(dir, "/tmp/splinepot_smfit_XXXXXX");
    if (!mkdtemp(dir)) { SP_CHECK(0); sp_pot_free(&ref); return; }
    snprintf(tr, sizeof tr, "%s/train.xyz", dir);
    snprintf(te, sizeof te, "%s/test.xyz", dir);
    snprintf(bad, sizeof bad, "%s/bad.xyz", dir);
    snprintf(model, sizeof model, "%s/TiO.fit.meam.spline", dir);
    snprintf(rep, sizeof rep, "%s/report.json", dir);
    snprintf(err, sizeof err, "%s/err.txt", dir);
    SP_CHECK(write_tio_frames(&ref, tr, NTRAIN, 1, NULL, st) && write_tio_frames(&ref, te, 4, 2, NULL, NULL) &&
             write_tio_frames(&ref, bad, 2, 3, "Al", NULL));
    std_e = sqrt(st[1] / st[4] - (st[0] / st[4]) * (st[0] / st[4]));
    std_f = sqrt(st[3] / st[5] - (st[2] / st[5]) * (st[2] / st[5]));
    /* run 0: energies and forces; run 1: stresses too (--stress 1) */
    for (run = 0; run < 2; ++run) {
        const int ok = run_fit(tool, tr, te, model, rep, run ? "--stress 1" : "", gens, &r[run]);
        SP_CHECK(ok);
        if (!ok) continue;
        printf("splinepot fit smeam%s, Ti-O (%d x 32 atoms from TiO.meam.spline, %d generations): train RMSE %.3f "
               "meV/atom, %.4f eV/A, %.3f GPa (report %.3f, %.4f, %.3f; the data's spread %.1f meV/atom, %.3f eV/A)\n",
               run ? " --stress 1" : "", NTRAIN, gens, r[run].file[0], r[run].file[1], r[run].file[2], r[run].rep[0], r[run].rep[1],
               r[run].rep[2], 1000 * std_e, std_f);
        for (q = 0; q < 3; ++q) SP_CHECK(fabs(r[run].file[q] - r[run].rep[q]) <= 1e-6 * r[run].rep[q] + 1e-9);
        if (quick) continue;
        SP_CHECK(r[run].file[0] < (run ? 0.2 : 0.1) * 1000 * std_e);
        SP_CHECK(r[run].file[1] < (run ? 0.7 : 0.6) * std_f);
    }
    if (!quick) SP_CHECK(r[1].file[2] < 0.5 * r[0].file[2]); /* fitting the stresses brings their errors down */
    /* --method full, two elements (1 and 60 generations): the report's RMSEs are the file's with its
       constants, and the search lowers the loss (kappa 0.5) */
    for (run = 0; run < 2; ++run) {
        const int g = run ? 60 : 1;
        const int ok = run_fit(tool, tr, te, model, rep, "--method full", g, &r[run]);
        SP_CHECK(ok);
        if (!ok) continue;
        loss[run] = 0.5 * pow(r[run].file[0] / (1000 * std_e), 2) + 0.5 * pow(r[run].file[1] / std_f, 2);
        printf("splinepot fit smeam --method full, Ti-O (%d generations): train RMSE %.3f meV/atom, %.4f eV/A (report "
               "%.3f, %.4f), loss %.4g\n", g, r[run].file[0], r[run].file[1], r[run].rep[0], r[run].rep[1], loss[run]);
        for (q = 0; q < 3; ++q) SP_CHECK(fabs(r[run].file[q] - r[run].rep[q]) <= 1e-6 * r[run].rep[q] + 1e-9);
        printf("  energy constants O %.6f, Ti %.6f eV (least squares for the model file: %.6f, %.6f)\n", r[run].crep[0],
               r[run].crep[1], r[run].cls[0], r[run].cls[1]);
        for (q = 0; q < 2; ++q) SP_CHECK(fabs(r[run].crep[q] - r[run].cls[q]) <= 1e-6 * (1 + fabs(r[run].cls[q])));
    }
    SP_CHECK(loss[1] < 0.8 * loss[0]);
    /* refused: a test element the training set lacks; --stress without stresses */
    snprintf(cmd, sizeof cmd, "'%s' fit smeam --train '%s' --test '%s' --generations 1 -o '%s.2' 2> '%s'", tool, tr, bad,
             model, err);
    SP_CHECK(refused(cmd, err, "element Al is not in the training set"));
    snprintf(cmd, sizeof cmd, "sed 's/ stress=\"[^\"]*\"//' '%s' > '%s.nostress' && '%s' fit smeam --stress 1 --train '%s.nostress' "
             "--generations 1 -o '%s.2' 2> '%s'", tr, tr, tool, tr, model, err);
    SP_CHECK(refused(cmd, err, "--stress needs training frames with a stress"));
    snprintf(cmd, sizeof cmd, "%s.2", model);
    SP_CHECK(!tu_exists(cmd)); /* no model file left behind */
    sp_pot_free(&ref);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("could not remove %s\n", dir);
}

/* the whole of a text file (NUL-terminated; NULL if unreadable) */
static char *slurp(const char *path) {
    FILE *fp = fopen(path, "rb");
    long n;
    char *t = NULL;
    if (!fp) return NULL;
    if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 && fseek(fp, 0, SEEK_SET) == 0 &&
        (t = (char *)malloc((size_t)n + 1)) != NULL) {
        if (fread(t, 1, (size_t)n, fp) != (size_t)n) { free(t); t = NULL; }
        else t[n] = '\0';
    }
    fclose(fp);
    return t;
}

/* fit uf3 --cv: the report lists the held-out losses, "chosen" is the
   penalty of the smallest, and the model is byte for byte the fit with
   --lambda-curv set to it; --cv-curv alone and too many folds are refused */
static void check_tool_cv(void) {
    const char *tool = getenv("SPLINEPOT"), *xyz = "tests/data/lmp_TiO.meam.spline.xyz";
    char dir[64], cmd[2048], *rep, *m1, *m2;
    double lam[3] = {0, 0, 0}, loss[3] = {0, 0, 0}, chosen = -1.0;
    int k, best = 0, got = 0;
    if (!tool || access(tool, X_OK) != 0 || !tu_exists(xyz)) {
        printf("splinepot fit uf3 --cv: skipped (no $SPLINEPOT or %s)\n", xyz);
        return;
    }
    strcpy(dir, "/tmp/splinepot_cv_XXXXXX");
    if (!mkdtemp(dir)) { SP_CHECK(0); return; }
    snprintf(cmd, sizeof cmd, "'%s' fit uf3 --train %s --r2 1.5:5.5:12 --cv 4 --cv-curv 1e-7,1e-4,1e-1 -o %s/a.uf3 "
             "--report %s/a.json > /dev/null 2>&1", tool, xyz, dir, dir);
    SP_CHECK(system(cmd) == 0);
    snprintf(cmd, sizeof cmd, "%s/a.json", dir);
    rep = slurp(cmd);
    if (rep) {
        static const char head[] = "\"cv\": {\"folds\": 4, \"lambda_curv\": [";
        const char *c = strstr(rep, head), *l = c ? strstr(c, "\"loss\": [") : NULL;
        const char *ch = c ? strstr(c, "\"chosen\": ") : NULL;
        got = c && l && ch && sscanf(c + sizeof head - 1, "%lf, %lf, %lf", &lam[0], &lam[1], &lam[2]) == 3 &&
              sscanf(l + 9, "%lf, %lf, %lf", &loss[0], &loss[1], &loss[2]) == 3 && sscanf(ch + 10, "%lf", &chosen) == 1;
    }
    SP_CHECK(got);
    for (k = 1; got && k < 3; ++k)
        if (loss[k] < loss[best]) best = k;
    SP_CHECK(got && chosen == lam[best] && lam[0] == 1e-7 && lam[2] == 1e-1);
    snprintf(cmd, sizeof cmd, "'%s' fit uf3 --train %s --r2 1.5:5.5:12 --lambda-curv %.17g -o %s/b.uf3 > /dev/null 2>&1",
             tool, xyz, chosen, dir);
    SP_CHECK(system(cmd) == 0);
    snprintf(cmd, sizeof cmd, "%s/a.uf3", dir);
    m1 = slurp(cmd);
    snprintf(cmd, sizeof cmd, "%s/b.uf3", dir);
    m2 = slurp(cmd);
    SP_CHECK(m1 && m2 && strcmp(m1, m2) == 0);
    printf("splinepot fit uf3 --cv 4, Ti-O frames: held-out losses %.4g, %.4g, %.4g for lambda_curv 1e-7, 1e-4, 1e-1; "
           "chosen %g, the model that of --lambda-curv %g\n", loss[0], loss[1], loss[2], chosen, chosen);
    snprintf(cmd, sizeof cmd, "'%s' fit uf3 --train %s --r2 1.5:5.5:12 --cv-curv 1e-4 -o %s/c.uf3 2> %s/err", tool, xyz,
             dir, dir);
    {
        char err[128];
        snprintf(err, sizeof err, "%s/err", dir);
        SP_CHECK(refused(cmd, err, "--cv-curv needs --cv K"));
        snprintf(cmd, sizeof cmd, "'%s' fit uf3 --train %s --r2 1.5:5.5:12 --cv 9 -o %s/c.uf3 2> %s/err", tool, xyz, dir, dir);
        SP_CHECK(refused(cmd, err, "cross-validation needs 2..8 folds"));
        snprintf(cmd, sizeof cmd, "%s/c.uf3", dir);
        SP_CHECK(!tu_exists(cmd));
    }
    free(rep); free(m1); free(m2);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("could not remove %s\n", dir);
}

/* the largest difference between the numbers of two model files, over the
   largest magnitude in b; -1 if they do not hold the same count of numbers */
static double numbers_differ(const char *pa, const char *pb) {
    char *ta = slurp(pa), *tb = slurp(pb), *a = ta, *b = tb;
    double worst = 0.0, big = 0.0;
    int na = 0, nb = 0;
    while (a && b) {
        char *ea, *eb;
        double x, y;
        while (*a && !(isdigit((unsigned char)*a) || ((*a == '-' || *a == '.') && isdigit((unsigned char)a[1])))) ++a;
        while (*b && !(isdigit((unsigned char)*b) || ((*b == '-' || *b == '.') && isdigit((unsigned char)b[1])))) ++b;
        if (!*a || !*b) { na += *a != 0; nb += *b != 0; break; }
        x = strtod(a, &ea);
        y = strtod(b, &eb);
        a = ea > a ? ea : a + 1;
        b = eb > b ? eb : b + 1;
        ++na, ++nb;
        if (fabs(x - y) > worst) worst = fabs(x - y);
        if (fabs(y) > big) big = fabs(y);
    }
    free(ta);
    free(tb);
    return (!ta || !tb || na != nb || na < 10) ? -1.0 : worst / big;
}

/* writes prefix.xyz (the frames of src), prefix_w.xyz (frame 1's comment
   line with weight= sqrt 2) and prefix_2.xyz (frame 1, then all of src);
   0 on failure */
static int write_weight_variants(const char *src, const char *prefix) {
    char *t = slurp(src), *cut, path[3][160];
    int k = 0, q = 0, nat = t ? atoi(t) : 0, ok;
    FILE *fp[3] = {NULL, NULL, NULL};
    cut = t ? strchr(t, '\n') : NULL;
    cut = cut ? strchr(cut + 1, '\n') : NULL; /* end of frame 1's comment line */
    for (; t && t[k] && q < nat + 2; ++k) q += t[k] == '\n';
    ok = t && cut && nat > 0 && q == nat + 2;
    snprintf(path[0], sizeof path[0], "%s.xyz", prefix);
    snprintf(path[1], sizeof path[1], "%s_w.xyz", prefix);
    snprintf(path[2], sizeof path[2], "%s_2.xyz", prefix);
    for (q = 0; ok && q < 3; ++q) ok = (fp[q] = fopen(path[q], "w")) != NULL;
    if (ok)
        ok = fputs(t, fp[0]) >= 0 && fprintf(fp[1], "%.*s weight=1.4142135623730951%s", (int)(cut - t), t, cut) > 0 &&
             fprintf(fp[2], "%.*s%s", k, t, t) > 0;
    for (q = 0; q < 3; ++q)
        if (fp[q] && fclose(fp[q]) != 0) ok = 0;
    free(t);
    return ok;
}

/* Frame weights (weight= in the training file) in `splinepot fit smeam`
   (both methods) and `fit uf3`: frame 1 weighted sqrt 2 fits as frame 1
   given twice (the loss and its normalisations count a frame w^2 times),
   against the same fit without the weight as the control. Ti-O frames for
   the default smeam method and uf3, tests/data's Si frames for --method
   full (one element; from zero, --init-zero: its UF2 start, a fit uf3 of
   its own, agrees to 1e-11 only, which its 8 generations can amplify). */
static void check_tool_weights(const char *potpath) {
    static const char *const fits[3] = {
        "fit smeam --rmin 1.7 --rcut 5.5 --knots 6 --pop 8 --generations 8 --seed 3 --stress 1",
        "fit uf3 --r2 1.5:5.5:8 --r3 1.5:3.5:3 --stress 1",
        "fit smeam --method full --knots 5 --generations 8 --seed 3 --init-zero"};
    static const char *const ext[3] = {"meam.spline", "uf3", "meam.spline"};
    static const char *const name[3] = {"fit smeam, Ti-O", "fit uf3, Ti-O", "fit smeam --method full, Si"};
    static const char *const var[3] = {"", "_w", "_2"};
    const char *tool = getenv("SPLINEPOT");
    char dir[64], cmd[2048], pre[2][128], out[3][200];
    int q, v;
    sp_pot_t ref;
    sp_diag_t d;
    if (!tool || access(tool, X_OK) != 0 || !tu_exists(potpath)) {
        printf("splinepot fit smeam / uf3 with weights: skipped (no $SPLINEPOT or %s)\n", potpath);
        return;
    }
    memset(&ref, 0, sizeof ref);
    strcpy(dir, "/tmp/splinepot_weights_XXXXXX");
    if (sp_pot_read_file(&ref, potpath, &d) != SP_OK || !mkdtemp(dir)) { SP_CHECK(0); sp_pot_free(&ref); return; }
    snprintf(pre[0], sizeof pre[0], "%s/tio", dir);
    snprintf(pre[1], sizeof pre[1], "%s/si", dir);
    snprintf(out[0], sizeof out[0], "%s/tio_frames.xyz", dir);
    SP_CHECK(write_tio_frames(&ref, out[0], 4, 5, NULL, NULL) && write_weight_variants(out[0], pre[0]) &&
             write_weight_variants("tests/data/lmp_Si_1.meam.spline.xyz", pre[1]));
    for (q = 0; q < 3; ++q) {
        const char *p = pre[q == 2];
        double dw, d0;
        int ok = 1;
        for (v = 0; v < 3; ++v) {
            snprintf(out[v], sizeof out[v], "%s%s.%d.%s", p, var[v], q, ext[q]);
            snprintf(cmd, sizeof cmd, "'%s' %s --train '%s%s.xyz' -o '%s' > /dev/null 2>&1", tool, fits[q], p, var[v], out[v]);
            if (system(cmd) != 0) ok = 0;
        }
        SP_CHECK(ok);
        dw = numbers_differ(out[1], out[2]);
        d0 = numbers_differ(out[0], out[2]);
        printf("splinepot %s: frame 1 weighted sqrt 2 against given twice: model numbers within %.2g (relative); "
               "unweighted against twice: %.2g\n", name[q], dw, d0);
        SP_CHECK(dw >= 0.0 && dw < 1e-7 && d0 > 1e-5);
    }
    sp_pot_free(&ref);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("could not remove %s\n", dir);
}

int main(void) {
    sp_smeam_layout_t lay0 = {6, 2.0, 4.2, 7, -1.0, 1.0, 6, 1, {{0, 0}}};
    const double *q0;
    double lo = HUGE_VAL, hi = -HUGE_VAL, *G, *b, *th, yy = 0.0, sse_ne, worst_e = 0.0, worst_f = 0.0;
    double *Er, *Fr, *FU, eU[SP_SPLINE_MAX_KNOTS + 2], ephi[SP_SPLINE_MAX_KNOTS + 2], *Fphi, lin[128];
    double e1[NCONF], f1[3 * NCONF * NMAX], se = 0, se2 = 0, sf = 0, sf2 = 0, L0;
    int c, i, j, k, r, nr2, nrow = 0, nforce = 0;
    size_t wb, ub;
    void *w, *uw, *sw;
    sp_diag_t d;
    sp_ridge_solve_desc_t sd;
    L = lay0;
    nr2 = L.nr + 2;
    nu2 = L.nu + 2;
    npar = sp_smeam_layout_npar(&L);
    /* configurations: fcc 2x2x2 (a = 3.2 A), a triclinic 4-atom cell, a 20-atom cluster */
    memset(C, 0, sizeof C);
    fcc_cell(&C[0]);
    C[1].cf.natoms = 4;
    C[1].cf.cell.h[0] = 3.1; C[1].cf.cell.h[3] = 0.4; C[1].cf.cell.h[4] = 3.0;
    C[1].cf.cell.h[6] = -0.3; C[1].cf.cell.h[7] = 0.2; C[1].cf.cell.h[8] = 3.2;
    C[1].cf.cell.pbc[0] = C[1].cf.cell.pbc[1] = C[1].cf.cell.pbc[2] = 1;
    for (i = 0; i < 4; ++i)
        for (k = 0; k < 3; ++k) C[1].pos[3 * i + k] = (i == 0 ? 0.0 : (k == i - 1 ? 0.0 : 0.5)) * 3.1 + 0.1 * (2 * tu_urand() - 1);
    fcc_cell(&C[2]);
    C[2].cf.natoms = 20;
    memset(C[2].cf.cell.h, 0, sizeof C[2].cf.cell.h);
    C[2].cf.cell.pbc[0] = C[2].cf.cell.pbc[1] = C[2].cf.cell.pbc[2] = 0;
    /* reference data: a random s-MEAM potential with its own rho, f, g */
    {
        double t[256];
        sp_pot_t pot;
        int type[NMAX] = {0};
        for (k = 0; k < npar; ++k) t[k] = 0.5 * (2 * tu_urand() - 1);
        t[L.nr - 1] = t[L.nr + 1] = t[nr2 + L.nr - 1] = t[nr2 + L.nr + 1] = 0.0;
        t[2 * nr2 + nu2 + L.nr - 1] = t[2 * nr2 + nu2 + L.nr + 1] = 0.0;
        memset(&pot, 0, sizeof pot);
        SP_CHECK(sp_smeam_layout_pot(&L, t, mo, &pot) == SP_OK);
        for (c = 0; c < NCONF; ++c) {
            C[c].cf.pos = C[c].pos;
            SP_CHECK(sp_pot_compute_once(&pot, C[c].cf.natoms, C[c].pos, type, C[c].cf.cell.h, C[c].cf.cell.pbc,
                                         &C[c].eref, C[c].fref, NULL, NULL, &d) == SP_OK);
            for (k = 0; k < 3 * C[c].cf.natoms; ++k) C[c].fref[k] += 0.05 * (2 * tu_urand() - 1); /* not representable */
        }
        sp_pot_free(&pot);
    }
    /* the fitted model's rho, f, g (different from the reference's) */
    memset(rho_fg, 0, sizeof rho_fg);
    for (k = nr2; k < npar; ++k) rho_fg[k] = 0.6 * (2 * tu_urand() - 1);
    for (k = 2 * nr2; k < 2 * nr2 + nu2; ++k) rho_fg[k] = 0.0;
    rho_fg[nr2 + L.nr - 1] = rho_fg[nr2 + L.nr + 1] = 0.0;
    rho_fg[2 * nr2 + nu2 + L.nr - 1] = rho_fg[2 * nr2 + nu2 + L.nr + 1] = 0.0;
    nphi = 0;
    for (k = 0; k < nr2; ++k)
        if (k != L.nr - 1 && k != L.nr + 1) phimap[nphi++] = k;
    m = nphi + nu2 + 1;
    /* densities, then U knots on their range (widened by 10 %) */
    wb = 0;
    for (c = 0; c < NCONF; ++c) {
        SP_CHECK(sp_smeam_sv_build(&C[c].sv, &L, &C[c].cf, &d) == SP_OK);
        if (sp_smeam_sv_workspace_size(&C[c].sv, &L, 3) > wb) wb = sp_smeam_sv_workspace_size(&C[c].sv, &L, 3);
    }
    w = malloc(wb);
    for (c = 0; c < NCONF; ++c) {
        const int n = C[c].cf.natoms, nb = C[c].sv.nbonds;
        double th3[3 * 256], n3[3 * NMAX], *dn3 = (double *)malloc(9 * (size_t)nb * sizeof(double));
        C[c].dn = (double *)malloc(3 * (size_t)nb * sizeof(double));
        SP_CHECK(sp_smeam_sv_density(&C[c].sv, &L, 1, rho_fg, C[c].n, C[c].dn, 1, w, wb) == SP_OK);
        /* a batch of 3 sets in chunks of 2 (the middle one is ours, phi and U entries ignored) */
        for (k = 0; k < 3 * npar; ++k) th3[k] = 0.3 * (2 * tu_urand() - 1);
        memcpy(th3 + npar + nr2, rho_fg + nr2, (size_t)nr2 * sizeof(double));
        memcpy(th3 + npar + 2 * nr2 + nu2, rho_fg + 2 * nr2 + nu2, (size_t)(npar - 2 * nr2 - nu2) * sizeof(double));
        SP_CHECK(sp_smeam_sv_density(&C[c].sv, &L, 3, th3, n3, dn3, 2, w, wb) == SP_OK);
        for (i = 0; i < n; ++i) SP_CHECK(n3[n + i] == C[c].n[i]);
        for (i = 0; i < 3 * nb; ++i) SP_CHECK(dn3[3 * nb + i] == C[c].dn[i]);
        SP_CHECK(sp_smeam_sv_density(&C[c].sv, &L, 1, rho_fg, C[c].n, C[c].dn, 1, w, 10) == SP_ERR_WORKSPACE_TOO_SMALL);
        free(dn3);
        for (i = 0; i < n; ++i) {
            if (C[c].n[i] < lo) lo = C[c].n[i];
            if (C[c].n[i] > hi) hi = C[c].n[i];
        }
    }
    SP_CHECK(hi > lo);
    L.ulo = lo - 0.1 * (hi - lo);
    L.uhi = hi + 0.1 * (hi - lo);
    /* linear model: rows per configuration (energy per atom, forces) */
    for (c = 0; c < NCONF; ++c) nrow += 1 + 3 * C[c].cf.natoms;
    Er = (double *)calloc((size_t)NCONF * m, sizeof(double));
    Fr = (double *)calloc((size_t)nrow * m, sizeof(double));
    FU = (double *)malloc(3 * (size_t)NMAX * nu2 * sizeof(double));
    Fphi = (double *)malloc(3 * (size_t)NMAX * nr2 * sizeof(double));
    ub = 0;
    for (c = 0; c < NCONF; ++c)
        if (sp_smeam_sv_u_rows_workspace_size(&C[c].sv, &L) > ub) ub = sp_smeam_sv_u_rows_workspace_size(&C[c].sv, &L);
    uw = malloc(ub);
    for (c = 0, r = 0; c < NCONF; ++c) {
        const int n = C[c].cf.natoms;
        SP_CHECK(sp_smeam_sv_u_rows(&C[c].sv, &L, C[c].n, C[c].dn, eU, FU, NULL, uw, ub) == SP_OK);
        SP_CHECK(sp_smeam_sv_u_rows(&C[c].sv, &L, C[c].n, C[c].dn, eU, FU, NULL, uw,
                                    sp_smeam_sv_u_rows_workspace_size(&C[c].sv, &L) - 8) == SP_ERR_WORKSPACE_TOO_SMALL);
        sp_smeam_sv_phi_rows(&C[c].sv, ephi, Fphi, NULL);
        for (k = 0; k < nphi; ++k) Er[(size_t)c * m + k] = ephi[phimap[k]] / n;
        for (k = 0; k < nu2; ++k) Er[(size_t)c * m + nphi + k] = eU[k] / n;
        Er[(size_t)c * m + m - 1] = 1.0;
        for (i = 0; i < 3 * n; ++i, ++r) {
            for (k = 0; k < nphi; ++k) Fr[(size_t)r * m + k] = Fphi[(size_t)i * nr2 + phimap[k]];
            for (k = 0; k < nu2; ++k) Fr[(size_t)r * m + nphi + k] = FU[(size_t)i * nu2 + k];
        }
    }
    {
        sp_smeam_layout_t bad = L;
        bad.uhi = bad.ulo;
        SP_CHECK(sp_smeam_sv_u_rows(&C[0].sv, &bad, C[0].n, C[0].dn, eU, FU, NULL, uw, ub) == SP_ERR_BAD_ARG);
        SP_CHECK(sp_smeam_sv_u_rows(&C[0].sv, &L, C[0].n, NULL, eU, FU, NULL, uw, ub) == SP_ERR_BAD_ARG);
    }
    /* 1. the linear model equals sp_pot_compute of the assembled potential */
    for (j = 0; j < 4; ++j) {
        for (k = 0; k < m; ++k) lin[k] = 2.0 * (2 * tu_urand() - 1);
        direct(lin, e1, f1);
        for (c = 0, r = 0; c < NCONF; ++c) {
            double e = 0.0;
            for (k = 0; k < m; ++k) e += Er[(size_t)c * m + k] * lin[k];
            if (fabs(e - e1[c]) / (1.0 + fabs(e1[c])) > worst_e) worst_e = fabs(e - e1[c]) / (1.0 + fabs(e1[c]));
            for (i = 0; i < 3 * C[c].cf.natoms; ++i, ++r) {
                double f = 0.0;
                for (k = 0; k < m; ++k) f += Fr[(size_t)r * m + k] * lin[k];
                if (fabs(f - f1[r]) > worst_f) worst_f = fabs(f - f1[r]);
            }
        }
    }
    printf("variable projection: linear model vs sp_pot_compute over %d configurations: max rel dE %.2g, max |dF| %.2g\n",
           NCONF, worst_e, worst_f);
    SP_CHECK(worst_e <= 1e-10);
    SP_CHECK(worst_f <= 1e-10);
    /* 2. weighted normal equations (kappa 0.6, energies per atom, variances of the targets) */
    for (c = 0; c < NCONF; ++c) {
        se += C[c].eref / C[c].cf.natoms;
        se2 += (C[c].eref / C[c].cf.natoms) * (C[c].eref / C[c].cf.natoms);
        for (i = 0; i < 3 * C[c].cf.natoms; ++i) { sf += C[c].fref[i]; sf2 += C[c].fref[i] * C[c].fref[i]; ++nforce; }
    }
    we = 0.6 / (NCONF * (se2 / NCONF - (se / NCONF) * (se / NCONF)));
    wf = 0.4 / (nforce * (sf2 / nforce - (sf / nforce) * (sf / nforce)));
    G = (double *)calloc((size_t)m * m, sizeof(double));
    b = (double *)calloc((size_t)m, sizeof(double));
    th = (double *)calloc((size_t)m, sizeof(double));
    Pen = (double *)calloc((size_t)m * m, sizeof(double));
    for (c = 0, r = 0; c < NCONF; ++c) {
        const double *x = Er + (size_t)c * m, y = C[c].eref / C[c].cf.natoms;
        for (i = 0; i < m; ++i) {
            for (j = 0; j < m; ++j) G[(size_t)i * m + j] += we * x[i] * x[j];
            b[i] += we * x[i] * y;
        }
        yy += we * y * y;
        for (k = 0; k < 3 * C[c].cf.natoms; ++k, ++r) {
            const double *xf = Fr + (size_t)r * m, yf = C[c].fref[k];
            for (i = 0; i < m; ++i) {
                for (j = 0; j < m; ++j) G[(size_t)i * m + j] += wf * xf[i] * xf[j];
                b[i] += wf * xf[i] * yf;
            }
            yy += wf * yf * yf;
        }
    }
    SP_CHECK(sp_ridge_penalty_curvature(Pen, m, 0, L.nr - 1, 1e-4) == SP_OK);
    SP_CHECK(sp_ridge_penalty_curvature(Pen, m, nphi, L.nu, 1e-4) == SP_OK);
    SP_CHECK(sp_ridge_penalty_ridge(Pen, m, 0, m - 1, 1e-6) == SP_OK);
    memset(&sd, 0, sizeof sd);
    sd.P = Pen;
    sd = sp_ridge_solve_desc_defaults(&sd);
    sw = malloc(sp_ridge_solve_workspace_size(m));
    SP_CHECK(sp_ridge_solve_gram(m, G, m, b, &sd, th, NULL, sw, sp_ridge_solve_workspace_size(m)) == SP_OK);
    /* loss from the normal equations vs brute force */
    sse_ne = yy;
    for (i = 0; i < m; ++i) {
        double g = 0.0;
        for (j = 0; j < m; ++j) g += (G[(size_t)i * m + j] + Pen[(size_t)i * m + j]) * th[j];
        sse_ne += th[i] * (g - 2.0 * b[i]);
    }
    L0 = loss_direct(th);
    printf("variable projection: loss at the solution %.10g (normal equations %.10g)\n", L0, sse_ne);
    SP_CHECK_NEAR(sse_ne, L0, 1e-9, 1e-14);
    /* the solution is the minimum: perturbations along every parameter and random directions */
    q0 = th;
    {
        int worse = 0, tried = 0;
        double worst_ratio = 0.0;
        for (j = 0; j < m + 8; ++j) {
            double v[128], p1[128], p2[128], lp, lm, curv;
            for (k = 0; k < m; ++k) v[k] = (j < m) ? (k == j) : (2 * tu_urand() - 1);
            for (k = 0; k < m; ++k) {
                const double dl = 1e-2 * (1.0 + fabs(q0[k]));
                p1[k] = q0[k] + dl * v[k];
                p2[k] = q0[k] - dl * v[k];
            }
            lp = loss_direct(p1);
            lm = loss_direct(p2);
            curv = lp + lm - 2.0 * L0;
            ++tried;
            if (lp > L0 && lm > L0) ++worse;
            if (curv > 0 && fabs(lp - lm) / curv > worst_ratio) worst_ratio = fabs(lp - lm) / curv;
        }
        printf("variable projection: %d of %d perturbations raise the brute-force loss; max |first order| / second order %.2g\n",
               worse, tried, worst_ratio);
        SP_CHECK(worse == tried);
        SP_CHECK(worst_ratio <= 1e-5);
    }
    for (c = 0; c < NCONF; ++c) {
        sp_smeam_sv_free(&C[c].sv);
        free(C[c].dn);
    }
    free(w); free(uw); free(sw); free(Er); free(Fr); free(FU); free(Fphi); free(G); free(b); free(th); free(Pen);
    {
        char pp[1024];
        snprintf(pp, sizeof pp, "%s/TiO.meam.spline", tu_potdir());
        check_tool_two_elements(pp);
        check_tool_weights(pp);
    }
    check_tool_cv();
    return sp_test_finish();
}
