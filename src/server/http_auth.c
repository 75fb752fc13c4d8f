/* Access to the API: the admin token as a bearer token, or a session
 * cookie from POST /api/login (HttpOnly, SameSite=Strict, Secure with TLS).
 * Cookie-authenticated requests that change state must carry X-Fedc-Csrf
 * with the session's CSRF value; the token itself never goes in a cookie.
 *
 * Guessing the token: every wrong token (bearer or login) is logged with
 * the address it came from; after AUTH_FREE_FAILURES in a row an address
 * must wait before its next token is even looked at (429 with
 * Retry-After), AUTH_FIRST_LOCK_S doubling to AUTH_MAX_LOCK_S. A right token clears the
 * address's record; session cookies are not affected. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fedc/log.h"

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

/* ---- failed attempts per address ------------------------------------------ */

#define AUTH_FREE_FAILURES 5
#define AUTH_FIRST_LOCK_S 2.0
#define AUTH_MAX_LOCK_S 300.0
#define AUTH_FORGET_S 900.0 /* a record older than this starts again from zero */

/* The address's record (created; the oldest is reused when all are taken). */
static auth_failures *failures_of(fedc_server *s, const char *peer) {
    auth_failures *oldest = &s->auth_fail[0];
    for (int i = 0; i < AUTH_FAIL_ADDRS; i++) {
        auth_failures *f = &s->auth_fail[i];
        if (f->addr[0] && !strcmp(f->addr, peer)) return f;
        if (f->last < oldest->last) oldest = f;
    }
    memset(oldest, 0, sizeof *oldest);
    snprintf(oldest->addr, sizeof oldest->addr, "%s", peer);
    return oldest;
}

/* 0 if the address may try a token now, else the seconds to wait. */
static double locked_for(fedc_server *s, const char *peer) {
    double now = fedc_now_unix();
    for (int i = 0; i < AUTH_FAIL_ADDRS; i++) {
        auth_failures *f = &s->auth_fail[i];
        if (f->addr[0] && !strcmp(f->addr, peer)) return f->locked_until > now ? f->locked_until - now : 0;
    }
    return 0;
}

static void auth_failed(fedc_server *s, const char *peer, const char *how) {
    auth_failures *f = failures_of(s, peer);
    double now = fedc_now_unix();
    if (now - f->last > AUTH_FORGET_S) f->count = 0;
    f->count++;
    f->last = now;
    FEDC_WARN("admin authentication failed from %s: %s (%d in a row)", peer, how, f->count);
    if (f->count >= AUTH_FREE_FAILURES) {
        double lock = AUTH_FIRST_LOCK_S * pow(2.0, f->count - AUTH_FREE_FAILURES);
        if (lock > AUTH_MAX_LOCK_S) lock = AUTH_MAX_LOCK_S;
        f->locked_until = now + lock;
        FEDC_WARN("%s must wait %.0f s before its next admin token is checked (%d wrong in a row)", peer, lock,
                  f->count);
    }
}

static void auth_succeeded(fedc_server *s, const char *peer) {
    for (int i = 0; i < AUTH_FAIL_ADDRS; i++)
        if (s->auth_fail[i].addr[0] && !strcmp(s->auth_fail[i].addr, peer)) memset(&s->auth_fail[i], 0, sizeof s->auth_fail[i]);
}

/* 429 while the address waits out its lock; 0 if it may try. */
static int refuse_locked(fedc_server *s, const fedc_http_request *req, fedc_http_response *resp) {
    double wait = locked_for(s, req->peer ? req->peer : "");
    if (wait <= 0) return 0;
    int secs = (int)ceil(wait);
    http_error(resp, 429, "too many wrong admin tokens from this address: the next one is checked in %d s", secs);
    fedc_http_add_header(resp, "retry-after", "%d", secs);
    return -1;
}

/* "Bearer TOKEN", the scheme in any case (RFC 9110 11.1), blanks allowed. */
static const char *bearer_token(const char *authorization) {
    if (!authorization || strncasecmp(authorization, "bearer", 6) != 0 ||
        (authorization[6] != ' ' && authorization[6] != '\t'))
        return NULL;
    const char *t = authorization + 6;
    while (*t == ' ' || *t == '\t') t++;
    return t;
}

int http_auth_check(fedc_server *s, const fedc_http_request *req, fedc_http_response *resp) {
    const char *peer = req->peer ? req->peer : "";
    if (req->authorization && req->authorization[0]) {
        /* A credential was presented: it is checked (and counted) unless the address must wait. */
        if (refuse_locked(s, req, resp) != 0) return -1;
        const char *token = bearer_token(req->authorization);
        if (token && same_secret(token, s->admin_token)) {
            auth_succeeded(s, peer);
            return 0;
        }
        auth_failed(s, peer, token ? "wrong bearer token" : "an Authorization header that is not \"Bearer <token>\"");
        http_error(resp, 401, "wrong admin token: send \"Authorization: Bearer <admin token>\"");
        return -1;
    }
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
    const char *peer = req->peer ? req->peer : "";
    if (refuse_locked(s, req, resp) != 0) return;
    json_t *o = json_loadb((const char *)req->body, req->body_len, 0, NULL);
    const char *token = o ? json_string_value(json_object_get(o, "token")) : NULL;
    if (!token || !same_secret(token, s->admin_token)) {
        json_decref(o);
        auth_failed(s, peer, "wrong token at POST /api/login");
        http_error(resp, 401, "wrong admin token");
        return;
    }
    json_decref(o);
    auth_succeeded(s, peer);
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
    /* A hint the app can read (no secret in it): with it absent, a page
     * opened while signed out goes to the sign-in page without first asking
     * GET /api/session for a 401 the browser would log as an error. */
    fedc_http_add_header(resp, "set-cookie", "fedc_signed_in=1; SameSite=Strict; Path=/; Max-Age=%d%s",
                         (int)SESSION_TTL_S, req->tls ? "; Secure" : "");
}

void http_logout(fedc_server *s, const fedc_http_request *req, fedc_http_response *resp) {
    auth_session *as = find_session(s, req->cookie);
    if (as) memset(as, 0, sizeof *as);
    http_json(resp, 200, json_object());
    fedc_http_add_header(resp, "set-cookie", "fedc_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    fedc_http_add_header(resp, "set-cookie", "fedc_signed_in=; SameSite=Strict; Path=/; Max-Age=0");
}

void http_session(fedc_server *s, const fedc_http_request *req, fedc_http_response *resp) {
    auth_session *as = find_session(s, req->cookie);
    if (!as) {
        http_error(resp, 401, "no session (bearer-token requests have none)");
        fedc_http_add_header(resp, "set-cookie", "fedc_signed_in=; SameSite=Strict; Path=/; Max-Age=0");
        return;
    }
    session_json(resp, as);
}
