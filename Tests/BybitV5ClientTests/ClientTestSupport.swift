import BybitSimulator
import BybitV5Client
import CascadeCore
import CascadeTesting
import Crypto
import Foundation
import Hummingbird
import Logging
import NIOSSL
import Recording
import Simulation
import Synchronization
import SwiftASN1
import X509

/// Collects a public client's events; `wait` re-checks on every new event (no sleeps in assertions).
typealias EventLog = ObservedLog<PublicStreamEvent>

extension ObservedLog where Event == PublicStreamEvent {
    /// Runs `client` and records its events; call the returned closure to stop both.
    static func running(_ client: PublicStreamClient) -> (EventLog, @Sendable () -> Void) {
        let log = EventLog()
        let consumer = Task { for await e in client.events { log.append(e) } }
        let running = Task { await client.run() }
        return (log, { running.cancel(); consumer.cancel() })
    }

    func wait(timeout: Duration, _ condition: ([PublicStreamEvent]) -> Bool) async -> Bool { await wait(timeout, condition) }
}

extension PublicStreamEvent {
    var frameText: String? {
        if case let .frame(bytes, _) = self { return String(decoding: bytes, as: UTF8.self) }
        return nil
    }
    var isConnected: Bool { if case .connected = self { true } else { false } }
    var disconnectReason: PublicStreamDisconnect? { if case let .disconnected(r, _, _) = self { r } else { nil } }
}

/// A self-signed certificate for `localhost`/127.0.0.1, made by the test (no files, no network).
enum TestCertificate {
    static func make() throws -> (server: TLSConfiguration, client: TLSConfiguration) {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName("localhost") }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + 3600, issuer: name, subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                SubjectAlternativeNames([.dnsName("localhost")])
            },
            issuerPrivateKey: .init(key))
        let pem = try certificate.serializeAsPEM().pemString
        let nioCertificate = try NIOSSLCertificate(bytes: Array(pem.utf8), format: .pem)
        let nioKey = try NIOSSLPrivateKey(bytes: Array(key.pemRepresentation.utf8), format: .pem)
        let server = TLSConfiguration.makeServerConfiguration(certificateChain: [.certificate(nioCertificate)],
                                                              privateKey: .privateKey(nioKey))
        var client = TLSConfiguration.makeClientConfiguration()
        client.trustRoots = .certificates([nioCertificate])
        return (server, client)
    }
}
