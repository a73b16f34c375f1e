/* wait.c: waiting for a message without spinning.
 *
 * A rank that waits in MPI_Recv or MPI_Bcast polls its network queues in a
 * loop; with more ranks than cores (mpirun --oversubscribe, or rank 0's
 * compute thread beside its coordinator) that loop takes CPU time from the
 * ranks doing the work. Rows take tenths of a second or more, so testing
 * every millisecond costs nothing measurable in latency. */
#include "mpi/mpi_sweep.h"

#include <mpi.h>
#include <time.h>

void mpi_wait(void *request, void *status) {
    int done = 0;
    const struct timespec tick = {0, 1000000};
    for (;;) {
        MPI_Test((MPI_Request *)request, &done, (MPI_Status *)status);
        if (done) return;
        nanosleep(&tick, NULL);
    }
}
