/* protocol.h: the messages between rank 0 and the workers of lesion-mpi.
 *
 * A work queue, not a static split: rows differ in cost (a lesion of block
 * 0 recomputes every block, one of the last block almost none), so a
 * worker asks for the next row whenever it finishes one.
 *
 *   worker -> 0   READY   (no payload)              the worker has loaded the model
 *   worker -> 0   RESULT  int row, then the row's JSON line (no NUL)
 *                                                   the row is done; also "ready for the next"
 *   worker -> 0   FAILED  a one-line error message  the worker stops
 *   0 -> worker   ROW     int row                   compute this row
 *   0 -> worker   STOP    (no payload)              no more rows: finish
 *
 * Rank 0 alone touches the output folder; a row reaches results.jsonl only
 * when rank 0 has its whole line, so a rank killed anywhere loses at most
 * the rows it was computing. */
#ifndef LESION_MPI_PROTOCOL_H
#define LESION_MPI_PROTOCOL_H

enum { TAG_READY = 1, TAG_RESULT, TAG_FAILED, TAG_ROW, TAG_STOP };

/* Rank 0's verdict after opening the sweep, broadcast to every rank. */
typedef struct mpi_start {
    int status;     /* 0: go; else the exit status rank 0 returns (workers just finish) */
    int n_pending;  /* rows to run; 0: workers need not load the model */
} mpi_start;

#endif
