/* Leveled logging to stderr, thread-safe, with a process-wide level. */
#ifndef FEDC_LOG_H
#define FEDC_LOG_H

#include "fedc/export.h"

typedef enum { FEDC_LOG_DEBUG = 0, FEDC_LOG_INFO, FEDC_LOG_WARN, FEDC_LOG_ERROR, FEDC_LOG_OFF } fedc_log_level;

FEDC_API void fedc_log_set_level(fedc_log_level level);
FEDC_API fedc_log_level fedc_log_get_level(void);
/* Parses "debug|info|warn|error|off"; returns -1 if unknown. */
FEDC_API int fedc_log_level_parse(const char *s, fedc_log_level *out);
FEDC_API void fedc_log(fedc_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define FEDC_DEBUG(...) fedc_log(FEDC_LOG_DEBUG, __VA_ARGS__)
#define FEDC_INFO(...) fedc_log(FEDC_LOG_INFO, __VA_ARGS__)
#define FEDC_WARN(...) fedc_log(FEDC_LOG_WARN, __VA_ARGS__)
#define FEDC_ERROR(...) fedc_log(FEDC_LOG_ERROR, __VA_ARGS__)

#endif
