/* libFuzzer harness: LAMMPS meam/spline reader (old single-element and new
   multi-element formats). The file name hint selects meam/spline. */
#include "fuzz_common.h"

#ifndef SPF_HINT
#define SPF_HINT "x.meam.spline"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = spf_copy(data, size);
    sp_pot_t pot;
    sp_diag_t diag;
    sp_result_t r;
    memset(&pot, 0, sizeof pot);
    memset(&diag, 0, sizeof diag);
    r = sp_pot_read(&pot, text, size, SPF_HINT, &diag);
    spf_check_diag(&diag);
    if (r == SP_OK) {
        int k, ne = pot.nelem, np = ne * (ne + 1) / 2;
        int nspl = pot.kind == SP_POT_MEAM_SW ? 7 : (ne == 1 && !pot.meam.new_format ? 5 : 2 * np + 3 * ne);
        if (pot.kind != SP_POT_MEAM && pot.kind != SP_POT_MEAM_SW) abort();
        if (ne < 1 || ne > SP_MAX_ELEMENTS) abort();
        if (!(pot.cutoff - pot.cutoff == 0.0)) abort(); /* cutoff must be finite */
        /* every spline must evaluate to finite values inside and outside its range */
        for (k = 0; k < nspl; ++k) {
            const sp_spline_t *s = pot.meam.phi + k;
            double xs[5], v, dv;
            int q;
            xs[0] = s->xmin - 1.0; xs[1] = s->xmin; xs[2] = 0.5 * (s->xmin + s->xmax);
            xs[3] = s->xmax; xs[4] = s->xmax + 1.0;
            for (q = 0; q < 5; ++q) {
                v = sp_spline_eval(s, xs[q], &dv);
                (void)v; (void)dv; /* finiteness is reported by fuzz_eval, not here */
            }
        }
    } else {
        spf_check_error(r, &diag);
    }
    sp_pot_free(&pot);
    free(text);
    return 0;
}
