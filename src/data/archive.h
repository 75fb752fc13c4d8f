/* Containers the catalog's downloads come in (private to src/data): a gzip
 * stream held in memory, tar archives (CIFAR's .tar.gz) and zip archives
 * (EMNIST's gzip.zip and matlab.zip). Every reader is bounded: sizes come
 * from the input and are checked against the buffer and a caller's cap
 * before anything is allocated, and errors name the archive, the member and
 * the problem. */
#ifndef FEDC_DATA_ARCHIVE_H
#define FEDC_DATA_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "fedc/error.h"

/* Decompresses a whole gzip stream (all members of a multi-member file)
 * from memory into *out (malloc'ed). More than max_out bytes of output, a
 * corrupt or truncated stream, or bytes after the last member that are not
 * another member are errors; name is used in messages. */
int data_gunzip(const uint8_t *in, size_t len, const char *name, size_t max_out, uint8_t **out,
                size_t *out_len, fedc_error *err);

/* ---- tar (POSIX ustar, GNU long names, pax path records) ---- */

/* Called for every regular-file member, with its full path inside the
 * archive and its bytes (pointing into the archive buffer). Return 0 to go
 * on, 1 to stop the walk early (not an error), -1 to fail (err set). */
typedef int (*data_tar_fn)(void *ctx, const char *member, const uint8_t *data, size_t size,
                           fedc_error *err);

/* Walks the tar archive in buf; archive names the file in messages. Every
 * header's checksum is verified and every member must lie inside buf. */
int data_tar_walk(const uint8_t *buf, size_t len, const char *archive, data_tar_fn fn, void *ctx,
                  fedc_error *err);

/* The member whose path is `member` or ends in "/member"; *data points into
 * buf. Not found is an error that names the archive and the member. */
int data_tar_find(const uint8_t *buf, size_t len, const char *archive, const char *member,
                  const uint8_t **data, size_t *size, fedc_error *err);

/* ---- zip (stored and deflated members; no ZIP64, no encryption) ---- */

/* Random access to the zip's bytes: a file read with pread, or memory. */
typedef struct data_zip_src {
    /* Reads exactly n bytes at off into dst; -1 with err set otherwise. */
    int (*pread)(void *ctx, uint8_t *dst, size_t n, uint64_t off, fedc_error *err);
    void *ctx;
    uint64_t size;
    const char *name; /* archive name in messages */
} data_zip_src;

/* The member named exactly `member` (e.g. "gzip/emnist-digits-train-images-
 * idx3-ubyte.gz"), decompressed into *out (malloc'ed) and checked against
 * its recorded size and CRC-32. A member larger than max_out is an error. */
int data_zip_extract(const data_zip_src *src, const char *member, size_t max_out, uint8_t **out,
                     size_t *out_len, fedc_error *err);

/* The same from a zip file on disk. */
int data_zip_extract_file(const char *path, const char *member, size_t max_out, uint8_t **out,
                          size_t *out_len, fedc_error *err);

/* A zip held in memory as a data_zip_src (ctx is the data_zip_mem). */
typedef struct data_zip_mem {
    const uint8_t *buf;
    size_t len;
} data_zip_mem;
void data_zip_src_mem(data_zip_src *src, data_zip_mem *mem, const uint8_t *buf, size_t len,
                      const char *name);

#endif
