/* libFuzzer harness: LAMMPS pair_style uf3 reader (files starting with
   "#UF3 POT"). Inputs that do not start with the marker go to the
   meam/spline reader, so the harness prepends it when it is missing
   (that keeps the fuzzer inside the UF3 reader). When the model parses,
   it is evaluated on a small open cluster: results must be finite. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t len;
    char *text = spf_with_mark(data, size, "#UF3 POT UNITS: metal\n", 8, &len);
    sp_pot_t pot;
    sp_diag_t diag;
    sp_result_t r;
    memset(&pot, 0, sizeof pot);
    memset(&diag, 0, sizeof diag);
    r = sp_pot_read(&pot, text, len, "x.uf3", &diag);
    spf_check_diag(&diag);
    if (r == SP_OK) {
        int type[5], k;
        double e = 0, f[15], ea[5], w[9], cell[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
        int pbc[3] = {0, 0, 0};
        if (pot.kind != SP_POT_UF3 || pot.nelem < 1 || pot.nelem > SP_MAX_ELEMENTS) abort();
        for (k = 0; k < 5; ++k) type[k] = k % pot.nelem;
        if (pot.cutoff > 0 && pot.cutoff < 1e6) {
            r = sp_pot_compute_once(&pot, 5, spf_cluster, type, cell, pbc, &e, f, ea, w, &diag);
            spf_check_diag(&diag);
            if (r == SP_OK && !(spf_finite(&e, 1) && spf_finite(f, 15) && spf_finite(ea, 5) && spf_finite(w, 9))) {
                /* coefficients are finite but may be huge: only report moderate ones */
                int tame = 1, np = pot.nelem * (pot.nelem + 1) / 2, q;
                for (k = 0; k < np; ++k)
                    for (q = 0; q < pot.uf3.pair[k].nt - 4; ++q)
                        if (!(fabs(pot.uf3.pair[k].c[q]) < 1e100)) tame = 0;
                if (pot.uf3.has3) tame = 0; /* 3-body coefficient check omitted */
                if (tame) {
                    fprintf(stderr, "non-finite UF3 result E=%g\n", e);
                    abort();
                }
            }
        }
    } else {
        spf_check_error(r, &diag);
    }
    sp_pot_free(&pot);
    free(text);
    return 0;
}
