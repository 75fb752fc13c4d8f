/* Gradient-inversion audit: what an honest-but-curious server could
 * reconstruct of a client's training batch from the update it receives,
 * under the task's protections. The attacks are DLG (Zhu et al., "Deep
 * Leakage from Gradients", 2019: optimise a dummy input and soft label until
 * their gradient matches the observed one) and iDLG (Zhao et al., 2020: the
 * label first, read off the sign of the last layer's bias gradient, then the
 * input). fedc has no automatic differentiation, so the gradient of the
 * gradient-matching loss is derived by hand for dense ReLU networks (MLPs):
 * a second, reverse pass over the backward pass (see inversion.c).
 *
 * Reconstruction quality is PSNR and SSIM against the true images (pixels
 * in [0, 1]), the reconstructions matched to originals greedily by PSNR. */
#ifndef FEDC_AUDIT_H
#define FEDC_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "fedc/error.h"
#include "fedc/export.h"
#include "fedc/nn.h"
#include "fedc/rng.h"
#include "fedc/task.h"

/* ---- The attack on one observed gradient ---------------------------- */
typedef struct fedc_inversion_config {
    int batch;          /* images in the attacked batch */
    int iters;          /* optimiser steps on the dummy input */
    double lr;          /* Adam step on the dummy input (pixels in [0, 1]) */
    int idlg;           /* 1: labels inferred first (batch 1), 0: DLG soft labels */
    double tv;          /* total-variation prior weight (0 = none; Geiping et al. 2020) */
    uint64_t seed;      /* dummy initialisation */
} fedc_inversion_config;

/* 1 if the arch is a dense ReLU network the attack supports. */
FEDC_API int fedc_inversion_supported(const fedc_arch *a);
/* Reconstructs cfg->batch inputs (x_out, batch x input floats in [0, 1]) and
 * labels (y_out) from the observed mean-loss gradient g_obs at params.
 * Returns the final matching loss (>= 0), or -1 with err set. */
FEDC_API double fedc_inversion_run(const fedc_arch *a, const float *params, const float *g_obs,
                                   const fedc_inversion_config *cfg, float *x_out, int32_t *y_out, fedc_error *err);
/* The gradient-matching loss D(x, label logits) = sum ||grad(x, softmax(l))
 * - g_obs||^2 over weights and biases, and its gradient with respect to x
 * and to the label logits (either may be NULL); exposed for tests. */
FEDC_API double fedc_inversion_match(const fedc_arch *a, const float *params, const float *g_obs, int batch,
                                     const double *x, const double *label_logits, double *dx, double *dlogits);

/* ---- Image quality ----------------------------------------------------- */
FEDC_API double fedc_psnr(const float *a, const float *b, size_t n);
/* Mean SSIM with an 11x11 Gaussian window (sigma 1.5), K1 0.01, K2 0.03,
 * dynamic range 1 (Wang et al. 2004), over w x h single-channel images;
 * windows are clipped at the border. */
FEDC_API double fedc_ssim(const float *a, const float *b, int w, int h);

/* ---- PNG ----------------------------------------------------------------- */
/* Writes a grey image (values in [0, 1], clamped), each pixel scale x scale. */
FEDC_API int fedc_png_write_gray(const char *path, const float *img, int w, int h, int scale, fedc_error *err);

/* ---- The audit: every protection of the task against both attacks ---- */
typedef struct fedc_audit_options {
    int batch, iters;
    double lr, tv;
    double clip;        /* > 0: overrides privacy.clip */
    double noise;       /* > 0: overrides privacy.noise_multiplier for the DP condition */
    char codec[256];    /* non-empty: overrides compression.up for the compression condition */
    int client;         /* whose batch (first samples of its partition) */
    const char *out_dir;
    int quiet;
} fedc_audit_options;

typedef struct fedc_audit_row {
    char attack[8];     /* dlg | idlg */
    char condition[24]; /* none | clip | dp | compression */
    char detail[96];    /* e.g. "clip 1, noise 0.1", "topk:0.01" */
    double psnr, ssim, match_loss, label_accuracy;
    char png[512];      /* originals beside reconstructions */
} fedc_audit_row;

/* Runs the audit; rows (malloc'd, free()) and their count. */
FEDC_API int fedc_audit_run(const fedc_task *t, const fedc_audit_options *o, fedc_audit_row **rows, int *nrows,
                            fedc_error *err);

#endif
