#ifndef SWIFTVIRT_CZSTD_SHIM_H
#define SWIFTVIRT_CZSTD_SHIM_H

#include <zstd.h>

#endif
