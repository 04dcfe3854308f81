/* >>props: relaxation, elastic constants, equation of state, cubic crystal
   properties. References: a Birch-Murnaghan curve written out by hand, lattice
   sums of a pair potential (zero-pressure lattice constant, Born elastic
   constants, unrelaxed vacancy energy) with de Boor basis values, brute-force
   image sums (tests/uf3_ref.h) for the relaxed vacancy, the perfect crystal for
   a relaxation, and LAMMPS (tests/data/lmp_props.txt, tools/refgen/gen_props.py)
   for Lenosky's Si_1 and the meam/sw/spline Si.b. */
#include "../splinepot.h"
#include "sp_test.h"
#include "test_util.h"
#include "uf3_ref.h"

#define GPA SP_EV_A3_TO_GPA

/* V2 and its first two derivatives at r (de Boor basis values) */
static void v2d(const sp_uf3_pair_t *P, double r, double *v, double *d1, double *d2) {
    double b[4], db[4], d2b[4];
    int i0 = sp_bspline_basis(P->t, P->nt, r, b, db, d2b), k;
    *v = *d1 = *d2 = 0.0;
    for (k = 0; k < 4 && i0 >= 0; ++k) {
        *v += P->c[i0 + k] * b[k];
        *d1 += P->c[i0 + k] * db[k];
        *d2 += P->c[i0 + k] * d2b[k];
    }
}

/* UF2 of one element: a Morse curve (well depth D, minimum r0) at the
   Greville abscissae of 18 uniform intervals on [1.5, 6], the last three
   coefficients 0 */
static void make_morse(sp_pot_t *pot, double D, double r0) {
    int z = 29, nt = 18 + 7, k;
    sp_diag_t d;
    memset(pot, 0, sizeof *pot);
    SP_CHECK(sp_uf3_create(pot, 1, &z, 0, &nt, NULL) == SP_OK);
    sp_bspline_knots_uniform(1.5, 6.0, 18, pot->uf3.pair[0].t);
    for (k = 0; k < nt - 4; ++k) {
        const double *t = pot->uf3.pair[0].t, g = (t[k + 1] + t[k + 2] + t[k + 3]) / 3.0;
        const double x = 1.0 - exp(-1.4 * (g - r0));
        pot->uf3.pair[0].c[k] = k < nt - 7 ? D * (x * x - 1.0) : 0.0;
    }
    pot->uf3.e1[0] = -0.25;
    SP_CHECK(sp_uf3_finish(pot, &d) == SP_OK);
}

/* Reads the LAMMPS potential file name from potdir into pot; 0 (after a
   skip or a failed check) when it cannot. */
static int load_lmp_pot(const char *potdir, const char *name, sp_pot_t *pot) {
    char path[512];
    sp_diag_t d;
    snprintf(path, sizeof path, "%s/%s", potdir, name);
    if (!tu_exists(path)) {
        SP_SKIP("LAMMPS potential files not found (apt-get install lammps-data)");
        return 0;
    }
    memset(pot, 0, sizeof *pot);
    if (sp_pot_read_file(pot, path, &d) == SP_OK) return 1;
    SP_CHECK(!"LAMMPS potential file readable");
    return 0;
}

/* Lattice sums over the neighbours R of one atom of a Bravais lattice
   (fcc or bcc conventional cell of side a): e = sum V2, s = sum V2' r (zero
   at zero pressure), the Born constants (1/Omega) sum (V2'' - V2'/r)
   R_a R_b R_c R_d / r^2 for xxxx, xxyy, yzyz, and (g not NULL) the unrelaxed
   surface energies of cuts between two planes of normals (100), (110),
   (111): the bonds crossing the cut, -(1 / 2 Omega) sum |R.n| V2(R), J/m^2. */
static void lattice_sums(const sp_pot_t *pot, sp_lattice_t lat, double a, double *e, double *s, double *c, double *g) {
    static const double nrm[3][3] = {{0, 0, 1}, {0.7071067811865476, 0.7071067811865476, 0},
                                     {0.5773502691896258, 0.5773502691896258, 0.5773502691896258}};
    const sp_uf3_pair_t *P = pot->uf3.pair;
    double basis[3 * 4], gs[3] = {0, 0, 0};
    sp_cell_t cell;
    const int nb = sp_lattice_cell(lat, 1.0, 1, basis, &cell), m = (int)(P->cut / a) + 2;
    int x, y, z, k;
    *e = *s = c[0] = c[1] = c[2] = 0.0;
    for (x = -m; x <= m; ++x)
        for (y = -m; y <= m; ++y)
            for (z = -m; z <= m; ++z)
                for (k = 0; k < nb; ++k) {
                    const double R[3] = {(x + basis[3 * k]) * a, (y + basis[3 * k + 1]) * a, (z + basis[3 * k + 2]) * a};
                    const double r2 = R[0] * R[0] + R[1] * R[1] + R[2] * R[2], r = sqrt(r2);
                    double v, d1, d2, w;
                    int q;
                    if (r2 == 0.0 || r >= P->cut) continue;
                    v2d(P, r, &v, &d1, &d2);
                    w = (d2 - d1 / r) / r2;
                    *e += v;
                    *s += d1 * r;
                    c[0] += w * R[0] * R[0] * R[0] * R[0];
                    c[1] += w * R[0] * R[0] * R[1] * R[1];
                    c[2] += w * R[1] * R[1] * R[2] * R[2];
                    for (q = 0; q < 3; ++q) gs[q] += fabs(R[0] * nrm[q][0] + R[1] * nrm[q][1] + R[2] * nrm[q][2]) * v;
                }
    for (k = 0; k < 3; ++k) {
        c[k] /= a * a * a / nb;
        if (g) g[k] = -gs[k] / (2.0 * a * a * a / nb) * SP_EV_A2_TO_JM2;
    }
}

static void test_eos(void) {
    const double V0 = 17.3, E0 = -3.9, B0 = 0.82, Bp = 4.6;
    double v[9], e[9], o[5];
    int k;
    for (k = 0; k < 9; ++k) {
        const double x = pow(V0 / (v[k] = V0 * (0.92 + 0.02 * k)), 2.0 / 3.0);
        e[k] = E0 + 9.0 * V0 * B0 / 16.0 * ((x - 1) * (x - 1) * (x - 1) * Bp + (x - 1) * (x - 1) * (6.0 - 4.0 * x));
    }
    SP_CHECK(sp_eos_fit(9, v, e, o) == SP_OK);
    SP_CHECK_NEAR(o[0], V0, 1e-11, 0);
    SP_CHECK_NEAR(o[1], E0, 1e-12, 0);
    SP_CHECK_NEAR(o[2], B0, 1e-9, 0);
    SP_CHECK_NEAR(o[3], Bp, 1e-7, 0);
    SP_CHECK(o[4] < 1e-13);
    /* order of the points does not matter; noise shows in the residual */
    {
        double v2[9], e2[9], o2[5];
        for (k = 0; k < 9; ++k) {
            v2[k] = v[(5 * k) % 9];
            e2[k] = e[(5 * k) % 9] + (k % 2 ? 1e-4 : -1e-4);
        }
        SP_CHECK(sp_eos_fit(9, v2, e2, o2) == SP_OK);
        SP_CHECK_NEAR(o2[0], V0, 1e-2, 0);
        SP_CHECK(o2[4] > 2e-5 && o2[4] < 1e-4);
    }
    SP_CHECK(sp_eos_fit(3, v, e, o) == SP_ERR_BAD_ARG);
    {
        double vd[5] = {10, 10, 11, 11, 12}, ed[5] = {1, 1, 0, 0, 1};
        SP_CHECK(sp_eos_fit(5, vd, ed, o) == SP_ERR_BAD_ARG); /* 3 distinct volumes */
    }
    e[4] = NAN;
    SP_CHECK(sp_eos_fit(9, v, e, o) == SP_ERR_NOT_FINITE);
    for (k = 0; k < 9; ++k) e[k] = -(v[k] - V0) * (v[k] - V0); /* a maximum */
    SP_CHECK(sp_eos_fit(9, v, e, o) == SP_ERR_SINGULAR);
    v[2] = -1.0;
    SP_CHECK(sp_eos_fit(9, v, e, o) == SP_ERR_BAD_ARG);
}

/* atom counts and nearest-neighbour shells by brute force */
static void test_lattices(void) {
    static const int nbs[5] = {0, 1, 2, 4, 8}, nnc[5] = {0, 6, 8, 12, 4};
    static const double nnd[5] = {0, 1.0, 0.8660254037844386, 0.7071067811865476, 0.4330127018922193};
    int L;
    SP_CHECK(sp_lattice_cell((sp_lattice_t)5, 1.0, 1, NULL, NULL) == 0);
    SP_CHECK(sp_lattice_cell(SP_LATTICE_FCC, 1.0, 0, NULL, NULL) == 0);
    for (L = 1; L <= 4; ++L) {
        double pos[3 * 8 * 8], dmin = 1e9;
        sp_cell_t cell;
        const int n = sp_lattice_cell((sp_lattice_t)L, 3.0, 2, pos, &cell);
        int i, j, t, cnt = 0;
        SP_CHECK(n == 8 * nbs[L] && sp_lattice_cell((sp_lattice_t)L, 3.0, 2, NULL, NULL) == n);
        SP_CHECK(cell.h[0] == 6.0 && cell.h[4] == 6.0 && cell.h[8] == 6.0 && cell.pbc[2] == 1);
        for (i = 0; i < n; ++i)
            for (j = 0; j < n; ++j)
                for (t = 0; t < 27; ++t) {
                    const double d[3] = {pos[3 * j] - pos[3 * i] + 6.0 * (t % 3 - 1),
                                         pos[3 * j + 1] - pos[3 * i + 1] + 6.0 * (t / 3 % 3 - 1),
                                         pos[3 * j + 2] - pos[3 * i + 2] + 6.0 * (t / 9 - 1)};
                    const double r = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
                    if (r == 0.0) continue;
                    if (r < dmin - 1e-9) { dmin = r; cnt = 0; }
                    if (fabs(r - dmin) < 1e-9) ++cnt;
                }
        SP_CHECK_NEAR(dmin, 3.0 * nnd[L], 1e-14, 0);
        SP_CHECK(cnt == n * nnc[L]);
    }
    /* 3 x 2 x 2 cells of every lattice, hcp (ideal c/a) too: shells by brute force */
    for (L = 1; L <= 5; ++L) {
        static const int ns[3] = {3, 2, 2};
        const double a = 3.0, c = 3.0 * 1.6329931618554521;
        double pos[3 * 8 * 12], dmin = 1e9;
        sp_cell_t cell;
        const int n = sp_lattice_cells((sp_lattice_t)L, a, c, ns, pos, &cell), want = L == 5 ? 12 : nnc[L];
        int i, j, t, cnt = 0;
        SP_CHECK(n == 12 * (L == 5 ? 4 : nbs[L]) && sp_lattice_cells((sp_lattice_t)L, a, c, ns, NULL, NULL) == n);
        SP_CHECK(cell.h[0] == 3.0 * a && cell.h[4] == 2.0 * (L == 5 ? a * sqrt(3.0) : a) &&
                 cell.h[8] == 2.0 * (L == 5 ? c : a) && cell.pbc[0] == 1);
        for (i = 0; i < n; ++i)
            for (j = 0; j < n; ++j)
                for (t = 0; t < 27; ++t) {
                    const double d[3] = {pos[3 * j] - pos[3 * i] + cell.h[0] * (t % 3 - 1),
                                         pos[3 * j + 1] - pos[3 * i + 1] + cell.h[4] * (t / 3 % 3 - 1),
                                         pos[3 * j + 2] - pos[3 * i + 2] + cell.h[8] * (t / 9 - 1)};
                    const double r = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
                    if (r == 0.0) continue;
                    if (r < dmin - 1e-9) { dmin = r; cnt = 0; }
                    if (fabs(r - dmin) < 1e-9) ++cnt;
                }
        SP_CHECK_NEAR(dmin, L == 5 ? a : a * nnd[L], 1e-14, 0);
        SP_CHECK(cnt == n * want);
    }
    SP_CHECK(sp_lattice_cells(SP_LATTICE_HCP, 3.0, 0.0, nbs + 1, NULL, NULL) == 0);
    SP_CHECK(sp_lattice_cells(SP_LATTICE_BCC, -1.0, 0.0, nbs + 1, NULL, NULL) == 0);
}

/* pair potential on fcc and bcc: a0, E0, C11 = C12 + ..., Cauchy C12 = C44,
   against lattice sums; clamped = relaxed (every atom a centre of inversion) */
static void test_pair_crystal(sp_lattice_t lat, const char *name) {
    sp_pot_t pot;
    sp_cubic_props_t pr;
    sp_props_opts_t po;
    sp_diag_t d;
    double lo = 2.0, hi = 8.0, e, s, c[3], ea, sa, ca[3], gsum[3], b;
    int k;
    make_morse(&pot, 0.2, 2.7);
    /* a0 of the lattice sums: bisection on sum V2' r */
    for (k = 0; k < 200; ++k) {
        const double m = 0.5 * (lo + hi);
        lattice_sums(&pot, lat, m, &e, &s, c, NULL);
        if (s < 0.0) lo = m; /* P = -s / 3 Omega > 0: compressed, a0 is larger */
        else hi = m;
    }
    lattice_sums(&pot, lat, 0.5 * (lo + hi), &e, &s, c, NULL);
    memset(&po, 0, sizeof po);
    po.vacancy_size = -1;
    po.eos_range = 0.001;
    SP_CHECK(sp_cubic_props(&pot, 0, lat, &po, &pr, &d) == SP_OK);
    printf("%s pair: a0 %.10f (lattice sums %.10f)  C11 %.4f C12 %.4f C44 %.4f GPa\n", name, pr.a0, 0.5 * (lo + hi),
           pr.c11, pr.c12, pr.c44);
    SP_CHECK_NEAR(pr.a0, 0.5 * (lo + hi), 1e-10, 0);
    SP_CHECK_NEAR(pr.e0, e + pot.uf3.e1[0], 1e-13, 0);
    SP_CHECK_NEAR(pr.c11, c[0] * GPA, 1e-7, 0);
    SP_CHECK_NEAR(pr.c12, c[1] * GPA, 1e-7, 0);
    SP_CHECK_NEAR(pr.c44, c[2] * GPA, 1e-7, 0);
    SP_CHECK_NEAR(pr.c44, pr.c12, 1e-7, 0); /* Cauchy */
    SP_CHECK_NEAR(pr.c11_clamped, pr.c11, 1e-9, 0);
    SP_CHECK_NEAR(pr.c44_clamped, pr.c44, 1e-9, 0);
    SP_CHECK(pr.cubic_dev < 1e-6 * pr.c11);
    b = (c[0] + 2.0 * c[1]) / 3.0 * GPA;
    SP_CHECK_NEAR(pr.b, b, 1e-7, 0);
    SP_CHECK_NEAR(pr.eos_b, b, 1e-4, 0);
    SP_CHECK_NEAR(pr.eos_v0, pr.v0, 1e-8, 0);
    SP_CHECK(pr.vac_atoms == 0 && pr.evf == 0.0);
    lattice_sums(&pot, lat, pr.a0, &ea, &sa, ca, gsum);
    for (k = 0; k < 3; ++k) {
        SP_CHECK_NEAR(pr.esurf_unrelaxed[k], gsum[k], 1e-10, 0);
        SP_CHECK(pr.esurf[k] <= pr.esurf_unrelaxed[k] && pr.esurf[k] > 0.5 * pr.esurf_unrelaxed[k]);
    }
    printf("%s pair surfaces (100) (110) (111): %.6f %.6f %.6f J/m^2 (unrelaxed %.6f %.6f %.6f)\n", name, pr.esurf[0],
           pr.esurf[1], pr.esurf[2], pr.esurf_unrelaxed[0], pr.esurf_unrelaxed[1], pr.esurf_unrelaxed[2]);
    /* a thicker slab: the same unrelaxed energies; relaxed ones within 2e-5 (the relaxation of
       open surfaces, bcc (111), reaches deep) */
    if (!getenv("SP_TEST_QUICK")) {
        sp_cubic_props_t p2;
        po.slab_periods = pr.slab_atoms[0] / (lat == SP_LATTICE_FCC ? 4 : 2) + 2;
        SP_CHECK(sp_cubic_props(&pot, 0, lat, &po, &p2, &d) == SP_OK);
        SP_CHECK(p2.slab_atoms[0] == pr.slab_atoms[0] + 2 * (lat == SP_LATTICE_FCC ? 4 : 2));
        for (k = 0; k < 3; ++k) {
            SP_CHECK_NEAR(p2.esurf_unrelaxed[k], pr.esurf_unrelaxed[k], 1e-11, 0);
            SP_CHECK_NEAR(p2.esurf[k], pr.esurf[k], 2e-5, 0);
        }
        po.slab_periods = 0;
    }
    /* given a guess instead of the scan: the same root */
    po.a_guess = 1.05 * pr.a0;
    po.slab_periods = -1;
    {
        sp_cubic_props_t p2;
        SP_CHECK(sp_cubic_props(&pot, 0, lat, &po, &p2, &d) == SP_OK);
        SP_CHECK_NEAR(p2.a0, pr.a0, 1e-12, 0);
    }
    /* a compressed reference: dsigma/deps is no longer the Born sum, but still
       symmetric and cubic; the elastic call itself on a strained cell */
    lattice_sums(&pot, lat, 0.98 * pr.a0, &ea, &sa, ca, NULL);
    {
        double pos[3 * 4], C[36];
        sp_cell_t cell;
        int type[4] = {0, 0, 0, 0};
        const int n = sp_lattice_cell(lat, 0.98 * pr.a0, 1, pos, &cell);
        SP_CHECK(sp_elastic(&pot, n, pos, type, &cell, 1e-5, NULL, C, &d) == SP_OK);
        /* sigma_xx = (1/Omega) sum V2' R_x^2 / r = sa / 3 Omega, and its derivative
           along eps_xx is the Born sum plus sigma_xx */
        SP_CHECK_NEAR(C[0], ca[0] + sa / (3.0 * 0.98 * 0.98 * 0.98 * pr.a0 * pr.a0 * pr.a0 / n), 1e-7, 1e-12);
        SP_CHECK_NEAR(C[1], C[6], 1e-9, 1e-12);
        cell.pbc[2] = 0;
        SP_CHECK(sp_elastic(&pot, n, pos, type, &cell, 1e-5, NULL, C, &d) == SP_ERR_BAD_CELL);
        cell.pbc[2] = 1;
        SP_CHECK(sp_elastic(&pot, n, pos, type, &cell, 0.5, NULL, C, &d) == SP_ERR_BAD_ARG);
    }
    sp_pot_free(&pot);
}

/* the vacancy of the pair potential: relaxed below unrelaxed (= -sum V2),
   the relaxed cell's energy and zero forces by brute force */
static void test_pair_vacancy(void) {
    const int quick = getenv("SP_TEST_QUICK") != NULL;
    sp_pot_t pot;
    sp_cubic_props_t pr;
    sp_props_opts_t po;
    sp_diag_t d;
    double e, s, c[3], *pos, erel, eref;
    int n, *type, k, q, nfd, steps = 0, pbc[3] = {1, 1, 1};
    sp_cell_t cell;
    make_morse(&pot, 0.2, 2.7);
    memset(&po, 0, sizeof po);
    po.slab_periods = -1;
    po.migration = -1;
    SP_CHECK(sp_cubic_props(&pot, 0, SP_LATTICE_FCC, &po, &pr, &d) == SP_OK);
    SP_CHECK(pr.vac_atoms == 256); /* a0 = 3.45 A: 4 x 4 x 4 cells are 2 cutoffs (6 A) wide */
    po.vacancy_size = 3;
    po.migration = quick ? -1 : 0; /* (valgrind: no band) */
    po.neb.fmax = 1e-7;
    SP_CHECK(sp_cubic_props(&pot, 0, SP_LATTICE_FCC, &po, &pr, &d) == SP_OK);
    SP_CHECK(pr.vac_atoms == 108 && pr.slab_atoms[0] == 0);
    lattice_sums(&pot, SP_LATTICE_FCC, pr.a0, &e, &s, c, NULL);
    printf("fcc pair vacancy: relaxed %.8f, unrelaxed %.8f eV\n", pr.evf, -e);
    SP_CHECK(pr.evf < -e && pr.evf > 0.0);
    n = sp_lattice_cell(SP_LATTICE_FCC, pr.a0, 3, NULL, NULL);
    pos = (double *)malloc(3 * (size_t)n * sizeof(double));
    type = (int *)calloc((size_t)n, sizeof(int));
    sp_lattice_cell(SP_LATTICE_FCC, pr.a0, 3, pos, &cell);
    SP_CHECK(sp_relax(&pot, n - 1, pos + 3, type, &cell, NULL, &erel, NULL, &steps, &d) == SP_OK);
    eref = uf3_ref_energy(&pot, n - 1, pos + 3, type, cell.h, pbc, NULL);
    SP_CHECK_NEAR(erel, eref, 1e-12, 0);
    SP_CHECK_NEAR(pr.evf, eref - (n - 1.0) / n * (n * (e + pot.uf3.e1[0])), 1e-9, 0);
    /* forces on the 12 neighbours of the vacancy by central differences of the image sum */
    for (k = 1, nfd = 0; k < n && nfd < (quick ? 2 : 12); ++k) {
        double *x = pos + 3 * k, m[3], L = 3.0 * pr.a0;
        for (q = 0; q < 3; ++q) m[q] = x[q] - L * floor(x[q] / L + 0.5);
        if (m[0] * m[0] + m[1] * m[1] + m[2] * m[2] > 0.6 * pr.a0 * pr.a0) continue;
        ++nfd;
        for (q = 0; q < 3; ++q) {
            double ep, em;
            x[q] += 1e-4;
            ep = uf3_ref_energy(&pot, n - 1, pos + 3, type, cell.h, pbc, NULL);
            x[q] -= 2e-4;
            em = uf3_ref_energy(&pot, n - 1, pos + 3, type, cell.h, pbc, NULL);
            x[q] += 1e-4;
            SP_CHECK(fabs(ep - em) / 2e-4 < 2e-7);
        }
    }
    SP_CHECK(nfd == (quick ? 2 : 12));
    /* the hop of the atom at (0, a/2, a/2) into the vacancy: the cell with it half-way is
       symmetric under the mirror that swaps the two sites, and relaxing it keeps the symmetry,
       so it finds the saddle point by other means than the nudged elastic band */
    if (!quick) {
        double esad, fsad[3 * 108], f2 = 0.0;
        sp_lattice_cell(SP_LATTICE_FCC, pr.a0, 3, pos, &cell);
        SP_CHECK(pos[3] == 0.0 && pos[4] == 0.5 * pr.a0 && pos[5] == 0.5 * pr.a0);
        pos[4] = pos[5] = 0.25 * pr.a0;
        SP_CHECK(sp_relax(&pot, n - 1, pos + 3, type, &cell, NULL, &esad, NULL, &steps, &d) == SP_OK);
        SP_CHECK(fabs(pos[3]) < 1e-9 && fabs(pos[4] - 0.25 * pr.a0) < 1e-9 && fabs(pos[5] - 0.25 * pr.a0) < 1e-9);
        SP_CHECK(sp_pot_compute_once(&pot, n - 1, pos + 3, type, cell.h, cell.pbc, &esad, fsad, NULL, NULL, &d) == SP_OK);
        for (k = 0; k < 3 * (n - 1); ++k) f2 += fsad[k] * fsad[k];
        SP_CHECK(sqrt(f2) < 1e-7); /* a stationary point */
        printf("fcc pair vacancy hop: CI-NEB %.8f eV (converged %d, lowest image %.6f), symmetric saddle %.8f eV\n", pr.em,
               pr.em_converged, pr.em_low, esad - erel);
        SP_CHECK(pr.em_converged == 1 && pr.em_low > 0.0);
        SP_CHECK_NEAR(pr.em, esad - erel, 0, 1e-7);
        /* a band stopped after 20 steps: its highest image goes to the saddle by the dimer method */
        po.neb.max_steps = 20;
        SP_CHECK(sp_cubic_props(&pot, 0, SP_LATTICE_FCC, &po, &pr, &d) == SP_OK);
        printf("fcc pair vacancy hop, band stopped at 20 steps: dimer saddle %.8f eV (converged %d)\n", pr.em,
               pr.em_converged);
        SP_CHECK(pr.em_converged == 2);
        SP_CHECK_NEAR(pr.em, esad - erel, 0, 1e-7);
    }
    free(pos);
    free(type);
    sp_pot_free(&pot);
}

/* FIRE from a displaced diamond crystal back to the crystal (shifted by the
   mean displacement, which forces summing to zero keep) */
static void test_relax(const char *potdir) {
    char path[512];
    sp_pot_t pot;
    sp_diag_t d;
    sp_cell_t cell;
    sp_relax_opts_t ro;
    double pos[3 * 64], x0[3 * 64], mean[3] = {0, 0, 0}, e0, e, dmax = 0.0;
    int type[64] = {0}, n, k, q, steps = 0;
    snprintf(path, sizeof path, "%s/Si_1.meam.spline", potdir);
    if (!tu_exists(path)) {
        SP_SKIP("Si_1.meam.spline not found (apt-get install lammps-data)");
        return;
    }
    memset(&pot, 0, sizeof pot);
    SP_CHECK(sp_pot_read_file(&pot, path, &d) == SP_OK);
    n = sp_lattice_cell(SP_LATTICE_DIAMOND, 5.431, 2, x0, &cell);
    SP_CHECK(sp_pot_compute_once(&pot, n, x0, type, cell.h, cell.pbc, &e0, NULL, NULL, NULL, &d) == SP_OK);
    for (k = 0; k < 3 * n; ++k) {
        pos[k] = x0[k] + 0.15 * (2.0 * tu_urand() - 1.0);
        mean[k % 3] += (pos[k] - x0[k]) / n;
    }
    memset(&ro, 0, sizeof ro);
    ro.fmax = 1e-9;
    SP_CHECK(sp_relax(&pot, n, pos, type, &cell, &ro, &e, NULL, &steps, &d) == SP_OK);
    printf("Si_1 64 atoms displaced 0.15 A: relaxed in %d steps, E - E_crystal = %.3g eV\n", steps, e - e0);
    SP_CHECK_NEAR(e, e0, 0, 1e-10);
    for (k = 0; k < n; ++k)
        for (q = 0; q < 3; ++q)
            if (fabs(pos[3 * k + q] - x0[3 * k + q] - mean[q]) > dmax) dmax = fabs(pos[3 * k + q] - x0[3 * k + q] - mean[q]);
    SP_CHECK(dmax < 1e-8);
    /* too few steps */
    for (k = 0; k < 3 * n; ++k) pos[k] = x0[k] + 0.15 * (2.0 * tu_urand() - 1.0);
    ro.max_steps = 5;
    SP_CHECK(sp_relax(&pot, n, pos, type, &cell, &ro, &e, NULL, &steps, &d) == SP_ERR_NO_CONVERGENCE);
    SP_CHECK(steps == 5 && strstr(d.msg, "not converged") != NULL);
    ro.max_steps = 0;
    ro.fmax = NAN;
    SP_CHECK(sp_relax(&pot, n, pos, type, &cell, &ro, &e, NULL, &steps, &d) == SP_ERR_BAD_ARG);
    pos[7] = NAN;
    SP_CHECK(sp_relax(&pot, n, pos, type, &cell, NULL, &e, NULL, &steps, &d) == SP_ERR_NOT_FINITE);
    /* bad arguments of the crystal call */
    {
        sp_cubic_props_t pr;
        sp_props_opts_t po;
        SP_CHECK(sp_cubic_props(&pot, 1, SP_LATTICE_DIAMOND, NULL, &pr, &d) == SP_ERR_UNKNOWN_ELEMENT);
        SP_CHECK(sp_cubic_props(&pot, 0, (sp_lattice_t)9, NULL, &pr, &d) == SP_ERR_BAD_ARG);
        memset(&po, 0, sizeof po);
        po.strain = 0.2;
        SP_CHECK(sp_cubic_props(&pot, 0, SP_LATTICE_DIAMOND, &po, &pr, &d) == SP_ERR_BAD_ARG);
    }
    sp_pot_free(&pot);
}

/* Lenosky's Si_1 vacancy relaxed from displaced sites is a shallow minimum:
   the hop's band (between it and its image under the inversion through the
   bond centre) passes a lower state with the vacancy on a site, which the
   props take for the vacancy and hop again. Then no image lies below it,
   the band converges, and E_vf is below the first minimum's. */
static void test_vacancy_states(const char *potdir) {
    sp_pot_t pot;
    sp_props_opts_t po;
    sp_cubic_props_t p0, p1;
    sp_diag_t d;
    if (getenv("SP_TEST_QUICK") || !load_lmp_pot(potdir, "Si_1.meam.spline", &pot)) return;
    memset(&po, 0, sizeof po);
    po.vacancy_size = 2;
    po.slab_periods = -1;
    po.migration = -1;
    SP_CHECK(sp_cubic_props(&pot, 0, SP_LATTICE_DIAMOND, &po, &p0, &d) == SP_OK);
    po.migration = 0;
    SP_CHECK(sp_cubic_props(&pot, 0, SP_LATTICE_DIAMOND, &po, &p1, &d) == SP_OK);
    printf("Si_1 64-atom vacancy: relaxed from displaced sites %.6f eV, lowest state of the hop %.6f eV; E_m %.6f eV "
           "(converged %d, lowest image %.2g eV)\n", p0.evf, p1.evf, p1.em, p1.em_converged, p1.em_low);
    SP_CHECK(p1.vac_atoms == 64 && p1.em_converged == 1);
    SP_CHECK(p1.evf < p0.evf - 0.01);
    SP_CHECK(p1.em_low > -1e-4 && p1.em > 0.0);
    sp_pot_free(&pot);
}

/* Lattice sums of a pair potential on hcp (a, c), over the neighbours R of
   the atom at the origin (the other atoms see the same shells, inverted):
   e = sum V2, sxy = sum V2' (Rx^2 + Ry^2) / 2r, sz = sum V2' Rz^2 / r (both
   zero at zero stress), the Born constants C[6] = C11 C12 C13 C33 C44 C66,
   (1/Omega) sum (V2'' - V2'/r) R_a R_b R_c R_d / r^2, and the unrelaxed
   basal surface energy -(1 / 2 Omega) sum |Rz| V2(R) (J/m^2; every cut
   between an A and a B plane is the same) */
static void hcp_sums(const sp_pot_t *pot, double a, double c, double *e, double *sxy, double *sz, double *C, double *g) {
    const sp_uf3_pair_t *P = pot->uf3.pair;
    const int one[3] = {1, 1, 1}, m = (int)(P->cut / a) + 2;
    double basis[3 * 4], gs = 0.0, omega;
    sp_cell_t cell;
    int x, y, z, k, q;
    sp_hcp_cell(a, c, one, basis, &cell);
    omega = cell.h[0] * cell.h[4] * cell.h[8] / 4.0;
    *e = *sxy = *sz = 0.0;
    for (q = 0; q < 6; ++q) C[q] = 0.0;
    for (x = -m; x <= m; ++x)
        for (y = -m; y <= m; ++y)
            for (z = -m; z <= m; ++z)
                for (k = 0; k < 4; ++k) {
                    const double R[3] = {x * cell.h[0] + basis[3 * k], y * cell.h[4] + basis[3 * k + 1],
                                         z * cell.h[8] + basis[3 * k + 2]};
                    const double r2 = R[0] * R[0] + R[1] * R[1] + R[2] * R[2], r = sqrt(r2);
                    const double X = R[0] * R[0], Y = R[1] * R[1], Z = R[2] * R[2];
                    double v, d1, d2, w;
                    if (r2 == 0.0 || r >= P->cut) continue;
                    v2d(P, r, &v, &d1, &d2);
                    w = (d2 - d1 / r) / r2;
                    *e += v;
                    *sxy += d1 * (X + Y) / (2.0 * r);
                    *sz += d1 * Z / r;
                    C[0] += w * X * X;
                    C[1] += w * X * Y;
                    C[2] += w * X * Z;
                    C[3] += w * Z * Z;
                    C[4] += w * Y * Z;
                    C[5] += w * X * Y;
                    gs += fabs(R[2]) * v;
                }
    for (q = 0; q < 6; ++q) C[q] /= omega;
    *g = -gs / (2.0 * omega) * SP_EV_A2_TO_JM2;
}

/* the zero-pressure a of hcp at c/a q, by bisection on the lattice sums */
static double hcp_sums_a0(const sp_pot_t *pot, double q, double *sxy, double *sz) {
    double lo = 2.0, hi = 4.0, e, C[6], g;
    int k;
    for (k = 0; k < 64; ++k) { /* 2^-64 of the bracket: to the last bit */
        const double m = 0.5 * (lo + hi);
        hcp_sums(pot, m, q * m, &e, sxy, sz, C, &g);
        if (2.0 * *sxy + *sz < 0.0) lo = m; /* compressed */
        else hi = m;
    }
    hcp_sums(pot, 0.5 * (lo + hi), q * 0.5 * (lo + hi), &e, sxy, sz, C, &g);
    return 0.5 * (lo + hi);
}

/* cells and nearest-neighbour shells of hcp by brute force: 6 in the plane
   at a, 6 in the next planes at sqrt(a^2/3 + c^2/4) */
static void test_hcp_cell(void) {
    const int n[3] = {2, 1, 2}, bad[3] = {2, 0, 2};
    double pos[3 * 16], a = 2.9, c = 4.7, d1 = 1e9, d2 = 1e9;
    const double dout = sqrt(a * a / 3.0 + c * c / 4.0);
    sp_cell_t cell;
    int i, j, t, c1 = 0, c2 = 0;
    SP_CHECK(sp_hcp_cell(a, c, bad, NULL, NULL) == 0);
    SP_CHECK(sp_hcp_cell(-1.0, c, n, NULL, NULL) == 0);
    SP_CHECK(sp_hcp_cell(a, NAN, n, NULL, NULL) == 0);
    SP_CHECK(sp_hcp_cell(a, c, n, NULL, NULL) == 16);
    SP_CHECK(sp_hcp_cell(a, c, n, pos, &cell) == 16);
    SP_CHECK_NEAR(cell.h[0], 2 * a, 1e-15, 0);
    SP_CHECK_NEAR(cell.h[4], a * sqrt(3.0), 1e-15, 0);
    SP_CHECK_NEAR(cell.h[8], 2 * c, 1e-15, 0);
    for (i = 0; i < 16; ++i)
        for (j = 0; j < 16; ++j)
            for (t = 0; t < 125; ++t) {
                const double d[3] = {pos[3 * j] - pos[3 * i] + cell.h[0] * (t % 5 - 2),
                                     pos[3 * j + 1] - pos[3 * i + 1] + cell.h[4] * (t / 5 % 5 - 2),
                                     pos[3 * j + 2] - pos[3 * i + 2] + cell.h[8] * (t / 25 - 2)};
                const double r = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
                if (fabs(d[2]) < 1e-9 && r > 0.0) {
                    if (r < d1 - 1e-9) { d1 = r; c1 = 0; }
                    if (fabs(r - d1) < 1e-9) ++c1;
                } else if (fabs(d[2]) > 1e-9) {
                    if (r < d2 - 1e-9) { d2 = r; c2 = 0; }
                    if (fabs(r - d2) < 1e-9) ++c2;
                }
            }
    SP_CHECK_NEAR(d1, a, 1e-14, 0);
    SP_CHECK_NEAR(d2, dout, 1e-14, 0);
    SP_CHECK(c1 == 16 * 6 && c2 == 16 * 6);
}

/* The stationary point of the vacancy cell (perfect without atom 0) with
   the hopping atom h half-way to the origin, where a symmetry of the
   lattice swaps the two sites (hcp: a mirror for the hop in the plane, an
   inversion for the hop to the next plane): a saddle found without the
   band. The hop direction is unstable there, and round-off breaks the
   symmetry, so the atoms are relaxed in short runs, after each the
   hopper's coordinate along the hop put back half-way (measured from the
   others' mean displacement); the other coordinates are free. Returns its
   energy less erel; *fres the largest force at the end, *moved how far the
   hopper went across the hop while relaxing. */
static double symmetric_saddle(const sp_pot_t *pot, int n, const double *perfect, const sp_cell_t *cell, int h, double erel,
                               double *fres, double *moved) {
    const size_t n3 = 3 * (size_t)(n - 1);
    double *x = (double *)malloc(n3 * sizeof(double)), *f = (double *)malloc(n3 * sizeof(double)), *hx;
    double u[3], mid[3], e = 0.0, len = 0.0, f2 = 0.0;
    int *type = (int *)calloc((size_t)n, sizeof(int)), k, i, cyc, steps = 0, r = SP_ERR_NO_CONVERGENCE;
    sp_relax_opts_t ro;
    sp_diag_t d;
    memcpy(x, perfect + 3, n3 * sizeof(double));
    hx = x + 3 * (size_t)(h - 1);
    for (k = 0; k < 3; ++k) len += perfect[3 * h + k] * perfect[3 * h + k];
    for (k = 0; k < 3; ++k) {
        u[k] = perfect[3 * h + k] / sqrt(len);
        hx[k] = mid[k] = 0.5 * perfect[3 * h + k];
    }
    memset(&ro, 0, sizeof ro);
    ro.fmax = 1e-9;
    ro.max_steps = 40;
    for (cyc = 0; cyc < 500 && r == SP_ERR_NO_CONVERGENCE; ++cyc) {
        double shift = 0.0, along = 0.0;
        r = sp_relax(pot, n - 1, x, type, cell, &ro, &e, NULL, &steps, &d);
        for (i = 0; i < n - 1; ++i)
            if (i != h - 1)
                for (k = 0; k < 3; ++k) shift += (x[3 * i + k] - perfect[3 * (i + 1) + k]) * u[k] / (n - 2);
        for (k = 0; k < 3; ++k) along += (hx[k] - mid[k]) * u[k];
        along -= shift;
        for (k = 0; k < 3; ++k) hx[k] -= along * u[k];
        if (r == SP_OK && fabs(along) > 1e-10) r = SP_ERR_NO_CONVERGENCE;
    }
    SP_CHECK(r == SP_OK);
    SP_CHECK(sp_pot_compute_once(pot, n - 1, x, type, cell->h, cell->pbc, &e, f, NULL, NULL, &d) == SP_OK);
    for (i = 0; i < (int)n3; ++i) f2 = f[i] * f[i] > f2 ? f[i] * f[i] : f2;
    *fres = sqrt(f2);
    *moved = 0.0;
    for (k = 0; k < 3; ++k) *moved += (hx[k] - mid[k]) * (hx[k] - mid[k]);
    *moved = sqrt(*moved);
    free(x);
    free(f);
    free(type);
    return e - erel;
}

/* pair potential on hcp against lattice sums: a0 and c/a, E0, the clamped
   constants = Born sums (Cauchy C12 = C66, C13 = C44), relaxed ones
   hexagonal with C13, C33, C44 unrelaxed, the basal surface; the vacancy
   against the brute-force image sum and both hops against the symmetric
   saddles */
static void test_pair_hcp(void) {
    const int quick = getenv("SP_TEST_QUICK") != NULL;
    sp_pot_t pot;
    sp_hcp_props_t pr;
    sp_props_opts_t po;
    sp_diag_t d;
    double lo = 1.4, hi = 1.9, a = 0.0, sxy, sz, e, C[6], g, *pos, erel;
    int k, n, *type, pbc[3] = {1, 1, 1}, nv[3] = {3, 3, 3}, steps = 0;
    sp_cell_t cell;
    make_morse(&pot, 0.2, 2.7);
    for (k = 0; k < 56; ++k) { /* c/a of the lattice sums: bisection on sz - sxy at zero pressure */
        const double q = 0.5 * (lo + hi);
        a = hcp_sums_a0(&pot, q, &sxy, &sz);
        if (sz - sxy < 0.0) lo = q; /* c compressed more than a */
        else hi = q;
    }
    a = hcp_sums_a0(&pot, 0.5 * (lo + hi), &sxy, &sz);
    hcp_sums(&pot, a, 0.5 * (lo + hi) * a, &e, &sxy, &sz, C, &g);
    memset(&po, 0, sizeof po);
    po.vacancy_size = 3;
    po.migration = quick ? -1 : 0;
    po.neb.fmax = 1e-7;
    po.eos_range = 0.001;
    po.slab_periods = quick ? -1 : 0;
    SP_CHECK(sp_hcp_props(&pot, 0, &po, &pr, &d) == SP_OK);
    printf("hcp pair: a0 %.10f c/a %.10f (lattice sums %.10f %.10f)  C11 %.4f C12 %.4f C13 %.4f C33 %.4f C44 %.4f C66 %.4f "
           "GPa (clamped C11 %.4f C66 %.4f)\n", pr.a0, pr.c_a, a, 0.5 * (lo + hi), pr.c11, pr.c12, pr.c13, pr.c33, pr.c44,
           pr.c66, pr.c11_clamped, pr.c66_clamped);
    SP_CHECK_NEAR(pr.a0, a, 1e-10, 0);
    SP_CHECK_NEAR(pr.c_a, 0.5 * (lo + hi), 1e-10, 0);
    SP_CHECK_NEAR(pr.c0, pr.c_a * pr.a0, 1e-15, 0);
    SP_CHECK_NEAR(pr.e0, e + pot.uf3.e1[0], 0, 1e-12);
    SP_CHECK_NEAR(pr.c11_clamped, C[0] * GPA, 1e-7, 0);
    SP_CHECK_NEAR(pr.c12_clamped, C[1] * GPA, 1e-7, 0);
    SP_CHECK_NEAR(pr.c13_clamped, C[2] * GPA, 1e-7, 0);
    SP_CHECK_NEAR(pr.c33_clamped, C[3] * GPA, 1e-7, 0);
    SP_CHECK_NEAR(pr.c44_clamped, C[4] * GPA, 1e-7, 0);
    SP_CHECK_NEAR(pr.c66_clamped, C[5] * GPA, 1e-7, 0);
    SP_CHECK_NEAR(pr.c66_clamped, pr.c12_clamped, 1e-7, 0); /* Cauchy */
    SP_CHECK_NEAR(pr.c44_clamped, pr.c13_clamped, 1e-7, 0);
    /* internal relaxation softens C11 and C66 only (hcp is no Bravais lattice) */
    SP_CHECK(pr.c11 < pr.c11_clamped - 1.0 && pr.c66 < pr.c66_clamped - 1.0 && pr.c12 > pr.c12_clamped + 1.0);
    SP_CHECK_NEAR(pr.c13, pr.c13_clamped, 1e-7, 0);
    SP_CHECK_NEAR(pr.c33, pr.c33_clamped, 1e-7, 0);
    SP_CHECK_NEAR(pr.c44, pr.c44_clamped, 1e-7, 0);
    SP_CHECK_NEAR(pr.c66, 0.5 * (pr.c11 - pr.c12), 1e-6, 0);
    SP_CHECK(pr.hex_dev < 1e-6 * pr.c11);
    /* the EOS at fixed c/a: the bulk modulus of uniform strain (2 C11 + 2 C12 + 4 C13 + C33) / 9,
       above the hydrostatic one (c/a free) */
    {
        const double bu = (2.0 * pr.c11 + 2.0 * pr.c12 + 4.0 * pr.c13 + pr.c33) / 9.0;
        SP_CHECK_NEAR(pr.eos_b, bu, 1e-4, 0);
        SP_CHECK(pr.b <= bu && pr.b > 0.9 * bu);
    }
    /* vacancy: the relaxed cell by brute force, below the unrelaxed -sum V2 / 2 ... */
    n = sp_hcp_cell(pr.a0, pr.c0, nv, NULL, NULL);
    SP_CHECK(pr.vac_atoms == n && n == 108);
    pos = (double *)malloc(3 * (size_t)n * sizeof(double));
    type = (int *)calloc((size_t)n, sizeof(int));
    sp_hcp_cell(pr.a0, pr.c0, nv, pos, &cell);
    {
        double *x = (double *)malloc(3 * (size_t)n * sizeof(double));
        memcpy(x, pos + 3, 3 * (size_t)(n - 1) * sizeof(double));
        SP_CHECK(sp_relax(&pot, n - 1, x, type, &cell, NULL, &erel, NULL, &steps, &d) == SP_OK);
        SP_CHECK_NEAR(erel, uf3_ref_energy(&pot, n - 1, x, type, cell.h, pbc, NULL), 0, 1e-11);
        free(x);
    }
    printf("hcp pair vacancy: relaxed %.8f, unrelaxed %.8f eV\n", pr.evf, -e);
    SP_CHECK(pr.evf > 0.0 && pr.evf < -e);
    SP_CHECK_NEAR(pr.evf, erel - (n - 1.0) * (e + pot.uf3.e1[0]), 0, 1e-8);
    if (!quick) {
        /* the two hops (to the atoms at (a, 0, 0) and (a/2, a/(2 sqrt 3), c/2)) against the saddles by symmetry */
        const int hop[2] = {4 * nv[1] * nv[2], 2};
        for (k = 0; k < 2; ++k) {
            double moved, fres, es;
            SP_CHECK(fabs(pos[3 * hop[k]] - (k ? 0.5 : 1.0) * pr.a0) < 1e-12 && fabs(pos[3 * hop[k] + 2] - k * 0.5 * pr.c0) < 1e-12);
            es = symmetric_saddle(&pot, n, pos, &cell, hop[k], erel, &fres, &moved);
            printf("hcp pair vacancy hop %s: CI-NEB %.8f eV (converged %d, lowest image %.6f), symmetric saddle %.8f eV "
                   "(largest force %.2g eV/A, hopper moved %.3f A across the hop)\n", k ? "to the next plane" : "in the plane",
                   pr.em[k], pr.em_converged[k], pr.em_low[k], es, fres, moved);
            SP_CHECK(pr.em_converged[k] == 1 && pr.em_low[k] > 0.0);
            SP_CHECK(fres < 1e-8);
            SP_CHECK_NEAR(pr.em[k], es, 0, 1e-7);
        }
        /* basal surface: all cuts alike, so the unrelaxed energy is the bond sum */
        printf("hcp pair surfaces (0001) (10-10): %.6f %.6f J/m^2 (unrelaxed %.6f %.6f; bond sum (0001) %.6f)\n", pr.esurf[0],
               pr.esurf[1], pr.esurf_unrelaxed[0], pr.esurf_unrelaxed[1], g);
        SP_CHECK_NEAR(pr.esurf_unrelaxed[0], g, 1e-10, 0);
        for (k = 0; k < 2; ++k) SP_CHECK(pr.esurf[k] <= pr.esurf_unrelaxed[k] && pr.esurf[k] > 0.5 * pr.esurf_unrelaxed[k]);
    }
    free(pos);
    free(type);
    /* bad arguments */
    po.c_a_guess = 3.0;
    SP_CHECK(sp_hcp_props(&pot, 0, &po, &pr, &d) == SP_ERR_BAD_ARG);
    SP_CHECK(sp_hcp_props(&pot, 2, NULL, &pr, &d) == SP_ERR_UNKNOWN_ELEMENT);
    SP_CHECK(sp_hcp_props(&pot, 0, NULL, NULL, &d) == SP_ERR_BAD_ARG);
    sp_pot_free(&pot);
}

/* Eigenvalues (ascending) of the Hermitian n x n matrix re + i im, through its
   real form [[re, -im], [im, re]] (each eigenvalue twice) */
static void herm_eig(int n, const double *re, const double *im, double *w) {
    double *S = (double *)calloc(4 * (size_t)n * n, sizeof(double)), *ws = (double *)malloc(6 * (size_t)n * sizeof(double));
    int u, v;
    for (u = 0; u < n; ++u)
        for (v = 0; v < n; ++v) {
            S[u * 2 * n + v] = S[(u + n) * 2 * n + v + n] = re[u * n + v];
            S[(u + n) * 2 * n + v] = im[u * n + v];
            S[u * 2 * n + v + n] = -im[u * n + v];
        }
    SP_CHECK(sp_linalg_eigsym(2 * n, S, 2 * n, ws, ws + 2 * n) == SP_OK);
    for (u = 0; u < n; ++u) w[u] = 0.5 * (ws[2 * u] + ws[2 * u + 1]);
    free(S);
    free(ws);
}

/* Phonon frequencies (THz) of a pair potential (pair energy 2 V2: the UF3
   convention, E = sum_i sum_j V2(r_ij)) on the primitive cell (n <= 2
   atoms, mass M) at q, from the lattice sums of the force constants
   phi''_ab(R) = (2V'' - 2V'/r) R_a R_b / r^2 + 2V'/r delta_ab:
   D_sa,tb = (1/M) [delta_st sum_{all j} phi''_ab(R_sj) - sum_{j of t} phi''_ab(R_sj) e^{i q.R_sj}] */
static void pair_phonons(const sp_pot_t *pot, int n, const double *pos, const sp_cell_t *cell, double M, const double *q,
                         double *f) {
    const sp_uf3_pair_t *P = pot->uf3.pair;
    double re[36] = {0}, im[36] = {0}, w[6];
    int s, t, x, y, z, a, b, mm = 1;
    while (mm < 40) { /* images far enough that every |R| < cut is reached */
        double wmin = 1e300;
        int d;
        for (d = 0; d < 3; ++d) {
            const double *h1 = cell->h + 3 * ((d + 1) % 3), *h2 = cell->h + 3 * ((d + 2) % 3), *h0 = cell->h + 3 * d;
            const double c[3] = {h1[1] * h2[2] - h1[2] * h2[1], h1[2] * h2[0] - h1[0] * h2[2], h1[0] * h2[1] - h1[1] * h2[0]};
            const double wd = fabs(h0[0] * c[0] + h0[1] * c[1] + h0[2] * c[2]) / sqrt(c[0] * c[0] + c[1] * c[1] + c[2] * c[2]);
            if (wd < wmin) wmin = wd;
        }
        if ((mm - 1) * wmin > P->cut) break;
        ++mm;
    }
    for (s = 0; s < n; ++s)
        for (t = 0; t < n; ++t)
            for (x = -mm; x <= mm; ++x)
                for (y = -mm; y <= mm; ++y)
                    for (z = -mm; z <= mm; ++z) {
                        double R[3], r2, r, v, d1, d2, ph;
                        int e;
                        for (e = 0; e < 3; ++e)
                            R[e] = pos[3 * t + e] - pos[3 * s + e] + x * cell->h[e] + y * cell->h[3 + e] + z * cell->h[6 + e];
                        r2 = R[0] * R[0] + R[1] * R[1] + R[2] * R[2];
                        r = sqrt(r2);
                        if (r2 == 0.0 || r >= P->cut) continue;
                        v2d(P, r, &v, &d1, &d2);
                        ph = q[0] * R[0] + q[1] * R[1] + q[2] * R[2];
                        for (a = 0; a < 3; ++a)
                            for (b = 0; b < 3; ++b) {
                                const double k = 2.0 * ((d2 - d1 / r) * R[a] * R[b] / r2 + (a == b ? d1 / r : 0.0)) / M;
                                re[(3 * s + a) * 3 * n + 3 * s + b] += k;
                                re[(3 * s + a) * 3 * n + 3 * t + b] -= k * cos(ph);
                                im[(3 * s + a) * 3 * n + 3 * t + b] -= k * sin(ph);
                            }
                    }
    herm_eig(3 * n, re, im, w);
    for (a = 0; a < 3 * n; ++a) f[a] = (w[a] < 0.0 ? -sqrt(-w[a]) : sqrt(w[a])) * SP_PHONON_THZ;
}

/* phonons of the pair potential against the lattice sums, fcc, bcc, hcp, at
   random wave vectors (not those of the supercell) */
static void test_phonon_pair(void) {
    static const sp_lattice_t lats[3] = {SP_LATTICE_FCC, SP_LATTICE_BCC, SP_LATTICE_HCP};
    sp_pot_t pot;
    sp_diag_t d;
    sp_phonon_opts_t po;
    double worst = 0.0;
    int L, k, i;
    make_morse(&pot, 0.2, 2.7);
    memset(&po, 0, sizeof po);
    po.displacement = 1e-4;
    po.range = pot.cutoff; /* a pair potential's force constants reach one cutoff */
    for (L = 0; L < 3; ++L) {
        double pos[6], q[3 * 6], f[6 * 6], fr[6], a, c = 0.0, mass[2] = {63.546, 63.546};
        int type[2] = {0, 0}, n;
        sp_cell_t cell;
        if (lats[L] == SP_LATTICE_HCP) {
            sp_hcp_props_t ph;
            sp_props_opts_t o;
            memset(&o, 0, sizeof o);
            o.vacancy_size = o.slab_periods = -1;
            SP_CHECK(sp_hcp_props(&pot, 0, &o, &ph, &d) == SP_OK);
            a = ph.a0;
            c = ph.c0;
        } else {
            a = lats[L] == SP_LATTICE_FCC ? 3.45 : 2.77;
        }
        n = sp_lattice_primitive(lats[L], a, c, pos, &cell);
        SP_CHECK(n == (lats[L] == SP_LATTICE_HCP ? 2 : 1));
        for (k = 0; k < 3 * 6; ++k) q[k] = (2.0 * tu_urand() - 1.0) * 2.0;
        q[0] = q[1] = q[2] = 0.0; /* Gamma */
        SP_CHECK(sp_phonons(&pot, n, pos, type, &cell, mass, 6, q, &po, f, &d) == SP_OK);
        for (k = 0; k < 6; ++k) {
            pair_phonons(&pot, n, pos, &cell, mass[0], q + 3 * k, fr);
            for (i = 0; i < 3 * n; ++i) {
                const double e = fabs(f[3 * n * k + i] - fr[i]);
                if (k == 0 && i < 3) {
                    SP_CHECK(fabs(f[i]) < 1e-4); /* acoustic at Gamma */
                    continue;
                }
                SP_CHECK_NEAR(f[3 * n * k + i], fr[i], 1e-6, 1e-6);
                if (e > worst) worst = e;
            }
        }
    }
    printf("pair phonons (fcc, bcc, hcp; 6 wave vectors each) vs lattice sums: largest difference %.2g THz (but the\n"
           "acoustic modes at Gamma)\n", worst);
    /* bad input */
    {
        double pos[3] = {0, 0, 0}, m = 1.0, f[3], q[3] = {0, 0, 0};
        int type = 0;
        sp_cell_t cell;
        sp_lattice_primitive(SP_LATTICE_FCC, 3.45, 0.0, pos, &cell);
        SP_CHECK(sp_lattice_primitive((sp_lattice_t)7, 3.45, 0.0, pos, &cell) == 0);
        SP_CHECK(sp_lattice_primitive(SP_LATTICE_HCP, 3.0, 0.0, pos, &cell) == 0);
        sp_lattice_primitive(SP_LATTICE_FCC, 3.45, 0.0, pos, &cell);
        m = 0.0;
        SP_CHECK(sp_phonons(&pot, 1, pos, &type, &cell, &m, 1, q, NULL, f, &d) == SP_ERR_BAD_ARG);
        m = 1.0;
        type = 3;
        SP_CHECK(sp_phonons(&pot, 1, pos, &type, &cell, &m, 1, q, NULL, f, &d) == SP_ERR_UNKNOWN_ELEMENT);
        type = 0;
        cell.pbc[1] = 0;
        SP_CHECK(sp_phonons(&pot, 1, pos, &type, &cell, &m, 1, q, NULL, f, &d) == SP_ERR_BAD_CELL);
        cell.pbc[1] = 1;
        po.range = 400.0;
        SP_CHECK(sp_phonons(&pot, 1, pos, &type, &cell, &m, 1, q, &po, f, &d) == SP_ERR_RANGE);
    }
    sp_pot_free(&pot);
}

/* many-body: long waves travel at the speed of sound of the (relaxed-ion)
   elastic constants, Si_1 diamond along [100] (C11, C44) and Ti hcp along
   a (C11, C66, C44) and c (C33, C44) */
static void test_phonon_sound(const char *potdir) {
    static const char *names[2] = {"Si_1.meam.spline", "Ti.meam.spline"};
    int p;
    for (p = 0; p < 2; ++p) {
        sp_pot_t pot;
        sp_diag_t d;
        sp_props_opts_t o;
        sp_cell_t cell;
        double pos[6], f[12], q[6], mass[2], rho, C[5], a, c = 0.0, vol;
        int type[2] = {0, 0}, n, k;
        if (!load_lmp_pot(potdir, names[p], &pot)) continue;
        memset(&o, 0, sizeof o);
        o.vacancy_size = o.slab_periods = -1;
        mass[0] = mass[1] = p ? 47.867 : 28.0855;
        if (p == 0) {
            sp_cubic_props_t pr;
            SP_CHECK(sp_cubic_props(&pot, 0, SP_LATTICE_DIAMOND, &o, &pr, &d) == SP_OK);
            a = pr.a0;
            C[0] = pr.c11; C[1] = pr.c44; C[2] = pr.c44; /* [100]: L, T, T */
        } else {
            sp_hcp_props_t pr;
            SP_CHECK(sp_hcp_props(&pot, 0, &o, &pr, &d) == SP_OK);
            a = pr.a0;
            c = pr.c0;
            C[0] = pr.c11; C[1] = pr.c66; C[2] = pr.c44; /* along x: L, T in plane, T along c */
            C[3] = pr.c33; C[4] = pr.c44;                /* along c: L, T, T */
        }
        n = sp_lattice_primitive(p ? SP_LATTICE_HCP : SP_LATTICE_DIAMOND, a, c, pos, &cell);
        SP_CHECK(sp_cell_check(&cell, &vol) == SP_OK);
        rho = n * mass[0] * 1.66053906660e-27 / (vol * 1e-30); /* kg/m^3 */
        memset(q, 0, sizeof q);
        q[0] = 2e-3; /* 1/A */
        q[5] = 2e-3;
        SP_CHECK(sp_phonons(&pot, n, pos, type, &cell, mass, 2, q, NULL, f, &d) == SP_OK);
        for (k = 0; k < (p ? 2 : 1); ++k) {
            double v[3], ref[3], t;
            int i, j;
            for (i = 0; i < 3; ++i) {
                v[i] = f[3 * n * k + i] * 2.0 * 3.141592653589793 * 1e12 / (2e-3 * 1e10); /* m/s */
                ref[i] = sqrt(C[k ? 3 + (i == 0 ? 0 : 1) : i] * 1e9 / rho);
            }
            for (i = 0; i < 3; ++i) /* both sorted ascending */
                for (j = i + 1; j < 3; ++j)
                    if (ref[j] < ref[i]) { t = ref[i]; ref[i] = ref[j]; ref[j] = t; }
            printf("%s sound along %s: %.2f %.2f %.2f m/s (elastic constants %.2f %.2f %.2f)\n", names[p],
                   p == 0 ? "[100]" : k ? "c" : "a", v[0], v[1], v[2], ref[0], ref[1], ref[2]);
            for (i = 0; i < 3; ++i) SP_CHECK_NEAR(v[i], ref[i], 1e-4, 0);
        }
        sp_pot_free(&pot);
    }
}

/* The unrelaxed generalized stacking-fault energy (J/m^2) of a pair
   potential by lattice sums: the bulk crystal (the nb atoms basis of the
   orthogonal cell of sides H) turned so that the plane's rows (given here
   as unit vectors e) lie along x, y, z, cut at height zc between two
   atomic planes; per area of the plane cell (sides lx, ly), sum over the
   atoms i below the cut in one cell and every atom j above within the
   cutoff of 2 V2(|R_ij + u|) - 2 V2(|R_ij|) */
static double gsfe_sums(const sp_pot_t *pot, const double *basis, int nb, const double *H, const double *e, double lx,
                        double ly, double zc, const double *u) {
    const sp_uf3_pair_t *P = pot->uf3.pair;
    const double hmin = H[0] < H[1] ? (H[0] < H[2] ? H[0] : H[2]) : (H[1] < H[2] ? H[1] : H[2]);
    const int m = (int)(2.0 * P->cut / hmin) + 6;
    double sum = 0.0, *R;
    int x, y, z, k, i, j, n = 0;
    R = (double *)malloc(3 * (size_t)nb * (2 * m + 1) * (2 * m + 1) * (2 * m + 1) * sizeof(double));
    for (x = -m; x <= m; ++x)
        for (y = -m; y <= m; ++y)
            for (z = -m; z <= m; ++z)
                for (k = 0; k < nb; ++k) {
                    const double q[3] = {x * H[0] + basis[3 * k], y * H[1] + basis[3 * k + 1], z * H[2] + basis[3 * k + 2]};
                    double *o = R + 3 * n;
                    for (i = 0; i < 3; ++i) o[i] = q[0] * e[3 * i] + q[1] * e[3 * i + 1] + q[2] * e[3 * i + 2];
                    if (fabs(o[2] - zc) < P->cut + 1.0) ++n;
                }
    for (i = 0; i < n; ++i) {
        const double *ri = R + 3 * i;
        if (ri[2] > zc || ri[0] < -1e-9 || ri[0] >= lx - 1e-9 || ri[1] < -1e-9 || ri[1] >= ly - 1e-9) continue;
        for (j = 0; j < n; ++j) {
            const double *rj = R + 3 * j;
            double d0[3], d1[3], r0, r1, v0 = 0.0, v1 = 0.0, t1, t2;
            if (rj[2] < zc) continue;
            for (k = 0; k < 3; ++k) {
                d0[k] = rj[k] - ri[k];
                d1[k] = d0[k] + u[k];
            }
            r0 = sqrt(d0[0] * d0[0] + d0[1] * d0[1] + d0[2] * d0[2]);
            r1 = sqrt(d1[0] * d1[0] + d1[1] * d1[1] + d1[2] * d1[2]);
            if (r0 < P->cut) v2d(P, r0, &v0, &t1, &t2);
            if (r1 < P->cut) v2d(P, r1, &v1, &t1, &t2);
            sum += 2.0 * (v1 - v0);
        }
    }
    free(R);
    return sum / (lx * ly) * SP_EV_A2_TO_JM2;
}

/* generalized stacking-fault curves of the pair potential against lattice
   sums: fcc (111)[11-2] (intrinsic fault at a third of the period) and bcc
   (110)[1-11]; zero again after a period; relaxing along the normal lowers
   the curve */
static void test_gsfe(void) {
    static const double r2 = 0.7071067811865476, r3 = 0.5773502691896258, r6 = 0.4082482904638631;
    const double e111[9] = {r2, -r2, 0, r6, r6, -2 * r6, r3, r3, r3}, e110[9] = {r2, -r2, 0, 0, 0, 1, r2, r2, 0};
    const double s111[3] = {0.5, 0.5, -1.0}, s110[3] = {0.5, -0.5, 0.5}, bad[3] = {1.0, 1.0, 1.0};
    sp_pot_t pot;
    sp_diag_t d;
    int L, k;
    make_morse(&pot, 0.2, 2.7);
    for (L = 0; L < 2; ++L) {
        const sp_lattice_t lat = L ? SP_LATTICE_BCC : SP_LATTICE_FCC;
        const double a = L ? 2.7718519169 : 3.4515187707, *e = L ? e110 : e111, *s = L ? s110 : s111;
        /* the plane cell's sides, and a cut half-way between two planes: fcc (111) planes are
           a / sqrt 3 apart, bcc (110) planes a / sqrt 2 */
        const double lx = a * 1.4142135623730951, ly = L ? a : a * 2.449489742783178, zc = 0.5 * a * (L ? r2 : r3);
        const int np = getenv("SP_TEST_QUICK") ? 7 : 13, third = (np - 1) / 3; /* (valgrind: 7 points) */
        double u[13], g[13], gu[13], worst = 0.0;
        sp_props_opts_t po;
        memset(&po, 0, sizeof po);
        po.slab_periods = 4; /* each half at least 2 cutoffs thick */
        const double H[3] = {a, a, a};
        double basis[3 * 4];
        sp_cell_t cell;
        const int nb = sp_lattice_cell(lat, a, 1, basis, &cell);
        SP_CHECK(sp_gsfe(&pot, 0, lat, a, 0.0, L ? 1 : 2, s, np, &po, u, g, gu, &d) == SP_OK);
        for (k = 0; k < np; ++k) {
            const double t = k / (np - 1.0), uc[3] = {t * a * (s[0] * e[0] + s[1] * e[1] + s[2] * e[2]),
                                               t * a * (s[0] * e[3] + s[1] * e[4] + s[2] * e[5]), 0.0};
            const double ref = gsfe_sums(&pot, basis, nb, H, e, lx, ly, zc, uc);
            SP_CHECK_NEAR(gu[k], ref, 1e-9, 1e-11);
            SP_CHECK(g[k] <= gu[k] + 1e-9);
            if (fabs(gu[k] - ref) > worst) worst = fabs(gu[k] - ref);
        }
        SP_CHECK(fabs(gu[np - 1]) < 1e-11 && fabs(g[np - 1]) < 1e-7);
        SP_CHECK_NEAR(u[np - 1], a * sqrt(s[0] * s[0] + s[1] * s[1] + s[2] * s[2]), 1e-14, 0);
        if (!L) /* the intrinsic fault, a local minimum */
            SP_CHECK(g[third] < g[third - 1] && g[third] < g[third + 1] && g[third] > 0.0);
        printf("%s pair GSFE: at t = %s %.4f J/m^2 (unrelaxed %.4f), at t = 1/3 %.4f; vs lattice sums %.2g J/m^2\n",
               L ? "bcc (110)[1-11]" : "fcc (111)[11-2]", L ? "1/2" : "1/6", g[L ? 3 * third / 2 : third / 2],
               gu[L ? 3 * third / 2 : third / 2], g[third], worst);
    }
    /* hcp at its zero-stress a, c: basal (0001)[0-110] over a sqrt 3 (the planes c/2 apart, every cut
       alike) and prism (10-10)[2-1-10] over a, rows c and a in the plane; of the prism's two gaps
       between planes (a / (2 sqrt 3) and a / sqrt 3 wide) the wide one is the slab's lower cut
       (valgrind: not here; test_gsfe_lammps runs the basal plane) */
    if (!getenv("SP_TEST_QUICK")) {
        const double basal[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1}, prism[9] = {0, 0, 1, 1, 0, 0, 0, 1, 0};
        const double sb[3] = {0.0, -1.7320508075688772, 0.0}, sp[3] = {1.0, 0.0, 0.0};
        const int one[3] = {1, 1, 1}, np = getenv("SP_TEST_QUICK") ? 7 : 13;
        double basis[3 * 4], u[13], g[13], gu[13], H[3];
        sp_props_opts_t po;
        sp_hcp_props_t ph;
        sp_cell_t cell;
        memset(&po, 0, sizeof po);
        po.vacancy_size = po.slab_periods = -1;
        SP_CHECK(sp_hcp_props(&pot, 0, &po, &ph, &d) == SP_OK);
        sp_hcp_cell(ph.a0, ph.c0, one, basis, &cell);
        H[0] = cell.h[0];
        H[1] = cell.h[4];
        H[2] = cell.h[8];
        po.vacancy_size = 0;
        po.slab_periods = 4;
        for (L = 0; L < 2; ++L) {
            const double *e = L ? prism : basal, *s = L ? sp : sb, a = ph.a0;
            const double lx = L ? ph.c0 : a, ly = L ? a : a * 1.7320508075688772;
            const double zc = L ? a * 0.5773502691896258 : 0.25 * ph.c0;
            double worst = 0.0, gmax = 0.0;
            SP_CHECK(sp_gsfe(&pot, 0, SP_LATTICE_HCP, a, ph.c0, L, s, np, &po, u, g, gu, &d) == SP_OK);
            for (k = 0; k < np; ++k) {
                const double t = k / (np - 1.0), uc[3] = {t * a * (s[0] * e[0] + s[1] * e[1] + s[2] * e[2]),
                                                   t * a * (s[0] * e[3] + s[1] * e[4] + s[2] * e[5]), 0.0};
                const double ref = gsfe_sums(&pot, basis, 4, H, e, lx, ly, zc, uc);
                SP_CHECK_NEAR(gu[k], ref, 1e-9, 1e-11);
                SP_CHECK(g[k] <= gu[k] + 1e-9);
                if (fabs(gu[k] - ref) > worst) worst = fabs(gu[k] - ref);
                if (g[k] > gmax) gmax = g[k];
            }
            SP_CHECK(fabs(gu[np - 1]) < 1e-11 && fabs(g[np - 1]) < 1e-7);
            printf("hcp %s pair GSFE: highest %.4f J/m^2 (relaxed along the normal), at t = 1/3 %.4f; vs lattice sums "
                   "%.2g J/m^2\n", L ? "(10-10)[2-1-10]" : "(0001)[0-110]", gmax, g[(np - 1) / 3], worst);
        }
        SP_CHECK(sp_gsfe(&pot, 0, SP_LATTICE_HCP, ph.a0, ph.c0, 2, sp, 13, NULL, NULL, NULL, NULL, &d) == SP_ERR_BAD_ARG);
        SP_CHECK(sp_gsfe(&pot, 0, SP_LATTICE_HCP, ph.a0, 0.0, 0, sb, 13, NULL, NULL, NULL, NULL, &d) == SP_ERR_BAD_ARG);
        SP_CHECK(sp_gsfe(&pot, 0, SP_LATTICE_HCP, ph.a0, ph.c0, 1, sb, 13, NULL, NULL, NULL, NULL, &d) == SP_ERR_BAD_ARG);
    }
    SP_CHECK(sp_gsfe(&pot, 0, SP_LATTICE_FCC, 3.45, 0.0, 2, bad, 13, NULL, NULL, NULL, NULL, &d) == SP_ERR_BAD_ARG);
    SP_CHECK(sp_gsfe(&pot, 0, SP_LATTICE_FCC, 3.45, 0.0, 3, s111, 13, NULL, NULL, NULL, NULL, &d) == SP_ERR_BAD_ARG);
    SP_CHECK(sp_gsfe(&pot, 0, SP_LATTICE_FCC, 3.45, 0.0, 2, s111, 1, NULL, NULL, NULL, NULL, &d) == SP_ERR_BAD_ARG);
    SP_CHECK(sp_gsfe(&pot, 1, SP_LATTICE_FCC, 3.45, 0.0, 2, s111, 13, NULL, NULL, NULL, NULL, &d) == SP_ERR_UNKNOWN_ELEMENT);
    sp_pot_free(&pot);
}

/* a purely repulsive pair potential has no crystal */
static void test_no_minimum(void) {
    sp_pot_t pot;
    sp_cubic_props_t pr;
    sp_diag_t d;
    int k;
    make_morse(&pot, 0.2, 2.7);
    for (k = 0; k < pot.uf3.pair[0].nt - 7; ++k) pot.uf3.pair[0].c[k] = 0.1 * (pot.uf3.pair[0].nt - 7 - k);
    SP_CHECK(sp_uf3_finish(&pot, &d) == SP_OK);
    SP_CHECK(sp_cubic_props(&pot, 0, SP_LATTICE_BCC, NULL, &pr, &d) == SP_ERR_NO_CONVERGENCE);
    SP_CHECK(strstr(d.msg, "no energy minimum") != NULL);
    {
        sp_hcp_props_t ph;
        SP_CHECK(sp_hcp_props(&pot, 0, NULL, &ph, &d) == SP_ERR_NO_CONVERGENCE);
        SP_CHECK(strstr(d.msg, "no energy minimum") != NULL);
    }
    sp_pot_free(&pot);
}

/* The potentials of tests/data/lmp_props.txt: diamond Si, hcp Ti (Ti.meam.sw.spline
   is the same potential through meam/sw/spline). */
static const char *const lmp_pots[4] = {"Si_1.meam.spline", "Si.b.meam.sw.spline", "Ti.meam.spline", "Ti.meam.sw.spline"};

static FILE *lmp_props_open(void) {
    FILE *f = fopen("tests/data/lmp_props.txt", "r");
    if (!f) SP_CHECK(!"tests/data/lmp_props.txt readable");
    return f;
}

/* The reference values of potential name in tests/data/lmp_props.txt:
   ref[k] for keys[k] (k < nk), *strain and *vac; the mask of keys found. */
static int read_lmp_props(FILE *f, const char *name, int nk, const char *const *keys, double *ref, double *strain, int *vac) {
    char line[512];
    int found = 0, k;
    rewind(f);
    while (fgets(line, sizeof line, f)) {
        char pn[128], key[64];
        double v;
        if (line[0] == '#' || sscanf(line, "%127s %63s %lf", pn, key, &v) != 3 || strcmp(pn, name) != 0) continue;
        for (k = 0; k < nk; ++k)
            if (strcmp(key, keys[k]) == 0) { ref[k] = v; found |= 1 << k; }
        if (strcmp(key, "strain") == 0) *strain = v;
        if (strcmp(key, "vac_atoms") == 0) *vac = (int)v;
    }
    return found;
}

/* Si_1 and Si.b (diamond), Ti (hcp; Ti.meam.sw.spline is the same potential
   through meam/sw/spline) against LAMMPS */
static void test_lammps(const char *potdir) {
    const char *const *names = lmp_pots;
    static const char *const keys[10] = {"a0", "e0", "c11", "c12", "c44", "c11_clamped", "c12_clamped", "c44_clamped", "b", "evf"};
    static const char *const hkeys[16] = {"a0", "c0", "e0", "c11", "c12", "c13", "c33", "c44", "c66", "c11_clamped",
                                          "c12_clamped", "c13_clamped", "c33_clamped", "c44_clamped", "c66_clamped", "evf"};
    FILE *f = lmp_props_open();
    int p;
    if (!f) return;
    /* (valgrind: Ti once; the meam/sw/spline path is Si.b's) */
    for (p = 0; p < (getenv("SP_TEST_QUICK") ? 3 : 4); ++p) {
        const int hcp = p >= 2;
        double ref[16] = {0}, strain = 0.0;
        sp_pot_t pot;
        sp_props_opts_t po;
        sp_diag_t d;
        int k, found, vac = 0;
        if (!load_lmp_pot(potdir, names[p], &pot)) continue;
        found = read_lmp_props(f, names[p], hcp ? 16 : 10, hcp ? hkeys : keys, ref, &strain, &vac);
        SP_CHECK(found == (1 << (hcp ? 16 : 10)) - 1 && strain > 0.0 && vac == (hcp ? 144 : 216));
        memset(&po, 0, sizeof po);
        po.strain = strain;
        po.jitter = -1.0;    /* LAMMPS relaxed the vacancy from the sites */
        po.migration = -1;
        po.slab_periods = -1;
        if (hcp) {
            sp_hcp_props_t pr;
            double got[16];
            SP_CHECK(sp_hcp_props(&pot, 0, &po, &pr, &d) == SP_OK);
            got[0] = pr.a0; got[1] = pr.c0; got[2] = pr.e0;
            got[3] = pr.c11; got[4] = pr.c12; got[5] = pr.c13; got[6] = pr.c33; got[7] = pr.c44; got[8] = pr.c66;
            got[9] = pr.c11_clamped; got[10] = pr.c12_clamped; got[11] = pr.c13_clamped;
            got[12] = pr.c33_clamped; got[13] = pr.c44_clamped; got[14] = pr.c66_clamped; got[15] = pr.evf;
            printf("%s vs LAMMPS: a0 %.3g c0 %.3g A, e0 %.3g eV, C11 %.3g C12 %.3g C13 %.3g C33 %.3g C44 %.3g C66 %.3g "
                   "(clamped %.3g %.3g %.3g %.3g %.3g %.3g) GPa, evf %.3g eV\n", names[p], got[0] - ref[0], got[1] - ref[1],
                   got[2] - ref[2], got[3] - ref[3], got[4] - ref[4], got[5] - ref[5], got[6] - ref[6], got[7] - ref[7],
                   got[8] - ref[8], got[9] - ref[9], got[10] - ref[10], got[11] - ref[11], got[12] - ref[12],
                   got[13] - ref[13], got[14] - ref[14], got[15] - ref[15]);
            SP_CHECK(pr.vac_atoms == vac);
            SP_CHECK_NEAR(got[0], ref[0], 1e-10, 0);
            SP_CHECK_NEAR(got[1], ref[1], 1e-10, 0);
            SP_CHECK_NEAR(got[2], ref[2], 1e-12, 0);
            for (k = 3; k < 15; ++k) SP_CHECK_NEAR(got[k], ref[k], 1e-6, 0);
            SP_CHECK_NEAR(got[15], ref[15], 0, 1e-6);
        } else {
            sp_cubic_props_t pr;
            po.vacancy_size = 3;
            SP_CHECK(sp_cubic_props(&pot, 0, SP_LATTICE_DIAMOND, &po, &pr, &d) == SP_OK);
            printf("%s vs LAMMPS: a0 %.3g A, e0 %.3g eV, C11 %.3g C12 %.3g C44 %.3g (clamped %.3g %.3g %.3g) GPa, evf %.3g eV\n",
                   names[p], pr.a0 - ref[0], pr.e0 - ref[1], pr.c11 - ref[2], pr.c12 - ref[3], pr.c44 - ref[4],
                   pr.c11_clamped - ref[5], pr.c12_clamped - ref[6], pr.c44_clamped - ref[7], pr.evf - ref[9]);
            SP_CHECK_NEAR(pr.a0, ref[0], 1e-10, 0);
            SP_CHECK_NEAR(pr.e0, ref[1], 1e-12, 0);
            for (k = 2; k < 9; ++k) SP_CHECK_NEAR(k == 2 ? pr.c11 : k == 3 ? pr.c12 : k == 4 ? pr.c44 : k == 5 ? pr.c11_clamped
                                                  : k == 6 ? pr.c12_clamped : k == 7 ? pr.c44_clamped : pr.b, ref[k], 1e-6, 0);
            SP_CHECK_NEAR(pr.evf, ref[9], 0, 1e-6);
        }
        sp_pot_free(&pot);
    }
    fclose(f);
}

/* The n numbers after "name key" in the reference file; 0 when absent. */
static int read_lmp_vec(FILE *f, const char *name, const char *key, int n, double *out) {
    char line[512];
    rewind(f);
    while (fgets(line, sizeof line, f)) {
        char pn[128], k[64];
        int used = 0, i;
        const char *c = line;
        if (line[0] == '#' || sscanf(line, "%127s %63s%n", pn, k, &used) != 2 || strcmp(pn, name) != 0 || strcmp(k, key) != 0)
            continue;
        for (i = 0, c += used; i < n; ++i, c += used)
            if (sscanf(c, "%lf%n", out + i, &used) != 1) return 0;
        return 1;
    }
    return 0;
}

/* phonons of Si_1, Si.b (diamond) and Ti (hcp) against LAMMPS forces
   (tests/data/lmp_props.txt: the force constants of LAMMPS, the dynamical
   matrix by numpy), at the points of the path and one general point */
static void test_phonon_lammps(const char *potdir) {
    const char *const *names = lmp_pots;
    static const char *const pts[2][5] = {{"G", "X", "L", "Q", NULL}, {"G", "M", "K", "A", "Q"}};
    FILE *f = lmp_props_open();
    int p;
    if (!f) return;
    for (p = 0; p < (getenv("SP_TEST_QUICK") ? 3 : 4); ++p) {
        const int hcp = p >= 2;
        char key[64];
        double a0 = 0.0, c0 = 0.0, delta = 0.0, q[3 * 5] = {0}, fr[6 * 5] = {0}, fg[6 * 5] = {0}, worst = 0.0, mass[2], pos[6];
        int nq, k, i, type[2] = {0, 0}, n;
        sp_pot_t pot;
        sp_diag_t d;
        sp_phonon_opts_t po;
        sp_cell_t cell;
        if (!load_lmp_pot(potdir, names[p], &pot)) continue;
        SP_CHECK(read_lmp_vec(f, names[p], "a0", 1, &a0) && read_lmp_vec(f, names[p], "phonon_displacement", 1, &delta) &&
                 (!hcp || read_lmp_vec(f, names[p], "c0", 1, &c0)));
        for (nq = 0; nq < 5 && pts[hcp][nq]; ++nq) {
            snprintf(key, sizeof key, "phonon_q_%s", pts[hcp][nq]);
            SP_CHECK(read_lmp_vec(f, names[p], key, 3, q + 3 * nq));
            for (k = 0; k < 6; ++k) {
                snprintf(key, sizeof key, "phonon_%s_%d", pts[hcp][nq], k);
                SP_CHECK(read_lmp_vec(f, names[p], key, 1, fr + 6 * nq + k));
            }
        }
        mass[0] = mass[1] = hcp ? 47.867 : 28.0855;
        n = sp_lattice_primitive(hcp ? SP_LATTICE_HCP : SP_LATTICE_DIAMOND, a0, c0, pos, &cell);
        memset(&po, 0, sizeof po);
        po.displacement = delta;
        SP_CHECK(n == 2 && sp_phonons(&pot, n, pos, type, &cell, mass, nq, q, &po, fg, &d) == SP_OK);
        for (i = 0; i < 6 * nq; ++i) {
            if (fabs(fg[i] - fr[i]) > worst) worst = fabs(fg[i] - fr[i]);
            SP_CHECK_NEAR(fg[i], fr[i], 1e-7, 1e-5);
        }
        printf("%s phonons vs LAMMPS at %d wave vectors: largest difference %.2g THz\n", names[p], nq, worst);
        sp_pot_free(&pot);
    }
    fclose(f);
}

/* stacking faults against LAMMPS (unrelaxed, and relaxed along the normal
   by cg): Si_1 and Si.b, diamond (111)[11-2] on the shuffle plane; the two
   Ti potentials, hcp (0001)[0-110] and (10-10)[2-1-10] */
static void test_gsfe_lammps(const char *potdir) {
    static const double s111[3] = {0.5, 0.5, -1.0}, sb[3] = {0.0, -1.7320508075688772, 0.0}, sp[3] = {1.0, 0.0, 0.0};
    static const struct {
        int pot, hcp, plane, periods; /* periods: as the reference */
        const double *slip;
        const char *key, *name;
    } cases[6] = {{0, 0, 2, 2, s111, "111", "(111)[11-2]"},    {2, 1, 0, 6, sb, "0001", "(0001)[0-110]"},
                  {2, 1, 1, 6, sp, "10-10", "(10-10)[2-1-10]"}, {1, 0, 2, 2, s111, "111", "(111)[11-2]"},
                  {3, 1, 0, 6, sb, "0001", "(0001)[0-110]"},    {3, 1, 1, 6, sp, "10-10", "(10-10)[2-1-10]"}};
    FILE *f = lmp_props_open();
    int p;
    if (!f) return;
    for (p = 0; p < (getenv("SP_TEST_QUICK") ? 2 : 6); ++p) { /* (valgrind: Si_1, Ti basal) */
        const char *name = lmp_pots[cases[p].pot];
        char key[64];
        double a0 = 0.0, c0 = 0.0, g[13], gu[13], wu = 0.0, wr = 0.0;
        sp_pot_t pot;
        sp_diag_t d;
        sp_props_opts_t po;
        int k;
        if (!load_lmp_pot(potdir, name, &pot)) continue;
        SP_CHECK(read_lmp_vec(f, name, "a0", 1, &a0));
        if (cases[p].hcp) SP_CHECK(read_lmp_vec(f, name, "c0", 1, &c0));
        memset(&po, 0, sizeof po);
        po.slab_periods = cases[p].periods;
        SP_CHECK(sp_gsfe(&pot, 0, cases[p].hcp ? SP_LATTICE_HCP : SP_LATTICE_DIAMOND, a0, c0, cases[p].plane,
                         cases[p].slip, 13, &po, NULL, g, gu, &d) == SP_OK);
        for (k = 2; k <= 8; k += 2) {
            double ru = 0.0, rr = 0.0;
            snprintf(key, sizeof key, "gsfe_%s_%d_unrelaxed", cases[p].key, k);
            SP_CHECK(read_lmp_vec(f, name, key, 1, &ru));
            snprintf(key, sizeof key, "gsfe_%s_%d", cases[p].key, k);
            SP_CHECK(read_lmp_vec(f, name, key, 1, &rr));
            SP_CHECK_NEAR(gu[k], ru, 1e-10, 1e-12);
            SP_CHECK_NEAR(g[k], rr, 0, 1e-7);
            if (fabs(gu[k] - ru) > wu) wu = fabs(gu[k] - ru);
            if (fabs(g[k] - rr) > wr) wr = fabs(g[k] - rr);
        }
        printf("%s GSFE %s vs LAMMPS at t = 1/6 .. 2/3: unrelaxed %.2g, relaxed %.2g J/m^2\n", name, cases[p].name, wu,
               wr);
        sp_pot_free(&pot);
    }
    fclose(f);
}

int main(void) {
    test_eos();
    test_lattices();
    test_pair_crystal(SP_LATTICE_FCC, "fcc");
    test_pair_crystal(SP_LATTICE_BCC, "bcc");
    test_pair_vacancy();
    test_hcp_cell();
    test_pair_hcp();
    test_no_minimum();
    test_gsfe();
    test_phonon_pair();
    test_phonon_sound(tu_potdir());
    test_relax(tu_potdir());
    test_vacancy_states(tu_potdir());
    test_lammps(tu_potdir());
    test_phonon_lammps(tu_potdir());
    test_gsfe_lammps(tu_potdir());
    return sp_test_finish();
}
