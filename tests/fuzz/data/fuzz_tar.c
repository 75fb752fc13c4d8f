/* Fuzzes the tar reader (CIFAR's .tar.gz downloads, once decompressed) and
 * the CIFAR-100 record parser fed with what a walk finds. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/archive.h"
#include "fedc/data.h"

typedef struct ctx {
    const uint8_t *buf;
    size_t len;
    int members;
} ctx;

static int each(void *vc, const char *member, const uint8_t *d, size_t n, fedc_error *err) {
    (void)err;
    ctx *c = vc;
    if (!member || (n && (d < c->buf || d + n > c->buf + c->len))) abort();
    if (strlen(member) > 4096) abort();
    fedc_dataset ds;
    fedc_error e;
    if (fedc_parse_cifar100(d, n, member, c->members & 1, &ds, &e) == 0) fedc_dataset_free(&ds);
    c->members++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ctx c = {data, size, 0};
    fedc_error err;
    data_tar_walk(data, size, "fuzz.tar", each, &c, &err);
    const uint8_t *d;
    size_t n;
    if (data_tar_find(data, size, "fuzz.tar", "test_batch.bin", &d, &n, &err) == 0 &&
        (n > size || d < data || d + n > data + size))
        abort();
    return 0;
}
