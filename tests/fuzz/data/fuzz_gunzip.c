/* Fuzzes the in-memory gzip decoder (EMNIST's .gz members) with a small
 * output cap, so bombs and lies in the trailer are bounded. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "data/archive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *out;
    size_t len;
    fedc_error err;
    if (data_gunzip(data, size, "fuzz.gz", 1 << 16, &out, &len, &err) == 0) {
        if (len > (1 << 16)) abort();
        free(out);
    }
    return 0;
}
