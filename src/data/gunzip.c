/* gzip streams in memory: EMNIST ships its IDX files as .gz members of a
 * zip, so they are decompressed from the extracted bytes, not from disk. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "data/archive.h"

/* zlib counts in unsigned int: feed and drain at most this much per call. */
#define ZCHUNK ((size_t)1 << 30)

static int grow(uint8_t **buf, size_t *cap, size_t need_more, size_t max_out, const char *name,
                fedc_error *err) {
    size_t ncap = *cap < ((size_t)1 << 20) ? ((size_t)1 << 20) : *cap * 2;
    if (ncap > max_out + 1)
        ncap = max_out + 1;
    if (ncap <= *cap || ncap - *cap < need_more)
        ncap = *cap + need_more;
    uint8_t *nb = realloc(*buf, ncap);
    if (!nb)
        return fedc_fail(err, "%s: out of memory allocating %zu bytes for the decompressed data",
                         name, ncap);
    *buf = nb;
    *cap = ncap;
    return 0;
}

int data_gunzip(const uint8_t *in, size_t len, const char *name, size_t max_out, uint8_t **out,
                size_t *out_len, fedc_error *err) {
    *out = NULL;
    *out_len = 0;
    if (!name)
        name = "gzip data";
    if (len < 18 || in[0] != 0x1f || in[1] != 0x8b)
        return fedc_fail(err,
                         "%s: not gzip data (%zu bytes; a gzip stream starts with 1f 8b and is "
                         "at least 18 bytes)",
                         name, len);
    /* The last member's trailer holds its size mod 2^32: a first guess. */
    size_t isize = (size_t)in[len - 4] | (size_t)in[len - 3] << 8 | (size_t)in[len - 2] << 16 |
                   (size_t)in[len - 1] << 24;
    size_t cap = isize > 0 && isize <= max_out ? isize + 1 : 0;
    uint8_t *buf = NULL;
    if (cap && !(buf = malloc(cap)))
        return fedc_fail(err, "%s: out of memory allocating %zu bytes", name, cap);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 16) != Z_OK) {
        free(buf);
        return fedc_fail(err, "%s: cannot start gzip decompression (out of memory)", name);
    }
    size_t in_pos = 0, done = 0;
    int members = 0, rc = -1;
    for (;;) {
        if (done > max_out) {
            fedc_fail(err, "%s: decompresses to more than the %zu-byte limit for this file", name,
                      max_out);
            goto out;
        }
        if (done == cap && grow(&buf, &cap, 1, max_out, name, err) != 0)
            goto out;
        size_t feed = len - in_pos < ZCHUNK ? len - in_pos : ZCHUNK;
        size_t room = cap - done < ZCHUNK ? cap - done : ZCHUNK;
        zs.next_in = (Bytef *)(uintptr_t)(in + in_pos);
        zs.avail_in = (uInt)feed;
        zs.next_out = buf + done;
        zs.avail_out = (uInt)room;
        int z = inflate(&zs, Z_NO_FLUSH);
        in_pos += feed - zs.avail_in;
        done += room - zs.avail_out;
        if (z == Z_STREAM_END) {
            members++;
            if (in_pos == len)
                break;
            /* Another member follows, or the file has trailing bytes. */
            if (len - in_pos < 2 || in[in_pos] != 0x1f || in[in_pos + 1] != 0x8b) {
                fedc_fail(err,
                          "%s: %zu unexpected bytes after gzip member %d (at byte offset %zu)",
                          name, len - in_pos, members, in_pos);
                goto out;
            }
            inflateReset(&zs);
            continue;
        }
        if (z == Z_OK)
            continue;
        if (z == Z_BUF_ERROR && zs.avail_out == 0)
            continue; /* output full: grow and go on */
        if (z == Z_BUF_ERROR) {
            fedc_fail(err, "%s: truncated gzip stream: it ends after %zu decompressed bytes", name,
                      done);
            goto out;
        }
        fedc_fail(err, "%s: corrupt gzip data after %zu decompressed bytes: %s", name, done,
                  zs.msg ? zs.msg : "unknown zlib error");
        goto out;
    }
    if (done > max_out) {
        fedc_fail(err, "%s: decompresses to more than the %zu-byte limit for this file", name,
                  max_out);
        goto out;
    }
    rc = 0;
out:
    inflateEnd(&zs);
    if (rc != 0) {
        free(buf);
        return -1;
    }
    *out = buf ? buf : malloc(1);
    if (!*out)
        return fedc_fail(err, "%s: out of memory", name);
    *out_len = done;
    return 0;
}
