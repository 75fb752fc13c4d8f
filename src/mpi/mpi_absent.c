/* A fedc built without MPI (-DFEDC_MPI=OFF): an MPI launch is refused with
 * the reason, rather than every rank running the whole simulation alone. */
#include "mpi/launch.h"

int fedc_mpi_available(void) { return 0; }

fedc_cluster *fedc_mpi_start(fedc_error *err) {
    fedc_fail(err, "this fedc was built without MPI (configured with -DFEDC_MPI=OFF or without libopenmpi-dev): "
                   "rebuild with MPI to run `mpirun fedc sim`");
    return NULL;
}

void fedc_mpi_stop(fedc_cluster *c) { (void)c; }
