/* web_embed: turns the web application's files into one C source holding
 * the asset table of include/fedc/web_assets.h, so the build needs no
 * interpreter and the fedc binary needs no files at run time.
 *
 * Each file is also compressed here (gzip with zlib, brotli with
 * libbrotlienc, kept when smaller) and listed a second time under a name
 * carrying its content hash ("/js/dom.3f9a0c1b2d4e.js"), which the server
 * lets browsers cache for a year. /index.html is rewritten to load those
 * names: its "/path" references become hashed ones, and the marker
 * <!--fedc:modules--> becomes an import map (so the modules' own relative
 * imports resolve to hashed names too) and a modulepreload link per module
 * (so every module is requested at once instead of in chained rounds). The
 * import map is an inline script: its SHA-256 joins script-src of the page's
 * meta Content-Security-Policy, and that policy (plus frame-ancestors) is
 * written out as fedc_web_csp_header for the server to send.
 *
 *   web_embed OUT.c URLPATH=FILE [URLPATH=FILE ...]
 *
 * URL paths must start with '/', be unique and have a known extension (the
 * content type follows from it, so a new kind of file is added on purpose).
 * The table is written sorted by path for bsearch. OUT.c is replaced only
 * once it is complete. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brotli/encode.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <zlib.h>

#define MAX_ASSET_BYTES (16u << 20) /* far above any web file; stops a wrong path early */
#define MAX_URL_PATH 256
/* The header policy when no /index.html is embedded (the generator's own tests). */
#define DEFAULT_CSP "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

#define HASH_HEX 12 /* 48 bits of SHA-256 in a file name: enough to tell versions apart */

typedef struct asset {
    const char *url;  /* points into argv */
    const char *file; /* points into argv */
    const char *type;
    unsigned char *data;
    size_t len;
    unsigned char *gz, *br; /* compressed copies, NULL when not smaller */
    size_t gz_len, br_len;
    char hashed[MAX_URL_PATH + HASH_HEX + 2]; /* the URL with the content hash; "" for /index.html */
} asset;

/* A row of the table: an asset under its plain or its hashed URL. */
typedef struct row {
    const char *url;
    int asset;
    int immutable;
} row;

static const struct {
    const char *ext;
    const char *type;
} content_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".webmanifest", "application/manifest+json"},
    {".txt", "text/plain; charset=utf-8"},
};

static const char *type_of(const char *url) {
    const char *dot = strrchr(url, '.');
    const char *slash = strrchr(url, '/');
    if (!dot || (slash && dot < slash)) return NULL;
    for (size_t i = 0; i < sizeof content_types / sizeof content_types[0]; i++)
        if (!strcmp(dot, content_types[i].ext)) return content_types[i].type;
    return NULL;
}

/* Characters allowed in a URL path of the table: what a browser sends
 * unescaped, so lookups never need decoding. */
static int url_path_ok(const char *url) {
    if (url[0] != '/' || strlen(url) >= MAX_URL_PATH || strstr(url, "//") || strstr(url, "/."))
        return 0;
    for (const char *p = url; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("/._-", *p)))
            return 0;
    return 1;
}

static int read_file(asset *a) {
    FILE *f = fopen(a->file, "rb");
    if (!f) {
        fprintf(stderr, "web_embed: %s: cannot open: %s\n", a->file, strerror(errno));
        return -1;
    }
    size_t cap = 65536, len = 0;
    unsigned char *data = malloc(cap);
    int rc = 0;
    while (data) {
        if (len == cap) {
            if (cap >= MAX_ASSET_BYTES) {
                fprintf(stderr, "web_embed: %s: larger than %u bytes; allowed: web assets up to that size\n",
                        a->file, MAX_ASSET_BYTES);
                rc = -1;
                break;
            }
            unsigned char *bigger = realloc(data, cap * 2);
            if (!bigger) {
                free(data);
                data = NULL;
                break;
            }
            data = bigger;
            cap *= 2;
        }
        size_t n = fread(data + len, 1, cap - len, f);
        len += n;
        if (n == 0) break;
    }
    if (!data) {
        fprintf(stderr, "web_embed: %s: out of memory\n", a->file);
        rc = -1;
    } else if (rc == 0 && ferror(f)) {
        fprintf(stderr, "web_embed: %s: read error: %s\n", a->file, strerror(errno));
        rc = -1;
    }
    fclose(f);
    if (rc != 0) {
        free(data);
        return -1;
    }
    a->data = data;
    a->len = len;
    return 0;
}


/* gzip (zlib's deflate with a gzip wrapper, best compression). */
static int gzip_of(asset *a) {
    uLong cap = compressBound((uLong)a->len) + 64;
    unsigned char *out = malloc(cap);
    if (!out) return -1;
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(out);
        return -1;
    }
    z.next_in = a->data;
    z.avail_in = (uInt)a->len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    size_t n = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(out);
        return -1;
    }
    if (n >= a->len) {
        free(out);
        return 0;
    }
    a->gz = out;
    a->gz_len = n;
    return 0;
}

static int brotli_of(asset *a) {
    size_t cap = BrotliEncoderMaxCompressedSize(a->len);
    if (cap == 0) cap = a->len + 1024;
    unsigned char *out = malloc(cap);
    if (!out) return -1;
    size_t n = cap;
    if (!BrotliEncoderCompress(BROTLI_MAX_QUALITY, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_TEXT, a->len, a->data, &n, out)) {
        free(out);
        return -1;
    }
    if (n >= a->len) {
        free(out);
        return 0;
    }
    a->br = out;
    a->br_len = n;
    return 0;
}

/* "/js/dom.js" -> "/js/dom.<hash>.js" */
static void hashed_url(asset *a) {
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(a->data, a->len, md);
    char hex[HASH_HEX + 1];
    for (int i = 0; i < HASH_HEX / 2; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
    const char *dot = strrchr(a->url, '.');
    snprintf(a->hashed, sizeof a->hashed, "%.*s.%s%s", (int)(dot - a->url), a->url, hex, dot);
}

/* A growable string for rewriting index.html. */
typedef struct text {
    char *s;
    size_t len, cap;
    int oom;
} text;

static void text_add(text *t, const char *p, size_t n) {
    if (t->oom) return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->len + n + 1) cap *= 2;
        char *b = realloc(t->s, cap);
        if (!b) {
            t->oom = 1;
            return;
        }
        t->s = b;
        t->cap = cap;
    }
    memcpy(t->s + t->len, p, n);
    t->len += n;
    t->s[t->len] = 0;
}

static void text_str(text *t, const char *p) { text_add(t, p, strlen(p)); }

static int is_module(const asset *a) {
    return !strncmp(a->url, "/js/", 4) && strlen(a->url) > 3 && !strcmp(a->url + strlen(a->url) - 3, ".js");
}

#define MODULES_MARKER "<!--fedc:modules-->"
#define CSP_ATTR "http-equiv=\"Content-Security-Policy\""

/* Rewrites index.html (assets[ix]) as the header comment says; *csp gets
 * the policy for the header. */
static int rewrite_index(asset *assets, int n, int ix, char **csp) {
    asset *idx = &assets[ix];
    const char *src = (const char *)idx->data;
    /* 1. The import map and the preload links. */
    text map = {0};
    text_str(&map, "{\"imports\":{");
    int first = 1;
    for (int i = 0; i < n; i++) {
        if (!is_module(&assets[i])) continue;
        text_str(&map, first ? "\"" : ",\"");
        text_str(&map, assets[i].url);
        text_str(&map, "\":\"");
        text_str(&map, assets[i].hashed);
        text_str(&map, "\"");
        first = 0;
    }
    text_str(&map, "}}");
    if (map.oom) return -1;
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)map.s, map.len, md);
    char b64[64];
    EVP_EncodeBlock((unsigned char *)b64, md, SHA256_DIGEST_LENGTH);
    text block = {0};
    text_str(&block, "<script type=\"importmap\">");
    text_add(&block, map.s, map.len);
    text_str(&block, "</script>");
    for (int i = 0; i < n; i++) {
        if (!is_module(&assets[i])) continue;
        text_str(&block, "\n  <link rel=\"modulepreload\" href=\"");
        text_str(&block, assets[i].hashed);
        text_str(&block, "\">");
    }
    free(map.s);
    /* 2. Copy the page: the marker becomes the block, "/path" of an asset
     * its hashed name, and script-src of the meta policy gains the map's hash. */
    if (!strstr(src, MODULES_MARKER) || !strstr(src, CSP_ATTR)) {
        fprintf(stderr, "web_embed: %s: needs the marker %s and a meta %s\n", idx->file, MODULES_MARKER, CSP_ATTR);
        free(block.s);
        return -1;
    }
    char hash_src[160];
    snprintf(hash_src, sizeof hash_src, "script-src 'self' 'sha256-%s'", b64);
    text out = {0};
    const char *p = src;
    while (*p) {
        if (!strncmp(p, MODULES_MARKER, strlen(MODULES_MARKER))) {
            text_add(&out, block.s, block.len);
            p += strlen(MODULES_MARKER);
            continue;
        }
        if (!strncmp(p, "script-src 'self'", 17)) {
            text_str(&out, hash_src);
            p += 17;
            continue;
        }
        if (*p == '"' && p[1] == '/') {
            const char *end = strchr(p + 1, '"');
            int done = 0;
            for (int i = 0; end && i < n && !done; i++) {
                size_t ul = strlen(assets[i].url);
                if (i != ix && (size_t)(end - p - 1) == ul && !strncmp(p + 1, assets[i].url, ul)) {
                    text_str(&out, "\"");
                    text_str(&out, assets[i].hashed);
                    text_str(&out, "\"");
                    p = end + 1;
                    done = 1;
                }
            }
            if (done) continue;
        }
        text_add(&out, p, 1);
        p++;
    }
    free(block.s);
    if (out.oom) return -1;
    /* 3. The header's policy: the meta one, plus what only a header can say. */
    const char *meta = strstr(out.s, CSP_ATTR);
    const char *content = meta ? strstr(meta, "content=\"") : NULL;
    const char *end = content ? strchr(content + 9, '"') : NULL;
    if (!end) {
        fprintf(stderr, "web_embed: %s: the meta %s has no content=\"...\"\n", idx->file, CSP_ATTR);
        free(out.s);
        return -1;
    }
    size_t cl = (size_t)(end - content - 9);
    *csp = malloc(cl + 32);
    if (!*csp) {
        free(out.s);
        return -1;
    }
    snprintf(*csp, cl + 32, "%.*s; frame-ancestors 'none'", (int)cl, content + 9);
    free(idx->data);
    idx->data = (unsigned char *)out.s;
    idx->len = out.len;
    return 0;
}

static int by_row(const void *x, const void *y) {
    return strcmp(((const row *)x)->url, ((const row *)y)->url);
}

static int by_url(const void *x, const void *y) {
    return strcmp(((const asset *)x)->url, ((const asset *)y)->url);
}

static void write_bytes(FILE *out, const char *name, int i, const unsigned char *b, size_t len) {
    fprintf(out, "static const unsigned char %s_%d[] = {", name, i);
    for (size_t k = 0; k < len; k++) fprintf(out, "%s%u,", k % 24 == 0 ? "\n" : "", b[k]);
    /* A trailing NUL (not counted in len) also makes text assets C strings. */
    fprintf(out, "0};\n\n");
}

static int write_source(FILE *out, const asset *assets, int n, const row *rows, int nrows, const char *csp) {
    fprintf(out, "/* Generated by web/embed/web_embed.c at build time: do not edit. */\n"
                 "#include \"web/web_assets_table.h\"\n\n");
    for (int i = 0; i < n; i++) {
        fprintf(out, "/* %s (%zu bytes, gzip %zu, brotli %zu) */\n", assets[i].url, assets[i].len, assets[i].gz_len,
                assets[i].br_len);
        write_bytes(out, "asset", i, assets[i].data, assets[i].len);
        if (assets[i].gz) write_bytes(out, "gzip", i, assets[i].gz, assets[i].gz_len);
        if (assets[i].br) write_bytes(out, "brotli", i, assets[i].br, assets[i].br_len);
    }
    fprintf(out, "const fedc_web_asset fedc_web_assets_table[] = {\n");
    for (int r = 0; r < nrows; r++) {
        const asset *a = &assets[rows[r].asset];
        int i = rows[r].asset;
        fprintf(out, "    {\"%s\", \"%s\", asset_%d, %zu, ", rows[r].url, a->type, i, a->len);
        if (a->gz) fprintf(out, "gzip_%d, %zu, ", i, a->gz_len);
        else fprintf(out, "NULL, 0, ");
        if (a->br) fprintf(out, "brotli_%d, %zu, ", i, a->br_len);
        else fprintf(out, "NULL, 0, ");
        fprintf(out, "%d},\n", rows[r].immutable);
    }
    fprintf(out, "};\nconst size_t fedc_web_assets_table_len = %d;\n", nrows);
    /* The policy has no '"' or '\\' (the meta attribute could not hold a '"'). */
    fprintf(out, "const char fedc_web_csp_header[] = \"%s\";\n", csp);
    return ferror(out) ? -1 : 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: web_embed OUT.c URLPATH=FILE [URLPATH=FILE ...]\n");
        return 2;
    }
    const char *out_path = argv[1];
    int n = argc - 2, rc = 1, nrows = 0;
    char *csp = NULL;
    row *rows = NULL;
    asset *assets = calloc((size_t)n, sizeof *assets);
    if (!assets) {
        fprintf(stderr, "web_embed: out of memory\n");
        return 1;
    }
    for (int i = 0; i < n; i++) {
        char *arg = argv[i + 2], *eq = strchr(arg, '=');
        if (!eq || eq == arg || !eq[1]) {
            fprintf(stderr, "web_embed: argument %d '%s': expected URLPATH=FILE\n", i + 2, arg);
            goto done;
        }
        *eq = '\0';
        assets[i].url = arg;
        assets[i].file = eq + 1;
        if (!url_path_ok(arg)) {
            fprintf(stderr,
                    "web_embed: %s: URL path '%s' is not allowed; allowed: '/' then letters, digits, "
                    "'/', '.', '_', '-', no '//' or '/.', under %d bytes\n",
                    assets[i].file, arg, MAX_URL_PATH);
            goto done;
        }
        assets[i].type = type_of(arg);
        if (!assets[i].type) {
            fprintf(stderr, "web_embed: %s: no content type for '%s'; allowed extensions:", assets[i].file, arg);
            for (size_t k = 0; k < sizeof content_types / sizeof content_types[0]; k++)
                fprintf(stderr, " %s", content_types[k].ext);
            fprintf(stderr, "\n");
            goto done;
        }
        if (read_file(&assets[i]) != 0) goto done;
    }
    qsort(assets, (size_t)n, sizeof *assets, by_url);
    for (int i = 1; i < n; i++)
        if (!strcmp(assets[i - 1].url, assets[i].url)) {
            fprintf(stderr, "web_embed: URL path '%s' given twice (%s and %s)\n", assets[i].url,
                    assets[i - 1].file, assets[i].file);
            goto done;
        }

    int ix = -1;
    for (int i = 0; i < n; i++) {
        if (!strcmp(assets[i].url, "/index.html")) ix = i;
        else hashed_url(&assets[i]);
    }
    if (ix >= 0 && rewrite_index(assets, n, ix, &csp) != 0) goto done;
    for (int i = 0; i < n; i++)
        if (gzip_of(&assets[i]) != 0 || brotli_of(&assets[i]) != 0) {
            fprintf(stderr, "web_embed: %s: compression failed\n", assets[i].file);
            goto done;
        }
    rows = calloc((size_t)n * 2, sizeof *rows);
    if (!rows) {
        fprintf(stderr, "web_embed: out of memory\n");
        goto done;
    }
    for (int i = 0; i < n; i++) {
        rows[nrows++] = (row){assets[i].url, i, 0};
        if (assets[i].hashed[0]) rows[nrows++] = (row){assets[i].hashed, i, 1};
    }
    qsort(rows, (size_t)nrows, sizeof *rows, by_row);

    size_t tmp_len = strlen(out_path) + 5;
    char *tmp = malloc(tmp_len);
    if (!tmp) {
        fprintf(stderr, "web_embed: out of memory\n");
        goto done;
    }
    snprintf(tmp, tmp_len, "%s.tmp", out_path);
    FILE *out = fopen(tmp, "w");
    if (!out) {
        fprintf(stderr, "web_embed: %s: cannot create: %s\n", tmp, strerror(errno));
    } else {
        int werr = write_source(out, assets, n, rows, nrows, csp ? csp : DEFAULT_CSP);
        if (fclose(out) != 0 || werr != 0) {
            fprintf(stderr, "web_embed: %s: write failed: %s\n", tmp, strerror(errno));
            remove(tmp);
        } else if (rename(tmp, out_path) != 0) {
            fprintf(stderr, "web_embed: cannot rename %s to %s: %s\n", tmp, out_path, strerror(errno));
            remove(tmp);
        } else {
            rc = 0;
        }
    }
    free(tmp);
done:
    for (int i = 0; i < n; i++) {
        free(assets[i].data);
        free(assets[i].gz);
        free(assets[i].br);
    }
    free(rows);
    free(csp);
    free(assets);
    return rc;
}
