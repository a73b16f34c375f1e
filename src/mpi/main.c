/* main.c: build/lesion-mpi, `lesion sweep` over the ranks of an MPI job.
 *
 *   mpirun -n N build/lesion-mpi sweep [the flags of lesion sweep]
 *
 * Rank 0 parses the command and opens the sweep exactly as `lesion sweep`
 * does (the same checks, the same lock on --out, the same identity and
 * resume); if anything is wrong it alone prints the one-line error and
 * every rank ends with its exit status. Otherwise the other ranks load the
 * same inputs and compute the rows rank 0 hands out (coordinator.c,
 * worker.c). --threads is per rank. Rerunning the same mpirun command (any
 * N) resumes; so does `lesion sweep` on the same --out, and the other way
 * round: the folder does not know how many processes filled it.
 *
 * As root in a container, Open MPI needs --allow-run-as-root (or
 * OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1), and more ranks
 * than cores need --oversubscribe (README: "Sweeps on a cluster"). */
#include "cli/system.h"
#include "mpi/mpi_sweep.h"

#include <mpi.h>
#include <stdlib.h>
#include <string.h>

/* Set by SIGINT/SIGTERM on rank 0, read between rows (a handler can only reach static storage). */
static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig) {
    (void)sig;
    interrupted = 1;
}

/* Parses `sweep ...` into o: 0, 1 (help printed) or an exit status. */
static int parse(int argc, char **argv, cli_args *a, ls_sweep_options *o, cli_sweep_flags *pr, char **command) {
    *command = NULL;
    if (argc < 2 || strcmp(argv[1], "sweep") != 0) {
        fprintf(stderr, "usage: mpirun -n N lesion-mpi sweep [options of lesion sweep] (lesion-mpi sweep --help)\n");
        return 2;
    }
    int rc = cli_parse(a, "sweep", cli_sweep_summary, cli_sweep_opts, argc - 2, argv + 2);
    if (rc) return rc;
    return cli_sweep_options(a, argc - 2, argv + 2, o, pr, command);
}

/* Rank 0: open the sweep (its errors are the command's), tell the others, coordinate. */
static int rank0(int argc, char **argv, int n_ranks) {
    cli_args a;
    ls_sweep_options o;
    cli_sweep_flags pr;
    char *command;
    ls_sweep *sw = NULL;
    ls_error err;
    int rc = parse(argc, argv, &a, &o, &pr, &command);
    if (rc == 1) rc = -1; /* --help: nothing to run, exit 0 */
    if (rc == 0) {
        int lrc = ls_sweep_open(&sw, &o, &err);
        if (lrc != 0) rc = cli_error("sweep", lrc == LS_SWEEP_USAGE ? 2 : 1, "%s", err.msg);
    }
    free(command);
    mpi_start start = {.status = rc};
    if (rc == 0) {
        int done, total;
        ls_sweep_counts(sw, &done, &total);
        start.n_pending = total - done;
    }
    MPI_Request req;
    MPI_Ibcast(&start, 2, MPI_INT, 0, MPI_COMM_WORLD, &req);
    mpi_wait(&req, MPI_STATUS_IGNORE);
    if (rc != 0) return rc < 0 ? 0 : rc;
    cli_sweep_print_opened(sw, pr.quiet);
    struct sigaction sa = {.sa_handler = on_interrupt, .sa_flags = SA_RESETHAND}; /* a second signal kills */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL); /* what mpirun forwards: the graceful stop under MPI */
    rc = mpi_coordinator(sw, n_ranks - 1, &pr, &interrupted);
    ls_sweep_free(sw);
    return rc;
}

static int worker(int argc, char **argv) {
    mpi_start start;
    MPI_Request req;
    MPI_Ibcast(&start, 2, MPI_INT, 0, MPI_COMM_WORLD, &req);
    mpi_wait(&req, MPI_STATUS_IGNORE);
    if (start.status != 0 || start.n_pending == 0) return 0;
    cli_args a;
    ls_sweep_options o;
    cli_sweep_flags pr;
    char *command;
    int rc = parse(argc, argv, &a, &o, &pr, &command); /* rank 0 parsed the same words: cannot fail now */
    if (rc == 0) rc = mpi_worker(&o);
    free(command);
    return rc;
}

int main(int argc, char **argv) {
    int rc = cli_system_setup(argv); /* may run the program again (OpenBLAS kernel, OpenMP policy): before MPI */
    if (rc) return rc;
    int provided, rank, n_ranks;
    if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        fprintf(stderr, "lesion-mpi: MPI_Init failed\n");
        return 1;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &n_ranks);
    if (provided < MPI_THREAD_FUNNELED) {
        if (rank == 0) fprintf(stderr, "lesion-mpi: this MPI cannot run rank 0's compute thread (no MPI_THREAD_FUNNELED)\n");
        MPI_Finalize();
        return 1;
    }
    /* mpirun answers Ctrl-C by killing every rank (finished rows are whole on
     * disk either way); SIGUSR1, which it forwards to every rank, asks rank 0
     * to stop after the rows in flight and write the partial outputs, so the
     * workers must outlive it. */
    signal(SIGUSR1, SIG_IGN);
    rc = rank == 0 ? rank0(argc, argv, n_ranks) : worker(argc, argv);
    MPI_Finalize();
    return rank == 0 ? rc : 0;
}
