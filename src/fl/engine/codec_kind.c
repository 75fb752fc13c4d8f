#include <string.h>

#include "engine_internal.h"

int fedc_engine_codec_lossless(const fedc_codec *c) {
    /* Canonical names are stage names joined by '|'; only these are exact. */
    const char *p = fedc_codec_name(c);
    while (*p) {
        size_t n = strcspn(p, "|");
        if (!((n == 4 && !strncmp(p, "none", 4)) || (n == 4 && !strncmp(p, "zstd", 4)))) return 0;
        p += n;
        if (*p == '|') p++;
    }
    return 1;
}

void fedc_engine_initial_model(const fedc_task *t, const fedc_arch *a, float *x) {
    fedc_rng init_rng = fedc_rng_derive(t->seed, 0x1417, 0);
    /* The task validator allows only "he" and "torch". */
    fedc_init_kind kind = strcmp(t->init, "torch") == 0 ? FEDC_INIT_TORCH : FEDC_INIT_HE;
    fedc_arch_init_kind(a, x, &init_rng, kind);
}
