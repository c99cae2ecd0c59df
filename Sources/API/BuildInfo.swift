/// Facts about this build that `GET /version` reports.
enum BuildInfo {
    /// SwiftPM cannot stamp a commit into a build; the field stays empty rather than guessed.
    static let gitCommit = ""
    static let buildTime = ""

    /// The Swift compiler the daemon was built with, where Docker names its Go version.
    static var compiler: String {
        #if compiler(>=6.3)
        return "swift6.3"
        #elseif compiler(>=6.2)
        return "swift6.2"
        #elseif compiler(>=6.1)
        return "swift6.1"
        #else
        return "swift6.0"
        #endif
    }
}
