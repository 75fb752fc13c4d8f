/* /api/intent: a plain-language request becomes a task for the web form to
 * show, with the explanation of every field (include/fedc/intent.h). Nothing
 * is launched here: the person reviews the form and launches it.
 *
 * The embedded parser is quick and does no I/O, so it answers at once. The
 * LLM backend may take a minute (timeouts, repairs) and the service thread
 * must never block, so each LLM request becomes a job on a thread of its
 * own, answered by GET /api/intent/{job}. Jobs live in an intent_service the
 * server and every running job hold a reference to, so stopping the server
 * while an endpoint is still thinking frees nothing a job still uses. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/intent.h"
#include "fedc/log.h"
#include "server/server_internal.h"

#define INTENT_JOBS 16 /* LLM requests kept: waiting, or answered and not yet replaced */

typedef struct intent_job {
    uint64_t id; /* 0: free slot */
    int done;
    double finished_at;
    char *answer; /* the result JSON once done (NULL if it could not be built) */
} intent_job;

struct intent_service {
    pthread_mutex_t mu;
    int refs; /* the server's, plus one per job still running */
    int llm_ready;
    fedc_llm_config llm;
    char llm_problem[FEDC_ERROR_MAX];
    uint64_t next_id;
    intent_job jobs[INTENT_JOBS];
};

intent_service *intent_service_create(void) {
    intent_service *svc = calloc(1, sizeof *svc);
    if (!svc) return NULL;
    pthread_mutex_init(&svc->mu, NULL);
    svc->refs = 1;
    svc->next_id = 1;
    fedc_llm_config_init(&svc->llm);
    fedc_error err;
    if (!svc->llm.url[0]) {
        snprintf(svc->llm_problem, sizeof svc->llm_problem, "FEDC_LLM_URL is not set");
    } else if (fedc_llm_config_check(&svc->llm, &err) != 0) {
        snprintf(svc->llm_problem, sizeof svc->llm_problem, "%s", err.msg);
        FEDC_WARN("intent: the LLM backend is off: %s", err.msg);
    } else {
        svc->llm_ready = 1;
        FEDC_INFO("intent: LLM backend %s (model %s)", svc->llm.url, svc->llm.model);
    }
    return svc;
}

static void release(intent_service *svc) {
    pthread_mutex_lock(&svc->mu);
    int last = --svc->refs == 0;
    pthread_mutex_unlock(&svc->mu);
    if (!last) return;
    for (int i = 0; i < INTENT_JOBS; i++) free(svc->jobs[i].answer);
    pthread_mutex_destroy(&svc->mu);
    free(svc);
}

void intent_service_release(intent_service *svc) {
    if (svc) release(svc);
}

int intent_request_parse(const uint8_t *body, size_t len, char *request, size_t cap, int *llm, fedc_error *err) {
    json_error_t jerr;
    json_t *o = len ? json_loadb((const char *)body, len, 0, &jerr) : NULL;
    int rc = -1;
    if (!json_is_object(o)) {
        if (o || !len) fedc_fail(err, "the body must be a JSON object like {\"request\": \"train a CNN on fashion-mnist\"}");
        else fedc_fail(err, "the body is not valid JSON (line %d, column %d: %s)", jerr.line, jerr.column, jerr.text);
        goto out;
    }
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        if (strcmp(key, "request") != 0 && strcmp(key, "backend") != 0) {
            fedc_fail(err, "\"%.64s\" is not a field of an intent request; allowed: request, backend", key);
            goto out;
        }
    }
    json_t *req = json_object_get(o, "request");
    if (!json_is_string(req)) {
        fedc_fail(err, "request: %s; allowed: the request in plain words, 1 to %d bytes",
                  req ? "not a string" : "missing", FEDC_INTENT_REQUEST_MAX);
        goto out;
    }
    /* jansson refuses \u0000 in strings, so the text is NUL-free. */
    size_t n = json_string_length(req);
    const char *text = json_string_value(req);
    const char *problem = n == 0 || strspn(text, " \t\r\n") == n ? "empty"
                          : n > FEDC_INTENT_REQUEST_MAX || n >= cap ? "too long"
                                                                    : NULL;
    if (problem) {
        fedc_fail(err, "request: %s (%zu bytes); allowed: the request in plain words, 1 to %d bytes", problem, n,
                  FEDC_INTENT_REQUEST_MAX);
        goto out;
    }
    json_t *be = json_object_get(o, "backend");
    const char *backend = be ? json_string_value(be) : "builtin";
    if (!backend || (strcmp(backend, "builtin") != 0 && strcmp(backend, "llm") != 0)) {
        if (json_is_string(be))
            fedc_fail(err, "backend: \"%.64s\" is not known; allowed: \"builtin\" (the embedded parser) or \"llm\"",
                      backend);
        else fedc_fail(err, "backend: not a string; allowed: \"builtin\" (the embedded parser) or \"llm\"");
        goto out;
    }
    memcpy(request, text, n + 1);
    *llm = !strcmp(backend, "llm");
    rc = 0;
out:
    json_decref(o);
    return rc;
}

/* The answer as JSON text (malloc'd; NULL when out of memory). */
static char *answer_json(const fedc_intent_result *r, int rc, const fedc_error *err) {
    return fedc_intent_result_to_json(r, rc == 0 ? NULL : err->msg, 0);
}

static void send_text(fedc_http_response *resp, int status, char *json) {
    resp->status = status;
    snprintf(resp->content_type, sizeof resp->content_type, "application/json");
    fedc_buf_clear(&resp->body);
    if (fedc_buf_append(&resp->body, json, strlen(json)) != 0) {
        http_error(resp, 500, "out of memory");
        return;
    }
    fedc_http_add_header(resp, "cache-control", "no-store");
}

static void h_builtin(const char *request, fedc_http_response *resp) {
    fedc_intent_result *r = malloc(sizeof *r);
    if (!r) {
        http_error(resp, 500, "out of memory reading the request");
        return;
    }
    fedc_error err;
    int rc = fedc_intent_parse(request, r, &err);
    char *json = answer_json(r, rc, &err);
    /* A refusal (a question, an invalid task) is an answer for the person:
     * 200 with status and error; only an unusable request is the client's fault. */
    if (json) send_text(resp, rc != 0 && r->status == FEDC_INTENT_INPUT ? 400 : 200, json);
    else http_error(resp, 500, "out of memory building the answer");
    free(json);
    free(r);
}

typedef struct job_arg {
    intent_service *svc;
    uint64_t id;
    fedc_llm_config llm;
    char request[FEDC_INTENT_REQUEST_MAX + 1];
} job_arg;

static void *job_main(void *p) {
    job_arg *a = p;
    fedc_intent_result *r = malloc(sizeof *r);
    char *json = NULL;
    if (r) {
        fedc_error err;
        int rc = fedc_intent_parse_llm(a->request, &a->llm, r, &err);
        json = answer_json(r, rc, &err);
        free(r);
    }
    intent_service *svc = a->svc;
    pthread_mutex_lock(&svc->mu);
    for (int i = 0; i < INTENT_JOBS; i++) {
        if (svc->jobs[i].id != a->id) continue;
        svc->jobs[i].answer = json;
        svc->jobs[i].done = 1;
        svc->jobs[i].finished_at = fedc_now_unix();
        json = NULL;
    }
    pthread_mutex_unlock(&svc->mu);
    free(json);
    free(a);
    release(svc);
    return NULL;
}

/* A slot for a new job: a free one, else the one answered longest ago;
 * -1 when every slot holds a job still waiting for the endpoint. */
static int take_slot(intent_service *svc) {
    int best = -1;
    for (int i = 0; i < INTENT_JOBS; i++) {
        if (!svc->jobs[i].id) return i;
        if (svc->jobs[i].done && (best < 0 || svc->jobs[i].finished_at < svc->jobs[best].finished_at)) best = i;
    }
    return best;
}

static void h_llm(intent_service *svc, const char *request, fedc_http_response *resp) {
    if (!svc->llm_ready) {
        http_error(resp, 400,
                   "the LLM backend is not configured on this server (%s): start `fedc server` with FEDC_LLM_URL and "
                   "FEDC_LLM_MODEL set (and FEDC_LLM_KEY if the endpoint needs a key), or use the builtin backend",
                   svc->llm_problem);
        return;
    }
    job_arg *a = malloc(sizeof *a);
    if (!a) {
        http_error(resp, 500, "out of memory starting the request");
        return;
    }
    a->svc = svc;
    a->llm = svc->llm;
    snprintf(a->request, sizeof a->request, "%s", request);
    pthread_mutex_lock(&svc->mu);
    int slot = take_slot(svc);
    if (slot < 0) {
        pthread_mutex_unlock(&svc->mu);
        free(a);
        http_error(resp, 503, "%d requests are already waiting for the LLM endpoint; try again when one is answered",
                   INTENT_JOBS);
        return;
    }
    intent_job *job = &svc->jobs[slot];
    free(job->answer);
    memset(job, 0, sizeof *job);
    job->id = a->id = svc->next_id++;
    svc->refs++;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t th;
    int started = pthread_create(&th, &attr, job_main, a) == 0;
    pthread_attr_destroy(&attr);
    if (!started) {
        memset(job, 0, sizeof *job);
        svc->refs--;
    }
    uint64_t id = a->id;
    pthread_mutex_unlock(&svc->mu);
    if (!started) {
        free(a);
        http_error(resp, 503, "no thread for the LLM request; try again");
        return;
    }
    http_json(resp, 202, json_pack("{s:I,s:s,s:s}", "job", (json_int_t)id, "status", "pending", "backend", "llm"));
    fedc_http_add_header(resp, "location", "/api/intent/%llu", (unsigned long long)id);
}

static void h_job(intent_service *svc, uint64_t id, fedc_http_response *resp) {
    pthread_mutex_lock(&svc->mu);
    intent_job *job = NULL;
    for (int i = 0; i < INTENT_JOBS; i++)
        if (svc->jobs[i].id == id) job = &svc->jobs[i];
    int found = job != NULL, done = job && job->done;
    char *answer = done && job->answer ? strdup(job->answer) : NULL;
    pthread_mutex_unlock(&svc->mu);
    if (!found) {
        http_error(resp, 404, "intent job %llu does not exist (the answers of the last %d LLM requests are kept)",
                   (unsigned long long)id, INTENT_JOBS);
    } else if (!done) {
        http_json(resp, 202, json_pack("{s:I,s:s,s:s}", "job", (json_int_t)id, "status", "pending", "backend", "llm"));
    } else if (!answer) {
        http_error(resp, 500, "out of memory building the answer of intent job %llu", (unsigned long long)id);
    } else {
        send_text(resp, 200, answer);
    }
    free(answer);
}

/* What the web app offers: the LLM choice only when it can work. */
static void h_backends(intent_service *svc, fedc_http_response *resp) {
    json_t *llm = svc->llm_ready ? json_pack("{s:b,s:s}", "configured", 1, "model", svc->llm.model)
                                 : json_pack("{s:b,s:s}", "configured", 0, "problem", svc->llm_problem);
    http_json(resp, 200, json_pack("{s:{s:b},s:o}", "builtin", "available", 1, "llm", llm));
}

int http_intent_route(fedc_server *s, const fedc_http_request *req, fedc_http_response *resp, const char *rest) {
    int get = !strcmp(req->method, "GET"), post = !strcmp(req->method, "POST");
    if (!s->intent) {
        http_error(resp, 500, "the intent service did not start (out of memory)");
        return 1;
    }
    if (rest[0] == 0) {
        if (post) {
            char request[FEDC_INTENT_REQUEST_MAX + 1];
            int llm = 0;
            fedc_error err;
            if (intent_request_parse(req->body, req->body_len, request, sizeof request, &llm, &err) != 0)
                http_error(resp, 400, "POST /api/intent: %s", err.msg);
            else if (llm) h_llm(s->intent, request, resp);
            else h_builtin(request, resp);
        } else if (get) {
            h_backends(s->intent, resp);
        } else {
            http_error(resp, 405, "%s /api/intent: use POST (a request) or GET (the backends)", req->method);
        }
        return 1;
    }
    /* "/17": digits only (strtoull alone would take " 17" or "+17"). */
    if (rest[0] != '/' || rest[1] < '0' || rest[1] > '9') return 0;
    char *end;
    unsigned long long id = strtoull(rest + 1, &end, 10);
    if (!id || *end) return 0;
    if (!get) {
        http_error(resp, 405, "%s /api/intent/%llu: use GET", req->method, id);
        return 1;
    }
    h_job(s->intent, id, resp);
    return 1;
}
