/* fedc audit TASK.json: gradient-inversion attacks (DLG, iDLG) against one
 * client's update under the task's protections; prints PSNR / SSIM and
 * writes originals beside reconstructions as PNG. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/num_args.h"
#include "cli/task_args.h"
#include "fedc/audit.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: fedc audit [TASK.json] [--set PATH=VALUE ...] [--out DIR] [--batch B] [--iters N]\n"
            "                  [--lr X] [--tv W] [--client K] [--clip C] [--noise Z] [--codec SPEC]\n"
            "                  [--json FILE] [--quiet]\n"
            "Attacks one client's update (one local SGD step on its first B samples, on the\n"
            "task's initial model) with DLG and, for B = 1, iDLG, under each protection:\n"
            "none, clip (privacy.clip or --clip), dp (clip + noise, privacy.noise_multiplier\n"
            "or --noise, default 0.01) and compression (compression.up or --codec, default\n"
            "topk:0.01). Prints PSNR/SSIM against the true images and writes\n"
            "DIR/originals.png and DIR/<attack>-<condition>.png (originals left,\n"
            "reconstructions right). Dense (MLP) models only. Defaults: --out audit,\n"
            "--batch 1, --iters 300, --lr 0.1, --tv 0, --client 0.\n");
}

int fedc_cmd_audit(int argc, char **argv) {
    const char *path = NULL, *json_path = NULL;
    char **sets = calloc((size_t)argc + 1, sizeof *sets);
    if (!sets) {
        fprintf(stderr, "fedc audit: out of memory\n");
        return 1;
    }
    int nsets = 0;
    fedc_audit_options o = {.batch = 1, .iters = 300, .lr = 0.1, .out_dir = "audit"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        int bad = 0;
        if (!strcmp(a, "--set") && has) sets[nsets++] = argv[++i];
        else if (!strcmp(a, "--out") && has) o.out_dir = argv[++i];
        else if (!strcmp(a, "--batch") && has) bad = fedc_cli_int("audit", a, argv[++i], 1, 64, &o.batch);
        else if (!strcmp(a, "--iters") && has) bad = fedc_cli_int("audit", a, argv[++i], 1, 1000000, &o.iters);
        else if (!strcmp(a, "--lr") && has) bad = fedc_cli_double("audit", a, argv[++i], 0, 1, 1e6, &o.lr);
        else if (!strcmp(a, "--tv") && has) bad = fedc_cli_double("audit", a, argv[++i], 0, 0, 1e6, &o.tv);
        else if (!strcmp(a, "--client") && has) bad = fedc_cli_int("audit", a, argv[++i], 0, 100000000, &o.client);
        else if (!strcmp(a, "--clip") && has) bad = fedc_cli_double("audit", a, argv[++i], 0, 1, 1e6, &o.clip);
        else if (!strcmp(a, "--noise") && has) bad = fedc_cli_double("audit", a, argv[++i], 0, 1, 1e6, &o.noise);
        else if (!strcmp(a, "--codec") && has) snprintf(o.codec, sizeof o.codec, "%s", argv[++i]);
        else if (!strcmp(a, "--json") && has) json_path = argv[++i];
        else if (!strcmp(a, "--quiet")) o.quiet = 1;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            free(sets);
            return 0;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "fedc audit: unknown or incomplete option %s\n", a);
            usage(stderr);
            free(sets);
            return 2;
        } else path = a;
        if (bad) {
            free(sets);
            return 2;
        }
    }
    fedc_task t;
    int rc = fedc_cli_load_task(path, sets, nsets, &t);
    free(sets);
    if (rc != 0) return 1;
    fedc_audit_row *rows = NULL;
    int n = 0;
    fedc_error err;
    if (fedc_audit_run(&t, &o, &rows, &n, &err) != 0) {
        fprintf(stderr, "fedc audit: %s\n", err.msg);
        return 1;
    }
    printf("%-5s %-12s %9s %6s %7s  %s\n", "attack", "protection", "PSNR(dB)", "SSIM", "labels", "image");
    json_t *arr = json_array();
    for (int i = 0; i < n; i++) {
        const fedc_audit_row *r = &rows[i];
        printf("%-6s %-12s %8.2f %6.3f %6.0f%%  %s\n", r->attack, r->condition, r->psnr, r->ssim,
               100 * r->label_accuracy, r->png);
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:f,s:f,s:f,s:f,s:s}", "attack", r->attack, "condition",
                                             r->condition, "detail", r->detail, "psnr", r->psnr, "ssim", r->ssim,
                                             "label_accuracy", r->label_accuracy, "match_loss", r->match_loss,
                                             "png", r->png));
    }
    printf("PSNR above ~20 dB / SSIM above ~0.5: the image is recognisable; the originals are in %s/originals.png\n",
           o.out_dir);
    rc = 0;
    if (json_path) {
        json_t *doc = json_pack("{s:i,s:i,s:f,s:f,s:o}", "batch", o.batch, "iters", o.iters, "lr", o.lr, "tv", o.tv,
                                "rows", arr);
        if (json_dump_file(doc, json_path, JSON_INDENT(2)) != 0) {
            fprintf(stderr, "fedc audit: cannot write %s\n", json_path);
            rc = 1;
        }
        json_decref(doc);
    } else {
        json_decref(arr);
    }
    free(rows);
    return rc;
}
