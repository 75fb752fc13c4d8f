/* fedc data: the data catalog from the command line: what is known and
 * present (list), downloading (fetch), checking (verify), where the files
 * are (path), everything the catalog records about one dataset (info), and
 * what loading it gives (show). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/catalog.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: fedc data <command> [args]\n"
            "  list [--json]                  every catalog dataset, one line each: name, present or\n"
            "                                 absent, size, classes, sample shape, folder\n"
            "  fetch NAME... [--all] [--extra] [--force] [--quiet]\n"
            "                                 download into the cache with a progress bar, resuming a\n"
            "                                 cut download, verifying SHA-256 before use\n"
            "  verify [NAME...] [--extra]     re-hash present files against the catalog (exit 1 on a\n"
            "                                 mismatch)\n"
            "  path NAME                      the folder holding NAME's files (exit 1 if absent)\n"
            "  info NAME                      format, shape, classes, sources, sizes, SHA-256,\n"
            "                                 licence and citation\n"
            "  show NAME [--test] [--sample I] [--labels coarse] [--extra]\n"
            "                                 load NAME as a run would (never downloading) and print\n"
            "                                 JSON: samples, shape, classes, label counts, writers,\n"
            "                                 and sample I's label and pixels (channel-major, 0..255)\n"
            "The cache is $FEDC_DATA, else $XDG_CACHE_HOME/fedc, else ~/.cache/fedc.\n"
            "FEDC_DATA_MIRROR (base URLs tried first), FEDC_DATA_CA (CA bundle for HTTPS) and\n"
            "FEDC_DATA_CATALOG (a JSON file overriding URLs, sizes, digests) are described in\n"
            "docs/datasets.md.\n");
}

static void human(uint64_t b, char *out, size_t cap) {
    if (b >= 1000ull * 1000 * 1000)
        snprintf(out, cap, "%.2f GB", (double)b / 1e9);
    else if (b >= 1000ull * 1000)
        snprintf(out, cap, "%.1f MB", (double)b / 1e6);
    else if (b >= 1000)
        snprintf(out, cap, "%.1f kB", (double)b / 1e3);
    else
        snprintf(out, cap, "%" PRIu64 " B", b);
}

static const char *state_of(const fedc_data_status *st) {
    if (st->present)
        return st->source == FEDC_DATA_IN_SYSTEM ? "system" : "present";
    return st->bytes_partial || st->bytes_present ? "partial" : "absent";
}

static int cmd_list(const fedc_catalog *c, int json) {
    fedc_error err;
    if (json) {
        char *s = fedc_catalog_json(c, 1, &err);
        if (!s) {
            fprintf(stderr, "fedc data list: %s\n", err.msg);
            return 1;
        }
        printf("%s\n", s);
        free(s);
        return 0;
    }
    for (int i = 0; i < fedc_catalog_count(c); i++) {
        const fedc_catalog_entry *e = fedc_catalog_at(c, i);
        fedc_data_status st;
        if (fedc_data_status_get(e, NULL, 0, &st, &err) != 0) {
            fprintf(stderr, "fedc data list: %s\n", err.msg);
            return 1;
        }
        int unknown;
        char size[32], shape[32];
        human(fedc_catalog_entry_bytes(e, 0, &unknown), size, sizeof size);
        snprintf(shape, sizeof shape, "%dx%dx%d", e->shape.c, e->shape.h, e->shape.w);
        if (e->nfiles == 0) { /* generated from a task's seed: no files, no folder */
            printf("%-16s %-8s   %-9s %3d classes  %-8s  (generated per client from the task's seed)\n", e->name,
                   "generated", "0 bytes", e->n_classes, shape);
            continue;
        }
        printf("%-16s %-8s %s%-9s %3d classes  %-8s  %s%s\n", e->name, state_of(&st),
               unknown ? "<=" : "  ", size, e->n_classes, shape, st.dir,
               st.source == FEDC_DATA_IN_SYSTEM ? " (system copy)" : "");
    }
    return 0;
}

static int cmd_info(const fedc_catalog_entry *e) {
    fedc_data_status st;
    fedc_error err;
    if (fedc_data_status_get(e, NULL, 0, &st, &err) != 0) {
        fprintf(stderr, "fedc data info: %s\n", err.msg);
        return 1;
    }
    printf("%s: %s\n  %s\n", e->name, e->title, e->summary);
    printf("  samples   %" PRIu64 " train, %" PRIu64 " test", e->n_train, e->n_test);
    if (e->n_extra)
        printf(", %" PRIu64 " extra (dataset.extra)", e->n_extra);
    printf("\n  shape     %dx%dx%d (channels x height x width), %d classes", e->shape.c,
           e->shape.h, e->shape.w, e->n_classes);
    if (e->n_classes_coarse)
        printf(" (%d coarse: dataset.labels coarse)", e->n_classes_coarse);
    printf("\n  natural   %s\n", e->natural ? "yes: one group per writer (partition.kind natural)" : "no");
    printf("  format    %s\n  licence   %s\n  citation  %s\n  homepage  %s\n", e->format, e->licence,
           e->citation, e->homepage);
    printf("  state     %s in %s\n", state_of(&st), st.dir);
    for (int i = 0; i < e->nfiles; i++) {
        const fedc_catalog_file *f = &e->files[i];
        char size[32];
        human(f->size ? f->size : f->max_size, size, sizeof size);
        printf("  file      %s%s: %s%s (%" PRIu64 " bytes)\n", f->name,
               f->optional ? " (optional)" : "", f->size ? "" : "at most ", size,
               f->size ? f->size : f->max_size);
        printf("            sha256 %s\n", f->sha256[0] ? f->sha256 : "(not published: recorded at first fetch)");
        for (int u = 0; u < FEDC_CATALOG_MAX_URLS && f->urls[u][0]; u++)
            printf("            %s %s\n", u ? "mirror" : "from  ", f->urls[u]);
    }
    if (e->system_dir[0])
        printf("  system    %s (Debian package %s), used when installed\n", e->system_dir,
               e->system_package ? e->system_package : "?");
    return 0;
}

/* Loads the dataset as a run would and prints what came out. */
static int cmd_show(const fedc_catalog_entry *e, int test, long sample, const char *labels, int extra) {
    fedc_dataset_spec spec = {.name = e->name, .labels = labels, .extra = extra, .fetch = FEDC_FETCH_NEVER};
    fedc_dataset d;
    fedc_error err;
    if (fedc_dataset_load(&spec, !test, &d, &err) != 0) {
        fprintf(stderr, "fedc data show: %s\n", err.msg);
        return 1;
    }
    if (sample < 0 || (size_t)sample >= d.n) {
        fprintf(stderr, "fedc data show: --sample %ld is out of range; allowed 0..%zu\n", sample, d.n - 1);
        fedc_dataset_free(&d);
        return 2;
    }
    printf("{\"name\": \"%s\", \"split\": \"%s\", \"samples\": %zu, \"shape\": [%d, %d, %d], \"classes\": %d,\n",
           e->name, test ? "test" : "train", d.n, d.shape.c, d.shape.h, d.shape.w, d.n_classes);
    size_t *counts = calloc((size_t)d.n_classes, sizeof *counts);
    for (size_t i = 0; i < d.n; i++) counts[d.y[i]]++;
    printf(" \"label_counts\": [");
    for (int k = 0; k < d.n_classes; k++) printf("%s%zu", k ? ", " : "", counts[k]);
    free(counts);
    printf("],\n \"writers\": %u,\n \"sample\": {\"index\": %ld, \"label\": %d", d.n_groups, sample,
           d.y[sample]);
    if (d.group) printf(", \"writer_group\": %u", d.group[sample]);
    printf(", \"pixels\": [");
    /* Catalog datasets keep their pixels as the file's bytes. */
    const uint8_t *px = d.x8 ? d.x8 + (size_t)sample * d.dim : NULL;
    const float *x = d.x ? d.x + (size_t)sample * d.dim : NULL;
    for (size_t j = 0; j < d.dim; j++) printf("%s%d", j ? "," : "", px ? px[j] : (int)(x[j] * 255.0f + 0.5f));
    printf("]}}\n");
    fedc_dataset_free(&d);
    return 0;
}

static int cmd_path(const fedc_catalog_entry *e) {
    fedc_data_status st;
    fedc_error err;
    if (fedc_data_status_get(e, NULL, 0, &st, &err) != 0) {
        fprintf(stderr, "fedc data path: %s\n", err.msg);
        return 1;
    }
    printf("%s\n", st.dir);
    if (!st.present) {
        char msg[1400];
        fedc_data_missing_message(e, &st, msg, sizeof msg);
        fprintf(stderr, "%s\n", msg);
        return 1;
    }
    return 0;
}

int fedc_cmd_data(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    int json = 0, all = 0, extra = 0, force = 0, quiet = 0, test = 0;
    long sample = 0;
    const char *labels = NULL;
    const char **names = calloc((size_t)argc, sizeof *names);
    int nnames = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) json = 1;
        else if (!strcmp(a, "--all")) all = 1;
        else if (!strcmp(a, "--extra")) extra = 1;
        else if (!strcmp(a, "--force")) force = 1;
        else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) quiet = 1;
        else if (!strcmp(a, "--test")) test = 1;
        else if (!strcmp(a, "--sample") && i + 1 < argc) sample = strtol(argv[++i], NULL, 10);
        else if (!strcmp(a, "--labels") && i + 1 < argc) labels = argv[++i];
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            free(names);
            return 0;
        } else if (a[0] == '-') {
            fprintf(stderr, "fedc data %s: unknown option %s\n", sub, a);
            free(names);
            return 2;
        } else names[nnames++] = a;
    }
    fedc_error err;
    fedc_catalog *c = fedc_catalog_load(NULL, &err);
    if (!c) {
        fprintf(stderr, "fedc data: %s\n", err.msg);
        free(names);
        return 1;
    }
    int rc = 0;
    /* Names resolve through the catalog (aliases too); unknown ones stop. */
    const fedc_catalog_entry **entries = calloc((size_t)fedc_catalog_count(c) + (size_t)argc, sizeof *entries);
    int nentries = 0;
    for (int i = 0; i < nnames; i++) {
        const fedc_catalog_entry *e = fedc_catalog_find(c, names[i]);
        if (!e) {
            fprintf(stderr, "fedc data %s: unknown dataset '%s'; the catalog has: %s\n", sub, names[i],
                    fedc_catalog_names());
            rc = 2;
            goto out;
        }
        entries[nentries++] = e;
    }
    if (!strcmp(sub, "list")) {
        rc = cmd_list(c, json);
    } else if (!strcmp(sub, "fetch")) {
        if (all)
            for (int i = 0; i < fedc_catalog_count(c); i++) entries[nentries++] = fedc_catalog_at(c, i);
        if (!nentries) {
            fprintf(stderr, "fedc data fetch: name a dataset (or --all); the catalog has: %s\n",
                    fedc_catalog_names());
            rc = 2;
            goto out;
        }
        fedc_fetch_options o = {.with_optional = extra, .force = force, .quiet = quiet};
        for (int i = 0; i < nentries; i++) {
            fedc_data_status st;
            if (fedc_data_status_get(entries[i], NULL, extra, &st, &err) != 0) {
                fprintf(stderr, "fedc data fetch: %s\n", err.msg);
                rc = 1;
                continue;
            }
            if (st.source == FEDC_DATA_IN_SYSTEM && !force) {
                if (!quiet)
                    fprintf(stderr, "%s: the system copy in %s is used; nothing to fetch\n", entries[i]->name,
                            st.dir);
                continue;
            }
            if (fedc_data_fetch(entries[i], &o, &err) != 0) {
                fprintf(stderr, "fedc data fetch: %s\n", err.msg);
                rc = 1;
            }
        }
    } else if (!strcmp(sub, "verify")) {
        if (!nentries)
            for (int i = 0; i < fedc_catalog_count(c); i++) {
                fedc_data_status st;
                const fedc_catalog_entry *e = fedc_catalog_at(c, i);
                /* With no names, only what is (partly) present. */
                if (fedc_data_status_get(e, NULL, extra, &st, &err) == 0 && (st.present || st.bytes_present))
                    entries[nentries++] = e;
            }
        int total_bad = 0;
        for (int i = 0; i < nentries; i++) {
            int bad = 0;
            if (fedc_data_verify(entries[i], NULL, extra, stdout, &bad, &err) != 0) {
                fprintf(stderr, "fedc data verify: %s\n", err.msg);
                rc = 1;
            }
            total_bad += bad;
        }
        if (!nentries) printf("no catalog dataset is present\n");
        if (total_bad) {
            fprintf(stderr, "fedc data verify: %d file%s missing or not matching the catalog\n", total_bad,
                    total_bad == 1 ? "" : "s");
            rc = 1;
        }
    } else if (!strcmp(sub, "show")) {
        if (nentries != 1) {
            fprintf(stderr, "fedc data show: name one dataset; the catalog has: %s\n", fedc_catalog_names());
            rc = 2;
            goto out;
        }
        rc = cmd_show(entries[0], test, sample, labels, extra);
    } else if (!strcmp(sub, "path") || !strcmp(sub, "info")) {
        if (nentries != 1) {
            fprintf(stderr, "fedc data %s: name one dataset; the catalog has: %s\n", sub, fedc_catalog_names());
            rc = 2;
            goto out;
        }
        rc = !strcmp(sub, "path") ? cmd_path(entries[0]) : cmd_info(entries[0]);
    } else {
        fprintf(stderr, "fedc data: unknown command '%s'\n\n", sub);
        usage(stderr);
        rc = 2;
    }
out:
    free(entries);
    free(names);
    fedc_catalog_free(c);
    return rc;
}
