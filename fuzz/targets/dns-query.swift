// The name server's query parser (Sources/Networking/DNSMessage.swift) on any datagram a
// container can send: it must refuse or parse, and an answer to what it parsed must echo the question.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = [UInt8](UnsafeRawBufferPointer(start: start, count: count))
    guard let query = DNSQuery(bytes) else { return 0 }
    let answer = query.answer([IPv4Address(0x0a00_0001)])
    precondition(answer.count >= 12 && answer[0] == bytes[0] && answer[1] == bytes[1], "the answer lost the query's id")
    return 0
}
