import Recording
import Testing

/// The inflate loop shared by the frames reader and the importers' CSV reader, on its own.
@Suite struct GzipInflaterTests {
    /// Everything `bytes` inflates to, fed `feed` bytes at a time into `room`-byte outputs.
    static func inflateAll(_ bytes: [UInt8], feed: Int, room: Int)
        throws -> (text: [UInt8], members: Int, damage: String?, endsInsideMember: Bool) {
        let inflater = GzipInflater()
        var text: [UInt8] = []
        var members = 0
        var offset = 0
        var available = 0
        var out = [UInt8](repeating: 0, count: room)
        while true {
            if offset == available {
                guard available < bytes.count else { break }
                available = min(bytes.count, available + feed)
            }
            let step = try bytes.withUnsafeBytes { input in
                try out.withUnsafeMutableBytes { output in
                    try inflater.inflate(input.baseAddress! + offset, count: available - offset,
                                         into: output.baseAddress!, capacity: output.count)
                }
            }
            offset += step.consumed
            text += out[0..<step.produced]
            if step.memberEnded { members += 1 }
            if let damage = step.damage { return (text, members, damage, inflater.memberInProgress) }
            if step.consumed == 0 && step.produced == 0 && !step.memberEnded {
                guard available < bytes.count else { break }
                available = min(bytes.count, available + feed)
            }
        }
        return (text, members, nil, inflater.memberInProgress)
    }

    @Test func membersInflateOneAfterAnotherWhateverTheChunkSizes() throws {
        let parts = (0..<3).map { i in Array((0..<1_500).map { "line \(i).\($0)\n" }.joined().utf8) }
        let file = try parts.flatMap { try Gzip.compress($0) }
        for (feed, room) in [(1, 7), (13, 4_096), (64 * 1024, 1), (file.count, 1 << 20)] {
            let result = try Self.inflateAll(file, feed: feed, room: room)
            #expect(result.text == parts.flatMap { $0 } && result.members == 3, "feed \(feed) room \(room)")
            #expect(result.damage == nil && !result.endsInsideMember)
        }
    }

    @Test func aCutFileEndsInsideAMemberAndDamageIsReportedWithWhatCameBefore() throws {
        let text = Array((0..<5_000).map { "row \($0)\n" }.joined().utf8)
        let member = try Gzip.compress(text)
        let cut = try Self.inflateAll(Array(member + member.prefix(member.count / 2)), feed: 4_096, room: 4_096)
        #expect(cut.members == 1 && cut.endsInsideMember && cut.damage == nil)
        #expect(cut.text.starts(with: text) && cut.text.count < 2 * text.count)
        // A wrong CRC-32 is seen at the end of the member: its bytes were produced before that.
        var badCRC = member
        badCRC[badCRC.count - 5] ^= 0xFF
        let damaged = try Self.inflateAll(badCRC, feed: member.count, room: 1 << 20)
        #expect(damaged.damage != nil && damaged.members == 0 && damaged.text == text)
        let notGzip = try Self.inflateAll(Array("exchange,symbol\n".utf8), feed: 16, room: 64)
        #expect(notGzip.damage != nil && notGzip.text.isEmpty)
    }
}
