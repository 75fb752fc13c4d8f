/* The local data cache: where it is, which of a catalog entry's files are
 * present (user folder, distribution copy, cache), and the stamps that
 * record a cached file as verified. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/catalog_internal.h"

int data_join(char *out, size_t cap, const char *dir, const char *name, fedc_error *err) {
    int w = snprintf(out, cap, "%s/%s", dir, name);
    if (w < 0 || (size_t)w >= cap)
        return fedc_fail(err, "path %s/%s is longer than %zu bytes", dir, name, cap - 1);
    return 0;
}

int64_t data_file_size(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return -1;
    return (int64_t)st.st_size;
}

int data_mkdirs(const char *path, fedc_error *err) {
    char tmp[1024];
    int w = snprintf(tmp, sizeof tmp, "%s", path);
    if (w < 0 || (size_t)w >= sizeof tmp)
        return fedc_fail(err, "%s: path too long", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            return fedc_fail(err, "cannot create the folder %s: %s", tmp, strerror(errno));
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return fedc_fail(err, "cannot create the folder %s: %s", tmp, strerror(errno));
    return 0;
}

int fedc_data_cache_dir(char *out, size_t cap, fedc_error *err) {
    const char *v = getenv("FEDC_DATA");
    int w;
    if (v && *v) {
        w = snprintf(out, cap, "%s", v);
    } else if ((v = getenv("XDG_CACHE_HOME")) && v[0] == '/') {
        /* The XDG spec ignores relative values. */
        w = snprintf(out, cap, "%s/fedc", v);
    } else if ((v = getenv("HOME")) && *v) {
        w = snprintf(out, cap, "%s/.cache/fedc", v);
    } else {
        return fedc_fail(err, "no data cache folder: set FEDC_DATA (or HOME)");
    }
    if (w < 0 || (size_t)w >= cap)
        return fedc_fail(err, "the data cache folder path is longer than %zu bytes", cap - 1);
    while (w > 1 && out[w - 1] == '/')
        out[--w] = 0;
    return 0;
}

int fedc_data_entry_dir(const fedc_catalog_entry *e, char *out, size_t cap, fedc_error *err) {
    char base[1024];
    if (fedc_data_cache_dir(base, sizeof base, err) != 0)
        return -1;
    return data_join(out, cap, base, e->dir, err);
}

static void stamp_path(char *out, size_t cap, const char *dir, const char *name) {
    snprintf(out, cap, "%s/.%s.verified", dir, name);
}

/* The file's identity as the stamp records it. */
static int file_identity(const char *path, uint64_t *size, int64_t *sec, long *nsec) {
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return -1;
    *size = (uint64_t)st.st_size;
    *sec = (int64_t)st.st_mtim.tv_sec;
    *nsec = st.st_mtim.tv_nsec;
    return 0;
}

int data_stamp_ok(const char *dir, const char *name, const char *sha256) {
    char sp[1200], fp[1200];
    stamp_path(sp, sizeof sp, dir, name);
    snprintf(fp, sizeof fp, "%s/%s", dir, name);
    uint64_t size;
    int64_t sec;
    long nsec;
    if (file_identity(fp, &size, &sec, &nsec) != 0)
        return 0;
    FILE *f = fopen(sp, "r");
    if (!f)
        return 0;
    char hex[80];
    unsigned long long ssize;
    long long ssec;
    long snsec;
    int n = fscanf(f, "%79s %llu %lld %ld", hex, &ssize, &ssec, &snsec);
    fclose(f);
    if (n != 4 || strlen(hex) != 64)
        return 0;
    if (sha256 && *sha256 && strcmp(hex, sha256) != 0)
        return 0;
    return ssize == size && ssec == sec && snsec == nsec;
}

int data_stamp_write(const char *dir, const char *name, const char *sha256, fedc_error *err) {
    char sp[1200], tmp[1300], fp[1200];
    stamp_path(sp, sizeof sp, dir, name);
    snprintf(fp, sizeof fp, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", sp, (long)getpid());
    uint64_t size;
    int64_t sec;
    long nsec;
    if (file_identity(fp, &size, &sec, &nsec) != 0)
        return fedc_fail(err, "%s: missing after verification", fp);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return fedc_fail(err, "cannot write %s: %s", tmp, strerror(errno));
    fprintf(f, "%s %" PRIu64 " %" PRId64 " %ld\n", sha256, size, sec, nsec);
    if (fclose(f) != 0 || rename(tmp, sp) != 0) {
        unlink(tmp);
        return fedc_fail(err, "cannot write %s: %s", sp, strerror(errno));
    }
    return 0;
}

void data_stamp_remove(const char *dir, const char *name) {
    char sp[1200];
    stamp_path(sp, sizeof sp, dir, name);
    unlink(sp);
}

static int needed(const fedc_catalog_file *f, int with_optional) {
    return !f->optional || with_optional;
}

/* Whether every needed file of `files` is in dir (exact size when known). */
static int files_in(const char *dir, const fedc_catalog_file *files, int n, int with_optional,
                    fedc_data_status *st) {
    int all = 1;
    for (int i = 0; i < n; i++) {
        if (!needed(&files[i], with_optional))
            continue;
        char p[1200];
        snprintf(p, sizeof p, "%s/%s", dir, files[i].name);
        int64_t sz = data_file_size(p);
        int ok = sz > 0 && (!files[i].size || (uint64_t)sz == files[i].size);
        if (st) {
            st->bytes_needed += files[i].size;
            if (ok)
                st->bytes_present += (uint64_t)sz;
            else if (st->missing < 0)
                st->missing = i;
            char part[1300];
            snprintf(part, sizeof part, "%s.part", p);
            int64_t ps = data_file_size(part);
            if (!ok && ps > 0)
                st->bytes_partial += (uint64_t)ps;
        }
        all &= ok;
    }
    return all;
}

int fedc_data_status_get(const fedc_catalog_entry *e, const char *user_dir, int with_optional,
                         fedc_data_status *st, fedc_error *err) {
    memset(st, 0, sizeof *st);
    st->missing = -1;
    if (user_dir && *user_dir) {
        st->source = FEDC_DATA_IN_USER;
        if (snprintf(st->dir, sizeof st->dir, "%s", user_dir) >= (int)sizeof st->dir)
            return fedc_fail(err, "dataset.path %s is too long", user_dir);
        st->present = files_in(st->dir, e->files, e->nfiles, with_optional, st);
        return 0;
    }
    if (e->system_dir[0] && e->nsystem > 0 &&
        files_in(e->system_dir, e->system_files, e->nsystem, 0, NULL)) {
        st->source = FEDC_DATA_IN_SYSTEM;
        snprintf(st->dir, sizeof st->dir, "%s", e->system_dir);
        st->present = files_in(st->dir, e->system_files, e->nsystem, 0, st);
        return 0;
    }
    st->source = FEDC_DATA_IN_CACHE;
    if (fedc_data_entry_dir(e, st->dir, sizeof st->dir, err) != 0)
        return -1;
    st->present = files_in(st->dir, e->files, e->nfiles, with_optional, st);
    return 0;
}

static void human_size(uint64_t b, char *out, size_t cap) {
    if (b >= 1000ull * 1000 * 1000)
        snprintf(out, cap, "%.2f GB", (double)b / 1e9);
    else if (b >= 1000ull * 1000)
        snprintf(out, cap, "%.1f MB", (double)b / 1e6);
    else if (b >= 1000)
        snprintf(out, cap, "%.1f kB", (double)b / 1e3);
    else
        snprintf(out, cap, "%llu bytes", (unsigned long long)b);
}

void fedc_data_missing_message(const fedc_catalog_entry *e, const fedc_data_status *st,
                               char *out, size_t cap) {
    int i = st->missing >= 0 ? st->missing : 0;
    const fedc_catalog_file *f = &e->files[i];
    char size[40], digest[100];
    if (f->size)
        human_size(f->size, size, sizeof size);
    else
        snprintf(size, sizeof size, "size not published");
    if (f->sha256[0])
        snprintf(digest, sizeof digest, ", SHA-256 %.16s...", f->sha256);
    else
        digest[0] = 0;
    if (st->source == FEDC_DATA_IN_USER) {
        snprintf(out, cap,
                 "%s: %s (%s%s) is not in dataset.path %s; put it there, or leave dataset.path "
                 "empty to use the cache (fedc data fetch %s)",
                 e->name, f->name, size, digest, st->dir, e->name);
        return;
    }
    snprintf(out, cap,
             "%s: %s (%s%s) is missing from %s. Run `fedc data fetch %s%s`, or download %s "
             "yourself and put it in %s/ (or set dataset.path to the folder that holds it)",
             e->name, f->name, size, digest, st->dir, e->name, f->optional ? " --extra" : "",
             f->urls[0], st->dir);
}
