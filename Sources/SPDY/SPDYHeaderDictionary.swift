/// The dictionary both sides' zlib streams start from (SPDY draft 3, "Compression"): the words
/// headers most often hold, each with a 32-bit length, then common values run together. A peer's
/// inflater asks for it by its Adler-32, 0xE3C6A7C2.
enum SPDYHeaderDictionary {
    static let bytes: [UInt8] = {
        var bytes: [UInt8] = []
        for word in lengthPrefixedWords {
            let length = UInt32(word.utf8.count)
            bytes += [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
            bytes += word.utf8
        }
        for text in runTogether { bytes += text.utf8 }
        return bytes
    }()

    private static let lengthPrefixedWords = [
        "options", "head", "post", "put", "delete", "trace",
        "accept", "accept-charset", "accept-encoding", "accept-language", "accept-ranges", "age",
        "allow", "authorization", "cache-control", "connection", "content-base", "content-encoding",
        "content-language", "content-length", "content-location", "content-md5", "content-range", "content-type",
        "date", "etag", "expect", "expires", "from", "host",
        "if-match", "if-modified-since", "if-none-match", "if-range", "if-unmodified-since", "last-modified",
        "location", "max-forwards", "pragma", "proxy-authenticate", "proxy-authorization", "range",
        "referer", "retry-after", "server", "te", "trailer", "transfer-encoding",
        "upgrade", "user-agent", "vary", "via", "warning", "www-authenticate",
        "method", "get", "status", "200 OK", "version", "HTTP/1.1",
        "url", "public", "set-cookie", "keep-alive", "origin",
    ]

    private static let runTogether = [
        "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505",
        "203 Non-Authoritative Information",
        "204 No Content",
        "301 Moved Permanently",
        "400 Bad Request",
        "401 Unauthorized",
        "403 Forbidden",
        "404 Not Found",
        "500 Internal Server Error",
        "501 Not Implemented",
        "503 Service Unavailable",
        "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT",
        "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,text/javascript,",
        "publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.",
    ]
}
