/* Clocks: wall time and CPU time of the process and of the calling thread. */
#ifndef FEDC_TIMER_H
#define FEDC_TIMER_H

double fedc_wall_s(void);
double fedc_cpu_process_s(void);
double fedc_cpu_thread_s(void);
/* Peak resident set size of this process in bytes. */
long fedc_peak_rss_bytes(void);

#endif
