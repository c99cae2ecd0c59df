import Foundation

/// A failed system call, with what was being done.
public enum SystemError: Error, CustomStringConvertible, Equatable {
    case call(String, Int32)

    public var description: String {
        switch self {
        case .call(let what, let code):
            return "\(what): \(String(cString: strerror(code)))"
        }
    }
}
