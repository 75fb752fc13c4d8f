/* IDX files (the MNIST format): unsigned-byte images (magic 0x00000803,
 * dims count x rows x cols) and labels (magic 0x00000801, dim count), all
 * header numbers big-endian. Everything is checked before allocating. */
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

#define IDX_TYPE_UBYTE 0x08
#define IDX_MAGIC_IMAGES 0x00000803u
#define IDX_MAGIC_LABELS 0x00000801u
/* Largest image side accepted (keeps the shape in int range). */
#define IDX_MAX_SIDE 32768

typedef struct idx_header {
    uint32_t magic;
    uint32_t dims[3];
    size_t header_len; /* bytes before the data */
    size_t data_len;   /* bytes of data the header declares */
} idx_header;

static const char *idx_type_name(int t) {
    switch (t) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "16-bit int";
    case 0x0C: return "32-bit int";
    case 0x0D: return "float";
    case 0x0E: return "double";
    default: return "unknown type";
    }
}

/* Checks magic and dims of an images (ndims 3) or labels (ndims 1) file
 * and that exactly the declared data follows. */
static int idx_header_read(const uint8_t *p, size_t len, const char *name, int images,
                           idx_header *h, fedc_error *err) {
    const char *what = images ? "images" : "labels";
    const uint32_t want = images ? IDX_MAGIC_IMAGES : IDX_MAGIC_LABELS;
    const int want_nd = images ? 3 : 1;
    if (len < 4)
        return fedc_fail(err,
                         "%s: truncated: %zu bytes, an IDX %s file starts with the 4-byte "
                         "magic 0x%08X",
                         name, len, what, want);
    if (p[0] == 0x1f && p[1] == 0x8b)
        return fedc_fail(err,
                         "%s: gzip-compressed data given to the IDX parser (decompress it "
                         "first; fedc_load_idx does)",
                         name);
    h->magic = data_be32(p);
    if (p[0] != 0 || p[1] != 0)
        return fedc_fail(err, "%s: bad magic 0x%08X: not an IDX file (expected 0x%08X for %s)",
                         name, h->magic, want, what);
    if (p[2] != IDX_TYPE_UBYTE)
        return fedc_fail(err,
                         "%s: bad magic 0x%08X: element type 0x%02X (%s) is not supported, "
                         "only unsigned bytes (0x%08X for %s)",
                         name, h->magic, p[2], idx_type_name(p[2]), want, what);
    if (p[3] != want_nd) {
        if (h->magic == (images ? IDX_MAGIC_LABELS : IDX_MAGIC_IMAGES))
            return fedc_fail(err,
                             "%s: magic 0x%08X is an IDX %s file, expected %s (0x%08X): are "
                             "the images and labels files swapped?",
                             name, h->magic, images ? "labels" : "images", what, want);
        return fedc_fail(err, "%s: bad magic 0x%08X: %d dimensions, expected %d for %s (0x%08X)",
                         name, h->magic, p[3], want_nd, what, want);
    }
    h->header_len = 4 + 4 * (size_t)want_nd;
    if (len < h->header_len)
        return fedc_fail(err, "%s: truncated header: %zu bytes, an IDX %s header is %zu bytes",
                         name, len, what, h->header_len);
    uint64_t total = 1;
    for (int i = 0; i < want_nd; i++) {
        h->dims[i] = data_be32(p + 4 + 4 * i);
        if (h->dims[i] == 0)
            return fedc_fail(err, "%s: dimension %d is 0 (%s), nothing to load", name, i,
                             i == 0   ? "sample count"
                             : i == 1 ? "rows"
                                      : "columns");
        total *= h->dims[i]; /* each factor < 2^32 and total stays < 2^32 below */
        if (total > FEDC_DATA_MAX_BYTES) {
            if (images)
                return fedc_fail(err,
                                 "%s: declares %u images of %ux%u pixels, more than the "
                                 "limit of %zu pixel bytes",
                                 name, h->dims[0], data_be32(p + 8), data_be32(p + 12),
                                 FEDC_DATA_MAX_BYTES);
            return fedc_fail(err, "%s: declares %u labels, more than the limit of %zu", name,
                             h->dims[0], FEDC_DATA_MAX_BYTES);
        }
    }
    if (images && (h->dims[1] > IDX_MAX_SIDE || h->dims[2] > IDX_MAX_SIDE))
        return fedc_fail(err, "%s: images of %ux%u pixels: each side may be at most %d", name,
                         h->dims[1], h->dims[2], IDX_MAX_SIDE);
    h->data_len = (size_t)total;
    size_t have = len - h->header_len;
    if (have < h->data_len) {
        if (images)
            return fedc_fail(err,
                             "%s: truncated: the header declares %u images of %ux%u "
                             "(%zu bytes) but only %zu bytes follow",
                             name, h->dims[0], h->dims[1], h->dims[2], h->data_len, have);
        return fedc_fail(err,
                         "%s: truncated: the header declares %u labels but only %zu bytes "
                         "follow",
                         name, h->dims[0], have);
    }
    if (have > h->data_len)
        return fedc_fail(err,
                         "%s: %zu unexpected bytes after the %u %s the header declares "
                         "(wrong header or concatenated files?)",
                         name, have - h->data_len, h->dims[0], what);
    return 0;
}

int fedc_parse_idx(const void *images, size_t images_len, const char *images_name,
                   const void *labels, size_t labels_len, const char *labels_name, int n_classes,
                   fedc_dataset *out, fedc_error *err) {
    memset(out, 0, sizeof *out);
    const char *iname = images_name ? images_name : "images";
    const char *lname = labels_name ? labels_name : "labels";
    if (n_classes > FEDC_DATA_MAX_CLASSES)
        return fedc_fail(err, "%s: n_classes %d above the limit %d", lname, n_classes,
                         FEDC_DATA_MAX_CLASSES);
    if (!images && images_len)
        return fedc_fail(err, "%s: no data", iname);
    if (!labels && labels_len)
        return fedc_fail(err, "%s: no data", lname);
    idx_header ih = {0}, lh = {0};
    if (idx_header_read(images, images_len, iname, 1, &ih, err) != 0 ||
        idx_header_read(labels, labels_len, lname, 0, &lh, err) != 0)
        return -1;
    if (ih.dims[0] != lh.dims[0])
        return fedc_fail(err,
                         "%s: declares %u labels but %s declares %u images: the files do "
                         "not belong together",
                         lname, lh.dims[0], iname, ih.dims[0]);
    const uint8_t *lab = (const uint8_t *)labels + lh.header_len;
    const size_t n = ih.dims[0];
    int max_label = 0;
    for (size_t i = 0; i < n; i++) {
        if (n_classes > 0 && lab[i] >= n_classes)
            return fedc_fail(err, "%s: label %u at index %zu is out of range: allowed 0..%d", lname,
                             lab[i], i, n_classes - 1);
        if (lab[i] > max_label)
            max_label = lab[i];
    }
    int classes = n_classes > 0 ? n_classes : (max_label + 1 < 2 ? 2 : max_label + 1);
    fedc_shape shape = {1, (int)ih.dims[1], (int)ih.dims[2]};
    if (data_alloc_bytes(out, n, shape, classes, iname, err) != 0)
        return -1;
    memcpy(out->x8, (const uint8_t *)images + ih.header_len, ih.data_len);
    for (size_t i = 0; i < n; i++)
        out->y[i] = lab[i];
    return 0;
}

int fedc_load_idx_classes(const char *images_path, const char *labels_path, int n_classes,
                          fedc_dataset *out, fedc_error *err) {
    memset(out, 0, sizeof *out);
    uint8_t *ib = NULL, *lb = NULL;
    size_t il = 0, ll = 0;
    /* Headers are at most 16 bytes beyond the data limit. */
    if (data_read_file(images_path, FEDC_DATA_MAX_BYTES + 16, &ib, &il, err) != 0)
        return -1;
    if (data_read_file(labels_path, FEDC_DATA_MAX_BYTES + 8, &lb, &ll, err) != 0) {
        free(ib);
        return -1;
    }
    int rc = fedc_parse_idx(ib, il, images_path, lb, ll, labels_path, n_classes, out, err);
    free(ib);
    free(lb);
    return rc;
}

int fedc_load_idx(const char *images_path, const char *labels_path, fedc_dataset *out,
                  fedc_error *err) {
    return fedc_load_idx_classes(images_path, labels_path, 0, out, err);
}
