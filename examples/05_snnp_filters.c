/* 05_snnp_filters.c - fit an s-NNP, then read it: which filters matter.
 *
 * The s-NNP (Vita & Trinkle 2023) describes each atom by a few spline
 * filters G_i (3-body: sum over pairs of neighbours of f(r_ij) f(r_ik)
 * g(cos theta); 2-body: sum of rho(r_ij)) and maps them to its energy E_i
 * with a small neural network. Because the filters are few and smooth,
 * the model can be read: the paper ranks them by their sensitivity,
 * s_a = sum over the atoms of |dE/dG_a| / |E| (Eq. 11), and fine-tunes a
 * model by taking filters out of an element's network (Sec. 3.3).
 *
 * This program fits a small s-NNP to Stillinger-Weber silicon (the cells
 * of 03_uf3_fit.c; sp_snnp_fit), ranks its filters by sensitivity on the
 * training cells (sp_snnp_filters), and then takes out, in turn, the least
 * and the most sensitive one (sp_snnp_drop_filter): the held-out errors
 * grow far less for the first than for the second. That is what the
 * sensitivity promises, checked on cells the fit has not seen.
 *
 * Build and run (from the repository root; `make examples` does both):
 *   cc -std=c99 -O2 -I. examples/05_snnp_filters.c -o build/05_snnp_filters -lm
 *   ./build/05_snnp_filters
 *
 * Expected output (excerpt):
 *   fitted 154 parameters in 400 epochs: held-out 2.86 meV/atom, 0.111 eV/A
 *   filter  kind    sensitivity  share
 *        4  3-body        4.894  0.261
 *        5  2-body       0.7383  0.039
 *   without the least sensitive filter (5): held-out 38.10 meV/atom, 0.153 eV/A
 *   without the most sensitive filter (4): held-out 587.78 meV/atom, 0.902 eV/A: OK
 */
#define SPLINEPOT_IMPLEMENTATION
#include "splinepot.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "sw_silicon.h"
#include "sw_cells.h"

#define NTRAIN 40
#define NTEST 10
#define NAT SW_CELL_ATOMS

int main(void) {
    static double pos[NTRAIN + NTEST][3 * NAT], forces[NTRAIN + NTEST][3 * NAT];
    static int type[NTRAIN + NTEST][NAT];
    sp_config_t cfg[NTRAIN + NTEST];
    sp_snnp_fit_desc_t desc;
    sp_snnp_fit_info_t info;
    sp_pot_t pot = {0};
    sp_nlist_t nl = {0};
    sp_work_t ws = {0};
    sp_diag_t diag;
    double sens[2 * SP_SNNP_MAX_FILTERS] = {0}, total = 0.0, e0, f0, e1, f1, e2, f2;
    double G[NAT * 2 * SP_SNNP_MAX_FILTERS], dG[NAT * 2 * SP_SNNP_MAX_FILTERS];
    int k, i, a, nin, lo = 0, hi = 0, ok;

    for (k = 0; k < NTRAIN + NTEST; ++k) sw_cell(k, cfg + k, pos[k], type[k], forces[k], &nl);

    /* a small s-NNP (Eq. 9): 4 three-body and 2 two-body filters up to the teacher's
       cutoff, one hidden layer of 8, no skip connection (so that a filter can be taken
       out of the network) */
    memset(&desc, 0, sizeof desc);
    desc.arch.nelem = 1;
    desc.arch.z[0] = 14;
    desc.arch.n3 = 4;
    desc.arch.n2 = 2;
    desc.arch.network = 1;
    desc.arch.nhidden = 1;
    desc.arch.width[0] = 8;
    desc.arch.celu_alpha = 1.0;
    desc.arch.r3lo = 1.5; desc.arch.r3hi = SW_CUTOFF; desc.arch.k3 = 8;
    desc.arch.kg = 8;
    desc.arch.r2lo = 1.5; desc.arch.r2hi = SW_CUTOFF; desc.arch.k2 = 8;
    desc.epochs = 400;
    desc.seed = 1;
    if (sp_snnp_fit(&desc, cfg, NTRAIN, &pot, &info, &diag) != SP_OK) {
        printf("fit failed: %s\n", diag.msg);
        return 1;
    }
    if (!sw_rmse(&pot, cfg, NTRAIN, NTRAIN + NTEST, &e0, &f0)) return 1;
    printf("fitted %d parameters in %d epochs: held-out %.2f meV/atom, %.3f eV/A\n", info.n_params, info.epochs, e0, f0);

    /* Eq. 11 over the training cells: s_a = sum_i |dE/dG_i,a| / |E| */
    nin = pot.snnp.nin;
    for (k = 0; k < NTRAIN; ++k) {
        sp_nlist_build(&nl, &cfg[k].cell, cfg[k].pos, NAT, pot.cutoff, &diag);
        sp_snnp_filters(&pot, &nl, cfg[k].type, &ws, G, dG, NULL);
        for (i = 0; i < NAT; ++i)
            for (a = 0; a < nin; ++a) sens[a] += fabs(dG[i * nin + a]) / fabs(cfg[k].energy);
    }
    for (a = 0; a < nin; ++a) {
        total += sens[a];
        if (sens[a] < sens[lo]) lo = a;
        if (sens[a] > sens[hi]) hi = a;
    }
    printf("filter  kind    sensitivity  share\n");
    for (a = 0; a < nin; ++a)
        printf("%6d  %s  %11.4g  %5.3f\n", a + 1, a < desc.arch.n3 ? "3-body" : "2-body", sens[a], sens[a] / total);

    /* take each out in turn (a copy of the parameters restores the model between) */
    {
        double *theta = (double *)malloc((size_t)pot.snnp.nparams * sizeof(double));
        memcpy(theta, pot.snnp.theta, (size_t)pot.snnp.nparams * sizeof(double));
        sp_snnp_drop_filter(&pot, 0, lo);
        ok = sw_rmse(&pot, cfg, NTRAIN, NTRAIN + NTEST, &e1, &f1);
        sp_snnp_set_params(&pot, theta);
        sp_snnp_drop_filter(&pot, 0, hi);
        ok = ok && sw_rmse(&pot, cfg, NTRAIN, NTRAIN + NTEST, &e2, &f2);
        free(theta);
    }
    if (!ok) return 1;
    ok = f1 < f2 && e1 < e2;
    printf("without the least sensitive filter (%d): held-out %.2f meV/atom, %.3f eV/A\n", lo + 1, e1, f1);
    printf("without the most sensitive filter (%d): held-out %.2f meV/atom, %.3f eV/A: %s\n", hi + 1, e2, f2,
           ok ? "OK" : "FAILED");
    sp_work_free(&ws);
    sp_nlist_free(&nl);
    sp_pot_free(&pot);
    return ok ? 0 : 1;
}
