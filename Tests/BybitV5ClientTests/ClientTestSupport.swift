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
