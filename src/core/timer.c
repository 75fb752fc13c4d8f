#include "fedc/timer.h"

#include <sys/resource.h>
#include <time.h>

static double ts_s(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double fedc_wall_s(void) { return ts_s(CLOCK_MONOTONIC); }
double fedc_cpu_process_s(void) { return ts_s(CLOCK_PROCESS_CPUTIME_ID); }
double fedc_cpu_thread_s(void) { return ts_s(CLOCK_THREAD_CPUTIME_ID); }

long fedc_peak_rss_bytes(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return -1;
    return ru.ru_maxrss * 1024L;
}
