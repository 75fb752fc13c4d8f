/* Fuzzes the catalog override file ($FEDC_DATA_CATALOG): any input is
 * refused with a message or gives a catalog whose entries stay sound. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/catalog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fedc_error err;
    fedc_catalog *c = fedc_catalog_load_json((const char *)data, size, "fuzz.json", &err);
    if (!c) {
        if (!err.msg[0]) abort();
        return 0;
    }
    for (int i = 0; i < fedc_catalog_count(c); i++) {
        const fedc_catalog_entry *e = fedc_catalog_at(c, i);
        for (int f = 0; f < e->nfiles; f++) {
            const fedc_catalog_file *file = &e->files[f];
            if (!file->max_size || (file->size && file->size != file->max_size)) abort();
            if (file->sha256[0] && strlen(file->sha256) != 64) abort();
            for (int u = 0; u < FEDC_CATALOG_MAX_URLS; u++)
                if (!memchr(file->urls[u], 0, sizeof file->urls[u])) abort();
        }
        if (!memchr(e->system_dir, 0, sizeof e->system_dir)) abort();
    }
    fedc_catalog_free(c);
    return 0;
}
