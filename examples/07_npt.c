/* 07_npt.c - constant pressure in your own MD loop.
 *
 * 02_md_loop.c keeps the cell fixed, so the crystal sits at whatever
 * pressure its starting lattice constant gives. Here the cell breathes:
 * every step it is rescaled by mu = exp(d eps / 3), with eps = ln V following
 * the stochastic cell rescaling of Bernetti & Bussi (J. Chem. Phys. 153,
 * 114107, 2020)
 *   d eps = (beta_T / tau) (P - P0 + kT / V) dt + sqrt(2 kT beta_T dt / (V tau)) xi,
 * P = (2 K + W_xx + W_yy + W_zz) / 3V the instantaneous pressure (W the
 * virial sp_pot_compute returns), xi a standard normal number. Positions
 * and the cell are multiplied by mu, velocities divided by it. With a
 * thermostat (Langevin here, as `splinepot md --thermostat`) this samples
 * the N P T ensemble for any relaxation time tau; beta_T, a guess of the
 * compressibility, only sets how fast the volume follows.
 *
 * The neighbour list follows the cell: sp_nlist_deform(&nl, m) maps its
 * periodic images by the same factor and shrinks its radius with the cell,
 * so it stays complete until an atom has moved more than half of what is
 * left of the skin (nl.cutoff - pot.cutoff) from where it was built, mapped
 * along. No rebuild per step.
 *
 * Physics check: the mean pressure is the target (within three standard
 * errors of block averages), and the mean lattice constant at 300 K is
 * printed next to the one at rest: their difference is the thermal
 * expansion.
 *
 * Build and run (from the repository root; `make examples` does both):
 *   cc -std=c99 -O2 -I. examples/07_npt.c -o build/07_npt -lm
 *   ./build/07_npt /usr/share/lammps/potentials/Si_1.meam.spline
 *
 * Expected output (excerpt):
 *   64 Si atoms, 300 K, 0 bar, tau 0.2 ps, list cutoff 5.50 A (cutoff 4.50 + skin 1.00)
 *    step   E_pot (eV)      V (A^3)      P (bar)   T (K)  rebuilds
 *       0    -294.834883    1281.2102          0.0     0.0      1
 *    5000    -292.277287    1268.3087       1174.9   274.8      6
 *   ...
 *   <P> = -570.8 bar, block standard error 793.3 bar: OK
 *   <a> = 5.41599 A at 300 K; 5.43055 A at rest (splinepot props)
 * (Lenosky's Si_1 shrinks on heating, unlike silicon above 120 K.)
 */
#define SPLINEPOT_IMPLEMENTATION
#include "splinepot.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

#define NC 2           /* 2 x 2 x 2 conventional cells */
#define N (8 * NC * NC * NC)
#define FTOA 9648.533212  /* eV / (A amu) in A / ps^2 */
#define KB 8.617333262e-5 /* Boltzmann constant, eV / K */
#define NSTEP 20000
#define NEQ 4000          /* steps before the averages start */
#define NBLOCK 10

/* A standard normal number (Box-Muller on a 64-bit LCG; fixed seed). */
static double gauss(void) {
    static unsigned long long s = 2024;
    double u1, u2;
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    u1 = ((s >> 11) + 0.5) / 9007199254740992.0;
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    u2 = ((s >> 11) + 0.5) / 9007199254740992.0;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "/usr/share/lammps/potentials/Si_1.meam.spline";
    const double a0 = 5.43054567, dt = 0.001, skin = 1.0, temp = 300.0, p0 = 0.0, mass = sp_element_mass(14);
    const double kt = KB * temp, damp = 0.1, tau = 0.2, beta = 1.0 / 0.5; /* beta: 1 / (0.5 eV/A^3 = 80 GPa) */
    const double c1 = exp(-dt / damp), bar = 1.6021765e6;                 /* eV/A^3 in bar */
    static double x[3 * N], v[3 * N], f[3 * N];
    double block[NBLOCK] = {0}, cnt[NBLOCK] = {0}, asum = 0.0, pmean = 0.0, se = 0.0, ke = 0.0, vol = 0.0, p = 0.0;
    int type[N], i, step, rebuilds = 0, ns = 0;
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
    /* diamond Si at its lattice constant at rest, atoms at rest: the thermostat heats them */
    sp_lattice_cell(SP_LATTICE_DIAMOND, a0, NC, x, &cell);
    for (i = 0; i < N; ++i) type[i] = 0;
    if ((r = sp_nlist_build(&nl, &cell, x, N, pot.cutoff + skin, &diag)) != SP_OK) {
        printf("neighbour list: %s\n", diag.msg);
        return 1;
    }
    rebuilds = 1;
    memset(&out, 0, sizeof out);
    out.forces = f;
    if ((r = sp_pot_compute(&pot, &nl, type, &ws, &out)) != SP_OK) return 1;
    printf("%d Si atoms, %.0f K, %.0f bar, tau %.1f ps, list cutoff %.2f A (cutoff %.2f + skin %.2f)\n", N, temp, p0,
           tau, pot.cutoff + skin, pot.cutoff, skin);
    printf(" step   E_pot (eV)      V (A^3)      P (bar)   T (K)  rebuilds\n");
    for (step = 0;; ++step) {
        double de, mu, m[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
        /* the state after the step: kinetic energy, volume, instantaneous pressure */
        for (ke = 0.0, i = 0; i < 3 * N; ++i) ke += 0.5 * mass * v[i] * v[i] / FTOA;
        vol = cell.h[0] * cell.h[4] * cell.h[8];
        p = (2.0 * ke + out.virial[0] + out.virial[4] + out.virial[8]) / (3.0 * vol);
        if (step >= NEQ) {
            block[(step - NEQ) * NBLOCK / (NSTEP - NEQ + 1)] += p * bar;
            cnt[(step - NEQ) * NBLOCK / (NSTEP - NEQ + 1)] += 1.0;
            asum += cell.h[0] / NC;
            ++ns;
        }
        if (step % 5000 == 0)
            printf("%5d %14.6f %12.4f %12.1f %7.1f %6d\n", step, out.energy, vol, p * bar, ke / (1.5 * (N - 1) * KB),
                   rebuilds);
        if (step == NSTEP) break;
        /* the barostat: the cell and positions by mu, velocities by 1/mu, the list's images and build positions mapped */
        de = beta / tau * (p - p0 / bar + kt / vol) * dt + sqrt(2.0 * kt * beta * dt / (vol * tau)) * gauss();
        mu = exp(de / 3.0);
        for (i = 0; i < 9; ++i) cell.h[i] *= mu;
        for (i = 0; i < 3 * N; ++i) {
            x[i] *= mu;
            v[i] /= mu;
        }
        m[0] = m[4] = m[8] = mu;
        if ((r = sp_nlist_deform(&nl, m)) != SP_OK) return 1;
        /* BAOAB Langevin step: half kick, drift, friction and noise, (forces), half kick */
        for (i = 0; i < 3 * N; ++i) {
            v[i] += 0.5 * dt * FTOA * f[i] / mass;
            x[i] += dt * v[i];
            v[i] = c1 * v[i] + sqrt((1.0 - c1 * c1) * kt * FTOA / mass) * gauss();
        }
        /* rebuild once an atom is half the remaining skin from its (mapped) build position */
        if (sp_nlist_stale(&nl, x, pot.cutoff)) {
            if ((r = sp_nlist_build(&nl, &cell, x, N, pot.cutoff + skin, &diag)) != SP_OK) {
                printf("neighbour list: %s\n", diag.msg);
                return 1;
            }
            ++rebuilds;
        } else {
            sp_nlist_update(&nl, x);
        }
        if ((r = sp_pot_compute(&pot, &nl, type, &ws, &out)) != SP_OK) return 1;
        for (i = 0; i < 3 * N; ++i) v[i] += 0.5 * dt * FTOA * f[i] / mass;
    }
    /* block averages: the mean pressure and its standard error */
    for (i = 0; i < NBLOCK; ++i) block[i] /= cnt[i], pmean += block[i] / NBLOCK;
    for (i = 0; i < NBLOCK; ++i) se += (block[i] - pmean) * (block[i] - pmean) / (NBLOCK * (NBLOCK - 1.0));
    se = sqrt(se);
    printf("<P> = %.1f bar, block standard error %.1f bar: %s\n", pmean, se,
           fabs(pmean - p0) < 3.0 * se + 1.0 ? "OK" : "FAILED");
    printf("<a> = %.5f A at %.0f K; %.5f A at rest (splinepot props)\n", asum / ns, temp, a0);
    sp_work_free(&ws);
    sp_nlist_free(&nl);
    sp_pot_free(&pot);
    return fabs(pmean - p0) < 3.0 * se + 1.0 ? 0 : 1;
}
