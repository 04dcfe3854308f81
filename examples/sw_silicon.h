/* sw_silicon.h - the Stillinger-Weber potential for silicon, as a teacher.
 *
 * The UF3 paper's exact-retrieval experiment (Xie, Rupp & Hennig 2023)
 * fits a UF2,3 potential to data from a known potential and checks that the
 * fit recovers it. This file is that known potential: Stillinger & Weber,
 * Phys. Rev. B 31, 5262 (1985), with the parameters of LAMMPS's Si.sw,
 *
 *   E = sum_{i<j} phi2(r_ij) + sum_i sum_{j<k} phi3(r_ij, r_ik, theta_jik)
 *   phi2 = A eps [B (sig/r)^p - (sig/r)^q] exp(sig / (r - a sig))
 *   phi3 = lambda eps (cos theta - cos theta0)^2
 *          exp(gamma sig / (r_ij - a sig)) exp(gamma sig / (r_ik - a sig))
 *
 * both zero beyond r = a sig = 3.77118 A. It uses splinepot's neighbour
 * lists (include splinepot.h first) and scatters forces serially: written
 * to be read, not to be fast. tests/test_uf3.c checks it against LAMMPS
 * pair_style sw.
 */
#ifndef SW_SILICON_H
#define SW_SILICON_H
#include <math.h>

#define SW_EPS 2.1683
#define SW_SIG 2.0951
#define SW_A 1.80
#define SW_LAMBDA 21.0
#define SW_GAMMA 1.20
#define SW_COS0 (-1.0 / 3.0)
#define SW_AA 7.049556277
#define SW_BB 0.6022245584
#define SW_P 4.0
#define SW_Q 0.0
#define SW_CUTOFF (SW_A * SW_SIG)

/* two-body term and its derivative */
static double sw_phi2(double r, double *dphi) {
    double s = SW_SIG / r, sp = pow(s, SW_P), sq = pow(s, SW_Q), x = r - SW_CUTOFF;
    double e = exp(SW_SIG / x), pre = SW_AA * SW_EPS;
    *dphi = pre * ((-SW_P * SW_BB * sp + SW_Q * sq) / r) * e + pre * (SW_BB * sp - sq) * e * (-SW_SIG / (x * x));
    return pre * (SW_BB * sp - sq) * e;
}

/* exp(gamma sig / (r - a sig)) and its derivative */
static double sw_decay(double r, double *d) {
    double x = r - SW_CUTOFF, e = exp(SW_GAMMA * SW_SIG / x);
    *d = e * (-SW_GAMMA * SW_SIG / (x * x));
    return e;
}

/* Energy (eV) and, if forces != NULL, forces (eV/A) of the local atoms of a
   built and updated neighbour list (cutoff >= SW_CUTOFF). */
static double sw_compute(const sp_nlist_t *nl, double *forces) {
    double e = 0.0;
    int i, b, c, d;
    if (forces)
        for (i = 0; i < 3 * nl->natoms; ++i) forces[i] = 0.0;
    for (i = 0; i < nl->natoms; ++i) {
        const double *xi = nl->xe + 3 * i;
        for (b = nl->first[i]; b < nl->first[i + 1]; ++b) {
            const double *xj = nl->xe + 3 * nl->j[b];
            double rj[3], r, dphi, phi;
            for (d = 0; d < 3; ++d) rj[d] = xj[d] - xi[d];
            r = sqrt(rj[0] * rj[0] + rj[1] * rj[1] + rj[2] * rj[2]);
            if (r >= SW_CUTOFF) continue;
            /* pair term: half per direction of the full list */
            phi = sw_phi2(r, &dphi);
            e += 0.5 * phi;
            if (forces)
                for (d = 0; d < 3; ++d) forces[3 * i + d] += dphi * rj[d] / r; /* -dE/dx_i, both halves */
            for (c = b + 1; c < nl->first[i + 1]; ++c) {
                const double *xk = nl->xe + 3 * nl->j[c];
                double rk[3], s, cs = 0.0, dej, ek, dek, ej, t, uj[3], uk[3];
                int oj = nl->owner[nl->j[b]], ok = nl->owner[nl->j[c]];
                for (d = 0; d < 3; ++d) rk[d] = xk[d] - xi[d];
                s = sqrt(rk[0] * rk[0] + rk[1] * rk[1] + rk[2] * rk[2]);
                if (s >= SW_CUTOFF) continue;
                for (d = 0; d < 3; ++d) {
                    uj[d] = rj[d] / r;
                    uk[d] = rk[d] / s;
                    cs += uj[d] * uk[d];
                }
                ej = sw_decay(r, &dej);
                ek = sw_decay(s, &dek);
                t = cs - SW_COS0;
                e += SW_LAMBDA * SW_EPS * t * t * ej * ek;
                if (!forces) continue;
                for (d = 0; d < 3; ++d) {
                    /* dphi3/dx_j and dphi3/dx_k; x_i gets minus their sum */
                    double gj = SW_LAMBDA * SW_EPS * (2.0 * t * ej * ek * (uk[d] - cs * uj[d]) / r + t * t * ek * dej * uj[d]);
                    double gk = SW_LAMBDA * SW_EPS * (2.0 * t * ej * ek * (uj[d] - cs * uk[d]) / s + t * t * ej * dek * uk[d]);
                    forces[3 * oj + d] -= gj;
                    forces[3 * ok + d] -= gk;
                    forces[3 * i + d] += gj + gk;
                }
            }
        }
    }
    return e;
}
#endif
