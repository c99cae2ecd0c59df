// The agent protocol's frame reader and tokens (Sources/VMRuntime/AgentFrame.swift, compiled into
// berthd and into the guest agent) on any byte stream the other side can send. Read whole, the
// frames re-encode to the bytes they came from; read in two pieces (a read may split a frame
// anywhere), nothing breaks.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = [UInt8](UnsafeRawBufferPointer(start: start, count: count))
    var whole = AgentFrameReader()
    whole.append(bytes)
    var offset = 0
    while let frame = whole.next() {
        let encoded = frame.encoded()
        precondition(offset + encoded.count <= bytes.count && Array(bytes[offset..<offset + encoded.count]) == encoded,
                     "a frame re-encodes differently")
        offset += encoded.count
        let tokens = AgentTokens(frame.payload)
        _ = tokens.value("id")
        _ = tokens.values("env")
    }
    var pieces = AgentFrameReader()
    let split = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
    pieces.append(bytes[..<split])
    while pieces.next() != nil {}
    pieces.append(bytes[split...])
    while pieces.next() != nil {}
    return 0
}
