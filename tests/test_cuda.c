/* >>cuda: the GPU layer (splinepot_cuda.cu) against the CPU code on random
   configurations and parameter sets: UF2, UF2,3 (1 and 2 elements), s-MEAM
   (1 and 3 elements, meam/sw/spline, the LAMMPS files when installed),
   structure vectors of a CMA-ES population, a few velocity-Verlet steps.
   Energies within 1e-12 relative, forces within 1e-10 eV/A. Without a device
   (or without CUDA) it prints "skipped: ..." and checks the error codes. */
#define SPLINEPOT_IMPLEMENTATION
#include "../splinepot.h"
#include "sp_test.h"
#include "test_util.h"

#define ETOL 1e-12
#define FTOL 1e-10

/* a random UF2,3 model (as tests/test_uf3.c) */
static void random_uf3(sp_pot_t *pot, int nelem, const int *z, int has3) {
    int nt2[3], nt3[3 * 6], np = nelem * (nelem + 1) / 2, k, a;
    sp_diag_t d;
    for (k = 0; k < np; ++k) nt2[k] = 12 + 7;
    for (k = 0; k < nelem * np; ++k) { nt3[3 * k] = nt3[3 * k + 1] = 5 + 7; nt3[3 * k + 2] = 10 + 7; }
    memset(pot, 0, sizeof *pot);
    SP_CHECK(sp_uf3_create(pot, nelem, z, has3, nt2, nt3) == SP_OK);
    for (k = 0; k < nelem; ++k) pot->uf3.e1[k] = -1.0 - k;
    for (k = 0; k < np; ++k) {
        sp_uf3_pair_t *P = pot->uf3.pair + k;
        sp_bspline_knots_uniform(1.5, 5.5, 12, P->t);
        for (a = 0; a < P->nt - 4; ++a)
            P->c[a] = (a < P->nt - 7) ? (2.0 * exp(-0.8 * a) - 0.3 + 0.1 * tu_urand()) : 0.0;
    }
    for (k = 0; has3 && k < nelem * np; ++k) {
        sp_uf3_trio_t *T = pot->uf3.trio + k;
        size_t n = (size_t)T->L * T->M * T->N, q;
        sp_bspline_knots_uniform(1.5, 4.0, 5, T->t[0]);
        sp_bspline_knots_uniform(1.5, 4.0, 5, T->t[1]);
        sp_bspline_knots_uniform(1.5, 8.0, 10, T->t[2]);
        for (q = 0; q < n; ++q) T->c[q] = 0.2 * (2 * tu_urand() - 1);
    }
    SP_CHECK(sp_uf3_finish(pot, &d) == SP_OK);
}

/* a random meam/spline file text: ne elements, 6 knots, radial [1.5, 4.5] */
static int random_meam(sp_pot_t *pot, int ne) {
    static const char *const names[3] = {"Si", "Ge", "C"};
    char buf[40000];
    size_t len = 0;
    int np = ne * (ne + 1) / 2, nspl = 2 * np + 3 * ne, s, k, e;
    sp_diag_t d;
    len += (size_t)snprintf(buf, sizeof buf, "# random\nmeam/spline %d", ne);
    for (e = 0; e < ne; ++e) len += (size_t)snprintf(buf + len, sizeof buf - len, " %s", names[e]);
    len += (size_t)snprintf(buf + len, sizeof buf - len, "\n");
    for (s = 0; s < nspl; ++s) { /* phi (np), rho (ne), U (ne), f (ne), g (np) */
        const int isU = s >= np + ne && s < np + 2 * ne, isg = s >= np + 3 * ne;
        const double lo = isU ? -2.0 : isg ? -1.0 : 1.5, hi = isU ? 2.0 : isg ? 1.0 : 4.5;
        len += (size_t)snprintf(buf + len, sizeof buf - len, "spline3eq\n6\n%.17g 0\n", 0.6 * (2 * tu_urand() - 1));
        for (k = 0; k < 6; ++k) {
            double y = 0.6 * (2 * tu_urand() - 1);
            if (!isU && !isg && k == 5) y = 0.0;
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%.17g %.17g 0\n", lo + (hi - lo) * k / 5.0, y);
        }
    }
    memset(pot, 0, sizeof *pot);
    return sp_pot_read(pot, buf, len, "x.meam.spline", &d) == SP_OK;
}

/* n atoms on a jittered grid of spacing a in a sheared periodic cell */
static void random_config(int m, double a, double *pos, double *h) {
    int x, y, z, n = 0;
    memset(h, 0, 9 * sizeof(double));
    h[0] = m * a; h[3] = 0.3 * a; h[4] = m * a; h[6] = -0.2 * a; h[7] = 0.25 * a; h[8] = m * a;
    for (x = 0; x < m; ++x)
        for (y = 0; y < m; ++y)
            for (z = 0; z < m; ++z, ++n) {
                double f[3];
                int d;
                f[0] = (x + 0.3 * (tu_urand() - 0.5)) / m;
                f[1] = (y + 0.3 * (tu_urand() - 0.5)) / m;
                f[2] = (z + 0.3 * (tu_urand() - 0.5)) / m;
                for (d = 0; d < 3; ++d) pos[3 * n + d] = f[0] * h[d] + f[1] * h[3 + d] + f[2] * h[6 + d];
            }
}

static double maxabs_diff(const double *a, const double *b, size_t n) {
    double m = 0.0;
    size_t k;
    for (k = 0; k < n; ++k)
        if (!(fabs(a[k] - b[k]) <= m)) m = fabs(a[k] - b[k]); /* NaN propagates */
    return m;
}

/* CPU vs GPU on one potential: a random configuration of m^3 atoms, types
   drawn from 0..nelem-1, then moved positions on the same list */
static void check_pot(const char *what, const sp_pot_t *pot, int m, double a) {
    const int n = m * m * m;
    double *pos = (double *)malloc(3 * (size_t)n * sizeof(double)), *fc = (double *)malloc(3 * (size_t)n * sizeof(double));
    double *fg = (double *)malloc(3 * (size_t)n * sizeof(double)), *ec = (double *)malloc((size_t)n * sizeof(double));
    double *eg = (double *)malloc((size_t)n * sizeof(double));
    int *type = (int *)malloc((size_t)n * sizeof(int)), i, round, k;
    sp_cell_t cell;
    sp_nlist_t nl;
    sp_work_t ws;
    sp_diag_t d;
    sp_cuda_sys_t *g = NULL;
    memset(&nl, 0, sizeof nl);
    memset(&ws, 0, sizeof ws);
    random_config(m, a, pos, cell.h);
    cell.pbc[0] = cell.pbc[1] = cell.pbc[2] = 1;
    for (i = 0; i < n; ++i) type[i] = (int)(tu_urand() * pot->nelem) % pot->nelem;
    SP_CHECK(sp_nlist_build(&nl, &cell, pos, n, pot->cutoff + 0.5, &d) == SP_OK);
    sp_nlist_update(&nl, pos);
    SP_CHECK(sp_cuda_sys_create(&g, pot, n, type, &d) == SP_OK);
    if (!g) {
        printf("%s: %s\n", what, d.msg);
    } else {
        SP_CHECK(sp_cuda_sys_set_nlist(g, &nl, pos) == SP_OK);
        for (round = 0; round < 2; ++round) {
            sp_out_t oc, og;
            double fmax;
            if (round == 1) { /* move the atoms within the skin, keep the list */
                for (k = 0; k < 3 * n; ++k) pos[k] += 0.1 * (tu_urand() - 0.5);
                sp_nlist_update(&nl, pos);
                SP_CHECK(sp_cuda_sys_set_positions(g, pos) == SP_OK);
            }
            memset(&oc, 0, sizeof oc);
            memset(&og, 0, sizeof og);
            oc.forces = fc; oc.energies = ec;
            og.forces = fg; og.energies = eg;
            SP_CHECK(sp_pot_compute(pot, &nl, type, &ws, &oc) == SP_OK);
            SP_CHECK(sp_cuda_sys_compute(g, &og) == SP_OK);
            SP_CHECK_NEAR(og.energy, oc.energy, ETOL, 0.0);
            for (k = 0; k < 9; ++k) SP_CHECK_NEAR(og.virial[k], oc.virial[k], ETOL, 1e-10);
            fmax = maxabs_diff(fg, fc, 3 * (size_t)n);
            SP_CHECK(fmax <= FTOL);
            SP_CHECK(maxabs_diff(eg, ec, (size_t)n) <= 1e-12 * (1.0 + fabs(oc.energy) / n));
            printf("%s: %d atoms, %zu pairs: E cpu %.12f gpu %.12f, max |dF| %.2e\n", what, n, nl.n_entries,
                   oc.energy, og.energy, fmax);
        }
        sp_cuda_sys_free(g);
    }
    sp_work_free(&ws);
    sp_nlist_free(&nl);
    free(pos); free(fc); free(fg); free(ec); free(eg); free(type);
}

/* structure vectors: a 27- and a 64-atom configuration, P random parameter sets */
static void check_sv(int P) {
    sp_smeam_layout_t lay = {7, 2.0, 4.0, 7, -1.5, 1.5, 0};
    enum { NC = 2 };
    const int ms[NC] = {3, 4};
    double pos[NC][3 * 64], ref[NC][3 * 64], *theta, *Ec, *Eg, *Fc, *Fg, *Sg, emax = 0.0, fmax = 0.0, smax = 0.0;
    const double *refp[NC];
    sp_smeam_sv_t sv[NC];
    sp_config_t cf[NC];
    sp_cuda_sv_t *g = NULL;
    sp_diag_t d;
    int npar = sp_smeam_layout_npar(&lay), c, k, p, off = 0, ntot = 0;
    size_t wb;
    void *work;
    for (c = 0; c < NC; ++c) {
        memset(&cf[c], 0, sizeof cf[c]);
        memset(&sv[c], 0, sizeof sv[c]);
        cf[c].natoms = ms[c] * ms[c] * ms[c];
        random_config(ms[c], 2.45, pos[c], cf[c].cell.h);
        cf[c].pos = pos[c];
        cf[c].cell.pbc[0] = cf[c].cell.pbc[1] = cf[c].cell.pbc[2] = 1;
        for (k = 0; k < 3 * cf[c].natoms; ++k) ref[c][k] = 2 * tu_urand() - 1;
        refp[c] = ref[c];
        SP_CHECK(sp_smeam_sv_build(&sv[c], &lay, &cf[c], &d) == SP_OK);
        ntot += cf[c].natoms;
    }
    theta = (double *)malloc((size_t)P * npar * sizeof(double));
    Ec = (double *)malloc((size_t)NC * P * sizeof(double));
    Eg = (double *)malloc((size_t)NC * P * sizeof(double));
    Sg = (double *)malloc((size_t)NC * P * sizeof(double));
    Fc = (double *)malloc(3 * (size_t)ntot * P * sizeof(double));
    Fg = (double *)malloc(3 * (size_t)ntot * P * sizeof(double));
    for (k = 0; k < P * npar; ++k) theta[k] = 0.6 * (2 * tu_urand() - 1);
    SP_CHECK(sp_cuda_sv_create(&g, &lay, sv, NC, refp, &d) == SP_OK);
    if (g) {
        SP_CHECK(sp_cuda_sv_eval(g, P, theta, Eg, Fg, Sg) == SP_OK);
        for (c = 0; c < NC; ++c) {
            const int n = cf[c].natoms;
            wb = sp_smeam_sv_workspace_size(&sv[c], &lay, 8);
            work = malloc(wb);
            SP_CHECK(sp_smeam_sv_eval(&sv[c], &lay, P, theta, Ec + (size_t)c * P, Fc + 3 * (size_t)off * P, 8, work,
                                      wb) == SP_OK);
            free(work);
            for (p = 0; p < P; ++p) {
                const double *fc = Fc + 3 * (size_t)off * P + 3 * (size_t)n * p;
                double ss = 0.0, de = fabs(Eg[c * P + p] - Ec[c * P + p]) / (fabs(Ec[c * P + p]) + 1e-300);
                for (k = 0; k < 3 * n; ++k) ss += (fc[k] - ref[c][k]) * (fc[k] - ref[c][k]);
                if (!(de <= emax)) emax = de;
                de = fabs(Sg[c * P + p] - ss) / ss;
                if (!(de <= smax)) smax = de;
            }
            off += n;
        }
        fmax = maxabs_diff(Fg, Fc, 3 * (size_t)ntot * P);
        SP_CHECK(emax <= ETOL);
        SP_CHECK(fmax <= FTOL);
        SP_CHECK(smax <= ETOL);
        printf("structure vectors: %d configurations, %d sets: max rel dE %.2e, max |dF| %.2e, max rel dSSE %.2e\n", NC,
               P, emax, fmax, smax);
        SP_CHECK(sp_cuda_sv_eval(g, 3, theta, Eg, NULL, NULL) == SP_OK); /* smaller population, energies only */
        SP_CHECK_NEAR(Eg[P > 3 ? 1 : 0], Ec[P > 3 ? 1 : 0], ETOL, 0.0);
        theta[5] = NAN;
        SP_CHECK(sp_cuda_sv_eval(g, 1, theta, Eg, NULL, NULL) == SP_ERR_NOT_FINITE);
        sp_cuda_sv_free(g);
    }
    for (c = 0; c < NC; ++c) sp_smeam_sv_free(&sv[c]);
    free(theta); free(Ec); free(Eg); free(Sg); free(Fc); free(Fg);
}

/* velocity Verlet: 5 steps on the device against the CPU loop of `splinepot md` */
static void check_md(const sp_pot_t *pot) {
    enum { M = 4, N = M * M * M, STEPS = 5 };
    const double dt = 1e-3, mvv2e = 1.0364269e-4;
    double x[3 * N], v[3 * N], F[3 * N], mass[N], xg[3 * N], vg[3 * N], e = 0.0, eg = 0.0, ke = 0.0, keg = 0.0;
    int type[N], i, d, step;
    sp_cell_t cell;
    sp_nlist_t nl;
    sp_work_t ws;
    sp_out_t o;
    sp_diag_t dg;
    sp_cuda_sys_t *g = NULL;
    memset(&nl, 0, sizeof nl);
    memset(&ws, 0, sizeof ws);
    memset(&o, 0, sizeof o);
    random_config(M, 2.6, x, cell.h);
    cell.pbc[0] = cell.pbc[1] = cell.pbc[2] = 1;
    for (i = 0; i < N; ++i) {
        type[i] = 0;
        mass[i] = 28.085;
        for (d = 0; d < 3; ++d) v[3 * i + d] = 5.0 * (2 * tu_urand() - 1);
    }
    SP_CHECK(sp_nlist_build(&nl, &cell, x, N, pot->cutoff + 1.0, &dg) == SP_OK);
    sp_nlist_update(&nl, x);
    SP_CHECK(sp_cuda_sys_create(&g, pot, N, type, &dg) == SP_OK);
    if (!g) return;
    SP_CHECK(sp_cuda_sys_set_nlist(g, &nl, x) == SP_OK);
    SP_CHECK(sp_cuda_md_init(g, v, mass, mvv2e) == SP_OK);
    SP_CHECK(sp_cuda_md_forces(g, &eg) == SP_OK);
    o.forces = F;
    SP_CHECK(sp_pot_compute(pot, &nl, type, &ws, &o) == SP_OK);
    for (step = 1; step <= STEPS; ++step) {
        double dmax2 = -1.0;
        for (i = 0; i < N; ++i) {
            double inv_m = 1.0 / (mass[i] * mvv2e);
            for (d = 0; d < 3; ++d) {
                v[3 * i + d] += 0.5 * dt * F[3 * i + d] * inv_m;
                x[3 * i + d] += dt * v[3 * i + d];
            }
        }
        sp_nlist_update(&nl, x);
        SP_CHECK(sp_pot_compute(pot, &nl, type, &ws, &o) == SP_OK);
        e = o.energy;
        ke = 0.0;
        for (i = 0; i < N; ++i) {
            double inv_m = 1.0 / (mass[i] * mvv2e);
            for (d = 0; d < 3; ++d) v[3 * i + d] += 0.5 * dt * F[3 * i + d] * inv_m;
            ke += 0.5 * mass[i] * (v[3 * i] * v[3 * i] + v[3 * i + 1] * v[3 * i + 1] + v[3 * i + 2] * v[3 * i + 2]);
        }
        ke *= mvv2e;
        SP_CHECK(sp_cuda_md_drift(g, dt, &dmax2) == SP_OK);
        SP_CHECK(dmax2 >= 0.0);
        SP_CHECK(sp_cuda_md_forces(g, &eg) == SP_OK);
        SP_CHECK(sp_cuda_md_kick(g, dt, &keg) == SP_OK);
    }
    SP_CHECK(sp_cuda_md_get(g, xg, vg, NULL) == SP_OK);
    SP_CHECK_NEAR(eg, e, ETOL, 0.0);
    SP_CHECK_NEAR(keg, ke, ETOL, 0.0);
    SP_CHECK(maxabs_diff(xg, x, 3 * N) <= 1e-12);
    SP_CHECK(maxabs_diff(vg, v, 3 * N) <= 1e-9);
    printf("md: %d steps of %d atoms: E %.12f / %.12f, KE %.12f / %.12f\n", STEPS, N, e, eg, ke, keg);
    SP_CHECK(sp_cuda_md_langevin(g, 0.99, 0.025, 1, 1) == SP_OK);
    sp_cuda_sys_free(g);
    sp_work_free(&ws);
    sp_nlist_free(&nl);
}

static void check_file(const char *name, int m, double a) {
    char path[512];
    char *text;
    size_t len;
    sp_pot_t pot;
    sp_diag_t d;
    snprintf(path, sizeof path, "%s/%s", tu_potdir(), name);
    if (!tu_exists(path)) {
        printf("skipped: %s not found\n", path);
        return;
    }
    memset(&pot, 0, sizeof pot);
    SP_CHECK(sp_read_file(path, &text, &len, NULL, &d) == SP_OK);
    SP_CHECK(sp_pot_read(&pot, text, len, name, &d) == SP_OK);
    free(text);
    if (pot.kind != SP_POT_NONE) check_pot(name, &pot, m, a);
    sp_pot_free(&pot);
}

int main(void) {
    int count = 0;
    char name[256];
    sp_result_t r = sp_cuda_device_info(&count, name, sizeof name);
    sp_pot_t pot;
    sp_cuda_sys_t *g = (sp_cuda_sys_t *)&count;
    sp_diag_t d;
    int z1[1] = {14}, z2[2] = {14, 32}, type0 = 0;
    if (r == SP_ERR_NO_CUDA) { /* the header's fallbacks */
        SP_SKIP("built without CUDA");
        random_uf3(&pot, 1, z1, 0);
        SP_CHECK(sp_cuda_sys_create(&g, &pot, 1, &type0, &d) == SP_ERR_NO_CUDA && g == NULL);
        sp_pot_free(&pot);
        return sp_test_finish();
    }
    SP_CHECK(r == SP_OK);
    if (count < 1) {
        SP_SKIP("no CUDA device");
        random_uf3(&pot, 1, z1, 0);
        SP_CHECK(sp_cuda_sys_create(&g, &pot, 1, &type0, &d) == SP_ERR_DEVICE && g == NULL);
        sp_pot_free(&pot);
        return sp_test_finish();
    }
    printf("device: %s (%d found)\n", name, count);
    random_uf3(&pot, 1, z1, 0);
    check_pot("UF2, 1 element", &pot, 5, 2.6);
    sp_pot_free(&pot);
    random_uf3(&pot, 1, z1, 1);
    check_pot("UF2,3, 1 element", &pot, 5, 2.6);
    check_md(&pot);
    sp_pot_free(&pot);
    random_uf3(&pot, 2, z2, 0);
    check_pot("UF2, 2 elements", &pot, 5, 2.6);
    sp_pot_free(&pot);
    random_uf3(&pot, 2, z2, 1);
    check_pot("UF2,3, 2 elements", &pot, 5, 2.6);
    sp_pot_free(&pot);
    SP_CHECK(random_meam(&pot, 1));
    check_pot("s-MEAM, 1 element", &pot, 5, 2.6);
    check_md(&pot);
    sp_pot_free(&pot);
    SP_CHECK(random_meam(&pot, 3));
    check_pot("s-MEAM, 3 elements", &pot, 5, 2.6);
    sp_pot_free(&pot);
    check_file("Si_1.meam.spline", 6, 2.35);
    check_file("TiO.meam.spline", 5, 2.5);
    check_file("Ti.meam.sw.spline", 5, 2.6);
    check_sv(37);
    check_sv(200);
    return sp_test_finish();
}
