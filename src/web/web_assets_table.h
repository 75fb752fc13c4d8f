/* The asset table that web/embed/web_embed.c generates at build time,
 * sorted by path (strcmp order). */
#ifndef FEDC_WEB_ASSETS_TABLE_H
#define FEDC_WEB_ASSETS_TABLE_H

#include "fedc/web_assets.h"

extern const fedc_web_asset fedc_web_assets_table[];
extern const size_t fedc_web_assets_table_len;
extern const char fedc_web_csp_header[];

#endif
