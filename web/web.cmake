# The embedded web application: every file under web/app plus Chart.js from
# Debian's libjs-chart.js become one generated C source (web/embed/web_embed.c
# writes it) compiled into fedc_web, whose fedc_web_asset_find() the server's
# HTTP layer serves from. Nothing is read from disk or fetched at run time.
set(FEDC_CHARTJS "/usr/share/javascript/chart.js/chart.min.js" CACHE FILEPATH
    "Chart.js UMD build embedded as /vendor/chart.js (Debian package libjs-chart.js)")
if(NOT EXISTS "${FEDC_CHARTJS}")
  message(FATAL_ERROR "Chart.js not found at ${FEDC_CHARTJS}: install the Debian package "
                      "libjs-chart.js (scripts/setup-deps.sh does) or pass -DFEDC_CHARTJS=/path/to/chart.min.js")
endif()

add_executable(fedc_web_embed ${CMAKE_SOURCE_DIR}/web/embed/web_embed.c)
# Precompression (zlib's gzip, brotli from Debian's libbrotli-dev) and content
# hashes (OpenSSL's SHA-256) at build time.
pkg_check_modules(BROTLIENC REQUIRED IMPORTED_TARGET libbrotlienc)
target_link_libraries(fedc_web_embed PRIVATE ZLIB::ZLIB PkgConfig::BROTLIENC PkgConfig::OPENSSL)

file(GLOB_RECURSE FEDC_WEB_FILES CONFIGURE_DEPENDS RELATIVE ${CMAKE_SOURCE_DIR}/web/app
     ${CMAKE_SOURCE_DIR}/web/app/*)
set(FEDC_WEB_EMBED_ARGS "")
set(FEDC_WEB_EMBED_DEPS "")
foreach(f ${FEDC_WEB_FILES})
  get_filename_component(base ${f} NAME)
  # Editor leftovers (.x.swp, x~) are not part of the app.
  if(base MATCHES "^\\." OR base MATCHES "~$")
    continue()
  endif()
  list(APPEND FEDC_WEB_EMBED_ARGS "/${f}=${CMAKE_SOURCE_DIR}/web/app/${f}")
  list(APPEND FEDC_WEB_EMBED_DEPS ${CMAKE_SOURCE_DIR}/web/app/${f})
endforeach()
list(APPEND FEDC_WEB_EMBED_ARGS "/vendor/chart.js=${FEDC_CHARTJS}")

set(FEDC_WEB_GENERATED ${CMAKE_BINARY_DIR}/generated/web_assets_data.c)
add_custom_command(
  OUTPUT ${FEDC_WEB_GENERATED}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/generated
  COMMAND fedc_web_embed ${FEDC_WEB_GENERATED} ${FEDC_WEB_EMBED_ARGS}
  DEPENDS fedc_web_embed ${FEDC_WEB_EMBED_DEPS} ${FEDC_CHARTJS}
  COMMENT "Embedding the web application (web/app + Chart.js)"
  VERBATIM)

fedc_layer(fedc_web src/web fedc_core)
target_sources(fedc_web PRIVATE ${FEDC_WEB_GENERATED})
