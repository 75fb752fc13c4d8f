/* Clocks: wall time and CPU time of the process and of the calling thread. */
#ifndef FEDC_TIMER_H
#define FEDC_TIMER_H

#include "fedc/export.h"

FEDC_API double fedc_wall_s(void);
FEDC_API double fedc_cpu_process_s(void);
FEDC_API double fedc_cpu_thread_s(void);
/* Peak resident set size of this process in bytes. */
FEDC_API long fedc_peak_rss_bytes(void);

#endif
