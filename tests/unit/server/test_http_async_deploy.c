/* A run with an asynchronous strategy (fedbuff, fedfix, async-fedavg) is
 * accepted at POST /api/runs: the server trains it with nodes that train
 * continuously. It is refused, with an issue naming strategy.name, beside
 * secure aggregation (the validator's rule) or federated evaluation (an
 * exchange that cannot run beside the open one). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server/server_internal.h"
#include "unit/server/server_http_util.h"

static void test_async_strategies_deployed(void **state) {
    (void)state;
    test_server ts;
    assert_int_equal(test_server_start(&ts), 0);
    static const char *const accepted[] = {
        "{\"name\":\"a\",\"strategy\":{\"name\":\"fedbuff\",\"buffer_size\":2}}",
        "{\"name\":\"b\",\"strategy\":{\"name\":\"async-fedavg\"}}",
        "{\"name\":\"c\",\"strategy\":{\"name\":\"fedfix\",\"window_s\":2}}",
    };
    for (int i = 0; i < 3; i++) {
        http_answer a = http_call(&ts, "POST", "/api/runs", accepted[i], 1);
        if (a.status != 201) fail_msg("%s: HTTP %ld %s", accepted[i], a.status, http_error_text(&a));
        http_answer_free(&a);
    }
    static const struct {
        const char *task, *says;
    } refused[] = {
        {"{\"name\":\"d\",\"strategy\":{\"name\":\"fedbuff\"},\"secagg\":{\"mode\":\"secagg+\"}}",
         "secagg.mode secagg+"},
        {"{\"name\":\"e\",\"strategy\":{\"name\":\"fedfix\",\"window_s\":2},\"eval\":{\"federated\":true}}",
         "federated evaluation"},
    };
    for (int i = 0; i < 2; i++) {
        http_answer a = http_call(&ts, "POST", "/api/runs", refused[i].task, 1);
        if (a.status != 400) fail_msg("%s: HTTP %ld %s", refused[i].task, a.status, http_error_text(&a));
        json_t *issue = json_array_get(json_object_get(a.json, "issues"), 0);
        assert_string_equal(json_string_value(json_object_get(issue, "path")), "strategy.name");
        const char *msg = json_string_value(json_object_get(issue, "message"));
        if (!msg || !strstr(msg, refused[i].says)) fail_msg("%s: issue %s", refused[i].task, msg ? msg : "(none)");
        http_answer_free(&a);
    }
    test_server_stop(&ts);
}

int main(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_async_strategies_deployed),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
