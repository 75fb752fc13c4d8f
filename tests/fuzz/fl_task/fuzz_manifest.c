/* Fuzz target: arbitrary bytes as a tensor manifest (a node's HELLO, a
 * task's model.manifest). A manifest that parses must survive canonical
 * text -> parse unchanged, compare equal to itself, and have consistent
 * offsets and counts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fedc_manifest m;
    fedc_error err;
    if (fedc_manifest_parse((const char *)data, size, &m, &err) != 0) {
        if (!err.msg[0]) abort();
        return 0;
    }
    size_t off = 0;
    for (int i = 0; i < m.n; i++) {
        size_t c = 1;
        for (int d = 0; d < m.t[i].ndim; d++) c *= (size_t)m.t[i].dims[d];
        if (m.t[i].offset != off || m.t[i].count != c) abort();
        off += c;
    }
    if (off != m.total || m.total > FEDC_MANIFEST_MAX_VALUES) abort();
    char *text = fedc_manifest_to_json(&m);
    if (!text) abort();
    fedc_manifest back;
    if (fedc_manifest_parse(text, strlen(text), &back, &err) != 0) abort();
    if (fedc_manifest_compare(&m, &back, &err) != 0 || back.total != m.total) abort();
    char *again = fedc_manifest_to_json(&back);
    if (!again || strcmp(again, text) != 0) abort();
    free(again);
    free(text);
    fedc_manifest_free(&back);
    fedc_manifest_free(&m);
    return 0;
}
