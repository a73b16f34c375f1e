/* cmd_export.c: `lesion export` (being written). */
#include "cli/commands.h"
#include "cli/common.h"
int cmd_export(int argc, char **argv) { (void)argc; (void)argv; return cli_error("export", 1, "not implemented yet"); }
