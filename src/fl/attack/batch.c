/* The data side of attacks: poisoned labels and triggers for attackers,
 * low-quality batches for unreliable clients. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attack_internal.h"

/* The MUD-HoG authors' unreliable clients (Unreliable_client): half of
 * their batches are smoothed by a 5x5 Gaussian (sigma 30 on Fashion-MNIST,
 * nearly a box blur) with reflected borders, and only 30% of batches are
 * trained on. */
#define BLUR_K 5
#define BLUR_SIGMA 30.0
#define UNRELIABLE_TRAIN 0.3
#define UNRELIABLE_BLUR 0.5

static int reflect(int i, int n) {
    if (n == 1) return 0;
    while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
    return i;
}

static void blur(float *x, fedc_shape s, float *tmp) {
    float k[BLUR_K];
    double sum = 0;
    for (int i = 0; i < BLUR_K; i++) {
        double t = i - BLUR_K / 2;
        k[i] = (float)exp(-t * t / (2 * BLUR_SIGMA * BLUR_SIGMA));
        sum += k[i];
    }
    for (int i = 0; i < BLUR_K; i++) k[i] = (float)(k[i] / sum);
    /* Separable: rows into tmp, then columns back into x. */
    for (int c = 0; c < s.c; c++) {
        float *img = x + (size_t)c * s.h * s.w;
        for (int r = 0; r < s.h; r++)
            for (int q = 0; q < s.w; q++) {
                float v = 0;
                for (int i = 0; i < BLUR_K; i++) v += k[i] * img[r * s.w + reflect(q + i - BLUR_K / 2, s.w)];
                tmp[r * s.w + q] = v;
            }
        for (int r = 0; r < s.h; r++)
            for (int q = 0; q < s.w; q++) {
                float v = 0;
                for (int i = 0; i < BLUR_K; i++) v += k[i] * tmp[reflect(r + i - BLUR_K / 2, s.h) * s.w + q];
                img[r * s.w + q] = v;
            }
    }
}

void fedc_attack_stamp(float *x, fedc_shape shape) {
    /* Two dashed rows in the top-left corner (rows 0 and 2, columns 0-2
     * and 4-6), full intensity in every channel. */
    static const int cols[] = {0, 1, 2, 4, 5, 6};
    for (int c = 0; c < shape.c; c++)
        for (int r = 0; r <= 2 && r < shape.h; r += 2)
            for (int i = 0; i < 6; i++)
                if (cols[i] < shape.w) x[((size_t)c * shape.h + r) * shape.w + cols[i]] = 1.0f;
}

int fedc_attack_batch(const fedc_attack *a, fedc_role role, fedc_shape shape, float *x, int32_t *y, int n,
                      int n_classes, fedc_rng *rng) {
    size_t dim = (size_t)shape.c * shape.h * shape.w;
    if (role == FEDC_ROLE_UNRELIABLE) {
        if (fedc_rng_uniform(rng) >= UNRELIABLE_TRAIN) return 0;
        if (fedc_rng_uniform(rng) < UNRELIABLE_BLUR && shape.h > 1 && shape.w > 1) {
            float *tmp = malloc((size_t)shape.h * shape.w * sizeof *tmp);
            if (tmp)
                for (int i = 0; i < n; i++) blur(x + (size_t)i * dim, shape, tmp);
            free(tmp);
        }
        return 1;
    }
    if (role != FEDC_ROLE_ATTACKER) return 1;
    const fedc_task *t = &a->task;
    if (a->kind == ATK_LABEL_FLIP) {
        for (int i = 0; i < n; i++) {
            if (t->attack.source < 0) y[i] = n_classes - 1 - y[i];
            else if (y[i] == t->attack.source) y[i] = t->attack.target;
        }
    } else if (a->kind == ATK_BACKDOOR) {
        /* As Backdoor_Utils.get_poison_batch: the first share of the
         * (shuffled) batch carries the trigger. */
        int m = (int)ceil(t->attack.poison_fraction * n - 1e-9);
        for (int i = 0; i < m && i < n; i++) {
            fedc_attack_stamp(x + (size_t)i * dim, shape);
            y[i] = t->attack.target;
        }
    }
    return 1;
}
