import Foundation
import SystemSupport

/// A failed system call, with what was being done.
public enum SystemError: Error, CustomStringConvertible, Equatable {
    case call(String, Int32)

    public var description: String {
        switch self {
        case .call(let what, let code):
            return "\(what): \(Self.text(code))"
        }
    }

    /// errno's words as Go, and so Docker, prints them: "no space left on device".
    public static func text(_ code: Int32) -> String {
        let words = String(cString: strerror(code))
        return words.prefix(1).lowercased() + words.dropFirst()
    }

    /// A Foundation file operation's error as the system call failure beneath it, named by its
    /// path ("/x: no space left on device", not "The operation could not be completed"); nil for
    /// any other error.
    public init?(foundation error: any Error) {
        let wrapped = error as NSError
        guard wrapped.domain == NSCocoaErrorDomain else { return nil }
        let code: Int32
        if let underlying = wrapped.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            code = Int32(underlying.code)
        } else if let known = Self.cocoaFileErrors[wrapped.code] {
            // Some of Foundation's copies keep only their own code (no space: 640).
            code = known
        } else {
            return nil
        }
        let path = wrapped.userInfo[NSFilePathErrorKey] as? String ?? (wrapped.userInfo[NSURLErrorKey] as? URL)?.path
        self = .call(path ?? "file operation", code)
    }

    /// Foundation's file error codes (CocoaError.Code) that stand for one errno.
    private static let cocoaFileErrors: [Int: Int32] = [
        4: ENOENT, 260: ENOENT, 257: EACCES, 513: EACCES, 516: EEXIST, 640: ENOSPC, 642: EROFS,
    ]

    /// The same failure, as a failure of `what`.
    public func doing(_ what: String) -> SystemError {
        switch self {
        case .call(_, let code): .call(what, code)
        }
    }
}
