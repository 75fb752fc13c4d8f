/* Downloads of catalog files (libcurl). One file at a time, under a lock
 * file so that concurrent fetches of the same file download it once:
 *   <dir>/.<file>.lock   held (flock) by the process downloading
 *   <dir>/<file>.part    the bytes so far; resumed with a Range request
 *   <dir>/<file>         appears (rename) only after its SHA-256 matched
 *   <dir>/.<file>.verified  the stamp (see catalog_internal.h)
 * A server sending more than the catalog's size is cut off and the part
 * deleted; a digest mismatch deletes the part; the next URL is tried. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "data/catalog_internal.h"
#include "fedc/log.h"
#include "fedc/version.h"

#define MAX_TRIES (FEDC_CATALOG_MAX_URLS + 8)

static pthread_once_t g_curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void human(uint64_t b, char *out, size_t cap) {
    if (b >= 1000ull * 1000 * 1000)
        snprintf(out, cap, "%.2f GB", (double)b / 1e9);
    else if (b >= 1000ull * 1000)
        snprintf(out, cap, "%.1f MB", (double)b / 1e6);
    else if (b >= 1000)
        snprintf(out, cap, "%.1f kB", (double)b / 1e3);
    else
        snprintf(out, cap, "%llu B", (unsigned long long)b);
}

typedef struct fetch_ctx {
    const fedc_fetch_options *o;
    FILE *out;
    int tty;
    const char *dataset;
} fetch_ctx;

static void say(const fetch_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const fetch_ctx *c, const char *fmt, ...) {
    char msg[1600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->o && c->o->note)
        c->o->note(c->o->note_ctx, msg);
    if (!(c->o && c->o->quiet)) {
        fprintf(c->out, "%s\n", msg);
        fflush(c->out);
    }
}

/* One HTTP request's state. */
typedef struct transfer {
    const fetch_ctx *c;
    const fedc_catalog_file *f;
    int fd;                 /* the .part file */
    uint64_t start;         /* bytes kept from earlier requests */
    uint64_t got;           /* bytes written by this request */
    uint64_t cap;           /* the most bytes the file may have */
    int over;               /* the server sent more than cap */
    int bad_range;          /* a 206 answer for another range */
    int io_error;
    int first;
    long status;            /* of the last response's status line */
    uint64_t range_from;    /* from Content-Range */
    int has_range;
    double t0, last_draw;
    int last_decile;
} transfer;

/* Empties the part file: its bytes cannot be used. */
static int reset_part(int fd) {
    if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) < 0) {
        FEDC_WARN("cannot empty a partial download: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static size_t on_header(char *buf, size_t size, size_t n, void *ud) {
    transfer *t = ud;
    size_t len = size * n;
    char line[256];
    size_t k = len < sizeof line - 1 ? len : sizeof line - 1;
    memcpy(line, buf, k);
    line[k] = 0;
    if (!strncmp(line, "HTTP/", 5)) {
        const char *sp = strchr(line, ' ');
        t->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        t->has_range = 0;
    } else if (!strncasecmp(line, "Content-Range:", 14)) {
        unsigned long long a;
        if (sscanf(line + 14, " bytes %llu-", &a) == 1) {
            t->range_from = a;
            t->has_range = 1;
        }
    }
    return len;
}

static int write_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static size_t on_data(char *buf, size_t size, size_t n, void *ud) {
    transfer *t = ud;
    size_t len = size * n;
    if (t->first) {
        t->first = 0;
        if (t->start > 0 && t->status == 200) {
            /* The server ignored the Range request: start over. */
            if (reset_part(t->fd) != 0) {
                t->io_error = errno ? errno : EIO;
                return 0;
            }
            t->start = 0;
        } else if (t->status == 206 && (!t->has_range || t->range_from != t->start)) {
            t->bad_range = 1;
            return 0;
        }
    }
    if (t->start + t->got + len > t->cap) {
        t->over = 1;
        return 0; /* aborts the transfer */
    }
    if (write_all(t->fd, buf, len) != 0) {
        t->io_error = errno ? errno : EIO;
        return 0;
    }
    t->got += len;
    return len;
}

static void draw(transfer *t, int final) {
    const fetch_ctx *c = t->c;
    if (c->o && c->o->quiet)
        return;
    uint64_t have = t->start + t->got, total = t->f->size;
    double now = now_s(), dt = now - t->t0;
    double rate = dt > 0 ? (double)t->got / dt : 0;
    char hv[32], tv[32], rv[32];
    human(have, hv, sizeof hv);
    human(total ? total : t->cap, tv, sizeof tv);
    human((uint64_t)rate, rv, sizeof rv);
    if (c->tty) {
        if (!final && now - t->last_draw < 0.1)
            return;
        t->last_draw = now;
        int width = 28, fill = total ? (int)((double)have / (double)total * width) : 0;
        char bar[40];
        for (int i = 0; i < width; i++)
            bar[i] = i < fill ? '#' : '-';
        bar[width] = 0;
        char eta[32] = "";
        if (total && rate > 0 && have < total)
            snprintf(eta, sizeof eta, "  ETA %.0fs", (double)(total - have) / rate);
        fprintf(c->out, "\r  %-26.26s [%s] %3d%%  %s / %s  %s/s%s   ", t->f->name, bar,
                total ? (int)(100.0 * (double)have / (double)total) : 0, hv, tv, rv, eta);
        if (final)
            fputc('\n', c->out);
        fflush(c->out);
        return;
    }
    /* Not a terminal: a line every 10% (and at the end). */
    int decile = total ? (int)(10.0 * (double)have / (double)total) : 0;
    if (final || (decile > t->last_decile && decile < 10)) {
        t->last_decile = decile;
        fprintf(c->out, "  %s: %s of %s (%d%%), %s/s\n", t->f->name, hv, tv,
                total ? (int)(100.0 * (double)have / (double)total) : 0, rv);
        fflush(c->out);
    }
}

static int stopped(const fetch_ctx *c) { return c->o && c->o->stop && c->o->stop(c->o->stop_ctx); }

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    transfer *t = ud;
    draw(t, 0);
    return stopped(t->c); /* nonzero aborts the transfer */
}

typedef enum { R_DONE, R_RETRY, R_NEXT_URL, R_FATAL } result;

/* One request for url, appending to the part file. */
static result request(const fetch_ctx *c, const fedc_catalog_file *f, const char *url, int fd,
                      uint64_t start, char *why, size_t why_cap, uint64_t *have) {
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(why, why_cap, "cannot start libcurl (out of memory)");
        return R_FATAL;
    }
    transfer t = {.c = c, .f = f, .fd = fd, .start = start, .cap = f->max_size, .first = 1};
    t.t0 = now_s();
    t.last_decile = 0;
    const fedc_fetch_options *o = c->o;
    double ct = o && o->connect_timeout_s > 0 ? o->connect_timeout_s : 30;
    double st = o && o->stall_timeout_s > 0 ? o->stall_timeout_s : 60;
    char range[64], agent[64], shown[200];
    /* Messages show at most 160 bytes of the URL. */
    snprintf(shown, sizeof shown, "%.160s%s", url, strlen(url) > 160 ? "..." : "");
    snprintf(range, sizeof range, "%" PRIu64 "-", start);
    snprintf(agent, sizeof agent, "fedc/%s", FEDC_VERSION);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    const char *ca = getenv("FEDC_DATA_CA");
    if (ca && *ca)
        curl_easy_setopt(h, CURLOPT_CAINFO, ca);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(ct * 1000));
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)(st < 1 ? 1 : st));
    curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, agent);
    /* Compressed transfer encodings would change what is counted and
     * hashed: ask for the file's own bytes. */
    curl_easy_setopt(h, CURLOPT_HTTP_CONTENT_DECODING, 0L);
    if (start < f->max_size)
        curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)(f->max_size - start));
    if (start > 0)
        curl_easy_setopt(h, CURLOPT_RANGE, range);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    char ebuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
    CURLcode rc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(h);
    *have = t.start + t.got;
    if (t.got > 0 || rc == CURLE_OK)
        draw(&t, 1);
    const char *detail = ebuf[0] ? ebuf : curl_easy_strerror(rc);
    char cap[32];
    human(f->max_size, cap, sizeof cap);
    if (t.over || rc == CURLE_FILESIZE_EXCEEDED) {
        snprintf(why, why_cap,
                 "%s sent more than the %" PRIu64 " bytes (%s) the catalog allows for %s: cut off "
                 "and the partial download deleted",
                 shown, f->max_size, cap, f->name);
        reset_part(fd);
        *have = 0;
        return R_NEXT_URL;
    }
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
        snprintf(why, why_cap, "stopped after %" PRIu64 " bytes of %s (kept for a later resume)", *have,
                 f->name);
        return R_FATAL;
    }
    if (t.io_error) {
        snprintf(why, why_cap, "writing %s.part: %s", f->name, strerror(t.io_error));
        return R_FATAL;
    }
    if (t.bad_range) {
        snprintf(why, why_cap, "%s answered a resume request with another byte range", shown);
        reset_part(fd);
        *have = 0;
        return R_RETRY;
    }
    if (rc == CURLE_HTTP_RETURNED_ERROR && code == 416 && start > 0) {
        /* Nothing left to send: the part is complete, or wrong. */
        if (f->size && start == f->size)
            return R_DONE;
        snprintf(why, why_cap, "%s refused to resume at byte %" PRIu64 "; starting over", shown,
                 start);
        reset_part(fd);
        *have = 0;
        return R_RETRY;
    }
    if (rc == CURLE_OK) {
        if (f->size && *have < f->size) {
            snprintf(why, why_cap, "%s ended the file after %" PRIu64 " of %" PRIu64 " bytes", shown,
                     *have, f->size);
            return R_RETRY;
        }
        return R_DONE;
    }
    switch (rc) {
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        snprintf(why, why_cap, "%s: connection cut after %" PRIu64 " bytes: %s", shown, *have,
                 detail);
        return R_RETRY;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CACERT_BADFILE:
        snprintf(why, why_cap, "%s: TLS: %s (certificates are always verified; FEDC_DATA_CA names "
                               "a CA bundle for a private mirror)",
                 shown, detail);
        return R_NEXT_URL;
    case CURLE_HTTP_RETURNED_ERROR:
        snprintf(why, why_cap, "%s: HTTP %ld", shown, code);
        return R_NEXT_URL;
    default:
        snprintf(why, why_cap, "%s: %s", shown, detail);
        return R_NEXT_URL;
    }
}

/* The URLs to try: the mirrors' first, then the catalog's own. */
static int url_list(const fedc_catalog_entry *e, const fedc_catalog_file *f,
                    char urls[][FEDC_CATALOG_URL_MAX + 256], int max) {
    int n = 0;
    const char *m = getenv("FEDC_DATA_MIRROR");
    while (m && *m && n < max) {
        const char *comma = strchr(m, ',');
        size_t len = comma ? (size_t)(comma - m) : strlen(m);
        while (len && m[len - 1] == '/')
            len--;
        if (len && len < FEDC_CATALOG_URL_MAX)
            snprintf(urls[n++], FEDC_CATALOG_URL_MAX + 256, "%.*s/%s/%s", (int)len, m, e->dir,
                     f->name);
        m = comma ? comma + 1 : NULL;
    }
    for (int i = 0; i < FEDC_CATALOG_MAX_URLS && f->urls[i][0] && n < max; i++)
        snprintf(urls[n++], FEDC_CATALOG_URL_MAX + 256, "%s", f->urls[i]);
    return n;
}

/* Checks a complete part file and moves it into place. */
static int finish(const fetch_ctx *c, const char *dir, const fedc_catalog_file *f,
                  const char *part, const char *final, const char *url, char *why,
                  size_t why_cap, fedc_error *err) {
    char hex[65];
    if (data_sha256_file(part, hex, err) != 0)
        return -1;
    if (f->sha256[0] && strcmp(hex, f->sha256) != 0) {
        unlink(part);
        snprintf(why, why_cap,
                 "%s from %.160s: SHA-256 %s does not match the catalog's %s: the download "
                 "was deleted",
                 f->name, url, hex, f->sha256);
        return 1;
    }
    int fd = open(part, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    if (rename(part, final) != 0)
        return fedc_fail(err, "cannot move %s to %s: %s", part, final, strerror(errno));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    if (!f->sha256[0])
        say(c, "  %s: no SHA-256 is published for this file; recorded %s (fedc data verify "
               "checks against it from now on)",
            f->name, hex);
    return data_stamp_write(dir, f->name, hex, err);
}

/* Downloads one file into dir (the lock is held). */
static int fetch_file(const fetch_ctx *c, const fedc_catalog_entry *e, const fedc_catalog_file *f,
                      const char *dir, fedc_error *err) {
    char final[1200], part[1300];
    if (data_join(final, sizeof final, dir, f->name, err) != 0)
        return -1;
    snprintf(part, sizeof part, "%s.part", final);
    char urls[MAX_TRIES][FEDC_CATALOG_URL_MAX + 256];
    int nurls = url_list(e, f, urls, MAX_TRIES);
    if (nurls == 0)
        return fedc_fail(err, "%s: %s has no download URL in the catalog", e->name, f->name);
    int retries = c->o && c->o->retries > 0 ? c->o->retries : 5;
    char why[1400] = "", whys[2400] = "";
    for (int u = 0; u < nurls; u++) {
        const char *url = urls[u];
        int fd = open(part, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0)
            return fedc_fail(err, "cannot write %s: %s", part, strerror(errno));
        struct stat st;
        uint64_t have = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
        if (have > f->max_size) { /* a part longer than allowed is useless */
            reset_part(fd);
            have = 0;
        }
        char size[32];
        human(f->size ? f->size : f->max_size, size, sizeof size);
        say(c, "fetching %s: %s (%s%s) from %.300s into %s%s", e->name, f->name,
            f->size ? "" : "at most ",
            size, url, dir,
            have ? " (resuming)" : "");
        result r = R_RETRY;
        for (int attempt = 0; attempt <= retries && r == R_RETRY; attempt++) {
            if (attempt > 0) {
                say(c, "  %s; retrying from byte %" PRIu64 " (%d of %d)", why, have, attempt,
                    retries);
                usleep((useconds_t)(200000 * attempt));
            }
            if (f->size && have == f->size) {
                r = R_DONE; /* the part is already complete */
                break;
            }
            r = request(c, f, url, fd, have, why, sizeof why, &have);
        }
        close(fd);
        if (r == R_FATAL)
            return fedc_fail(err, "%s: %s", e->name, why);
        if (r == R_DONE) {
            int v = finish(c, dir, f, part, final, url, why, sizeof why, err);
            if (v <= 0)
                return v;
        }
        say(c, "  %s", why);
        snprintf(whys + strlen(whys), sizeof whys - strlen(whys), "%s%s", whys[0] ? "; " : "",
                 why);
    }
    if (data_file_size(part) == 0)
        unlink(part); /* nothing worth resuming */
    return fedc_fail(err, "%s: could not fetch %s: %s", e->name, f->name, whys);
}

/* Whether the cached file is there and verified (checking, and stamping,
 * a file that has no stamp yet). -1: it is there but wrong. */
static int cached_ok(const fetch_ctx *c, const char *dir, const fedc_catalog_file *f,
                     fedc_error *err) {
    char path[1200];
    if (data_join(path, sizeof path, dir, f->name, err) != 0)
        return -1;
    int64_t sz = data_file_size(path);
    if (sz < 0)
        return 0;
    if ((f->size && (uint64_t)sz != f->size) || (uint64_t)sz > f->max_size) {
        say(c, "  %s is %" PRId64 " bytes, the catalog says %" PRIu64 ": fetching it again",
            path, sz, f->size);
        return -1;
    }
    if (data_stamp_ok(dir, f->name, f->sha256))
        return 1;
    char hex[65];
    if (data_sha256_file(path, hex, err) != 0)
        return -1;
    if (f->sha256[0] && strcmp(hex, f->sha256) != 0) {
        say(c, "  %s has SHA-256 %s, the catalog says %s: fetching it again", path, hex,
            f->sha256);
        return -1;
    }
    return data_stamp_write(dir, f->name, hex, err) == 0 ? 1 : -1;
}

/* Takes <dir>/.<file>.lock, waiting (and saying so) while another process
 * holds it. Returns the descriptor. */
static int lock_file(const fetch_ctx *c, const char *dir, const char *name, fedc_error *err) {
    char lp[1200];
    snprintf(lp, sizeof lp, "%s/.%s.lock", dir, name);
    int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return fedc_fail(err, "cannot open the lock file %s: %s", lp, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) == 0)
        return fd;
    say(c, "waiting: another fedc process is fetching %s into %s", name, dir);
    /* Poll when the caller may stop us; otherwise block. */
    int poll = c->o && c->o->stop;
    while (flock(fd, poll ? LOCK_EX | LOCK_NB : LOCK_EX) != 0) {
        if (errno == EWOULDBLOCK && poll) {
            if (stopped(c)) {
                close(fd);
                return fedc_fail(err, "stopped while waiting for another fetch of %s", name);
            }
            usleep(200000);
            continue;
        }
        if (errno != EINTR) {
            int e = errno;
            close(fd);
            return fedc_fail(err, "cannot lock %s: %s", lp, strerror(e));
        }
    }
    return fd;
}

int fedc_data_fetch(const fedc_catalog_entry *e, const fedc_fetch_options *o, fedc_error *err) {
    pthread_once(&g_curl_once, curl_init_once);
    fetch_ctx c = {o, o && o->out ? o->out : stderr, 0, e->name};
    c.tty = isatty(fileno(c.out));
    char dir[1024];
    if (fedc_data_entry_dir(e, dir, sizeof dir, err) != 0 || data_mkdirs(dir, err) != 0)
        return -1;
    int with_optional = o && o->with_optional;
    for (int i = 0; i < e->nfiles; i++) {
        const fedc_catalog_file *f = &e->files[i];
        if (f->optional && !with_optional)
            continue;
        int lfd = lock_file(&c, dir, f->name, err);
        if (lfd < 0)
            return -1;
        int ok = o && o->force ? 0 : cached_ok(&c, dir, f, err);
        int rc = 0;
        if (ok == 1) {
            say(&c, "%s: %s is present in %s (verified)", e->name, f->name, dir);
        } else {
            if (ok < 0 || (o && o->force)) {
                char path[1200];
                snprintf(path, sizeof path, "%s/%s", dir, f->name);
                unlink(path);
                data_stamp_remove(dir, f->name);
            }
            rc = fetch_file(&c, e, f, dir, err);
            if (rc == 0)
                say(&c, "%s: %s verified and stored in %s", e->name, f->name, dir);
        }
        close(lfd); /* releases the lock */
        if (rc != 0)
            return -1;
    }
    return 0;
}

int fedc_data_verify(const fedc_catalog_entry *e, const char *user_dir, int with_optional,
                     FILE *out, int *bad, fedc_error *err) {
    *bad = 0;
    fedc_data_status st;
    if (fedc_data_status_get(e, user_dir, with_optional, &st, err) != 0)
        return -1;
    const fedc_catalog_file *files = st.source == FEDC_DATA_IN_SYSTEM ? e->system_files : e->files;
    int n = st.source == FEDC_DATA_IN_SYSTEM ? e->nsystem : e->nfiles;
    for (int i = 0; i < n; i++) {
        const fedc_catalog_file *f = &files[i];
        char path[1200];
        if (data_join(path, sizeof path, st.dir, f->name, err) != 0)
            return -1;
        int64_t sz = data_file_size(path);
        if (sz < 0) {
            if (!f->optional || with_optional) {
                fprintf(out, "%-16s %-28s missing (%s)\n", e->name, f->name, path);
                (*bad)++;
            }
            continue;
        }
        char hex[65];
        if (data_sha256_file(path, hex, err) != 0)
            return -1;
        const char *want = f->sha256;
        char recorded[65] = "";
        if (!want[0]) {
            /* No published digest: compare with the one recorded at fetch. */
            char sp[1300];
            snprintf(sp, sizeof sp, "%s/.%.95s.verified", st.dir, f->name);
            FILE *s = fopen(sp, "r");
            if (s) {
                if (fscanf(s, "%64s", recorded) != 1)
                    recorded[0] = 0;
                fclose(s);
            }
            want = recorded;
        }
        int size_ok = !f->size || (uint64_t)sz == f->size;
        int ok = size_ok && (!want[0] || !strcmp(hex, want));
        fprintf(out, "%-16s %-28s %s  %" PRId64 " bytes  sha256 %s%s\n", e->name, f->name,
                ok ? "ok     " : "BAD    ", sz, hex,
                !size_ok     ? "  (size differs from the catalog)"
                : !want[0]   ? "  (no digest published or recorded)"
                : !ok        ? "  (digest differs)"
                : st.source == FEDC_DATA_IN_SYSTEM ? "  (system copy)"
                                                   : "");
        if (!ok)
            (*bad)++;
        else if (st.source == FEDC_DATA_IN_CACHE && data_stamp_write(st.dir, f->name, hex, err) != 0)
            return -1;
    }
    return 0;
}
