/// `NAME=value` lists where a later variable replaces an earlier one of the same name.
enum Environment {
    static func overriding(_ base: [String], with overrides: [String]) -> [String] {
        var result = base
        for variable in overrides {
            let name = variable.split(separator: "=", maxSplits: 1).first.map(String.init) ?? variable
            result.removeAll { $0 == name || $0.hasPrefix(name + "=") }
            result.append(variable)
        }
        return result
    }
}
