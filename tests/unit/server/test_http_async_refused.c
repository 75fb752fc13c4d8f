/* A run with an asynchronous strategy (fedbuff, fedfix, async-fedavg) is
 * refused at POST /api/runs with an issue naming strategy.name: fedc runs
 * them in simulation only, and a server's rounds are synchronous. The same
 * task with fedavg is accepted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "server/server_internal.h"
#include "unit/server/server_http_util.h"

static void test_async_strategies_refused(void **state) {
    (void)state;
    test_server ts;
    assert_int_equal(test_server_start(&ts), 0);
    static const char *const refused[] = {
        "{\"name\":\"a\",\"strategy\":{\"name\":\"fedbuff\"}}",
        "{\"name\":\"b\",\"strategy\":{\"name\":\"async-fedavg\"}}",
        "{\"name\":\"c\",\"strategy\":{\"name\":\"fedfix\",\"window_s\":2}}",
    };
    for (int i = 0; i < 3; i++) {
        http_answer a = http_call(&ts, "POST", "/api/runs", refused[i], 1);
        if (a.status != 400) fail_msg("%s: HTTP %ld %s", refused[i], a.status, http_error_text(&a));
        json_t *issue = json_array_get(json_object_get(a.json, "issues"), 0);
        assert_string_equal(json_string_value(json_object_get(issue, "path")), "strategy.name");
        assert_non_null(strstr(json_string_value(json_object_get(issue, "message")), "simulation only"));
        http_answer_free(&a);
    }
    http_answer ok = http_call(&ts, "POST", "/api/runs", "{\"name\":\"d\",\"strategy\":{\"name\":\"fedavg\"}}", 1);
    if (ok.status != 201) fail_msg("fedavg: HTTP %ld %s", ok.status, ok.body);
    http_answer_free(&ok);
    test_server_stop(&ts);
}

int main(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_async_strategies_refused),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
