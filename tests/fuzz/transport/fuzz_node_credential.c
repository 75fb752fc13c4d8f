/* Fuzz target: what authentication reads from outside -- a credential file
 * (node side) and the certificate and signature of a HELLO (server side,
 * checked against a CA made once for the run). Nothing may crash; a
 * garbage certificate must never verify. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fedc/certs.h"

static fedc_node_verifier *v;
static char dir[64];

static void cleanup(void) {
    char cmd[96];
    fedc_node_verifier_free(v);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

static fedc_node_verifier *verifier(void) {
    if (v) return v;
    snprintf(dir, sizeof dir, "/tmp/fedc-fuzz-ca-XXXXXX");
    if (!mkdtemp(dir)) abort();
    char ca[96];
    snprintf(ca, sizeof ca, "%s/ca", dir);
    fedc_error err;
    if (fedc_certs_init(ca, NULL, 0, &err) != 0 || !(v = fedc_node_verifier_create(ca, &err))) abort();
    atexit(cleanup);
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fedc_error err;
    fedc_credential *c = fedc_credential_parse((const char *)data, size, "fuzz", &err);
    if (c) {
        if (!fedc_credential_cert_pem(c) || !fedc_credential_ca_pem(c)) abort();
        fedc_credential_free(c);
    }
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    /* Split at the first newline-newline: certificate, then signature hex. */
    char *sig = strstr(text, "\n\n");
    if (sig) *sig = 0, sig += 2;
    int64_t id;
    char name[FEDC_NODE_NAME_MAX + 1];
    if (fedc_node_verify(verifier(), text, "00ff", sig ? sig : "00", &id, name, &err) == 0) abort();
    free(text);
    return 0;
}
