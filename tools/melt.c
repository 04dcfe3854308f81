/* ---------------------------------------------------------------------- melt */

/* The melting point by two-phase coexistence, as the UF3 paper computes
   tungsten's (Xie, Rupp, Hennig, Sec. V D, after LAMMPS runs):
     A. NX x NY x NZ conventional cells equilibrated at --temp and --press
        (Langevin thermostat, stochastic cell rescaling of x, y and z), then
        set to the mean cell lengths of the second half of the stage (the
        last ones are a fluctuation, which stage B would freeze in: a cell
        0.4 % small squeezes the liquid by 1 GPa and makes it crystallize);
     B. the half of the cell at fractional x >= 1/2 melted at --hot and
        cooled back to --temp over --melt steps, the other half held still
        and the cell fixed, so that a solid and a liquid slab meet at two
        interfaces normal to x;
     C. isoenthalpic-isobaric (NPH) dynamics: the solid melts or the liquid
        freezes, taking or giving latent heat, until the temperature is the
        one at which the two coexist at that pressure; the melting point is
        the mean temperature over the second half of this stage.
   NPH is the Martyna-Tobias-Klein barostat on the three cell lengths (J.
   Chem. Phys. 101, 4177 (1994), as LAMMPS `fix nph aniso`), integrated by
   the Trotter splitting of Tuckerman et al. (J. Phys. A 39, 5629 (2006)):
       dx_a/dt = v_a + (p_a / W) x_a,
       dv_a/dt = F_a / m - (p_a / W + tr p / (N_f W)) v_a,
       dL_a/dt = (p_a / W) L_a,
       dp_a/dt = V (P_aa - P0) + 2 K / N_f,
   which conserves K + U + sum p_a^2 / 2W + P0 V (printed as a check).
   Which phase an x slab (one cell thick) is in: the order of an in-plane
   reflection (0 k l) of the crystal that every basis atom scatters in phase,
   psi = |<exp(2 pi i (k NY s_y + l NZ s_z))>| over the slab's atoms at
   fractional coordinates s: near 1 in a crystal (0.8-0.9 close to melting),
   near 1/sqrt(atoms) in a liquid; solid when psi > 1/2.
   --cell FILE.xyz gives the crystal instead of --lattice: any orthogonal
   periodic cell of any elements (an L1_2 or B2 alloy, a compound), repeated
   NX x NY x NZ times; a reflection every atom of it scatters in phase
   measures the order, and the masses are the atoms' own.
   The closest two atoms came over the run is reported: a model fitted to
   crystals knows nothing of pairs much closer than their neighbours, which
   a liquid made too hot brings (a UF2 continues its first cubic piece
   below the first knot).
   --hold T replaces stage C by constant-pressure dynamics at T (stage A's),
   and reports whether the crystal grows or melts: below the melting point
   the solid fraction rises, above it falls.
   The 10-block error of one run is the noise of its temperature only; where
   the interface settles, and so how much latent heat went where, differs
   from run to run by more in a small cell (LJ, 512 atoms: 76-83 K over
   seeds, each +-0.3-0.5 K). --runs N repeats A-C with seeds S .. S+N-1
   (run r is the run --seed S+r alone) and reports their mean and standard
   error. */

/* one run's result */
typedef struct melt_run_t {
    long seed;
    double t0, temp, err, press, f_start, f_end, hdrift; /* hdrift: eV/atom */
} melt_run_t;

typedef struct melt_t {
    sp_pot_t *pot;
    int n, nslab, kq[2], *type, *held, built, rebuilds;
    double *x, *v, *F, *mass, skin, dt, ke, pt[9], rmin;
    sp_cell_t cell;
    sp_nlist_t nl;
    sp_work_t ws;
    sp_out_t res;
    sp_diag_t diag;
    rng_t rng;
    long step;
} melt_t;

/* M->rmin: the square of the closest distance between two atoms so far */
static void melt_closest(melt_t *M) {
    const sp_nlist_t *nl = &M->nl;
    int i, k;
    for (i = 0; i < nl->natoms; ++i)
        for (k = nl->first[i]; k < nl->first[i + 1]; ++k) {
            const double *a = nl->xe + 3 * i, *b = nl->xe + 3 * nl->j[k];
            const double r2 = (b[0] - a[0]) * (b[0] - a[0]) + (b[1] - a[1]) * (b[1] - a[1]) + (b[2] - a[2]) * (b[2] - a[2]);
            if (r2 < M->rmin) M->rmin = r2;
        }
}

/* forces at the positions x: the list rebuilt when stale, else refreshed */
static int melt_forces(melt_t *M) {
    sp_result_t r = SP_OK;
    if (!M->built || sp_nlist_stale(&M->nl, M->x, M->pot->cutoff)) {
        r = sp_nlist_build(&M->nl, &M->cell, M->x, M->n, M->pot->cutoff + M->skin, &M->diag);
        M->built = r == SP_OK;
        ++M->rebuilds;
    } else {
        sp_nlist_update(&M->nl, M->x);
    }
    M->res.forces = M->F;
    if (r == SP_OK) r = sp_pot_compute(M->pot, &M->nl, M->type, &M->ws, &M->res);
    if (r == SP_OK) {
        melt_closest(M);
        return 1;
    }
    fprintf(stderr, "error: melt step %ld: %s\n", M->step, M->diag.msg[0] ? M->diag.msg : sp_result_str(r));
    return 0;
}

/* kinetic energy (eV) and pressure tensor M->pt (eV/A^3) of the current state */
static double melt_pressure(melt_t *M) {
    const double vol = cell_volume(M->cell.h);
    double kab[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
    int i, d, e;
    for (i = 0; i < M->n; ++i)
        for (d = 0; d < 3; ++d)
            for (e = 0; e < 3; ++e) kab[3 * d + e] += M->mass[i] * M->v[3 * i + d] * M->v[3 * i + e];
    for (d = 0; d < 9; ++d) M->pt[d] = (kab[d] * MVV2E + 0.5 * (M->res.virial[d] + M->res.virial[3 * (d % 3) + d / 3])) / vol;
    M->ke = 0.5 * (kab[0] + kab[4] + kab[8]) * MVV2E;
    return M->ke;
}

/* the temperature of all atoms from M->ke (K) */
static double melt_tall(const melt_t *M) { return 2.0 * M->ke / (3.0 * (M->n - 1) * BOLTZ); }

/* the temperature of the atoms not held (K) */
static double melt_temp(const melt_t *M) {
    double ke = 0.0;
    int i, nm = 0;
    for (i = 0; i < M->n; ++i)
        if (!(M->held && M->held[i])) {
            const double *v = M->v + 3 * i;
            ke += 0.5 * M->mass[i] * (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]) * MVV2E;
            ++nm;
        }
    return nm > 1 ? 2.0 * ke / (3.0 * (nm - 1) * BOLTZ) : 0.0;
}

/* the cell, the list and the positions mapped by m (h -> h m, x -> x m), v by mi */
static int melt_map(melt_t *M, const double *m, const double *mi) {
    sp__map3(M->cell.h, 3, m);
    sp__map3(M->x, (size_t)M->n, m);
    if (mi) sp__map3(M->v, (size_t)M->n, mi);
    if (sp_nlist_deform(&M->nl, m) == SP_OK) return 1;
    fprintf(stderr, "error: melt step %ld: the cell can no longer be followed\n", M->step);
    return 0;
}

/* One Langevin step (the BAOAB splitting of md --thermostat) at temp, atoms
   with held[i] standing still; with bt > 0 then a step of stochastic cell
   rescaling of x, y and z (md --press --aniso) towards p0 (eV/A^3). */
static int melt_langevin(melt_t *M, double temp, double c1, double bt, double p0) {
    const double dt = M->dt;
    md_kick_drift(M->n, M->mass, M->F, M->held, dt, c1, temp, &M->rng, M->x, M->v);
    ++M->step;
    if (!melt_forces(M)) return 0;
    md_kick(M->n, M->mass, M->F, M->held, dt, M->v);
    melt_pressure(M);
    if (bt > 0) {
        const double vol = cell_volume(M->cell.h);
        double m[9], mi[9];
        cell_strain(1, M->pt, 0.0, p0, BOLTZ * temp, vol, bt, dt, &M->rng, m, mi);
        if (!(fabs(m[0] - 1.0) < 0.05 && fabs(m[4] - 1.0) < 0.05 && fabs(m[8] - 1.0) < 0.05)) {
            fprintf(stderr, "error: melt step %ld: the cell changed by 5 %% in one step: the barostat is unstable; "
                    "raise --pdamp\n", M->step);
            return 0;
        }
        return melt_map(M, m, mi);
    }
    return 1;
}

/* sinh(y) / y */
static double sinhc(double y) { return fabs(y) < 1e-4 ? 1.0 + y * y / 6.0 : sinh(y) / y; }

/* half a step of the NPH cell momenta p (eV ps) */
static void melt_nph_momenta(const melt_t *M, double p0, double *p) {
    const double vol = cell_volume(M->cell.h), kin = 2.0 * M->ke / (3.0 * M->n);
    int d;
    for (d = 0; d < 3; ++d) p[d] += 0.5 * M->dt * (vol * (M->pt[4 * d] - p0) + kin);
}

/* the velocities' NPH half step: friction (p_a + tr p / N_f) / W and a
   half kick, each solved exactly over dt / 2 */
static void melt_nph_kick(melt_t *M, const double *p, double w) {
    const double h = 0.5 * M->dt, tr = (p[0] + p[1] + p[2]) / (3.0 * M->n * w);
    double a[3], e1[3], e2[3];
    int i, d;
    for (d = 0; d < 3; ++d) {
        a[d] = p[d] / w + tr;
        e1[d] = exp(-a[d] * h);
        e2[d] = h * exp(-0.5 * a[d] * h) * sinhc(0.5 * a[d] * h);
    }
    for (i = 0; i < M->n; ++i)
        for (d = 0; d < 3; ++d)
            M->v[3 * i + d] = M->v[3 * i + d] * e1[d] + M->F[3 * i + d] / (M->mass[i] * MVV2E) * e2[d];
}

/* One NPH step (cell momenta p, barostat mass w in eV ps^2, pressure p0) */
static int melt_nph(melt_t *M, double p0, double w, double *p) {
    double m[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0}, drift[3];
    int i, d;
    melt_nph_momenta(M, p0, p);
    melt_nph_kick(M, p, w);
    for (d = 0; d < 3; ++d) { /* x -> x e^(g dt) + v (e^(g dt) - 1) / g */
        const double g = p[d] / w * M->dt;
        m[4 * d] = exp(g);
        drift[d] = M->dt * exp(0.5 * g) * sinhc(0.5 * g);
    }
    if (!melt_map(M, m, NULL)) return 0;
    for (i = 0; i < M->n; ++i)
        for (d = 0; d < 3; ++d) M->x[3 * i + d] += M->v[3 * i + d] * drift[d];
    ++M->step;
    if (!melt_forces(M)) return 0;
    melt_nph_kick(M, p, w);
    melt_pressure(M);
    melt_nph_momenta(M, p0, p);
    return 1;
}

/* the fraction of the x slabs that are crystalline (psi > 1/2) */
static double melt_solid(const melt_t *M) {
    double *re = (double *)calloc(3 * (size_t)M->nslab, sizeof(double)), f = 0.0;
    int i, s;
    if (!re) return -1.0;
    for (i = 0; i < M->n; ++i) {
        const double *x = M->x + 3 * i;
        const double sx = x[0] / M->cell.h[0], ph = 6.283185307179586 * (M->kq[0] * x[1] / M->cell.h[4] + M->kq[1] * x[2] / M->cell.h[8]);
        s = (int)floor((sx - floor(sx)) * M->nslab);
        s = s < 0 ? 0 : s >= M->nslab ? M->nslab - 1 : s;
        re[3 * s] += cos(ph);
        re[3 * s + 1] += sin(ph);
        re[3 * s + 2] += 1.0;
    }
    for (s = 0; s < M->nslab; ++s)
        if (re[3 * s + 2] > 0 && hypot(re[3 * s], re[3 * s + 1]) > 0.5 * re[3 * s + 2]) f += 1.0;
    free(re);
    return f / M->nslab;
}

/* the in-plane reflection (0 k l) of the cells NY x NZ that every basis atom
   of the conventional cell (nb atoms, fractional basis u) scatters in
   phase, shortest first */
static void melt_reflection(const double *u, int nb, const double *side, const int *nc, int *kq) {
    double best = 1e300;
    int k, l, b;
    for (k = 0; k <= 6; ++k)
        for (l = 0; l <= 6; ++l) {
            double re = 0.0, im = 0.0, q = (k / side[1]) * (k / side[1]) + (l / side[2]) * (l / side[2]);
            if (k + l == 0 || q >= best) continue;
            for (b = 0; b < nb; ++b) {
                re += cos(6.283185307179586 * (k * u[3 * b + 1] + l * u[3 * b + 2]));
                im += sin(6.283185307179586 * (k * u[3 * b + 1] + l * u[3 * b + 2]));
            }
            if (hypot(re, im) > nb - 1e-9) {
                best = q;
                kq[0] = k * nc[1];
                kq[1] = l * nc[2];
            }
        }
}

static void melt_line(const melt_t *M, const char *stage, double temp) {
    const double vol = cell_volume(M->cell.h);
    printf("%-6s step %8ld  T %8.1f K  P %10.1f bar  V %.4f A^3/atom  pe %.6f eV/atom  solid %.2f\n", stage, M->step, temp,
           (M->pt[0] + M->pt[4] + M->pt[8]) / 3.0 * BAR_PER_EVA3, vol / M->n, M->res.energy / M->n, melt_solid(M));
    fflush(stdout);
}

static void melt_dump(const melt_t *M, const sp_frame_t *proto, FILE *fp) {
    sp_frame_t o = *proto;
    memcpy(o.cell, M->cell.h, sizeof o.cell);
    o.pos = M->x;
    o.forces = M->F;
    o.velocities = M->v;
    o.energy = M->res.energy;
    o.has_energy = 1;
    sp_xyz_write_frame(fp, &o, NULL);
}

/* --cell: the first frame of an extended XYZ file, periodic and orthogonal,
   as a basis: nb atoms at fractions u of the sides, their potential types
   and elements (nb = 0 after an error message naming the file and line) */
static int melt_cell_file(const char *path, const sp_pot_t *pot, double *side, double **u, int **type, int **z) {
    frames_t fr;
    const sp_frame_t *f;
    int nb = 0, i, d, ok;
    if (!read_frames(path, &fr)) return 0;
    f = &fr.f[0];
    ok = f->has_cell && f->pbc[0] && f->pbc[1] && f->pbc[2];
    for (d = 0; d < 3; ++d) side[d] = ok ? f->cell[4 * d] : 0.0;
    if (!ok) fprintf(stderr, "error: %s:%d: melt --cell: the cell must be periodic in x, y and z\n", path, fr.line[0] + 1);
    else if (f->cell[1] != 0 || f->cell[2] != 0 || f->cell[3] != 0 || f->cell[5] != 0 || f->cell[6] != 0 || f->cell[7] != 0 ||
             !(side[0] > 0 && side[1] > 0 && side[2] > 0 && side[0] < 1e6 && side[1] < 1e6 && side[2] < 1e6))
        ok = 0, fprintf(stderr, "error: %s:%d: melt --cell: the cell must be orthogonal, its sides along x, y and z "
                        "(x is the interface normal)\n", path, fr.line[0] + 1);
    *u = ok ? (double *)malloc(3 * (size_t)f->natoms * sizeof(double)) : NULL;
    *type = ok ? (int *)malloc((size_t)f->natoms * sizeof(int)) : NULL;
    *z = ok ? (int *)malloc((size_t)f->natoms * sizeof(int)) : NULL;
    if (ok && (!*u || !*type || !*z)) ok = !fail_msg("out of memory");
    if (ok && map_types(pot, path, fr.line[0], f, *type)) {
        for (i = 0; i < f->natoms; ++i) {
            for (d = 0; d < 3; ++d) {
                const double w = f->pos[3 * i + d] / side[d];
                (*u)[3 * i + d] = w - floor(w);
            }
            (*z)[i] = f->z[i];
        }
        nb = f->natoms;
    }
    if (!nb) free(*u), free(*type), free(*z), *u = NULL, *type = NULL, *z = NULL;
    frames_free(&fr);
    return nb;
}

static int cmd_melt(int argc, char **argv) {
    static const char *const withv[] = {"--lattice", "--cell", "--element", "--a", "--c-a", "--cells", "--temp", "--hot",
                                        "--press", "--dt", "--equil", "--melt", "--settle", "--nph", "--hold", "--tries",
                                        "--runs", "--seed", "--skin", "--every", "--damp", "--pdamp", "--bulk", "--dump",
                                        "-o", NULL};
    const char *model = positional(argc, argv, 0, withv), *lat = opt_value(argc, argv, "--lattice");
    const char *cells = opt_value(argc, argv, "--cells"), *dump = opt_value(argc, argv, "--dump");
    const char *report = opt_value(argc, argv, "-o"), *cellf = opt_value(argc, argv, "--cell");
    double a = 0.0, ca = 0.0, t0, hot, t0_arg, hot_arg, press, dt_fs, damp, pdamp, bulk, skin, hold, t_end = 0.0;
    long nequil, nmelt, nsettle, nnph, tries, runs, seed, every, steps_all = 0;
    int nc[3] = {16, 8, 8}, L = 0, typ = 0, ok = 1, i, try_, run, nrun = 0, nb = 0, *btype = NULL, *bz = NULL;
    double side[3], *u = NULL; /* the basis: nb atoms at fractions u of the cell's sides */
    melt_run_t R[100];
    sp_pot_t pot;
    sp_frame_t proto;
    melt_t M;
    out_file_t of, orep;
    double bsum[10], bcnt[10], psum = 0.0, hdrift = 0.0, f_start = 0.0, f_end = 0.0, t_err = 0.0, p_end = 0.0, wall;
    const int help = opt_flag(argc, argv, "--help");
    if (help || !model || !lat == !cellf || !opt_value(argc, argv, "--temp")) {
        fputs("usage: splinepot melt POTENTIAL (--lattice sc|bcc|fcc|diamond|hcp | --cell CELL.xyz) --temp K [--element X]\n"
              "       [--a A] [--c-a Q] [--cells NX,NY,NZ=16,8,8] [--hot K=1.5 T] [--press BAR=0] [--dt FS=1]\n"
              "       [--equil N=40000] [--melt N=80000] [--settle N=2000] [--nph N=200000] [--hold K]\n"
              "       [--tries N=1] [--runs N=1] [--seed S=1] [--skin A=1] [--every N=1000] [--damp FS=100] [--pdamp FS=1000]\n"
              "       [--bulk GPA=100] [--dump OUT.xyz] [-o R.json]\n"
              "  The melting point by two-phase coexistence (the UF3 paper's protocol): the crystal at\n"
              "  --temp and --press (Langevin, cell rescaled along x, y, z) for --equil steps; the half\n"
              "  at x >= Lx/2 melted at --hot and cooled back to --temp over --melt steps, the other\n"
              "  half held; --settle steps at --temp and --press again, all atoms free, so that the\n"
              "  fixed cell's stress is let go; then NPH (MTK barostat along x, y, z) for --nph steps:\n"
              "  the temperature goes to where solid and liquid coexist, and its mean over the second\n"
              "  half is the melting point (with a 10-block standard error). Prints the solid\n"
              "  fraction (x slabs whose in-plane order is crystalline) as it goes; a cell that ends\n"
              "  all liquid or all solid gives no melting point: with --tries N it starts again 8 %\n"
              "  lower or higher. The 10-block error is that of one run's temperature; where the\n"
              "  interfaces settle differs from run to run by more in a small cell: --runs N\n"
              "  repeats it all with seeds S .. S+N-1 and reports the mean and its standard error.\n"
              "  --hold K: the last stage at constant K and pressure instead, to see whether the\n"
              "  crystal grows (K below the melting point) or melts (above).\n"
              "  The half that did not melt by the end of its time at --hot is an error (raise --hot);\n"
              "  so is a crystal that melts at --temp before any liquid is made (with --tries, it\n"
              "  starts again 8 % lower). Too hot a liquid brings atoms closer than a model fitted\n"
              "  to crystals knows: the closest approach is printed at the end.\n"
              "  --cell: instead of --lattice, any crystal, of any elements: the first frame of an\n"
              "  extended XYZ file, periodic, its cell orthogonal, repeated NX x NY x NZ times.\n"
              "  --dump: the cell at the end of each stage (with vel, so md can go on from it).\n",
              help ? stdout : stderr);
        return help ? 0 : 2;
    }
    if (!opt_double(argc, argv, "--temp", 0.0, &t0) || !opt_double(argc, argv, "--hot", 1.5 * t0, &hot) ||
        !opt_double(argc, argv, "--press", 0.0, &press) || !opt_double(argc, argv, "--dt", 1.0, &dt_fs) ||
        !opt_long(argc, argv, "--equil", 40000, &nequil) || !opt_long(argc, argv, "--melt", 80000, &nmelt) ||
        !opt_long(argc, argv, "--settle", 2000, &nsettle) || !opt_long(argc, argv, "--nph", 200000, &nnph) || !opt_double(argc, argv, "--hold", 0.0, &hold) ||
        !opt_long(argc, argv, "--tries", 1, &tries) || !opt_long(argc, argv, "--runs", 1, &runs) ||
        !opt_long(argc, argv, "--seed", 1, &seed) ||
        !opt_double(argc, argv, "--skin", 1.0, &skin) || !opt_long(argc, argv, "--every", 1000, &every) ||
        !opt_double(argc, argv, "--damp", 100.0, &damp) || !opt_double(argc, argv, "--pdamp", 1000.0, &pdamp) ||
        !opt_double(argc, argv, "--bulk", 100.0, &bulk) || !opt_double(argc, argv, "--a", 0.0, &a) ||
        !opt_double(argc, argv, "--c-a", 0.0, &ca))
        return 1;
    if (cells && (sscanf(cells, "%d,%d,%d", &nc[0], &nc[1], &nc[2]) != 3 || nc[0] < 2 || nc[1] < 1 || nc[2] < 1))
        return fail_msg("melt: --cells NX,NY,NZ, NX >= 2 (the interface normal is x)");
    if (!(t0 > 0 && t0 < 1e5) || !(hot > t0 && hot < 1e6) || !(dt_fs > 0) || nequil < 0 || nmelt < 2 || nsettle < 0 || nnph < 20 ||
        hold < 0 || tries < 1 || tries > 20 || runs < 1 || runs > 100 || !(skin >= 0) || every < 1 || !(damp > 0) || !(pdamp >= 10.0 * dt_fs) ||
        !(bulk > 0) || !(fabs(press) < 1e9))
        return fail_msg("melt: --temp > 0, --hot > --temp, --dt > 0, --equil >= 0, --melt >= 2, --nph >= 20, --hold >= 0, "
                        "--tries 1..20, --runs 1..100, --skin >= 0, --every >= 1, --damp > 0, --pdamp >= 10 --dt, --bulk > 0");
    if (cellf) {
        if (!load_potential(model, &pot)) return 1;
        if (!(nb = melt_cell_file(cellf, &pot, side, &u, &btype, &bz))) return sp_pot_free(&pot), 1;
    } else {
        static const int one[3] = {1, 1, 1};
        sp_cell_t c1;
        const char *el;
        if (!(L = lattice_arg(lat, 1))) return 1;
        if (!potential_element(model, opt_value(argc, argv, "--element"), &pot, &typ)) return 1;
        if (!zero_stress(model, &pot, typ, L, &a, &ca)) return sp_pot_free(&pot), 1;
        el = pot.elem[typ][0] ? pot.elem[typ] : opt_value(argc, argv, "--element");
        nb = sp_lattice_cells((sp_lattice_t)L, a, ca * a, one, NULL, NULL);
        if (nb < 1) return sp_pot_free(&pot), fail_msg("melt: no crystal of that size");
        u = (double *)malloc(3 * (size_t)nb * sizeof(double));
        btype = (int *)malloc((size_t)nb * sizeof(int));
        bz = (int *)malloc((size_t)nb * sizeof(int));
        if (!u || !btype || !bz) return free(u), free(btype), free(bz), sp_pot_free(&pot), fail_msg("out of memory");
        sp_lattice_cells((sp_lattice_t)L, a, ca * a, one, u, &c1);
        for (i = 0; i < 3; ++i) side[i] = c1.h[4 * i];
        for (i = 0; i < 3 * nb; ++i) u[i] /= side[i % 3];
        for (i = 0; i < nb; ++i) btype[i] = typ, bz[i] = el ? sp_element_z(el) : 0;
    }
    memset(&M, 0, sizeof M);
    M.rmin = HUGE_VAL;
    memset(&proto, 0, sizeof proto);
    M.pot = &pot;
    M.skin = skin;
    M.dt = dt_fs * 1e-3;
    M.nslab = nc[0];
    M.n = sp__ortho_cells(side, u, nb, nc, NULL, NULL);
    if (M.n < 2) ok = !fail_msg("melt: no crystal of that size");
    M.type = ok ? (int *)malloc((size_t)M.n * sizeof(int)) : NULL;
    M.held = (int *)malloc((size_t)M.n * sizeof(int));
    M.x = (double *)malloc(3 * (size_t)M.n * sizeof(double));
    M.v = (double *)malloc(3 * (size_t)M.n * sizeof(double));
    M.F = (double *)malloc(3 * (size_t)M.n * sizeof(double));
    M.mass = (double *)malloc((size_t)M.n * sizeof(double));
    proto.z = (int *)malloc((size_t)M.n * sizeof(int));
    if (ok && (!M.type || !M.held || !M.x || !M.v || !M.F || !M.mass || !proto.z)) ok = !fail_msg("out of memory");
    if (ok) { /* the reflection from one cell's basis; the atoms' types and masses, cell by cell */
        melt_reflection(u, nb, side, nc, M.kq);
        if (M.kq[0] == 0 && M.kq[1] == 0) { /* (only a --cell file can lack one) */
            fprintf(stderr, "error: %s: melt --cell: no in-plane reflection (0 k l), k, l <= 6, in which all atoms of the "
                    "cell scatter in phase: give a crystal's conventional cell\n", cellf ? cellf : lat);
            ok = 0;
        }
        for (i = 0; i < M.n; ++i) {
            M.type[i] = btype[i % nb];
            proto.z[i] = bz[i % nb];
            M.mass[i] = sp_element_mass(proto.z[i]);
            if (ok && !(M.mass[i] > 0)) ok = !fail_msg("melt: no mass: the potential names no known element (give --element X)");
        }
    }
    proto.natoms = M.n;
    proto.pbc[0] = proto.pbc[1] = proto.pbc[2] = proto.has_cell = 1;
    if (ok && dump && !out_open(&of, dump)) ok = 0;
    if (ok && cellf)
        printf("melt: %d atoms (%d x %d x %d cells of %s, %.6f x %.6f x %.6f A), reflection (0 %d %d) of the supercell\n",
               M.n, nc[0], nc[1], nc[2], cellf, side[0], side[1], side[2], M.kq[0], M.kq[1]);
    else if (ok)
        printf("melt: %d atoms (%d x %d x %d cells, a = %.6f A), reflection (0 %d %d) of the supercell\n", M.n, nc[0],
               nc[1], nc[2], a, M.kq[0], M.kq[1]);
    t0_arg = t0;
    hot_arg = hot;
    wall = now_seconds();
    for (run = 0; ok && run < runs; ++run) {
        t0 = t0_arg;
        hot = hot_arg;
        if (runs > 1) printf("melt: run %d of %ld (seed %ld)\n", run + 1, runs, seed + run);
        for (try_ = 0; ok && try_ < tries; ++try_) {
            const double c1 = exp(-dt_fs / damp), bt = SP_EV_A3_TO_GPA / bulk / (pdamp * 1e-3), p0 = press / BAR_PER_EVA3;
            const double w = (M.n + 1) * BOLTZ * t0 * (pdamp * 1e-3) * (pdamp * 1e-3);
            double p[3] = {0, 0, 0}, h0 = 0.0, lmean[3] = {0, 0, 0}, fs = 1.0; /* fs: a solid fraction on the way */
            long s;
            if (cellf) sp__ortho_cells(side, u, nb, nc, M.x, &M.cell);
            else sp_lattice_cells((sp_lattice_t)L, a, ca * a, nc, M.x, &M.cell);
            M.rng.s = (uint64_t)(seed + run) * 0x9E3779B97F4A7C15ULL + 12345 + (uint64_t)try_;
            M.built = 0;
            steps_all += M.step; /* the tries before */
            M.step = 0;
            thermal_velocities(M.n, M.mass, t0, &M.rng, M.v);
            memset(M.held, 0, (size_t)M.n * sizeof(int));
            ok = melt_forces(&M);
            if (ok) melt_pressure(&M);
            printf("melt: try %d at %.1f K\n", try_ + 1, t0);
            /* A: the crystal at t0 and the pressure */
            for (s = 0; ok && s < nequil; ++s) {
                ok = melt_langevin(&M, t0, c1, bt, p0);
                if (ok && s >= nequil / 2)
                    for (i = 0; i < 3; ++i) lmean[i] += M.cell.h[4 * i] / (double)(nequil - nequil / 2);
                if (ok && (M.step % every == 0 || s == nequil - 1)) melt_line(&M, "equil", melt_tall(&M));
            }
            if (ok && nequil > 0) { /* the cell of the mean lengths, not the last one, which is a fluctuation */
                double m[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
                for (i = 0; i < 3; ++i) m[4 * i] = lmean[i] / M.cell.h[4 * i];
                ok = melt_map(&M, m, NULL) && melt_forces(&M);
                if (ok) melt_pressure(&M);
            }
            if (ok && dump) melt_dump(&M, &proto, of.fp);
            if (ok) fs = melt_solid(&M);
            if (ok && fs < 0.75) { /* far above the melting point: a try ending all liquid */
                fprintf(stderr, "%s: melt: the crystal melted at %.1f K before any liquid was made (solid fraction %.2f): "
                        "--temp is far above the melting point%s\n", try_ + 1 < tries ? "warning" : "error", t0,
                        fs, try_ + 1 < tries ? "; again 8 % lower" : "");
                t0 *= 0.92;
                hot = fmax(hot, 1.2 * t0);
                ok = try_ + 1 < tries;
                continue;
            }
            /* B: the half at x >= Lx/2 melted and cooled back, the rest held */
            for (i = 0; ok && i < M.n; ++i) { /* held atoms keep their velocities, to go on with in stage C */
                const double sx = M.x[3 * i] / M.cell.h[0];
                M.held[i] = sx - floor(sx) < 0.5;
            }
            for (s = 0; ok && s < nmelt; ++s) {
                const double tt = s < nmelt / 2 ? hot : hot + (t0 - hot) * (double)(s - nmelt / 2 + 1) / (double)(nmelt - nmelt / 2);
                ok = melt_langevin(&M, tt, c1, 0.0, 0.0);
                if (ok && (M.step % every == 0 || s == nmelt - 1)) melt_line(&M, "melt", melt_temp(&M));
                if (ok && s == nmelt / 2 - 1 && (fs = melt_solid(&M)) > 0.75) { /* the end of the time at --hot */
                    fprintf(stderr, "error: melt: the half at x >= Lx/2 did not melt at --hot %.1f K (solid fraction "
                            "%.2f, 0.5 expected): raise --hot\n", hot, fs);
                    ok = 0;
                }
            }
            if (ok && dump) melt_dump(&M, &proto, of.fp);
            if (!ok) break;
            memset(M.held, 0, (size_t)M.n * sizeof(int));
            /* the pressure of the fixed cell relaxed at t0, so that the NPH cell does not ring */
            for (s = 0; ok && s < nsettle; ++s) {
                ok = melt_langevin(&M, t0, c1, bt, p0);
                if (ok && (M.step % every == 0 || s == nsettle - 1)) melt_line(&M, "settle", melt_tall(&M));
            }
            if (!ok) break;
            /* C: NPH (or --hold: constant temperature and pressure) */
            f_start = melt_solid(&M);
            h0 = M.res.energy + M.ke + p0 * cell_volume(M.cell.h);
            hdrift = psum = 0.0;
            memset(bsum, 0, sizeof bsum);
            memset(bcnt, 0, sizeof bcnt);
            for (s = 0; ok && s < nnph; ++s) {
                double tk;
                ok = hold > 0 ? melt_langevin(&M, hold, c1, bt, p0) : melt_nph(&M, p0, w, p);
                if (!ok) break;
                tk = melt_tall(&M);
                if (hold == 0) {
                    const double hh = (M.res.energy + M.ke + (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]) / (2.0 * w) +
                                       p0 * cell_volume(M.cell.h) - h0) / M.n; /* per atom */
                    if (fabs(hh) > fabs(hdrift)) hdrift = hh;
                }
                if (s >= nnph / 2) { /* the second half, in 10 blocks */
                    const long k = (s - nnph / 2) * 10 / (nnph - nnph / 2);
                    bsum[k] += tk;
                    bcnt[k] += 1.0;
                    psum += (M.pt[0] + M.pt[4] + M.pt[8]) / 3.0 * BAR_PER_EVA3;
                }
                if (M.step % every == 0 || s == nnph - 1) melt_line(&M, hold > 0 ? "hold" : "nph", tk);
            }
            if (!ok) break;
            if (dump) melt_dump(&M, &proto, of.fp);
            f_end = melt_solid(&M);
            { /* the mean and the standard error of the 10 block means */
                double bm = 0.0, bv = 0.0, nall = 0.0;
                int k;
                for (k = 0; k < 10; ++k) bm += bsum[k] / bcnt[k] / 10.0;
                for (k = 0; k < 10; ++k) bv += (bsum[k] / bcnt[k] - bm) * (bsum[k] / bcnt[k] - bm) / 9.0;
                t_end = 0.0;
                for (k = 0; k < 10; ++k) t_end += bsum[k], nall += bcnt[k];
                t_end /= nall;
                t_err = sqrt(bv / 10.0);
                p_end = psum / nall;
            }
            if (hold > 0) break;
            if (f_end > 0.1 && f_end < 0.9) break;
            fprintf(stderr, "melt: try %d at %.1f K ended %s (solid fraction %.2f, %.1f K)%s\n", try_ + 1, t0,
                    f_end <= 0.1 ? "all liquid" : "all solid", f_end, t_end,
                    try_ + 1 < tries ? "; again" : "");
            t0 *= f_end <= 0.1 ? 0.92 : 1.08;
            hot = fmax(hot, 1.2 * t0);
        }
        if (!ok) break;
        if (try_ == tries) { /* no break: every try ended all solid or all liquid */
            if (runs == 1) ok = !fail_msg("melt: no coexistence: no melting point (try another --temp, or --tries)");
            else fprintf(stderr, "warning: melt: run %d (seed %ld): no coexistence in %ld tries: left out\n", run + 1, seed + run, tries);
            continue;
        }
        R[nrun].seed = seed + run;
        R[nrun].t0 = t0;
        R[nrun].temp = t_end;
        R[nrun].err = t_err;
        R[nrun].press = p_end;
        R[nrun].f_start = f_start;
        R[nrun].f_end = f_end;
        R[nrun++].hdrift = hdrift; /* (0 with --hold) */
        if (hold > 0)
            printf("hold at %.1f K: solid fraction %.2f -> %.2f: the crystal %s (mean T %.1f K, P %.1f bar)\n", hold,
                   f_start, f_end, f_end > f_start ? "grows: below the melting point" : f_end < f_start ? "melts: above the melting point" : "neither grows nor melts",
                   t_end, p_end);
        else {
            printf("NPH: conserved quantity K + U + p^2/2W + P0 V: largest change %.3e eV/atom\n", hdrift);
            printf("melting point: %.1f K +- %.1f (10-block standard error), pressure %.1f bar (target %.1f), "
                   "solid fraction %.2f -> %.2f\n", t_end, t_err, p_end, press, f_start, f_end);
        }
    }
    if (ok && nrun == 0) ok = !fail_msg("melt: no run reached coexistence: no melting point (try another --temp, or --tries)");
    if (ok) { /* over the runs: the mean, and (two or more) the standard error of the runs' results */
        double mt = 0.0, vt = 0.0, mf0 = 0.0, mf1 = 0.0, mp = 0.0, dh = 0.0;
        int grew = 0, melted = 0;
        for (run = 0; run < nrun; ++run) {
            mt += R[run].temp / nrun;
            mp += R[run].press / nrun;
            mf0 += R[run].f_start / nrun;
            mf1 += R[run].f_end / nrun;
            if (fabs(R[run].hdrift) > fabs(dh)) dh = R[run].hdrift;
            grew += R[run].f_end > R[run].f_start;
            melted += R[run].f_end < R[run].f_start;
        }
        for (run = 0; run < nrun; ++run) vt += (R[run].temp - mt) * (R[run].temp - mt);
        t_end = mt;
        t_err = nrun > 1 ? sqrt(vt / (nrun - 1) / nrun) : R[0].err;
        p_end = mp;
        f_start = mf0;
        f_end = mf1;
        hdrift = dh;
        if (runs > 1 && hold > 0)
            printf("hold at %.1f K, %d runs: the crystal grew in %d, melted in %d; mean T %.1f K +- %.1f\n", hold, nrun,
                   grew, melted, t_end, t_err);
        else if (runs > 1) {
            printf("melting point over %d of %ld runs: %.1f K +- %.1f (%s):", nrun, runs, t_end, t_err,
                   nrun > 1 ? "standard error of the runs" : "10-block standard error of the one run");
            for (run = 0; run < nrun; ++run) printf(" %.1f (seed %ld)", R[run].temp, R[run].seed);
            printf("\n");
        }
    }
    if (ok) printf("closest two atoms came: %.3f A (a model fitted to crystals may not hold there)\n", sqrt(M.rmin));
    if (ok) printf("perf: %.4f us/atom-step, %d list builds\n", 1e6 * (now_seconds() - wall) / ((double)M.n * (double)(steps_all + M.step)), M.rebuilds);
    if (ok && report && out_open(&orep, report)) {
        fprintf(orep.fp, "{\n  \"model\": ");
        json_string(orep.fp, model);
        if (cellf) {
            fprintf(orep.fp, ",\n  \"cell_file\": ");
            json_string(orep.fp, cellf);
            fprintf(orep.fp, ",\n  \"cell_A\": [%.17g, %.17g, %.17g]", side[0], side[1], side[2]);
        } else {
            fprintf(orep.fp, ",\n  \"lattice\": \"%s\",\n  \"a\": %.17g", lat, a);
        }
        fprintf(orep.fp, ",\n  \"natoms\": %d,\n  \"temp_start_K\": %.17g,\n"
                "  \"pressure_target_bar\": %.17g,\n  \"%s\": %.17g,\n  \"error_K\": %.17g,\n  \"pressure_bar\": %.17g,\n"
                "  \"solid_fraction\": [%.4f, %.4f],\n  \"nph_conserved_max_change_eV_per_atom\": %.6g,\n"
                "  \"closest_pair_A\": %.17g,\n  \"error_of\": \"%s\",\n  \"runs_without_coexistence\": %ld,\n  \"runs\": [",
                M.n, R[nrun - 1].t0, press, hold > 0 ? "hold_mean_K" : "melting_point_K", t_end, t_err, p_end,
                f_start, f_end, hdrift, sqrt(M.rmin),
                nrun > 1 ? "standard error of the runs' results" : "10-block standard error of the run", runs - nrun);
        for (run = 0; run < nrun; ++run)
            fprintf(orep.fp, "%s\n    {\"seed\": %ld, \"temp_start_K\": %.17g, \"%s\": %.17g, \"error_K\": %.17g, "
                    "\"pressure_bar\": %.17g, \"solid_fraction\": [%.4f, %.4f]}", run ? "," : "", R[run].seed, R[run].t0,
                    hold > 0 ? "hold_mean_K" : "melting_point_K", R[run].temp, R[run].err, R[run].press, R[run].f_start,
                    R[run].f_end);
        fprintf(orep.fp, "\n  ]\n}\n");
        ok = out_close(&orep, 1);
    } else if (report && ok) {
        ok = 0;
    }
    if (dump) ok = out_close(&of, ok) && ok;
    free(u); free(btype); free(bz);
    free(M.type); free(M.held); free(M.x); free(M.v); free(M.F); free(M.mass); free(proto.z);
    sp_work_free(&M.ws);
    sp_nlist_free(&M.nl);
    sp_pot_free(&pot);
    return ok ? 0 : 1;
}
