#ifndef FEDC_VERSION_H
#define FEDC_VERSION_H
#define FEDC_VERSION "0.1.0"
#endif
