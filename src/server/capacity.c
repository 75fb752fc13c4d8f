/* How many runs this host can train at once. Each run has its own engine
 * pool (evaluation, update checks) and its own model and test set in
 * memory, so runs beyond one need spare cores and memory: the automatic
 * count gives each run four cores (at most four runs); memory is checked
 * each time another run would start. */
#include <stdio.h>
#include <unistd.h>

#include "server/server_internal.h"

int capacity_auto_runs(void) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 4) return 1;
    long n = cores / 4;
    return n > 4 ? 4 : (int)n;
}

double capacity_mem_available(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return -1;
    char line[256];
    double kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lf kB", &kib) == 1) break;
    fclose(f);
    return kib < 0 ? -1 : kib * 1024.0;
}
