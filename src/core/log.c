#include "fedc/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static fedc_log_level g_level = FEDC_LOG_INFO;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *const k_names[] = {"debug", "info", "warn", "error", "off"};

void fedc_log_set_level(fedc_log_level level) { g_level = level; }
fedc_log_level fedc_log_get_level(void) { return g_level; }

int fedc_log_level_parse(const char *s, fedc_log_level *out) {
    for (int i = 0; i <= FEDC_LOG_OFF; i++) {
        if (strcmp(s, k_names[i]) == 0) {
            *out = (fedc_log_level)i;
            return 0;
        }
    }
    return -1;
}

void fedc_log(fedc_log_level level, const char *fmt, ...) {
    if (level < g_level || level >= FEDC_LOG_OFF) return;
    char line[2048];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%02d:%02d:%02d.%03ld %-5s ", tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, k_names[level]);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&g_lock);
    fprintf(stderr, "%s\n", line);
    pthread_mutex_unlock(&g_lock);
}
