/* The SQL steps every part of the run store shares (store.c): preparing and
 * running statements with the cause of a failure kept (store_fault), the
 * transaction around a change, the check and seal of a run's row, and
 * reading a column as JSON. Private to the store's files. */
#ifndef FEDC_SERVER_STORE_SQL_H
#define FEDC_SERVER_STORE_SQL_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdint.h>

#include "server/server_internal.h"

/* Keeps the cause of the last failure before anything (a ROLLBACK) can
 * replace SQLite's message with its own. */
void store_note_failure(store *st);
/* A prepared statement, or NULL with the failure noted. */
sqlite3_stmt *store_prep(store *st, const char *sql);
/* Runs a statement with no result rows and finalizes it; 0 on success (q may be NULL: -1). */
int store_exec(store *st, sqlite3_stmt *q);
/* After a loop of sqlite3_step: 0 if the rows ended normally (else q is finalized). */
int store_rows_end(store *st, sqlite3_stmt *q, int rc);
/* The end of a loop that built the JSON array rows from q: rows, or NULL
 * (rows released) if they did not end normally; q is finalized either way. */
json_t *store_rows_json(store *st, sqlite3_stmt *q, int rc, json_t *rows);
/* BEGIN IMMEDIATE; and COMMIT when ok, or ROLLBACK of what is still open. */
int store_begin(store *st);
int store_end_tx(store *st, int ok);
/* -1 if the row of run id exists and fails its checksum (damage recorded). */
int store_run_verify(store *st, int64_t id);
/* The run's row checksum written anew after a change. */
int store_run_seal(store *st, int64_t id);
/* A REAL or TEXT column as JSON (null for SQL NULL or a non-finite value). */
json_t *store_col_real_json(sqlite3_stmt *q, int c);
json_t *store_col_text_json(sqlite3_stmt *q, int c);
/* A number, or null when it is not finite (JSON has no NaN or Inf). */
json_t *store_num_json(double v);

#endif
