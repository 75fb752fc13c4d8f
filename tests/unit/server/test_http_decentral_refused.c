/* Every decentralised strategy is accepted at POST /api/runs: the server
 * relays the mixing ones' gossip steps (dpsgd, dfedsam, dfedsam-mgs),
 * pairwise gossip's waves of pushes (gossip, gossip-vc) and DADAO's
 * communications between the nodes. DADAO without strategy.smoothness is
 * refused with an issue naming that field: the server cannot bound L from
 * data it does not see. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server/server_internal.h"
#include "unit/server/server_http_util.h"

static void test_decentral_strategies_refused(void **state) {
    (void)state;
    test_server ts;
    assert_int_equal(test_server_start(&ts), 0);
    static const char *const names[] = {"\"dadao\"",   "\"gossip\"",      "\"gossip-vc\"",
                                        "\"dpsgd\"",   "\"dfedsam\"",     "\"dfedsam-mgs\"",
                                        "\"dadao\",\"strong_convexity\":0.1,\"smoothness\":2"};
    for (int i = 0; i < 7; i++) {
        char body[320];
        snprintf(body, sizeof body,
                 "{\"name\":\"d%d\",\"clients\":8,\"clients_per_round\":8,\"strategy\":{\"name\":%s}}", i,
                 names[i]);
        http_answer a = http_call(&ts, "POST", "/api/runs", body, 1);
        if (i >= 1) { /* relayed */
            if (a.status != 201) fail_msg("%s: HTTP %ld %s", body, a.status, http_error_text(&a));
            http_answer_free(&a);
            continue;
        }
        if (a.status != 400) fail_msg("%s: HTTP %ld %s", body, a.status, http_error_text(&a));
        json_t *issue = json_array_get(json_object_get(a.json, "issues"), 0);
        assert_string_equal(json_string_value(json_object_get(issue, "path")), "strategy.smoothness");
        const char *msg = json_string_value(json_object_get(issue, "message"));
        assert_non_null(strstr(msg, "dadao across real nodes needs L"));
        http_answer_free(&a);
    }
    test_server_stop(&ts);
}

int main(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decentral_strategies_refused),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
