/* Fuzz target for the CSV client trace parser. Byte 0 picks the number of
 * clients in the run (1..8); the rest is the file. A parse must fail with a
 * message or give a profile whose clients all have positive finite speeds
 * and a 0/1 availability at any round. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "fedc/sched.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int n = 1 + data[0] % 8;
    fedc_error err;
    err.msg[0] = '\0';
    fedc_profile *p = fedc_profile_from_csv((const char *)data + 1, size - 1, "fuzz.csv", n, &err);
    if (!p) {
        if (err.msg[0] == '\0') abort();
        return 0;
    }
    static const int rounds[] = {-1, 0, 1, 9, 10, 29, 1000, 1000000000, 2147483647};
    for (int k = -1; k <= n; k++) {
        for (size_t r = 0; r < sizeof rounds / sizeof *rounds; r++) {
            fedc_client_info info = {0};
            info.available = -1;
            fedc_profile_apply(p, k, rounds[r], &info);
            if (info.available != 0 && info.available != 1) abort();
            if (k < 0 || k >= n) {
                if (info.available) abort();
                continue;
            }
            if (!(info.samples_per_s > 0 && isfinite(info.samples_per_s) && info.up_bps > 0 &&
                  isfinite(info.up_bps) && info.down_bps > 0 && isfinite(info.down_bps)))
                abort();
        }
    }
    fedc_profile_free(p);
    return 0;
}
