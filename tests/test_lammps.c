/* LAMMPS reads what splinepot writes: meam/spline (old and multi-element),
   meam/sw/spline, and UF2 exported as pair_style table (the library call and
   `splinepot convert`, whose printed LAMMPS lines are used as they are). Runs the system lmp
   (Debian package lammps) on frames of tests/data, one run each (under
   SP_TEST_QUICK, set by the hardening matrix and valgrind, the first and
   the last frame of each file); skipped without it. */
#define _POSIX_C_SOURCE 200809L
#include "../splinepot.h"
#include "sp_test.h"
#include "test_util.h"
#include <stdlib.h>
#include <unistd.h>

static char dir[256];

/* frame k of nf is compared (SP_TEST_QUICK: the first and the last) */
static int use_frame(int k, int nf) { return !getenv("SP_TEST_QUICK") || k == 0 || k == nf - 1; }

/* LAMMPS data file for a frame (restricted triclinic: a along x, b in xy) */
static void write_data(const char *path, const sp_frame_t *f, const int *type, int ntypes) {
    FILE *fp = fopen(path, "w");
    int i;
    fprintf(fp, "# splinepot test\n\n%d atoms\n%d atom types\n\n", f->natoms, ntypes);
    fprintf(fp, "0 %.17g xlo xhi\n0 %.17g ylo yhi\n0 %.17g zlo zhi\n%.17g %.17g %.17g xy xz yz\n\nAtoms # atomic\n\n",
            f->cell[0], f->cell[4], f->cell[8], f->cell[3], f->cell[6], f->cell[7]);
    for (i = 0; i < f->natoms; ++i)
        fprintf(fp, "%d %d %.17g %.17g %.17g\n", i + 1, type[i] + 1, f->pos[3 * i], f->pos[3 * i + 1], f->pos[3 * i + 2]);
    fclose(fp);
}

/* runs LAMMPS with the given pair lines; energy and forces at full precision */
static int run_lammps(const sp_frame_t *f, const int *type, int ntypes, const char *pair_lines, double *e, double *forces) {
    char path[512], cmd[1024], line[512];
    FILE *fp;
    int i, ok = 1;
    snprintf(path, sizeof path, "%s/data.lmp", dir);
    write_data(path, f, type, ntypes);
    snprintf(path, sizeof path, "%s/in.lmp", dir);
    fp = fopen(path, "w");
    fprintf(fp, "units metal\nboundary %c %c %c\natom_style atomic\natom_modify map array sort 0 0\n"
                "read_data %s/data.lmp\nmass * 28.0\n%s\n"
                "thermo_style custom step pe\nrun 0\nvariable e equal pe\nvariable ef format e %%.17g\n"
                "print \"${ef}\" file %s/e.txt screen no\n"
                "write_dump all custom %s/f.dump id fx fy fz modify sort id format float %%.17g\n",
            f->pbc[0] ? 'p' : 'f', f->pbc[1] ? 'p' : 'f', f->pbc[2] ? 'p' : 'f', dir, pair_lines, dir, dir);
    fclose(fp);
    snprintf(cmd, sizeof cmd, "cd %s && lmp -in in.lmp -log lmp.log -screen none > lmp.out 2>&1", dir);
    if ((i = system(cmd)) != 0) { /* show why (seen once under heavy load, not reproduced) */
        printf("lmp failed (system() status %d); the end of its log and output:\n", i);
        fflush(stdout);
        snprintf(cmd, sizeof cmd, "tail -n 5 %s/lmp.log %s/lmp.out", dir, dir);
        if (system(cmd) != 0) printf("(no log)\n");
        return 0;
    }
    snprintf(path, sizeof path, "%s/e.txt", dir);
    fp = fopen(path, "r");
    if (!fp || fscanf(fp, "%lf", e) != 1) ok = 0;
    if (fp) fclose(fp);
    snprintf(path, sizeof path, "%s/f.dump", dir);
    fp = fopen(path, "r");
    if (!fp) return 0;
    for (i = 0; i < 9 && fgets(line, sizeof line, fp); ++i) {}
    for (i = 0; i < f->natoms && ok; ++i) {
        int id;
        double fx, fy, fz;
        if (fscanf(fp, "%d %lf %lf %lf", &id, &fx, &fy, &fz) != 4 || id < 1 || id > f->natoms) ok = 0;
        else { forces[3 * (id - 1)] = fx; forces[3 * (id - 1) + 1] = fy; forces[3 * (id - 1) + 2] = fz; }
    }
    fclose(fp);
    return ok;
}

/* writes pot with sp_pot_write (or takes the file `given`, written from it by the tool), runs
   LAMMPS with it and compares with our evaluation of the original */
static void check_written(const char *orig, const char *given, const char *xyz, const char *style, const char *elems,
                          double etol, double ftol) {
    char src[512], dst[512], lines[1024];
    sp_pot_t pot;
    sp_frame_t *fr;
    sp_diag_t d;
    FILE *fp;
    int nf, k, a, nc = 0;
    double worst_e = 0, worst_f = 0;
    snprintf(src, sizeof src, "%s/%s", tu_potdir(), orig);
    memset(&pot, 0, sizeof pot);
    memset(&d, 0, sizeof d);
    if (sp_pot_read_file(&pot, src, &d) != SP_OK) { SP_SKIP("LAMMPS potential files not installed"); return; }
    if (given) {
        snprintf(dst, sizeof dst, "%s", given);
    } else {
        snprintf(dst, sizeof dst, "%s/written.%s", dir, strchr(orig, '.') + 1);
        fp = fopen(dst, "w");
        SP_CHECK(sp_pot_write(&pot, fp) == SP_OK);
        fclose(fp);
    }
    snprintf(lines, sizeof lines, "pair_style %s\npair_coeff * * %s %s", style, dst, elems);
    nf = tu_read_frames(xyz, &fr);
    for (k = 0; k < nf; ++k) {
        int *type;
        if (!use_frame(k, nf)) continue;
        ++nc;
        type = (int *)malloc((size_t)fr[k].natoms * sizeof(int));
        double *fl = (double *)malloc(3 * (size_t)fr[k].natoms * sizeof(double));
        double *fo = (double *)malloc(3 * (size_t)fr[k].natoms * sizeof(double)), el, eo;
        for (a = 0; a < fr[k].natoms; ++a) type[a] = sp_pot_find_element(&pot, sp_element_symbol(fr[k].z[a]));
        SP_CHECK(run_lammps(fr + k, type, pot.nelem, lines, &el, fl));
        SP_CHECK(sp_pot_compute_once(&pot, fr[k].natoms, fr[k].pos, type, fr[k].cell, fr[k].pbc, &eo, fo, NULL, NULL, &d) == SP_OK);
        if (fabs(el - eo) / fabs(eo) > worst_e) worst_e = fabs(el - eo) / fabs(eo);
        for (a = 0; a < 3 * fr[k].natoms; ++a)
            if (fabs(fl[a] - fo[a]) > worst_f) worst_f = fabs(fl[a] - fo[a]);
        free(type); free(fl); free(fo);
    }
    printf("LAMMPS %s on our %s, %d frames: max rel dE %.2g, max |dF| %.2g eV/A\n", style, dst + strlen(dir) + 1, nc, worst_e, worst_f);
    SP_CHECK(nc > 0 && worst_e <= etol && worst_f <= ftol);
    tu_free_frames(fr, nf);
    sp_pot_free(&pot);
}

/* a smooth UF2 model (Morse-like) as pair_style table: LAMMPS's energies within 1e-6 eV */
static void check_table(void) {
    int z = 14, nt = 30 + 7, k, a;
    sp_pot_t pot;
    sp_diag_t d;
    sp_frame_t *fr;
    char path[512], lines[1024];
    FILE *fp;
    int nf, nc = 0;
    double worst_e = 0, worst_f = 0;
    memset(&pot, 0, sizeof pot);
    SP_CHECK(sp_uf3_create(&pot, 1, &z, 0, &nt, NULL) == SP_OK);
    sp_bspline_knots_uniform(1.2, 5.0, 30, pot.uf3.pair[0].t);
    for (k = 0; k < nt - 4; ++k) { /* coefficients ~ a Morse curve at the knot centres, last 3 zero */
        double r = 1.2 + 3.8 * (k - 1.0) / 30.0, x = exp(-1.5 * (r - 2.35));
        pot.uf3.pair[0].c[k] = (k < nt - 7) ? 0.5 * (x * x - 2.0 * x) : 0.0;
    }
    SP_CHECK(sp_uf3_finish(&pot, &d) == SP_OK);
    snprintf(path, sizeof path, "%s/uf2.table", dir);
    fp = fopen(path, "w");
    SP_CHECK(sp_uf3_write_table(&pot, 0, 0, 20000, 1.0, fp, "SI_SI") == SP_OK);
    fclose(fp);
    snprintf(lines, sizeof lines, "pair_style table spline 20000\npair_coeff 1 1 %s SI_SI %.17g", path, pot.cutoff);
    nf = tu_read_frames("tests/data/lmp_Si_1.meam.spline.xyz", &fr);
    for (k = 0; k < nf; ++k) {
        int *type;
        if (!use_frame(k, nf)) continue;
        ++nc;
        type = (int *)calloc((size_t)fr[k].natoms, sizeof(int));
        double *fl = (double *)malloc(3 * (size_t)fr[k].natoms * sizeof(double));
        double *fo = (double *)malloc(3 * (size_t)fr[k].natoms * sizeof(double)), el, eo;
        SP_CHECK(run_lammps(fr + k, type, 1, lines, &el, fl));
        SP_CHECK(sp_pot_compute_once(&pot, fr[k].natoms, fr[k].pos, type, fr[k].cell, fr[k].pbc, &eo, fo, NULL, NULL, &d) == SP_OK);
        if (fabs(el - eo) > worst_e) worst_e = fabs(el - eo);
        for (a = 0; a < 3 * fr[k].natoms; ++a)
            if (fabs(fl[a] - fo[a]) > worst_f) worst_f = fabs(fl[a] - fo[a]);
        free(type); free(fl); free(fo);
    }
    printf("LAMMPS pair_style table on our UF2 export, %d frames: max |dE| %.2g eV, max |dF| %.2g eV/A\n", nc, worst_e, worst_f);
    SP_CHECK(nc > 0 && worst_e <= 1e-6 && worst_f <= 1e-6);
    tu_free_frames(fr, nf);
    sp_pot_free(&pot);
}

/* `splinepot convert` of a two-element UF2 fitted by the tool (Ti-O frames) to
   a table file, run by LAMMPS with the pair_style and pair_coeff lines the
   tool prints; LAMMPS's energy plus the one-body energies it prints against
   our evaluation of the model */
static void check_convert_table(void) {
    const char *tool = getenv("SPLINEPOT");
    const char *xyz = "tests/data/lmp_TiO.meam.spline.xyz";
    char cmd[8192], path[512], line[512], lines[2048] = "", cwd[256];
    double e1[2] = {0, 0}, worst_e = 0, worst_f = 0;
    int nf, k, a, nc = 0, nlines = 0;
    sp_pot_t pot;
    sp_frame_t *fr;
    sp_diag_t d;
    FILE *fp;
    char toolabs[512];
    if (!tool || access(tool, X_OK) != 0 || !getcwd(cwd, sizeof cwd)) {
        SP_SKIP("no $SPLINEPOT: convert to a table not run");
        return;
    }
    snprintf(toolabs, sizeof toolabs, "%s%s%s", tool[0] == '/' ? "" : cwd, tool[0] == '/' ? "" : "/", tool);
    tool = toolabs; /* the commands below run in the scratch directory */
    snprintf(cmd, sizeof cmd, "'%s' fit uf3 --train %s --r2 1.5:5.5:16 -o %s/tio.uf3 > /dev/null 2>&1 && "
             "'%s' convert %s/tio.uf3 %s/tio.table > %s/convert.out", tool, xyz, dir, tool, dir, dir, dir);
    SP_CHECK(system(cmd) == 0);
    snprintf(path, sizeof path, "%s/convert.out", dir);
    fp = fopen(path, "r");
    while (fp && fgets(line, sizeof line, fp)) {
        if (strncmp(line, "pair_", 5) == 0 && strlen(lines) + strlen(line) < sizeof lines) strcat(lines, line), ++nlines;
        if (strstr(line, "one-body")) {
            const char *q = strstr(line, "per atom, O ");
            SP_CHECK(q && sscanf(q, "per atom, O %lf, Ti %lf", &e1[0], &e1[1]) == 2);
        }
    }
    if (fp) fclose(fp);
    SP_CHECK(nlines == 4); /* pair_style and the three pairs O-O, O-Ti, Ti-Ti */
    /* uf3 -> JSON -> uf3 gives the same file; what has no form in the target is refused, no file left */
    snprintf(cmd, sizeof cmd, "cd %s && '%s' convert tio.uf3 tio.json > /dev/null && '%s' convert tio.json tio2.uf3 > /dev/null "
             "&& cmp -s tio.uf3 tio2.uf3", dir, tool, tool);
    SP_CHECK(system(cmd) == 0);
    snprintf(cmd, sizeof cmd, "cd %s && '%s' fit uf3 --train '%s/%s' --r2 1.5:5.5:8 --r3 1.5:3.5:2 -o tio3.uf3 > /dev/null 2>&1 "
             "&& ! '%s' convert tio3.uf3 bad.table 2> err1 && grep -q '3-body terms has no pair_style table form' err1 "
             "&& ! '%s' convert '%s/TiO.meam.spline' bad.uf3 2> err2 && grep -q 'meam/spline potential cannot be written' err2 "
             "&& ! '%s' convert tio.uf3 bad.table --rlo 9 2> err3 && grep -q 'not below the O-O cutoff' err3 "
             "&& ! ls bad.* > /dev/null 2>&1", dir, tool, cwd, xyz, tool, tool, tu_potdir(), tool);
    SP_CHECK(system(cmd) == 0);
    snprintf(path, sizeof path, "%s/tio.uf3", dir);
    memset(&pot, 0, sizeof pot);
    if (nlines != 4 || sp_pot_read_file(&pot, path, &d) != SP_OK || pot.nelem != 2) { SP_CHECK(0); sp_pot_free(&pot); return; }
    nf = tu_read_frames(xyz, &fr);
    for (k = 0; k < nf; ++k) {
        int *type = (int *)malloc((size_t)fr[k].natoms * sizeof(int));
        double *fl = (double *)malloc(3 * (size_t)fr[k].natoms * sizeof(double));
        double *fo = (double *)malloc(3 * (size_t)fr[k].natoms * sizeof(double)), el, eo;
        if (!use_frame(k, nf)) { free(type); free(fl); free(fo); continue; }
        ++nc;
        for (a = 0; a < fr[k].natoms; ++a) type[a] = sp_pot_find_element(&pot, sp_element_symbol(fr[k].z[a]));
        SP_CHECK(run_lammps(fr + k, type, 2, lines, &el, fl));
        SP_CHECK(sp_pot_compute_once(&pot, fr[k].natoms, fr[k].pos, type, fr[k].cell, fr[k].pbc, &eo, fo, NULL, NULL, &d) == SP_OK);
        for (a = 0; a < fr[k].natoms; ++a) el += e1[type[a]];
        if (fabs(el - eo) > worst_e) worst_e = fabs(el - eo);
        for (a = 0; a < 3 * fr[k].natoms; ++a)
            if (fabs(fl[a] - fo[a]) > worst_f) worst_f = fabs(fl[a] - fo[a]);
        free(type); free(fl); free(fo);
    }
    printf("LAMMPS pair_style table on `splinepot convert` of a Ti-O UF2, %d frames (periodic, slab, cluster): "
           "max |dE| %.2g eV, max |dF| %.2g eV/A\n", nc, worst_e, worst_f);
    SP_CHECK(nc > 0 && worst_e <= 1e-6 && worst_f <= 1e-5); /* a fitted UF2 is less smooth than check_table's */
    tu_free_frames(fr, nf);
    sp_pot_free(&pot);
}

int main(void) {
    char cmd[512];
    if (system("command -v lmp > /dev/null 2>&1") != 0) {
        SP_SKIP("lmp not found (Debian package lammps): LAMMPS cross-checks not run");
        return sp_test_finish();
    }
    strcpy(dir, "/tmp/splinepot_lmp_XXXXXX");
    if (!mkdtemp(dir)) { SP_CHECK(0); return sp_test_finish(); }
    check_written("Si_1.meam.spline", NULL, "tests/data/lmp_Si_1.meam.spline.xyz", "meam/spline", "Si", 1e-12, 1e-10);
    check_written("TiO.meam.spline", NULL, "tests/data/lmp_TiO.meam.spline.xyz", "meam/spline", "Ti O", 1e-12, 1e-10);
    check_written("Si.b.meam.sw.spline", NULL, "tests/data/lmp_Si.b.meam.sw.spline.xyz", "meam/sw/spline", "Si", 1e-12,
                  1e-10);
    check_table();
    check_convert_table();
    {   /* the old format given a name by `splinepot convert --element`: the multi-element format */
        const char *tool = getenv("SPLINEPOT");
        char cmd2[4096], named[300];
        snprintf(named, sizeof named, "%s/Si_named.meam.spline", dir);
        snprintf(cmd2, sizeof cmd2, "'%s' convert '%s/Si_1.meam.spline' '%s' --element Si > /dev/null && grep -q "
                 "'^meam/spline 1 Si$' '%s'", tool ? tool : "build/splinepot", tu_potdir(), named, named);
        if (tool && system(cmd2) == 0)
            check_written("Si_1.meam.spline", named, "tests/data/lmp_Si_1.meam.spline.xyz", "meam/spline", "Si", 1e-12, 1e-10);
        else if (tool) SP_CHECK(0);
        else SP_SKIP("no $SPLINEPOT: convert --element not run");
    }
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) printf("could not remove %s\n", dir);
    return sp_test_finish();
}
