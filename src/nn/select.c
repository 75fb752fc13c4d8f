/* Tensor selectors: which parameter tensors of an architecture a short text
 * names, e.g. "bn" (every batch norm: FedBN's local parameters), "last:1"
 * (the classifier head: FedPer), "layers.3". Personalisation methods use
 * them to mark the parameters that stay on the clients. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"

#define SELECT_MAX 128

static int parse_count(const char *s, long lo, long hi, long *out) {
    if (*s == '\0') return -1;
    for (const char *c = s; *c; c++)
        if (*c < '0' || *c > '9') return -1;
    errno = 0;
    long v = strtol(s, NULL, 10);
    if (errno || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

/* Marks the tensors of every op at spec index idx. */
static int mark_layer(const fedc_arch *a, int idx, unsigned char *mask) {
    int hit = 0;
    for (int i = 0; i < a->n_tensors; i++)
        if (a->tensors[i].layer_index == idx) mask[i] = 1, hit = 1;
    return hit;
}

int fedc_arch_select(const fedc_arch *a, const char *spec, unsigned char *mask, fedc_error *err) {
    if (!a || !spec || !mask) return fedc_fail(err, "tensor selector: missing");
    memset(mask, 0, (size_t)a->n_tensors);
    size_t len = strlen(spec);
    if (len == 0) return fedc_fail(err, "tensor selector is empty; expected none or e.g. bn, last:1, layers.2");
    if (len > SELECT_MAX) return fedc_fail(err, "tensor selector: %zu characters; at most %d", len, SELECT_MAX);
    if (strcmp(spec, "none") == 0) return 0;
    if (spec[0] == ',' || spec[len - 1] == ',' || strstr(spec, ",,"))
        return fedc_fail(err, "tensor selector \"%s\": an item is empty", spec);
    /* Layers that have parameters, in order, by spec index. */
    int layers[NN_MAX_LAYERS], nlayers = 0;
    for (int i = 0; i < a->n_ops; i++)
        if (a->ops[i].w_count) layers[nlayers++] = a->ops[i].spec_index;
    char buf[SELECT_MAX + 1];
    memcpy(buf, spec, len + 1);
    char *save = NULL;
    for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        long k;
        int hit = 0;
        if (!strcmp(item, "bn") || !strcmp(item, "gn") || !strcmp(item, "conv") || !strcmp(item, "wsconv") ||
            !strcmp(item, "dense") || !strcmp(item, "norm")) {
            for (int i = 0; i < a->n_tensors; i++) {
                const char *kind = a->tensors[i].layer;
                int m = !strcmp(item, "norm") ? !strcmp(kind, "bn") || !strcmp(kind, "gn") : !strcmp(kind, item);
                if (m) mask[i] = 1, hit = 1;
            }
        } else if (!strncmp(item, "layers.", 7)) {
            if (parse_count(item + 7, 0, NN_MAX_LAYERS - 1, &k) != 0)
                return fedc_fail(err, "tensor selector \"%s\": \"%s\" needs a layer position, e.g. layers.2", spec, item);
            if (!mark_layer(a, (int)k, mask))
                return fedc_fail(err, "tensor selector \"%s\": layer %ld of the model has no parameters", spec, k);
            hit = 1;
        } else if (!strncmp(item, "first:", 6) || !strncmp(item, "last:", 5)) {
            int first = item[0] == 'f';
            if (parse_count(item + (first ? 6 : 5), 1, NN_MAX_LAYERS, &k) != 0 || k > nlayers)
                return fedc_fail(err, "tensor selector \"%s\": \"%s\": K must be 1 to %d, the layers with parameters",
                                 spec, item, nlayers);
            for (long j = 0; j < k; j++) mark_layer(a, layers[first ? j : nlayers - 1 - j], mask);
            hit = 1;
        } else {
            return fedc_fail(err,
                             "tensor selector \"%s\": unknown item \"%s\"; allowed: none, bn, gn, norm, conv, "
                             "wsconv, dense, layers.I, first:K, last:K",
                             spec, item);
        }
        if (!hit)
            return fedc_fail(err, "tensor selector \"%s\": \"%s\" matches no layer of the model", spec, item);
    }
    int n = 0;
    for (int i = 0; i < a->n_tensors; i++) n += mask[i];
    return n;
}
