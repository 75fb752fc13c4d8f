/* The LLM backend against tests/tools/llm_replay_server.py: a real HTTP
 * server on 127.0.0.1 replaying recorded answers (valid, fenced, invalid
 * JSON, schema-violating then repaired, slow, HTTP 500, oversize, not a
 * chat completion, API key required), so every case goes through libcurl
 * and the real request/answer handling. */
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cmocka.h>

#include "fedc/intent.h"
#include "intent/intent_llm.h"

extern char **environ;

static pid_t server_pid = -1;
static int server_port;
static char src_dir[1024];

static int start_server(void **state) {
    (void)state;
    const char *src = getenv("FEDC_SOURCE_DIR");
    snprintf(src_dir, sizeof src_dir, "%s", src ? src : ".");
    char script[1200], data[1200];
    snprintf(script, sizeof script, "%s/tests/tools/llm_replay_server.py", src_dir);
    snprintf(data, sizeof data, "%s/tests/data/llm", src_dir);
    int fds[2];
    if (pipe(fds) != 0) return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    char *argv[] = {"/usr/bin/python3", script, "--data-dir", data, "--lifetime", "120", NULL};
    int rc = posix_spawn(&server_pid, "/usr/bin/python3", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        fprintf(stderr, "cannot start %s\n", script);
        return -1;
    }
    /* first line: "PORT <n>" */
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
    if (sscanf(line, "PORT %d", &server_port) != 1) {
        fprintf(stderr, "replay server did not report a port (got \"%s\")\n", line);
        return -1;
    }
    return 0;
}

static int stop_server(void **state) {
    (void)state;
    if (server_pid > 0) {
        kill(server_pid, SIGTERM);
        waitpid(server_pid, NULL, 0);
    }
    return 0;
}

static void config(fedc_llm_config *cfg, const char *model) {
    fedc_llm_config_init(cfg);
    snprintf(cfg->url, sizeof cfg->url, "http://127.0.0.1:%d", server_port);
    snprintf(cfg->model, sizeof cfg->model, "%s", model);
    cfg->api_key[0] = '\0';
    cfg->timeout_s = 10;
    cfg->connect_timeout_s = 5;
}

static fedc_intent_result *result(void) {
    fedc_intent_result *r = malloc(sizeof *r);
    assert_non_null(r);
    return r;
}

static const fedc_intent_choice *choice(const fedc_intent_result *r, const char *field) {
    for (int k = 0; k < r->n_choices; k++)
        if (!strcmp(r->choices[k].field, field)) return &r->choices[k];
    return NULL;
}

static void test_valid_answer(void **state) {
    (void)state;
    fedc_llm_config cfg;
    config(&cfg, "valid");
    fedc_intent_result *r = result();
    fedc_error err = {{0}};
    assert_int_equal(fedc_intent_parse_llm("cifar10 cnn, 40 clients, 8 per round, 20 rounds", &cfg, r, &err), 0);
    assert_int_equal(r->status, FEDC_INTENT_OK);
    assert_string_equal(r->backend, "llm");
    assert_int_equal(r->llm_attempts, 1);
    assert_string_equal(r->task.dataset.name, "cifar10");
    assert_string_equal(r->task.model, "cnn");
    assert_int_equal(r->task.rounds, 20);
    assert_int_equal(r->task.clients_per_round, 8);
    const fedc_intent_choice *c = choice(r, "rounds");
    assert_non_null(c);
    assert_int_equal(c->source, FEDC_INTENT_FROM_LLM);
    c = choice(r, "local.lr");
    assert_non_null(c);
    assert_int_equal(c->source, FEDC_INTENT_FROM_DEFAULT);
    free(r);
}

static void test_fenced_answer(void **state) {
    (void)state;
    fedc_llm_config cfg;
    config(&cfg, "fenced");
    fedc_intent_result *r = result();
    fedc_error err = {{0}};
    assert_int_equal(fedc_intent_parse_llm("30 rounds with lr 0.01", &cfg, r, &err), 0);
    assert_int_equal(r->task.rounds, 30);
    assert_true(r->task.local.lr == 0.01);
    free(r);
}

static void test_invalid_json_gives_up(void **state) {
    (void)state;
    fedc_llm_config cfg;
    config(&cfg, "invalid_json");
    cfg.max_repairs = 2;
    fedc_intent_result *r = result();
    fedc_error err = {{0}};
    assert_int_equal(fedc_intent_parse_llm("30 rounds", &cfg, r, &err), -1);
    assert_int_equal(r->status, FEDC_INTENT_BACKEND);
    assert_int_equal(r->llm_attempts, 3);
    assert_non_null(strstr(err.msg, "still not a valid task after 2 repair"));
    free(r);
}

static void test_schema_violation_repaired(void **state) {
    (void)state;
    fedc_llm_config cfg;
    config(&cfg, "schema_repair");
    fedc_intent_result *r = result();
    fedc_error err = {{0}};
    /* the server answers 400 unless the repair message quotes "local.lr" */
    assert_int_equal(fedc_intent_parse_llm("30 rounds, lr 0.01", &cfg, r, &err), 0);
    assert_int_equal(r->llm_attempts, 2);
    assert_true(r->task.local.lr == 0.01);
    assert_int_equal(r->task.rounds, 30);
    assert_true(r->n_notes >= 1);
    assert_non_null(strstr(r->notes[0], "repaired 1 time"));
    free(r);
}

static void test_unknown_field_repaired(void **state) {
    (void)state;
    fedc_llm_config cfg;
    config(&cfg, "unknown_field");
    fedc_intent_result *r = result();
    fedc_error err = {{0}};
    assert_int_equal(fedc_intent_parse_llm("lr 0.1", &cfg, r, &err), 0);
    assert_true(r->task.local.lr == 0.1);
    free(r);
}

static void test_no_repairs_allowed(void **state) {
    (void)state;
    fedc_llm_config cfg;
    config(&cfg, "schema_repair");
    cfg.max_repairs = 0;
    fedc_intent_result *r = result();
    fedc_error err = {{0}};
    assert_int_equal(fedc_intent_parse_llm("30 rounds", &cfg, r, &err), -1);
    assert_int_equal(r->llm_attempts, 1);
    assert_non_null(strstr(err.msg, "local.lr"));
    free(r);
}

static void test_slow_times_out(void **state) {
    (void)state;
    fedc_llm_config cfg;
    config(&cfg, "slow");
    cfg.timeout_s = 1;
    fedc_intent_result *r = result();
    fedc_error err = {{0}};
    assert_int_equal(fedc_intent_parse_llm("20 rounds", &cfg, r, &err), -1);
    assert_int_equal(r->status, FEDC_INTENT_BACKEND);
    assert_non_null(strstr(err.msg, "timeout"));
    assert_non_null(strstr(err.msg, "1.0 s"));
    free(r);
}

static void test_slow_falls_back(void **state) {
    (void)state;
    fedc_llm_config cfg;
    config(&cfg, "slow");
    cfg.timeout_s = 1;
    cfg.fallback_builtin = 1;
    fedc_intent_result *r = result();
    fedc_error err = {{0}};
    assert_int_equal(fedc_intent_parse_llm("fedprox with mu 0.1 for 30 rounds", &cfg, r, &err), 0);
    assert_string_equal(r->backend, "builtin");
    assert_string_equal(r->task.strategy.name, "fedprox");
    assert_int_equal(r->task.rounds, 30);
    int noted = 0;
    for (int k = 0; k < r->n_notes; k++) noted |= strstr(r->notes[k], "LLM backend failed") != NULL;
    assert_true(noted);
    free(r);
}

static void test_http_500(void **state) {
    (void)state;
    fedc_llm_config cfg;
    config(&cfg, "http500");
    fedc_intent_result *r = result();
    fedc_error err = {{0}};
    assert_int_equal(fedc_intent_parse_llm("20 rounds", &cfg, r, &err), -1);
    assert_non_null(strstr(err.msg, "HTTP 500"));
    assert_non_null(strstr(err.msg, "model crashed"));
    free(r);
}

static void test_oversize_refused(void **state) {
    (void)state;
    fedc_llm_config cfg;
    config(&cfg, "oversize");
    fedc_intent_result *r = result();
    fedc_error err = {{0}};
    assert_int_equal(fedc_intent_parse_llm("20 rounds", &cfg, r, &err), -1);
    assert_non_null(strstr(err.msg, "larger than 1048576 bytes"));
    free(r);
}

static void test_not_a_chat_completion(void **state) {
    (void)state;
    fedc_llm_config cfg;
    config(&cfg, "not_chat");
    fedc_intent_result *r = result();
    fedc_error err = {{0}};
    assert_int_equal(fedc_intent_parse_llm("20 rounds", &cfg, r, &err), -1);
    assert_non_null(strstr(err.msg, "choices[0].message.content"));
    free(r);
}

static void test_api_key(void **state) {
    (void)state;
    fedc_llm_config cfg;
    config(&cfg, "keyed");
    fedc_intent_result *r = result();
    fedc_error err = {{0}};
    assert_int_equal(fedc_intent_parse_llm("20 rounds", &cfg, r, &err), -1);
    assert_non_null(strstr(err.msg, "HTTP 401"));
    assert_non_null(strstr(err.msg, "API key"));
    snprintf(cfg.api_key, sizeof cfg.api_key, "sk-test-123");
    assert_int_equal(fedc_intent_parse_llm("20 rounds", &cfg, r, &err), 0);
    assert_int_equal(r->task.rounds, 20);
    free(r);
}

static void test_unknown_model(void **state) {
    (void)state;
    fedc_llm_config cfg;
    config(&cfg, "no_such_model");
    fedc_intent_result *r = result();
    fedc_error err = {{0}};
    assert_int_equal(fedc_intent_parse_llm("20 rounds", &cfg, r, &err), -1);
    assert_non_null(strstr(err.msg, "HTTP 404"));
    free(r);
}

static void test_connection_refused(void **state) {
    (void)state;
    /* a port nothing listens on: bind, read the port, close */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &len);
    close(s);
    fedc_llm_config cfg;
    config(&cfg, "valid");
    snprintf(cfg.url, sizeof cfg.url, "http://127.0.0.1:%d/v1", ntohs(a.sin_port));
    fedc_intent_result *r = result();
    fedc_error err = {{0}};
    assert_int_equal(fedc_intent_parse_llm("20 rounds", &cfg, r, &err), -1);
    assert_non_null(strstr(err.msg, "refused"));
    free(r);
}

static void test_eval_through_llm(void **state) {
    (void)state;
    char path[] = "/tmp/fedc-intent-eval-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *lines =
        "{\"request\": \"fedprox with mu 0.1 for 30 rounds\", \"task\": {\"rounds\": 30, \"strategy\": {\"name\": "
        "\"fedprox\", \"mu\": 0.1}}}\n"
        "{\"request\": \"each client sees 2 classes, 200 clients\", \"task\": {\"partition\": {\"kind\": "
        "\"shards\", \"classes_per_client\": 2}, \"clients\": 200}}\n"
        "{\"request\": \"batch 64 and adam\", \"task\": {\"local\": {\"batch\": 64, \"optimizer\": \"sgd\"}}}\n";
    assert_int_equal(write(fd, lines, strlen(lines)), (ssize_t)strlen(lines));
    close(fd);
    fedc_llm_config cfg;
    config(&cfg, "eval_sample");
    fedc_intent_eval_report *rep = malloc(sizeof *rep);
    fedc_error err = {{0}};
    assert_int_equal(fedc_intent_eval_file(path, FEDC_INTENT_BACKEND_LLM, &cfg, NULL, rep, &err), 0);
    unlink(path);
    assert_int_equal(rep->n, 3);
    assert_int_equal(rep->valid, 3);
    /* the third expected task says sgd; the recorded answer says adam */
    assert_int_equal(rep->exact, 2);
    for (int k = 0; k < rep->n_fields; k++)
        if (!strcmp(rep->fields[k].path, "local.optimizer")) assert_int_equal(rep->fields[k].right, 2);
    free(rep);
}

static void test_config_checks(void **state) {
    (void)state;
    fedc_llm_config cfg;
    fedc_error err;
    fedc_llm_config_init(&cfg);
    cfg.url[0] = '\0';
    assert_int_equal(fedc_llm_config_check(&cfg, &err), -1);
    assert_non_null(strstr(err.msg, "FEDC_LLM_URL"));
    snprintf(cfg.url, sizeof cfg.url, "ftp://x");
    snprintf(cfg.model, sizeof cfg.model, "m");
    assert_int_equal(fedc_llm_config_check(&cfg, &err), -1);
    assert_non_null(strstr(err.msg, "http://"));
    snprintf(cfg.url, sizeof cfg.url, "http://x");
    cfg.max_repairs = 99;
    assert_int_equal(fedc_llm_config_check(&cfg, &err), -1);
    cfg.max_repairs = 2;
    assert_int_equal(fedc_llm_config_check(&cfg, &err), 0);
    char out[128];
    intent_llm_endpoint("http://h:1", out, sizeof out);
    assert_string_equal(out, "http://h:1/v1/chat/completions");
    intent_llm_endpoint("http://h:1/v1/", out, sizeof out);
    assert_string_equal(out, "http://h:1/v1/chat/completions");
    intent_llm_endpoint("https://h/api/chat/completions", out, sizeof out);
    assert_string_equal(out, "https://h/api/chat/completions");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_checks),
        cmocka_unit_test(test_valid_answer),
        cmocka_unit_test(test_fenced_answer),
        cmocka_unit_test(test_invalid_json_gives_up),
        cmocka_unit_test(test_schema_violation_repaired),
        cmocka_unit_test(test_unknown_field_repaired),
        cmocka_unit_test(test_no_repairs_allowed),
        cmocka_unit_test(test_slow_times_out),
        cmocka_unit_test(test_slow_falls_back),
        cmocka_unit_test(test_http_500),
        cmocka_unit_test(test_oversize_refused),
        cmocka_unit_test(test_not_a_chat_completion),
        cmocka_unit_test(test_api_key),
        cmocka_unit_test(test_unknown_model),
        cmocka_unit_test(test_connection_refused),
        cmocka_unit_test(test_eval_through_llm),
    };
    return cmocka_run_group_tests(tests, start_server, stop_server);
}
