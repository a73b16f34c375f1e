/* mpi_sweep.h: lesion-mpi's parts: rank 0 (coordinator.c), the other
 * ranks (worker.c), and waiting without spinning (wait.c). Only src/mpi/
 * includes mpi.h; the library never does. */
#ifndef LESION_MPI_SWEEP_H
#define LESION_MPI_SWEEP_H
#include <lesion.h>

#include "cli/sweep_options.h"
#include "mpi/protocol.h"

#include <signal.h>

/* Rank 0: hands out sw's pending rows to the workers (and to a compute
 * thread of its own), appends every finished row, then writes the outputs.
 * Returns the exit status (0, 1 on an error, 130 when cancel was set). */
int mpi_coordinator(ls_sweep *sw, int n_workers, const cli_sweep_flags *pr, volatile sig_atomic_t *cancel);

/* A worker rank: computes the rows rank 0 sends until told to stop. */
int mpi_worker(const ls_sweep_options *o);

/* Waits for a non-blocking MPI operation (an MPI_Request *) by testing it
 * every millisecond: Open MPI's blocking calls poll without sleeping, which
 * on a shared or oversubscribed node takes the CPU the computing ranks need. */
void mpi_wait(void *request, void *status);

#endif
