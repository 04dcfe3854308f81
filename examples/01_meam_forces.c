/* 01_meam_forces.c - load an s-MEAM potential, compute energy and forces,
 * and check the forces against finite differences of the energy.
 *
 * Physics: spline-MEAM (Lenosky et al. 2000) writes the energy of atom i as
 *   E_i = 1/2 sum_j phi(r_ij) + U(n_i),
 *   n_i = sum_j rho(r_ij) + sum_{j<k} f(r_ij) f(r_ik) g(cos theta_jik),
 * five cubic splines phi, rho, U, f, g. The force on an atom is minus the
 * derivative of the total energy with respect to its position; a central
 * difference (E(x+h) - E(x-h)) / 2h must agree with it.
 *
 * Build and run (from the repository root):
 *   cc -std=c99 -O2 -I. examples/01_meam_forces.c -o build/01_meam_forces -lm
 *   ./build/01_meam_forces /usr/share/lammps/potentials/Si_1.meam.spline
 *
 * Expected output (excerpt):
 *   8 atoms of diamond Si (a = 5.431 A, displaced), cutoff 4.50 A
 *   E = -36.5869286153 eV
 *   atom 0, x: F = +0.37590027 eV/A, finite difference +0.37590027
 *   ...
 *   max |F + dE/dx| = 6.3e-10 eV/A: OK
 */
#define SPLINEPOT_IMPLEMENTATION
#include "splinepot.h"
#include <math.h>
#include <stdio.h>

#define N 8

static double energy(const sp_pot_t *pot, const double *pos, const int *type, const double *cell, const int *pbc) {
    double e = 0.0;
    sp_diag_t diag;
    sp_result_t r = sp_pot_compute_once(pot, N, pos, type, cell, pbc, &e, NULL, NULL, NULL, &diag);
    if (r != SP_OK) printf("compute failed: %s (%s)\n", sp_result_str(r), diag.msg);
    return e;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "/usr/share/lammps/potentials/Si_1.meam.spline";
    /* the 8-atom conventional cell of diamond silicon, atoms slightly displaced */
    const double a = 5.431; /* lattice constant, Angstrom */
    double frac[N][3] = {{0, 0, 0}, {0, .5, .5}, {.5, 0, .5}, {.5, .5, 0},
                         {.25, .25, .25}, {.25, .75, .75}, {.75, .25, .75}, {.75, .75, .25}};
    double pos[3 * N], cell[9] = {a, 0, 0, 0, a, 0, 0, 0, a}, forces[3 * N], e;
    int type[N], pbc[3] = {1, 1, 1}, i, d;
    double worst = 0.0, h = 1e-5; /* finite-difference step, Angstrom */
    sp_pot_t pot = {0};
    sp_diag_t diag;
    sp_result_t r;

    r = sp_pot_read_file(&pot, path, &diag);
    if (r != SP_OK) {
        printf("%s:%d: %s (%s)\n", path, diag.line, diag.msg, sp_result_str(r));
        return 1;
    }
    for (i = 0; i < N; ++i) {
        type[i] = 0; /* the potential's first (only) element */
        for (d = 0; d < 3; ++d) pos[3 * i + d] = a * frac[i][d] + 0.05 * sin(3.0 * i + d); /* small displacements */
    }
    printf("%d atoms of diamond Si (a = %.3f A, displaced), cutoff %.2f A\n", N, a, pot.cutoff);

    r = sp_pot_compute_once(&pot, N, pos, type, cell, pbc, &e, forces, NULL, NULL, &diag);
    if (r != SP_OK) {
        printf("compute failed: %s (%s)\n", sp_result_str(r), diag.msg);
        return 1;
    }
    printf("E = %.10f eV\n", e);

    /* every coordinate: F = -dE/dx by central differences */
    for (i = 0; i < 3 * N; ++i) {
        double x = pos[i], ep, em, fd;
        pos[i] = x + h;
        ep = energy(&pot, pos, type, cell, pbc);
        pos[i] = x - h;
        em = energy(&pot, pos, type, cell, pbc);
        pos[i] = x;
        fd = -(ep - em) / (2.0 * h);
        if (fabs(fd - forces[i]) > worst) worst = fabs(fd - forces[i]);
        if (i < 3) printf("atom 0, %c: F = %+.8f eV/A, finite difference %+.8f\n", "xyz"[i], forces[i], fd);
    }
    printf("max |F + dE/dx| = %.1e eV/A: %s\n", worst, worst < 1e-7 ? "OK" : "FAILED");
    sp_pot_free(&pot);
    return worst < 1e-7 ? 0 : 1;
}
