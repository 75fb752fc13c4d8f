/* The cluster of `mpirun fedc sim` over MPI: one rank per process of
 * MPI_COMM_WORLD, the allgather the simulation transport needs, and the
 * payload bytes counted as they go. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "mpi/launch.h"

typedef struct mpi_cluster {
    fedc_cluster base;
    uint64_t *sizes; /* per rank, scratch of allgather */
    int *counts, *displs;
} mpi_cluster;

int fedc_mpi_available(void) { return 1; }

static int mpi_fail(fedc_error *err, const char *what, int code) {
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(code, msg, &len) != MPI_SUCCESS) snprintf(msg, sizeof msg, "MPI error %d", code);
    return fedc_fail(err, "%s: %s", what, msg);
}

static int mpi_allgather(fedc_cluster *c, const void *mine, size_t n, fedc_buf *all, size_t *counts,
                         fedc_error *err) {
    mpi_cluster *m = c->self;
    uint64_t n64 = n;
    int rc = MPI_Allgather(&n64, 1, MPI_UINT64_T, m->sizes, 1, MPI_UINT64_T, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) return mpi_fail(err, "MPI_Allgather of the ranks' sizes", rc);
    uint64_t total = 0;
    for (int r = 0; r < c->size; r++) total += m->sizes[r];
    c->bytes_sent += (uint64_t)(c->size - 1) * (sizeof n64 + n);
    c->bytes_received += (uint64_t)(c->size - 1) * sizeof n64 + (total - n);
    /* MPI counts and displacements are ints: one exchange stays under 2 GiB
     * (every rank sees the same sizes, so every rank refuses alike). */
    if (total > INT_MAX)
        return fedc_fail(err, "the ranks' results total %llu bytes, more than one MPI_Allgatherv carries (%d)",
                         (unsigned long long)total, INT_MAX);
    all->len = 0;
    if (fedc_buf_reserve(all, (size_t)total ? (size_t)total : 1) != 0)
        return fedc_fail(err, "out of memory for %llu gathered bytes", (unsigned long long)total);
    int off = 0;
    for (int r = 0; r < c->size; r++) {
        m->counts[r] = (int)m->sizes[r];
        m->displs[r] = off;
        off += m->counts[r];
        counts[r] = (size_t)m->sizes[r];
    }
    /* MPI wants a valid buffer even for 0 bytes. */
    static const unsigned char none;
    rc = MPI_Allgatherv(n ? mine : &none, (int)n, MPI_BYTE, all->data, m->counts, m->displs, MPI_BYTE, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) return mpi_fail(err, "MPI_Allgatherv of the ranks' results", rc);
    all->len = (size_t)total;
    return 0;
}

static void mpi_abort(fedc_cluster *c, const char *why) {
    fprintf(stderr, "fedc sim: rank %d of %d cannot go on: %s\n", c->rank, c->size, why);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
}

static const fedc_cluster_ops k_mpi_ops = {mpi_allgather, mpi_abort};

fedc_cluster *fedc_mpi_start(fedc_error *err) {
    int provided = 0;
    int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS) {
        mpi_fail(err, "MPI_Init_thread", rc);
        return NULL;
    }
    /* Errors come back as codes, so fedc reports them in its own words. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    mpi_cluster *m = calloc(1, sizeof *m);
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (m) {
        m->sizes = calloc((size_t)size, sizeof *m->sizes);
        m->counts = calloc((size_t)size, sizeof *m->counts);
        m->displs = calloc((size_t)size, sizeof *m->displs);
    }
    if (!m || !m->sizes || !m->counts || !m->displs) {
        fedc_fail(err, "out of memory for an MPI world of %d ranks", size);
        if (m) {
            free(m->sizes);
            free(m->counts);
            free(m->displs);
            free(m);
        }
        MPI_Abort(MPI_COMM_WORLD, 1);
        return NULL;
    }
    m->base = (fedc_cluster){.ops = &k_mpi_ops, .self = m, .rank = rank, .size = size};
    if (provided < MPI_THREAD_FUNNELED) {
        /* fedc's worker threads never call MPI; the main thread does. An
         * MPI without even funneled support could still misbehave. */
        fedc_fail(err, "this MPI library offers no MPI_THREAD_FUNNELED support (level %d)", provided);
        fedc_mpi_stop(&m->base);
        return NULL;
    }
    return &m->base;
}

void fedc_mpi_stop(fedc_cluster *c) {
    if (!c) return;
    mpi_cluster *m = c->self;
    free(m->sizes);
    free(m->counts);
    free(m->displs);
    free(m);
    MPI_Finalize();
}
