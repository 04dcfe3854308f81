/* 03_uf3_fit.c - fit a UF3 potential with the library, no files, no Python.
 *
 * The UF3 paper's exact-retrieval experiment (Xie, Rupp & Hennig 2023) in
 * one program: label strained and displaced diamond-Si cells with a known
 * potential (Stillinger-Weber, examples/sw_silicon.h), fit a UF2,3
 * potential to the training cells by ridge regression (sp_uf3_fit), and
 * measure it on cells it has not seen. `splinepot demo` does the same
 * through files and the command line.
 *
 * Physics: UF3 writes the energy as a linear combination of cubic
 * B-splines, E = sum_ij V2(r_ij) + sum_ijk V3(r_ij, r_ik, r_jk), so the
 * energies and forces are linear in the coefficients: fitting is linear
 * least squares (with a ridge and a curvature penalty), solved once, no
 * iterations. Stillinger-Weber is itself a sum of two- and three-body
 * terms, so a UF2,3 basis that is fine enough reproduces it closely.
 *
 * Build and run (from the repository root; `make examples` does both):
 *   cc -std=c99 -O2 -I. examples/03_uf3_fit.c -o build/03_uf3_fit -lm
 *   ./build/03_uf3_fit
 *
 * Expected output (excerpt):
 *   40 training and 10 held-out cells of 64 Si atoms, labelled by Stillinger-Weber
 *   fitted 597 coefficients from 40 energy and 7680 force rows in 0.67 s
 *   held-out: energy RMSE 0.0923 meV/atom, force RMSE 0.01083 eV/A: OK
 */
#define SPLINEPOT_IMPLEMENTATION
#include "splinepot.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "sw_silicon.h"
#include "sw_cells.h"

#define NTRAIN 40
#define NTEST 10
#define NAT SW_CELL_ATOMS

int main(void) {
    static double pos[NTRAIN + NTEST][3 * NAT], forces[NTRAIN + NTEST][3 * NAT];
    static int type[NTRAIN + NTEST][NAT];
    sp_config_t cfg[NTRAIN + NTEST];
    sp_uf3_fit_desc_t desc;
    sp_uf3_fit_info_t info;
    sp_pot_t pot = {0};
    sp_nlist_t nl = {0};
    sp_diag_t diag;
    double se = 0.0, sf = 0.0, t0 = (double)clock() / CLOCKS_PER_SEC;
    int k;

    for (k = 0; k < NTRAIN + NTEST; ++k) sw_cell(k, cfg + k, pos[k], type[k], forces[k], &nl);
    sp_nlist_free(&nl);
    printf("%d training and %d held-out cells of %d Si atoms, labelled by Stillinger-Weber\n", NTRAIN, NTEST, NAT);

    /* one element (Si); 2-body B-splines on [1.5, 3.8] A in 20 intervals, 3-body on the same
       range in 8 (r_jk in 16); kappa, the ridge and the curvature penalty at their defaults */
    memset(&desc, 0, sizeof desc);
    desc.nelem = 1;
    desc.z[0] = 14;
    desc.r2min = 1.5;
    desc.r2max = 3.8;
    desc.n2 = 20;
    desc.r3min = 1.5;
    desc.r3max = 3.8;
    desc.n3 = 8;
    if (sp_uf3_fit(&desc, cfg, NTRAIN, &pot, &info, &diag) != SP_OK) {
        printf("fit failed: %s\n", diag.msg);
        return 1;
    }
    printf("fitted %d coefficients from %lld energy and %lld force rows in %.2f s\n", info.n_params,
           (long long)info.n_energy_rows, (long long)info.n_force_rows, (double)clock() / CLOCKS_PER_SEC - t0);

    /* the held-out cells, never seen by the fit */
    if (!sw_rmse(&pot, cfg, NTRAIN, NTRAIN + NTEST, &se, &sf)) return 1;
    printf("held-out: energy RMSE %.4f meV/atom, force RMSE %.5f eV/A: %s\n", se, sf,
           se < 1.0 && sf < 0.02 ? "OK" : "FAILED");
    sp_pot_free(&pot);
    return se < 1.0 && sf < 0.02 ? 0 : 1;
}
