#include <zlib.h>

// zlib's init calls are macros that pass the library's version and stream size: Swift sees neither.
static inline int berth_deflate_init(z_stream *stream, int level) { return deflateInit(stream, level); }
static inline int berth_inflate_init(z_stream *stream) { return inflateInit(stream); }
