/* The REST API's edges a script or an attacker reaches: the bearer scheme
 * in any case, wrong admin tokens that back off per address (429 with
 * Retry-After, the token not even checked meanwhile), HEAD on GET routes,
 * a chunked request body read whole, node_url naming the node endpoint. A
 * real server on loopback, requests over libcurl. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <strings.h>

#include <cmocka.h>

#include "server_http_util.h"

static int setup(void **state) {
    test_server *ts = calloc(1, sizeof *ts);
    if (test_server_start(ts) != 0) return -1;
    *state = ts;
    return 0;
}

static int teardown(void **state) {
    test_server *ts = *state;
    test_server_stop(ts);
    free(ts);
    return 0;
}

typedef struct answer {
    long status;
    char body[8192];
    size_t len;
    char retry_after[32];
    long content_length;
} answer;

static size_t take_body(char *p, size_t size, size_t n, void *ud) {
    answer *a = ud;
    size_t add = size * n, room = sizeof a->body - 1 - a->len;
    memcpy(a->body + a->len, p, add < room ? add : room);
    a->len += add < room ? add : room;
    a->body[a->len] = 0;
    return add;
}

static size_t take_header(char *p, size_t size, size_t n, void *ud) {
    answer *a = ud;
    size_t len = size * n;
    if (len > 13 && !strncasecmp(p, "retry-after: ", 13))
        snprintf(a->retry_after, sizeof a->retry_after, "%.*s", (int)(len - 13), p + 13);
    if (len > 16 && !strncasecmp(p, "content-length: ", 16)) a->content_length = strtol(p + 16, NULL, 10);
    return len;
}

/* A request with the given Authorization header (NULL: none). */
static answer call(const test_server *ts, const char *method, const char *path, const char *authorization,
                   const char *body, int chunked) {
    answer a;
    memset(&a, 0, sizeof a);
    a.content_length = -1;
    CURL *h = curl_easy_init();
    char url[512], auth[256];
    snprintf(url, sizeof url, "%s%s", ts->base, path);
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    if (authorization) {
        snprintf(auth, sizeof auth, "Authorization: %s", authorization);
        hdr = curl_slist_append(hdr, auth);
    }
    if (chunked) hdr = curl_slist_append(hdr, "Transfer-Encoding: chunked");
    curl_easy_setopt(h, CURLOPT_URL, url);
    if (!strcmp(method, "HEAD")) curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    else curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, take_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &a);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, take_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &a);
    if (body) curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    if (body && !chunked) curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a.status);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    return a;
}

static void test_bearer_scheme_in_any_case(void **state) {
    test_server *ts = *state;
    assert_int_equal(call(ts, "GET", "/api/server", "Bearer " TEST_ADMIN_TOKEN, NULL, 0).status, 200);
    assert_int_equal(call(ts, "GET", "/api/server", "bearer " TEST_ADMIN_TOKEN, NULL, 0).status, 200);
    assert_int_equal(call(ts, "GET", "/api/server", "BEARER  " TEST_ADMIN_TOKEN, NULL, 0).status, 200);
    assert_int_equal(call(ts, "GET", "/api/server", "Basic " TEST_ADMIN_TOKEN, NULL, 0).status, 401);
}

static void test_wrong_tokens_back_off(void **state) {
    test_server *ts = *state;
    for (int i = 0; i < 5; i++) {
        answer a = call(ts, "GET", "/api/runs", "Bearer not-the-token-at-all-000000", NULL, 0);
        assert_int_equal(a.status, 401);
    }
    /* Now the address waits: even the right token is not checked. */
    answer a = call(ts, "GET", "/api/runs", "Bearer not-the-token-at-all-000000", NULL, 0);
    assert_int_equal(a.status, 429);
    assert_true(atoi(a.retry_after) >= 1);
    assert_non_null(strstr(a.body, "too many wrong admin tokens"));
    a = call(ts, "GET", "/api/runs", "Bearer " TEST_ADMIN_TOKEN, NULL, 0);
    assert_int_equal(a.status, 429);
    a = call(ts, "POST", "/api/login", NULL, "{\"token\":\"" TEST_ADMIN_TOKEN "\"}", 0);
    assert_int_equal(a.status, 429);
    /* Once the wait is over the right token works and clears the record. */
    int wait = atoi(a.retry_after);
    assert_true(wait >= 1 && wait <= 2); /* the first wait: 2 s */
    usleep((useconds_t)(wait * 1000000 + 300000));
    assert_int_equal(call(ts, "GET", "/api/runs", "Bearer " TEST_ADMIN_TOKEN, NULL, 0).status, 200);
    assert_int_equal(call(ts, "GET", "/api/runs", "Bearer still-not-the-token-00000000", NULL, 0).status, 401);
    /* Requests without a token are not counted: a browser without its
     * session is not locked out. */
    for (int i = 0; i < 8; i++) assert_int_equal(call(ts, "GET", "/api/runs", NULL, NULL, 0).status, 401);
    assert_int_equal(call(ts, "GET", "/api/runs", "Bearer " TEST_ADMIN_TOKEN, NULL, 0).status, 200);
}

static void test_head_on_get_routes(void **state) {
    test_server *ts = *state;
    answer get = call(ts, "GET", "/api/runs", "Bearer " TEST_ADMIN_TOKEN, NULL, 0);
    answer head = call(ts, "HEAD", "/api/runs", "Bearer " TEST_ADMIN_TOKEN, NULL, 0);
    assert_int_equal(get.status, 200);
    assert_int_equal(head.status, 200);
    assert_int_equal(head.len, 0);
    assert_int_equal(head.content_length, (long)get.len);
    assert_int_equal(call(ts, "HEAD", "/api/server", "Bearer " TEST_ADMIN_TOKEN, NULL, 0).status, 200);
    assert_int_equal(call(ts, "HEAD", "/api/runs/99", "Bearer " TEST_ADMIN_TOKEN, NULL, 0).status, 404);
    assert_int_equal(call(ts, "HEAD", "/api/events", "Bearer " TEST_ADMIN_TOKEN, NULL, 0).status, 200);
    assert_int_equal(call(ts, "HEAD", "/", NULL, NULL, 0).status, 200);
}

static void test_chunked_body_is_read(void **state) {
    test_server *ts = *state;
    const char *task = "{\"name\":\"chunked-task\",\"rounds\":7}";
    answer a = call(ts, "POST", "/api/tasks/validate", "Bearer " TEST_ADMIN_TOKEN, task, 1);
    assert_int_equal(a.status, 200);
    assert_non_null(strstr(a.body, "\"name\":\"chunked-task\""));
    assert_non_null(strstr(a.body, "\"rounds\":7"));
}

static void test_node_url_names_the_endpoint(void **state) {
    test_server *ts = *state;
    http_answer a = http_call(ts, "GET", "/api/server", NULL, 1);
    assert_int_equal(a.status, 200);
    assert_string_equal(http_error_text(&a), "");
    const char *url = json_string_value(json_object_get(a.json, "node_url"));
    assert_non_null(url);
    assert_true(strlen(url) > 5 && !strcmp(url + strlen(url) - 5, "/node"));
    assert_string_equal(url + strlen(url) - 5, "/node");
    http_answer_free(&a);
}

int main(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bearer_scheme_in_any_case, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_tokens_back_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head_on_get_routes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunked_body_is_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_node_url_names_the_endpoint, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
