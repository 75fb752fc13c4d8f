/* What a node tells the server about itself: cores, memory, measured
 * training speed on its own data, and link speed estimates (filled in by
 * the agent from the transfer times of models and updates). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/client_internal.h"
#include "fedc/timer.h"
#include "fedc/version.h"

void node_resources_detect(node_resources *r) {
    memset(r, 0, sizeof *r);
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    r->cores = c > 0 ? (int)c : 1;
    r->memory_bytes = pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz : 0;
}

double node_measure_speed(const fedc_arch *a, const fedc_node_data *d, int batch) {
    if (batch < 1) batch = 1;
    if (batch > 256) batch = 256;
    size_t dim = fedc_arch_input_size(a), np = fedc_arch_nparams(a);
    fedc_ws *ws = fedc_ws_create(a, batch);
    float *params = calloc(np, sizeof(float)), *grad = malloc(np * sizeof(float));
    float *x = calloc((size_t)batch * dim, sizeof(float));
    int32_t *y = calloc((size_t)batch, sizeof(int32_t));
    double speed = 0;
    if (ws && params && grad && x && y) {
        fedc_rng rng = fedc_rng_derive(1, 2, 3);
        fedc_arch_init(a, params, &rng);
        if (d && d->n && d->ds.dim == dim) {
            size_t nb = d->n < (size_t)batch ? d->n : (size_t)batch;
            fedc_dataset_gather(&d->ds, d->index, nb, x, y);
            for (size_t i = 0; i < nb; i++)
                if (y[i] < 0 || y[i] >= fedc_arch_nclasses(a)) y[i] = 0;
        }
        double t0 = fedc_cpu_thread_s(), t;
        int iters = 0;
        do {
            fedc_nn_grad(a, ws, params, grad, x, y, batch, &rng);
            iters++;
            t = fedc_cpu_thread_s() - t0;
        } while (t < 0.3 && iters < 50);
        if (t > 0) speed = (double)iters * batch / t;
    }
    fedc_ws_free(ws);
    free(params);
    free(grad);
    free(x);
    free(y);
    return speed;
}

json_t *node_resources_json(const node_resources *r, const char *data_spec) {
    return json_pack("{s:i,s:I,s:f,s:f,s:f,s:I,s:s,s:s}", "cores", r->cores, "memory_bytes",
                     (json_int_t)r->memory_bytes, "samples_per_s", r->samples_per_s, "up_bps", r->up_bps, "down_bps",
                     r->down_bps, "n_samples", (json_int_t)r->n_samples, "data", data_spec ? data_spec : "",
                     "version", FEDC_VERSION);
}
