/* Fuzz target: arbitrary bytes as a DADAO relay frame (dadao_relay.c), to
 * both readers of outside input: a node decoding a server's STEP, and the
 * server reading a node's STEP_REPLY. Besides not crashing or leaking, a
 * refusal must say why. Models of 2 floats keep the inputs small. */
#include <stdint.h>
#include <stdlib.h>

#include "fl/engine/dadao_relay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fedc_error e;
    fedc_msg m;
    e.msg[0] = 0;
    if (fedc_msg_decode(data, size, &m, &e) == 0) {
        fedc_dadao_step s;
        e.msg[0] = 0;
        if (fedc_dadao_step_decode(&m, 2, &s, &e) != 0 && !e.msg[0]) abort();
        fedc_dadao_step_free(&s);
        fedc_msg_free(&m);
    }
    float out[4];
    int grads = 0;
    e.msg[0] = 0;
    double cpu;
    if (fedc_dadao_reply_decode(data, size, 1, 1, 4, out, &grads, &cpu, &e) != 0 && !e.msg[0]) abort();
    return 0;
}
