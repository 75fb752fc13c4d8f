/* Node side of authentication: loading a credential file and signing the
 * server's nonce with the node's key. */
#include <errno.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/certs.h"
#include "transport/certs_internal.h"

#define CREDENTIAL_MAX_BYTES (64 * 1024)

struct fedc_credential {
    char *cert_pem, *ca_pem;
    EVP_PKEY *key;
    int64_t node_id;
    char name[FEDC_NODE_NAME_MAX + 1];
};

void fedc_credential_free(fedc_credential *c) {
    if (!c) return;
    free(c->cert_pem);
    free(c->ca_pem);
    EVP_PKEY_free(c->key);
    free(c);
}

fedc_credential *fedc_credential_parse(const char *pem, size_t len, const char *origin, fedc_error *err) {
    if (len > CREDENTIAL_MAX_BYTES) {
        fedc_fail(err, "%s: %zu bytes is too large for a credential (at most %d)", origin, len, CREDENTIAL_MAX_BYTES);
        return NULL;
    }
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    STACK_OF(X509_INFO) *infos = b ? PEM_X509_INFO_read_bio(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (!infos) {
        fedc_certs_openssl_fail(err, origin);
        fedc_fail_prefix(err, "not a fedc credential (PEM certificates and key expected): ");
        return NULL;
    }
    fedc_credential *c = calloc(1, sizeof *c);
    X509 *node = NULL, *ca = NULL;
    EVP_PKEY *key = NULL;
    for (int i = 0; i < sk_X509_INFO_num(infos); i++) {
        X509_INFO *in = sk_X509_INFO_value(infos, i);
        if (in->x_pkey && in->x_pkey->dec_pkey && !key) key = in->x_pkey->dec_pkey;
    }
    for (int i = 0; key && i < sk_X509_INFO_num(infos); i++) {
        X509 *x = sk_X509_INFO_value(infos, i)->x509;
        if (!x) continue;
        if (X509_check_private_key(x, key)) node = x;
        else if (X509_check_ca(x)) ca = x;
    }
    ERR_clear_error();
    if (!c) {
        fedc_fail(err, "%s: out of memory", origin);
        goto fail;
    }
    if (!key || !node || !ca) {
        fedc_fail(err, "%s: a credential needs the node certificate, its private key and the CA certificate; %s is "
                       "missing",
                  origin, !key ? "the private key" : !node ? "the certificate matching the key" : "the CA certificate");
        goto fail;
    }
    EVP_PKEY_up_ref(key);
    c->key = key;
    c->cert_pem = fedc_certs_pem_cert(node);
    c->ca_pem = fedc_certs_pem_cert(ca);
    const ASN1_INTEGER *serial = X509_get0_serialNumber(node);
    uint64_t sv = 0;
    if (!ASN1_INTEGER_get_uint64(&sv, serial) || sv < 1 || sv > INT32_MAX) {
        fedc_fail(err, "%s: the certificate's serial is not a node id", origin);
        goto fail;
    }
    c->node_id = (int64_t)sv;
    X509_NAME_get_text_by_NID(X509_get_subject_name(node), NID_commonName, c->name, sizeof c->name);
    if (!c->cert_pem || !c->ca_pem) {
        fedc_fail(err, "out of memory");
        goto fail;
    }
    sk_X509_INFO_pop_free(infos, X509_INFO_free);
    return c;
fail:
    sk_X509_INFO_pop_free(infos, X509_INFO_free);
    fedc_credential_free(c);
    return NULL;
}

fedc_credential *fedc_credential_load(const char *path, fedc_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fedc_fail(err, "cannot read the credential %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(CREDENTIAL_MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, CREDENTIAL_MAX_BYTES + 1, f) : 0;
    fclose(f);
    if (!buf) {
        fedc_fail(err, "out of memory");
        return NULL;
    }
    fedc_credential *c = fedc_credential_parse(buf, n, path, err);
    free(buf);
    return c;
}

const char *fedc_credential_cert_pem(const fedc_credential *c) { return c->cert_pem; }
const char *fedc_credential_ca_pem(const fedc_credential *c) { return c->ca_pem; }
int64_t fedc_credential_node_id(const fedc_credential *c) { return c->node_id; }
const char *fedc_credential_name(const fedc_credential *c) { return c->name; }

char *fedc_credential_sign(const fedc_credential *c, const char *nonce, fedc_error *err) {
    char msg[128];
    int ml = snprintf(msg, sizeof msg, "fedc-hello:%s", nonce);
    if (ml <= 0 || (size_t)ml >= sizeof msg) {
        fedc_fail(err, "nonce too long");
        return NULL;
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char sig[256];
    size_t sl = sizeof sig;
    if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, c->key) != 1 ||
        EVP_DigestSign(md, sig, &sl, (const unsigned char *)msg, (size_t)ml) != 1) {
        EVP_MD_CTX_free(md);
        fedc_certs_openssl_fail(err, "signing the server's nonce failed");
        return NULL;
    }
    EVP_MD_CTX_free(md);
    char *hex = malloc(sl * 2 + 1);
    if (!hex) return NULL;
    for (size_t i = 0; i < sl; i++) snprintf(hex + 2 * i, 3, "%02x", sig[i]);
    return hex;
}
