/* libFuzzer harness: parse a meam/spline or meam/sw/spline potential (5 or 7
   splines, or the multi-element format) and, when it parses, evaluate it on
   small fixed configurations with sp_pot_compute_once. Energy, forces,
   per-atom energies and virial must be finite unless the potential itself is
   degenerate (see spf_degenerate: huge values or slopes that overflow once
   multiplied through the embedding function). A non-finite result from a
   "tame" potential aborts (a bug); from a degenerate one it is counted. */
#include "fuzz_common.h"

/* Values that can overflow double arithmetic in energy sums: |y|, |d0|,
   |dN|, |y''| or knot positions beyond 1e30, or knot spacings below 1e-30,
   make a potential degenerate. */
static int spf_spline_tame(const sp_spline_t *s) {
    int k;
    const double big = 1e30;
    if (!(s->h > 1e-30) || fabs(s->xmin) > big || fabs(s->xmax) > big) return 0;
    if (fabs(s->d0) > big || fabs(s->dN) > big) return 0;
    for (k = 0; k < s->n; ++k)
        if (fabs(s->y[k]) > big) return 0;
    for (k = 0; k < 5 * (s->n - 1); ++k)
        if (!(fabs(s->seg[k]) <= big)) return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* fixed cluster: 6 atoms, distances from 1.4 to ~6.5 A, a near-collinear triple
       and an exact right angle (atoms 1-0-5: cos = 0) */
    static const double pos0[18] = {0.0, 0.0, 0.0,  2.35, 0.0, 0.0,  1.1, 2.0, 0.3,
                                    -1.9, 0.4, 1.2, 4.6, 0.05, -0.02, 0.0, 0.0, 2.1};
    static const double cellp[9] = {5.43, 0, 0, 0.2, 5.43, 0, -0.1, 0.3, 5.43};
    char *text = spf_copy(data, size);
    sp_pot_t pot;
    sp_diag_t diag;
    sp_result_t r;
    memset(&pot, 0, sizeof pot);
    memset(&diag, 0, sizeof diag);
    r = sp_pot_read(&pot, text, size, "fuzz_potential", &diag);
    if (r == SP_OK) {
        int nat = 6, type[6], k, tame = 1, cfg;
        int ne = pot.nelem, np = ne * (ne + 1) / 2;
        int nspl = pot.kind == SP_POT_MEAM_SW ? 7 : (ne == 1 && !pot.meam.new_format ? 5 : 2 * np + 3 * ne);
        for (k = 0; k < nspl; ++k) tame &= spf_spline_tame(pot.meam.phi + k);
        for (k = 0; k < nat; ++k) type[k] = k % ne;
        for (cfg = 0; cfg < 2; ++cfg) {
            double e = 0, f[18], ea[6], w[9], cell[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
            int pbc[3] = {0, 0, 0};
            if (cfg == 1) {
                /* periodic: only for a cutoff a test would use (ghost count grows as rc^3) */
                if (!(pot.cutoff > 0.0 && pot.cutoff < 12.0)) break;
                memcpy(cell, cellp, sizeof cell);
                pbc[0] = pbc[1] = pbc[2] = 1;
            } else if (!(pot.cutoff < 1e6)) {
                break; /* open cluster: a single bin; huge cutoffs are fine but skip absurd ones */
            }
            memset(&diag, 0, sizeof diag);
            r = sp_pot_compute_once(&pot, nat, pos0, type, cell, pbc, &e, f, ea, w, &diag);
            spf_check_diag(&diag);
            if (r != SP_OK) continue; /* e.g. bad cutoff: must be an error, not a crash */
            if (!(spf_finite(&e, 1) && spf_finite(f, 18) && spf_finite(ea, 6) && spf_finite(w, 9))) {
                if (tame) {
                    fprintf(stderr, "non-finite output from a tame potential (cfg %d): E=%g\n", cfg, e);
                    abort();
                }
            }
        }
    }
    sp_pot_free(&pot);
    free(text);
    return 0;
}
