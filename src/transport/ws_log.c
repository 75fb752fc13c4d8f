/* lws writes its own diagnostics; route warnings and errors into fedc_log
 * so they carry the same prefix and level filter as everything else. */
#include <libwebsockets.h>
#include <pthread.h>
#include <string.h>

#include "fedc/log.h"
#include "fedc/ws.h"

static void emit(int level, const char *line) {
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
    fedc_log(level & LLL_ERR ? FEDC_LOG_ERROR : level & LLL_WARN ? FEDC_LOG_WARN : FEDC_LOG_DEBUG,
             "lws: %.*s", (int)n, line);
}

static void setup_once(void) { lws_set_log_level(LLL_ERR | LLL_WARN, emit); }

void fedc_ws_log_setup(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, setup_once);
}
