/* Fuzz target: the hostile node's outside input. The first byte picks
 * either an --attack spec (parsed, then applied to the default task) or a
 * colluder's file (decoded for a 16-value model, run 3, round 5). Neither
 * may crash; a spec that applies leaves a valid task that attacks as the
 * spec says, and a file that decodes holds only finite values. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    fedc_error err;
    if (data[0] & 1) {
        char spec[512];
        size_t n = size - 1 < sizeof spec - 1 ? size - 1 : sizeof spec - 1;
        memcpy(spec, data + 1, n);
        spec[n] = '\0';
        node_attack a;
        if (node_attack_parse(spec, &a, &err) != 0) return 0;
        fedc_task t;
        fedc_task_defaults(&t);
        if (node_attack_apply(&a, data[0] >> 1, &t, &err) != 0) return 0;
        if (fedc_task_validate(&t, &err) != 0) abort();
        if (!a.unreliable && (strcmp(t.attack.kind, a.kind) != 0 || t.attack.fraction != 1)) abort();
        if (a.unreliable && (strcmp(t.attack.kind, "none") != 0 || t.attack.unreliable != 1)) abort();
        return 0;
    }
    float out[16];
    if (node_collude_decode(data + 1, size - 1, 3, 5, 16, out, &err) == 0)
        for (int j = 0; j < 16; j++)
            if (!isfinite(out[j])) abort();
    return 0;
}
