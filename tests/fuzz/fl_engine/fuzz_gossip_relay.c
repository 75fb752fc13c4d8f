/* Fuzz target: arbitrary bytes as a gossip relay frame (gossip_relay.c), to
 * both readers of outside input: a node answering a relay STEP (the server's
 * frame), and the server reading a node's STEP_REPLY. Besides not crashing
 * or leaking, a refusal must say why. Models of 2 floats keep the inputs
 * small. */
#include <stdint.h>
#include <stdlib.h>

#include "fl/engine/gossip_relay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fedc_error e;
    fedc_msg m;
    e.msg[0] = 0;
    if (fedc_msg_decode(data, size, &m, &e) == 0) {
        fedc_buf reply = {0};
        e.msg[0] = 0;
        if (fedc_relay_answer(2, &m, &reply, &e) != 0 && !e.msg[0]) abort();
        fedc_buf_free(&reply);
        fedc_msg_free(&m);
    }
    float out[2];
    e.msg[0] = 0;
    if (fedc_relay_reply_decode(data, size, 1, 1, 2, out, &e) != 0 && !e.msg[0]) abort();
    return 0;
}
