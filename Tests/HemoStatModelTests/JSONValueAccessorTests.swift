@testable import HemoStatModel
import Testing

@Suite struct JSONValueAccessorTests {
    static let document: JSONValue = try! JSONValue.parse(
        #"{"name":"web","count":3,"ratio":2.5,"whole":4.0,"ok":false,"list":[1,"x"],"nested":{"id":"a"},"none":null}"#)

    @Test func fieldsOfAnObject() {
        let d = Self.document
        #expect(d["name"]?.stringValue == "web")
        #expect(d["nested"]?["id"]?.stringValue == "a")
        #expect(d["missing"] == nil)
        #expect(d["none"] == .null)
        #expect(d["name"]?["id"] == nil, "a string has no fields")
        #expect(JSONValue.array([1])["x"] == nil)
    }

    @Test func numbersReadAsIntegersOnlyWhenWhole() {
        let d = Self.document
        #expect(d["count"]?.intValue == 3 && d["count"]?.doubleValue == 3)
        #expect(d["ratio"]?.intValue == nil && d["ratio"]?.doubleValue == 2.5)
        #expect(d["whole"]?.intValue == 4)
        #expect(d["name"]?.intValue == nil && d["name"]?.doubleValue == nil, "a string is not a number")
    }

    @Test func eachAccessorAnswersOnlyForItsType() {
        let d = Self.document
        #expect(d["ok"]?.boolValue == false)
        #expect(d["count"]?.boolValue == nil && d["count"]?.stringValue == nil)
        #expect(d["list"]?.arrayValue == [1, "x"])
        #expect(d["nested"]?.objectValue == ["id": "a"])
        #expect(d["nested"]?.arrayValue == nil && d["list"]?.objectValue == nil)
        #expect(JSONValue.null.stringValue == nil && JSONValue.null.boolValue == nil)
    }
}
