/* Fuzzes the zip reader (EMNIST's gzip.zip and matlab.zip) on an archive in
 * memory, and the gzip decoder on what it extracts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "data/archive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const members[] = {"gzip/emnist-digits-train-images-idx3-ubyte.gz",
                                          "matlab/emnist-byclass.mat", "a", "b.bin"};
    data_zip_src src;
    data_zip_mem mem;
    data_zip_src_mem(&src, &mem, data, size, "fuzz.zip");
    for (size_t k = 0; k < sizeof members / sizeof members[0]; k++) {
        uint8_t *out;
        size_t len;
        fedc_error err;
        if (data_zip_extract(&src, members[k], 1 << 20, &out, &len, &err) != 0) continue;
        if (len > (1 << 20)) abort();
        uint8_t *raw;
        size_t rlen;
        if (data_gunzip(out, len, "member.gz", 1 << 20, &raw, &rlen, &err) == 0) {
            if (rlen > (1 << 20)) abort();
            free(raw);
        }
        free(out);
    }
    return 0;
}
