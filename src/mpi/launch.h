/* `fedc sim` under an MPI launcher (mpirun, srun): detection from the
 * launcher's environment, and the cluster (include/fedc/cluster.h) over
 * MPI. Only the fedc binary links this folder: libfedc holds no MPI. */
#ifndef FEDC_MPI_LAUNCH_H
#define FEDC_MPI_LAUNCH_H

#include "fedc/cluster.h"

/* The world size the launcher announces (Open MPI's OMPI_COMM_WORLD_SIZE,
 * else PMIx's PMIX_SIZE / PMI's PMI_SIZE), 1 with a launcher that names
 * no size, 0 when no MPI launcher started this process. Read before MPI is
 * initialised, so a plain `fedc sim` never touches MPI. */
int fedc_mpi_launched_size(void);

/* 1 if this fedc was built with MPI (fedc_mpi_start can work). */
int fedc_mpi_available(void);

/* Initialises MPI (funneled: only the calling thread talks MPI) and
 * returns this process's rank of the world as a cluster; NULL and err on
 * failure or without MPI in the build. */
fedc_cluster *fedc_mpi_start(fedc_error *err);
/* Finalises MPI and frees c. */
void fedc_mpi_stop(fedc_cluster *c);

#endif
