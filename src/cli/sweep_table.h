/* sweep_table.h: the table `lesion sweep` and `lesion report` print. */
#ifndef LESION_CLI_SWEEP_TABLE_H
#define LESION_CLI_SWEEP_TABLE_H

/* Prints a summary (cJSON, as in summary.json) to stdout: every
 * configuration of an ordered plan, or for an unordered one the clean model
 * and the top_n configurations by KL; then the notes (partial, rough or no
 * intervals) and the transition. */
void cli_print_sweep_table(const void *summary, int top_n);

/* The command line as one shell-quoted string (malloc'd): "lesion sweep --out 'my dir'". */
char *cli_command_line(const char *cmd, int argc, char **argv);

#endif
