/* libFuzzer harness: uf3 JSON model reader (WeightedLinearModel.to_json).
   The format is detected from a leading '{'; the harness prepends one when
   the input does not start with it, so that every input reaches the JSON
   reader. Parsed models are evaluated on a small open cluster. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t q = 0;
    int has;
    size_t len;
    char *text;
    sp_pot_t pot;
    sp_diag_t diag;
    sp_result_t r;
    while (q < size && (data[q] == ' ' || data[q] == '\n' || data[q] == '\t' || data[q] == '\r')) ++q;
    has = q < size && data[q] == '{';
    len = has ? size : size + 1;
    text = (char *)malloc(len ? len : 1);
    if (!text) abort();
    if (!has) text[0] = '{';
    if (size) memcpy(text + (has ? 0 : 1), data, size);
    memset(&pot, 0, sizeof pot);
    memset(&diag, 0, sizeof diag);
    r = sp_pot_read(&pot, text, len, "x.json", &diag);
    spf_check_diag(&diag);
    if (r == SP_OK) {
        int type[5], k, pbc[3] = {0, 0, 0};
        double e = 0, f[15], ea[5], w[9], cell[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
        if (pot.kind != SP_POT_UF3 || pot.nelem < 1 || pot.nelem > SP_MAX_ELEMENTS) abort();
        for (k = 0; k < 5; ++k) type[k] = k % pot.nelem;
        if (pot.cutoff > 0 && pot.cutoff < 1e6) {
            r = sp_pot_compute_once(&pot, 5, spf_cluster, type, cell, pbc, &e, f, ea, w, &diag);
            spf_check_diag(&diag);
            (void)r; /* finiteness is checked by fuzz_uf3 for moderate coefficients */
        }
    } else {
        spf_check_error(r, &diag);
    }
    sp_pot_free(&pot);
    free(text);
    return 0;
}
