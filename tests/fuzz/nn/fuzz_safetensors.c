/* Fuzz target: the safetensors loader on arbitrary bytes (must never crash,
 * read out of bounds, or write params unless it returns success). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/nn.h"

#define ARCH_SPEC "conv:2:3,gn:2,dense:3"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static fedc_arch *arch;
    static float *params, *copy;
    if (!arch) {
        arch = fedc_arch_parse(ARCH_SPEC, (fedc_shape){1, 4, 4}, 3, NULL);
        if (!arch) abort();
        params = calloc(fedc_arch_nparams(arch), sizeof *params);
        copy = calloc(fedc_arch_nparams(arch), sizeof *copy);
    }
    size_t bytes = fedc_arch_nparams(arch) * sizeof *params;
    memset(params, 0x5a, bytes);
    memcpy(copy, params, bytes);
    fedc_error err;
    if (fedc_safetensors_load_mem(data, size, "fuzz", arch, params, &err) < 0) {
        if (memcmp(copy, params, bytes) != 0) abort(); /* failed loads leave params alone */
        if (strlen(err.msg) == 0) abort();             /* and always explain why */
    }
    return 0;
}
