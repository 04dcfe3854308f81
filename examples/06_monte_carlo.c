/* 06_monte_carlo.c - splinepot inside your own Monte-Carlo loop.
 *
 * Metropolis Monte Carlo at constant N, V, T: pick an atom, move it by a
 * random step, accept with probability min(1, exp(-dE / kT)). The chain of
 * configurations then samples the Boltzmann distribution exp(-E / kT)
 * (detailed balance: the step is symmetric, so the acceptance ratio alone
 * weighs the two directions). Each trial needs only dE, and a move of atom i
 * changes only the energies of the atoms within the cutoff of i:
 * sp_pot_move_energy evaluates those (about 30 in silicon), not all N, and
 * sp_pot_move_accept keeps the per-atom energies it reads up to date. The
 * neighbour list has a skin, as in MD (02_md_loop.c); a trial that would
 * take its atom more than half the skin from where the list was built is
 * refused with SP_ERR_RANGE: rebuild and ask again.
 *
 * Physics check: in a harmonic crystal every coordinate holds kT/2 of
 * potential energy on average (equipartition), so <E> - E_min = (3N - 3)/2 kT
 * (the 3 of the centre of mass cost nothing). At 30 K silicon is close to
 * harmonic; the example checks the sampled mean within 5 %, and the energy
 * summed from the trials' dE against a full evaluation.
 *
 * Build and run (from the repository root; `make examples` does both):
 *   cc -std=c99 -O2 -I. examples/06_monte_carlo.c -o build/06_monte_carlo -lm
 *   ./build/06_monte_carlo /usr/share/lammps/potentials/Si_1.meam.spline
 *
 * Expected output (excerpt):
 *   64 Si atoms, 30 K, list cutoff 5.50 A (cutoff 4.50 + skin 1.00)
 *    sweep   E (eV)          accepted   step (A)
 *      500      -294.580068      0.471     0.0202
 *   ...
 *   E from the accepted dE -294.556847448 eV, full evaluation -294.556847448 eV, 0 list rebuilds
 *   <E> - E_min = 0.2506 eV, equipartition (3N - 3)/2 kT = 0.2443 eV: ratio 1.026 OK
 */
#define SPLINEPOT_IMPLEMENTATION
#include "splinepot.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

#define NC 2                 /* 2 x 2 x 2 conventional cells */
#define N (8 * NC * NC * NC)
#define KB 8.617343e-5       /* Boltzmann constant, eV / K (LAMMPS metal) */
#define SWEEPS 3000          /* a sweep is N trials */

static unsigned long long rng = 88172645463325252ULL;
static double urand(void) { /* xorshift64* in [0, 1) */
    rng ^= rng >> 12; rng ^= rng << 25; rng ^= rng >> 27;
    return (double)((rng * 2685821657736338717ULL) >> 11) * (1.0 / 9007199254740992.0);
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "/usr/share/lammps/potentials/Si_1.meam.spline";
    const double a = 5.431, skin = 1.0, temp = 30.0, kt = KB * temp;
    static double x[3 * N], ea[N]; /* positions, per-atom energies */
    double e, emin, step = 0.05, mean = 0.0, expect, ratio;
    int type[N], k, d, sweep, rebuilds = 0;
    long acc = 0, tries = 0;
    sp_pot_t pot = {0};
    sp_nlist_t nl = {0};
    sp_work_t ws = {0};
    sp_cell_t cell;
    sp_out_t out;
    sp_diag_t diag;
    sp_result_t r;

    if ((r = sp_pot_read_file(&pot, path, &diag)) != SP_OK) {
        printf("%s:%d: %s (%s)\n", path, diag.line, diag.msg, sp_result_str(r));
        return 1;
    }
    sp_lattice_cell(SP_LATTICE_DIAMOND, a, NC, x, &cell); /* the periodic crystal */
    for (k = 0; k < N; ++k) type[k] = 0;
    /* the perfect crystal is the minimum; its per-atom energies start the bookkeeping */
    if ((r = sp_nlist_build(&nl, &cell, x, N, pot.cutoff + skin, &diag)) != SP_OK) {
        printf("neighbour list: %s\n", diag.msg);
        return 1;
    }
    memset(&out, 0, sizeof out);
    out.energies = ea;
    if ((r = sp_pot_compute(&pot, &nl, type, &ws, &out)) != SP_OK) return 1;
    e = emin = out.energy;
    printf("%d Si atoms, %.0f K, list cutoff %.2f A (cutoff %.2f + skin %.2f)\n", N, temp, pot.cutoff + skin,
           pot.cutoff, skin);
    printf(" sweep   E (eV)          accepted   step (A)\n");
    for (sweep = 1; sweep <= SWEEPS; ++sweep) {
        for (k = 0; k < N; ++k) {
            const int at = (int)(urand() * N);
            double xn[3], de;
            for (d = 0; d < 3; ++d) xn[d] = x[3 * at + d] + step * (2.0 * urand() - 1.0);
            r = sp_pot_move_energy(&pot, &nl, type, &ws, at, xn, ea, &de);
            if (r == SP_ERR_RANGE) { /* the atom would leave half the skin: a new list from x */
                if ((r = sp_nlist_build(&nl, &cell, x, N, pot.cutoff + skin, &diag)) != SP_OK) return 1;
                ++rebuilds;
                r = sp_pot_move_energy(&pot, &nl, type, &ws, at, xn, ea, &de);
            }
            if (r != SP_OK) {
                printf("sweep %d: %s\n", sweep, sp_result_str(r));
                return 1;
            }
            ++tries;
            if (de <= 0.0 || urand() < exp(-de / kt)) { /* Metropolis */
                sp_pot_move_accept(&nl, &ws, at, xn, ea);
                memcpy(x + 3 * at, xn, sizeof xn);
                e += de;
                ++acc;
            }
        }
        if (sweep <= SWEEPS / 10) { /* first tenth: tune the step towards half the trials accepted */
            step *= (double)acc / (double)tries > 0.5 ? 1.1 : 0.9;
            acc = tries = 0;
        } else {
            mean += e / (SWEEPS - SWEEPS / 10);
        }
        if (sweep % 500 == 0)
            printf("%6d %16.6f %10.3f %10.4f\n", sweep, e, tries ? (double)acc / (double)tries : 0.0, step);
    }
    /* the bookkeeping: E summed from the accepted dE against a full evaluation */
    sp_nlist_update(&nl, x);
    out.energies = NULL;
    if ((r = sp_pot_compute(&pot, &nl, type, &ws, &out)) != SP_OK) return 1;
    printf("E from the accepted dE %.9f eV, full evaluation %.9f eV, %d list rebuilds\n", e, out.energy, rebuilds);
    expect = 1.5 * (N - 1) * kt;
    ratio = (mean - emin) / expect;
    printf("<E> - E_min = %.4f eV, equipartition (3N - 3)/2 kT = %.4f eV: ratio %.3f %s\n", mean - emin, expect, ratio,
           fabs(ratio - 1.0) < 0.05 && fabs(e - out.energy) < 1e-8 ? "OK" : "FAILED");
    sp_work_free(&ws);
    sp_nlist_free(&nl);
    sp_pot_free(&pot);
    return fabs(ratio - 1.0) < 0.05 && fabs(e - out.energy) < 1e-8 ? 0 : 1;
}
