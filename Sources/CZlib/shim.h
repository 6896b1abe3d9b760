#ifndef SWIFTVIRT_CZLIB_SHIM_H
#define SWIFTVIRT_CZLIB_SHIM_H

#include <zlib.h>

// deflateInit2/inflateInit2 are macros (they pass the library version and the
// z_stream size); Swift cannot import function-like macros, so wrap them.

static inline int czlib_deflate_init2(z_stream *stream, int level, int windowBits, int memLevel, int strategy) {
    return deflateInit2(stream, level, Z_DEFLATED, windowBits, memLevel, strategy);
}

static inline int czlib_inflate_init2(z_stream *stream, int windowBits) {
    return inflateInit2(stream, windowBits);
}

#endif
