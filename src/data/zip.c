/* zip archives (EMNIST's gzip.zip and matlab.zip): the end-of-central-
 * directory record locates the central directory, whose entry for the
 * member gives its method, sizes, CRC-32 and local header; the data after
 * the local header is stored or raw-deflated. Read with pread, so a 700 MB
 * archive is never held in memory, only the member asked for. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "data/archive.h"

#define SIG_EOCD 0x06054b50u
#define SIG_CDIR 0x02014b50u
#define SIG_LOCAL 0x04034b50u
#define SIG_EOCD64_LOC 0x07064b50u
#define EOCD_LEN 22
#define CDIR_LEN 46
#define LOCAL_LEN 30
/* The EOCD ends the file, after a comment of at most 65535 bytes. */
#define EOCD_SEARCH (EOCD_LEN + 65535)
/* Central directories larger than this are refused (EMNIST's are ~2 KB). */
#define CDIR_MAX ((size_t)64 << 20)
/* Input fed to inflate per read. */
#define READ_CHUNK ((size_t)1 << 20)

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static int mem_pread(void *ctx, uint8_t *dst, size_t n, uint64_t off, fedc_error *err) {
    data_zip_mem *m = ctx;
    if (off > m->len || n > m->len - off)
        return fedc_fail(err, "read of %zu bytes at offset %llu is past the end (%zu bytes)", n,
                         (unsigned long long)off, m->len);
    memcpy(dst, m->buf + off, n);
    return 0;
}

void data_zip_src_mem(data_zip_src *src, data_zip_mem *mem, const uint8_t *buf, size_t len,
                      const char *name) {
    mem->buf = buf;
    mem->len = len;
    src->pread = mem_pread;
    src->ctx = mem;
    src->size = len;
    src->name = name;
}

static int rd(const data_zip_src *s, uint8_t *dst, size_t n, uint64_t off, fedc_error *err) {
    if (off > s->size || n > s->size - off)
        return fedc_fail(err, "%s: truncated: needs %zu bytes at offset %llu but the archive has "
                              "%llu bytes",
                         s->name, n, (unsigned long long)off, (unsigned long long)s->size);
    if (s->pread(s->ctx, dst, n, off, err) != 0)
        return fedc_fail_prefix(err, "%s: ", s->name);
    return 0;
}

typedef struct zip_entry {
    uint16_t flags, method;
    uint32_t crc, csize, usize, local_off;
} zip_entry;

/* Finds the end-of-central-directory record; returns the central
 * directory's offset, size and entry count. */
static int find_eocd(const data_zip_src *s, uint64_t *cd_off, size_t *cd_size, unsigned *entries,
                     fedc_error *err) {
    if (s->size < EOCD_LEN)
        return fedc_fail(err, "%s: %llu bytes: too short to be a zip archive", s->name,
                         (unsigned long long)s->size);
    size_t tail = s->size < EOCD_SEARCH ? (size_t)s->size : EOCD_SEARCH;
    uint8_t *t = malloc(tail);
    if (!t)
        return fedc_fail(err, "%s: out of memory", s->name);
    uint64_t base = s->size - tail;
    if (rd(s, t, tail, base, err) != 0) {
        free(t);
        return -1;
    }
    long at = -1;
    for (long i = (long)tail - EOCD_LEN; i >= 0; i--) {
        if (le32(t + i) == SIG_EOCD && (size_t)i + EOCD_LEN + le16(t + i + 20) == tail) {
            at = i;
            break;
        }
    }
    if (at < 0) {
        free(t);
        return fedc_fail(err,
                         "%s: no end-of-central-directory record: not a zip archive, or a "
                         "truncated download",
                         s->name);
    }
    const uint8_t *e = t + at;
    unsigned disk = le16(e + 4), cd_disk = le16(e + 6), on_disk = le16(e + 8), total = le16(e + 10);
    uint32_t size = le32(e + 12), off = le32(e + 16);
    int zip64 = at >= 20 && le32(e - 20) == SIG_EOCD64_LOC;
    free(t);
    if (zip64 || total == 0xFFFF || size == 0xFFFFFFFFu || off == 0xFFFFFFFFu)
        return fedc_fail(err, "%s: a ZIP64 archive; only plain zip archives (under 4 GB) are read",
                         s->name);
    if (disk != 0 || cd_disk != 0 || on_disk != total)
        return fedc_fail(err, "%s: a multi-part (spanned) zip archive is not supported", s->name);
    if ((uint64_t)off + size > base + (uint64_t)at)
        return fedc_fail(err,
                         "%s: the central directory (%u bytes at offset %u) overlaps the end "
                         "record: corrupt archive",
                         s->name, size, off);
    if (size > CDIR_MAX)
        return fedc_fail(err, "%s: central directory of %u bytes, more than the %zu allowed",
                         s->name, size, CDIR_MAX);
    *cd_off = off;
    *cd_size = size;
    *entries = total;
    return 0;
}

static int find_entry(const data_zip_src *s, const char *member, zip_entry *out, fedc_error *err) {
    uint64_t cd_off = 0;
    size_t cd_size = 0;
    unsigned entries = 0;
    if (find_eocd(s, &cd_off, &cd_size, &entries, err) != 0)
        return -1;
    uint8_t *cd = malloc(cd_size ? cd_size : 1);
    if (!cd)
        return fedc_fail(err, "%s: out of memory", s->name);
    if (rd(s, cd, cd_size, cd_off, err) != 0) {
        free(cd);
        return -1;
    }
    size_t mlen = strlen(member), pos = 0;
    int rc = -1;
    for (unsigned i = 0; i < entries; i++) {
        if (cd_size - pos < CDIR_LEN || le32(cd + pos) != SIG_CDIR) {
            fedc_fail(err, "%s: central directory entry %u (offset %llu) is malformed", s->name, i,
                      (unsigned long long)(cd_off + pos));
            goto out;
        }
        const uint8_t *e = cd + pos;
        size_t nlen = le16(e + 28), xlen = le16(e + 30), clen = le16(e + 32);
        if (cd_size - pos - CDIR_LEN < nlen + xlen + clen) {
            fedc_fail(err, "%s: central directory entry %u runs past the directory", s->name, i);
            goto out;
        }
        if (nlen == mlen && memcmp(e + CDIR_LEN, member, mlen) == 0) {
            out->flags = le16(e + 8);
            out->method = le16(e + 10);
            out->crc = le32(e + 16);
            out->csize = le32(e + 20);
            out->usize = le32(e + 24);
            out->local_off = le32(e + 42);
            rc = 0;
            goto out;
        }
        pos += CDIR_LEN + nlen + xlen + clen;
    }
    fedc_fail(err, "%s: no member named %s in the archive (%u members)", s->name, member, entries);
out:
    free(cd);
    return rc;
}

/* Inflates raw deflate data of csize bytes at off into out[0..usize). */
static int inflate_member(const data_zip_src *s, const char *member, uint64_t off,
                          const zip_entry *e, uint8_t *out, fedc_error *err) {
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, -15) != Z_OK)
        return fedc_fail(err, "%s: %s: cannot start decompression (out of memory)", s->name, member);
    uint8_t *chunk = malloc(READ_CHUNK);
    if (!chunk) {
        inflateEnd(&zs);
        return fedc_fail(err, "%s: out of memory", s->name);
    }
    size_t left = e->csize;
    zs.next_out = out;
    zs.avail_out = e->usize;
    int z = Z_OK, rc = -1;
    while (z != Z_STREAM_END) {
        if (zs.avail_in == 0) {
            if (left == 0) {
                fedc_fail(err, "%s: %s: compressed data ends before the member is complete (%lu of "
                               "%u bytes)",
                          s->name, member, zs.total_out, e->usize);
                goto out;
            }
            size_t n = left < READ_CHUNK ? left : READ_CHUNK;
            if (rd(s, chunk, n, off, err) != 0)
                goto out;
            off += n;
            left -= n;
            zs.next_in = chunk;
            zs.avail_in = (uInt)n;
        }
        z = inflate(&zs, Z_NO_FLUSH);
        if (z == Z_BUF_ERROR && zs.avail_out == 0) {
            fedc_fail(err, "%s: %s: decompresses to more than its recorded %u bytes", s->name,
                      member, e->usize);
            goto out;
        }
        if (z != Z_OK && z != Z_STREAM_END && z != Z_BUF_ERROR) {
            fedc_fail(err, "%s: %s: corrupt compressed data after %lu bytes: %s", s->name, member,
                      zs.total_out, zs.msg ? zs.msg : "unknown zlib error");
            goto out;
        }
    }
    if (zs.total_out != e->usize) {
        fedc_fail(err, "%s: %s: decompressed to %lu bytes, the directory records %u", s->name,
                  member, zs.total_out, e->usize);
        goto out;
    }
    rc = 0;
out:
    free(chunk);
    inflateEnd(&zs);
    return rc;
}

int data_zip_extract(const data_zip_src *s, const char *member, size_t max_out, uint8_t **out,
                     size_t *out_len, fedc_error *err) {
    *out = NULL;
    *out_len = 0;
    zip_entry e = {0};
    if (find_entry(s, member, &e, err) != 0)
        return -1;
    if (e.flags & 1)
        return fedc_fail(err, "%s: %s is encrypted", s->name, member);
    if (e.method != 0 && e.method != 8)
        return fedc_fail(err,
                         "%s: %s uses compression method %u; only stored (0) and deflate (8) "
                         "are supported",
                         s->name, member, e.method);
    if (e.usize > max_out)
        return fedc_fail(err, "%s: %s is %u bytes, more than the %zu-byte limit for this file",
                         s->name, member, e.usize, max_out);
    if (e.method == 0 && e.csize != e.usize)
        return fedc_fail(err, "%s: %s is stored but records %u compressed and %u plain bytes",
                         s->name, member, e.csize, e.usize);
    uint8_t lh[LOCAL_LEN];
    if (rd(s, lh, LOCAL_LEN, e.local_off, err) != 0)
        return -1;
    if (le32(lh) != SIG_LOCAL)
        return fedc_fail(err, "%s: %s: no local header at offset %u: corrupt archive", s->name,
                         member, e.local_off);
    uint64_t data_off = (uint64_t)e.local_off + LOCAL_LEN + le16(lh + 26) + le16(lh + 28);
    if (data_off > s->size || e.csize > s->size - data_off)
        return fedc_fail(err,
                         "%s: %s: %u bytes of data at offset %llu run past the end of the "
                         "archive (%llu bytes): truncated download?",
                         s->name, member, e.csize, (unsigned long long)data_off,
                         (unsigned long long)s->size);
    uint8_t *buf = malloc(e.usize ? e.usize : 1);
    if (!buf)
        return fedc_fail(err, "%s: out of memory allocating %u bytes for %s", s->name, e.usize,
                         member);
    int rc = e.method == 0 ? rd(s, buf, e.usize, data_off, err)
                           : inflate_member(s, member, data_off, &e, buf, err);
    if (rc == 0) {
        uLong crc = crc32(0L, Z_NULL, 0);
        size_t at = 0;
        while (at < e.usize) {
            size_t n = e.usize - at < READ_CHUNK ? e.usize - at : READ_CHUNK;
            crc = crc32(crc, buf + at, (uInt)n);
            at += n;
        }
        if ((uint32_t)crc != e.crc)
            rc = fedc_fail(err, "%s: %s: CRC-32 %08x does not match the recorded %08x: corrupt "
                                "data",
                           s->name, member, (unsigned)crc, e.crc);
    }
    if (rc != 0) {
        free(buf);
        return -1;
    }
    *out = buf;
    *out_len = e.usize;
    return 0;
}

typedef struct file_ctx {
    int fd;
} file_ctx;

static int file_pread(void *ctx, uint8_t *dst, size_t n, uint64_t off, fedc_error *err) {
    file_ctx *f = ctx;
    size_t done = 0;
    while (done < n) {
        ssize_t got = pread(f->fd, dst + done, n - done, (off_t)(off + done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return fedc_fail(err, "read error: %s", strerror(errno));
        if (got == 0)
            return fedc_fail(err, "unexpected end of file at offset %llu",
                             (unsigned long long)(off + done));
        done += (size_t)got;
    }
    return 0;
}

int data_zip_extract_file(const char *path, const char *member, size_t max_out, uint8_t **out,
                          size_t *out_len, fedc_error *err) {
    *out = NULL;
    *out_len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fedc_fail(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return fedc_fail(err, "%s: not a regular file", path);
    }
    file_ctx fc = {fd};
    data_zip_src s = {file_pread, &fc, (uint64_t)st.st_size, path};
    int rc = data_zip_extract(&s, member, max_out, out, out_len, err);
    close(fd);
    return rc;
}
