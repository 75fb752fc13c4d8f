/* Private helpers of the transport layer. */
#ifndef FEDC_TRANSPORT_WS_INTERNAL_H
#define FEDC_TRANSPORT_WS_INTERNAL_H

#include "fedc/buf.h"
#include "fedc/proto.h"
#include "fedc/ws.h"

/* Encodes an ERROR or BYE frame {"reason": reason[, "fatal": true]} into out. */
int fedc_ws_error_frame(fedc_msg_type type, const char *reason, int fatal, fedc_buf *out);
/* Sets a JSON error body {"error": "..."} on a response (status unchanged). */
void fedc_ws_json_error(fedc_http_response *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
