/* sw_cells.h - labelled diamond-Si cells for the fitting examples (03, 05).
 *
 * Cell k: 2 x 2 x 2 conventional cells of diamond Si (64 atoms), strained
 * by up to +-4 % (symmetric strain) and with every atom displaced by up to
 * 0.15 A, from a fixed pseudo-random sequence seeded by k; its energy and
 * forces are those of the Stillinger-Weber teacher (sw_silicon.h); and the
 * errors of a potential over a range of them. Include splinepot.h, stdio.h
 * and sw_silicon.h first.
 */
#ifndef SW_CELLS_H
#define SW_CELLS_H

#define SW_CELL_ATOMS 64

/* A fixed pseudo-random sequence in [-1, 1). */
static double sw_noise(unsigned long long *s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) / 4503599627370496.0 - 1.0;
}

/* Fills c (pointing at pos, type and forces, 64 atoms each) with cell k;
   nl is scratch for the teacher's neighbour list. */
static void sw_cell(int k, sp_config_t *c, double *pos, int *type, double *forces, sp_nlist_t *nl) {
    static const double frac[8][3] = {{0, 0, 0}, {0, .5, .5}, {.5, 0, .5}, {.5, .5, 0},
                                      {.25, .25, .25}, {.25, .75, .75}, {.75, .25, .75}, {.75, .75, .25}};
    const double a = 5.431;
    unsigned long long s = 1000003ULL * (unsigned long long)(k + 1);
    double e[9] = {0};
    int i, j, m, b, d, n = 0;
    sp_diag_t diag;
    for (i = 0; i < 3; ++i)
        for (j = i; j < 3; ++j) e[3 * i + j] = e[3 * j + i] = 0.04 * sw_noise(&s);
    memset(c, 0, sizeof *c);
    for (i = 0; i < 3; ++i)
        for (d = 0; d < 3; ++d) c->cell.h[3 * i + d] = 2.0 * a * ((i == d) + e[3 * i + d]);
    c->cell.pbc[0] = c->cell.pbc[1] = c->cell.pbc[2] = 1;
    for (i = 0; i < 2; ++i)
        for (j = 0; j < 2; ++j)
            for (m = 0; m < 2; ++m)
                for (b = 0; b < 8; ++b, ++n) {
                    const double f[3] = {(i + frac[b][0]) / 2.0, (j + frac[b][1]) / 2.0, (m + frac[b][2]) / 2.0};
                    for (d = 0; d < 3; ++d)
                        pos[3 * n + d] = f[0] * c->cell.h[d] + f[1] * c->cell.h[3 + d] + f[2] * c->cell.h[6 + d] +
                                         0.15 * sw_noise(&s);
                    type[n] = 0;
                }
    sp_nlist_build(nl, &c->cell, pos, SW_CELL_ATOMS, SW_CUTOFF, &diag);
    c->natoms = SW_CELL_ATOMS;
    c->pos = pos;
    c->type = type;
    c->energy = sw_compute(nl, forces);
    c->forces = forces;
}

/* The energy (meV/atom) and force-component (eV/A) RMSEs of a potential
   over cells k0 .. k1 - 1 of cfg; 0 (with a message) if a computation fails. */
static int sw_rmse(const sp_pot_t *pot, const sp_config_t *cfg, int k0, int k1, double *rmse_e, double *rmse_f) {
    double f[3 * SW_CELL_ATOMS], se = 0.0, sf = 0.0, e;
    sp_diag_t diag;
    int k, i;
    for (k = k0; k < k1; ++k) {
        if (sp_pot_compute_once(pot, SW_CELL_ATOMS, cfg[k].pos, cfg[k].type, cfg[k].cell.h, cfg[k].cell.pbc, &e, f,
                                NULL, NULL, &diag) != SP_OK) {
            printf("compute failed: %s\n", diag.msg);
            return 0;
        }
        se += (e - cfg[k].energy) * (e - cfg[k].energy) / ((double)SW_CELL_ATOMS * SW_CELL_ATOMS);
        for (i = 0; i < 3 * SW_CELL_ATOMS; ++i) sf += (f[i] - cfg[k].forces[i]) * (f[i] - cfg[k].forces[i]);
    }
    *rmse_e = 1e3 * sqrt(se / (k1 - k0));
    *rmse_f = sqrt(sf / (3.0 * SW_CELL_ATOMS * (k1 - k0)));
    return 1;
}

#endif
