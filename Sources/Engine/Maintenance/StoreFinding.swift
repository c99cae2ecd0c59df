/// One thing `StoreCheck` found out of place under berthd's roots, and what became of it.
public struct StoreFinding: Sendable, Equatable, CustomStringConvertible {
    public enum Outcome: Sendable, Equatable {
        /// Put right: what was done.
        case repaired(String)
        /// Beyond a safe repair: what the user can do.
        case left(String)
    }

    /// What is wrong, naming the object (a path under the root, a container, an image).
    public let problem: String
    public let outcome: Outcome

    public init(_ problem: String, _ outcome: Outcome) {
        self.problem = problem
        self.outcome = outcome
    }

    public var isRepaired: Bool {
        if case .repaired = outcome { true } else { false }
    }

    public var description: String {
        switch outcome {
        case .repaired(let action): "\(problem): \(action)"
        case .left(let advice): "\(problem): not repaired; \(advice)"
        }
    }
}
