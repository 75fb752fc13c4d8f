/* One HTTP POST with libcurl for the LLM backend: bounded answer size,
 * connect and total timeouts, no redirects, http/https only, and error
 * messages that say what to check. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "intent/intent_internal.h"

typedef struct {
    char *data;
    size_t len, cap, max;
    int overflow;
} sink;

static size_t on_data(char *p, size_t size, size_t n, void *ud) {
    sink *s = ud;
    size_t add = size * n;
    if (add > s->max - s->len) {
        s->overflow = 1;
        return 0; /* aborts the transfer */
    }
    if (s->len + add + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + add + 1) cap *= 2;
        char *d = realloc(s->data, cap);
        if (!d) return 0;
        s->data = d;
        s->cap = cap;
    }
    memcpy(s->data + s->len, p, add);
    s->len += add;
    s->data[s->len] = '\0';
    return add;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

char *intent_http_post(const fedc_llm_config *cfg, const char *url, const char *body, long *status, size_t *len,
                       fedc_error *err) {
    pthread_once(&curl_once, curl_init);
    *status = 0;
    *len = 0;
    CURL *h = curl_easy_init();
    if (!h) {
        fedc_fail(err, "LLM endpoint: cannot start an HTTP client (libcurl)");
        return NULL;
    }
    sink s = {NULL, 0, 0, cfg->max_response_bytes, 0};
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    hdr = curl_slist_append(hdr, "Accept: application/json");
    char auth[300];
    if (cfg->api_key[0]) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", cfg->api_key);
        hdr = curl_slist_append(hdr, auth);
    }
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(cfg->connect_timeout_s * 1000));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(cfg->timeout_s * 1000));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "localhost,127.0.0.1,::1");
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)cfg->max_response_bytes);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "fedc-intent");
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(h);
    curl_off_t connect_us = 0;
    curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &connect_us);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    if (rc != CURLE_OK) {
        free(s.data);
        if (s.overflow || rc == CURLE_FILESIZE_EXCEEDED)
            fedc_fail(err, "LLM endpoint %s: answer larger than %zu bytes; refused", url, cfg->max_response_bytes);
        else if (rc == CURLE_OPERATION_TIMEDOUT && connect_us == 0)
            fedc_fail(err, "LLM endpoint %s: could not connect within %.1f s (connect timeout); is the server up?",
                      url, cfg->connect_timeout_s);
        else if (rc == CURLE_OPERATION_TIMEDOUT)
            fedc_fail(err, "LLM endpoint %s: no complete answer within %.1f s (timeout); the model may be slow or "
                           "overloaded: raise --timeout", url, cfg->timeout_s);
        else if (rc == CURLE_COULDNT_CONNECT)
            fedc_fail(err, "LLM endpoint %s: connection refused or unreachable; is the server running?", url);
        else if (rc == CURLE_COULDNT_RESOLVE_HOST)
            fedc_fail(err, "LLM endpoint %s: cannot resolve the host name", url);
        else
            fedc_fail(err, "LLM endpoint %s: %s%s%s", url, curl_easy_strerror(rc), errbuf[0] ? ": " : "", errbuf);
        return NULL;
    }
    if (!s.data) {
        s.data = calloc(1, 1);
        if (!s.data) {
            fedc_fail(err, "out of memory");
            return NULL;
        }
    }
    *len = s.len;
    return s.data;
}
