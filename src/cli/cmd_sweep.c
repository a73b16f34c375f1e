/* cmd_sweep.c: `lesion sweep` (being written). */
#include "cli/commands.h"
#include "cli/common.h"
int cmd_sweep(int argc, char **argv) { (void)argc; (void)argv; return cli_error("sweep", 1, "not implemented yet"); }
