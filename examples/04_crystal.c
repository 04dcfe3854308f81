/* 04_crystal.c - the numbers a potential is judged by, from the library.
 *
 * A fitted potential reproduces its training energies; whether it is any
 * good shows in the crystal it predicts. This program asks an s-MEAM
 * silicon potential (Lenosky's Si_1) for what the papers tabulate:
 *   a0      the lattice constant where the pressure vanishes
 *   B, Cij  elastic constants, second derivatives of the energy per volume
 *           with respect to strain (relaxed ions: the atoms inside the cell
 *           move to their new minimum; clamped: they follow the strain)
 *   E_vf    vacancy formation energy E(N-1) - (N-1)/N E(N), atoms relaxed
 *   E_m     the vacancy's migration barrier, the saddle of a nudged elastic
 *           band between the vacancy and its image on the next site
 *   phonons the vibration frequencies at Gamma (k = 0) and X, from force
 *           constants by finite displacements (sp_phonons)
 * `splinepot props` and `splinepot phonons` print the same, and more.
 *
 * Build and run (from the repository root; `make examples` does both):
 *   cc -std=c99 -O2 -I. examples/04_crystal.c -o build/04_crystal -lm
 *   ./build/04_crystal /usr/share/lammps/potentials/Si_1.meam.spline
 *
 * Expected output (excerpt):
 *   a0 5.430546 A, E0 -4.606795 eV/atom, B 110.01 GPa
 *   C11 165.43 C12 82.30 C44 71.74 GPa (relaxed ions; C44 clamped 105.99)
 *   E_vf 3.5005 eV (64 atoms), E_m 0.1626 eV
 *   Gamma: optical 15.13 THz (three-fold); X: TA 7.19, LA/LO 12.44, TO 13.70 THz
 */
#define SPLINEPOT_IMPLEMENTATION
#include "splinepot.h"
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "/usr/share/lammps/potentials/Si_1.meam.spline";
    sp_pot_t pot = {0};
    sp_props_opts_t po;
    sp_cubic_props_t pr;
    sp_diag_t diag;
    sp_cell_t cell;
    double pos[6], q[6], freq[12], mass[2];
    int type[2] = {0, 0}, n;

    if (sp_pot_read_file(&pot, path, &diag) != SP_OK) {
        printf("%s:%d: %s\n", path, diag.line, diag.msg);
        return 1;
    }
    /* diamond, element 0; the vacancy in 2 x 2 x 2 cells (64 sites), its hop by CI-NEB; no surfaces */
    memset(&po, 0, sizeof po);
    po.vacancy_size = 2;
    po.slab_periods = -1;
    if (sp_cubic_props(&pot, 0, SP_LATTICE_DIAMOND, &po, &pr, &diag) != SP_OK) {
        printf("props: %s\n", diag.msg);
        return 1;
    }
    printf("a0 %.6f A, E0 %.6f eV/atom, B %.2f GPa\n", pr.a0, pr.e0, pr.b);
    printf("C11 %.2f C12 %.2f C44 %.2f GPa (relaxed ions; C44 clamped %.2f)\n", pr.c11, pr.c12, pr.c44,
           pr.c44_clamped);
    printf("E_vf %.4f eV (%d atoms), E_m %.4f eV%s\n", pr.evf, pr.vac_atoms, pr.em,
           pr.em_converged ? "" : " (band not converged)");

    /* phonons of the 2-atom primitive cell at a0: Gamma = 0 and X = (2 pi / a0) (0, 1, 0) */
    n = sp_lattice_primitive(SP_LATTICE_DIAMOND, pr.a0, 0.0, pos, &cell);
    mass[0] = mass[1] = sp_element_mass(14);
    q[0] = q[1] = q[2] = 0.0;
    q[3] = q[5] = 0.0;
    q[4] = 6.283185307179586 / pr.a0;
    if (sp_phonons(&pot, n, pos, type, &cell, mass, 2, q, NULL, freq, &diag) != SP_OK) {
        printf("phonons: %s\n", diag.msg);
        return 1;
    }
    /* ascending per q: Gamma has three zero acoustic modes, then the optical triplet */
    printf("Gamma: optical %.2f THz (three-fold); X: TA %.2f, LA/LO %.2f, TO %.2f THz\n", freq[3], freq[6], freq[8],
           freq[11]);
    sp_pot_free(&pot);
    return 0;
}
