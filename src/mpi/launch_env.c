/* Whether an MPI launcher started this process, from the environment it
 * sets for its ranks; nothing of MPI is loaded or initialised here. */
#include <stdlib.h>

#include "mpi/launch.h"

static int env_size(const char *name) {
    const char *v = getenv(name);
    if (!v || !*v) return -1;
    char *end;
    long n = strtol(v, &end, 10);
    return (*end || n < 1 || n > 1 << 20) ? 1 : (int)n;
}

int fedc_mpi_launched_size(void) {
    static const char *sizes[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE"};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        int n = env_size(sizes[i]);
        if (n > 0) return n;
    }
    /* A PMIx or PMI launcher that sets a rank but no size. */
    if (getenv("PMIX_RANK") || getenv("PMI_RANK") || getenv("OMPI_COMM_WORLD_RANK")) return 1;
    return 0;
}
