/* system.h: the machine-level set-up every lesion command gets (system.c). */
#ifndef LESION_CLI_SYSTEM_H
#define LESION_CLI_SYSTEM_H
#include <lesion.h>

#include "cli/common.h"

/* Run first in main(): may execute the program again with OPENBLAS_CORETYPE
 * set (it does not return then); applies $LESION_ISA. 0, or 2 after
 * printing a usage error. */
int cli_system_setup(char **argv);

/* `lesion --version`: the CPU, the ISA path of the kernels, the BLAS and its kernel. */
void cli_print_version(int json);

#endif
