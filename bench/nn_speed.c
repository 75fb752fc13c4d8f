/* Single-thread training speed of the nn layer against PyTorch in the same
 * run: ms per batch (forward + backward + SGD step; with --json also the
 * forward + backward and the SGD step apart, timed in the same loop) and
 * GFLOP/s for the MLP
 * 784-200-200-10 and the McMahan CNN on 28x28x1 input, batch 32. The PyTorch
 * peer runs the same model, batch and step with one thread
 * (torch.set_num_threads(1), OMP/OPENBLAS_NUM_THREADS=1). Rounds alternate
 * fedc and torch so that load from other processes hits both alike; the
 * ratio uses the best round of each. Times are the thread's CPU time, which
 * other processes on the machine disturb less than wall time. GFLOP/s is
 * dense-equivalent: 3x the forward FLOPs per sample, although the fused
 * conv + max-pool backward skips the products with zero (3 in 4), so for the
 * CNN it can exceed the core's FMA peak; fedc_nn_alloc gives the parameter
 * and gradient vectors huge pages, as the trainer should.
 * usage: nn_speed [rounds=3] [--no-torch] [--json]
 * (--json: one JSON object instead of the table, for bench/yardstick.py)
 *        nn_speed --eval B1,B2,... [rounds=3]
 * (evaluation of 2,000 CNN samples through workspaces of B1, B2, ...
 * samples: ms per 1,000 samples (thread CPU time, best of the rounds), the
 * workspace's size, and whether accuracy and loss equal the first's bit
 * for bit; one JSON object) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/nn.h"
#include "fedc/rng.h"
#include "fedc/timer.h"

#define BATCH 32

typedef struct model_case {
    const char *name;
    const char *spec;
    int iters;
} model_case;

static const char *torch_script =
    "import sys,time,torch\n"
    "torch.set_num_threads(1); torch.manual_seed(0)\n"
    "kind,iters=sys.argv[1],int(sys.argv[2]); nn=torch.nn\n"
    "m=(nn.Sequential(nn.Conv2d(1,32,5,padding=2),nn.ReLU(),nn.MaxPool2d(2),nn.Conv2d(32,64,5,padding=2),"
    "nn.ReLU(),nn.MaxPool2d(2),nn.Flatten(),nn.Linear(3136,512),nn.ReLU(),nn.Linear(512,10)) if kind=='cnn' else "
    "nn.Sequential(nn.Flatten(),nn.Linear(784,200),nn.ReLU(),nn.Linear(200,200),nn.ReLU(),nn.Linear(200,10)))\n"
    "opt=torch.optim.SGD(m.parameters(),lr=0.01); lf=nn.CrossEntropyLoss()\n"
    "x=torch.randn(32,1,28,28); y=torch.randint(0,10,(32,))\n"
    "def step():\n"
    "  opt.zero_grad(); l=lf(m(x),y); l.backward(); opt.step()\n"
    "for i in range(max(3,iters//10)): step()\n"
    "t=time.thread_time()\n"
    "for i in range(iters): step()\n"
    "print((time.thread_time()-t)/iters*1e3)\n";

/* Best-of ms per batch of the PyTorch peer, or NAN if it cannot run. */
static double torch_ms(const char *kind, int iters) {
    char path[] = "/tmp/fedc_nn_speed_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return NAN;
    FILE *f = fdopen(fd, "w");
    fputs(torch_script, f);
    fclose(f);
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 /usr/bin/python3 %s %s %d 2>/dev/null",
             path, kind, iters);
    FILE *p = popen(cmd, "r");
    double ms = NAN;
    if (p) {
        if (fscanf(p, "%lf", &ms) != 1) ms = NAN;
        pclose(p);
    }
    remove(path);
    return ms;
}

/* ms per batch of the whole training step; *grad_ms gets the part spent in
 * forward + backward (fedc_nn_grad), the rest is the optimizer's step. */
static double fedc_ms(const model_case *mc, double *gflops, double *grad_ms) {
    fedc_error err;
    fedc_arch *a = fedc_arch_parse(mc->spec, (fedc_shape){1, 28, 28}, 10, &err);
    if (!a) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    size_t np = fedc_arch_nparams(a), in = fedc_arch_input_size(a);
    float *params = fedc_nn_alloc(np), *grad = fedc_nn_alloc(np);
    float *x = malloc(BATCH * in * sizeof *x);
    int32_t y[BATCH];
    fedc_rng rng;
    fedc_rng_seed(&rng, 7);
    fedc_arch_init(a, params, &rng);
    for (size_t i = 0; i < BATCH * in; i++) x[i] = (float)fedc_rng_normal(&rng);
    for (int i = 0; i < BATCH; i++) y[i] = (int32_t)fedc_rng_below(&rng, 10);
    fedc_ws *ws = fedc_ws_create(a, BATCH);
    fedc_optim_config oc = fedc_optim_defaults(FEDC_OPT_SGD, 0.01f);
    fedc_optim *opt = fedc_optim_create(&oc, np);
    float loss = 0.0f;
    for (int i = 0; i < mc->iters / 10 + 3; i++) {
        loss = fedc_nn_grad(a, ws, params, grad, x, y, BATCH, &rng);
        fedc_optim_step(opt, params, grad);
    }
    double t0 = fedc_cpu_thread_s(), in_grad = 0.0;
    for (int i = 0; i < mc->iters; i++) {
        const double g0 = fedc_cpu_thread_s();
        loss = fedc_nn_grad(a, ws, params, grad, x, y, BATCH, &rng);
        in_grad += fedc_cpu_thread_s() - g0;
        fedc_optim_step(opt, params, grad);
    }
    double ms = (fedc_cpu_thread_s() - t0) / mc->iters * 1e3;
    *grad_ms = in_grad / mc->iters * 1e3;
    if (!isfinite(loss)) fprintf(stderr, "warning: %s loss %f\n", mc->name, (double)loss);
    /* Training = forward + weight gradient + input gradient (~3x forward). */
    *gflops = 3.0 * fedc_arch_flops_per_sample(a) * BATCH / (ms * 1e-3) / 1e9;
    fedc_optim_free(opt);
    fedc_ws_free(ws);
    free(x);
    fedc_nn_free(grad);
    fedc_nn_free(params);
    fedc_arch_free(a);
    return ms;
}

/* Evaluation speed and workspace size by evaluation batch (CNN). */
static int eval_speed(const char *list, int rounds) {
    enum { N = 2000 };
    fedc_error err;
    fedc_arch *a = fedc_arch_parse("cnn", (fedc_shape){1, 28, 28}, 10, &err);
    if (!a) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    size_t np = fedc_arch_nparams(a), in = fedc_arch_input_size(a);
    float *params = fedc_nn_alloc(np), *x = malloc(N * in * sizeof *x);
    int32_t *y = malloc(N * sizeof *y);
    if (!params || !x || !y) return 1;
    fedc_rng rng;
    fedc_rng_seed(&rng, 11);
    fedc_arch_init(a, params, &rng);
    for (size_t i = 0; i < N * in; i++) x[i] = (float)fedc_rng_uniform(&rng);
    for (int i = 0; i < N; i++) y[i] = (int32_t)fedc_rng_below(&rng, 10);
    printf("{\"model\":\"cnn\",\"samples\":%d,\"rounds\":%d,\"batches\":[", N, rounds);
    double acc0 = 0, loss0 = 0;
    int first = 1;
    for (const char *p = list; *p;) {
        char *end;
        long b = strtol(p, &end, 10);
        if (end == p || b < 1 || b > 65536) {
            fprintf(stderr, "nn_speed --eval: batch sizes 1..65536, comma-separated\n");
            return 2;
        }
        p = *end == ',' ? end + 1 : end;
        fedc_ws *ws = fedc_ws_create(a, (int)b);
        if (!ws) return 1;
        double best = INFINITY, acc = 0, loss = 0;
        for (int r = 0; r < rounds; r++) {
            double t0 = fedc_cpu_thread_s();
            fedc_nn_evaluate(a, ws, params, x, y, N, &acc, &loss);
            double ms = (fedc_cpu_thread_s() - t0) * 1e3 * 1000.0 / N;
            if (ms < best) best = ms;
        }
        if (first) acc0 = acc, loss0 = loss;
        printf("%s{\"batch\":%ld,\"ms_per_1000\":%.3f,\"ws_mb\":%.2f,\"accuracy\":%.6f,\"loss\":%.17g,"
               "\"same_as_first\":%s}",
               first ? "" : ",", b, best, fedc_ws_bytes(ws) / 1048576.0, acc, loss,
               acc == acc0 && loss == loss0 ? "true" : "false");
        first = 0;
        fedc_ws_free(ws);
    }
    printf("]}\n");
    free(x);
    free(y);
    fedc_nn_free(params);
    fedc_arch_free(a);
    return 0;
}

int main(int argc, char **argv) {
    int rounds = 3, with_torch = 1, json = 0;
    const char *eval_list = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--eval") == 0 && i + 1 < argc)
            eval_list = argv[++i];
        else if (strcmp(argv[i], "--no-torch") == 0)
            with_torch = 0;
        else if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (atoi(argv[i]) > 0 && atoi(argv[i]) <= 100)
            rounds = atoi(argv[i]);
        else {
            fprintf(stderr, "usage: nn_speed [rounds 1..100] [--no-torch] [--json] | --eval B1,B2,... [rounds]\n");
            return 2;
        }
    }
    const char *core = fedc_nn_blas_init(1);
    if (eval_list) return eval_speed(eval_list, rounds);
    const model_case cases[] = {{"mlp", "mlp", 2000}, {"cnn", "cnn", 60}};
    if (json)
        printf("{\"openblas_core\":\"%s\",\"batch\":%d,\"threads\":1,\"rounds\":%d,\"models\":{", core, BATCH, rounds);
    else {
        printf("OpenBLAS core: %s, batch %d, 1 thread, %d rounds (best of)\n", core, BATCH, rounds);
        printf("%-4s %12s %10s %12s %8s\n", "model", "fedc ms/b", "GFLOP/s", "torch ms/b", "speedup");
    }
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double best = INFINITY, best_t = INFINITY, gf = 0.0, best_grad = INFINITY;
        for (int r = 0; r < rounds; r++) {
            double g, grad_ms, ms = fedc_ms(&cases[c], &g, &grad_ms);
            if (ms < best) { /* the best round's step, and its forward + backward part */
                best = ms;
                gf = g;
                best_grad = grad_ms;
            }
            if (with_torch) {
                double t = torch_ms(cases[c].name, cases[c].iters);
                if (t < best_t) best_t = t;
            }
        }
        if (json) {
            printf("%s\"%s\":{\"fedc_ms_per_batch\":%.4f,\"fedc_gflops\":%.2f,\"fedc_grad_ms_per_batch\":%.4f",
                   c ? "," : "", cases[c].name, best, gf, best_grad);
            if (with_torch && isfinite(best_t))
                printf(",\"torch_ms_per_batch\":%.4f,\"speedup\":%.3f", best_t, best_t / best);
            printf("}");
        } else if (with_torch && isfinite(best_t))
            printf("%-5s %12.3f %10.1f %12.3f %7.2fx\n", cases[c].name, best, gf, best_t, best_t / best);
        else
            printf("%-5s %12.3f %10.1f %12s %8s\n", cases[c].name, best, gf, "n/a", "n/a");
    }
    if (json) printf("}}\n");
    return 0;
}
