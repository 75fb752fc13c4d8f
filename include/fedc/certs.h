/* The built-in certificate authority, node credentials and node
 * authentication (OpenSSL 3).
 *
 * A CA directory (`fedc certs init DIR`, or STATE/certs created by
 * `fedc server`) holds:
 *   ca.key, ca.crt          the CA (EC P-256), kept on the server host only
 *   server.key, server.crt  the server's TLS certificate, signed by the CA,
 *                           valid for localhost, 127.0.0.1, ::1 and the
 *                           host names given at init
 *   next-node-id            the next node id (node certificate serial)
 *   issued/ID-NAME.crt      every node certificate issued (no keys)
 *   revoked                 revoked node ids, one line each: "ID NAME TIME"
 *
 * A node credential is one PEM file (mode 0600): the node's certificate
 * (CN = node name, serial = node id, extended key usage clientAuth), its
 * private key, and the CA certificate the node uses to check the server.
 *
 * Authentication (the same with and without TLS): the server sends a
 * random nonce; the node answers with its certificate and an ECDSA-SHA256
 * signature of "fedc-hello:" + nonce; the server checks the chain against
 * its CA, the purpose (clientAuth), the revocation list (re-read whenever
 * the file changes, so `fedc certs revoke` takes effect on the next
 * connection attempt) and the signature. Node ids are the certificate
 * serials, so a node keeps its id across reconnects and restarts. */
#ifndef FEDC_CERTS_H
#define FEDC_CERTS_H

#include <stddef.h>
#include <stdint.h>

#include "fedc/error.h"
#include "fedc/export.h"

#define FEDC_NODE_NAME_MAX 64 /* [A-Za-z0-9._-]{1,64} */

/* Creates DIR (if needed) with a new CA and server certificate. hosts are
 * extra DNS names or IP addresses for the server certificate. Fails if DIR
 * already holds a CA. */
FEDC_API int fedc_certs_init(const char *dir, const char *const *hosts, int nhosts, fedc_error *err);
/* 1 if DIR holds a CA and a server certificate. */
FEDC_API int fedc_certs_exist(const char *dir);
/* Issues a node credential. name may be NULL or "" (then "node-ID"); a name
 * already issued is refused. *pem receives the credential text (malloc'd). */
FEDC_API int fedc_certs_issue_node(const char *dir, const char *name, int64_t *node_id, char **pem, fedc_error *err);
/* Revokes a node by id ("7") or name. */
FEDC_API int fedc_certs_revoke(const char *dir, const char *id_or_name, int64_t *node_id, fedc_error *err);
/* 1 if the name is a valid node name. */
FEDC_API int fedc_node_name_valid(const char *name);

/* ---- node side ---- */
typedef struct fedc_credential fedc_credential;
FEDC_API fedc_credential *fedc_credential_load(const char *path, fedc_error *err);
/* The same from PEM text; origin names it in errors. */
FEDC_API fedc_credential *fedc_credential_parse(const char *pem, size_t len, const char *origin, fedc_error *err);
FEDC_API void fedc_credential_free(fedc_credential *c);
FEDC_API const char *fedc_credential_cert_pem(const fedc_credential *c);
FEDC_API const char *fedc_credential_ca_pem(const fedc_credential *c);
FEDC_API int64_t fedc_credential_node_id(const fedc_credential *c);
FEDC_API const char *fedc_credential_name(const fedc_credential *c);
/* Hex ECDSA-SHA256 signature of "fedc-hello:" + nonce, malloc'd. */
FEDC_API char *fedc_credential_sign(const fedc_credential *c, const char *nonce, fedc_error *err);

/* ---- server side ---- */
typedef struct fedc_node_verifier fedc_node_verifier;
FEDC_API fedc_node_verifier *fedc_node_verifier_create(const char *dir, fedc_error *err);
FEDC_API void fedc_node_verifier_free(fedc_node_verifier *v);
/* Checks a HELLO's certificate and signature (see above). On success fills
 * the node id and name. Thread-safe. */
FEDC_API int fedc_node_verify(fedc_node_verifier *v, const char *cert_pem, const char *nonce, const char *sig_hex,
                              int64_t *node_id, char name[FEDC_NODE_NAME_MAX + 1], fedc_error *err);
/* The same checks without the nonce signature, for a certificate whose key
 * the TLS handshake already proved the node holds (a client certificate). */
FEDC_API int fedc_node_verify_cert(fedc_node_verifier *v, const char *cert_pem, int64_t *node_id,
                                   char name[FEDC_NODE_NAME_MAX + 1], fedc_error *err);
/* 1 if the id is on the revocation list (re-read if the file changed). */
FEDC_API int fedc_node_revoked(fedc_node_verifier *v, int64_t node_id);
/* A fresh random nonce: 64 hex characters + NUL. */
FEDC_API int fedc_auth_nonce(char out[65]);

#endif
