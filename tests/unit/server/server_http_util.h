/* Helpers for tests of the server's REST routes: a real fedc_server on a
 * free loopback port (plain HTTP) with a fresh state folder, and requests
 * to it over libcurl, as a script would send them. */
#ifndef FEDC_SERVER_HTTP_UTIL_H
#define FEDC_SERVER_HTTP_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "fedc/server.h"

#define TEST_ADMIN_TOKEN "server-route-test-token-0123456789"

typedef struct test_server {
    char state[64];
    fedc_server *srv;
    char base[64];
} test_server;

/* 0 on success; the state folder is created fresh. */
static int test_server_start(test_server *ts) {
    memset(ts, 0, sizeof *ts);
    snprintf(ts->state, sizeof ts->state, "/tmp/fedc-routes-XXXXXX");
    if (!mkdtemp(ts->state)) return -1;
    fedc_server_config cfg = {0};
    cfg.state_dir = ts->state;
    cfg.bind = "127.0.0.1";
    cfg.port = 0;
    cfg.insecure = 1;
    cfg.admin_token = TEST_ADMIN_TOKEN;
    fedc_error err;
    ts->srv = fedc_server_start(&cfg, &err);
    if (!ts->srv) {
        fprintf(stderr, "fedc_server_start: %s\n", err.msg);
        return -1;
    }
    snprintf(ts->base, sizeof ts->base, "http://127.0.0.1:%d", fedc_server_port(ts->srv));
    return 0;
}

static void test_server_stop(test_server *ts) {
    fedc_server_stop(ts->srv);
    ts->srv = NULL;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", ts->state);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", ts->state);
}

typedef struct http_answer {
    long status;
    char *body; /* NUL-terminated, malloc'd */
    size_t len;
    json_t *json; /* the body parsed, or NULL */
} http_answer;

static size_t http_collect(char *p, size_t size, size_t n, void *ud) {
    http_answer *a = ud;
    size_t add = size * n;
    char *b = realloc(a->body, a->len + add + 1);
    if (!b) return 0;
    memcpy(b + a->len, p, add);
    a->body = b;
    a->len += add;
    b[a->len] = '\0';
    return add;
}

/* method + path (+ body, may be NULL) with the admin token unless auth is 0. */
static http_answer http_call(const test_server *ts, const char *method, const char *path, const char *body, int auth) {
    http_answer a = {0};
    CURL *h = curl_easy_init();
    if (!h) return a;
    char url[512], bearer[128];
    snprintf(url, sizeof url, "%s%s", ts->base, path);
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    if (auth) {
        snprintf(bearer, sizeof bearer, "Authorization: Bearer %s", TEST_ADMIN_TOKEN);
        hdr = curl_slist_append(hdr, bearer);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &a);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a.status);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    if (a.body) a.json = json_loads(a.body, 0, NULL);
    return a;
}

static void http_answer_free(http_answer *a) {
    free(a->body);
    json_decref(a->json);
    memset(a, 0, sizeof *a);
}

/* The "error" text of an answer ("" if none). */
static const char *http_error_text(const http_answer *a) {
    const char *e = json_string_value(json_object_get(a->json, "error"));
    return e ? e : "";
}

#endif
