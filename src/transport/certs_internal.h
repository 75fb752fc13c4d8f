/* Private helpers of the certificate code. */
#ifndef FEDC_TRANSPORT_CERTS_INTERNAL_H
#define FEDC_TRANSPORT_CERTS_INTERNAL_H

#include <openssl/x509.h>
#include <stdint.h>

#include "fedc/error.h"

/* Fails with what + the first queued OpenSSL error (then clears the queue). */
int fedc_certs_openssl_fail(fedc_error *err, const char *what);
/* PEM text of a certificate, malloc'd. */
char *fedc_certs_pem_cert(X509 *c);
X509 *fedc_certs_read_cert(const char *path, fedc_error *err);
/* 1 if id is listed in the revocation file, 0 if not (or no file), -1 unreadable. */
int fedc_certs_revoked_in_file(const char *path, int64_t id);

#endif
