/* The built-in CA and node authentication: issued credentials verify,
 * everything else is refused with a reason -- another CA's certificate,
 * the server's own certificate used as a node's, a signature of another
 * nonce, a revoked node (also when revoked after the verifier was made),
 * damaged or incomplete credential files, bad names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fedc/certs.h"

typedef struct fixture {
    char dir[64], ca[128], other[128];
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/fedc-certs-XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    snprintf(f->ca, sizeof f->ca, "%s/ca", f->dir);
    snprintf(f->other, sizeof f->other, "%s/other", f->dir);
    fedc_error err;
    const char *hosts[] = {"fl.example.org", "10.1.2.3"};
    if (fedc_certs_init(f->ca, hosts, 2, &err) != 0 || fedc_certs_init(f->other, NULL, 0, &err) != 0) return -1;
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

static fedc_credential *issue(const char *ca, const char *name, int64_t *id) {
    char *pem = NULL;
    fedc_error err;
    if (fedc_certs_issue_node(ca, name, id, &pem, &err) != 0) fail_msg("issue: %s", err.msg);
    fedc_credential *c = fedc_credential_parse(pem, strlen(pem), "test", &err);
    if (!c) fail_msg("parse: %s", err.msg);
    free(pem);
    return c;
}

static void test_issue_sign_verify(void **state) {
    fixture *f = *state;
    fedc_error err;
    int64_t id1, id2;
    fedc_credential *a = issue(f->ca, "alpha", &id1), *b = issue(f->ca, NULL, &id2);
    assert_int_equal(id1, 1);
    assert_int_equal(id2, 2);
    assert_int_equal(fedc_credential_node_id(a), 1);
    assert_string_equal(fedc_credential_name(a), "alpha");
    assert_string_equal(fedc_credential_name(b), "node-2");
    assert_true(fedc_certs_exist(f->ca));
    fedc_node_verifier *v = fedc_node_verifier_create(f->ca, &err);
    assert_non_null(v);
    char nonce[65];
    assert_int_equal(fedc_auth_nonce(nonce), 0);
    assert_int_equal(strlen(nonce), 64);
    char *sig = fedc_credential_sign(a, nonce, &err);
    assert_non_null(sig);
    int64_t id = 0;
    char name[FEDC_NODE_NAME_MAX + 1];
    assert_int_equal(fedc_node_verify(v, fedc_credential_cert_pem(a), nonce, sig, &id, name, &err), 0);
    assert_int_equal(id, 1);
    assert_string_equal(name, "alpha");
    /* The same signature does not verify another nonce (no replay). */
    char other[65];
    fedc_auth_nonce(other);
    assert_int_equal(fedc_node_verify(v, fedc_credential_cert_pem(a), other, sig, &id, name, &err), -1);
    assert_non_null(strstr(err.msg, "does not verify"));
    /* b's certificate with a's signature: refused. */
    assert_int_equal(fedc_node_verify(v, fedc_credential_cert_pem(b), nonce, sig, &id, name, &err), -1);
    /* Malformed signature and certificate text. */
    assert_int_equal(fedc_node_verify(v, fedc_credential_cert_pem(a), nonce, "zz", &id, name, &err), -1);
    assert_non_null(strstr(err.msg, "hex signature"));
    assert_int_equal(fedc_node_verify(v, "-----BEGIN CERTIFICATE-----\nAAAA\n", nonce, sig, &id, name, &err), -1);
    assert_non_null(strstr(err.msg, "not a PEM certificate"));
    free(sig);
    fedc_node_verifier_free(v);
    fedc_credential_free(a);
    fedc_credential_free(b);
}

static void test_refuses_other_ca_and_server_cert(void **state) {
    fixture *f = *state;
    fedc_error err;
    int64_t id;
    fedc_credential *x = issue(f->other, "intruder", &id);
    fedc_node_verifier *v = fedc_node_verifier_create(f->ca, &err);
    char nonce[65], name[FEDC_NODE_NAME_MAX + 1];
    fedc_auth_nonce(nonce);
    char *sig = fedc_credential_sign(x, nonce, &err);
    assert_int_equal(fedc_node_verify(v, fedc_credential_cert_pem(x), nonce, sig, &id, name, &err), -1);
    assert_non_null(strstr(err.msg, "node certificate refused"));
    free(sig);
    /* The server's certificate (serverAuth only) cannot pose as a node. */
    char path[160];
    snprintf(path, sizeof path, "%s/server.crt", f->ca);
    FILE *fp = fopen(path, "r");
    char pem[8192];
    size_t n = fread(pem, 1, sizeof pem - 1, fp);
    pem[n] = 0;
    fclose(fp);
    assert_int_equal(fedc_node_verify(v, pem, nonce, "00", &id, name, &err), -1);
    assert_non_null(strstr(err.msg, "refused"));
    fedc_node_verifier_free(v);
    fedc_credential_free(x);
}

static void test_revocation_takes_effect(void **state) {
    fixture *f = *state;
    fedc_error err;
    int64_t id;
    fedc_credential *c = issue(f->ca, "soon-gone", &id);
    fedc_node_verifier *v = fedc_node_verifier_create(f->ca, &err);
    char nonce[65], name[FEDC_NODE_NAME_MAX + 1];
    fedc_auth_nonce(nonce);
    char *sig = fedc_credential_sign(c, nonce, &err);
    int64_t got;
    assert_int_equal(fedc_node_verify(v, fedc_credential_cert_pem(c), nonce, sig, &got, name, &err), 0);
    assert_false(fedc_node_revoked(v, id));
    int64_t rid;
    assert_int_equal(fedc_certs_revoke(f->ca, "soon-gone", &rid, &err), 0);
    assert_int_equal(rid, id);
    /* The verifier made before the revocation sees it. */
    assert_true(fedc_node_revoked(v, id));
    assert_int_equal(fedc_node_verify(v, fedc_credential_cert_pem(c), nonce, sig, &got, name, &err), -1);
    assert_non_null(strstr(err.msg, "revoked"));
    /* Revoking twice is harmless; unknown nodes are an error. */
    char idtext[16];
    snprintf(idtext, sizeof idtext, "%lld", (long long)id);
    assert_int_equal(fedc_certs_revoke(f->ca, idtext, &rid, &err), 0);
    assert_int_equal(fedc_certs_revoke(f->ca, "nobody", &rid, &err), -1);
    assert_non_null(strstr(err.msg, "nobody"));
    free(sig);
    fedc_node_verifier_free(v);
    fedc_credential_free(c);
}

static void test_names_and_duplicates(void **state) {
    fixture *f = *state;
    fedc_error err;
    int64_t id;
    char *pem = NULL;
    assert_true(fedc_node_name_valid("lab-pi_3.a"));
    assert_false(fedc_node_name_valid(""));
    assert_false(fedc_node_name_valid(".hidden"));
    assert_false(fedc_node_name_valid("a/b"));
    assert_false(fedc_node_name_valid("x y"));
    assert_int_equal(fedc_certs_issue_node(f->ca, "bad name", &id, &pem, &err), -1);
    assert_non_null(strstr(err.msg, "not valid"));
    assert_int_equal(fedc_certs_issue_node(f->ca, "twice", &id, &pem, &err), 0);
    free(pem);
    assert_int_equal(fedc_certs_issue_node(f->ca, "twice", &id, &pem, &err), -1);
    assert_non_null(strstr(err.msg, "already issued"));
    assert_int_equal(fedc_certs_issue_node("/nonexistent/ca", "x", &id, &pem, &err), -1);
    assert_non_null(strstr(err.msg, "no CA"));
    /* init refuses to overwrite a CA. */
    assert_int_equal(fedc_certs_init(f->ca, NULL, 0, &err), -1);
    assert_non_null(strstr(err.msg, "already holds a CA"));
    const char *bad[] = {"not a host!"};
    char p2[128];
    snprintf(p2, sizeof p2, "%s/third", f->dir);
    assert_int_equal(fedc_certs_init(p2, bad, 1, &err), -1);
}

static void test_bad_credential_files(void **state) {
    fixture *f = *state;
    fedc_error err;
    assert_null(fedc_credential_parse("garbage", 7, "x.pem", &err));
    assert_non_null(strstr(err.msg, "x.pem"));
    int64_t id;
    char *pem = NULL;
    assert_int_equal(fedc_certs_issue_node(f->ca, "partial", &id, &pem, &err), 0);
    /* Without the private key. */
    char *key = strstr(pem, "-----BEGIN PRIVATE KEY-----");
    char *key_end = strstr(pem, "-----END PRIVATE KEY-----");
    assert_non_null(key);
    size_t cut = (size_t)(key_end + strlen("-----END PRIVATE KEY-----") - key);
    memmove(key, key + cut, strlen(key + cut) + 1);
    assert_null(fedc_credential_parse(pem, strlen(pem), "nokey.pem", &err));
    assert_non_null(strstr(err.msg, "private key"));
    free(pem);
    assert_null(fedc_credential_load("/nonexistent/cred.pem", &err));
    assert_non_null(strstr(err.msg, "/nonexistent/cred.pem"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issue_sign_verify),
        cmocka_unit_test(test_refuses_other_ca_and_server_cert),
        cmocka_unit_test(test_revocation_takes_effect),
        cmocka_unit_test(test_names_and_duplicates),
        cmocka_unit_test(test_bad_credential_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
