import Testing

@testable import LibvirtProtocol

@Suite("XDR encoding and decoding (RFC 4506)")
struct XDRTests {
    @Test("integers and hypers are big-endian")
    func integersAreBigEndian() throws {
        var encoder = XDREncoder()
        encoder.encode(UInt32(0x0102_0304))
        encoder.encode(Int32(-2))
        encoder.encode(UInt64(0x0102_0304_0506_0708))
        encoder.encode(Int64(-1))
        #expect(
            encoder.bytes == [
                1, 2, 3, 4, 0xFF, 0xFF, 0xFF, 0xFE, 1, 2, 3, 4, 5, 6, 7, 8,
                0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
            ])
        var decoder = XDRDecoder(bytes: encoder.bytes)
        #expect(try decoder.decodeUInt32() == 0x0102_0304)
        #expect(try decoder.decodeInt32() == -2)
        #expect(try decoder.decodeUInt64() == 0x0102_0304_0506_0708)
        #expect(try decoder.decodeInt64() == -1)
        try decoder.finish()
    }

    @Test("strings are padded to four bytes", arguments: ["", "a", "ab", "abc", "abcd", "abcde", "héllo"])
    func stringPadding(_ text: String) throws {
        var encoder = XDREncoder()
        try encoder.encodeString(text, maxLength: 64)
        let length = text.utf8.count
        #expect(encoder.bytes.count == 4 + (length + 3) / 4 * 4)
        #expect(Array(encoder.bytes.prefix(4)) == [0, 0, 0, UInt8(length)])
        #expect(encoder.bytes.suffix(encoder.bytes.count - 4 - length).allSatisfy { $0 == 0 })
        var decoder = XDRDecoder(bytes: encoder.bytes)
        #expect(try decoder.decodeString(maxLength: 64) == text)
        try decoder.finish()
    }

    @Test("opaque, optional, bool and array round trip")
    func compositeRoundTrip() throws {
        var encoder = XDREncoder()
        try encoder.encodeOpaque([1, 2, 3, 4, 5], maxLength: 8)
        try encoder.encodeFixedOpaque([9, 8, 7], count: 3)
        try encoder.encodeOptionalString(nil)
        try encoder.encodeOptionalString("x")
        encoder.encode(true)
        encoder.encode(false)
        try encoder.encodeArray([Int32(5), -6, 7], maxCount: 3) { encoder, value in encoder.encode(value) }

        var decoder = XDRDecoder(bytes: encoder.bytes)
        #expect(try decoder.decodeOpaque(maxLength: 8) == [1, 2, 3, 4, 5])
        #expect(try decoder.decodeFixedOpaque(count: 3) == [9, 8, 7])
        #expect(try decoder.decodeOptionalString() == nil)
        #expect(try decoder.decodeOptionalString() == "x")
        #expect(try decoder.decodeBool() == true)
        #expect(try decoder.decodeBool() == false)
        let values = try decoder.decodeArray(maxCount: 3) { (decoder: inout XDRDecoder) throws(XDRDecodingError) in
            try decoder.decodeInt32()
        }
        #expect(values == [5, -6, 7])
        try decoder.finish()
    }

    @Test("encoding refuses lengths above the declared maximum")
    func encoderEnforcesLimits() {
        var encoder = XDREncoder()
        #expect(throws: XDREncodingError.lengthExceedsLimit(length: 5, limit: 4)) {
            try encoder.encodeString("abcde", maxLength: 4)
        }
        #expect(throws: XDREncodingError.wrongFixedLength(length: 2, expected: 16)) {
            try encoder.encodeFixedOpaque([1, 2], count: 16)
        }
        #expect(throws: XDREncodingError.lengthExceedsLimit(length: 3, limit: 2)) {
            try encoder.encodeArray([1, 2, 3], maxCount: 2) { encoder, value in encoder.encode(Int32(value)) }
        }
    }

    @Test("truncated input is reported with offset and sizes")
    func truncated() {
        var decoder = XDRDecoder(bytes: [0, 0, 1])
        #expect(throws: XDRDecodingError.truncated(offset: 0, needed: 4, available: 3)) {
            try decoder.decodeUInt32()
        }
        decoder = XDRDecoder(bytes: [0, 0, 0, 1, 2, 3, 4])
        #expect(throws: XDRDecodingError.truncated(offset: 0, needed: 8, available: 7)) {
            try decoder.decodeUInt64()
        }
        // A 5-byte string whose padding is missing.
        decoder = XDRDecoder(bytes: [0, 0, 0, 5, 0x61, 0x62, 0x63, 0x64, 0x65, 0, 0])
        #expect(throws: XDRDecodingError.truncated(offset: 9, needed: 3, available: 2)) {
            try decoder.decodeString(maxLength: 16)
        }
    }

    @Test("a lying string length fails before any allocation")
    func lyingStringLength() {
        var decoder = XDRDecoder(bytes: [0xFF, 0xFF, 0xFF, 0xF0, 0x61])
        #expect(throws: XDRDecodingError.lengthExceedsLimit(offset: 0, length: 0xFFFF_FFF0, limit: 4_194_304)) {
            try decoder.decodeRemoteString()
        }
        decoder = XDRDecoder(bytes: [0, 0, 0x10, 0, 0x61])
        #expect(throws: XDRDecodingError.truncated(offset: 4, needed: 4096, available: 1)) {
            try decoder.decodeRemoteString()
        }
    }

    @Test("a huge array count fails before reserving storage")
    func hugeArrayCount() {
        var decoder = XDRDecoder(bytes: [0, 0, 0x40, 0x00, 0, 0, 0, 1])
        #expect(throws: XDRDecodingError.truncated(offset: 4, needed: 65536, available: 4)) {
            try decoder.decodeArray(maxCount: 16384) { (decoder: inout XDRDecoder) throws(XDRDecodingError) in
                try decoder.decodeInt32()
            }
        }
        decoder = XDRDecoder(bytes: [0x7F, 0xFF, 0xFF, 0xFF])
        #expect(throws: XDRDecodingError.lengthExceedsLimit(offset: 0, length: 0x7FFF_FFFF, limit: 16384)) {
            try decoder.decodeArray(maxCount: 16384) { (decoder: inout XDRDecoder) throws(XDRDecodingError) in
                try decoder.decodeInt32()
            }
        }
        #expect(throws: XDRDecodingError.self) {
            try XDRDecoder.decode(ListAllDomainsReply.self, from: [0, 0, 0x40, 0, 0, 0, 0, 0])
        }
    }

    @Test("bools and optional discriminants must be 0 or 1")
    func badBool() {
        var decoder = XDRDecoder(bytes: [0, 0, 0, 2])
        #expect(throws: XDRDecodingError.invalidBool(offset: 0, value: 2)) { try decoder.decodeBool() }
        decoder = XDRDecoder(bytes: [0xFF, 0xFF, 0xFF, 0xFF])
        #expect(throws: XDRDecodingError.invalidBool(offset: 0, value: 0xFFFF_FFFF)) {
            try decoder.decodeOptionalString()
        }
    }

    @Test("complete decoding rejects trailing bytes")
    func trailingBytes() {
        #expect(throws: XDRDecodingError.trailingBytes(offset: 4, count: 4)) {
            try XDRDecoder.decode(IntMessage.self, from: [0, 0, 0, 1, 0, 0, 0, 0])
        }
    }

    @Test("UUIDs parse with or without dashes and print lowercase")
    func uuid() throws {
        let uuid = try #require(DomainUUID(string: "4DEA22B3-1D52-D8F3-2516-782E98AB3FA0"))
        #expect(uuid.description == "4dea22b3-1d52-d8f3-2516-782e98ab3fa0")
        #expect(DomainUUID(string: "4dea22b31d52d8f32516782e98ab3fa0") == uuid)
        #expect(DomainUUID(string: "4dea22b3") == nil)
        #expect(DomainUUID(string: "4dea22b3-1d52-d8f3-2516-782e98ab3fa0ff") == nil)
        #expect(DomainUUID(string: "zzea22b3-1d52-d8f3-2516-782e98ab3fa0") == nil)
        let random = DomainUUID.random()
        #expect(random.bytes[6] >> 4 == 4)
        #expect(DomainUUID(string: random.description) == random)
    }
}
