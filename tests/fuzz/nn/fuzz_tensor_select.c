/* Fuzz target: tensor selectors (strategy.local_params). Input: 1 byte
 * choosing one of a few architectures, then the selector text. A selector
 * is accepted or refused with a message; an accepted one marks exactly the
 * count it returns. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/nn.h"

#define MAX_SELECTOR 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size - 1 > MAX_SELECTOR) return 0;
    static const char *const specs[] = {"mlp", "cnn", "wsconv:4:3,bn,pool:2,dense:8,bn,dense:10",
                                        "conv:4:3,gn:2,pool:2,dense:10"};
    fedc_error err;
    fedc_arch *a = fedc_arch_parse(specs[data[0] % 4], (fedc_shape){1, 12, 12}, 10, &err);
    if (!a) abort();
    char sel[MAX_SELECTOR + 1];
    memcpy(sel, data + 1, size - 1);
    sel[size - 1] = '\0';
    unsigned char mask[256];
    memset(mask, 0xAA, sizeof mask);
    int n = fedc_arch_select(a, sel, mask, &err);
    if (n < 0) {
        if (strlen(err.msg) == 0) abort();
    } else {
        int marked = 0;
        for (int i = 0; i < fedc_arch_ntensors(a); i++) {
            if (mask[i] > 1) abort();
            marked += mask[i];
        }
        if (marked != n) abort();
    }
    fedc_arch_free(a);
    return 0;
}
