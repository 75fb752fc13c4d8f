/* Strict numeric values of command-line options, shared by every
 * subcommand: the whole text must be a number within the allowed range
 * ("abc", "12x", "" and out-of-range values are refused, never read as 0),
 * and a refusal prints one line naming the command, the option, the text
 * and what is allowed, e.g.
 *   fedc demo: --nodes "abc": not an integer; allowed: 1 to 1000
 * Each returns 0, or -1 after printing (the caller exits with status 2). */
#ifndef FEDC_CLI_NUM_ARGS_H
#define FEDC_CLI_NUM_ARGS_H

#include <stdint.h>

int fedc_cli_int(const char *cmd, const char *opt, const char *text, long lo, long hi, int *out);
int fedc_cli_long(const char *cmd, const char *opt, const char *text, long lo, long hi, long *out);
int fedc_cli_u64(const char *cmd, const char *opt, const char *text, uint64_t hi, uint64_t *out);
/* lo_open: the lower bound itself is not allowed (e.g. "> 0"). */
int fedc_cli_double(const char *cmd, const char *opt, const char *text, double lo, int lo_open, double hi,
                    double *out);

#endif
