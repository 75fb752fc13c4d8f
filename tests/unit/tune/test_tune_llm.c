/* Proposals from the LLM backend: reading a configuration off a task, the
 * request text built from a search's history, and whole searches whose
 * proposer talks to a fake OpenAI-compatible endpoint on 127.0.0.1 (a good
 * proposal is used, an out-of-space one and an unreachable endpoint are
 * rejected and replaced by the method's own sample). */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "fedc/intent.h"
#include "fedc/tune.h"
#include "unit/tune/tune_test_util.h"

/* ---- A fake chat-completions endpoint ----------------------------------- */

typedef struct fake_llm {
    int fd, port;
    pthread_t thread;
    const char *content; /* the assistant's answer */
    pthread_mutex_t lock;
    int served;
    char *last_body; /* the whole request body: system prompt, task-spec schema and request */
} fake_llm;

static void *serve(void *arg) {
    fake_llm *f = arg;
    for (;;) {
        int c = accept(f->fd, NULL, NULL);
        if (c < 0) return NULL; /* the listening socket was shut down */
        char *req = calloc(1, 1 << 20);
        size_t len = 0, want = 0;
        char *body = NULL;
        while (len < (1 << 20) - 1) {
            ssize_t n = read(c, req + len, (1 << 20) - 1 - len);
            if (n <= 0) break;
            len += (size_t)n;
            req[len] = 0;
            char *end = strstr(req, "\r\n\r\n");
            if (!end) continue;
            body = end + 4;
            char *cl = strstr(req, "Content-Length:"); /* as curl spells it */
            want = cl ? (size_t)strtoul(cl + 15, NULL, 10) : 0;
            if ((size_t)(req + len - body) >= want) break;
        }
        pthread_mutex_lock(&f->lock);
        f->served++;
        free(f->last_body);
        f->last_body = strdup(body ? body : "");
        pthread_mutex_unlock(&f->lock);
        json_t *ans =
            json_pack("{s:[{s:{s:s,s:s}}]}", "choices", "message", "role", "assistant", "content", f->content);
        char *text = json_dumps(ans, JSON_COMPACT);
        json_decref(ans);
        char head[256];
        int hl = snprintf(head, sizeof head,
                          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                          "Connection: close\r\n\r\n",
                          strlen(text));
        if (write(c, head, (size_t)hl) < 0 || write(c, text, strlen(text)) < 0) {
            /* the client went away: nothing to do */
        }
        free(text);
        free(req);
        close(c);
    }
}

static void fake_start(fake_llm *f, const char *content) {
    memset(f, 0, sizeof *f);
    f->content = content;
    pthread_mutex_init(&f->lock, NULL);
    f->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f->fd >= 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(f->fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    assert_int_equal(getsockname(f->fd, (struct sockaddr *)&a, &al), 0);
    f->port = ntohs(a.sin_port);
    assert_int_equal(listen(f->fd, 8), 0);
    assert_int_equal(pthread_create(&f->thread, NULL, serve, f), 0);
}

static void fake_stop(fake_llm *f) {
    shutdown(f->fd, SHUT_RDWR);
    close(f->fd);
    pthread_join(f->thread, NULL);
    pthread_mutex_destroy(&f->lock);
    free(f->last_body);
    f->last_body = NULL;
}

static void llm_config(fedc_llm_config *cfg, int port) {
    fedc_llm_config_init(cfg);
    snprintf(cfg->url, sizeof cfg->url, "http://127.0.0.1:%d", port);
    snprintf(cfg->model, sizeof cfg->model, "test-model");
    cfg->api_key[0] = 0;
    cfg->max_repairs = 0;
    cfg->timeout_s = 20;
    cfg->fallback_builtin = 0;
}

/* ---- Tests ---------------------------------------------------------------- */

static const char *k_space =
    "{\"params\": ["
    "{\"name\": \"local.lr\", \"type\": \"choice\", \"values\": [0.001, 0.01, 0.1, 1.0]},"
    "{\"name\": \"local.batch\", \"type\": \"choice\", \"values\": [16, 32, 64]},"
    "{\"name\": \"local.epochs\", \"type\": \"int\", \"min\": 1, \"max\": 3},"
    "{\"name\": \"arch.depth\", \"type\": \"int\", \"min\": 1, \"max\": 2},"
    "{\"name\": \"arch.width1\", \"type\": \"choice\", \"values\": [64, 128]},"
    "{\"name\": \"arch.width2\", \"type\": \"choice\", \"values\": [64, 128],"
    " \"when\": {\"param\": \"arch.depth\", \"in\": [2]}}]}";

static double final_of(const fedc_tune_config *c) {
    return 0.9 - 0.1 * fabs(c->v[0] - 2) - 0.05 * fabs(c->v[1] - 1) - 0.03 * fabs(c->v[2] - 2);
}

static fedc_tune_space *space(void) {
    fedc_error err;
    fedc_tune_space *s = fedc_tune_space_from_json(k_space, strlen(k_space), "space", &err);
    if (!s) fail_msg("%s", err.msg);
    return s;
}

static void test_config_from_task(void **state) {
    (void)state;
    fedc_tune_space *s = space();
    fedc_task t;
    fedc_error err;
    fedc_task_defaults(&t);
    assert_int_equal(fedc_task_set(&t, "local={\"lr\": 0.1, \"batch\": 64, \"epochs\": 3}", &err), 0);
    assert_int_equal(fedc_task_set(&t, "model=\"dense:128,dense:64,dense:10\"", &err), 0);
    fedc_tune_config c;
    assert_int_equal(fedc_tune_config_from_task(s, &t, &c, &err), 0);
    char *j = fedc_tune_config_to_json(s, &c);
    assert_string_equal(j, "{\"local.lr\":0.1,\"local.batch\":64,\"local.epochs\":3,\"arch.depth\":2,"
                           "\"arch.width1\":128,\"arch.width2\":64}");
    free(j);
    /* The configuration applied to the defaults gives the task's settings back. */
    fedc_task base, back;
    fedc_task_defaults(&base);
    assert_int_equal(fedc_tune_config_apply(s, &c, &base, 10, &back, &err), 0);
    assert_string_equal(back.model, t.model);
    assert_true(back.local.lr == 0.1 && back.local.batch == 64);

    assert_int_equal(fedc_task_set(&t, "local.lr=0.05", &err), 0);
    assert_int_equal(fedc_tune_config_from_task(s, &t, &c, &err), -1);
    assert_non_null(strstr(err.msg, "local.lr"));
    assert_non_null(strstr(err.msg, "not one of the choices"));
    assert_int_equal(fedc_task_set(&t, "local.lr=0.1", &err), 0);
    assert_int_equal(fedc_task_set(&t, "model=\"dense:128,dense:64,dense:32,dense:10\"", &err), 0);
    assert_int_equal(fedc_tune_config_from_task(s, &t, &c, &err), -1);
    assert_non_null(strstr(err.msg, "arch.depth: 3 is out of range"));
    assert_int_equal(fedc_task_set(&t, "model=cnn", &err), 0);
    assert_int_equal(fedc_tune_config_from_task(s, &t, &c, &err), -1);
    assert_non_null(strstr(err.msg, "does not apply to the CNN model"));
    fedc_tune_space_free(s);
}

/* A history as the search gives it to a proposer. */
static char *history(int ntrials) {
    fedc_tune_space *s = space();
    char *sj = fedc_tune_space_to_json(s);
    fedc_task t;
    fedc_task_defaults(&t);
    char *tj = fedc_task_to_json(&t, 0);
    json_t *trials = json_array();
    for (int i = 0; i < ntrials; i++) {
        json_t *cfg = json_pack("{s:f,s:i,s:i,s:i,s:i}", "local.lr", i % 2 ? 0.01 : 0.1, "local.batch", 32,
                                "local.epochs", 1 + i % 3, "arch.depth", 1, "arch.width1", 64);
        json_array_append_new(trials, json_pack("{s:i,s:o,s:s,s:i,s:f}", "trial", i, "config", cfg, "status",
                                                i == 1 ? "failed" : "complete", "rounds", 9, "accuracy",
                                                0.5 + 0.001 * i));
    }
    json_t *h = json_pack("{s:s,s:o,s:o,s:o}", "objective", "maximise test accuracy after 9 rounds", "space",
                          json_loads(sj, 0, NULL), "task", json_loads(tj, 0, NULL), "trials", trials);
    char *text = json_dumps(h, JSON_COMPACT);
    json_decref(h);
    free(sj);
    free(tj);
    fedc_tune_space_free(s);
    return text;
}

static void test_request_text(void **state) {
    (void)state;
    fedc_error err;
    char *h = history(3);
    char *r = fedc_tune_llm_request(h, &err);
    assert_non_null(r);
    assert_non_null(strstr(r, "after 9 rounds"));
    assert_non_null(strstr(r, "- local.lr: one of 0.001, 0.01, 0.1, 1.0"));
    assert_non_null(strstr(r, "- arch.width2: one of 64, 128 (only when arch.depth is 2)"));
    assert_non_null(strstr(r, "fashion-mnist, 100 clients"));
    /* Best first; the failed trial last. */
    char *t2 = strstr(r, "accuracy 0.5020"), *t0 = strstr(r, "accuracy 0.5000"), *f1 = strstr(r, "failed");
    assert_true(t2 && t0 && f1 && t2 < t0 && t0 < f1);
    free(r);
    free(h);
    /* A long history is cut to fit one request, and says so. */
    h = history(400);
    r = fedc_tune_llm_request(h, &err);
    assert_non_null(r);
    assert_true(strlen(r) <= FEDC_INTENT_REQUEST_MAX);
    assert_non_null(strstr(r, "more trials not shown"));
    assert_non_null(strstr(r, "Keep every other field unchanged"));
    free(r);
    free(h);
    assert_null(fedc_tune_llm_request("not json", &err));
}

typedef struct outcome {
    int llm, rejected;
    char error[256];
} outcome;

static outcome search_with(const fedc_llm_config *cfg) {
    fedc_tune_space *s = space();
    fn_objective fo;
    fn_init(&fo, final_of);
    fedc_tune_objective obj = fn_as_objective(&fo);
    fedc_tune_options o;
    memset(&o, 0, sizeof o);
    o.method = FEDC_TUNE_TPE;
    o.budget = 8;
    o.seed = 2;
    o.startup = 4;
    o.parallel = 1;
    o.n_classes = 10;
    o.max_rounds = 9;
    o.propose = fedc_tune_llm_propose;
    o.propose_ctx = (void *)cfg;
    o.propose_every = 2;
    fedc_task base;
    fedc_task_defaults(&base);
    fedc_error err;
    fedc_tune_search *se = fedc_tune_search_create(s, &base, &o, &obj, &err);
    if (!se) fail_msg("%s", err.msg);
    if (fedc_tune_search_run(se, &err) != 0) fail_msg("%s", err.msg);
    outcome out = {0, 0, ""};
    for (int i = 0; i < fedc_tune_search_ntrials(se); i++) {
        const fedc_tune_trial *t = fedc_tune_search_trial(se, i);
        if (!strcmp(t->source, "llm")) {
            out.llm++;
            char *j = fedc_tune_config_to_json(s, &t->config);
            assert_string_equal(j, "{\"local.lr\":0.1,\"local.batch\":32,\"local.epochs\":2,\"arch.depth\":1,"
                                   "\"arch.width1\":128}");
            free(j);
            assert_int_equal(t->status, FEDC_TRIAL_COMPLETE);
        }
        if (strstr(t->error, "proposal rejected")) {
            out.rejected++;
            snprintf(out.error, sizeof out.error, "%s", t->error);
        }
    }
    fedc_tune_search_free(se);
    fedc_tune_space_free(s);
    return out;
}

static void test_proposals_from_an_endpoint(void **state) {
    (void)state;
    fake_llm f;
    fake_start(&f, "{\"local\": {\"lr\": 0.1, \"batch\": 32, \"epochs\": 2}, \"model\": \"dense:128,dense:10\"}");
    fedc_llm_config cfg;
    llm_config(&cfg, f.port);
    outcome o = search_with(&cfg);
    assert_int_equal(o.llm, 2); /* trials 4 and 6 */
    assert_int_equal(o.rejected, 0);
    assert_int_equal(f.served, 2);
    assert_non_null(f.last_body);
    assert_non_null(strstr(f.last_body, "Trials so far"));
    assert_non_null(strstr(f.last_body, "local.lr"));
    fake_stop(&f);

    /* A learning rate the space does not allow: rejected, trial sampled instead. */
    fake_start(&f, "{\"local\": {\"lr\": 0.3, \"batch\": 32, \"epochs\": 2}}");
    llm_config(&cfg, f.port);
    o = search_with(&cfg);
    assert_int_equal(o.llm, 0);
    assert_int_equal(o.rejected, 2);
    assert_non_null(strstr(o.error, "outside the space"));
    assert_non_null(strstr(o.error, "local.lr"));
    fake_stop(&f);

    /* Nobody listening. */
    fake_start(&f, "{}");
    int port = f.port;
    fake_stop(&f);
    llm_config(&cfg, port);
    cfg.connect_timeout_s = 2;
    o = search_with(&cfg);
    assert_int_equal(o.llm, 0);
    assert_int_equal(o.rejected, 2);
    assert_non_null(strstr(o.error, "LLM"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_from_task),
        cmocka_unit_test(test_request_text),
        cmocka_unit_test(test_proposals_from_an_endpoint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
