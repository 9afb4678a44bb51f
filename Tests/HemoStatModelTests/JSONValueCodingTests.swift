import Foundation
@testable import HemoStatModel
import Testing

/// The one path between JSON and Swift types: `Codable` through ``JSONValueDecoder`` and
/// ``JSONValueEncoder``, with errors that name the field.
@Suite struct JSONValueCodingTests {
    struct Probe: Codable, Equatable {
        enum Kind: String, ContractEnum { case small, large }
        var count: Int
        var ratio: Double?
        var kind: Kind?
        var at: Date?
        var tags: [String: String]?
        var items: [Item]?
        var raw: JSONValue?
    }

    struct Item: Codable, Equatable {
        var name: String
    }

    func decode(_ text: String) throws(MessageDecodingError) -> Probe {
        try JSONValueDecoder().decode(Probe.self, from: try JSONValue.parse(text), path: "data")
    }

    func reason(_ text: String) -> String? {
        do {
            _ = try decode(text)
            return nil
        } catch {
            return error.reason
        }
    }

    @Test func integersWrittenWithAZeroFractionAreIntegers() throws {
        #expect(try decode(#"{"count":3.0}"#).count == 3)
        #expect(reason(#"{"count":3.5}"#) == "data.count: expected an integer, found 3.5")
        #expect(reason(#"{"count":"3"}"#) == "data.count: expected an integer, found a string")
    }

    @Test func errorsNameTheFieldThroughArraysAndMaps() {
        #expect(reason(#"{}"#) == "data.count: missing")
        #expect(reason(#"{"count":null}"#) == "data.count: expected an integer, found null")
        #expect(reason(#"{"count":1,"items":[{"name":"a"},{"name":2}]}"#) == "data.items[1].name: expected a string, found a number")
        #expect(reason(#"{"count":1,"items":[{}]}"#) == "data.items[0].name: missing")
        #expect(reason(#"{"count":1,"tags":{"team":false}}"#) == "data.tags.team: expected a string, found a boolean")
        #expect(reason(#"{"count":1,"tags":{"7":false}}"#) == "data.tags.7: expected a string, found a boolean")
        #expect(reason(#"{"count":1,"items":{}}"#) == "data.items: expected an array, found an object")
        #expect(reason(#"[1]"#) == "data: expected an object, found an array")
    }

    @Test func contractEnumsAndTimestampsSayWhatTheyAccept() {
        #expect(reason(#"{"count":1,"kind":"huge"}"#) == #"data.kind: unknown value "huge"; expected one of small, large"#)
        #expect(reason(#"{"count":1,"at":"yesterday"}"#)?.hasPrefix(#"data.at: expected an ISO-8601 timestamp"#) == true)
    }

    @Test func nullAndAbsentOptionalsAreNilAndUnknownFieldsAreIgnored() throws {
        let probe = try decode(#"{"count":1,"ratio":null,"extra":{"deep":[1,2]}}"#)
        #expect(probe == Probe(count: 1))
    }

    @Test func writingLeavesOutNilAndReadsBackEqual() throws {
        let at = try #require(Timestamp.parse("2026-12-06T10:00:00.125Z"))
        let probe = Probe(count: 2, ratio: 0.5, kind: .large, at: at, tags: ["a": "b"], items: [Item(name: "x")], raw: ["n": [1, 2.5, nil]])
        let json = JSONValueEncoder().encode(probe)
        #expect(json == [
            "count": 2, "ratio": 0.5, "kind": "large", "at": "2026-12-06T10:00:00.125000Z", "tags": ["a": "b"],
            "items": [["name": "x"]], "raw": ["n": [1, 2.5, nil]],
        ])
        #expect(json["count"] == .integer(2), "an Int stays an integer")
        #expect(try JSONValueDecoder().decode(Probe.self, from: json) == probe)
        #expect(JSONValueEncoder().encode(Probe(count: 0)) == ["count": 0])
    }
}
