/* The request framer of a relayed HTTP connection: the network thread
 * reads each request the client sends before libwebsockets sees it, so
 *  - every request head and body has an overall deadline (a client that
 *    sends one byte a second is closed, however long it keeps that up);
 *  - a head longer than FEDC_WS_REQUEST_HEAD_MAX gets a status (414 or 431)
 *    instead of a dropped connection, a body over the limit 413, a
 *    transfer coding other than chunked 501;
 *  - a chunked body reaches libwebsockets (which reads bodies by
 *    Content-Length only) de-chunked, with a Content-Length head;
 *  - a request with both Content-Length and Transfer-Encoding, or two
 *    different Content-Lengths, is refused (400): two readers could
 *    disagree on where it ends.
 * All of it is outside input: every length is bounded. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "transport/ws_internal.h"

enum { HF_IDLE, HF_HEAD, HF_BODY, HF_CHUNK_SIZE, HF_CHUNK_DATA, HF_CHUNK_END, HF_TRAILER };

#define CHUNK_LINE_MAX 256 /* a chunk-size line with its extensions */

void fedc_http_framer_init(fedc_http_framer *f, size_t max_head, size_t max_body) {
    memset(f, 0, sizeof *f);
    f->max_head = max_head;
    f->max_body = max_body;
}

void fedc_http_framer_free(fedc_http_framer *f) {
    fedc_buf_free(&f->head);
    fedc_buf_free(&f->body);
}

int fedc_http_framer_busy(const fedc_http_framer *f) { return f->state != HF_IDLE; }

static int refuse(char *why, size_t cap, int status, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int refuse(char *why, size_t cap, int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (why && cap) vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return status;
}

/* A request is complete: the next byte starts a new one. */
static void request_done(fedc_http_framer *f) {
    f->state = HF_IDLE;
    f->requests++;
    fedc_buf_clear(&f->head);
    fedc_buf_free(&f->body);
}

/* Reads the head's framing: *chunked, *length (-1: none). 0 or a status. */
static int head_framing(const uint8_t *h, size_t len, int *chunked, long long *length, size_t max_body, char *why,
                        size_t cap) {
    *chunked = 0;
    *length = -1;
    int te = 0;
    size_t pos = 0;
    while (pos < len && !(h[pos] == '\r' && pos + 1 < len && h[pos + 1] == '\n')) pos++;
    pos += 2; /* past the request line */
    fedc_http_header_line hl;
    while (fedc_http_header_next(h, len, &pos, &hl)) {
        if (hl.name_len == 14 && !strncasecmp((const char *)hl.line, "content-length", 14)) {
            if (hl.value_len == 0 || hl.value_len > 18) return refuse(why, cap, 400, "Content-Length is not a number");
            long long v = 0;
            for (size_t i = 0; i < hl.value_len; i++) {
                if (!isdigit(hl.value[i])) return refuse(why, cap, 400, "Content-Length is not a number");
                v = v * 10 + (hl.value[i] - '0');
            }
            if (*length >= 0 && *length != v)
                return refuse(why, cap, 400, "two different Content-Length headers");
            *length = v;
        } else if (hl.name_len == 17 && !strncasecmp((const char *)hl.line, "transfer-encoding", 17)) {
            te = 1;
            if (!(hl.value_len == 7 && !strncasecmp((const char *)hl.value, "chunked", 7)))
                return refuse(why, cap, 501, "Transfer-Encoding \"%.*s\" is not supported (only chunked)",
                              (int)(hl.value_len < 40 ? hl.value_len : 40), (const char *)hl.value);
            *chunked = 1;
        }
    }
    if (te && *length >= 0) return refuse(why, cap, 400, "both Content-Length and Transfer-Encoding");
    if (*length > (long long)max_body)
        return refuse(why, cap, 413, "request body of %lld bytes is larger than the limit of %zu", *length, max_body);
    return 0;
}

/* The chunked request's head with Content-Length instead of
 * Transfer-Encoding, then its body. */
static int emit_dechunked(fedc_http_framer *f, fedc_buf *out) {
    const uint8_t *h = f->head.data;
    size_t len = f->head.len, pos = 0;
    while (pos + 1 < len && !(h[pos] == '\r' && h[pos + 1] == '\n')) pos++;
    pos += 2;
    if (fedc_buf_append(out, h, pos) != 0) return -1;
    fedc_http_header_line hl;
    while (fedc_http_header_next(h, len, &pos, &hl)) {
        if (hl.name_len == 17 && !strncasecmp((const char *)hl.line, "transfer-encoding", 17)) continue;
        if (fedc_buf_append(out, hl.line, hl.len) != 0 || fedc_buf_append(out, "\r\n", 2) != 0) return -1;
    }
    char cl[48];
    int n = snprintf(cl, sizeof cl, "Content-Length: %zu\r\n\r\n", f->body.len);
    if (fedc_buf_append(out, cl, (size_t)n) != 0) return -1;
    return f->body.len ? fedc_buf_append(out, f->body.data, f->body.len) : 0;
}

/* The head is complete (f->head holds it): decide how its body is framed. */
static int on_head(fedc_http_framer *f, double now, fedc_buf *out, char *why, size_t cap) {
    int chunked;
    long long length;
    int st = head_framing(f->head.data, f->head.len, &chunked, &length, f->max_body, why, cap);
    if (st) return st;
    f->t_body = now;
    if (chunked) {
        f->state = HF_CHUNK_SIZE;
        f->line = 0;
        return 0;
    }
    if (fedc_buf_append(out, f->head.data, f->head.len) != 0) return refuse(why, cap, 503, "out of memory");
    if (length > 0) {
        f->state = HF_BODY;
        f->left = (uint64_t)length;
    } else {
        request_done(f);
    }
    return 0;
}

/* Too long a head: 414 while the request line itself has not ended, else 431. */
static int head_too_long(const fedc_http_framer *f, char *why, size_t cap) {
    for (size_t i = 0; i + 1 < f->head.len; i++)
        if (f->head.data[i] == '\r' && f->head.data[i + 1] == '\n')
            return refuse(why, cap, 431, "request head longer than %zu bytes", f->max_head);
    return refuse(why, cap, 414, "request line (URL) longer than %zu bytes", f->max_head);
}

int fedc_http_framer_feed(fedc_http_framer *f, const uint8_t *in, size_t len, double now, fedc_buf *out, char *why,
                          size_t cap) {
    size_t i = 0;
    while (i < len) {
        switch (f->state) {
        case HF_IDLE:
            f->state = HF_HEAD;
            f->t_head = now;
            fedc_buf_clear(&f->head);
            /* fall through */
        case HF_HEAD: {
            /* Up to the blank line, at most max_head bytes. */
            size_t room = f->max_head + 1 - f->head.len, take = len - i < room ? len - i : room, end = 0;
            size_t from = f->head.len > 3 ? f->head.len - 3 : 0;
            if (fedc_buf_append(&f->head, in + i, take) != 0) return refuse(why, cap, 503, "out of memory");
            size_t hl = fedc_ws_handshake_end(f->head.data + from, f->head.len - from);
            if (hl) end = from + hl;
            if (!end) {
                if (f->head.len > f->max_head) return head_too_long(f, why, cap);
                i += take;
                break;
            }
            /* Bytes past the blank line belong to the body or the next request. */
            size_t extra = f->head.len - end;
            f->head.len = end;
            i += take - extra;
            int st = on_head(f, now, out, why, cap);
            if (st) return st;
            break;
        }
        case HF_BODY: {
            size_t n = len - i < f->left ? len - i : (size_t)f->left;
            if (fedc_buf_append(out, in + i, n) != 0) return refuse(why, cap, 503, "out of memory");
            f->left -= n;
            i += n;
            if (f->left == 0) request_done(f);
            break;
        }
        case HF_CHUNK_SIZE:
        case HF_CHUNK_END:
        case HF_TRAILER: {
            /* A line: the chunk size, the CRLF after a chunk's data, a trailer. */
            uint8_t c = in[i++];
            if (f->line >= CHUNK_LINE_MAX) return refuse(why, cap, 400, "chunked body: a line longer than %d bytes",
                                                         CHUNK_LINE_MAX);
            f->linebuf[f->line++] = (char)c;
            if (c != '\n') break;
            if (f->line < 2 || f->linebuf[f->line - 2] != '\r')
                return refuse(why, cap, 400, "chunked body: a line not ended by CRLF");
            size_t ll = f->line - 2;
            f->line = 0;
            if (f->state == HF_CHUNK_END) {
                if (ll != 0) return refuse(why, cap, 400, "chunked body: chunk data longer than its size");
                f->state = HF_CHUNK_SIZE;
            } else if (f->state == HF_TRAILER) {
                if (ll == 0) {
                    if (emit_dechunked(f, out) != 0) return refuse(why, cap, 503, "out of memory");
                    request_done(f);
                }
            } else {
                uint64_t size = 0;
                size_t k = 0;
                while (k < ll && isxdigit((unsigned char)f->linebuf[k])) {
                    if (size > ((uint64_t)f->max_body + 1) << 4) break;
                    int d = f->linebuf[k];
                    size = size * 16 + (uint64_t)(isdigit(d) ? d - '0' : (tolower(d) - 'a' + 10));
                    k++;
                }
                if (k == 0 || (k < ll && f->linebuf[k] != ';' && f->linebuf[k] != ' ' && f->linebuf[k] != '\t'))
                    return refuse(why, cap, 400, "chunked body: a chunk size is not hexadecimal");
                if (size > f->max_body || f->body.len + size > f->max_body)
                    return refuse(why, cap, 413, "request body larger than the limit of %zu bytes", f->max_body);
                if (size == 0) {
                    f->state = HF_TRAILER;
                } else {
                    f->state = HF_CHUNK_DATA;
                    f->left = size;
                }
            }
            break;
        }
        case HF_CHUNK_DATA: {
            size_t n = len - i < f->left ? len - i : (size_t)f->left;
            if (fedc_buf_append(&f->body, in + i, n) != 0) return refuse(why, cap, 503, "out of memory");
            f->left -= n;
            i += n;
            if (f->left == 0) f->state = HF_CHUNK_END;
            break;
        }
        }
    }
    return 0;
}

int fedc_http_framer_overdue(const fedc_http_framer *f, double now, double head_s, double body_s, char *why,
                             size_t cap) {
    if (f->state == HF_HEAD && now - f->t_head > head_s)
        return refuse(why, cap, 408, "request head not complete within %.0f s", head_s);
    if (f->state != HF_IDLE && f->state != HF_HEAD && now - f->t_body > body_s)
        return refuse(why, cap, 408, "request body not complete within %.0f s", body_s);
    return 0;
}
