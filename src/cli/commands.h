/* commands.h: one entry point per CLI command (src/cli/cmd_*.c). Each takes
 * the arguments after the command name and returns the exit status. */
#ifndef LESION_CLI_COMMANDS_H
#define LESION_CLI_COMMANDS_H

int cmd_sweep(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_attention(int argc, char **argv);
int cmd_activations(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_logits(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_detokenize(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_merge(int argc, char **argv);

#endif
