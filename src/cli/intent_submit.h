/* Submits a task to a running `fedc server` (POST /api/runs), for
 * `fedc intent --run --server URL`. */
#ifndef FEDC_CLI_INTENT_SUBMIT_H
#define FEDC_CLI_INTENT_SUBMIT_H

#include "fedc/task.h"

/* server: "https://HOST:PORT" or "http://127.0.0.1:PORT" (an --insecure
 * server); token: the admin token; cacert: the server's CA (STATE/certs/
 * ca.crt) for https, or NULL for the system's. Prints the run id and its
 * page; returns 0, or 1 with the reason on stderr. */
int fedc_cli_submit_task(const fedc_task *t, const char *server, const char *token, const char *cacert);

#endif
