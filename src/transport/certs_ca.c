/* The built-in certificate authority: creating the CA and the server
 * certificate, issuing node credentials, revoking nodes. See certs.h. */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fedc/certs.h"
#include "transport/certs_internal.h"

#define CA_DAYS 3650
#define LEAF_DAYS 825

int fedc_node_name_valid(const char *name) {
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > FEDC_NODE_NAME_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && name[i] != '.' && name[i] != '_' && name[i] != '-') return 0;
    return name[0] != '.';
}

int fedc_certs_openssl_fail(fedc_error *err, const char *what) {
    unsigned long e = ERR_get_error();
    char buf[256] = "";
    if (e) ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return fedc_fail(err, "%s%s%s", what, buf[0] ? ": " : "", buf);
}

static EVP_PKEY *new_key(fedc_error *err) {
    EVP_PKEY *k = EVP_EC_gen("P-256");
    if (!k) fedc_certs_openssl_fail(err, "generating an EC P-256 key failed");
    return k;
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ex) return -1;
    int ok = X509_add_ext(cert, ex, -1);
    X509_EXTENSION_free(ex);
    return ok ? 0 : -1;
}

/* A certificate for key, signed by (issuer, issuer_key); issuer NULL means
 * self-signed. exts: pairs of (nid, value), ended by nid 0. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, uint64_t serial, int days, X509 *issuer,
                       EVP_PKEY *issuer_key, const int *nids, const char *const *values, fedc_error *err) {
    X509 *c = X509_new();
    if (!c) {
        fedc_certs_openssl_fail(err, "out of memory creating a certificate");
        return NULL;
    }
    X509_set_version(c, 2);
    ASN1_INTEGER_set_uint64(X509_get_serialNumber(c), serial);
    X509_gmtime_adj(X509_getm_notBefore(c), -3600);
    X509_gmtime_adj(X509_getm_notAfter(c), (long)days * 86400);
    X509_set_pubkey(c, key);
    X509_NAME *name = X509_get_subject_name(c);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"fedc", -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : name);
    for (int i = 0; nids[i]; i++) {
        if (add_ext(c, issuer ? issuer : c, nids[i], values[i]) != 0) {
            fedc_certs_openssl_fail(err, "adding a certificate extension failed");
            X509_free(c);
            return NULL;
        }
    }
    if (!X509_sign(c, issuer_key ? issuer_key : key, EVP_sha256())) {
        fedc_certs_openssl_fail(err, "signing a certificate failed");
        X509_free(c);
        return NULL;
    }
    return c;
}

static uint64_t random_serial(void) {
    uint64_t s = 0;
    if (RAND_bytes((unsigned char *)&s, sizeof s) != 1) s = (uint64_t)time(NULL);
    return (s >> 1) | ((uint64_t)1 << 40); /* positive, far above node ids */
}

static int write_file(const char *path, const char *data, size_t len, int mode, fedc_error *err) {
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0) return fedc_fail(err, "cannot write %s: %s", tmp, strerror(errno));
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w <= 0) {
            close(fd);
            unlink(tmp);
            return fedc_fail(err, "cannot write %s: %s", tmp, strerror(errno));
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return fedc_fail(err, "cannot write %s: %s", path, strerror(errno));
    }
    return 0;
}

/* The PEM text written into a memory BIO, as a malloc'd string; frees b. */
static char *bio_take_string(BIO *b, int written) {
    char *out = NULL;
    if (b && written) {
        char *p;
        long n = BIO_get_mem_data(b, &p);
        out = malloc((size_t)n + 1);
        if (out) {
            memcpy(out, p, (size_t)n);
            out[n] = 0;
        }
    }
    BIO_free(b);
    return out;
}

char *fedc_certs_pem_cert(X509 *c) {
    BIO *b = BIO_new(BIO_s_mem());
    return bio_take_string(b, b && PEM_write_bio_X509(b, c));
}

static char *pem_key(EVP_PKEY *k) {
    BIO *b = BIO_new(BIO_s_mem());
    return bio_take_string(b, b && PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL));
}

static int save_pem(const char *dir, const char *file, char *pem, int mode, fedc_error *err) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    if (!pem) return fedc_fail(err, "cannot encode %s", path);
    int rc = write_file(path, pem, strlen(pem), mode, err);
    free(pem);
    return rc;
}

X509 *fedc_certs_read_cert(const char *path, fedc_error *err) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fedc_fail(err, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    X509 *c = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!c) fedc_certs_openssl_fail(err, path);
    return c;
}

static EVP_PKEY *read_key(const char *path, fedc_error *err) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fedc_fail(err, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!k) fedc_certs_openssl_fail(err, path);
    return k;
}

int fedc_certs_exist(const char *dir) {
    char a[1024], b[1024], c[1024];
    snprintf(a, sizeof a, "%s/ca.key", dir);
    snprintf(b, sizeof b, "%s/server.crt", dir);
    snprintf(c, sizeof c, "%s/server.key", dir);
    return access(a, R_OK) == 0 && access(b, R_OK) == 0 && access(c, R_OK) == 0;
}

int fedc_certs_init(const char *dir, const char *const *hosts, int nhosts, fedc_error *err) {
    char path[1024];
    snprintf(path, sizeof path, "%s/ca.key", dir);
    if (access(path, F_OK) == 0)
        return fedc_fail(err, "%s already holds a CA (%s); refusing to replace it", dir, path);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) return fedc_fail(err, "cannot create %s: %s", dir, strerror(errno));
    snprintf(path, sizeof path, "%s/issued", dir);
    if (mkdir(path, 0700) != 0 && errno != EEXIST) return fedc_fail(err, "cannot create %s: %s", path, strerror(errno));

    char san[2048] = "DNS:localhost,IP:127.0.0.1,IP:::1";
    for (int i = 0; i < nhosts; i++) {
        unsigned char tmp[16];
        int ip = inet_pton(AF_INET, hosts[i], tmp) == 1 || inet_pton(AF_INET6, hosts[i], tmp) == 1;
        if (!ip && !fedc_node_name_valid(hosts[i]))
            return fedc_fail(err, "host \"%s\" is neither an IP address nor a DNS name", hosts[i]);
        size_t l = strlen(san);
        snprintf(san + l, sizeof san - l, ",%s:%s", ip ? "IP" : "DNS", hosts[i]);
    }

    int rc = -1;
    EVP_PKEY *ca_key = NULL, *srv_key = NULL;
    X509 *ca = NULL, *srv = NULL;
    if (!(ca_key = new_key(err)) || !(srv_key = new_key(err))) goto out;
    char cn[128];
    snprintf(cn, sizeof cn, "fedc CA %08llx", (unsigned long long)(random_serial() & 0xffffffffu));
    static const int ca_nids[] = {NID_basic_constraints, NID_key_usage, NID_subject_key_identifier, 0};
    static const char *const ca_vals[] = {"critical,CA:TRUE,pathlen:0", "critical,keyCertSign,cRLSign", "hash"};
    if (!(ca = make_cert(ca_key, cn, random_serial(), CA_DAYS, NULL, NULL, ca_nids, ca_vals, err))) goto out;
    const int srv_nids[] = {NID_basic_constraints, NID_key_usage, NID_ext_key_usage, NID_subject_alt_name,
                            NID_authority_key_identifier, 0};
    const char *const srv_vals[] = {"critical,CA:FALSE", "critical,digitalSignature,keyEncipherment", "serverAuth",
                                    san, "keyid"};
    if (!(srv = make_cert(srv_key, "fedc server", random_serial(), LEAF_DAYS, ca, ca_key, srv_nids, srv_vals, err)))
        goto out;
    if (save_pem(dir, "ca.key", pem_key(ca_key), 0600, err) || save_pem(dir, "ca.crt", fedc_certs_pem_cert(ca), 0644, err) ||
        save_pem(dir, "server.key", pem_key(srv_key), 0600, err) ||
        save_pem(dir, "server.crt", fedc_certs_pem_cert(srv), 0644, err))
        goto out;
    snprintf(path, sizeof path, "%s/next-node-id", dir);
    if (write_file(path, "1\n", 2, 0600, err) != 0) goto out;
    snprintf(path, sizeof path, "%s/revoked", dir);
    if (write_file(path, "", 0, 0644, err) != 0) goto out;
    rc = 0;
out:
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(srv_key);
    X509_free(ca);
    X509_free(srv);
    return rc;
}

/* Serialises issuing and revoking between the server and the CLI. */
static int lock_dir(const char *dir, fedc_error *err) {
    char path[1024];
    snprintf(path, sizeof path, "%s/.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT, 0600);
    if (fd < 0) {
        fedc_fail(err, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX) != 0) {
        fedc_fail(err, "cannot lock %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static void unlock_dir(int fd) {
    flock(fd, LOCK_UN);
    close(fd);
}

/* Finds an issued node by id or name in DIR/issued (ID-NAME.crt). */
static int find_issued(const char *dir, int64_t id, const char *name, int64_t *found_id, char *found_name,
                       size_t cap) {
    char path[1024];
    snprintf(path, sizeof path, "%s/issued", dir);
    DIR *d = opendir(path);
    if (!d) return 0;
    struct dirent *e;
    int hit = 0;
    while (!hit && (e = readdir(d))) {
        char *dash = strchr(e->d_name, '-');
        size_t l = strlen(e->d_name);
        if (!dash || l < 5 || strcmp(e->d_name + l - 4, ".crt") != 0) continue;
        long long eid = strtoll(e->d_name, NULL, 10);
        char ename[FEDC_NODE_NAME_MAX + 8];
        snprintf(ename, sizeof ename, "%.*s", (int)(l - 4 - (size_t)(dash + 1 - e->d_name)), dash + 1);
        if ((id > 0 && eid == id) || (name && !strcmp(name, ename))) {
            hit = 1;
            if (found_id) *found_id = eid;
            if (found_name) snprintf(found_name, cap, "%s", ename);
        }
    }
    closedir(d);
    return hit;
}

int fedc_certs_issue_node(const char *dir, const char *name, int64_t *node_id, char **pem, fedc_error *err) {
    *pem = NULL;
    if (name && name[0] && !fedc_node_name_valid(name))
        return fedc_fail(err, "node name \"%s\" is not valid; allowed: 1 to %d of A-Z a-z 0-9 . _ - (not starting "
                              "with '.')",
                         name, FEDC_NODE_NAME_MAX);
    if (!fedc_certs_exist(dir))
        return fedc_fail(err, "%s holds no CA; create one with: fedc certs init %s", dir, dir);
    int lk = lock_dir(dir, err);
    if (lk < 0) return -1;
    int rc = -1;
    EVP_PKEY *ca_key = NULL, *key = NULL;
    X509 *ca = NULL, *cert = NULL;
    char *cert_pem = NULL, *key_pem = NULL, *ca_pem = NULL;
    char path[1024], nm[FEDC_NODE_NAME_MAX + 1];
    snprintf(path, sizeof path, "%s/next-node-id", dir);
    FILE *f = fopen(path, "r");
    long long next = 0;
    if (!f || fscanf(f, "%lld", &next) != 1 || next < 1 || next > INT32_MAX) {
        if (f) fclose(f);
        fedc_fail(err, "%s is missing or does not hold a node id", path);
        goto out;
    }
    fclose(f);
    if (name && name[0]) snprintf(nm, sizeof nm, "%s", name);
    else snprintf(nm, sizeof nm, "node-%lld", next);
    if (find_issued(dir, 0, nm, NULL, NULL, 0)) {
        fedc_fail(err, "a node named \"%s\" was already issued a credential; choose another name", nm);
        goto out;
    }
    char p2[1024];
    snprintf(p2, sizeof p2, "%s/ca.key", dir);
    if (!(ca_key = read_key(p2, err))) goto out;
    snprintf(p2, sizeof p2, "%s/ca.crt", dir);
    if (!(ca = fedc_certs_read_cert(p2, err))) goto out;
    if (!(key = new_key(err))) goto out;
    static const int nids[] = {NID_basic_constraints, NID_key_usage, NID_ext_key_usage, NID_authority_key_identifier,
                               0};
    static const char *const vals[] = {"critical,CA:FALSE", "critical,digitalSignature", "clientAuth", "keyid"};
    if (!(cert = make_cert(key, nm, (uint64_t)next, LEAF_DAYS, ca, ca_key, nids, vals, err))) goto out;
    cert_pem = fedc_certs_pem_cert(cert);
    key_pem = pem_key(key);
    ca_pem = fedc_certs_pem_cert(ca);
    if (!cert_pem || !key_pem || !ca_pem) {
        fedc_fail(err, "out of memory encoding the credential");
        goto out;
    }
    char file[256];
    snprintf(file, sizeof file, "issued/%lld-%s.crt", next, nm);
    char *copy = strdup(cert_pem);
    if (save_pem(dir, file, copy, 0644, err) != 0) goto out;
    char idbuf[32];
    int il = snprintf(idbuf, sizeof idbuf, "%lld\n", next + 1);
    if (write_file(path, idbuf, (size_t)il, 0600, err) != 0) goto out;
    size_t total = strlen(cert_pem) + strlen(key_pem) + strlen(ca_pem) + 256;
    *pem = malloc(total);
    if (!*pem) {
        fedc_fail(err, "out of memory");
        goto out;
    }
    snprintf(*pem, total, "# fedc node credential: node %lld \"%s\". Keep it secret (mode 0600).\n%s%s%s", next, nm,
             cert_pem, key_pem, ca_pem);
    *node_id = next;
    rc = 0;
out:
    unlock_dir(lk);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(key);
    X509_free(ca);
    X509_free(cert);
    free(cert_pem);
    free(key_pem);
    free(ca_pem);
    return rc;
}

int fedc_certs_revoke(const char *dir, const char *id_or_name, int64_t *node_id, fedc_error *err) {
    char *end;
    long long id = strtoll(id_or_name, &end, 10);
    int by_id = *id_or_name && !*end && id > 0;
    int64_t fid = 0;
    char fname[FEDC_NODE_NAME_MAX + 8] = "";
    if (!find_issued(dir, by_id ? id : 0, by_id ? NULL : id_or_name, &fid, fname, sizeof fname))
        return fedc_fail(err, "no node \"%s\" was issued by the CA in %s", id_or_name, dir);
    int lk = lock_dir(dir, err);
    if (lk < 0) return -1;
    char path[1024];
    snprintf(path, sizeof path, "%s/revoked", dir);
    int rc = 0;
    if (fedc_certs_revoked_in_file(path, fid) != 1) {
        FILE *f = fopen(path, "a");
        if (!f || fprintf(f, "%lld %s %lld\n", (long long)fid, fname, (long long)time(NULL)) < 0 || fflush(f) != 0 ||
            fsync(fileno(f)) != 0)
            rc = fedc_fail(err, "cannot append to %s: %s", path, strerror(errno));
        if (f) fclose(f);
    }
    unlock_dir(lk);
    if (rc == 0 && node_id) *node_id = fid;
    return rc;
}

int fedc_certs_revoked_in_file(const char *path, int64_t id) {
    FILE *f = fopen(path, "r");
    if (!f) return errno == ENOENT ? 0 : -1;
    char line[256];
    int hit = 0;
    while (!hit && fgets(line, sizeof line, f)) {
        long long v;
        if (sscanf(line, "%lld", &v) == 1 && v == id) hit = 1;
    }
    fclose(f);
    return hit;
}
