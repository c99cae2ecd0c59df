/// The version every Berth binary reports.
public enum BerthVersion {
    public static let version = "0.1.0"
}
