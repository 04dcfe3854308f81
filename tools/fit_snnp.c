/* splinepot fit snnp, the s-NNP plot and filters; #included by tools/splinepot.c
 * (uses its helpers: options, frames, RMSE table, report, SVG panels). */

/* "16,8" -> widths; "none" -> no network (-1); "0" or "linear" -> one linear layer */
static int parse_hidden(const char *v, int *width) {
    int n = 0;
    const char *p = v;
    if (strcmp(v, "none") == 0) return -1;
    if (strcmp(v, "0") == 0 || strcmp(v, "linear") == 0) return 0;
    while (*p) {
        char *end;
        long w = strtol(p, &end, 10);
        if (end == p || w < 1 || w > SP_SNNP_MAX_WIDTH || n == SP_SNNP_MAX_HIDDEN) return -2;
        width[n++] = (int)w;
        p = end;
        if (*p == ',') ++p;
        else if (*p) return -2;
    }
    return n ? n : -2;
}

/* "LO:HI:N" knots */
static int parse_knots(const char *opt, const char *v, double *lo, double *hi, int *n) {
    char extra;
    if (!v) return 1;
    if (sscanf(v, "%lf:%lf:%d%c", lo, hi, n, &extra) != 3 || !(*hi > *lo) || *lo < 0 || *n < 3 || *n > SP_SPLINE_MAX_KNOTS) {
        fprintf(stderr, "error: %s needs LO:HI:N with HI > LO >= 0 and N in 3..%d, got '%s'\n", opt, SP_SPLINE_MAX_KNOTS, v);
        return 0;
    }
    return 1;
}

static int opt_bool(int argc, char **argv, const char *name, int def, int *out) {
    long v;
    if (!opt_long(argc, argv, name, def, &v)) return 0;
    if (v != 0 && v != 1) {
        fprintf(stderr, "error: %s takes 0 or 1\n", name);
        return 0;
    }
    *out = (int)v;
    return 1;
}

static int cmd_fit_snnp(int argc, char **argv) {
    const char *train_path = opt_value(argc, argv, "--train"), *test_path = opt_value(argc, argv, "--test");
    const char *outpath = opt_value(argc, argv, "-o"), *report = opt_value(argc, argv, "--report");
    const char *hidden = opt_value(argc, argv, "--hidden");
    frames_t tr, te;
    sp_snnp_fit_desc_t d;
    sp_snnp_fit_info_t info;
    sp_snnp_arch_t *a;
    sp_config_t *cf;
    sp_pot_t pot;
    sp_diag_t diag;
    sp_result_t r;
    rmse_t rtr, rte;
    int ok = 1, **types, nh;
    long n3, n2, kg, epochs, batch, patience, seed;
    double minutes, w_stress;
    double t0 = now_seconds();
    memset(&d, 0, sizeof d);
    a = &d.arch;
    if (opt_flag(argc, argv, "--help") || !train_path || !outpath) {
        fputs("usage: splinepot fit snnp --train A.xyz [--test B.xyz] [architecture] [training] [--seed S=1]\n"
              "       -o MODEL [--report R.json]\n"
              "  s-NNP (Vita & Trinkle 2023): n3 3-body filters f(r_ij) f(r_ik) g(cos theta), n2 2-body\n"
              "  filters rho(r_ij), fed to one network per element; the options of the paper's Eq. 10.\n"
              "  A training frame's weight=W (or config_weight=W) multiplies its loss terms by W^2.\n"
              "architecture (defaults in brackets):\n"
              "  --filters3 N [8]  --filters2 N [4]        3-body and 2-body filters (network inputs)\n"
              "  --r3 LO:HI:N [1.5:4.25:10]                knots of f; HI is the 3-body cutoff\n"
              "  --kg N [12]                               knots of g on [-1, 1]\n"
              "  --r2 LO:HI:N [1.5:5.2:14]                 knots of rho; HI is the 2-body cutoff\n"
              "  --hidden W1,W2,.. [16,8] | 0 | none       hidden layers (0: one linear layer, none: no network)\n"
              "  --skip 0|1 [0]  --nobias 0|1 [0]  --softplus 0|1 [0]  --short 0|1 [1]\n"
              "                                            skip connection, bias-free layers + external bias,\n"
              "                                            softplus output, short-range pair filter (Eq. 10;\n"
              "                                            --skip 1 --nobias 1 --softplus 1: the paper's 'int. all')\n"
              "  --rshort LO:HI:N [1.5:2.6:6]              knots of the short-range filter (HI: inner cutoff)\n"
              "  --celu-alpha A [1]\n"
              "training:\n"
              "  --epochs N [2000]  --batch N [8]  --lr X [2e-3]  --lr-spline X [3]  --adam (no AMSGrad)\n"
              "  --milestones F1,F2,.. [0.5,0.75,0.9]  --gamma X [0.3]   step schedule (fractions of epochs)\n"
              "  --w-energy X [100]  --w-force X [1]  --l2 X [1e-6]     loss weights (eV/atom, eV/A)\n"
              "  --w-stress X [0]                        weight of the stress (GPa) of the frames with a stress=\n"
              "  --val-fraction X [0.1]  --patience N [epochs/3]         early stopping on a held-out split\n"
              "  --init-scale X [0.3 with skip, else 1]\n"
              "  --minutes M [50]   wall-time budget: fewer epochs (same schedule) when they would overrun it\n",
              train_path && outpath ? stdout : stderr);
        return opt_flag(argc, argv, "--help") ? 0 : 2;
    }
    /* defaults: tuned on mlearn Mo (README): the plain form (Eq. 9) plus the short-range pair
       filter, a 3-body cutoff between the 2nd and 3rd bcc shells as UF3's, sized for 2 cores */
    a->r3lo = 1.5; a->r3hi = 4.25; a->k3 = 10; a->kg = 12;
    a->r2lo = 1.5; a->r2hi = 5.2; a->k2 = 14;
    a->rslo = 1.5; a->rshi = 2.6; a->ks = 6;
    a->network = 1; a->nhidden = 2; a->width[0] = 16; a->width[1] = 8;
    if (!opt_long(argc, argv, "--filters3", 8, &n3) || !opt_long(argc, argv, "--filters2", 4, &n2) ||
        !opt_long(argc, argv, "--kg", 12, &kg) || !opt_bool(argc, argv, "--skip", 0, &a->skip) ||
        !opt_bool(argc, argv, "--nobias", 0, &a->nobias) || !opt_bool(argc, argv, "--softplus", 0, &a->softplus) ||
        !opt_bool(argc, argv, "--short", 1, &a->short_range) || !opt_double(argc, argv, "--celu-alpha", 1.0, &a->celu_alpha) ||
        !parse_knots("--r3", opt_value(argc, argv, "--r3"), &a->r3lo, &a->r3hi, &a->k3) ||
        !parse_knots("--r2", opt_value(argc, argv, "--r2"), &a->r2lo, &a->r2hi, &a->k2) ||
        !parse_knots("--rshort", opt_value(argc, argv, "--rshort"), &a->rslo, &a->rshi, &a->ks) ||
        !opt_long(argc, argv, "--epochs", 2000, &epochs) || !opt_long(argc, argv, "--batch", 8, &batch) ||
        !opt_double(argc, argv, "--lr", 2e-3, &d.lr) || !opt_double(argc, argv, "--lr-spline", 3.0, &d.lr_spline) ||
        !opt_double(argc, argv, "--gamma", 0.3, &d.gamma) || !opt_double(argc, argv, "--w-energy", 100.0, &d.w_energy) ||
        !opt_double(argc, argv, "--w-force", 1.0, &d.w_force) || !opt_double(argc, argv, "--l2", 1e-6, &d.l2) ||
        !opt_double(argc, argv, "--w-stress", 0.0, &w_stress) ||
        !opt_double(argc, argv, "--val-fraction", 0.1, &d.val_fraction) || !opt_long(argc, argv, "--patience", 0, &patience) ||
        !opt_double(argc, argv, "--init-scale", 0.0, &d.init_scale) || !opt_double(argc, argv, "--minutes", 50.0, &minutes) ||
        !opt_long(argc, argv, "--seed", 1, &seed))
        return 2;
    if (n3 < 0 || n3 > SP_SNNP_MAX_FILTERS || n2 < 0 || n2 > SP_SNNP_MAX_FILTERS || kg < 3 || kg > SP_SPLINE_MAX_KNOTS)
        return fail_msg("fit snnp: --filters3/--filters2 must be 0..64 and --kg 3..64");
    a->n3 = (int)n3; a->n2 = (int)n2; a->kg = (int)kg;
    if (hidden) {
        nh = parse_hidden(hidden, a->width);
        if (nh == -2) return fail_msg("fit snnp: --hidden needs widths like 16,8 (at most 8 layers), 0 or none");
        a->network = nh >= 0;
        a->nhidden = nh >= 0 ? nh : 0;
    }
    if (!a->network) { a->nobias = 0; a->softplus = 0; }
    if (opt_value(argc, argv, "--milestones")) {
        const char *p = opt_value(argc, argv, "--milestones");
        int q = 0;
        while (*p && q < 4) {
            char *end;
            d.milestones[q] = strtod(p, &end);
            if (end == p || !(d.milestones[q] > 0 && d.milestones[q] < 1)) return fail_msg("fit snnp: --milestones needs fractions in (0, 1)");
            ++q;
            p = end;
            if (*p == ',') ++p;
        }
        if (*p) return fail_msg("fit snnp: at most 4 milestones");
    }
    if (epochs < 1 || batch < 1 || seed < 0 || !(minutes >= 0) || !(w_stress >= 0 && w_stress <= 1e6))
        return fail_msg("fit snnp: bad --epochs, --batch, --seed, --minutes or --w-stress (0..1e6)");
    d.w_stress = w_stress * SP_EV_A3_TO_GPA * SP_EV_A3_TO_GPA; /* the library's stresses are in eV/A^3 */
    d.epochs = (int)epochs;
    d.batch = (int)batch;
    d.patience = (int)patience;
    d.seed = (uint64_t)seed;
    d.amsgrad = opt_flag(argc, argv, "--adam") ? -1 : 1;
    d.max_seconds = 60.0 * minutes;
    d.progress = fit_progress;
    if (!fit_read_sets(train_path, test_path, &tr, &te)) return 1;
    a->nelem = collect_elements(&tr, &te, a->z);
    if (a->nelem < 1) return frames_free(&tr), frames_free(&te), fail_msg("fit snnp: more elements than SP_MAX_ELEMENTS");
    ok = fit_configs(&tr, train_path, a->z, &cf, &types);
    memset(&pot, 0, sizeof pot);
    memset(&diag, 0, sizeof diag);
    if (ok) {
        r = sp_snnp_fit(&d, cf, tr.n, &pot, &info, &diag);
        if (r == SP_ERR_NOT_FINITE && pot.kind == SP_POT_SNNP) {
            fprintf(stderr, "warning: %s\n", diag.msg);
        } else if (r != SP_OK) {
            ok = !fail_file(train_path, &diag, r);
        }
    }
    if (ok) ok = fit_rmse(&pot, train_path, &tr, test_path, &te, NULL, &rtr, &rte);
    if (ok) {
        static const char *const why[3] = {"all epochs", "early stopping", "time limit"};
        d = sp_snnp_fit_desc_defaults(&d);
        fprintf(stderr, "snnp fit: %d parameters trained, %d epochs (%s), parameters of epoch %d ", info.n_params,
                info.epochs, why[info.stop < 0 || info.stop > 2 ? 0 : info.stop], info.best_epoch);
        if (info.n_val == 0) fputs("(no validation set", stderr);
        else fprintf(stderr, "(validation %.2f meV/atom, %.4f eV/A", 1000.0 * info.val_rmse_e, info.val_rmse_f);
        if (info.n_val && info.val_rmse_s > 0) fprintf(stderr, ", %.3f GPa", SP_EV_A3_TO_GPA * info.val_rmse_s);
        fprintf(stderr, "), %.1f s\n", now_seconds() - t0);
        print_rmse_table(stdout, &rtr, te.n ? &rte : NULL);
        ok = write_model(&pot, outpath);
    }
    if (ok && report) {
        out_file_t of;
        if ((ok = out_open(&of, report))) {
            int e;
            static const char *const why[3] = {"epochs", "early_stopping", "time_limit"};
            fprintf(of.fp, "{\n  \"kind\": \"snnp\",\n  \"model\": \"%s\",\n  \"elements\": [", outpath);
            for (e = 0; e < a->nelem; ++e) fprintf(of.fp, "%s\"%s\"", e ? ", " : "", sp_element_symbol(a->z[e]));
            fprintf(of.fp, "],\n  \"architecture\": {\"filters3\": %d, \"filters2\": %d, \"short\": %d, \"skip\": %d, "
                           "\"nobias\": %d, \"softplus\": %d, \"hidden\": ",
                    a->n3, a->n2, a->short_range, a->skip, a->nobias, a->softplus);
            if (!a->network) fputs("null", of.fp);
            else {
                fputc('[', of.fp);
                for (e = 0; e < a->nhidden; ++e) fprintf(of.fp, "%s%d", e ? ", " : "", a->width[e]);
                fputc(']', of.fp);
            }
            fprintf(of.fp, ",\n    \"r3\": [%.17g, %.17g, %d], \"kg\": %d, \"r2\": [%.17g, %.17g, %d], \"rshort\": [%.17g, %.17g, %d], "
                           "\"celu_alpha\": %.17g},\n",
                    a->r3lo, a->r3hi, a->k3, a->kg, a->r2lo, a->r2hi, a->k2, a->rslo, a->rshi, a->ks, a->celu_alpha);
            fprintf(of.fp, "  \"training\": {\"epochs\": %d, \"batch\": %d, \"lr\": %.17g, \"lr_spline\": %.17g, \"amsgrad\": %s, "
                           "\"milestones\": [%.6g, %.6g, %.6g, %.6g], \"gamma\": %.17g,\n    \"w_energy\": %.17g, \"w_force\": %.17g, "
                           "\"w_stress\": %.17g, \"l2\": %.17g, \"val_fraction\": %.17g, \"patience\": %d, \"init_scale\": %.17g, "
                           "\"seed\": %ld},\n",
                    d.epochs, d.batch, d.lr, d.lr_spline, d.amsgrad > 0 ? "true" : "false", d.milestones[0], d.milestones[1],
                    d.milestones[2], d.milestones[3], d.gamma, d.w_energy, d.w_force, w_stress, d.l2, d.val_fraction,
                    d.patience, d.init_scale, seed);
            fprintf(of.fp, "  \"epochs_run\": %d,\n  \"best_epoch\": %d,\n  \"stopped_by\": \"%s\",\n", info.epochs, info.best_epoch,
                    why[info.stop < 0 || info.stop > 2 ? 0 : info.stop]);
            fprintf(of.fp, "  \"n_train\": %d,\n  \"n_validation\": %d,\n", info.n_train, info.n_val);
            fprintf(of.fp, "  \"validation\": {\"energy_rmse_meV_per_atom\": %.10g, \"force_rmse_eV_per_A\": %.10g",
                    1000.0 * info.val_rmse_e, info.val_rmse_f);
            if (info.val_rmse_s > 0) fprintf(of.fp, ", \"stress_rmse_GPa\": %.10g", SP_EV_A3_TO_GPA * info.val_rmse_s);
            fputs("},\n", of.fp);
            fprintf(of.fp, "  \"e0_eV\": {");
            for (e = 0; e < a->nelem; ++e)
                fprintf(of.fp, "%s\"%s\": %.17g", e ? ", " : "", sp_element_symbol(a->z[e]), pot.snnp.theta[pot.snnp.off_e0 + e]);
            fprintf(of.fp, "},\n  \"n_params\": %d,\n  \"n_params_total\": %d,\n  \"seconds\": %.3f,\n", info.n_params,
                    pot.snnp.nparams, now_seconds() - t0);
            json_rmse_end(of.fp, &rtr, te.n ? &rte : NULL);
            ok = out_close(&of, 1);
        }
    }
    fit_configs_free(&tr, cf, types);
    sp_pot_free(&pot);
    frames_free(&tr);
    frames_free(&te);
    return ok ? 0 : 1;
}

/* ---------------------------------------------------------------- plot */

/* value of the 3-body filter a of a centre at the origin with neighbour j at
   (r, theta) and neighbour k on the theta = 0 axis, integrated over r_k
   (the polar view of Vita & Trinkle 2023, Fig. 3) */
static double snnp_polar(const sp_pot_t *pot, int a, int ej, int ek, double r, double cth, double rk0, double rk1) {
    const sp_snnp_t *m = &pot->snnp;
    const int ne = m->arch.nelem, nk = 60;
    const sp_spline_t *f = m->spl, *g = m->spl + m->arch.n3 * ne;
    double fj, s = 0.0, gv;
    int q;
    if (r >= m->cut3) return 0.0;
    fj = sp_spline_eval(&f[a * ne + ej], r, NULL);
    gv = sp_spline_eval(&g[a * m->npairs + sp_pot_pair_index(ne, ej, ek)], cth, NULL);
    for (q = 0; q < nk; ++q) { /* midpoint rule */
        double rk = rk0 + (rk1 - rk0) * (q + 0.5) / nk;
        if (rk < m->cut3) s += sp_spline_eval(&f[a * ne + ek], rk, NULL);
    }
    return fj * gv * s * (rk1 - rk0) / nk;
}

/* diverging blue-white-red colour of t in [-1, 1] */
static void snnp_colour(double t, char *buf) {
    int r, g, b;
    if (t > 1) t = 1;
    if (t < -1) t = -1;
    if (t >= 0) { r = 255; g = b = (int)(255 * (1 - t)); }
    else { b = 255; r = g = (int)(255 * (1 + t)); }
    sprintf(buf, "#%02x%02x%02x", r, g, b);
}

/* s-NNP: the radial splines (f, rho, short-range) against r, the angular
   splines g against cos theta, and for each 3-body filter the polar view of
   Fig. 3 (first element pair), one colour scale per panel */
static int plot_snnp(FILE *fp, const sp_pot_t *pot, const char *model) {
    const sp_snnp_t *m = &pot->snnp;
    const sp_snnp_arch_t *A = &m->arch;
    const int ne = A->nelem, np = m->npairs, n3 = A->n3, n2 = A->n2;
    const sp_spline_t *F = m->spl, *G = F + n3 * ne, *R = G + n3 * np, *S = R + n2 * ne;
    int npan = (n3 ? 2 : 0) + (n2 ? 1 : 0) + (A->short_range ? 1 : 0), npolar = n3, panel = 0, k, e, q;
    int rows = (npan + 2) / 3 + (npolar + 3) / 4;
    double rmax = m->cut3 > m->cut2 ? m->cut3 : m->cut2;
    fprintf(fp, "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' font-family='sans-serif'>\n"
                "<rect width='100%%' height='100%%' fill='white'/>\n"
                "<text x='20' y='24' font-size='16'>%s (s-NNP: %d 3-body, %d 2-body filters%s%s)</text>\n",
            3 * 330 + 40, rows * 290 + 60, model, n3, n2, A->short_range ? ", short-range pair" : "",
            A->skip ? ", skip connection" : "");
    /* curve panels */
    {
        const char *titles[4] = {"f(r) (3-body radial)", "g(cos theta)", "rho(r) (2-body)", "short-range pair s(r) [eV]"};
        const sp_spline_t *sets[4];
        int counts[4], fam;
        sets[0] = F; counts[0] = n3 * ne;
        sets[1] = G; counts[1] = n3 * np;
        sets[2] = R; counts[2] = n2 * ne;
        sets[3] = S; counts[3] = A->short_range ? ne : 0;
        for (fam = 0; fam < 4; ++fam) {
            svg_panel_t p;
            double xa, xb;
            int row = 0;
            if (!counts[fam]) continue;
            xa = fam == 1 ? -1.0 : sets[fam][0].xmin;
            xb = fam == 1 ? 1.0 : sets[fam][0].xmax;
            if (fam != 1 && xa > 1.0) xa -= 0.3; /* a little of the linear extension */
            p.x0 = 60 + (panel % 3) * 330; p.y0 = 60 + (panel / 3) * 290; p.w = 260; p.h = 200;
            p.xmin = xa; p.xmax = xb;
            spline_range(sets[fam], counts[fam], xa, xb, &p.ymin, &p.ymax);
            if (fam == 3 && p.ymax > 5.0 && p.ymin < 5.0) p.ymax = 5.0;
            svg_axes(fp, &p, titles[fam], fam == 1 ? "cos theta" : "r [A]");
            for (k = 0; k < counts[fam] && k < 24; ++k) {
                char label[48];
                int per = fam == 1 ? np : ne, f = k / per, el = k % per;
                if (fam == 1 && ne > 1) {
                    int ea, eb;
                    sp__pair_elements(ne, el, &ea, &eb);
                    snprintf(label, sizeof label, "%d %s-%s", f + 1, pot->elem[ea], pot->elem[eb]);
                } else if (fam == 3) {
                    snprintf(label, sizeof label, "%s", pot->elem[el]);
                } else if (ne > 1) {
                    snprintf(label, sizeof label, "%d %s", f + 1, pot->elem[el]);
                } else {
                    snprintf(label, sizeof label, "%d", f + 1);
                }
                svg_spline(fp, &p, &sets[fam][k], xa, xb, palette[k % 8], label, row++);
            }
            ++panel;
        }
    }
    /* polar panels (Fig. 3): G3_a with j at (r, theta), k on the axis, integrated over r_k */
    {
        const int base_y = 60 + ((npan + 2) / 3) * 290, NR = 30, NT = 20;
        const double r0 = 1.5 < m->x0[0] ? 1.5 : m->x0[0];
        for (q = 0; q < npolar; ++q) {
            double cx = 150 + (q % 4) * 245, cy = base_y + (q / 4) * 290 + 120, rad = 110, vmax = 0.0;
            double *val = (double *)malloc((size_t)NR * NT * sizeof(double));
            int ir, it;
            if (!val) return 0;
            for (ir = 0; ir < NR; ++ir)
                for (it = 0; it < NT; ++it) {
                    double r = r0 + (m->cut3 - r0) * (ir + 0.5) / NR, th = 3.141592653589793 * (it + 0.5) / NT;
                    double v = snnp_polar(pot, q, 0, 0, r, cos(th), r0, m->cut3);
                    val[ir * NT + it] = v;
                    if (fabs(v) > vmax) vmax = fabs(v);
                }
            if (!(vmax > 0)) vmax = 1;
            fprintf(fp, "<text x='%.1f' y='%.1f' font-size='13' text-anchor='middle'>G3 filter %d (%s, max |G| %.3g)</text>\n",
                    cx, cy - rad - 12, q + 1, pot->elem[0], vmax);
            for (ir = 0; ir < NR; ++ir)
                for (it = 0; it < NT; ++it) {
                    /* an annular sector, mirrored below the axis (g depends on cos theta only) */
                    double ra = rad * (ir) / NR, rb = rad * (ir + 1) / NR;
                    double ta = 3.141592653589793 * it / NT, tb = 3.141592653589793 * (it + 1) / NT;
                    char col[16];
                    int s;
                    snnp_colour(val[ir * NT + it] / vmax, col);
                    for (s = -1; s <= 1; s += 2)
                        fprintf(fp, "<path d='M%.1f,%.1f L%.1f,%.1f A%.1f,%.1f 0 0 %d %.1f,%.1f L%.1f,%.1f A%.1f,%.1f 0 0 %d %.1f,%.1f Z' "
                                    "fill='%s' stroke='%s' stroke-width='0.3'/>\n",
                                cx + ra * cos(ta), cy - s * ra * sin(ta), cx + rb * cos(ta), cy - s * rb * sin(ta), rb, rb,
                                s > 0 ? 0 : 1, cx + rb * cos(tb), cy - s * rb * sin(tb), cx + ra * cos(tb), cy - s * ra * sin(tb), ra,
                                ra, s > 0 ? 1 : 0, cx + ra * cos(ta), cy - s * ra * sin(ta), col, col);
                }
            for (e = 1; e <= 2; ++e) { /* dashed circles at r0 + (cut - r0) * e/3 */
                double rr = rad * e / 3.0;
                fprintf(fp, "<circle cx='%.1f' cy='%.1f' r='%.1f' fill='none' stroke='#888' stroke-dasharray='3,3'/>\n", cx, cy, rr);
                fprintf(fp, "<text x='%.1f' y='%.1f' font-size='9' fill='#555'>%.2g A</text>\n", cx + rr + 2, cy - 2,
                        r0 + (m->cut3 - r0) * e / 3.0);
            }
            free(val);
        }
        if (npolar)
            fprintf(fp, "<text x='20' y='%d' font-size='11' fill='#444'>Polar views (Vita &amp; Trinkle 2023, Fig. 3): centre i "
                        "at the middle, neighbour j at (r, theta), r from %.2g A (middle) to %.2g A (rim), neighbour k on the "
                        "theta = 0 axis;</text>\n<text x='20' y='%d' font-size='11' fill='#444'>G3 integrated over r_k in "
                        "[%.2g, %.2g] A, red positive, blue negative, each panel on its own scale (max |G| in its title).</text>\n",
                    rows * 290 + 40, r0, m->cut3, rows * 290 + 55, r0, m->cut3);
    }
    (void)rmax;
    fputs("</svg>\n", fp);
    return 1;
}

/* ---------------------------------------------------------------- filters */

/* --drop EL:A[,B...]: sp_snnp_drop_filter for element EL and the 1-based
   filters A, B, ...; 0 with an error message */
static int drop_filters(sp_pot_t *pot, const char *model, const char *spec) {
    char el[8];
    const char *p = strchr(spec, ':');
    int e, n = 0;
    if (!p || p == spec || (size_t)(p - spec) >= sizeof el) {
        fprintf(stderr, "error: --drop takes ELEMENT:FILTER[,FILTER...], got '%s'\n", spec);
        return 0;
    }
    memcpy(el, spec, (size_t)(p - spec));
    el[p - spec] = 0;
    if ((e = sp_pot_find_element(pot, el)) < 0) {
        fprintf(stderr, "error: %s:1: --drop: element %s is not in the model\n", model, el);
        return 0;
    }
    for (++p; *p; ++n) {
        char *end;
        const long a = strtol(p, &end, 10);
        sp_result_t r;
        if (end == p || (*end && *end != ',')) {
            fprintf(stderr, "error: --drop takes ELEMENT:FILTER[,FILTER...], got '%s'\n", spec);
            return 0;
        }
        r = a >= 1 && a <= pot->snnp.nin ? sp_snnp_drop_filter(pot, e, (int)a - 1) : SP_ERR_BAD_ARG;
        if (r != SP_OK) {
            fprintf(stderr, "error: %s:1: --drop %s: filter %ld: %s\n", model, el, a,
                    r == SP_ERR_UNSUPPORTED ? "a model with a skip connection or without a network has no per-element "
                                              "weight to zero"
                                            : "no such filter (1..n3 + n2)");
            return 0;
        }
        p = *end ? end + 1 : end;
    }
    if (n == 0) fprintf(stderr, "error: --drop takes ELEMENT:FILTER[,FILTER...], got '%s'\n", spec);
    return n > 0;
}

/* the filters along the E(a) curve of a crystal of one element (the paper's
   Fig. C2): the primitive cell from a0 (1 - strain) to a0 (1 + strain) at
   fixed c/a, a row per point: a, E per atom, the filters' mean over the
   cell's atoms */
static int filters_lattice(const char *model, sp_pot_t *pot, const char *lat, int argc, char **argv, const char *outpath) {
    const char *el = opt_value(argc, argv, "--element");
    double a0, ca, strain;
    long npts;
    int L, type, k, a, ok = 1;
    sp_nlist_t nl;
    sp_work_t ws;
    out_file_t of;
    if (!(L = lattice_arg(lat, 1))) return 0;
    if (!opt_double(argc, argv, "--a", 0.0, &a0) || !opt_double(argc, argv, "--c-a", 0.0, &ca) ||
        !opt_double(argc, argv, "--strain", 0.1, &strain) || !opt_long(argc, argv, "--points", 21, &npts))
        return 0;
    if (a0 < 0.0 || ca < 0.0 || !(strain > 0.0 && strain < 0.5) || npts < 2 || npts > 10000)
        return !fail_msg("filters: --a, --c-a >= 0 (0: zero stress), --strain in (0, 0.5), --points in 2..10000");
    if (!element_type(model, el, pot, &type) || !zero_stress(model, pot, type, L, &a0, &ca)) return 0;
    memset(&nl, 0, sizeof nl);
    memset(&ws, 0, sizeof ws);
    if (!out_open(&of, outpath)) return 0;
    fprintf(of.fp, "# s-NNP filters of %s along E(a) of %s %s (a0 %.6f A%s", model, lattice_names[L],
            pot->elem[type][0] ? pot->elem[type] : "", a0, L == 5 ? ", c/a " : ")\n");
    if (L == 5) fprintf(of.fp, "%.6f)\n", ca);
    fprintf(of.fp, "# a_A E_per_atom_eV");
    for (a = 0; a < pot->snnp.nin; ++a) fprintf(of.fp, " G%d", a + 1);
    fputc('\n', of.fp);
    for (k = 0; k < npts && ok; ++k) {
        const double ak = a0 * (1.0 + strain * (2.0 * k / (npts - 1) - 1.0));
        double pos[6], G[2 * 2 * SP_SNNP_MAX_FILTERS], E[2], e = 0.0;
        int types[2] = {type, type}, n, i;
        sp_cell_t cell;
        sp_diag_t diag;
        sp_result_t r;
        memset(&diag, 0, sizeof diag);
        n = sp_lattice_primitive((sp_lattice_t)L, ak, ca * ak, pos, &cell);
        r = sp_nlist_build(&nl, &cell, pos, n, pot->cutoff, &diag);
        if (r == SP_OK) r = sp_snnp_filters(pot, &nl, types, &ws, G, NULL, E);
        if (r != SP_OK) {
            fprintf(stderr, "error: %s: a = %g: %s\n", model, ak, diag.msg[0] ? diag.msg : sp_result_str(r));
            ok = 0;
            break;
        }
        for (i = 0; i < n; ++i) e += E[i];
        fprintf(of.fp, "%.10f %.12f", ak, e / n);
        for (a = 0; a < pot->snnp.nin; ++a) {
            double g = 0.0;
            for (i = 0; i < n; ++i) g += G[i * pot->snnp.nin + a];
            fprintf(of.fp, " %.12g", g / n);
        }
        fputc('\n', of.fp);
    }
    sp_work_free(&ws);
    sp_nlist_free(&nl);
    return out_close(&of, ok);
}

/* splinepot filters MODEL.snnp DATA.xyz [--drop EL:A,B --save NEW.snnp]
   [-o ATOMS.dat]: what the model sees (its filters G_i) and how much each
   filter weighs (dE/dG_i, and Eq. 11's sensitivities), per element, over
   the frames of a data set */
static int cmd_filters(int argc, char **argv) {
    static const char *const withv[] = {"-o", "--drop", "--save", "--lattice", "--element", "--a", "--c-a", "--strain",
                                        "--points", NULL};
    const char *model = positional(argc, argv, 0, withv), *xyz = positional(argc, argv, 1, withv);
    const char *outpath = opt_value(argc, argv, "-o"), *drop = opt_value(argc, argv, "--drop");
    const char *save = opt_value(argc, argv, "--save"), *lat = opt_value(argc, argv, "--lattice");
    sp_pot_t pot;
    frames_t fr;
    sp_nlist_t nl;
    sp_work_t ws;
    out_file_t of;
    double *sg = NULL, *sg2 = NULL, *sd = NULL, *ss = NULL;
    long *cnt = NULL;
    int k, a, e, nin, ne, ok = 1, from_model = 0, opened = 0;
    if (opt_flag(argc, argv, "--help") || !model || (!xyz) == !lat) {
        const int asked = model && (!xyz) != !lat;
        fputs("usage: splinepot filters MODEL.snnp DATA.xyz [--drop EL:A[,B...] [--save NEW.snnp]] [-o ATOMS.dat]\n"
              "       splinepot filters MODEL.snnp --lattice sc|bcc|fcc|diamond|hcp [--element X] [--a A]\n"
              "       [--c-a Q] [--strain S=0.1] [--points N=21] [--drop ...] [-o CURVE.dat]\n"
              "  What an s-NNP sees and weighs (Vita & Trinkle 2023, Sec. 3.3): per element and\n"
              "  filter, the mean and RMS of the filter G over the atoms of DATA.xyz, the mean of\n"
              "  dE/dG (through the network and the skip connection), and the sensitivity of\n"
              "  Eq. 11, s = sum over the atoms of |dE/dG| / |E| of their frame (E: the frame's\n"
              "  reference energy, else the model's), with its share of the element's total.\n"
              "  -o: one line per atom (frame, atom, element, E_i, G_1..G_n, dE/dG_1..dE/dG_n),\n"
              "  G_1..G_n3 the 3-body filters, then the 2-body ones.\n"
              "  --drop EL:A,B: filters A, B taken out of the energies of element EL (their column\n"
              "  of EL's first network layer zeroed, the paper's fine-tuning); the report is of the\n"
              "  model so changed, which --save writes. Needs a network and no skip connection.\n"
              "  --lattice: instead of a data set, the filters along the E(a) curve of the crystal\n"
              "  (the paper's Fig. C2): a from a0 (1 - S) to a0 (1 + S), a0 at zero stress unless\n"
              "  given (hcp: --a with --c-a), c/a fixed; a row per point: a, E per atom, G_1..G_n.\n",
              asked ? stdout : stderr);
        return asked ? 0 : 2;
    }
    if (!load_potential(model, &pot)) return 1;
    if (pot.kind != SP_POT_SNNP) {
        fprintf(stderr, "error: %s:1: filters: not an s-NNP model\n", model);
        return sp_pot_free(&pot), 1;
    }
    if (drop && !drop_filters(&pot, model, drop)) return sp_pot_free(&pot), 1;
    if (save && !drop) {
        fputs("error: --save writes the model changed by --drop; give --drop\n", stderr);
        return sp_pot_free(&pot), 1;
    }
    if (save && !write_model(&pot, save)) return sp_pot_free(&pot), 1;
    if (lat) {
        ok = filters_lattice(model, &pot, lat, argc, argv, outpath);
        sp_pot_free(&pot);
        return ok ? 0 : 1;
    }
    if (!read_frames(xyz, &fr)) return sp_pot_free(&pot), 1;
    nin = pot.snnp.nin;
    ne = pot.nelem;
    memset(&nl, 0, sizeof nl);
    memset(&ws, 0, sizeof ws);
    sg = (double *)calloc((size_t)ne * nin + 1, sizeof(double));
    sg2 = (double *)calloc((size_t)ne * nin + 1, sizeof(double));
    sd = (double *)calloc((size_t)ne * nin + 1, sizeof(double));
    ss = (double *)calloc((size_t)ne * nin + 1, sizeof(double));
    cnt = (long *)calloc((size_t)ne + 1, sizeof(long));
    if (!sg || !sg2 || !sd || !ss || !cnt) ok = fail_msg("out of memory") == 0;
    if (ok) ok = opened = out_open(&of, outpath);
    if (ok && outpath) {
        fprintf(of.fp, "# s-NNP filters of %s over %s\n# frame atom element E_i", model, xyz);
        for (a = 0; a < nin; ++a) fprintf(of.fp, " G%d", a + 1);
        for (a = 0; a < nin; ++a) fprintf(of.fp, " dE/dG%d", a + 1);
        fputc('\n', of.fp);
    }
    for (k = 0; k < fr.n && ok; ++k) {
        const sp_frame_t *f = &fr.f[k];
        int *type = (int *)malloc((size_t)f->natoms * sizeof(int) + 1), i;
        double *G = (double *)malloc(((size_t)f->natoms * nin + 1) * sizeof(double));
        double *D = (double *)malloc(((size_t)f->natoms * nin + 1) * sizeof(double));
        double *E = (double *)malloc(((size_t)f->natoms + 1) * sizeof(double));
        double etot = 0.0, norm;
        sp_cell_t cell;
        sp_diag_t diag;
        sp_result_t r;
        memset(&diag, 0, sizeof diag);
        if (!type || !G || !D || !E) ok = fail_msg("out of memory") == 0;
        if (ok) ok = map_types(&pot, xyz, fr.line[k], f, type);
        if (ok) {
            frame_cell(f, &cell);
            if (sp_nlist_build(&nl, &cell, f->pos, f->natoms, pot.cutoff, &diag) != SP_OK) {
                fprintf(stderr, "error: %s:%d: frame %d: %s\n", xyz, fr.line[k], k + 1, diag.msg);
                ok = 0;
            }
        }
        if (ok && (r = sp_snnp_filters(&pot, &nl, type, &ws, G, D, E)) != SP_OK) {
            fprintf(stderr, "error: %s:%d: frame %d: %s\n", xyz, fr.line[k], k + 1, sp_result_str(r));
            ok = 0;
        }
        if (ok) {
            for (i = 0; i < f->natoms; ++i) etot += E[i];
            from_model |= !f->has_energy;
            norm = fabs(f->has_energy ? f->energy : etot);
            if (!(norm > 0.0) || !sp__isfinite(norm)) {
                fprintf(stderr, "error: %s:%d: frame %d: energy %g: the sensitivities need a nonzero energy\n", xyz,
                        fr.line[k], k + 1, f->has_energy ? f->energy : etot);
                ok = 0;
            }
        }
        for (i = 0; ok && i < f->natoms; ++i) {
            const double *g = G + (size_t)i * nin, *dg = D + (size_t)i * nin;
            const size_t o = (size_t)type[i] * nin;
            ++cnt[type[i]];
            for (a = 0; a < nin; ++a) {
                sg[o + a] += g[a];
                sg2[o + a] += g[a] * g[a];
                sd[o + a] += dg[a];
                ss[o + a] += fabs(dg[a]) / norm;
            }
            if (outpath) {
                fprintf(of.fp, "%d %d %s %.17g", k + 1, i + 1, sp_element_symbol(f->z[i]), E[i]);
                for (a = 0; a < nin; ++a) fprintf(of.fp, " %.17g", g[a]);
                for (a = 0; a < nin; ++a) fprintf(of.fp, " %.17g", dg[a]);
                fputc('\n', of.fp);
            }
        }
        free(type);
        free(G);
        free(D);
        free(E);
    }
    if (ok) {
        printf("# s-NNP filters of %s%s%s over %s (%d frames)\n", model, drop ? ", less " : "", drop ? drop : "", xyz,
               fr.n);
        printf("# sensitivity (Vita & Trinkle 2023, Eq. 11): sum over the atoms of |dE/dG| / |E| of their frame%s\n",
               from_model ? " (frames without a reference energy: the model's E)" : "");
        printf("%-7s %6s %6s %8s %14s %14s %14s %14s %7s\n", "element", "filter", "kind", "atoms", "mean_G", "rms_G",
               "mean_dE/dG", "sensitivity", "share");
        for (e = 0; e < ne; ++e) {
            double tot = 0.0;
            if (!cnt[e]) continue;
            for (a = 0; a < nin; ++a) tot += ss[(size_t)e * nin + a];
            for (a = 0; a < nin; ++a) {
                const size_t o = (size_t)e * nin + a;
                printf("%-7s %6d %6s %8ld %14.6g %14.6g %14.6g %14.6g %7.4f\n", pot.elem[e], a + 1,
                       a < pot.snnp.arch.n3 ? "3-body" : "2-body", cnt[e], sg[o] / cnt[e], sqrt(sg2[o] / cnt[e]),
                       sd[o] / cnt[e], ss[o], tot > 0.0 ? ss[o] / tot : 0.0);
            }
        }
    }
    if (opened && outpath) ok = out_close(&of, ok);
    free(sg); free(sg2); free(sd); free(ss); free(cnt);
    sp_work_free(&ws);
    sp_nlist_free(&nl);
    frames_free(&fr);
    sp_pot_free(&pot);
    return ok ? 0 : 1;
}
