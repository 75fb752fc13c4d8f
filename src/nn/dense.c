/* Fully connected layer: y = x W^T + b (W is [out, in] as in PyTorch), with
 * the bias and the optional ReLU fused into one pass over the GEMM output. */
#include <string.h>

#include "nn/nn_internal.h"

void nn_dense_forward(const nn_op *op, fedc_ws *ws, const float *w, const float *b, const float *x, float *y,
                      int n) {
    const int in = (int)op->in_size, out = op->out.c;
    nn_gemm(ws, 0, 1, n, out, in, x, in, w, in, 0, y, out);
    for (int i = 0; i < n; i++) {
        float *row = y + (size_t)i * out;
        if (op->relu) {
            for (int j = 0; j < out; j++) {
                float v = row[j] + b[j];
                row[j] = v > 0.0f ? v : 0.0f;
            }
        } else {
            for (int j = 0; j < out; j++) row[j] += b[j];
        }
    }
}

void nn_dense_backward(const nn_op *op, fedc_ws *ws, const float *w, const float *x, const float *y, float *dy,
                       float *dx, float *dw, float *db, int n) {
    const int in = (int)op->in_size, out = op->out.c;
    if (op->relu) nn_relu_backward(y, dy, dy, (size_t)n * out);
    memset(db, 0, (size_t)out * sizeof *db);
    for (int i = 0; i < n; i++) {
        const float *row = dy + (size_t)i * out;
        for (int j = 0; j < out; j++) db[j] += row[j];
    }
    nn_gemm(ws, 1, 0, out, in, n, dy, out, x, in, 0, dw, in);
    if (op->need_dx)
        nn_gemm(ws, 0, 0, n, in, out, dy, out, w, in, 0, dx, in);
}
