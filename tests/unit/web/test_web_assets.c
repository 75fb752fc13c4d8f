/* The embedded web application: every file of web/app is in the table,
 * byte for byte, with its content type; Chart.js is there; lookups normalise
 * "/" and query strings and refuse everything else. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "fedc/web_assets.h"

static const char *source_dir(void) {
    const char *s = getenv("FEDC_SOURCE_DIR");
    return s ? s : ".";
}

static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Walks web/app and checks each file against the table; returns how many. */
static int check_dir(const char *root, const char *rel) {
    char dir[1024];
    assert_true(snprintf(dir, sizeof dir, "%s%s", root, rel) < (int)sizeof dir);
    DIR *d = opendir(dir);
    assert_non_null(d);
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[1024], url[512];
        assert_true(snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < (int)sizeof path);
        assert_true(snprintf(url, sizeof url, "%s/%s", rel, e->d_name) < (int)sizeof url);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        if (S_ISDIR(st.st_mode)) {
            count += check_dir(root, url);
            continue;
        }
        const fedc_web_asset *a = fedc_web_asset_find(url);
        if (!a) fail_msg("web/app%s is not embedded", url);
        size_t len = 0;
        unsigned char *want = slurp(path, &len);
        assert_non_null(want);
        assert_int_equal(a->data[a->len], 0); /* NUL after the bytes */
        if (!strcmp(url, "/index.html")) {
            /* Rewritten to load the hashed names (checked in index_loads_hashed_names). */
            assert_true(a->len > len);
        } else {
            assert_int_equal(a->len, len);
            assert_memory_equal(a->data, want, len);
        }
        free(want);
        count++;
    }
    closedir(d);
    return count;
}

static void every_app_file_is_embedded(void **state) {
    (void)state;
    char root[512];
    snprintf(root, sizeof root, "%s/web/app", source_dir());
    int files = check_dir(root, "");
    /* The table holds those files plus Chart.js, each (but index.html) also
     * under its hashed name, nothing else. */
    assert_int_equal(fedc_web_asset_count(), 2 * ((size_t)files + 1) - 1);
}

/* "/js/dom.js" has its copy at "/js/dom.<12 hex>.js": same bytes, immutable. */
static const fedc_web_asset *hashed_copy(const fedc_web_asset *plain) {
    const char *dot = strrchr(plain->path, '.');
    size_t stem = (size_t)(dot - plain->path);
    for (size_t i = 0; i < fedc_web_asset_count(); i++) {
        const fedc_web_asset *a = fedc_web_asset_at(i);
        if (a->immutable && strlen(a->path) == strlen(plain->path) + 13 && !strncmp(a->path, plain->path, stem) &&
            a->path[stem] == '.' && !strcmp(a->path + stem + 13, dot))
            return a;
    }
    return NULL;
}

static void every_asset_has_a_hashed_compressed_copy(void **state) {
    (void)state;
    for (size_t i = 0; i < fedc_web_asset_count(); i++) {
        const fedc_web_asset *a = fedc_web_asset_at(i);
        if (a->immutable || !strcmp(a->path, "/index.html")) continue;
        const fedc_web_asset *h = hashed_copy(a);
        if (!h) fail_msg("%s has no copy under a hashed name", a->path);
        assert_ptr_equal(h->data, a->data);
        assert_int_equal(h->len, a->len);
        /* Text compresses: gzip (magic 1f 8b) and brotli, both smaller. */
        if (strstr(a->content_type, "text/") && a->len > 2000) {
            assert_non_null(a->gzip);
            assert_true(a->gzip_len < a->len);
            assert_int_equal(a->gzip[0], 0x1f);
            assert_int_equal(a->gzip[1], 0x8b);
            assert_non_null(a->brotli);
            assert_true(a->brotli_len < a->gzip_len);
        }
    }
    assert_false(fedc_web_asset_find("/index.html")->immutable);
}

static void index_loads_hashed_names(void **state) {
    (void)state;
    const char *html = (const char *)fedc_web_asset_find("/index.html")->data;
    assert_null(strstr(html, "fedc:modules"));
    assert_non_null(strstr(html, "<script type=\"importmap\">{\"imports\":{\"/js/api.js\":\"/js/api."));
    assert_non_null(strstr(html, "rel=\"modulepreload\""));
    char want[400];
    snprintf(want, sizeof want, "src=\"%s\"", hashed_copy(fedc_web_asset_find("/js/app.js"))->path);
    assert_non_null(strstr(html, want));
    snprintf(want, sizeof want, "href=\"%s\"", hashed_copy(fedc_web_asset_find("/css/app.css"))->path);
    assert_non_null(strstr(html, want));
    /* The header's policy is the meta one (with the import map's hash) plus frame-ancestors. */
    const char *csp = fedc_web_csp();
    assert_non_null(strstr(csp, "script-src 'self' 'sha256-"));
    assert_non_null(strstr(csp, "style-src 'self';"));
    assert_null(strstr(csp, "unsafe-inline"));
    assert_non_null(strstr(csp, "frame-ancestors 'none'"));
    char meta[600];
    snprintf(meta, sizeof meta, "content=\"%.*s\"", (int)(strstr(csp, "; frame-ancestors") - csp), csp);
    assert_non_null(strstr(html, meta));
}

static void content_types(void **state) {
    (void)state;
    const fedc_web_asset *html = fedc_web_asset_find("/index.html");
    assert_non_null(html);
    assert_string_equal(html->content_type, "text/html; charset=utf-8");
    assert_non_null(strstr((const char *)html->data, "/js/app."));
    const fedc_web_asset *js = fedc_web_asset_find("/js/app.js");
    assert_non_null(js);
    assert_string_equal(js->content_type, "text/javascript; charset=utf-8");
    const fedc_web_asset *css = fedc_web_asset_find("/css/app.css");
    assert_non_null(css);
    assert_string_equal(css->content_type, "text/css; charset=utf-8");
    const fedc_web_asset *icon = fedc_web_asset_find("/favicon.svg");
    assert_non_null(icon);
    assert_string_equal(icon->content_type, "image/svg+xml");
}

static void chart_library_is_embedded(void **state) {
    (void)state;
    const fedc_web_asset *chart = fedc_web_asset_find("/vendor/chart.js");
    assert_non_null(chart);
    assert_true(chart->len > 100000);
    assert_non_null(strstr((const char *)chart->data, "Chart.js"));
    /* index.html loads it from the path it is embedded at. */
    const fedc_web_asset *html = fedc_web_asset_find("/");
    assert_non_null(strstr((const char *)html->data, "src=\"/vendor/chart."));
}

static void lookup_normalises_and_refuses(void **state) {
    (void)state;
    const fedc_web_asset *index = fedc_web_asset_find("/index.html");
    assert_ptr_equal(fedc_web_asset_find("/"), index);
    assert_ptr_equal(fedc_web_asset_find(""), index);
    assert_ptr_equal(fedc_web_asset_find("/?next=%2Fruns"), index);
    assert_ptr_equal(fedc_web_asset_find("/#/runs/3"), index);
    assert_ptr_equal(fedc_web_asset_find("/index.html?v=2"), index);
    assert_null(fedc_web_asset_find(NULL));
    assert_null(fedc_web_asset_find("/nope.html"));
    assert_null(fedc_web_asset_find("index.html"));
    assert_null(fedc_web_asset_find("/js/../index.html"));
    assert_null(fedc_web_asset_find("/js/"));
    assert_null(fedc_web_asset_find("/api/runs"));
    char longpath[600];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[0] = '/';
    longpath[sizeof longpath - 1] = '\0';
    assert_null(fedc_web_asset_find(longpath));
}

static void table_is_sorted_and_well_formed(void **state) {
    (void)state;
    size_t n = fedc_web_asset_count();
    assert_true(n > 5);
    for (size_t i = 0; i < n; i++) {
        const fedc_web_asset *a = fedc_web_asset_at(i);
        assert_non_null(a);
        assert_int_equal(a->path[0], '/');
        assert_non_null(a->content_type);
        assert_ptr_equal(fedc_web_asset_find(a->path), a);
        if (i > 0) assert_true(strcmp(fedc_web_asset_at(i - 1)->path, a->path) < 0);
    }
    assert_null(fedc_web_asset_at(n));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_app_file_is_embedded),
        cmocka_unit_test(every_asset_has_a_hashed_compressed_copy),
        cmocka_unit_test(index_loads_hashed_names),
        cmocka_unit_test(content_types),
        cmocka_unit_test(chart_library_is_embedded),
        cmocka_unit_test(lookup_normalises_and_refuses),
        cmocka_unit_test(table_is_sorted_and_well_formed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
