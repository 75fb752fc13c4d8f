/* Access to the API: the admin token as a bearer token, or a session
 * cookie from POST /api/login (HttpOnly, SameSite=Strict, Secure with TLS).
 * Cookie-authenticated requests that change state must carry X-Fedc-Csrf
 * with the session's CSRF value; the token itself never goes in a cookie. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fedc/certs.h"
#include "server/server_internal.h"

#define SESSION_TTL_S (12 * 3600.0)

/* Compares in time independent of where the strings differ. */
static int same_secret(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = (unsigned char)(la != lb);
    for (size_t i = 0; i < la; i++) diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
    return diff == 0 && la > 0;
}

static auth_session *find_session(fedc_server *s, const char *cookie) {
    const char *p = cookie;
    while (p && (p = strstr(p, "fedc_session=")) != NULL) {
        if (p == cookie || p[-1] == ' ' || p[-1] == ';' || p[-1] == ',') break;
        p++;
    }
    if (!p) return NULL;
    p += strlen("fedc_session=");
    char id[65];
    size_t n = strcspn(p, "; ,");
    if (n != 64) return NULL;
    memcpy(id, p, 64);
    id[64] = 0;
    double now = fedc_now_unix();
    for (int i = 0; i < AUTH_SESSIONS; i++)
        if (s->auth[i].expires > now && same_secret(s->auth[i].id, id)) return &s->auth[i];
    return NULL;
}

static int bearer_ok(fedc_server *s, const char *authorization) {
    if (!authorization || strncmp(authorization, "Bearer ", 7) != 0) return 0;
    return same_secret(authorization + 7, s->admin_token);
}

int http_auth_check(fedc_server *s, const fedc_http_request *req, fedc_http_response *resp) {
    if (bearer_ok(s, req->authorization)) return 0;
    auth_session *as = find_session(s, req->cookie);
    if (!as) {
        http_error(resp, 401, "authentication required: send \"Authorization: Bearer <admin token>\" or log in "
                              "with POST /api/login");
        return -1;
    }
    int changes = strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0;
    if (changes && !same_secret(req->csrf ? req->csrf : "", as->csrf)) {
        http_error(resp, 403, "cross-site request refused: the X-Fedc-Csrf header must carry the session's csrf value");
        return -1;
    }
    return 0;
}

static void session_json(fedc_http_response *resp, const auth_session *as) {
    http_json(resp, 200, json_pack("{s:s,s:f}", "csrf", as->csrf, "expires", as->expires));
}

void http_login(fedc_server *s, const fedc_http_request *req, fedc_http_response *resp) {
    json_t *o = json_loadb((const char *)req->body, req->body_len, 0, NULL);
    const char *token = o ? json_string_value(json_object_get(o, "token")) : NULL;
    if (!token || !same_secret(token, s->admin_token)) {
        json_decref(o);
        http_error(resp, 401, "wrong admin token");
        return;
    }
    json_decref(o);
    /* Reuse the oldest slot when all are taken. */
    int slot = 0;
    for (int i = 1; i < AUTH_SESSIONS; i++)
        if (s->auth[i].expires < s->auth[slot].expires) slot = i;
    auth_session *as = &s->auth[slot];
    char csrf[65];
    if (fedc_auth_nonce(as->id) != 0 || fedc_auth_nonce(csrf) != 0) {
        http_error(resp, 500, "no randomness for a session id");
        return;
    }
    memcpy(as->csrf, csrf, 32);
    as->csrf[32] = 0;
    as->expires = fedc_now_unix() + SESSION_TTL_S;
    session_json(resp, as);
    fedc_http_add_header(resp, "set-cookie", "fedc_session=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%d%s",
                         as->id, (int)SESSION_TTL_S, req->tls ? "; Secure" : "");
}

void http_logout(fedc_server *s, const fedc_http_request *req, fedc_http_response *resp) {
    auth_session *as = find_session(s, req->cookie);
    if (as) memset(as, 0, sizeof *as);
    http_json(resp, 200, json_object());
    fedc_http_add_header(resp, "set-cookie", "fedc_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
}

void http_session(fedc_server *s, const fedc_http_request *req, fedc_http_response *resp) {
    auth_session *as = find_session(s, req->cookie);
    if (!as) {
        http_error(resp, 401, "no session (bearer-token requests have none)");
        return;
    }
    session_json(resp, as);
}
