extension BybitControlFrame {
    /// True for `{"op":"auth","success":true,…}`: the private connection is authenticated.
    public var isSuccessfulAuth: Bool { kind == .auth && success == true }

    /// True for `{"op":"auth","success":false,…}` (e.g. `"Params Error"` for an expired `expires`).
    public var isFailedAuth: Bool { kind == .auth && success == false }
}
