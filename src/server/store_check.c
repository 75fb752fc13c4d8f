/* The run store's defences against damage: the row checksum fedc_crc, the
 * checks (SQLite's quick_check or integrity_check, then every row's
 * checksum) and recovery into a new file.
 *
 * Recovery reads every table row by row, forward and then backward past a
 * damaged page (as the sqlite3 shell's .dump does), keeps the rows whose
 * checksum holds and writes them into a fresh store. Debian's sqlite3
 * shell has .recover, but its library is built without the sqlite_dbpage
 * table .recover reads pages through, so it fails there ("no such table:
 * sqlite_dbpage"); the row-level salvage needs nothing beyond the library. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "server/server_internal.h"

/* ---- storage faults -------------------------------------------------------- */

storage_fault storage_fault_of_errno(int e) {
    switch (e) {
    case 0:
        return SF_NONE;
    case ENOSPC:
    case EDQUOT:
        return SF_FULL;
    case EMFILE:
    case ENFILE:
        return SF_FDS;
    default:
        return SF_IO;
    }
}

const char *storage_fault_name(storage_fault f) {
    switch (f) {
    case SF_FULL:
        return "storage full";
    case SF_FDS:
        return "out of file descriptors";
    case SF_DAMAGED:
        return "run store damaged";
    case SF_IO:
        return "storage error";
    default:
        return "no fault";
    }
}

/* ---- the row checksum -------------------------------------------------------- */

static uLong crc_u64(uLong c, uint64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
    return crc32(c, b, 8);
}

/* fedc_crc(v1, v2, ...): CRC-32 over each value's type and its bytes as
 * stored (integers and reals as 8 little-endian bytes, text and blobs with
 * their length), so any changed, moved or retyped value changes it. */
static void crc_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
    uLong c = crc32(0L, Z_NULL, 0);
    for (int i = 0; i < argc; i++) {
        int type = sqlite3_value_type(argv[i]);
        unsigned char tag = (unsigned char)type;
        c = crc32(c, &tag, 1);
        if (type == SQLITE_INTEGER) {
            c = crc_u64(c, (uint64_t)sqlite3_value_int64(argv[i]));
        } else if (type == SQLITE_FLOAT) {
            double d = sqlite3_value_double(argv[i]);
            uint64_t bits;
            memcpy(&bits, &d, sizeof bits);
            c = crc_u64(c, bits);
        } else if (type == SQLITE_TEXT || type == SQLITE_BLOB) {
            const void *p = type == SQLITE_TEXT ? (const void *)sqlite3_value_text(argv[i]) : sqlite3_value_blob(argv[i]);
            int n = sqlite3_value_bytes(argv[i]);
            c = crc_u64(c, (uint64_t)n);
            if (p && n > 0) c = crc32(c, p, (uInt)n);
        }
    }
    sqlite3_result_int64(ctx, (sqlite3_int64)c);
}

int store_register_crc(sqlite3 *db) {
    return sqlite3_create_function(db, "fedc_crc", -1, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
                                   crc_fn, NULL, NULL) == SQLITE_OK
               ? 0
               : -1;
}

/* ---- checks -------------------------------------------------------------- */

static void say(fedc_buf *report, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(fedc_buf *report, const char *fmt, ...) {
    char line[600];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof line) n = (int)sizeof line - 1;
    /* Damaged pages put any bytes in SQLite's messages: printable only. */
    for (int i = 0; i < n; i++)
        if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] > 0x7e) line[i] = '?';
    if (report) {
        fedc_buf_append(report, line, (size_t)n);
        fedc_buf_append(report, "\n", 1);
    }
}

#define CHECK_MAX_FINDINGS 20

static int column_exists(sqlite3 *db, const char *schema, const char *table, const char *column) {
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_table_info(?1, ?2) WHERE name=?3", -1, &q, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(q, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, schema, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, column, -1, SQLITE_STATIC);
    int found = sqlite3_step(q) == SQLITE_ROW;
    sqlite3_finalize(q);
    return found;
}

/* Rows of one table whose checksum fails (what names them: the select list). */
static int scan_table(store *st, const char *table, const char *what, const char *sql, int nkeys, fedc_buf *report) {
    if (!column_exists(st->db, "main", table, "crc")) return 0; /* a store from before checksums */
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK) {
        say(report, "%s: cannot be read: %s", what, sqlite3_errmsg(st->db));
        return 1;
    }
    int found = 0, rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (found++ >= CHECK_MAX_FINDINGS) continue;
        if (nkeys == 1)
            say(report, "%s %lld fails its checksum", what, (long long)sqlite3_column_int64(q, 0));
        else if (nkeys == 2)
            say(report, "%s %d of run %lld fails its checksum", what, sqlite3_column_int(q, 1),
                (long long)sqlite3_column_int64(q, 0));
        else
            say(report, "%s (slot %d, round %d of run %lld) fails its checksum", what, sqlite3_column_int(q, 2),
                sqlite3_column_int(q, 1), (long long)sqlite3_column_int64(q, 0));
    }
    if (rc != SQLITE_DONE) {
        say(report, "%s: reading stopped: %s", what, sqlite3_errmsg(st->db));
        found++;
    }
    sqlite3_finalize(q);
    if (found > CHECK_MAX_FINDINGS) say(report, "%s: %d more rows fail their checksum", what, found - CHECK_MAX_FINDINGS);
    return found;
}

int store_check(store *st, int full, fedc_buf *report) {
    int bad = 0;
    sqlite3_stmt *q = NULL;
    const char *pragma = full ? "PRAGMA integrity_check(20)" : "PRAGMA quick_check(20)";
    if (sqlite3_prepare_v2(st->db, pragma, -1, &q, NULL) != SQLITE_OK) {
        say(report, "%s cannot run: %s", pragma, sqlite3_errmsg(st->db));
        return -1;
    }
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *line = (const char *)sqlite3_column_text(q, 0);
        if (line && strcmp(line, "ok") != 0) {
            say(report, "%s: %s", full ? "integrity_check" : "quick_check", line);
            bad++;
        }
    }
    if (rc != SQLITE_DONE) {
        say(report, "%s stopped: %s", pragma, sqlite3_errmsg(st->db));
        bad++;
    }
    sqlite3_finalize(q);
    bad += scan_table(st, "runs", "run", "SELECT id FROM runs WHERE crc IS NOT fedc_crc(" STORE_RUN_CRC_COLS ")", 1, report);
    bad += scan_table(st, "rounds", "round",
                      "SELECT run_id, round FROM rounds WHERE crc IS NOT fedc_crc(" STORE_ROUND_CRC_COLS ")", 2,
                      report);
    bad += scan_table(st, "round_privacy", "privacy row of round",
                      "SELECT run_id, round FROM round_privacy WHERE crc IS NOT fedc_crc(" STORE_PRIV_CRC_COLS ")", 2,
                      report);
    bad += scan_table(st, "fed_eval", "federated evaluation row of round",
                      "SELECT run_id, round FROM fed_eval WHERE crc IS NOT fedc_crc(" STORE_FED_CRC_COLS ")", 2,
                      report);
    bad += scan_table(st, "round_decentral", "decentralised row of round",
                      "SELECT run_id, round FROM round_decentral WHERE crc IS NOT fedc_crc(" STORE_DECENTRAL_CRC_COLS
                      ")",
                      2, report);
    bad += scan_table(st, "nodes", "node", "SELECT id FROM nodes WHERE crc IS NOT fedc_crc(" STORE_NODE_CRC_COLS ")", 1,
                      report);
    bad += scan_table(st, "run_events", "event of run",
                      "SELECT run_id, seq FROM run_events WHERE crc IS NOT fedc_crc(" STORE_EVENT_CRC_COLS ")", 2, report);
    bad += scan_table(st, "run_notes", "notes of run",
                      "SELECT run_id FROM run_notes WHERE crc IS NOT fedc_crc(" STORE_NOTES_CRC_COLS ")", 1, report);
    bad += scan_table(st, "participation", "participation row",
                      "SELECT run_id, round, slot FROM participation WHERE crc IS NOT fedc_crc(" STORE_PART_CRC_COLS
                      ")",
                      3, report);
    if (bad && !st->damage[0]) {
        const char *first = report && report->len ? (const char *)report->data : "damage found";
        size_t n = strcspn(first, "\n");
        store_mark_damaged(st, "%.*s", (int)(n < 300 ? n : 300), first);
    }
    return bad ? -1 : 0;
}

/* ---- recovery ----------------------------------------------------------------- */

typedef struct salvage {
    sqlite3 *db;    /* the new store, with the damaged one attached as "old" */
    fedc_buf *report;
    long kept, dropped_crc, dropped_other, unreadable;
} salvage;

static int table_exists(sqlite3 *db, const char *schema, const char *table) {
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT 1 FROM %s.sqlite_schema WHERE type='table' AND name=?", schema);
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) return 0;
    sqlite3_bind_text(q, 1, table, -1, SQLITE_STATIC);
    int found = sqlite3_step(q) == SQLITE_ROW;
    sqlite3_finalize(q);
    return found;
}

/* The columns of old.table that main.table also has, comma-separated. */
static int shared_columns(sqlite3 *db, const char *table, char *out, size_t cap, int *n) {
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT name FROM pragma_table_info(?1, 'old') WHERE name IN "
                              "(SELECT name FROM pragma_table_info(?1, 'main'))");
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) return -1;
    sqlite3_bind_text(q, 1, table, -1, SQLITE_STATIC);
    size_t len = 0;
    *n = 0;
    out[0] = 0;
    while (sqlite3_step(q) == SQLITE_ROW) {
        int w = snprintf(out + len, cap - len, "%s\"%s\"", len ? "," : "", (const char *)sqlite3_column_text(q, 0));
        if (w < 0 || (size_t)w >= cap - len) {
            sqlite3_finalize(q);
            return -1;
        }
        len += (size_t)w;
        (*n)++;
    }
    sqlite3_finalize(q);
    return *n > 0 ? 0 : -1;
}

/* Copies one row (columns 1..ncols of src; column ncols+1 says whether its
 * checksum holds) into main.table. */
static void copy_row(salvage *sv, sqlite3_stmt *src, sqlite3_stmt *ins, int ncols, int checked, const char *table) {
    if (checked && !sqlite3_column_int(src, ncols + 1)) {
        sv->dropped_crc++;
        if (sv->dropped_crc <= 20)
            say(sv->report, "%s: row %lld fails its checksum: dropped", table, (long long)sqlite3_column_int64(src, 0));
        return;
    }
    sqlite3_reset(ins);
    for (int c = 0; c < ncols; c++) sqlite3_bind_value(ins, c + 1, sqlite3_column_value(src, c + 1));
    if (sqlite3_step(ins) == SQLITE_DONE) {
        sv->kept++;
    } else {
        sv->dropped_other++;
        if (sv->dropped_other <= 20)
            say(sv->report, "%s: row %lld not kept: %s", table, (long long)sqlite3_column_int64(src, 0),
                sqlite3_errmsg(sv->db));
    }
}

/* Reads old.table forward by rowid; past an unreadable page, backward from
 * the end down to where reading stopped. */
static void salvage_table(salvage *sv, const char *table, const char *crc_cols) {
    char cols[2048];
    int ncols = 0;
    if (shared_columns(sv->db, table, cols, sizeof cols, &ncols) != 0) {
        say(sv->report, "%s: its columns cannot be read; the table is lost", table);
        sv->unreadable++;
        return;
    }
    /* A checksum is checked where the old table has one (stores written
     * before checksums have none). */
    int checked = crc_cols && column_exists(sv->db, "old", table, "crc");
    char check[1200];
    snprintf(check, sizeof check, "%s", checked ? "" : "1");
    if (checked) snprintf(check, sizeof check, "crc IS fedc_crc(%s)", crc_cols);
    char *fwd = sqlite3_mprintf("SELECT rowid,%s,%s FROM old.\"%w\" WHERE rowid>?1 ORDER BY rowid", cols, check, table);
    char *bwd = sqlite3_mprintf("SELECT rowid,%s,%s FROM old.\"%w\" WHERE rowid>?1 ORDER BY rowid DESC", cols, check,
                                table);
    char *marks = malloc((size_t)ncols * 2 + 1);
    char *ins_full = NULL;
    sqlite3_stmt *ins = NULL, *src = NULL;
    long before_kept = sv->kept, before_crc = sv->dropped_crc, before_other = sv->dropped_other;
    if (!fwd || !bwd || !marks) goto out;
    size_t m = 0;
    for (int c = 0; c < ncols; c++) {
        if (c) marks[m++] = ',';
        marks[m++] = '?';
    }
    marks[m] = 0;
    ins_full = sqlite3_mprintf("INSERT INTO main.\"%w\"(%s) VALUES(%s)", table, cols, marks);
    if (!ins_full) goto out;
    if (sqlite3_prepare_v2(sv->db, ins_full, -1, &ins, NULL) != SQLITE_OK) {
        say(sv->report, "%s: cannot be written to the new store: %s", table, sqlite3_errmsg(sv->db));
        sv->unreadable++;
        goto out;
    }
    sqlite3_int64 last = -1; /* the last rowid read forward (rowids may be negative: start below all) */
    int rc = SQLITE_DONE, started = 0;
    if (sqlite3_prepare_v2(sv->db, fwd, -1, &src, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(src, 1, (sqlite3_int64)INT64_MIN);
        while ((rc = sqlite3_step(src)) == SQLITE_ROW) {
            last = sqlite3_column_int64(src, 0);
            started = 1;
            copy_row(sv, src, ins, ncols, checked, table);
        }
    } else {
        rc = sqlite3_errcode(sv->db);
    }
    sqlite3_finalize(src);
    src = NULL;
    if (rc != SQLITE_DONE) {
        say(sv->report, "%s: reading forward stopped after row %lld: %s; reading backward", table,
            started ? (long long)last : -1LL, sqlite3_errmsg(sv->db));
        sv->unreadable++;
        if (sqlite3_prepare_v2(sv->db, bwd, -1, &src, NULL) == SQLITE_OK) {
            sqlite3_bind_int64(src, 1, started ? last : (sqlite3_int64)INT64_MIN);
            while ((rc = sqlite3_step(src)) == SQLITE_ROW) copy_row(sv, src, ins, ncols, checked, table);
            if (rc != SQLITE_DONE)
                say(sv->report, "%s: reading backward stopped too: %s (rows between are lost)", table,
                    sqlite3_errmsg(sv->db));
        }
    }
    say(sv->report, "%s: %ld rows kept, %ld dropped (checksum), %ld not kept (other)", table, sv->kept - before_kept,
        sv->dropped_crc - before_crc, sv->dropped_other - before_other);
out:
    sqlite3_finalize(src);
    sqlite3_finalize(ins);
    sqlite3_free(fwd);
    sqlite3_free(bwd);
    sqlite3_free(ins_full);
    free(marks);
}

/* Other tables (fedc tune's searches): their schema from the old store. */
static void salvage_other_tables(salvage *sv) {
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(sv->db,
                           "SELECT name, sql FROM old.sqlite_schema WHERE type='table' AND name NOT IN "
                           "('runs','rounds','participation','nodes','round_privacy','fed_eval','round_decentral') AND name NOT LIKE 'sqlite_%' "
                           "ORDER BY rowid",
                           -1, &q, NULL) != SQLITE_OK) {
        say(sv->report, "the list of other tables cannot be read: %s", sqlite3_errmsg(sv->db));
        return;
    }
    while (sqlite3_step(q) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(q, 0), *sql = (const char *)sqlite3_column_text(q, 1);
        if (!name || !sql) continue;
        char *tname = strdup(name);
        if (!tname) break;
        if (sqlite3_exec(sv->db, sql, NULL, NULL, NULL) == SQLITE_OK) salvage_table(sv, tname, NULL);
        else say(sv->report, "%s: cannot be created in the new store: %s", tname, sqlite3_errmsg(sv->db));
        free(tname);
    }
    sqlite3_finalize(q);
    /* Their indexes. */
    if (sqlite3_prepare_v2(sv->db,
                           "SELECT sql FROM old.sqlite_schema WHERE type='index' AND sql IS NOT NULL AND tbl_name NOT "
                           "IN ('runs','rounds','participation','nodes','round_privacy','fed_eval','round_decentral')",
                           -1, &q, NULL) == SQLITE_OK) {
        while (sqlite3_step(q) == SQLITE_ROW) {
            const char *sql = (const char *)sqlite3_column_text(q, 0);
            if (sql) sqlite3_exec(sv->db, sql, NULL, NULL, NULL);
        }
    }
    sqlite3_finalize(q);
}

static int copy_file(const char *from, const char *to, fedc_error *err) {
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0) return errno == ENOENT ? 0 : fedc_fail(err, "cannot read %s: %s", from, strerror(errno));
    int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        close(in);
        return fedc_fail(err, "cannot create %s: %s", to, strerror(errno));
    }
    char buf[65536];
    ssize_t n;
    int rc = 0;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n) {
            rc = fedc_fail(err, "cannot write %s: %s", to, strerror(errno));
            break;
        }
    if (n < 0) rc = fedc_fail(err, "cannot read %s: %s", from, strerror(errno));
    if (rc == 0 && fsync(out) != 0) rc = fedc_fail(err, "cannot write %s: %s", to, strerror(errno));
    close(in);
    if (close(out) != 0 && rc == 0) rc = fedc_fail(err, "cannot write %s: %s", to, strerror(errno));
    return rc;
}

int store_recover(const char *path, fedc_buf *report, fedc_error *err) {
    struct stat sb;
    if (stat(path, &sb) != 0) return fedc_fail(err, "there is no run store at %s: %s", path, strerror(errno));
    char stamp[32], damaged[1100], damaged_wal[1120], wal[1100], shm[1100], fresh[1100];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    snprintf(damaged, sizeof damaged, "%s.damaged-%s", path, stamp);
    snprintf(damaged_wal, sizeof damaged_wal, "%s-wal", damaged);
    snprintf(wal, sizeof wal, "%s-wal", path);
    snprintf(shm, sizeof shm, "%s-shm", path);
    snprintf(fresh, sizeof fresh, "%s.recovered", path);
    /* The damaged store is kept as it is (with its WAL, which SQLite pairs
     * with it by name) before anything opens it. */
    if (copy_file(path, damaged, err) != 0 || copy_file(wal, damaged_wal, err) != 0) return -1;
    say(report, "the damaged store is kept as %s", damaged);
    unlink(fresh);
    store ns;
    if (store_open(&ns, fresh, err) != 0) {
        fedc_fail_prefix(err, "cannot create the recovered store: ");
        return -1;
    }
    char *attach = sqlite3_mprintf("ATTACH DATABASE %Q AS old", path);
    int ok = attach && sqlite3_exec(ns.db, attach, NULL, NULL, NULL) == SQLITE_OK;
    sqlite3_free(attach);
    if (!ok) {
        fedc_fail(err, "cannot open the damaged store %s: %s", path, sqlite3_errmsg(ns.db));
        store_close(&ns);
        unlink(fresh);
        return -1;
    }
    salvage sv = {ns.db, report, 0, 0, 0, 0};
    /* Row by row without one enclosing transaction: once a read of the
     * damaged store fails inside a transaction, SQLite refuses the writes
     * that follow in it. Without syncing each row, that costs little. */
    sqlite3_exec(ns.db, "PRAGMA synchronous=OFF", NULL, NULL, NULL);
    static const char *const tables[][2] = {
        {"runs", STORE_RUN_CRC_COLS},
        {"nodes", STORE_NODE_CRC_COLS},
        {"rounds", STORE_ROUND_CRC_COLS},
        {"participation", STORE_PART_CRC_COLS},
        {"round_privacy", STORE_PRIV_CRC_COLS},
        {"fed_eval", STORE_FED_CRC_COLS},
        {"round_decentral", STORE_DECENTRAL_CRC_COLS},
    };
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        if (table_exists(ns.db, "old", tables[i][0])) salvage_table(&sv, tables[i][0], tables[i][1]);
        else say(report, "%s: not found in the damaged store", tables[i][0]);
    }
    salvage_other_tables(&sv);
    /* Rows copied without a checksum (older stores) are sealed now. */
    ok = sqlite3_exec(ns.db,
                      "UPDATE runs SET crc=fedc_crc(" STORE_RUN_CRC_COLS ") WHERE crc IS NULL;"
                      "UPDATE rounds SET crc=fedc_crc(" STORE_ROUND_CRC_COLS ") WHERE crc IS NULL;"
                      "UPDATE participation SET crc=fedc_crc(" STORE_PART_CRC_COLS ") WHERE crc IS NULL;"
                      "UPDATE nodes SET crc=fedc_crc(" STORE_NODE_CRC_COLS ") WHERE crc IS NULL;"
                      "UPDATE round_privacy SET crc=fedc_crc(" STORE_PRIV_CRC_COLS ") WHERE crc IS NULL;"
                      "UPDATE fed_eval SET crc=fedc_crc(" STORE_FED_CRC_COLS ") WHERE crc IS NULL;"
                      "UPDATE round_decentral SET crc=fedc_crc(" STORE_DECENTRAL_CRC_COLS ") WHERE crc IS NULL;"
                      "PRAGMA synchronous=NORMAL",
                      NULL, NULL, NULL) == SQLITE_OK;
    if (!ok) fedc_fail(err, "cannot write the recovered store %s: %s", fresh, sqlite3_errmsg(ns.db));
    sqlite3_exec(ns.db, "DETACH DATABASE old", NULL, NULL, NULL);
    if (ok) {
        fedc_buf check = {0};
        if (store_check(&ns, 1, &check) != 0) {
            ok = 0;
            fedc_fail(err, "the recovered store does not pass its own check: %.*s", (int)(check.len < 400 ? check.len : 400),
                      check.data ? (const char *)check.data : "");
        }
        fedc_buf_free(&check);
    }
    ok = ok && sqlite3_exec(ns.db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL) == SQLITE_OK;
    store_close(&ns);
    if (!ok) {
        unlink(fresh);
        return -1;
    }
    /* The recovered store takes the damaged one's place. */
    unlink(wal);
    unlink(shm);
    if (rename(fresh, path) != 0) return fedc_fail(err, "cannot move %s to %s: %s", fresh, path, strerror(errno));
    char fresh_wal[1120], fresh_shm[1120];
    snprintf(fresh_wal, sizeof fresh_wal, "%s-wal", fresh);
    snprintf(fresh_shm, sizeof fresh_shm, "%s-shm", fresh);
    unlink(fresh_wal);
    unlink(fresh_shm);
    say(report, "recovered: %ld rows kept, %ld dropped because their checksum failed, %ld not kept for other "
                "reasons; %ld tables had unreadable parts",
        sv.kept, sv.dropped_crc, sv.dropped_other, sv.unreadable);
    return 0;
}

int store_check_path(const char *path, int full, fedc_buf *report, fedc_error *err) {
    struct stat sb;
    if (stat(path, &sb) != 0) return errno == ENOENT ? 0 : fedc_fail(err, "cannot read %s: %s", path, strerror(errno));
    store st;
    memset(&st, 0, sizeof st);
    snprintf(st.path, sizeof st.path, "%s", path);
    /* Read-write without create: SQLite needs to write the WAL index of a
     * store in WAL mode even to read it; nothing else is written. */
    if (sqlite3_open_v2(path, &st.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        fedc_fail(err, "cannot open the run store %s: %s", path, st.db ? sqlite3_errmsg(st.db) : "out of memory");
        store_close(&st);
        return -1;
    }
    sqlite3_busy_timeout(st.db, 10000);
    if (store_register_crc(st.db) != 0) {
        fedc_fail(err, "cannot check the run store %s: %s", path, sqlite3_errmsg(st.db));
        store_close(&st);
        return -1;
    }
    int rc = store_check(&st, full, report) == 0 ? 0 : 1;
    store_close(&st);
    return rc;
}
