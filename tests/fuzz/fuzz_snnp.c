/* libFuzzer harness: the s-NNP model reader (files starting with
   "splinepot-snnp"). Inputs without the marker would go to the meam/spline
   reader, so the harness prepends "splinepot-snnp 1\n" when it is missing.
   A model that parses is written out and read back (the round trip must
   give the same parameters bit for bit) and evaluated on a small open
   cluster: with moderate parameters the results must be finite. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t len;
    char *text = spf_with_mark(data, size, "splinepot-snnp 1\n", 14, &len);
    sp_pot_t pot;
    sp_diag_t diag;
    sp_result_t r;
    memset(&pot, 0, sizeof pot);
    memset(&diag, 0, sizeof diag);
    r = sp_pot_read(&pot, text, len, "x.snnp", &diag);
    spf_check_diag(&diag);
    if (r == SP_OK) {
        int type[5], k, tame = 1;
        double e = 0, f[15], ea[5], w[9], cell[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
        int pbc[3] = {0, 0, 0};
        if (pot.kind != SP_POT_SNNP || pot.nelem < 1 || pot.nelem > SP_MAX_ELEMENTS || !(pot.cutoff > 0 && pot.cutoff <= 100))
            abort();
        for (k = 0; k < pot.snnp.nparams; ++k)
            if (!(fabs(pot.snnp.theta[k]) < 1e3)) tame = 0;
#ifndef SP_NO_STDIO
        { /* round trip through the writer */
            char *buf = NULL;
            size_t blen = 0;
#ifdef __GLIBC__
            FILE *fp = open_memstream(&buf, &blen);
#else
            FILE *fp = tmpfile();
#endif
            if (fp) {
                sp_pot_t p2;
                sp_diag_t d2;
                if (sp_pot_write(&pot, fp) != SP_OK) abort();
#ifdef __GLIBC__
                fclose(fp);
#else
                {
                    long sz;
                    fflush(fp);
                    sz = ftell(fp);
                    rewind(fp);
                    buf = (char *)malloc(sz > 0 ? (size_t)sz : 1);
                    if (!buf) abort();
                    blen = fread(buf, 1, sz > 0 ? (size_t)sz : 0, fp);
                    fclose(fp);
                }
#endif
                memset(&p2, 0, sizeof p2);
                memset(&d2, 0, sizeof d2);
                if (sp_pot_read(&p2, buf, blen, "y.snnp", &d2) != SP_OK) {
                    fprintf(stderr, "written model does not read back: line %d: %s\n", d2.line, d2.msg);
                    abort();
                }
                if (p2.snnp.nparams != pot.snnp.nparams ||
                    memcmp(p2.snnp.theta, pot.snnp.theta, (size_t)pot.snnp.nparams * sizeof(double)) != 0) {
                    fprintf(stderr, "round trip changed the parameters\n");
                    abort();
                }
                sp_pot_free(&p2);
                free(buf);
            }
        }
#endif
        for (k = 0; k < 5; ++k) type[k] = k % pot.nelem;
        r = sp_pot_compute_once(&pot, 5, spf_cluster, type, cell, pbc, &e, f, ea, w, &diag);
        spf_check_diag(&diag);
        if (r == SP_OK && tame && !(spf_finite(&e, 1) && spf_finite(f, 15) && spf_finite(ea, 5) && spf_finite(w, 9))) {
            fprintf(stderr, "non-finite s-NNP result E=%g with parameters below 1e3\n", e);
            abort();
        }
    } else {
        spf_check_error(r, &diag);
    }
    sp_pot_free(&pot);
    free(text);
    return 0;
}
