/* >>cuda without a device: the structure-vector kernels of splinepot_cuda.cu
   (their __host__ __device__ bodies, in the order spc_sv_run launches them,
   each launch a loop over items and parameter sets) against
   sp_smeam_sv_eval on random configurations and parameter sets of 1, 2 and
   3 elements (per-element U ranges, ng != nr, a configuration without
   reference forces). Energies within 1e-12 relative, forces within 1e-10
   eV/A, force errors within 1e-12 relative; layouts the structure vectors
   were not built with are refused. tests/test_cuda.c runs the same
   comparison on a device. */
#include "../splinepot_cuda.cu"

#include "sp_test.h"
#include "test_util.h"

#define ETOL 1e-12
#define FTOL 1e-10

/* the kernels' code on the host: out E (nconf x P), F (3 n_tot x P), S (nconf x P) */
static void host_eval(spc_svpack &h, int P, const double *theta, std::vector<double> &E, std::vector<double> &F,
                      std::vector<double> &S) {
    spc_svk &K = h.K;
    std::vector<double> T, scr[SPC_SV_NSCR];
    std::vector<sp_spline_t> U((size_t)K.ne * P);
    double *sp[SPC_SV_NSCR];
    size_t per[SPC_SV_NSCR];
    int k;
    spc_sv_scratch_sizes(h, per);
    for (k = 0; k < SPC_SV_NSCR; ++k) {
        scr[k].assign(per[k] * (size_t)P, NAN);
        sp[k] = scr[k].data();
    }
    SP_CHECK(spc_sv_params(P, K.npar, theta, T) == SP_OK);
    spc_sv_arrays(h, [](auto dst, const auto &v) { *dst = v.data(); });
    K.P = P;
    K.T = T.data(); K.U = U.data();
    spc_sv_set_scratch(K, sp);
    spc_sv_run(h, 1, 1, [&K](spc_sv_kernel, spc_sv_body body, long items) {
        for (long it = 0; it < items; ++it)
            for (int p = 0; p < K.P; ++p) body(K, p, it);
    });
    E = scr[7];
    F = scr[8];
    S = scr[9];
}

/* NC configurations of m^3 atoms, ne elements, P parameter sets */
static void check_layout(const char *what, const sp_smeam_layout_t *lay, int P) {
    enum { NC = 3 };
    const int ms[NC] = {3, 4, 2};
    const int ne = lay->nelem > 0 ? lay->nelem : 1, npar = sp_smeam_layout_npar(lay);
    std::vector<double> pos[NC], ref[NC], theta((size_t)P * npar), Ec((size_t)NC * P), Fc, E, F, S;
    std::vector<int> type[NC];
    const double *refp[NC];
    sp_smeam_sv_t sv[NC];
    sp_config_t cf[NC];
    sp_diag_t d;
    spc_svpack h;
    double emax = 0.0, fmax = 0.0, smax = 0.0;
    int c, k, p, off = 0, ntot = 0;
    for (c = 0; c < NC; ++c) {
        const int n = ms[c] * ms[c] * ms[c];
        memset(&cf[c], 0, sizeof cf[c]);
        memset(&sv[c], 0, sizeof sv[c]);
        pos[c].resize(3 * (size_t)n);
        type[c].resize(n);
        cf[c].natoms = n;
        tu_jittered_cell(ms[c], 2.45, pos[c].data(), cf[c].cell.h);
        cf[c].pos = pos[c].data();
        cf[c].cell.pbc[0] = cf[c].cell.pbc[1] = cf[c].cell.pbc[2] = 1;
        for (k = 0; k < n; ++k) type[c][k] = (int)(tu_urand() * ne);
        cf[c].type = type[c].data();
        if (c != 1) { /* configuration 1 has no reference forces */
            ref[c].resize(3 * (size_t)n);
            for (k = 0; k < 3 * n; ++k) ref[c][k] = 2 * tu_urand() - 1;
        }
        refp[c] = c != 1 ? ref[c].data() : NULL;
        SP_CHECK(sp_smeam_sv_build(&sv[c], lay, &cf[c], &d) == SP_OK);
        ntot += n;
    }
    Fc.resize(3 * (size_t)ntot * P);
    for (k = 0; k < P * npar; ++k) theta[k] = 0.6 * (2 * tu_urand() - 1);
    SP_CHECK(spc_sv_pack(&h, lay, sv, NC, refp, &d) == SP_OK);
    host_eval(h, P, theta.data(), E, F, S);
    for (c = 0; c < NC; ++c) {
        const int n = cf[c].natoms;
        const size_t wb = sp_smeam_sv_workspace_size(&sv[c], lay, 8);
        std::vector<char> work(wb);
        SP_CHECK(sp_smeam_sv_eval(&sv[c], lay, P, theta.data(), Ec.data() + (size_t)c * P, Fc.data() + 3 * (size_t)off * P,
                                  8, work.data(), wb) == SP_OK);
        for (p = 0; p < P; ++p) {
            const double *fc = Fc.data() + 3 * (size_t)off * P + 3 * (size_t)n * p;
            double ss = 0.0, de = fabs(E[c * P + p] - Ec[c * P + p]) / fabs(Ec[c * P + p]);
            for (k = 0; c != 1 && k < 3 * n; ++k) ss += (fc[k] - ref[c][k]) * (fc[k] - ref[c][k]);
            if (!(de <= emax)) emax = de; /* NaN propagates */
            de = c != 1 ? fabs(S[c * P + p] - ss) / ss : fabs(S[c * P + p]);
            if (!(de <= smax)) smax = de;
        }
        off += n;
    }
    for (k = 0; k < 3 * ntot * P; ++k)
        if (!(fabs(F[k] - Fc[k]) <= fmax)) fmax = fabs(F[k] - Fc[k]);
    SP_CHECK(emax <= ETOL);
    SP_CHECK(fmax <= FTOL);
    SP_CHECK(smax <= ETOL);
    printf("%s: %d configurations (%d atoms), %d sets: max rel dE %.2e, max |dF| %.2e, max rel dSSE %.2e\n", what, NC,
           ntot, P, emax, fmax, smax);
    {   /* structure vectors of another layout are refused */
        sp_smeam_layout_t other = *lay;
        spc_svpack h2;
        other.nelem = ne == 1 ? 2 : 1;
        SP_CHECK(spc_sv_pack(&h2, &other, sv, NC, refp, &d) == SP_ERR_BAD_ARG);
        SP_CHECK(strstr(d.msg, "configuration 1") != NULL);
    }
    theta[3] = NAN;
    {
        std::vector<double> T;
        SP_CHECK(spc_sv_params(P, npar, theta.data(), T) == SP_ERR_NOT_FINITE);
    }
    for (c = 0; c < NC; ++c) sp_smeam_sv_free(&sv[c]);
}

int main(void) {
    sp_smeam_layout_t one = {7, 2.0, 4.0, 7, -1.5, 1.5, 0, 1, {{0, 0}}};
    sp_smeam_layout_t two = {6, 1.8, 4.2, 8, -1.0, 1.0, 0, 2, {{0, 0}, {-2.0, 0.5}}};
    sp_smeam_layout_t three = {7, 2.0, 4.0, 5, -1.5, 1.5, 5, 3, {{-1.0, 1.0}, {0, 0}, {-0.5, 2.5}}};
    check_layout("1 element", &one, 37);
    check_layout("2 elements, element 2's own U range", &two, 19);
    check_layout("3 elements, ng 5, own U ranges", &three, 11);
    return sp_test_finish();
}
