/* pFedGate's block layout and budgeted block choice (gate_blocks.h). */
#include "gate_blocks.h"

#include <stdlib.h>

int fedc_gate_blocks_make(fedc_gate_blocks *b, const size_t *offset, const size_t *count, int ntensors,
                          int per_tensor) {
    b->n = 0;
    b->total = 0;
    size_t cap = 0;
    for (int t = 0; t < ntensors; t++) cap += count[t] < (size_t)per_tensor ? count[t] : (size_t)per_tensor;
    b->off = malloc((cap ? cap : 1) * sizeof *b->off);
    b->size = malloc((cap ? cap : 1) * sizeof *b->size);
    b->first = malloc(cap ? cap : 1);
    if (!b->off || !b->size || !b->first) {
        fedc_gate_blocks_free(b);
        return -1;
    }
    for (int t = 0; t < ntensors; t++) {
        size_t c = count[t];
        if (c == 0) continue;
        size_t split = c < (size_t)per_tensor ? c : (size_t)per_tensor;
        size_t each = (c + split - 1) / split;
        for (size_t at = 0; at < c; at += each) {
            b->off[b->n] = offset[t] + at;
            b->size[b->n] = c - at < each ? c - at : each;
            b->first[b->n] = at == 0;
            b->n++;
        }
        b->total += c;
    }
    return 0;
}

void fedc_gate_blocks_free(fedc_gate_blocks *b) {
    free(b->off);
    free(b->size);
    free(b->first);
    b->off = b->size = NULL;
    b->first = NULL;
    b->n = 0;
}

size_t fedc_gate_budget(const fedc_gate_blocks *b, double sparsity) {
    if (!(sparsity > 0)) return 0;
    if (sparsity >= 1) return b->total;
    return (size_t)(sparsity * (double)b->total);
}

/* Is block i before block j in the greedy order? */
static int before(const fedc_gate_blocks *b, const float *score, int i, int j) {
    if (b->first[i] != b->first[j]) return b->first[i] > b->first[j];
    if (b->first[i]) return i < j; /* first blocks: in tensor order */
    if (score[i] != score[j]) return score[i] > score[j];
    return i < j;
}

size_t fedc_gate_select(const fedc_gate_blocks *b, const float *score, double sparsity, float *keep) {
    size_t left = fedc_gate_budget(b, sparsity), kept = 0;
    /* keep[] doubles as the "considered" mark: -1 not yet, then 1 or 0. */
    for (int l = 0; l < b->n; l++) keep[l] = -1.0f;
    for (int round = 0; round < b->n; round++) {
        int best = -1;
        for (int l = 0; l < b->n; l++)
            if (keep[l] < 0 && (best < 0 || before(b, score, l, best))) best = l;
        if (b->size[best] <= left) {
            keep[best] = 1.0f;
            left -= b->size[best];
            kept += b->size[best];
        } else {
            keep[best] = 0.0f;
        }
    }
    return kept;
}

void fedc_gate_apply(const fedc_gate_blocks *b, const float *gate, const float *x, float *out) {
    for (int l = 0; l < b->n; l++) {
        const float g = gate[l];
        const size_t lo = b->off[l], hi = lo + b->size[l];
        for (size_t j = lo; j < hi; j++) out[j] = x[j] * g;
    }
}
