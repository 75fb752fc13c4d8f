/* pFedGate's blocks and budget (Chen et al., "Efficient Personalized
 * Federated Learning via Sparse Model-Adaptation", ICML 2023): the model's
 * parameters cut into blocks, one gate weight per block, and the choice of
 * the blocks a client's sparse model keeps under its budget. Private to the
 * strategy layer (and its tests). */
#ifndef FEDC_GATE_BLOCKS_H
#define FEDC_GATE_BLOCKS_H

#include <stddef.h>

typedef struct fedc_gate_blocks {
    int n;               /* blocks (L) */
    size_t *off, *size;  /* each block's first parameter and parameter count */
    unsigned char *first;/* 1 = the first block of its tensor */
    size_t total;        /* parameters in all blocks (d) */
} fedc_gate_blocks;

/* Cuts every tensor (offset[t], count[t]) into at most `per_tensor` blocks
 * of equal size but the last (ceil(count / blocks) each), as the paper's
 * fine-grained block split. 0, or -1 out of memory. */
int fedc_gate_blocks_make(fedc_gate_blocks *b, const size_t *offset, const size_t *count, int ntensors,
                          int per_tensor);
void fedc_gate_blocks_free(fedc_gate_blocks *b);

/* The parameters a budget `sparsity` allows: floor(sparsity * total). */
size_t fedc_gate_budget(const fedc_gate_blocks *b, double sparsity);

/* The knapsack choice: keep[l] = 1 for the blocks kept, 0 for the others,
 * with the kept sizes summing to at most fedc_gate_budget (always: a block
 * that does not fit is skipped, later smaller ones may still fit). Greedy in
 * this order: the first block of every tensor (so no layer is cut off while
 * the budget allows), then the others by decreasing score (ties: lower
 * index first). Returns the parameters kept. O(L^2), no allocation. */
size_t fedc_gate_select(const fedc_gate_blocks *b, const float *score, double sparsity, float *keep);

/* out[j] = x[j] * gate[l] for j in block l (the gated model). */
void fedc_gate_apply(const fedc_gate_blocks *b, const float *gate, const float *x, float *out);

#endif
