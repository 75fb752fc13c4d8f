/* Per-thread workspace: every activation, mask, statistic and conv scratch
 * buffer a batch of max_batch samples needs, carved from one allocation so
 * the training loop never allocates. */
#include <stdlib.h>
#include <string.h>

#include "nn/nn_internal.h"

#define ALIGN_FLOATS 16 /* 64-byte alignment for every buffer */
_Static_assert(sizeof(int32_t) == sizeof(float) && sizeof(int) == sizeof(float),
               "int buffers are carved in float units");

static size_t round_up(size_t n) {
    return (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
}

/* Carves buffers in two passes: sizing (base == NULL) then assigning. */
static void *carve(char *base, size_t *off, size_t floats) {
    void *p = base ? base + *off * sizeof(float) : NULL;
    *off += round_up(floats);
    return p;
}

static size_t layout(fedc_ws *ws, char *base) {
    const fedc_arch *a = ws->arch;
    size_t nb = (size_t)ws->max_batch, off = 0, grad_max = 0, col_max = 0, chunk_max = 0;
    size_t hwc_max = 0, wt_max = 0, win_max = 0, oc_max = 0, pack_max = 0, plane_max = 0, band_max = 0;
    size_t wstd_max = 0, patch_max = 0;
    for (int i = 0; i < a->n_ops; i++) {
        const nn_op *op = &a->ops[i];
        nn_op_ws *o = &ws->op[i];
        o->out = carve(base, &off, nb * op->out_size);
        if (op->kind == NN_MAXPOOL) o->argmax = carve(base, &off, nb * op->out_size);
        if (op->kind == NN_DROPOUT) o->mask = carve(base, &off, nb * op->out_size);
        if (op->kind == NN_GROUPNORM) o->stats = carve(base, &off, 2 * nb * (size_t)op->groups);
        if (op->kind == NN_BATCHNORM) o->stats = carve(base, &off, 3 * (size_t)op->in.c);
        if (op->ws) {
            o->w_std = carve(base, &off, op->w_count);
            o->w_stats = carve(base, &off, 2 * (size_t)op->out.c);
            if (op->w_count > wstd_max) wstd_max = op->w_count;
        }
        if (op->kind == NN_CONV) {
            o->chunk = nn_conv_chunk(op, ws->max_batch);
            size_t c = nn_conv_col_floats(op, o->chunk), k = nn_conv_chunk_floats(op, o->chunk);
            if (c > col_max) col_max = c;
            if (k > chunk_max) chunk_max = k;
            size_t h = nn_conv_hwc_floats(op), pk = nn_conv_direct_pack_floats(op);
            if (h > hwc_max) hwc_max = h;
            if (pk > pack_max) pack_max = pk;
        }
        if (nn_conv_pool_fusable(a, i)) {
            size_t q = a->ops[i + 1].out_size;
            if (op->w_count > wt_max) wt_max = op->w_count;
            if (q > win_max) win_max = q;
            if ((size_t)op->out.c > oc_max) oc_max = (size_t)op->out.c;
            size_t plane = (size_t)op->out.h * op->out.w;
            if (plane > plane_max) plane_max = plane;
            size_t band = (size_t)a->ops[i + 1].k * op->out.w * NN_TILE_NR;
            if (band > band_max) band_max = band;
            size_t rows = nn_conv_pool_patch_floats(op);
            if (rows > patch_max) patch_max = rows;
        }
        if (op->out_size > grad_max) grad_max = op->out_size;
        if (op->need_dx && op->in_size > grad_max) grad_max = op->in_size;
    }
    ws->grad_buf[0] = carve(base, &off, nb * grad_max);
    ws->grad_buf[1] = carve(base, &off, nb * grad_max);
    ws->col = carve(base, &off, col_max);
    ws->dcol = carve(base, &off, col_max);
    ws->chunk_buf = carve(base, &off, chunk_max);
    ws->pack_a = carve(base, &off, (size_t)NN_GEMM_MC * NN_GEMM_KC);
    ws->pack_b = carve(base, &off, (size_t)NN_GEMM_KC * NN_GEMM_NC);
    ws->hwc_x = carve(base, &off, hwc_max);
    ws->hwc_dx = carve(base, &off, hwc_max);
    ws->w_t = carve(base, &off, wt_max);
    ws->dw_t = carve(base, &off, wt_max);
    /* +16: the vector compaction of winners may store past the last one. */
    ws->win_g = carve(base, &off, win_max + 16);
    ws->win_off = carve(base, &off, win_max + 16); /* int32_t and int are float-sized */
    ws->win_cnt = carve(base, &off, oc_max);
    ws->win_pos = carve(base, &off, plane_max);
    ws->patch_rows = carve(base, &off, patch_max);
    ws->w_pack = carve(base, &off, pack_max);
    ws->pool_band = carve(base, &off, band_max);
    ws->dw_std = carve(base, &off, wstd_max);
    return off * sizeof(float);
}

fedc_ws *fedc_ws_create(const fedc_arch *a, int max_batch) {
    if (!a || max_batch < 1 || max_batch > NN_MAX_BATCH) return NULL;
    fedc_ws *ws = calloc(1, sizeof *ws);
    if (!ws) return NULL;
    ws->arch = a;
    ws->max_batch = max_batch;
    size_t bytes = layout(ws, NULL);
    ws->bytes = bytes;
    /* Huge pages where the block is big: the layers stream through
     * megabytes of activations with large strides. */
    ws->block = fedc_nn_alloc((bytes ? bytes : 64) / sizeof(float) + 1);
    if (!ws->block) {
        free(ws);
        return NULL;
    }
    /* Zeroed once so that no buffer ever holds uninitialised floats. */
    memset(ws->block, 0, bytes);
    layout(ws, ws->block);
    return ws;
}

int fedc_ws_max_batch(const fedc_ws *ws) { return ws->max_batch; }

size_t fedc_ws_bytes(const fedc_ws *ws) {
    return ws ? ws->bytes : 0;
}

void fedc_ws_free(fedc_ws *ws) {
    if (!ws) return;
    fedc_nn_free(ws->block);
    free(ws);
}
