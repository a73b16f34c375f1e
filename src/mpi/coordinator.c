/* coordinator.c: rank 0 of lesion-mpi, the one process that owns --out.
 *
 * It opened the sweep as `lesion sweep` does (lock, identity, resume), so
 * the rows pending are the ones results.jsonl lacks. It hands them out one
 * at a time, in row order, to whichever rank reports first (a work queue:
 * rows differ in cost), and appends every finished row itself, one write +
 * fdatasync each through the library's store: a row is on disk whole or
 * not at all, and never twice, whichever rank is killed when.
 *
 * Rank 0 computes rows too: a thread of its own takes rows from the same
 * queue while the main thread only talks MPI (MPI_THREAD_FUNNELED: the
 * compute thread never calls MPI) and appends. On 2 cores, 2 ranks then
 * compute on both; on a big cluster the coordinator's share of a core (a
 * poll every millisecond, one append per row) is small beside a row.
 *
 * Errors (a rank's row failing, a full disk) and Ctrl-C stop the handing
 * out; rows already being computed are still stored, the summary and
 * report are written (partial), and the exit status says what happened. */
#include "mpi/mpi_sweep.h"

#include <cJSON.h>
#include <mpi.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct coord {
    ls_sweep *sw;
    pthread_mutex_t mu;        /* guards everything below */
    int *queue, n_queue, next; /* the pending rows; next is the next to hand out */
    int stop;                  /* hand out nothing more (an error or cancel) */
    int *local_rows;           /* rows the compute thread finished, not yet appended */
    char **local_lines;
    int n_local;
    int local_running;
    int failed;                /* first error, in err */
    ls_error err;
} coord;

/* The next row to compute, or -1. */
static int take(coord *c) {
    pthread_mutex_lock(&c->mu);
    int row = c->stop || c->next == c->n_queue ? -1 : c->queue[c->next++];
    pthread_mutex_unlock(&c->mu);
    return row;
}

static void fail(coord *c, const ls_error *err) {
    pthread_mutex_lock(&c->mu);
    if (!c->failed) c->err = *err;
    c->failed = 1;
    c->stop = 1;
    pthread_mutex_unlock(&c->mu);
}

/* Rank 0's compute thread: rows from the queue, results to the main thread. */
static void *compute(void *arg) {
    coord *c = arg;
    ls_error err;
    for (int row; (row = take(c)) >= 0;) {
        char *line;
        if (ls_sweep_run_row(c->sw, row, &line, &err) != 0) {
            ls_fail_context(&err, "rank 0");
            fail(c, &err);
            break;
        }
        pthread_mutex_lock(&c->mu);
        c->local_rows[c->n_local] = row; /* room for every queued row: each is taken once */
        c->local_lines[c->n_local++] = line;
        pthread_mutex_unlock(&c->mu);
    }
    pthread_mutex_lock(&c->mu);
    c->local_running = 0;
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

typedef struct tally {
    cli_sweep_progress *prog;
    int done, total;
} tally;

static void store(coord *c, tally *t, int row, const char *line) {
    ls_error err;
    if (ls_sweep_append(c->sw, row, line, &err) != 0) {
        fail(c, &err);
        return;
    }
    cli_sweep_progress_row(t->prog, row, ++t->done, t->total, ls_sweep_row_label(c->sw, row));
}

/* Appends what the compute thread finished. */
static void drain_local(coord *c, tally *t) {
    pthread_mutex_lock(&c->mu);
    int n = c->n_local;
    pthread_mutex_unlock(&c->mu);
    for (int i = 0; i < n; i++) {
        /* entries below n_local are never moved while we read them: the thread only appends */
        store(c, t, c->local_rows[i], c->local_lines[i]);
        free(c->local_lines[i]);
    }
    pthread_mutex_lock(&c->mu);
    memmove(c->local_rows, c->local_rows + n, (size_t)(c->n_local - n) * sizeof *c->local_rows);
    memmove(c->local_lines, c->local_lines + n, (size_t)(c->n_local - n) * sizeof *c->local_lines);
    c->n_local -= n;
    pthread_mutex_unlock(&c->mu);
}

/* Sends worker src its next row, or STOP; returns 1 if it stays busy. */
static int hand_out(coord *c, int src) {
    int row = take(c);
    if (row < 0) {
        MPI_Send(NULL, 0, MPI_INT, src, TAG_STOP, MPI_COMM_WORLD);
        return 0;
    }
    MPI_Send(&row, 1, MPI_INT, src, TAG_ROW, MPI_COMM_WORLD);
    return 1;
}

/* One message from a worker; returns how many workers stopped (0 or 1). */
static int handle(coord *c, tally *t, const MPI_Status *st) {
    int n;
    MPI_Get_count(st, MPI_CHAR, &n);
    char *msg = malloc((size_t)n + 1);
    if (!msg) {
        ls_error err;
        ls_fail(&err, "out of memory");
        fail(c, &err);
        MPI_Recv(NULL, 0, MPI_CHAR, st->MPI_SOURCE, st->MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        return 0;
    }
    MPI_Recv(msg, n, MPI_CHAR, st->MPI_SOURCE, st->MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    msg[n] = '\0';
    int stopped = 0;
    if (st->MPI_TAG == TAG_FAILED) {
        ls_error err;
        ls_fail(&err, "rank %d: %s", st->MPI_SOURCE, msg);
        fail(c, &err);
        stopped = 1;
    } else {
        if (st->MPI_TAG == TAG_RESULT && n >= (int)sizeof(int)) {
            int row;
            memcpy(&row, msg, sizeof row);
            store(c, t, row, msg + sizeof row);
        }
        stopped = !hand_out(c, st->MPI_SOURCE);
    }
    free(msg);
    return stopped;
}

int mpi_coordinator(ls_sweep *sw, int n_workers, const cli_sweep_flags *pr, volatile sig_atomic_t *cancel) {
    coord c = {.sw = sw, .local_running = 1};
    ls_error err;
    pthread_mutex_init(&c.mu, NULL);
    cli_sweep_progress prog;
    tally t = {.prog = &prog};
    ls_sweep_counts(sw, &t.done, &t.total);
    if (ls_sweep_pending(sw, &c.queue, &c.n_queue, &err) != 0) return cli_error("sweep", 1, "%s", err.msg);
    c.local_rows = malloc(((size_t)c.n_queue + 1) * sizeof *c.local_rows);
    c.local_lines = malloc(((size_t)c.n_queue + 1) * sizeof *c.local_lines);
    if (!c.local_rows || !c.local_lines) {
        free(c.queue);
        free(c.local_rows);
        free(c.local_lines);
        return cli_error("sweep", 1, "out of memory");
    }
    if (c.n_queue && !pr->quiet)
        fprintf(stderr, "lesion sweep: %d configurations x %d seeds, %lld eval tokens; %d rows over %d ranks...\n",
                ls_sweep_configs(sw) - 1, ls_sweep_seeds(sw), (long long)ls_sweep_eval_tokens(sw), c.n_queue,
                n_workers + 1);
    cli_sweep_progress_start(&prog, pr->quiet, t.done, t.total);
    pthread_t th;
    int threaded = c.n_queue > 0 && pthread_create(&th, NULL, compute, &c) == 0;
    if (!threaded) c.local_running = 0;
    int busy = c.n_queue > 0 ? n_workers : 0, cancelled = 0;
    const struct timespec tick = {0, 1000000};
    for (;;) {
        drain_local(&c, &t);
        if (cancel && *cancel && !cancelled) {
            cancelled = 1;
            pthread_mutex_lock(&c.mu);
            c.stop = 1;
            pthread_mutex_unlock(&c.mu);
        }
        int flag = 0;
        MPI_Status st;
        if (busy > 0) MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
        if (flag) {
            busy -= handle(&c, &t, &st);
            continue;
        }
        pthread_mutex_lock(&c.mu);
        int local = c.local_running || c.n_local > 0;
        pthread_mutex_unlock(&c.mu);
        if (busy == 0 && !local) break;
        nanosleep(&tick, NULL);
    }
    if (threaded) pthread_join(th, NULL);
    drain_local(&c, &t);
    free(c.queue);
    free(c.local_rows);
    free(c.local_lines);
    pthread_mutex_destroy(&c.mu);

    void *summary = NULL;
    int rc = 0;
    if (ls_sweep_finish(sw, &summary, &err) != 0) rc = cli_error("sweep", 1, "%s", err.msg);
    else if (c.failed) rc = cli_error("sweep", 1, "%s", c.err.msg);
    else if (cancelled) {
        if (!pr->quiet) fputc('\n', stderr);
        rc = cli_error("sweep", 130, "interrupted: %d of %d rows are in %s/results.jsonl (the summary and report say "
                                     "partial); run the same command again to finish", t.done, t.total,
                       ls_sweep_out_dir(sw));
    } else cli_sweep_print_done(sw, summary, pr);
    cJSON_Delete(summary);
    return rc;
}
