/* fedc audit: the gradient-inversion attacks against one client's update
 * under each protection the task offers.
 *
 * The attacked update is what a client sends after one local SGD step on a
 * batch from its partition (FedSGD, the setting of DLG and iDLG): delta =
 * -lr g. The curious server knows lr and the model, so it attacks g_obs =
 * -delta' / lr, where delta' is the update after the protection:
 *   none         nothing;
 *   clip         L2 clipping to privacy.clip;
 *   dp           clipping and Gaussian noise (local DP, dp-gaussian);
 *   compression  the task's uplink codec (encode, then decode as the server does).
 * Secure aggregation is not a row: with it the server never holds one
 * client's update, only the sum, so there is nothing of one client's to
 * invert. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fedc/audit.h"
#include "fedc/codec.h"
#include "fedc/engine.h"
#include "fedc/log.h"
#include "fedc/privacy.h"

typedef struct condition {
    const char *name;
    char detail[96];
} condition;

/* Originals in the left column, reconstructions in the right, one row per
 * image, 2-pixel white gutters. */
static int save_pair_png(const char *path, const float *orig, const float *rec, const int *match, int B, int w,
                         int h, fedc_error *err) {
    int gw = 2 * w + 6, gh = B * (h + 2) + 2;
    float *g = malloc((size_t)gw * gh * sizeof *g);
    if (!g) return fedc_fail(err, "out of memory for the audit image");
    for (int i = 0; i < gw * gh; i++) g[i] = 1.0f;
    for (int b = 0; b < B; b++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                g[(2 + b * (h + 2) + y) * gw + 2 + x] = orig[(size_t)b * w * h + y * w + x];
                g[(2 + b * (h + 2) + y) * gw + w + 4 + x] = rec[(size_t)match[b] * w * h + y * w + x];
            }
    int rc = fedc_png_write_gray(path, g, gw, gh, 4, err);
    free(g);
    return rc;
}

/* Greedy matching of reconstructions to originals by PSNR (DLG recovers a
 * batch in no particular order). */
static void match_images(const float *orig, const float *rec, int B, size_t dim, int *match) {
    int used[64] = {0};
    for (int b = 0; b < B; b++) {
        int best = -1;
        double bp = -1;
        for (int r = 0; r < B; r++) {
            if (used[r]) continue;
            double p = fedc_psnr(orig + (size_t)b * dim, rec + (size_t)r * dim, dim);
            if (p > bp) {
                bp = p;
                best = r;
            }
        }
        used[best] = 1;
        match[b] = best;
    }
}

int fedc_audit_run(const fedc_task *t, const fedc_audit_options *o, fedc_audit_row **rows_out, int *nrows,
                   fedc_error *err) {
    *rows_out = NULL;
    *nrows = 0;
    fedc_run_options ro = {.threads = 1, .quiet = 1};
    fedc_run *run = fedc_run_create(t, &ro, err);
    if (!run) return -1;
    const fedc_arch *a = fedc_run_arch(run);
    int rc = -1, B = o->batch;
    fedc_ws *ws = NULL;
    float *grad = NULL, *delta = NULL, *obs = NULL, *xb = NULL, *rec = NULL, *residual = NULL;
    int32_t *yb = NULL, *yrec = NULL;
    fedc_audit_row *rows = NULL;
    fedc_codec *codec = NULL;
    fedc_buf enc = {0};
    if (!fedc_inversion_supported(a)) {
        fedc_fail(err, "model: the inversion audit supports dense ReLU networks (MLPs) only, not %s",
                  fedc_arch_spec(a));
        goto out;
    }
    fedc_client_data cd = {0};
    if (o->client >= 0 && o->client < t->clients) cd = fedc_run_client_data(run, o->client);
    if (cd.n < (size_t)B) {
        fedc_fail(err, "audit: client %d does not hold %d samples", o->client, B);
        goto out;
    }
    size_t d = fedc_run_nparams(run), dim = fedc_arch_input_size(a);
    fedc_shape s = fedc_arch_input(a);
    ws = fedc_ws_create(a, B);
    grad = fedc_nn_alloc(d);
    delta = malloc(d * sizeof *delta);
    obs = malloc(d * sizeof *obs);
    residual = calloc(d, sizeof *residual);
    xb = malloc((size_t)B * dim * sizeof *xb);
    rec = malloc((size_t)B * dim * sizeof *rec);
    yb = malloc((size_t)B * sizeof *yb);
    yrec = malloc((size_t)B * sizeof *yrec);
    rows = calloc(8, sizeof *rows);
    if (!ws || !grad || !delta || !obs || !residual || !xb || !rec || !yb || !yrec || !rows) {
        fedc_fail(err, "out of memory for the audit");
        goto out;
    }
    fedc_dataset_gather(cd.data, cd.index, (size_t)B, xb, yb);
    const float *x = fedc_run_model(run);
    fedc_nn_grad(a, ws, x, grad, xb, yb, B, NULL);
    double lr = t->local.lr;
    double clip = o->clip > 0 ? o->clip : t->privacy.clip;
    double noise = o->noise > 0 ? o->noise : t->privacy.noise_multiplier > 0 ? t->privacy.noise_multiplier : 0.01;
    const char *codec_spec = o->codec[0] ? o->codec : strcmp(t->compression.up, "none") ? t->compression.up : "topk:0.01";
    if (!(codec = fedc_codec_parse(codec_spec, err))) goto out;
    condition conds[4] = {{"none", "the raw update"}, {"clip", ""}, {"dp", ""}, {"compression", ""}};
    snprintf(conds[1].detail, sizeof conds[1].detail, "L2 clip %g", clip);
    snprintf(conds[2].detail, sizeof conds[2].detail, "clip %g, Gaussian noise multiplier %g", clip, noise);
    snprintf(conds[3].detail, sizeof conds[3].detail, "%.95s", codec_spec);
    if (o->out_dir) mkdir(o->out_dir, 0755);
    if (o->out_dir) {
        char path[600];
        snprintf(path, sizeof path, "%s/originals.png", o->out_dir);
        float *col = malloc((size_t)B * dim * sizeof *col);
        if (col) {
            /* Originals alone: the batch stacked vertically. */
            memcpy(col, xb, (size_t)B * dim * sizeof *col);
            fedc_png_write_gray(path, col, s.w, s.h * B, 4, err);
            free(col);
        }
    }
    int n = 0;
    for (int c = 0; c < 4; c++) {
        for (size_t j = 0; j < d; j++) delta[j] = (float)(-lr * grad[j]);
        if (c == 1 || c == 2) {
            fedc_task dp = *t;
            snprintf(dp.privacy.mode, sizeof dp.privacy.mode, "dp-gaussian");
            dp.privacy.clip = clip;
            dp.privacy.noise_multiplier = c == 2 ? noise : 0;
            fedc_rng nr = fedc_rng_derive(t->seed ^ 0xA0D1ull, (uint64_t)c, (uint64_t)o->client);
            fedc_privacy_local(&dp, delta, d, &nr);
        } else if (c == 3) {
            fedc_rng cr = fedc_rng_derive(t->seed ^ 0xC0DECull, 1, (uint64_t)o->client);
            memset(residual, 0, d * sizeof *residual);
            fedc_buf_clear(&enc);
            if (fedc_codec_encode(codec, delta, d, residual, &cr, &enc, err) != 0 ||
                fedc_codec_decode(codec, enc.data, enc.len, delta, d, err) != 0)
                goto out;
        }
        for (size_t j = 0; j < d; j++) obs[j] = (float)(-delta[j] / lr);
        for (int attack = 0; attack < 2; attack++) {
            if (attack == 1 && B != 1) continue; /* iDLG's label rule is for one sample */
            fedc_inversion_config ic = {B, o->iters, o->lr, attack, o->tv, t->seed};
            double loss = fedc_inversion_run(a, x, obs, &ic, rec, yrec, err);
            if (loss < 0) goto out;
            int match[64];
            match_images(xb, rec, B, dim, match);
            fedc_audit_row *r = &rows[n++];
            snprintf(r->attack, sizeof r->attack, "%s", attack ? "idlg" : "dlg");
            snprintf(r->condition, sizeof r->condition, "%s", conds[c].name);
            snprintf(r->detail, sizeof r->detail, "%.95s", conds[c].detail);
            r->match_loss = loss;
            double ps = 0, ss = 0, lab = 0;
            for (int b = 0; b < B; b++) {
                const float *or = xb + (size_t)b * dim, *re = rec + (size_t)match[b] * dim;
                ps += fedc_psnr(or, re, dim);
                ss += fedc_ssim(or, re, s.w, s.h * s.c);
                lab += yrec[match[b]] == yb[b];
            }
            r->psnr = ps / B;
            r->ssim = ss / B;
            r->label_accuracy = lab / B;
            if (o->out_dir) {
                snprintf(r->png, sizeof r->png, "%s/%s-%s.png", o->out_dir, r->attack, r->condition);
                if (save_pair_png(r->png, xb, rec, match, B, s.w, s.h * s.c, err) != 0) goto out;
            }
            if (!o->quiet)
                FEDC_INFO("%-4s %-11s PSNR %6.2f dB  SSIM %.3f  labels %3.0f%%  (%s)", r->attack, r->condition,
                          r->psnr, r->ssim, 100 * r->label_accuracy, r->detail);
        }
    }
    *rows_out = rows;
    *nrows = n;
    rows = NULL;
    rc = 0;
out:
    free(rows);
    fedc_buf_free(&enc);
    fedc_codec_free(codec);
    fedc_ws_free(ws);
    fedc_nn_free(grad);
    free(delta);
    free(obs);
    free(residual);
    free(xb);
    free(rec);
    free(yb);
    free(yrec);
    fedc_run_free(run);
    return rc;
}
