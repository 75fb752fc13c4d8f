/* /api/intent on a real server: the body's checks, the embedded parser's
 * answer for the web form (nothing is launched), questions for
 * contradictory requests, the LLM backend refused when not configured, and,
 * against tests/tools/llm_replay_server.py, LLM requests answered as jobs
 * without ever holding up the server (16 at most), also when the server
 * stops while the endpoint is still thinking. */
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "fedc/intent.h"
#include "server/server_internal.h"
#include "unit/server/server_http_util.h"

extern char **environ;

/* ---- the body of POST /api/intent ----------------------------------------- */

static int parse(const char *body, char *request, int *llm, fedc_error *err) {
    return intent_request_parse((const uint8_t *)body, strlen(body), request, FEDC_INTENT_REQUEST_MAX + 1, llm, err);
}

static void test_request_parse(void **state) {
    (void)state;
    char request[FEDC_INTENT_REQUEST_MAX + 1];
    int llm = -1;
    fedc_error err;
    assert_int_equal(parse("{\"request\": \"train a CNN\"}", request, &llm, &err), 0);
    assert_string_equal(request, "train a CNN");
    assert_int_equal(llm, 0);
    assert_int_equal(parse("{\"request\": \"x\", \"backend\": \"llm\"}", request, &llm, &err), 0);
    assert_int_equal(llm, 1);
    assert_int_equal(parse("{\"request\": \"x\", \"backend\": \"builtin\"}", request, &llm, &err), 0);
    assert_int_equal(llm, 0);

    static const struct {
        const char *body, *expect;
    } bad[] = {
        {"", "must be a JSON object"},
        {"[1, 2]", "must be a JSON object"},
        {"{\"request\": ", "not valid JSON (line 1"},
        {"{}", "request: missing"},
        {"{\"request\": 7}", "request: not a string"},
        {"{\"request\": \"\"}", "request: empty"},
        {"{\"request\": \" \\n\\t \"}", "request: empty"},
        {"{\"request\": \"x\", \"backend\": \"gpt\"}", "backend: \"gpt\" is not known; allowed: \"builtin\""},
        {"{\"request\": \"x\", \"backend\": null}", "backend: not a string"},
        {"{\"request\": \"x\", \"run\": true}", "\"run\" is not a field of an intent request; allowed: request, backend"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.msg[0] = 0;
        assert_int_equal(parse(bad[i].body, request, &llm, &err), -1);
        if (!strstr(err.msg, bad[i].expect)) fail_msg("body %s: \"%s\" lacks \"%s\"", bad[i].body, err.msg, bad[i].expect);
    }

    /* 4096 bytes of request are accepted, 4097 are not. */
    char *body = malloc(FEDC_INTENT_REQUEST_MAX + 64);
    assert_non_null(body);
    for (int extra = 0; extra <= 1; extra++) {
        int n = snprintf(body, 32, "{\"request\": \"");
        memset(body + n, 'a', FEDC_INTENT_REQUEST_MAX + extra);
        snprintf(body + n + FEDC_INTENT_REQUEST_MAX + extra, 8, "\"}");
        int rc = parse(body, request, &llm, &err);
        if (extra == 0) {
            assert_int_equal(rc, 0);
            assert_int_equal(strlen(request), FEDC_INTENT_REQUEST_MAX);
        } else {
            assert_int_equal(rc, -1);
            assert_non_null(strstr(err.msg, "request: too long (4097 bytes); allowed: the request in plain words, 1 to 4096 bytes"));
        }
    }
    free(body);
}

/* ---- the embedded parser through the server -------------------------------- */

static const json_t *explained(const json_t *answer, const char *field) {
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(answer, "explanation"), i, e) {
        if (!strcmp(json_string_value(json_object_get(e, "field")), field)) return e;
    }
    return NULL;
}

static void test_builtin_fills_a_task(void **state) {
    (void)state;
    test_server ts;
    assert_int_equal(test_server_start(&ts), 0);
    http_answer a = http_call(&ts, "POST", "/api/intent",
                              "{\"request\": \"train a CNN on fashion-mnist over 6 clients, 3 rounds, keep bandwidth "
                              "low\", \"backend\": \"builtin\"}",
                              1);
    assert_int_equal(a.status, 200);
    assert_non_null(a.json);
    assert_string_equal(json_string_value(json_object_get(a.json, "status")), "ok");
    assert_string_equal(json_string_value(json_object_get(a.json, "backend")), "builtin");
    json_t *task = json_object_get(a.json, "task");
    assert_string_equal(json_string_value(json_object_get(task, "model")), "cnn");
    assert_int_equal(json_integer_value(json_object_get(task, "clients")), 6);
    assert_int_equal(json_integer_value(json_object_get(task, "rounds")), 3);
    /* The goal picked the codecs, and the explanation says so. */
    const json_t *up = explained(a.json, "compression.up");
    assert_non_null(up);
    assert_string_equal(json_string_value(json_object_get(up, "source")), "goal");
    assert_non_null(strstr(json_string_value(json_object_get(up, "reason")), "keep bandwidth low"));
    assert_string_equal(json_string_value(json_object_get(explained(a.json, "model"), "source")), "words");
    assert_string_equal(json_string_value(json_object_get(explained(a.json, "local.lr"), "source")), "default");
    http_answer_free(&a);

    /* A request that contradicts itself gets a question, and no task. */
    a = http_call(&ts, "POST", "/api/intent", "{\"request\": \"use 5 clients with 10 per round\"}", 1);
    assert_int_equal(a.status, 200);
    assert_string_equal(json_string_value(json_object_get(a.json, "status")), "conflict");
    assert_null(json_object_get(a.json, "task"));
    assert_non_null(strstr(http_error_text(&a), "?"));
    assert_non_null(strstr(http_error_text(&a), "clients_per_round"));
    http_answer_free(&a);

    /* Two plausible readings: a question naming the field, with each
     * reading and the words that settle it. */
    a = http_call(&ts, "POST", "/api/intent", "{\"request\": \"all 40 clients for 20 rounds\"}", 1);
    assert_int_equal(a.status, 200);
    assert_string_equal(json_string_value(json_object_get(a.json, "status")), "question");
    assert_null(json_object_get(a.json, "task"));
    json_t *q = json_object_get(a.json, "question");
    assert_string_equal(json_string_value(json_object_get(q, "field")), "clients_per_round");
    json_t *readings = json_object_get(q, "readings");
    assert_int_equal(json_array_size(readings), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(readings, 0), "value")), 40);
    assert_string_equal(json_string_value(json_object_get(json_array_get(readings, 0), "answer")),
                        "actually clients_per_round=40");
    http_answer_free(&a);

    /* Nothing was launched. */
    a = http_call(&ts, "GET", "/api/runs", NULL, 1);
    assert_int_equal(a.status, 200);
    assert_int_equal(json_integer_value(json_object_get(a.json, "total")), 0);
    http_answer_free(&a);

    /* Bad bodies are the client's fault, with the reason. */
    a = http_call(&ts, "POST", "/api/intent", "{\"request\": \"\"}", 1);
    assert_int_equal(a.status, 400);
    assert_non_null(strstr(http_error_text(&a), "POST /api/intent: request: empty"));
    http_answer_free(&a);

    /* Without FEDC_LLM_URL at start, the LLM backend is refused, clearly. */
    a = http_call(&ts, "GET", "/api/intent", NULL, 1);
    assert_int_equal(a.status, 200);
    json_t *llm = json_object_get(a.json, "llm");
    assert_true(json_is_false(json_object_get(llm, "configured")));
    assert_string_equal(json_string_value(json_object_get(llm, "problem")), "FEDC_LLM_URL is not set");
    http_answer_free(&a);
    a = http_call(&ts, "POST", "/api/intent", "{\"request\": \"a CNN\", \"backend\": \"llm\"}", 1);
    assert_int_equal(a.status, 400);
    assert_non_null(strstr(http_error_text(&a), "the LLM backend is not configured on this server"));
    assert_non_null(strstr(http_error_text(&a), "FEDC_LLM_URL"));
    http_answer_free(&a);

    /* Jobs: only numbers, only GET, and unknown ones are 404. */
    static const struct {
        const char *method, *path;
        long status;
    } routes[] = {
        {"GET", "/api/intent/1", 404},    {"POST", "/api/intent/1", 405}, {"GET", "/api/intent/abc", 404},
        {"GET", "/api/intent/+1", 404},   {"GET", "/api/intent/0", 404},  {"DELETE", "/api/intent", 405},
        {"GET", "/api/intentx", 404},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        a = http_call(&ts, routes[i].method, routes[i].path, NULL, 1);
        if (a.status != routes[i].status)
            fail_msg("%s %s: HTTP %ld, expected %ld", routes[i].method, routes[i].path, a.status, routes[i].status);
        http_answer_free(&a);
    }
    /* Like every /api route, it needs the token. */
    a = http_call(&ts, "POST", "/api/intent", "{\"request\": \"a CNN\"}", 0);
    assert_int_equal(a.status, 401);
    http_answer_free(&a);
    test_server_stop(&ts);
}

/* ---- the LLM backend, against a replaying endpoint ------------------------- */

static pid_t llm_pid = -1;
static int llm_port;

static int start_llm(void **state) {
    (void)state;
    const char *src = getenv("FEDC_SOURCE_DIR");
    char script[1200], data[1200];
    snprintf(script, sizeof script, "%s/tests/tools/llm_replay_server.py", src ? src : ".");
    snprintf(data, sizeof data, "%s/tests/data/llm", src ? src : ".");
    int fds[2];
    if (pipe(fds) != 0) return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    char *argv[] = {"/usr/bin/python3", script, "--data-dir", data, "--lifetime", "120", NULL};
    int rc = posix_spawn(&llm_pid, "/usr/bin/python3", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return -1;
    }
    char line[64];
    size_t n = 0;
    struct pollfd p = {fds[0], POLLIN, 0};
    while (n < sizeof line - 1 && poll(&p, 1, 20000) > 0) {
        ssize_t k = read(fds[0], line + n, 1);
        if (k <= 0 || line[n] == '\n') break;
        n++;
    }
    line[n] = '\0';
    close(fds[0]);
    return sscanf(line, "PORT %d", &llm_port) == 1 ? 0 : -1;
}

static int stop_llm(void **state) {
    (void)state;
    if (llm_pid > 0) {
        kill(llm_pid, SIGTERM);
        waitpid(llm_pid, NULL, 0);
    }
    return 0;
}

/* A server whose LLM backend is the replay server's recording `model`. */
static void start_with_llm(test_server *ts, const char *model) {
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", llm_port);
    setenv("FEDC_LLM_URL", url, 1);
    setenv("FEDC_LLM_MODEL", model, 1);
    unsetenv("FEDC_LLM_KEY");
    assert_int_equal(test_server_start(ts), 0);
    /* Read at start: later changes do not matter. */
    unsetenv("FEDC_LLM_URL");
    unsetenv("FEDC_LLM_MODEL");
}

static int64_t post_llm(test_server *ts, const char *request) {
    char body[512];
    snprintf(body, sizeof body, "{\"request\": \"%s\", \"backend\": \"llm\"}", request);
    http_answer a = http_call(ts, "POST", "/api/intent", body, 1);
    if (a.status != 202) fail_msg("POST /api/intent (llm): HTTP %ld %s", a.status, a.body ? a.body : "");
    assert_string_equal(json_string_value(json_object_get(a.json, "status")), "pending");
    int64_t job = json_integer_value(json_object_get(a.json, "job"));
    assert_true(job > 0);
    http_answer_free(&a);
    return job;
}

/* Polls a job until it is answered (at most 30 s). */
static http_answer wait_job(test_server *ts, int64_t job) {
    char path[64];
    snprintf(path, sizeof path, "/api/intent/%lld", (long long)job);
    for (int i = 0; i < 300; i++) {
        http_answer a = http_call(ts, "GET", path, NULL, 1);
        if (a.status != 202) return a;
        http_answer_free(&a);
        usleep(100 * 1000);
    }
    fail_msg("job %lld was not answered within 30 s", (long long)job);
    return (http_answer){0};
}

static void test_llm_answers_as_a_job(void **state) {
    (void)state;
    test_server ts;
    start_with_llm(&ts, "valid");
    http_answer a = http_call(&ts, "GET", "/api/intent", NULL, 1);
    json_t *llm = json_object_get(a.json, "llm");
    assert_true(json_is_true(json_object_get(llm, "configured")));
    assert_string_equal(json_string_value(json_object_get(llm, "model")), "valid");
    http_answer_free(&a);

    int64_t job = post_llm(&ts, "cifar10 cnn, 40 clients, 8 per round, 20 rounds");
    a = wait_job(&ts, job);
    assert_int_equal(a.status, 200);
    assert_string_equal(json_string_value(json_object_get(a.json, "status")), "ok");
    assert_string_equal(json_string_value(json_object_get(a.json, "backend")), "llm");
    json_t *task = json_object_get(a.json, "task");
    assert_string_equal(json_string_value(json_object_get(json_object_get(task, "dataset"), "name")), "cifar10");
    assert_int_equal(json_integer_value(json_object_get(task, "clients")), 40);
    assert_string_equal(json_string_value(json_object_get(explained(a.json, "rounds"), "source")), "llm");
    http_answer_free(&a);
    /* The answer stays for a second look. */
    char path[64];
    snprintf(path, sizeof path, "/api/intent/%lld", (long long)job);
    a = http_call(&ts, "GET", path, NULL, 1);
    assert_int_equal(a.status, 200);
    http_answer_free(&a);
    test_server_stop(&ts);
}

static void test_llm_failure_is_an_answer(void **state) {
    (void)state;
    test_server ts;
    start_with_llm(&ts, "http500");
    http_answer a = wait_job(&ts, post_llm(&ts, "a CNN please"));
    assert_int_equal(a.status, 200);
    assert_string_equal(json_string_value(json_object_get(a.json, "status")), "backend");
    assert_null(json_object_get(a.json, "task"));
    assert_non_null(strstr(http_error_text(&a), "500"));
    http_answer_free(&a);
    test_server_stop(&ts);
}

/* The recording "slow" answers after 4 s: meanwhile the server serves
 * everything else, refuses a 17th waiting request, and can be stopped. */
static void test_llm_never_holds_up_the_server(void **state) {
    (void)state;
    test_server ts;
    start_with_llm(&ts, "slow");
    int64_t first = post_llm(&ts, "slow one");
    for (int i = 1; i < 16; i++) post_llm(&ts, "slow one");
    http_answer a = http_call(&ts, "POST", "/api/intent", "{\"request\": \"one more\", \"backend\": \"llm\"}", 1);
    assert_int_equal(a.status, 503);
    assert_non_null(strstr(http_error_text(&a), "16 requests are already waiting for the LLM endpoint"));
    http_answer_free(&a);
    /* The service thread is free: other routes and the builtin parser answer
     * while all 16 jobs still wait for the endpoint. */
    a = http_call(&ts, "GET", "/api/server", NULL, 1);
    assert_int_equal(a.status, 200);
    http_answer_free(&a);
    a = http_call(&ts, "POST", "/api/intent", "{\"request\": \"20 rounds\"}", 1);
    assert_int_equal(a.status, 200);
    http_answer_free(&a);
    char path[64];
    snprintf(path, sizeof path, "/api/intent/%lld", (long long)first);
    a = http_call(&ts, "GET", path, NULL, 1);
    assert_int_equal(a.status, 202);
    http_answer_free(&a);
    /* Stopping now leaves the jobs to finish on their own; the sanitizers
     * check that they touch nothing the server freed. */
    test_server_stop(&ts);
    sleep(6);
}

int main(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    unsetenv("FEDC_LLM_URL");
    unsetenv("FEDC_LLM_MODEL");
    unsetenv("FEDC_LLM_KEY");
    const struct CMUnitTest local[] = {
        cmocka_unit_test(test_request_parse),
        cmocka_unit_test(test_builtin_fills_a_task),
    };
    const struct CMUnitTest llm[] = {
        cmocka_unit_test(test_llm_answers_as_a_job),
        cmocka_unit_test(test_llm_failure_is_an_answer),
        cmocka_unit_test(test_llm_never_holds_up_the_server),
    };
    int failed = cmocka_run_group_tests_name("intent route", local, NULL, NULL);
    failed += cmocka_run_group_tests_name("intent route, LLM backend", llm, start_llm, stop_llm);
    curl_global_cleanup();
    return failed;
}
