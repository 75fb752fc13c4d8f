/* LLM backend: any OpenAI-compatible chat-completions endpoint (llama.cpp's
 * server, Ollama, vLLM, hosted services). The model gets the system prompt,
 * the task JSON Schema and few-shot examples, and is asked for a JSON
 * object. Its answer is only trusted after the task validator accepts it;
 * otherwise the validator's messages are sent back and the model tries
 * again, at most cfg->max_repairs times. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intent/intent_llm.h"

#define REPAIR_ANSWER_MAX 16384 /* bytes of a rejected answer sent back */

void fedc_llm_config_init(fedc_llm_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->connect_timeout_s = 5;
    cfg->timeout_s = 60;
    cfg->max_repairs = 2;
    cfg->max_response_bytes = 1 << 20;
    const char *v;
    if ((v = getenv("FEDC_LLM_URL"))) snprintf(cfg->url, sizeof cfg->url, "%s", v);
    if ((v = getenv("FEDC_LLM_MODEL"))) snprintf(cfg->model, sizeof cfg->model, "%s", v);
    if ((v = getenv("FEDC_LLM_KEY"))) snprintf(cfg->api_key, sizeof cfg->api_key, "%s", v);
}

int fedc_llm_config_check(const fedc_llm_config *cfg, fedc_error *err) {
    if (!cfg->url[0]) return fedc_fail(err, "llm: no endpoint URL; set --url or FEDC_LLM_URL (e.g. http://127.0.0.1:8080)");
    if (strncmp(cfg->url, "http://", 7) != 0 && strncmp(cfg->url, "https://", 8) != 0)
        return fedc_fail(err, "llm: URL \"%s\" must start with http:// or https://", cfg->url);
    if (!cfg->model[0]) return fedc_fail(err, "llm: no model name; set --model or FEDC_LLM_MODEL");
    for (const char *p = cfg->api_key; *p; p++)
        if (*p == '\r' || *p == '\n') return fedc_fail(err, "llm: the API key holds a line break");
    if (!(cfg->connect_timeout_s > 0 && cfg->connect_timeout_s <= 600))
        return fedc_fail(err, "llm: connect timeout %g s is out of range; allowed: > 0 and <= 600", cfg->connect_timeout_s);
    if (!(cfg->timeout_s > 0 && cfg->timeout_s <= 3600))
        return fedc_fail(err, "llm: timeout %g s is out of range; allowed: > 0 and <= 3600", cfg->timeout_s);
    if (cfg->max_repairs < 0 || cfg->max_repairs > 10)
        return fedc_fail(err, "llm: %d repairs is out of range; allowed: 0 to 10", cfg->max_repairs);
    if (cfg->max_response_bytes < 1024 || cfg->max_response_bytes > (64u << 20))
        return fedc_fail(err, "llm: answer bound %zu bytes is out of range; allowed: 1 KiB to 64 MiB",
                         cfg->max_response_bytes);
    return 0;
}

void intent_llm_endpoint(const char *url, char *out, size_t cap) {
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/') n--;
    const char *tail = "/v1/chat/completions";
    if (n >= 17 && strncmp(url + n - 17, "/chat/completions", 17) == 0)
        tail = "";
    else if (n >= 3 && strncmp(url + n - 3, "/v1", 3) == 0)
        tail = "/chat/completions";
    snprintf(out, cap, "%.*s%s", (int)n, url, tail);
}

char *intent_llm_body(const fedc_llm_config *cfg, json_t *messages) {
    json_t *body = json_pack("{s:s, s:O, s:f, s:{s:s}}", "model", cfg->model, "messages", messages, "temperature", 0.0,
                             "response_format", "type", "json_object");
    if (!body) return NULL;
    char *s = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return s;
}

char *intent_llm_content(const char *body, size_t len, fedc_error *err) {
    json_error_t je;
    json_t *root = json_loadb(body, len, 0, &je);
    if (!root) {
        fedc_fail(err, "the endpoint's answer is not JSON (%s at line %d); is the URL a chat-completions endpoint?",
                  je.text, je.line);
        return NULL;
    }
    json_t *content = json_object_get(json_object_get(json_array_get(json_object_get(root, "choices"), 0), "message"),
                                      "content");
    if (!json_is_string(content)) {
        fedc_fail(err, "the endpoint's answer has no choices[0].message.content string; is it OpenAI-compatible?");
        json_decref(root);
        return NULL;
    }
    char *s = strdup(json_string_value(content));
    json_decref(root);
    if (!s) fedc_fail(err, "out of memory");
    return s;
}

/* The error message an endpoint put in its body, for HTTP errors. */
static void http_error_text(const char *body, size_t len, char *out, size_t cap) {
    json_t *root = json_loadb(body, len, 0, NULL);
    json_t *msg = json_object_get(json_object_get(root, "error"), "message");
    if (!json_is_string(msg)) msg = json_object_get(root, "error");
    if (json_is_string(msg))
        snprintf(out, cap, "%s", json_string_value(msg));
    else
        snprintf(out, cap, "%.*s", (int)(len < 200 ? len : 200), body);
    json_decref(root);
    intent_utf8_sanitise(out);
}

static json_t *first_messages(const char *request) {
    char *schema = fedc_task_schema_json();
    if (!schema) return NULL;
    size_t n = strlen(fedc_intent_system_prompt()) + strlen(schema) + 64;
    char *sys = malloc(n);
    if (!sys) {
        free(schema);
        return NULL;
    }
    snprintf(sys, n, "%s\n\nJSON Schema of the task spec:\n%s", fedc_intent_system_prompt(), schema);
    free(schema);
    json_t *m = json_array();
    json_array_append_new(m, json_pack("{s:s, s:s}", "role", "system", "content", sys));
    free(sys);
    for (const intent_example *e = intent_examples; e->request; e++) {
        json_array_append_new(m, json_pack("{s:s, s:s}", "role", "user", "content", e->request));
        json_array_append_new(m, json_pack("{s:s, s:s}", "role", "assistant", "content", e->answer));
    }
    json_array_append_new(m, json_pack("{s:s, s:s}", "role", "user", "content", request));
    return m;
}

/* Why an answer is not a valid task: issues joined for the model. Returns
 * 0 when valid (t filled). */
static int check_answer(const char *content, fedc_task *t, char *why, size_t cap) {
    fedc_error xe;
    char *json = intent_extract_json(content, strlen(content), &xe);
    if (!json) {
        snprintf(why, cap, "%s", xe.msg);
        return -1;
    }
    fedc_task_issue *iss = NULL;
    int n = fedc_task_from_json_all(json, strlen(json), t, &iss);
    free(json);
    if (n == 0) return 0;
    if (n < 0) {
        snprintf(why, cap, "out of memory while validating");
        return -1;
    }
    size_t o = 0;
    why[0] = '\0';
    for (int k = 0; k < n && o + 8 < cap; k++) {
        int w = snprintf(why + o, cap - o, "%s%s", k ? "\n- " : "- ", iss[k].msg);
        if (w < 0) break;
        o += (size_t)w;
    }
    free(iss);
    return -1;
}

static int llm_attempts(const char *request, const fedc_llm_config *cfg, fedc_intent_result *out, fedc_error *err) {
    char url[600];
    intent_llm_endpoint(cfg->url, url, sizeof url);
    json_t *messages = first_messages(request);
    if (!messages) {
        out->status = FEDC_INTENT_BACKEND;
        return fedc_fail(err, "out of memory");
    }
    char why[2048] = "";
    int rc = -1;
    for (int attempt = 0; attempt <= cfg->max_repairs; attempt++) {
        char *body = intent_llm_body(cfg, messages);
        if (!body) {
            fedc_fail(err, "out of memory");
            break;
        }
        long status;
        size_t len;
        char *answer = intent_http_post(cfg, url, body, &status, &len, err);
        free(body);
        out->llm_attempts = attempt + 1;
        if (!answer) break;
        if (status >= 400 || status < 200) {
            char text[240];
            http_error_text(answer, len, text, sizeof text);
            free(answer);
            const char *hint = status == 401 || status == 403 ? " (check the API key: --key or FEDC_LLM_KEY)"
                               : status == 404             ? " (check the URL and the model name)"
                               : status >= 500             ? " (the server failed; try again or use --fallback builtin)"
                                                           : "";
            fedc_fail(err, "LLM endpoint %s answered HTTP %ld: %s%s", url, status, text, hint);
            break;
        }
        char *content = intent_llm_content(answer, len, err);
        free(answer);
        if (!content) break;
        fedc_task t;
        if (check_answer(content, &t, why, sizeof why) == 0) {
            free(content);
            out->task = t;
            intent_explain_whole(&t, FEDC_INTENT_FROM_LLM, out);
            if (attempt > 0) intent_result_note(out, "the model's answer was repaired %d time(s) from the validator's messages", attempt);
            rc = 0;
            break;
        }
        if (attempt == cfg->max_repairs) {
            free(content);
            fedc_fail(err, "the model's answer was still not a valid task after %d repair(s): %s", cfg->max_repairs, why);
            break;
        }
        /* send the answer back with what was wrong */
        if (strlen(content) > REPAIR_ANSWER_MAX) content[REPAIR_ANSWER_MAX] = '\0';
        char repair[2300];
        snprintf(repair, sizeof repair, "%s by the task validator:\n%s\nReply with the corrected JSON object only.",
                 INTENT_REPAIR_PREFIX, why);
        json_array_append_new(messages, json_pack("{s:s, s:s}", "role", "assistant", "content", content));
        json_array_append_new(messages, json_pack("{s:s, s:s}", "role", "user", "content", repair));
        free(content);
    }
    json_decref(messages);
    out->status = rc == 0 ? FEDC_INTENT_OK : FEDC_INTENT_BACKEND;
    return rc;
}

int fedc_intent_parse_llm(const char *request, const fedc_llm_config *cfg, fedc_intent_result *out, fedc_error *err) {
    intent_result_init(out, "llm");
    if (!request || !request[0] || strnlen(request, FEDC_INTENT_REQUEST_MAX + 1) > FEDC_INTENT_REQUEST_MAX) {
        /* the same input rules as the embedded parser */
        return fedc_intent_parse(request, out, err);
    }
    fedc_error e;
    int rc = fedc_llm_config_check(cfg, &e);
    if (rc == 0) rc = llm_attempts(request, cfg, out, &e);
    else out->status = FEDC_INTENT_BACKEND;
    if (rc == 0) return 0;
    if (!cfg->fallback_builtin) return fedc_fail(err, "%s", e.msg);
    int attempts = out->llm_attempts;
    rc = fedc_intent_parse(request, out, err);
    out->llm_attempts = attempts;
    intent_result_note(out, "LLM backend failed (%s); used the built-in parser", e.msg);
    return rc;
}
