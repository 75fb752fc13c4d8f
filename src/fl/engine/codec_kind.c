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
