/* The multi-step round protocols a task can ask for: the one place the
 * engine learns their names. Each entry is implemented in its own layer. */
#include <string.h>

#include "fedc/protocol.h"
#include "fl/secagg/secagg_internal.h"

const fedc_protocol_ops *fedc_protocol_for_task(const fedc_task *t) {
    if (strcmp(t->secagg.mode, "secagg+") == 0) return &sa_protocol_ops;
    return NULL;
}
