/* 02_md_loop.c - splinepot inside your own molecular-dynamics loop.
 *
 * What `splinepot md` does, written out to copy into an MD or Monte-Carlo
 * code: one neighbour list with a skin, rebuilt only when some atom has
 * moved more than half the skin since the last build (sp_nlist_stale; else
 * its positions are refreshed), one work space reused by every force call (no allocation
 * in the loop), velocity-Verlet steps in LAMMPS metal units.
 *
 * Physics: Newton's equations m a = F = -dE/dx. Velocity Verlet
 *   v += (dt/2) F/m;  x += dt v;  F = F(x);  v += (dt/2) F/m
 * is time-reversible and symplectic, so the total energy E_pot + E_kin
 * stays close to its start, off by O(dt^2) (halve dt and it moves four
 * times less) and without drift; watching it is the first check of any MD
 * setup.
 *
 * Units (metal): x in A, t in ps, m in amu, E in eV, F in eV/A. Then F/m is
 * in eV/(A amu) = 9648.533 A/ps^2, and m v^2 in amu A^2/ps^2 = eV / 9648.533.
 *
 * Build and run (from the repository root; `make examples` does both):
 *   cc -std=c99 -O2 -I. examples/02_md_loop.c -o build/02_md_loop -lm
 *   ./build/02_md_loop /usr/share/lammps/potentials/Si_1.meam.spline
 *
 * Expected output (excerpt):
 *   512 Si atoms, 600 K, dt 1 fs, list cutoff 5.50 A (cutoff 4.50 + skin 1.00)
 *    step   E_pot (eV)     E_kin (eV)   E_total (eV)   T (K)  rebuilds
 *       0   -2358.678839    79.262231   -2279.416608  1200.0      1
 *     100   -2321.090445    41.720011   -2279.370434   631.6      3
 *   ...
 *   E_total within 0.00013 eV/atom of its start over 1000 steps: OK
 */
#define SPLINEPOT_IMPLEMENTATION
#include "splinepot.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

#define NC 4           /* 4 x 4 x 4 conventional cells */
#define N (8 * NC * NC * NC)
#define FTOA 9648.533212 /* eV / (A amu) in A / ps^2 */
#define KB 8.617333262e-5 /* Boltzmann constant, eV / K */

/* Kinetic energy (eV) of velocities v (A/ps), masses m (amu). */
static double kinetic(const double *v, double m) {
    double s = 0.0;
    int i;
    for (i = 0; i < 3 * N; ++i) s += v[i] * v[i];
    return 0.5 * m * s / FTOA;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "/usr/share/lammps/potentials/Si_1.meam.spline";
    static const double frac[8][3] = {{0, 0, 0}, {0, .5, .5}, {.5, 0, .5}, {.5, .5, 0},
                                      {.25, .25, .25}, {.25, .75, .75}, {.75, .25, .75}, {.75, .75, .25}};
    const double a = 5.431, dt = 0.001, skin = 1.0, temp = 600.0, mass = sp_element_mass(14);
    static double x[3 * N], v[3 * N], f[3 * N];
    double e0 = 0.0, vsum[3] = {0, 0, 0}, scale, ke, dev = 0.0;
    int type[N], i, j, k, b, d, n = 0, step, rebuilds = 0;
    sp_pot_t pot = {0};
    sp_nlist_t nl = {0};
    sp_work_t ws = {0};
    sp_cell_t cell = {{0}, {1, 1, 1}};
    sp_out_t out;
    sp_diag_t diag;
    sp_result_t r;

    if ((r = sp_pot_read_file(&pot, path, &diag)) != SP_OK) {
        printf("%s:%d: %s (%s)\n", path, diag.line, diag.msg, sp_result_str(r));
        return 1;
    }
    /* diamond Si, periodic cube; velocities of a fixed pseudo-random pattern, no net momentum,
       scaled to twice the target temperature (half of it goes into potential energy) */
    for (d = 0; d < 3; ++d) cell.h[4 * d] = NC * a;
    for (i = 0; i < NC; ++i)
        for (j = 0; j < NC; ++j)
            for (k = 0; k < NC; ++k)
                for (b = 0; b < 8; ++b, ++n) {
                    const int c[3] = {i, j, k};
                    type[n] = 0;
                    for (d = 0; d < 3; ++d) {
                        x[3 * n + d] = (c[d] + frac[b][d]) * a;
                        v[3 * n + d] = sin(12.9898 * (3 * n + d) + 78.233);
                        vsum[d] += v[3 * n + d] / N;
                    }
                }
    for (i = 0; i < 3 * N; ++i) v[i] -= vsum[i % 3];
    scale = sqrt(2.0 * 1.5 * (N - 1) * KB * temp / kinetic(v, mass));
    for (i = 0; i < 3 * N; ++i) v[i] *= scale;

    /* the list reaches cutoff + skin, so it stays valid until an atom has moved skin/2 */
    if ((r = sp_nlist_build(&nl, &cell, x, N, pot.cutoff + skin, &diag)) != SP_OK) {
        printf("neighbour list: %s\n", diag.msg);
        return 1;
    }
    rebuilds = 1;
    memset(&out, 0, sizeof out);
    out.forces = f;
    if ((r = sp_pot_compute(&pot, &nl, type, &ws, &out)) != SP_OK) return 1;
    printf("%d Si atoms, %.0f K, dt %.0f fs, list cutoff %.2f A (cutoff %.2f + skin %.2f)\n", N, temp, dt * 1e3,
           pot.cutoff + skin, pot.cutoff, skin);
    printf(" step   E_pot (eV)     E_kin (eV)   E_total (eV)   T (K)  rebuilds\n");
    for (step = 0; step <= 1000; ++step) {
        ke = kinetic(v, mass);
        if (step == 0) e0 = out.energy + ke;
        if (fabs(out.energy + ke - e0) > dev) dev = fabs(out.energy + ke - e0);
        if (step % 100 == 0) {
            printf("%5d %14.6f %12.6f %14.6f %7.1f %6d\n", step, out.energy, ke, out.energy + ke,
                   ke / (1.5 * (N - 1) * KB), rebuilds);
        }
        if (step == 1000) break;
        /* velocity Verlet: half kick, drift */
        for (i = 0; i < 3 * N; ++i) {
            v[i] += 0.5 * dt * FTOA * f[i] / mass;
            x[i] += dt * v[i];
        }
        /* an atom more than skin/2 from where the list was built: rebuild, else refresh its positions */
        if (sp_nlist_stale(&nl, x, pot.cutoff)) {
            if ((r = sp_nlist_build(&nl, &cell, x, N, pot.cutoff + skin, &diag)) != SP_OK) {
                printf("neighbour list: %s\n", diag.msg);
                return 1;
            }
            ++rebuilds;
        } else {
            sp_nlist_update(&nl, x);
        }
        /* new forces, second half kick */
        if ((r = sp_pot_compute(&pot, &nl, type, &ws, &out)) != SP_OK) return 1;
        for (i = 0; i < 3 * N; ++i) v[i] += 0.5 * dt * FTOA * f[i] / mass;
    }
    printf("E_total within %.2g eV/atom of its start over 1000 steps: %s\n", dev / N, dev / N < 2e-4 ? "OK" : "FAILED");
    sp_work_free(&ws);
    sp_nlist_free(&nl);
    sp_pot_free(&pot);
    return dev / N < 2e-4 ? 0 : 1;
}
