/* `fedc node --load-gen N` (node_load_gen.c): N echo-node connections
 * from one process, one credential file each from the folder
 * base->credential_path. Runs until *base->stop is set. */
#ifndef FEDC_CLI_NODE_LOAD_GEN_H
#define FEDC_CLI_NODE_LOAD_GEN_H

#include "fedc/node.h"

int fedc_node_load_gen(const fedc_node_config *base, int n, fedc_error *err);

#endif
