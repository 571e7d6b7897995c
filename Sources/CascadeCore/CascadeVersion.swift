/// The code version reports carry (`cascade --version`); raised with each release in CHANGELOG.md.
public enum CascadeVersion {
    public static let current = "0.1.0-dev"
}
