#include "cli/intent_submit.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ANSWER_MAX (1 << 20)

typedef struct answer {
    char *data;
    size_t len;
} answer;

static size_t on_data(char *p, size_t size, size_t n, void *ud) {
    answer *a = ud;
    size_t k = size * n;
    if (a->len + k > ANSWER_MAX) return 0; /* a run object is small: refuse floods */
    char *d = realloc(a->data, a->len + k + 1);
    if (!d) return 0;
    memcpy(d + a->len, p, k);
    a->len += k;
    d[a->len] = 0;
    a->data = d;
    return k;
}

int fedc_cli_submit_task(const fedc_task *t, const char *server, const char *token, const char *cacert) {
    if (!token || !*token) {
        fprintf(stderr, "fedc intent --run --server: no admin token; give --token or set FEDC_ADMIN_TOKEN "
                        "(the server printed it at its first start; it is in STATE/admin-token)\n");
        return 1;
    }
    char url[1024], auth[600];
    size_t sl = strlen(server);
    while (sl > 0 && server[sl - 1] == '/') sl--;
    snprintf(url, sizeof url, "%.*s/api/runs", (int)sl, server);
    snprintf(auth, sizeof auth, "Authorization: Bearer %.512s", token);
    char *body = fedc_task_to_json(t, 0);
    CURL *h = curl_easy_init();
    if (!body || !h) {
        free(body);
        if (h) curl_easy_cleanup(h);
        fprintf(stderr, "fedc intent --run --server: out of memory\n");
        return 1;
    }
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    hdr = curl_slist_append(hdr, auth);
    answer a = {0};
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &a);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "localhost,127.0.0.1,::1");
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    if (cacert) curl_easy_setopt(h, CURLOPT_CAINFO, cacert);
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(h);
    free(body);
    int result = 1;
    json_t *js = (rc == CURLE_OK && a.data) ? json_loadb(a.data, a.len, 0, NULL) : NULL;
    if (rc != CURLE_OK) {
        fprintf(stderr, "fedc intent --run --server: %s: %s\n", url, errbuf[0] ? errbuf : curl_easy_strerror(rc));
    } else if (status != 201 && status != 200) {
        const char *msg = js ? json_string_value(json_object_get(js, "error")) : NULL;
        fprintf(stderr, "fedc intent --run --server: the server answered %ld: %s\n", status,
                msg ? msg : (a.data ? a.data : "(no body)"));
        json_t *issues = js ? json_object_get(js, "issues") : NULL;
        size_t i;
        json_t *it;
        json_array_foreach(issues, i, it) {
            const char *m = json_string_value(json_object_get(it, "message"));
            if (m) fprintf(stderr, "  %s\n", m);
        }
    } else {
        json_int_t id = json_integer_value(json_object_get(js, "id"));
        const char *st = json_string_value(json_object_get(js, "status"));
        printf("submitted: run %lld (%s) at %.*s/#/runs/%lld\n", (long long)id, st ? st : "?", (int)sl, server,
               (long long)id);
        result = 0;
    }
    json_decref(js);
    free(a.data);
    return result;
}
