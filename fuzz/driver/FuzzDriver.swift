import Glibc

/// libFuzzer's driver for a fuzzer built as a SwiftPM executable: SwiftPM names the executable's
/// entry point itself, so the fuzzer's `main` hands libFuzzer its arguments and one function to
/// call per input, instead of defining `LLVMFuzzerTestOneInput` and taking libFuzzer's `main`.
public enum FuzzDriver {
    /// Runs libFuzzer with this process's arguments, calling `body` once per input; exits with
    /// libFuzzer's status.
    public static func run(_ body: @escaping (UnsafeRawBufferPointer) -> Void) -> Never {
        currentBody = body
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, count in
            currentBody?(UnsafeRawBufferPointer(start: data, count: count))
            return 0
        })
    }
}

/// libFuzzer's callback is a C function, which cannot capture; it reads the body from here.
nonisolated(unsafe) private var currentBody: ((UnsafeRawBufferPointer) -> Void)?

@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt
