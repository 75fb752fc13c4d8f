/* A write-only OpenSSL BIO over a fedc_buf. OpenSSL writes each TLS record
 * (at most 16 KiB of payload) to its BIO separately; over a socket BIO that
 * is one system call, one TCP segment and one wakeup of the peer per
 * record. Collected here, a connection's records leave with one write()
 * per up to a few hundred KiB. The owner drains the buffer itself. */
#include <openssl/bio.h>
#include <pthread.h>
#include <string.h>

#include "transport/ws_internal.h"

static int outbuf_write(BIO *b, const char *data, int len) {
    fedc_buf *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (len <= 0) return 0;
    if (fedc_buf_append(t, data, (size_t)len) != 0) return -1;
    return len;
}

static long outbuf_ctrl(BIO *b, int cmd, long num, void *ptr) {
    (void)num;
    (void)ptr;
    fedc_buf *t = BIO_get_data(b);
    switch (cmd) {
    case BIO_CTRL_FLUSH: return 1; /* the owner writes the buffer out */
    case BIO_CTRL_WPENDING: return (long)t->len;
    case BIO_CTRL_PENDING: return 0;
    default: return 0;
    }
}

static int outbuf_create(BIO *b) {
    BIO_set_init(b, 1);
    return 1;
}

static BIO_METHOD *k_method;

static void method_init(void) {
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "fedc outbuf");
    if (!m) return;
    BIO_meth_set_write(m, outbuf_write);
    BIO_meth_set_ctrl(m, outbuf_ctrl);
    BIO_meth_set_create(m, outbuf_create);
    k_method = m;
}

BIO *fedc_ws_outbuf_bio(fedc_buf *target) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, method_init);
    if (!k_method) return NULL;
    BIO *b = BIO_new(k_method);
    if (b) BIO_set_data(b, target);
    return b;
}
