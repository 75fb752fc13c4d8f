/* SHA-256 of downloaded files (OpenSSL's EVP interface). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "data/catalog_internal.h"

#define CHUNK ((size_t)1 << 20)

int data_sha256_file(const char *path, char hex[65], fedc_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fedc_fail(err, "%s: cannot open: %s", path, strerror(errno));
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t *buf = malloc(CHUNK);
    int rc = -1;
    if (!md || !buf || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        fedc_fail(err, "%s: cannot start SHA-256 (out of memory)", path);
        goto out;
    }
    for (;;) {
        ssize_t got = read(fd, buf, CHUNK);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            fedc_fail(err, "%s: read error: %s", path, strerror(errno));
            goto out;
        }
        if (got == 0)
            break;
        EVP_DigestUpdate(md, buf, (size_t)got);
    }
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dlen = 0;
    EVP_DigestFinal_ex(md, d, &dlen);
    for (unsigned i = 0; i < dlen && i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    hex[64] = 0;
    rc = 0;
out:
    EVP_MD_CTX_free(md);
    free(buf);
    close(fd);
    return rc;
}
