/* Whole-file reads for the loaders, plain or gzip (detected by magic). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "data/data_internal.h"

/* Largest single read request: gzread takes an unsigned int. */
#define READ_CHUNK ((size_t)1 << 30)
/* Deflate cannot expand data by more than about 1032:1, so a gzip file's
 * size bounds its content: used to sanity-check the trailer's size hint. */
#define DEFLATE_MAX_RATIO 1032

typedef struct reader {
    int fd;
    gzFile gz; /* NULL for plain files */
} reader;

/* Returns bytes read, 0 at end of data, -1 on error. */
static long reader_read(reader *r, uint8_t *dst, size_t n) {
    if (n > READ_CHUNK)
        n = READ_CHUNK;
    if (r->gz)
        return gzread(r->gz, dst, (unsigned)n);
    for (;;) {
        ssize_t got = read(r->fd, dst, n);
        if (got < 0 && errno == EINTR)
            continue;
        return (long)got;
    }
}

static int describe_gz_error(reader *r, const char *path, size_t done, fedc_error *err) {
    int errnum = 0;
    const char *msg = gzerror(r->gz, &errnum);
    if (errnum == Z_BUF_ERROR)
        return fedc_fail(err, "%s: truncated gzip stream: it ends after %zu decompressed bytes",
                         path, done);
    if (errnum == Z_ERRNO)
        return fedc_fail(err, "%s: read error: %s", path, strerror(errno));
    /* zlib prefixes its message with the stream's name, "<fd:N>: " here. */
    if (msg && msg[0] == '<' && strstr(msg, ">: "))
        msg = strstr(msg, ">: ") + 3;
    return fedc_fail(err, "%s: corrupt gzip data after %zu decompressed bytes: %s", path, done,
                     msg && *msg ? msg : "unknown zlib error");
}

/* Initial buffer size: the exact size for plain files; for gzip the
 * trailer's ISIZE (content size mod 2^32), if plausible. */
static size_t size_hint(int fd, const struct stat *st, int gz) {
    if (!S_ISREG(st->st_mode) || st->st_size <= 0)
        return (size_t)1 << 20;
    size_t fsize = (size_t)st->st_size;
    if (!gz)
        return fsize;
    uint8_t t[4];
    if (fsize < 18 || pread(fd, t, 4, (off_t)(fsize - 4)) != 4)
        return fsize * 4;
    size_t isize = (size_t)t[0] | (size_t)t[1] << 8 | (size_t)t[2] << 16 | (size_t)t[3] << 24;
    size_t bound = fsize > SIZE_MAX / DEFLATE_MAX_RATIO ? SIZE_MAX : fsize * DEFLATE_MAX_RATIO;
    if (isize == 0 || isize > bound)
        return fsize * 4;
    return isize;
}

static int read_all(reader *r, const char *path, size_t hint, size_t max_bytes, uint8_t **out,
                    size_t *out_len, fedc_error *err) {
    /* One byte beyond the expected size lets the end be seen without a
     * regrow; capacity never exceeds max_bytes + 1. */
    size_t cap = (hint < max_bytes ? hint : max_bytes) + 1;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return fedc_fail(err, "%s: out of memory allocating %zu bytes", path, cap);
    size_t len = 0;
    for (;;) {
        if (len == cap) {
            if (cap > max_bytes) {
                free(buf);
                return fedc_fail(err, "%s: larger than the %zu-byte limit for this kind of file",
                                 path, max_bytes);
            }
            size_t ncap = cap > max_bytes / 2 ? max_bytes + 1 : cap * 2;
            uint8_t *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                return fedc_fail(err, "%s: out of memory allocating %zu bytes", path, ncap);
            }
            buf = nb;
            cap = ncap;
        }
        long got = reader_read(r, buf + len, cap - len);
        if (got < 0) {
            free(buf);
            if (r->gz)
                return describe_gz_error(r, path, len, err);
            return fedc_fail(err, "%s: read error: %s", path, strerror(errno));
        }
        if (got == 0)
            break;
        len += (size_t)got;
    }
    if (len > max_bytes) {
        free(buf);
        return fedc_fail(err, "%s: larger than the %zu-byte limit for this kind of file", path,
                         max_bytes);
    }
    if (r->gz) {
        /* gzread reports a stream cut short as end of data plus a buffer
         * error; a clean end leaves Z_OK. */
        int errnum = 0;
        gzerror(r->gz, &errnum);
        if (errnum != Z_OK) {
            free(buf);
            return describe_gz_error(r, path, len, err);
        }
    }
    *out = buf;
    *out_len = len;
    return 0;
}

int data_read_file(const char *path, size_t max_bytes, uint8_t **buf, size_t *len,
                   fedc_error *err) {
    *buf = NULL;
    *len = 0;
    if (!path || !*path)
        return fedc_fail(err, "no file path given");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fedc_fail(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return fedc_fail(err, "%s: cannot stat: %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return fedc_fail(err, "%s: is a directory, expected a file", path);
    }
    uint8_t magic[2] = {0, 0};
    int gz =
        S_ISREG(st.st_mode) && pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    reader r = {fd, NULL};
    size_t hint = size_hint(fd, &st, gz);
    if (gz) {
        r.gz = gzdopen(fd, "rb");
        if (!r.gz) {
            close(fd);
            return fedc_fail(err, "%s: cannot start gzip decompression (out of memory)", path);
        }
        gzbuffer(r.gz, 1u << 20);
    }
    int rc = read_all(&r, path, hint, max_bytes, buf, len, err);
    if (r.gz) {
        int crc = gzclose_r(r.gz);
        if (rc == 0 && crc != Z_OK) {
            free(*buf);
            *buf = NULL;
            *len = 0;
            return fedc_fail(err, "%s: truncated or corrupt gzip stream (zlib error %d at close)",
                             path, crc);
        }
    } else {
        close(fd);
    }
    return rc;
}
