# Tests of the web application (included after enable_testing()).

# The embedding step refuses what it cannot serve correctly; each case must
# fail with its own message (a crash would not match).
function(fedc_web_embed_refusal name expect)
  add_test(NAME web_embed_refuses_${name}
           COMMAND fedc_web_embed ${CMAKE_BINARY_DIR}/generated/refused-${name}.c ${ARGN})
  set_tests_properties(web_embed_refuses_${name} PROPERTIES LABELS "unit;web"
                       PASS_REGULAR_EXPRESSION "${expect}" TIMEOUT 30)
endfunction()
set(app ${CMAKE_SOURCE_DIR}/web/app)
fedc_web_embed_refusal(unknown_type "no content type for '/setup.exe'" /setup.exe=${app}/index.html)
fedc_web_embed_refusal(missing_file "no-such-file.js: cannot open" /gone.js=${app}/no-such-file.js)
fedc_web_embed_refusal(dot_segment "URL path '/../x.js' is not allowed" /../x.js=${app}/index.html)
fedc_web_embed_refusal(relative_path "URL path 'x.js' is not allowed" x.js=${app}/index.html)
fedc_web_embed_refusal(no_equals "expected URLPATH=FILE" ${app}/index.html)
fedc_web_embed_refusal(duplicate "URL path '/a.html' given twice" /a.html=${app}/index.html /a.html=${app}/favicon.svg)

# The browser test: playwright-core (npm, installed by run.sh when needed)
# drives Debian's chromium against a real `fedc server` and `fedc node`s on
# loopback. Writes screenshots to the build folder (docs/screenshots holds
# the committed copies).
add_test(NAME browser_web_app
         COMMAND sh ${CMAKE_SOURCE_DIR}/tests/browser/run.sh $<TARGET_FILE:fedc> ${CMAKE_BINARY_DIR}/browser)
set_tests_properties(browser_web_app PROPERTIES LABELS "browser" TIMEOUT 1200 RUN_SERIAL TRUE
  SKIP_RETURN_CODE ${FEDC_TEST_SKIP_CODE} ENVIRONMENT "FEDC_SOURCE_DIR=${CMAKE_SOURCE_DIR};OPENBLAS_NUM_THREADS=1")
