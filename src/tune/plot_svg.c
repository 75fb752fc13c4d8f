/* Accuracy against trial as a self-contained SVG: one point per trial
 * (filled: full rounds; hollow: stopped early, at the rounds it reached;
 * red cross: failed), the running best of full trials as a step line, and
 * a tooltip per point with its configuration. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tune/tune_internal.h"

#define W 820
#define H 440
#define ML 70  /* margins: left, right (legend), top, bottom */
#define MR 170
#define MT 56
#define MB 56

/* Text with XML's special characters escaped. */
static void xml_text(FILE *f, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\t') fputc(*s, f);
        }
    }
}

/* A round step (0.01, 0.02, 0.05, 0.1, ...) giving about `want` ticks. */
static double nice_step(double range, int want) {
    double raw = range / want, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

int fedc_tune_plot_svg(const fedc_tune_search *s, const char *path, fedc_error *err) {
    FILE *f = fopen(path, "w");
    if (!f) return fedc_fail(err, "%s: cannot write: %s", path, strerror(errno));
    int n = s->ntrials, best = fedc_tune_search_best(s);
    double lo = 1, hi = 0;
    for (int i = 0; i < n; i++) {
        const fedc_tune_trial *t = &s->trials[i];
        if (t->rung < 0 || t->status == FEDC_TRIAL_FAILED) continue;
        lo = fmin(lo, t->accuracy);
        hi = fmax(hi, t->accuracy);
    }
    if (lo > hi) { /* nothing to plot yet */
        lo = 0;
        hi = 1;
    }
    lo = fmax(0, floor(lo * 10) / 10);
    hi = fmin(1, ceil(hi * 10) / 10);
    if (hi - lo < 0.1) {
        hi = fmin(1, lo + 0.1);
        lo = hi - 0.1;
    }
    double pw = W - ML - MR, ph = H - MT - MB;
#define XS(i) (ML + pw * ((i) + 0.5) / (n > 0 ? n : 1))
#define YS(a) (MT + ph * (1 - ((a) - lo) / (hi - lo)))

    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "font-family=\"sans-serif\" font-size=\"12\">\n"
               "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            W, H, W, H);
    fprintf(f, "<text x=\"%d\" y=\"22\" font-size=\"15\" font-weight=\"bold\">fedc tune", ML);
    if (s->id > 0) fprintf(f, " &#8212; search %lld", (long long)s->id);
    fprintf(f, ": %s, %d trials, %d rounds each", fedc_tune_method_name(s->opt.method), n, s->opt.max_rounds);
    if (s->has_base) {
        fputs(" (", f);
        xml_text(f, s->base.name);
        fputs(")", f);
    }
    fputs("</text>\n", f);
    if (best >= 0) {
        char cfg[72]; /* the subtitle fits the width; the tooltips have it all */
        fedc_tune_config_describe(s->space, &s->trials[best].config, cfg, sizeof cfg);
        fprintf(f, "<text x=\"%d\" y=\"40\" fill=\"#444\">best: trial %d, accuracy %.4f &#8212; ", ML, best,
                s->trials[best].accuracy);
        xml_text(f, cfg);
        fputs("</text>\n", f);
    }

    /* Grid and axes. */
    double ys = nice_step(hi - lo, 6);
    for (double a = ceil(lo / ys - 1e-9) * ys; a <= hi + 1e-9; a += ys) {
        fprintf(f, "<line x1=\"%d\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n", ML, ML + pw, YS(a),
                YS(a));
        fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.2f</text>\n", ML - 6, YS(a) + 4, a);
    }
    int xs = n > 10 ? (int)nice_step(n, 10) : 1;
    if (xs < 1) xs = 1;
    for (int i = 0; i < n; i += xs)
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%d</text>\n", XS(i), MT + ph + 16, i);
    fprintf(f,
            "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#888\"/>\n"
            "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">trial</text>\n"
            "<text transform=\"translate(18 %.1f) rotate(-90)\" text-anchor=\"middle\">test accuracy</text>\n",
            ML, MT, pw, ph, ML + pw / 2, H - 14, MT + ph / 2);

    /* Running best of full trials. */
    double run_best = -1;
    int started = 0;
    for (int i = 0; i < n; i++) {
        const fedc_tune_trial *t = &s->trials[i];
        if (t->status == FEDC_TRIAL_COMPLETE && t->accuracy > run_best) {
            if (!started) fprintf(f, "<polyline fill=\"none\" stroke=\"#2ca02c\" stroke-width=\"2\" points=\"");
            else fprintf(f, "%.1f,%.1f ", XS(i), YS(run_best));
            run_best = t->accuracy;
            fprintf(f, "%.1f,%.1f ", XS(i), YS(run_best));
            started = 1;
        }
    }
    if (started) fprintf(f, "%.1f,%.1f\"/>\n", ML + pw, YS(run_best));

    for (int i = 0; i < n; i++) {
        const fedc_tune_trial *t = &s->trials[i];
        char cfg[400];
        fedc_tune_config_describe(s->space, &t->config, cfg, sizeof cfg);
        double x = XS(i);
        if (t->status == FEDC_TRIAL_FAILED || t->rung < 0) {
            double y = MT + ph - 6;
            fprintf(f, "<g stroke=\"#d62728\" stroke-width=\"2\"><title>trial %d failed: ", i);
            xml_text(f, t->error);
            fprintf(f, "</title><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                       "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/></g>\n",
                    x - 4, y - 4, x + 4, y + 4, x - 4, y + 4, x + 4, y - 4);
            continue;
        }
        int full = t->status == FEDC_TRIAL_COMPLETE;
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%d\" fill=\"%s\" stroke=\"%s\" stroke-width=\"1.5\">", x,
                YS(t->accuracy), i == best ? 6 : 4, full ? (i == best ? "#ff7f0e" : "#1f77b4") : "white",
                full ? "#1f4e79" : "#888");
        fprintf(f, "<title>trial %d (%s, %d rounds, %s): accuracy %.4f, CPU %.1f s &#8212; ", i,
                fedc_trial_status_name(t->status), t->rounds, t->source, t->accuracy, t->cpu_s);
        xml_text(f, cfg);
        fputs("</title></circle>\n", f);
    }

    /* Legend. */
    double lx = ML + pw + 18, ly = MT + 10;
    fprintf(f,
            "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#1f77b4\" stroke=\"#1f4e79\"/>"
            "<text x=\"%.1f\" y=\"%.1f\">full rounds</text>\n"
            "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"6\" fill=\"#ff7f0e\" stroke=\"#1f4e79\"/>"
            "<text x=\"%.1f\" y=\"%.1f\">best</text>\n"
            "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"white\" stroke=\"#888\"/>"
            "<text x=\"%.1f\" y=\"%.1f\">stopped early</text>\n"
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#2ca02c\" stroke-width=\"2\"/>"
            "<text x=\"%.1f\" y=\"%.1f\">best so far</text>\n"
            "<text x=\"%.1f\" y=\"%.1f\" fill=\"#d62728\">&#215; failed</text>\n",
            lx, ly, lx + 12, ly + 4, lx, ly + 20, lx + 12, ly + 24, lx, ly + 40, lx + 12, ly + 44, lx - 6, ly + 60,
            lx + 6, ly + 60, lx + 12, ly + 64, lx - 4, ly + 84);
    fputs("</svg>\n", f);
#undef XS
#undef YS
    int bad = ferror(f);
    if (fclose(f) != 0 || bad) return fedc_fail(err, "%s: write error", path);
    return 0;
}
