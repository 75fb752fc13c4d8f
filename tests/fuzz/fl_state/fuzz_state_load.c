/* Fuzz target: arbitrary bytes as a state-store checkpoint (fedc_state_load).
 * Loading must either succeed with at most the store's clients, each record
 * readable, or fail with a message; never crash, leak or read past the file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    FILE *f = fmemopen((void *)data, size ? size : 1, "rb");
    if (!f) return 0;
    if (size == 0) fgetc(f); /* an empty file */
    fedc_error err;
    fedc_state_config cfg = {8, 32, NULL}; /* records of 8 bytes, 4 in memory */
    fedc_state_store *s = fedc_state_create(&cfg, 16, &err);
    if (!s) abort();
    if (fedc_state_load(s, f, &err) == 0) {
        fedc_state_stats st;
        fedc_state_stats_get(s, &st);
        if (st.records > 16) abort();
        for (int k = 0; k < 16; k++) {
            if (!fedc_state_has(s, k)) continue;
            void *r = fedc_state_acquire(s, k, &err);
            if (!r) abort();
            fedc_state_release(s, k);
        }
    } else if (err.msg[0] == '\0') {
        abort();
    }
    fclose(f);
    fedc_state_free(s);
    return 0;
}
