/* tar archives in memory (the CIFAR downloads are .tar.gz): 512-byte
 * headers, each followed by its member's data padded to 512 bytes. Names
 * come from the ustar prefix + name fields, a GNU long-name record ('L')
 * or a pax extended header's "path" record ('x'), whichever applies. */
#include <stdio.h>
#include <string.h>

#include "data/archive.h"

#define TAR_BLOCK 512
/* Longest member path accepted (long names included). */
#define TAR_NAME_MAX 4096

static int all_zero(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* Numeric header field: octal digits (space or NUL padded), or GNU base-256
 * (high bit of the first byte set) for large values. */
static int tar_number(const uint8_t *f, size_t n, uint64_t *out) {
    uint64_t v = 0;
    if (f[0] & 0x80) {
        if (f[0] != 0x80)
            return -1; /* negative or too large */
        for (size_t i = 1; i < n; i++) {
            if (v >> 56)
                return -1;
            v = v << 8 | f[i];
        }
        *out = v;
        return 0;
    }
    size_t i = 0;
    while (i < n && f[i] == ' ')
        i++;
    int digits = 0;
    for (; i < n && f[i] >= '0' && f[i] <= '7'; i++, digits++) {
        if (v >> 60)
            return -1;
        v = v * 8 + (uint64_t)(f[i] - '0');
    }
    for (; i < n; i++)
        if (f[i] != ' ' && f[i] != 0)
            return -1;
    if (!digits)
        return -1;
    *out = v;
    return 0;
}

/* The header checksum: the sum of all bytes with the checksum field taken
 * as spaces. */
static int checksum_ok(const uint8_t *h) {
    uint64_t want;
    if (tar_number(h + 148, 8, &want) != 0)
        return 0;
    uint64_t sum = 0;
    for (int i = 0; i < TAR_BLOCK; i++)
        sum += (i >= 148 && i < 156) ? (uint64_t)' ' : h[i];
    return sum == want;
}

/* Copies a NUL-or-length-terminated field. */
static void field_str(char *out, const uint8_t *f, size_t n) {
    size_t k = 0;
    while (k < n && f[k])
        k++;
    memcpy(out, f, k);
    out[k] = 0;
}

/* The "path" record of a pax extended header ("LEN path=VALUE\n"). */
static int pax_path(const uint8_t *p, size_t n, char *out, size_t cap) {
    size_t i = 0;
    while (i < n) {
        size_t len = 0, j = i;
        while (j < n && p[j] >= '0' && p[j] <= '9' && len < n)
            len = len * 10 + (size_t)(p[j++] - '0');
        if (j == i || j >= n || p[j] != ' ' || len > n - i || j + 2 > i + len)
            return -1;
        const uint8_t *rec = p + j + 1, *end = p + i + len;
        if (end[-1] != '\n')
            return -1;
        size_t rlen = (size_t)(end - 1 - rec);
        if (rlen >= 5 && memcmp(rec, "path=", 5) == 0) {
            if (rlen - 5 >= cap)
                return -1;
            memcpy(out, rec + 5, rlen - 5);
            out[rlen - 5] = 0;
        }
        i += len;
    }
    return 0;
}

int data_tar_walk(const uint8_t *buf, size_t len, const char *archive, data_tar_fn fn, void *ctx,
                  fedc_error *err) {
    if (!archive)
        archive = "tar archive";
    if (len == 0)
        return fedc_fail(err, "%s: empty file, expected a tar archive", archive);
    char name[TAR_NAME_MAX + 1], long_name[TAR_NAME_MAX + 1] = "";
    size_t pos = 0;
    int headers = 0;
    while (pos < len) {
        if (len - pos < TAR_BLOCK)
            return fedc_fail(err,
                             "%s: truncated: %zu bytes left at offset %zu, less than a %d-byte "
                             "header block",
                             archive, len - pos, pos, TAR_BLOCK);
        const uint8_t *h = buf + pos;
        if (all_zero(h, TAR_BLOCK))
            return headers ? 0 : fedc_fail(err, "%s: no members (starts with an end block)", archive);
        if (!checksum_ok(h))
            return fedc_fail(err,
                             "%s: header at offset %zu has a bad checksum: not a tar archive, or "
                             "corrupt",
                             archive, pos);
        headers++;
        uint64_t size;
        if (tar_number(h + 124, 12, &size) != 0)
            return fedc_fail(err, "%s: header at offset %zu has an unreadable size field", archive,
                             pos);
        size_t data_at = pos + TAR_BLOCK;
        if (size > len - data_at)
            return fedc_fail(err,
                             "%s: member at offset %zu declares %llu bytes but only %zu follow "
                             "(truncated archive)",
                             archive, pos, (unsigned long long)size, len - data_at);
        size_t padded = (size_t)size + ((TAR_BLOCK - (size_t)size % TAR_BLOCK) % TAR_BLOCK);
        size_t next = padded > len - data_at ? len : data_at + padded;
        char type = (char)h[156];
        const uint8_t *data = buf + data_at;
        if (type == 'L') { /* GNU: the next member's long name */
            if (size == 0 || size > TAR_NAME_MAX)
                return fedc_fail(err, "%s: long-name record at offset %zu of %llu bytes (allowed "
                                      "1..%d)",
                                 archive, pos, (unsigned long long)size, TAR_NAME_MAX);
            field_str(long_name, data, (size_t)size);
        } else if (type == 'x') { /* pax: records for the next member */
            if (pax_path(data, (size_t)size, long_name, sizeof long_name) != 0)
                return fedc_fail(err, "%s: malformed pax extended header at offset %zu", archive,
                                 pos);
        } else if (type == '0' || type == '\0' || type == '7') {
            if (long_name[0]) {
                memcpy(name, long_name, sizeof name);
                long_name[0] = 0;
            } else {
                char prefix[156], base[101];
                field_str(base, h, 100);
                /* ustar: a prefix of up to 155 bytes before the name */
                if (memcmp(h + 257, "ustar", 5) == 0)
                    field_str(prefix, h + 345, 155);
                else
                    prefix[0] = 0;
                snprintf(name, sizeof name, "%s%s%s", prefix, prefix[0] ? "/" : "", base);
            }
            int r = fn(ctx, name, data, (size_t)size, err);
            if (r < 0)
                return -1;
            if (r > 0)
                return 0;
        } else {
            long_name[0] = 0; /* directories, links, global headers: nothing to read */
        }
        pos = next;
    }
    return 0; /* archives cut right after a member's data (no end blocks) are accepted */
}

typedef struct find_ctx {
    const char *member;
    const uint8_t *data;
    size_t size;
    int found;
} find_ctx;

static int find_fn(void *vctx, const char *member, const uint8_t *data, size_t size,
                   fedc_error *err) {
    (void)err;
    find_ctx *c = vctx;
    size_t n = strlen(member), m = strlen(c->member);
    if (n == m ? strcmp(member, c->member) != 0
               : n < m + 1 || member[n - m - 1] != '/' || strcmp(member + n - m, c->member) != 0)
        return 0;
    c->data = data;
    c->size = size;
    c->found = 1;
    return 1;
}

int data_tar_find(const uint8_t *buf, size_t len, const char *archive, const char *member,
                  const uint8_t **data, size_t *size, fedc_error *err) {
    find_ctx c = {member, NULL, 0, 0};
    if (data_tar_walk(buf, len, archive, find_fn, &c, err) != 0)
        return -1;
    if (!c.found)
        return fedc_fail(err, "%s: no member named %s in the archive", archive ? archive : "tar",
                         member);
    *data = c.data;
    *size = c.size;
    return 0;
}
