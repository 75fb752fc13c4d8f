/* The fixture of the run-store unit tests: a fresh SQLite store in its own
 * temporary folder, removed with everything in it afterwards. One definition
 * for the store tests and the store-under-faults tests. */
#ifndef FEDC_TEST_STORE_FIXTURE_H
#define FEDC_TEST_STORE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "server/server_internal.h"

typedef struct fixture {
    char dir[64], db[128];
    store st;
} fixture;

/* cmocka setup: the state is a fixture with an open, empty store. */
static inline int fedc_test_store_setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    if (!f) return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/fedc-store-XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->db, sizeof f->db, "%s/runs.db", f->dir);
    fedc_error err;
    if (store_open(&f->st, f->db, &err) != 0) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static inline int fedc_test_store_teardown(void **state) {
    fixture *f = *state;
    store_close(&f->st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

#endif
