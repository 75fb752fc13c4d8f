/* Server side of node authentication: certificate chain, purpose,
 * revocation and proof of key possession (signature of the nonce). */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fedc/certs.h"
#include "transport/certs_internal.h"

#define MAX_CERT_PEM 16384
#define MAX_REVOKED 1000000

struct fedc_node_verifier {
    pthread_mutex_t mu;
    X509_STORE *store;
    char revoked_path[1024];
    struct timespec revoked_mtime;
    off_t revoked_size;
    int64_t *revoked; /* sorted */
    size_t nrevoked;
};

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Re-reads the revocation list when the file changed (under v->mu). */
static void refresh_revoked(fedc_node_verifier *v) {
    struct stat st;
    if (stat(v->revoked_path, &st) != 0) {
        v->nrevoked = 0;
        return;
    }
    if (st.st_mtim.tv_sec == v->revoked_mtime.tv_sec && st.st_mtim.tv_nsec == v->revoked_mtime.tv_nsec &&
        st.st_size == v->revoked_size && v->revoked)
        return;
    FILE *f = fopen(v->revoked_path, "r");
    if (!f) return;
    size_t cap = 64, n = 0;
    int64_t *ids = malloc(cap * sizeof *ids);
    char line[256];
    while (ids && n < MAX_REVOKED && fgets(line, sizeof line, f)) {
        long long id;
        if (sscanf(line, "%lld", &id) != 1) continue;
        if (n == cap) {
            int64_t *g = realloc(ids, cap * 2 * sizeof *ids);
            if (!g) break;
            ids = g;
            cap *= 2;
        }
        ids[n++] = id;
    }
    fclose(f);
    if (!ids) return;
    qsort(ids, n, sizeof *ids, cmp_i64);
    free(v->revoked);
    v->revoked = ids;
    v->nrevoked = n;
    v->revoked_mtime = st.st_mtim;
    v->revoked_size = st.st_size;
}

fedc_node_verifier *fedc_node_verifier_create(const char *dir, fedc_error *err) {
    char path[1024];
    snprintf(path, sizeof path, "%s/ca.crt", dir);
    X509 *ca = fedc_certs_read_cert(path, err);
    if (!ca) return NULL;
    fedc_node_verifier *v = calloc(1, sizeof *v);
    if (!v || !(v->store = X509_STORE_new()) || X509_STORE_add_cert(v->store, ca) != 1) {
        X509_free(ca);
        fedc_node_verifier_free(v);
        fedc_certs_openssl_fail(err, "setting up the CA store failed");
        return NULL;
    }
    X509_free(ca);
    pthread_mutex_init(&v->mu, NULL);
    snprintf(v->revoked_path, sizeof v->revoked_path, "%s/revoked", dir);
    refresh_revoked(v);
    return v;
}

void fedc_node_verifier_free(fedc_node_verifier *v) {
    if (!v) return;
    X509_STORE_free(v->store);
    free(v->revoked);
    pthread_mutex_destroy(&v->mu);
    free(v);
}

int fedc_node_revoked(fedc_node_verifier *v, int64_t id) {
    pthread_mutex_lock(&v->mu);
    refresh_revoked(v);
    int hit = v->revoked && bsearch(&id, v->revoked, v->nrevoked, sizeof id, cmp_i64) != NULL;
    pthread_mutex_unlock(&v->mu);
    return hit;
}

static int hex_decode(const char *hex, unsigned char *out, size_t cap, size_t *len) {
    size_t n = strlen(hex);
    if (n % 2 || n / 2 > cap) return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) return -1;
        char c0 = hex[2 * i], c1 = hex[2 * i + 1];
        if (!((c0 >= '0' && c0 <= '9') || (c0 >= 'a' && c0 <= 'f') || (c0 >= 'A' && c0 <= 'F')) ||
            !((c1 >= '0' && c1 <= '9') || (c1 >= 'a' && c1 <= 'f') || (c1 >= 'A' && c1 <= 'F')))
            return -1;
        out[i] = (unsigned char)v;
    }
    *len = n / 2;
    return 0;
}

int fedc_node_verify(fedc_node_verifier *v, const char *cert_pem, const char *nonce, const char *sig_hex,
                     int64_t *node_id, char name[FEDC_NODE_NAME_MAX + 1], fedc_error *err) {
    size_t pl = strlen(cert_pem);
    if (pl == 0 || pl > MAX_CERT_PEM)
        return fedc_fail(err, "hello: \"cert\" must be a PEM certificate of 1 to %d bytes", MAX_CERT_PEM);
    BIO *b = BIO_new_mem_buf(cert_pem, (int)pl);
    X509 *cert = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (!cert) {
        ERR_clear_error();
        return fedc_fail(err, "hello: \"cert\" is not a PEM certificate");
    }
    int rc = -1;
    X509_STORE_CTX *sc = X509_STORE_CTX_new();
    EVP_MD_CTX *md = NULL;
    pthread_mutex_lock(&v->mu);
    int ok = sc && X509_STORE_CTX_init(sc, v->store, cert, NULL) == 1 &&
             X509_STORE_CTX_set_purpose(sc, X509_PURPOSE_SSL_CLIENT) == 1 && X509_verify_cert(sc) == 1;
    int verr = sc ? X509_STORE_CTX_get_error(sc) : 0;
    pthread_mutex_unlock(&v->mu);
    if (!ok) {
        fedc_fail(err, "node certificate refused: %s (not issued by this server's CA, expired, or not a node "
                       "certificate)",
                  X509_verify_cert_error_string(verr));
        goto out;
    }
    uint64_t serial = 0;
    if (!ASN1_INTEGER_get_uint64(&serial, X509_get0_serialNumber(cert)) || serial < 1 || serial > INT32_MAX) {
        fedc_fail(err, "node certificate refused: its serial is not a node id");
        goto out;
    }
    if (fedc_node_revoked(v, (int64_t)serial)) {
        fedc_fail(err, "node %llu is revoked", (unsigned long long)serial);
        goto out;
    }
    if (!nonce) { /* the key was proved by the TLS handshake */
        *node_id = (int64_t)serial;
        name[0] = 0;
        X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, FEDC_NODE_NAME_MAX + 1);
        rc = 0;
        goto out;
    }
    unsigned char sig[256];
    size_t sl = 0;
    if (!sig_hex || hex_decode(sig_hex, sig, sizeof sig, &sl) != 0 || sl == 0) {
        fedc_fail(err, "hello: \"sig\" must be a hex signature of at most %zu bytes", sizeof sig);
        goto out;
    }
    char msg[128];
    int ml = snprintf(msg, sizeof msg, "fedc-hello:%s", nonce);
    md = EVP_MD_CTX_new();
    EVP_PKEY *pub = X509_get0_pubkey(cert);
    if (!md || !pub || EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub) != 1 ||
        EVP_DigestVerify(md, sig, sl, (const unsigned char *)msg, (size_t)ml) != 1) {
        ERR_clear_error();
        fedc_fail(err, "node %llu: the signature of the nonce does not verify (the node does not hold the key of the "
                       "certificate it presents)",
                  (unsigned long long)serial);
        goto out;
    }
    *node_id = (int64_t)serial;
    name[0] = 0;
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, FEDC_NODE_NAME_MAX + 1);
    rc = 0;
out:
    ERR_clear_error();
    EVP_MD_CTX_free(md);
    X509_STORE_CTX_free(sc);
    X509_free(cert);
    return rc;
}

int fedc_node_verify_cert(fedc_node_verifier *v, const char *cert_pem, int64_t *node_id,
                          char name[FEDC_NODE_NAME_MAX + 1], fedc_error *err) {
    return fedc_node_verify(v, cert_pem, NULL, NULL, node_id, name, err);
}

int fedc_auth_nonce(char out[65]) {
    unsigned char r[32];
    if (RAND_bytes(r, sizeof r) != 1) return -1;
    for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", r[i]);
    return 0;
}
