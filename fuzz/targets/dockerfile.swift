// Dockerfile parsing and Docker's word processing (Sources/ImageBuild) on any text a build context
// can hold: errors are thrown, never crashes, and expansion terminates.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeRawBufferPointer(start: start, count: count), as: UTF8.self)
    if let dockerfile = try? DockerfileParser.parse(text) { _ = dockerfile }
    _ = ShellWords.expand(text, ["A": "a b", "EMPTY": "", "PATH": "/bin"])
    _ = ShellWords.words(text)
    _ = ShellWords.pairs(text, allowsLegacyForm: true)
    _ = ShellWords.expand(text, [:], escape: "`")
    return 0
}
