/* Subcommands of the fedc binary: each lives in its own cmd_<name>.c and
 * takes the arguments after the subcommand name (argv[0] is the name). */
#ifndef FEDC_CLI_COMMANDS_H
#define FEDC_CLI_COMMANDS_H

typedef int (*fedc_cmd_fn)(int argc, char **argv);

typedef struct fedc_command {
    const char *name;
    const char *summary;
    fedc_cmd_fn run;
} fedc_command;

/* The table, terminated by a {NULL} entry; defined in main.c. */
extern const fedc_command fedc_commands[];

#endif
