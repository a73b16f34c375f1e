/* worker.c: a rank other than 0 of lesion-mpi: loads the sweep's inputs
 * (never its output folder), then computes the rows rank 0 hands out until
 * told to stop. Each rank runs its own clean pass on its first row, with
 * its own --threads. */
#include "mpi/mpi_sweep.h"

#include <mpi.h>
#include <stdlib.h>
#include <string.h>

static void send_failed(const ls_error *err) {
    MPI_Send(err->msg, (int)strlen(err->msg), MPI_CHAR, 0, TAG_FAILED, MPI_COMM_WORLD);
}

int mpi_worker(const ls_sweep_options *o) {
    ls_sweep *sw;
    ls_error err;
    if (ls_sweep_new(&sw, o, &err) != 0) {
        send_failed(&err);
        return 1;
    }
    MPI_Send(NULL, 0, MPI_CHAR, 0, TAG_READY, MPI_COMM_WORLD);
    int rc = 0;
    for (;;) {
        MPI_Status st;
        int row;
        MPI_Request req;
        MPI_Irecv(&row, 1, MPI_INT, 0, MPI_ANY_TAG, MPI_COMM_WORLD, &req);
        mpi_wait(&req, &st);
        if (st.MPI_TAG != TAG_ROW) break;
        char *line;
        if (ls_sweep_run_row(sw, row, &line, &err) != 0) {
            send_failed(&err);
            rc = 1;
            break;
        }
        size_t len = strlen(line);
        char *msg = malloc(sizeof row + len);
        if (!msg) {
            free(line);
            ls_fail(&err, "out of memory");
            send_failed(&err);
            rc = 1;
            break;
        }
        memcpy(msg, &row, sizeof row);
        memcpy(msg + sizeof row, line, len);
        MPI_Isend(msg, (int)(sizeof row + len), MPI_CHAR, 0, TAG_RESULT, MPI_COMM_WORLD, &req);
        mpi_wait(&req, MPI_STATUS_IGNORE);
        free(msg);
        free(line);
    }
    ls_sweep_free(sw);
    return rc;
}
