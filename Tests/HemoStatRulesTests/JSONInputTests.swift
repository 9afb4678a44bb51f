import Foundation
import HemoStatModel
import Testing
@testable import HemoStatRules

/// Alerts given as JSON text, decoded in C straight into Lua tables, as a rule sees them.
@Suite struct JSONInputTests {
    /// A rule set with one rule that returns `expression` (over the alert `a` and the helpers
    /// `h`) as the parameter `v`, and `"v=" .. tostring(expression)` as the reason.
    func probe(_ expression: String) -> RuleSet {
        ruleSet(["r/p.lua": """
            rule { name = 'p', when = function(a, h)
              local v = \(expression)
              return notify { reason = 'v=' .. tostring(v), params = { v = v } }
            end }
            """])
    }

    /// The probe's evaluation of one input; a decoding or rule failure is recorded as an issue.
    func run(
        _ expression: String, _ json: String, history: RuleInput.History = .alert,
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) -> RuleEvaluation {
        let r = probe(expression).evaluateSync(RuleInput(alertJSON: json, history: history))
        #expect(r.errors.isEmpty, "\(r.errors)", sourceLocation: sourceLocation)
        #expect(r.decisive != nil, sourceLocation: sourceLocation)
        return r
    }

    /// `expression` read back as a value (`nil` when the rule returned `nil`).
    func value(
        _ expression: String, _ json: String, history: RuleInput.History = .alert,
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) -> JSONValue? {
        run(expression, json, history: history, sourceLocation: sourceLocation).decisive?.parameters["v"]
    }

    /// `tostring(expression)`.
    func text(
        _ expression: String, _ json: String, history: RuleInput.History = .alert,
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) -> String? {
        run(expression, json, history: history, sourceLocation: sourceLocation).decisive.map { String($0.reason.dropFirst(2)) }
    }

    /// The single error an input gives; records an issue when it gives something else.
    func failure(
        _ e: RuleSet, _ json: String, sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) -> RuleError? {
        let r = e.evaluateSync(RuleInput(alertJSON: json, history: .alert))
        #expect(r.decisive == nil, sourceLocation: sourceLocation)
        #expect(r.rulesEvaluated == 0, sourceLocation: sourceLocation)
        #expect(r.errors.count == 1, sourceLocation: sourceLocation)
        #expect(r.errors.first?.code == .invalidInput, sourceLocation: sourceLocation)
        return r.errors.first
    }

    /// `depth` nested arrays around 7.
    func arrays(_ depth: Int) -> String {
        String(repeating: "[", count: depth) + "7" + String(repeating: "]", count: depth)
    }

    // MARK: strings

    @Test func plainAndEscapedStrings() {
        #expect(value("a.s", #"{"s":"plain text"}"#) == "plain text")
        #expect(value("#a.s", #"{"s":""}"#) == 0)
        #expect(value("a.s", #"{"s":"q\" b\\ s\/ \b\f\n\r\t end"}"#) == .string("q\" b\\ s/ \u{08}\u{0C}\n\r\t end"))
        // Each escape decodes to one byte.
        #expect(value("{ a.s:byte(1, -1) }", #"{"s":"\"\\\/\b\f\n\r\t"}"#) == [34, 92, 47, 8, 12, 10, 13, 9])
        #expect(value("{ a.s:byte(1, -1) }", #"{"s":"a\u0000b"}"#) == [97, 0, 98])
        #expect(value("a.s", #"{"s":"caf\u00e9 \u00C9"}"#) == "café É")
        #expect(value("#a.s", #"{"s":"\u00e9"}"#) == 2)
        #expect(value("a.s", #"{"s":"\u20ac"}"#) == "€")
        // Text before and after an escape is kept.
        #expect(value("a.s", #"{"s":"before \u0041 after"}"#) == "before A after")
    }

    @Test func surrogatePairs() {
        #expect(value("a.s", #"{"s":"\ud83d\ude00"}"#) == "\u{1F600}")
        #expect(value("{ a.s:byte(1, -1) }", #"{"s":"\ud83d\ude00"}"#) == [0xF0, 0x9F, 0x98, 0x80])
        #expect(value("a.s", #"{"s":"x\uD83D\uDE00y"}"#) == "x\u{1F600}y")
        // Lone surrogates become U+FFFD; what follows a lone high surrogate is kept.
        #expect(value("a.s", #"{"s":"a\ud83db"}"#) == "a\u{FFFD}b")
        #expect(value("a.s", #"{"s":"a\ude00b"}"#) == "a\u{FFFD}b")
        #expect(value("a.s", #"{"s":"\ud83d"}"#) == "\u{FFFD}")
        #expect(value("a.s", #"{"s":"\ud83d\u0041"}"#) == "\u{FFFD}A")
        #expect(value("a.s", #"{"s":"\ud83d\ud83d\ude00"}"#) == "\u{FFFD}\u{1F600}")
        #expect(value("{ a.s:byte(1, -1) }", #"{"s":"\ude00"}"#) == [0xEF, 0xBF, 0xBD])
    }

    @Test func rawUTF8PassesThrough() {
        let s = "naïve 日本語 ✓ \u{1F600} \u{7F}"
        #expect(value("a.s", #"{"s":""# + s + #""}"#) == .string(s))
        #expect(value("#a.s", #"{"s":""# + s + #""}"#) == .number(Double(s.utf8.count)))
        #expect(value("a['clé']", #"{"clé":"日本"}"#) == "日本")
    }

    @Test func escapedMemberNames() {
        #expect(value("a.ab", #"{"a\u0062":1}"#) == 1)
        #expect(value("a['a\"b']", #"{"a\"b":2}"#) == 2)
        #expect(value("a['line\\nbreak']", #"{"line\nbreak":3}"#) == 3)
    }

    @Test func controlCharactersInStringsAreErrors() {
        let e = probe("a.s")
        #expect(failure(e, "{\"s\":\"x\u{01}y\"}")?.message == "alert: invalid JSON at byte 7: control character in string")
        #expect(failure(e, "{\"s\":\"a\tb\"}")?.message == "alert: invalid JSON at byte 7: control character in string")
        #expect(failure(e, "{\"s\":\"\\n\n\"}")?.message == "alert: invalid JSON at byte 8: control character in string")
        #expect(failure(e, "{\"s\u{1F}\":1}")?.message == "alert: invalid JSON at byte 3: control character in string")
        #expect(e.evaluateSync(RuleInput(alertJSON: #"{"s":"ok"}"#, history: .alert)).decisive?.parameters["v"] == "ok")
    }

    // MARK: numbers

    @Test func numbers() {
        let cases: [(json: String, type: String, value: Double, text: String)] = [
            ("0", "integer", 0, "0"),
            ("-0", "integer", 0, "0"),
            ("137", "integer", 137, "137"),
            ("-137", "integer", -137, "-137"),
            ("12.5", "float", 12.5, "12.5"),
            ("1e3", "integer", 1000, "1000"),
            ("1E3", "integer", 1000, "1000"),
            ("1.5e-3", "float", 0.0015, "0.0015"),
            ("-2.25E+2", "integer", -225, "-225"),
            ("2.5e+0", "float", 2.5, "2.5"),
            ("9007199254740991", "integer", 9_007_199_254_740_991, "9007199254740991"),
            ("-9007199254740991", "integer", -9_007_199_254_740_991, "-9007199254740991"),
            ("9007199254740992", "float", 9_007_199_254_740_992, "9.007199254741e+15"),
            ("9007199254740993", "float", 9_007_199_254_740_992, "9.007199254741e+15"),
            ("-9007199254740993", "float", -9_007_199_254_740_992, "-9.007199254741e+15"),
            ("1234567890123456789012345", "float", Double("1234567890123456789012345")!, "1.2345678901235e+24"),
            ("18446744073709551616", "float", 1.8446744073709552e19, "1.844674407371e+19"),
            ("1e400", "float", .infinity, "inf"),
            ("-1e400", "float", -.infinity, "-inf"),
        ]
        let e = probe("{ t = math.type(a.n), n = a.n, s = tostring(a.n) }")
        for c in cases {
            let r = e.evaluateSync(RuleInput(alertJSON: #"{"n":"# + c.json + "}", history: .alert))
            #expect(r.errors.isEmpty, "\(c.json): \(r.errors)")
            #expect(
                r.decisive?.parameters["v"] == ["t": .string(c.type), "n": .number(c.value), "s": .string(c.text)],
                "\(c.json)")
        }
    }

    /// Decimals decode to the same double as Swift's own parsing of the text.
    @Test func decimalsAreCorrectlyRounded() {
        let texts = [
            "0.1", "0.2", "0.3", "0.30000000000000004", "-0.5", "0.7", "1.1", "2.675", "3.141592653589793",
            "2.718281828459045", "1.7976931348623157e308", "2.2250738585072014e-308", "4.9406564584124654e-324",
            "5e-324", "123456.789e-3", "1.23456789012345678901234567890", "0.000001", "1e-7", "1e22", "1e23",
            "8.98846567431158e307", "100000000000000000000000.5", "9007199254740993.5", "123456789012345678e-10",
            "0.1e1", "25e-1", "-0.0", "1.0", "0.0001234567890123456", "0.00012345678901234567",
            "0.0000001234567890123456789", "0.0000000000000000000001", "0.000000000000000000000000000000000000000000001",
            "-0.000000000000000000000123456789", "0.00000000000000000000000000000000001e35",
        ]
        let e = probe("{ t = math.type(a.n), n = a.n }")
        for text in texts {
            let expected = Double(text)!
            let type = expected.rounded() == expected && abs(expected) < 9.0e15 ? "integer" : "float"
            let r = e.evaluateSync(RuleInput(alertJSON: #"{"n":"# + text + "}", history: .alert))
            #expect(r.errors.isEmpty, "\(text): \(r.errors)")
            #expect(r.decisive?.parameters["v"] == ["t": .string(type), "n": .number(expected)], "\(text)")
        }
        // Arithmetic in the rule sees the decoded doubles.
        #expect(text("a.x + a.y == 0.3", #"{"x":0.1,"y":0.2}"#) == "false")
        #expect(text("a.x + a.y == a.z", #"{"x":0.1,"y":0.2,"z":0.30000000000000004}"#) == "true")
    }

    @Test func invalidNumbersAreRejected() {
        let e = probe("a.n")
        for text in ["01", "-01", "00", "1.", "1.e3", ".5", "+1", "1e", "1e+", "1E-", "-", "--1", "- 1", "NaN", "-NaN",
                     "Infinity", "-Infinity", "inf", "0x10", "1_000", "1.5.2", "١"]
        {
            let error = failure(e, #"{"n":"# + text + "}")
            #expect(error?.message.hasPrefix("alert: invalid JSON at byte ") == true, "\(text): \(String(describing: error))")
            #expect(failure(e, #"{"n":["# + text + "]}") != nil, "\(text) in an array")
        }
        #expect(failure(e, #"{"n":01}"#)?.message == "alert: invalid JSON at byte 6: ',' or '}' expected")
        #expect(failure(e, #"{"n":1.}"#)?.message == "alert: invalid JSON at byte 7: digit expected after '.'")
        #expect(failure(e, #"{"n":.5}"#)?.message == "alert: invalid JSON at byte 5: number expected")
        #expect(failure(e, #"{"n":1e}"#)?.message == "alert: invalid JSON at byte 7: digit expected in exponent")
        #expect(failure(e, #"{"n":-}"#)?.message == "alert: invalid JSON at byte 6: number expected")
        #expect(e.evaluateSync(RuleInput(alertJSON: #"{"n":-1.25e1}"#, history: .alert)).decisive?.parameters["v"] == -12.5)
    }

    // MARK: literals and null

    @Test func literals() {
        #expect(value("{ t = a.t, f = a.f, tt = type(a.t), ft = type(a.f) }", #"{"t":true,"f":false}"#)
            == ["t": true, "f": false, "tt": "boolean", "ft": "boolean"])
        #expect(value("{ a.l[1], a.l[2], a.l[3] == nil, #a.l }", #"{"l":[true,false,null]}"#) == [true, false, true, 2])
        let e = probe("a.x")
        for bad in ["tru", "True", "nul", "NULL", "null0", "falsey", "fals", "t"] {
            #expect(failure(e, #"{"x":"# + bad + "}") != nil, "\(bad)")
        }
        #expect(failure(e, #"{"x":tru}"#)?.message == "alert: invalid JSON at byte 5: unexpected character")
    }

    @Test func nullMembersAreAbsent() {
        let count = "(function() local n = 0 for _ in pairs(a) do n = n + 1 end return n end)()"
        #expect(value(count, #"{"a":1,"x":null,"b":null,"c":"s"}"#) == 2)
        #expect(text("a.x == nil and rawget(a, 'x') == nil", #"{"x":null}"#) == "true")
        #expect(value("a.o", #"{"o":{"k":null,"m":1}}"#) == ["m": 1])
        #expect(value("next(a.o) == nil", #"{"o":{"k":null}}"#) == true)
        #expect(value(count, "{\"x\" : null , \"y\" :null}") == 0)
    }

    @Test func nullElementsAreHoles() {
        #expect(value("{ a.l[1], a.l[2] == nil, a.l[3], #a.l == 3 or #a.l == 1 }", #"{"l":[1,null,3]}"#) == [1, true, 3, true])
        #expect(value("a.l", #"{"l":[1,null,3]}"#) == ["1": 1, "3": 3])
        #expect(value("#a.l", #"{"l":[null]}"#) == 0)
        #expect(value("{ #a.l, type(a.l), next(a.l) == nil }", #"{"l":[null,null]}"#) == [0, "table", true])
        #expect(value("#a.l", #"{"l":[1,null]}"#) == 1)
        #expect(value("#a.l", #"{"l":["a","b",null,null]}"#) == 2)
        #expect(value("a.l[2][1]", #"{"l":[null,[null,"x"]]}"#) == nil)
        #expect(value("a.l[2][2]", #"{"l":[null,[null,"x"]]}"#) == "x")
    }

    // MARK: structure

    @Test func nestingUpToSixtyFourLevels() {
        let walk = "(function() local d, t = 1, a.x while type(t) == 'table' do d, t = d + 1, t[1] end return d .. ':' .. tostring(t) end)()"
        #expect(text(walk, #"{"x":"# + arrays(63) + "}") == "64:7")
        let objects = String(repeating: #"{"a":"#, count: 64) + "7" + String(repeating: "}", count: 64)
        #expect(text("a" + String(repeating: ".a", count: 64), objects) == "7")

        let e = probe("a.x")
        for deep in [#"{"x":"# + arrays(64) + "}", String(repeating: #"{"a":"#, count: 65) + "7" + String(repeating: "}", count: 65)] {
            let error = failure(e, deep)
            #expect(error?.message.hasPrefix("alert: invalid JSON at byte ") == true)
            #expect(error?.message.hasSuffix(": nested too deeply") == true, "\(String(describing: error))")
        }
        // Far deeper input fails the same way, without exhausting any stack.
        #expect(failure(e, String(repeating: "[", count: 100_000))?.message.hasSuffix(": nested too deeply") == true)
        // The deep value returned as a parameter is read back down to 31 levels.
        var truncated: JSONValue = .null
        for _ in 0..<31 { truncated = [truncated] }
        #expect(e.evaluateSync(RuleInput(alertJSON: #"{"x":"# + arrays(63) + "}", history: .alert)).decisive?.parameters["v"] == truncated)
    }

    @Test func nestingLimitCountsHistorySamples() {
        // The alert object, the history array and a sample are three levels.
        let ok = #"{"history":[{"timestamp":1,"x":"# + arrays(61) + "}]}"
        #expect(text("h.now()", ok) == "1")
        let e = probe("h.now()")
        #expect(failure(e, #"{"history":[{"timestamp":1,"x":"# + arrays(62) + "}]}")?.message.hasSuffix("nested too deeply") == true)
        // A stats document that is too deep is unreadable: an empty history, not an error.
        let deepDocument = #"{"other":"# + arrays(64) + #","history":[{"timestamp":1}]}"#
        #expect(text("#a.history", "{}", history: .statsDocument(deepDocument)) == "0")
        let document = #"{"other":"# + arrays(63) + #","history":[{"timestamp":1}]}"#
        #expect(text("#a.history", "{}", history: .statsDocument(document)) == "1")
    }

    @Test func emptyContainersAndWhitespace() {
        #expect(value("{ type(a.o), next(a.o) == nil, type(a.l), #a.l }", #"{"o":{},"l":[]}"#) == ["table", true, "table", 0])
        #expect(value("next(a) == nil", "{}") == true)
        #expect(value("next(a) == nil", " \n\t{ } \r\n") == true)
        let spaced = " \n{ \"l\" : [ 1 ,\t{ } , [ ] ,\"s\" ] ,\r\n \"o\" : { \"k\" : true } } \n"
        #expect(value("{ #a.l, a.l[1], next(a.l[2]) == nil, #a.l[3], a.l[4], a.o.k }", spaced) == [4, 1, true, 0, "s", true])
    }

    @Test(arguments: [0, 1, 47, 48, 49, 96, 97, 150])
    func largeObjects(size: Int) {
        let members = (0..<size).map { #""k\#($0)":\#($0)"# }.joined(separator: ",")
        let json = #"{"o":{"# + members + "}}"
        var expected: [String: JSONValue] = [:]
        for i in 0..<size { expected["k\(i)"] = .number(Double(i)) }
        #expect(value("a.o", json) == .object(expected))
        let check = "(function() local n = 0 for k, v in pairs(a.o) do if k ~= 'k' .. v then return 'bad ' .. k end n = n + 1 end return n end)()"
        #expect(text(check, json) == "\(size)")
    }

    @Test(arguments: [0, 1, 47, 48, 49, 96, 97, 150])
    func largeArrays(size: Int) {
        let json = #"{"l":["# + (1...max(1, size)).prefix(size).map(String.init).joined(separator: ",") + "]}"
        #expect(text("#a.l .. ':' .. table.concat(a.l, ',')", json)
            == "\(size):" + (1...max(1, size)).prefix(size).map(String.init).joined(separator: ","))
    }

    @Test func largeArraysWithHoles() {
        let holes: Set<Int> = [1, 2, 47, 48, 49, 50, 96, 97, 120]
        let elements = (1...120).map { holes.contains($0) ? "null" : #""e\#($0)""# }
        let json = #"{"l":["# + elements.joined(separator: ",") + "]}"
        let scan = """
            (function()
              local missing, wrong = {}, 0
              for i = 1, 130 do
                local v = a.l[i]
                if v == nil then missing[#missing + 1] = i elseif v ~= 'e' .. i then wrong = wrong + 1 end
              end
              return table.concat(missing, ',') .. ' wrong=' .. wrong
            end)()
            """
        let missing = (holes.sorted() + Array(121...130)).map(String.init).joined(separator: ",")
        #expect(text(scan, json) == missing + " wrong=0")
    }

    @Test func largeObjectsWithNullsAndNesting() {
        // Null members spread through a large object, and large objects and arrays nested in it.
        var members: [String] = []
        var expected: [String: JSONValue] = [:]
        for i in 0..<120 {
            if i % 7 == 3 {
                members.append(#""n\#(i)":null"#)
            } else if i % 10 == 5 {
                let inner = (0..<60).map { #""i\#($0)":\#($0)"# }.joined(separator: ",")
                members.append(#""o\#(i)":{"# + inner + "}")
                expected["o\(i)"] = .object(Dictionary(uniqueKeysWithValues: (0..<60).map { ("i\($0)", JSONValue.number(Double($0))) }))
            } else if i % 10 == 9 {
                members.append(#""l\#(i)":["# + (1...55).map(String.init).joined(separator: ",") + "]")
                expected["l\(i)"] = .array((1...55).map { .number(Double($0)) })
            } else {
                members.append(#""s\#(i)":"v\#(i)""#)
                expected["s\(i)"] = .string("v\(i)")
            }
        }
        #expect(value("a.o", #"{"o":{"# + members.joined(separator: ",") + "}}") == .object(expected))
    }

    @Test func duplicateKeysKeepTheLastValue() {
        #expect(value("a.a", #"{"a":1,"b":2,"a":3}"#) == 3)
        #expect(value("a.a", #"{"a":{"x":1},"a":"s"}"#) == "s")
        #expect(value("a.o.k", #"{"o":{"k":1,"k":[2]}}"#) == [2])
        #expect(value("a.a", #"{"a":null,"a":1}"#) == 1)
        #expect(value("a.a == nil", #"{"a":1,"a":null}"#) == true)
        #expect(value("a.o.k == nil", #"{"o":{"k":1,"k":null}}"#) == true)
        // Before and after the first 48 members were put in a table.
        var members = (0..<100).map { #""k\#($0)":\#($0)"# }
        members[30] = #""k0":"in batch""#
        members[70] = #""k1":"after batch""#
        members[80] = #""k60":"again""#
        members[90] = #""k2":null"#
        let json = #"{"o":{"# + members.joined(separator: ",") + "}}"
        #expect(value("{ a.o.k0, a.o.k1, a.o.k60, a.o.k2 == nil, a.o.k99 }", json) == ["in batch", "after batch", "again", true, 99])
    }

    /// A document of many values, written by `JSONValue.jsonText`, reads back unchanged.
    @Test func bigDocumentRoundTrips() {
        var containers: [JSONValue] = []
        for i in 0..<120 {
            containers.append([
                "name": .string("c\(i)"), "id": .number(Double(i)), "ratio": .number(Double(i) / 7),
                "up": .bool(i % 2 == 0), "ports": .array((0..<(i % 60 + 1)).map { .number(Double(8000 + $0)) }),
                "labels": .object(Dictionary(uniqueKeysWithValues: (0..<(i % 55)).map { ("l\($0)", JSONValue.string("\u{e9}\($0)")) })),
            ])
        }
        let document: JSONValue = ["containers": .array(containers), "host": "h\u{1F600}", "load": 0.75]
        #expect(value("a", document.jsonText) == document)
    }

    // MARK: errors

    @Test func invalidTextIsReportedAndTheNextAlertIsEvaluated() {
        let e = probe("a.a")
        let cases: [(json: String, message: String)] = [
            (#"{"a":1} x"#, "byte 8: text after the value"),
            (#"{"a":1}}"#, "byte 7: text after the value"),
            (#"{"a":1}{"a":2}"#, "byte 7: text after the value"),
            (#"{"a":[1,2"#, "byte 9: unterminated array"),
            (#"{"a":{"b":1"#, "byte 11: unterminated object"),
            (#"{"a":1"#, "byte 6: unterminated object"),
            (#"{"a":"abc"#, "byte 9: unterminated string"),
            (#"{"a":"#, "byte 5: value expected"),
            (#"{"a""#, "byte 4: ':' expected"),
            (#"{"#, "byte 1: member name expected"),
            ("", "byte 0: value expected"),
            (" \n ", "byte 3: value expected"),
            (#"{"a":1 "b":2}"#, "byte 7: ',' or '}' expected"),
            (#"{"a":[1 2]}"#, "byte 8: ',' or ']' expected"),
            (#"{"a":1,}"#, "byte 7: member name expected"),
            (#"{'a':1}"#, "byte 1: member name expected"),
            (#"{a:1}"#, "byte 1: member name expected"),
            (#"{"a":"\x"}"#, "byte 7: bad escape in string"),
            (#"{"a":"\u12G4"}"#, "byte 10: bad \\u escape"),
            (#"{"a":"\u12"#, "byte 8: truncated \\u escape"),
            (#"{"a":"\"#, "byte 7: unterminated string"),
            (#"{"history":[{"cpu":1},{"cpu""#, "byte 28: ':' expected"),
            (#"{"history":[{"cpu":1} {"cpu":2}]}"#, "byte 22: ',' or ']' expected"),
            (#"{"history":[{"cpu":1},{"cpu":}]}"#, "byte 29: number expected"),
            (#"{"history":[1,2"#, "byte 15: unterminated array"),
        ]
        for c in cases {
            #expect(failure(e, c.json)?.message == "alert: invalid JSON at byte " + c.message.dropFirst(5), "\(c.json)")
            let good = e.evaluateSync(RuleInput(alertJSON: #"{"a":"fine"}"#, history: .alert))
            #expect(good.errors.isEmpty)
            #expect(good.decisive?.parameters["v"] == "fine", "after \(c.json)")
        }
        // Failing deep inside a large object or a string being unescaped leaves nothing behind.
        let big = "{" + (0..<200).map { #""k\#($0)":[\#($0),{"x":"\u00e9"}]"# }.joined(separator: ",") + #","z":"\q"}"#
        #expect(failure(e, big)?.message.hasSuffix("bad escape in string") == true)
        #expect(e.evaluateSync(RuleInput(alertJSON: #"{"a":[1,2,3]}"#, history: .alert)).decisive?.parameters["v"] == [1, 2, 3])
        // The alert is decoded before a stats document is looked at.
        let r = e.evaluateSync(RuleInput(alertJSON: "{", history: .statsDocument(#"{"history":[]}"#)))
        #expect(r.errors.map(\.code) == [.invalidInput])
        #expect(r.errors.first?.message.hasPrefix("alert: ") == true)
    }

    @Test(arguments: ["[1,2]", "3", #""alert""#, "true", "null"])
    func anAlertMustBeAnObject(_ json: String) {
        let e = probe("a.x")
        #expect(failure(e, json)?.message == "alert: not a JSON object")
        #expect(e.evaluateSync(RuleInput(alertJSON: #"{"x":1}"#, history: .alert)).decisive?.parameters["v"] == 1)
    }

    // MARK: history

    @Test func samplesWithMembersInDifferentOrders() {
        let json = #"""
            {"history":[
              {"timestamp":1,"cpu":10,"mem":50,"status":"running"},
              {"mem":51,"status":"running","timestamp":2,"cpu":11},
              {"status":"exited","cpu":12,"timestamp":3,"mem":52}
            ]}
            """#
        #expect(value("{ h.values('cpu'), h.values('mem'), h.now(), h.latest('status'), h.changes('status', 'exited') }", json)
            == [[10, 11, 12], [50, 51, 52], 3, "exited", 1])
        #expect(value("a.history", json) == [
            ["timestamp": 1, "cpu": 10, "mem": 50, "status": "running"],
            ["timestamp": 2, "cpu": 11, "mem": 51, "status": "running"],
            ["timestamp": 3, "cpu": 12, "mem": 52, "status": "exited"],
        ])
    }

    @Test func aMissingMemberIsAHoleInItsColumn() {
        let json = #"""
            {"history":[
              {"timestamp":1,"cpu":10,"mem":50},
              {"timestamp":2,"mem":51,"cpu":null},
              {"timestamp":3,"cpu":12},
              {"timestamp":4,"late":"x"}
            ]}
            """#
        #expect(value("h.values('cpu')", json) == [10, 12])
        #expect(value("h.count('cpu', '>=', 0)", json) == 2)
        #expect(value("h.count('mem', '>', 0)", json) == 2)
        #expect(value("h.latest('cpu')", json) == nil)
        #expect(value("h.latest('late')", json) == "x")
        #expect(value("h.count('late', '==', 'x')", json) == 1)
        #expect(value("h.streak('cpu', '>', 0)", json) == 0)
        #expect(value("{ a.history[2].cpu == nil, a.history[3].mem == nil, a.history[1].late == nil }", json) == [true, true, true])
        #expect(value("a.history", json) == [
            ["timestamp": 1, "cpu": 10, "mem": 50], ["timestamp": 2, "mem": 51], ["timestamp": 3, "cpu": 12],
            ["timestamp": 4, "late": "x"],
        ])
    }

    @Test func samplesThatAreNotObjectsCountButContributeNothing() {
        let json = #"{"history":[{"timestamp":1,"cpu":10},5,null,"x",[1,2],true,{"timestamp":7,"cpu":13}]}"#
        #expect(value("#a.history", json) == 7)
        #expect(value("#h.samples()", json) == 7)
        #expect(value("h.latest('cpu')", json) == 13)
        #expect(value("h.now()", json) == 7)
        #expect(value("h.values('cpu')", json) == [10, 13])
        #expect(value("h.count('cpu', '>', 0)", json) == 2)
        #expect(value("{ next(a.history[2]) == nil, next(a.history[3]) == nil, next(a.history[5]) == nil }", json) == [true, true, true])
        #expect(value("{ #a.history, h.now() == nil, h.latest('cpu') == nil }", #"{"history":[1,"two",null]}"#) == [3, true, true])
        #expect(value("{ #a.history, type(a.history), h.now() == nil }", #"{"history":[]}"#) == [0, "table", true])
    }

    @Test func escapedMemberNamesShareTheirColumn() {
        let json = #"""
            {"history":[
              {"cpu\u005fpercent":1,"mem":5},
              {"cpu_percent":2},
              {"mem":7,"cpu\u005Fpercent":3},
              {"\u0063pu_percent":4,"m\u0065m":8}
            ]}
            """#
        #expect(value("h.values('cpu_percent')", json) == [1, 2, 3, 4])
        #expect(value("h.values('mem')", json) == [5, 7, 8])
        #expect(value("a.history", json) == [["cpu_percent": 1, "mem": 5], ["cpu_percent": 2], ["cpu_percent": 3, "mem": 7], ["cpu_percent": 4, "mem": 8]])
    }

    @Test func duplicateMembersInASampleKeepTheLastValue() {
        let json = #"{"history":[{"cpu":1,"cpu":2},{"cpu":3,"cpu":null},{"cpu":null,"cpu":4}]}"#
        #expect(value("h.values('cpu')", json) == [2, 4])
        #expect(value("a.history", json) == [["cpu": 2], [:], ["cpu": 4]])
    }

    @Test func historyRowsEqualTheSamples() {
        let samples: [[String: JSONValue]] = [
            ["timestamp": 1_700_000_000, "cpu_percent": 12.5, "status": "running", "healthy": true,
             "net": ["rx": 10, "tx": 20.5], "ports": [80, 443]],
            ["timestamp": 1_700_000_030, "cpu_percent": 97, "status": "running", "healthy": false, "note": "caf\u{e9} \u{1F600}"],
            ["timestamp": 1_700_000_060, "status": "restarting", "cpu_percent": 0.1, "memory_percent": 88.25],
        ]
        let json = JSONValue.object(["container_name": "web", "history": .array(samples.map(JSONValue.object))]).jsonText
        let rows = JSONValue.array(samples.map(JSONValue.object))
        #expect(value("a.history", json) == rows)
        #expect(value("h.samples()", json) == rows)
        #expect(value("h.samples(30)", json) == .array(samples.suffix(2).map(JSONValue.object)))
        #expect(value("h.samples(0)", json) == .array([.object(samples[2])]))
        // Built once per evaluation and shared by `a.history` and `h.samples`.
        #expect(value("rawequal(a.history, a.history) and rawequal(h.samples()[3], a.history[3])", json) == true)
        // The history is not a member of the alert table itself.
        #expect(value("{ rawget(a, 'history') == nil, a.container_name }", json) == [true, "web"])
        #expect(value("{ h.now(), h.span(), h.max('cpu_percent'), h.latest('memory_percent'), h.latest('net') == nil }", json)
            == [1_700_000_060, 60, 97, 88.25, true])
        #expect(value("a.history[1].net.tx + a.history[1].ports[2]", json) == 463.5)
    }

    @Test func manyColumns() {
        let sample = "{" + (0..<64).map { #""f\#($0)":\#($0)"# }.joined(separator: ",") + "}"
        let json = #"{"history":["# + sample + "," + sample + "]}"
        let sum = "(function() local s = 0 for i = 0, 63 do s = s + h.latest('f' .. i) + h.values('f' .. i)[1] end return s end)()"
        #expect(value(sum, json) == .number(Double(2 * (0..<64).reduce(0, +))))
    }

    @Test func historyFromAStatsDocument() {
        let alertJSON = #"{"container_name":"web","history":[{"timestamp":1,"cpu":99}]}"#
        let document = #"""
            {"container":"web","updated":5,"nested":{"deep":[1,2,{"x":null}],"s":"\u00e9"},
             "history":[{"timestamp":10,"cpu":1},{"timestamp":20,"cpu":2,"mem":3}],"tail":true}
            """#
        let probe = "{ h.values('cpu'), h.now(), #a.history, a.history[2].mem, a.container_name, a.updated == nil, a.nested == nil, a.tail == nil }"
        #expect(value(probe, alertJSON, history: .statsDocument(document)) == [[1, 2], 20, 2, 3, "web", true, true, true])
        #expect(value("a.history", alertJSON, history: .statsDocument(document)) == [["timestamp": 10, "cpu": 1], ["timestamp": 20, "cpu": 2, "mem": 3]])
        // The alert's own history is not used.
        #expect(value("h.latest('cpu')", alertJSON, history: .statsDocument(#"{"history":[{"cpu":5}]}"#)) == 5)
    }

    @Test func missingOrUnreadableStatsDocumentsGiveAnEmptyHistory() {
        let alertJSON = #"{"container_name":"web","history":[{"timestamp":1,"cpu":99}]}"#
        let empty = "{ #a.history, h.now() == nil, h.latest('cpu') == nil, #h.samples(), h.count('cpu', '>', 0) }"
        let documents: [String?] = [
            nil, "", "not json", "{", #"{"history":[{"cpu":1}]"#, #"{"history":[{"cpu":1}]} x"#, #"{"x":"\q","history":[{"cpu":1}]}"#,
            "{}", #"{"other":1}"#, #"{"history":null}"#, #"{"history":{"cpu":1}}"#, #"{"history":"[]"}"#, #"[{"cpu":1}]"#,
            #"{"history":[]}"#, "null", "7",
        ]
        for document in documents {
            #expect(value(empty, alertJSON, history: .statsDocument(document)) == [0, true, true, 0, 0], "\(String(describing: document))")
        }
    }

    @Test func alertWithoutHistory() {
        let probe = "{ a.history == nil, h.now() == nil, #h.samples(), h.latest('cpu') == nil, h.avg('cpu') == nil, h.count('cpu', '>', 0) }"
        #expect(value(probe, #"{"container_name":"web"}"#) == [true, true, 0, true, true, 0])
        #expect(value(probe, #"{"container_name":"web","history":null}"#) == [true, true, 0, true, true, 0])
        // A `history` that is not an array stays an ordinary member.
        #expect(value("{ a.history, h.now() == nil }", #"{"history":"none"}"#) == ["none", true])
        #expect(value("{ a.history.cpu, h.latest('cpu') == nil }", #"{"history":{"cpu":1}}"#) == [1, true])
    }

    @Test func theLastHistoryMemberWins() {
        let twice = #"{"history":[{"cpu":1}],"x":1,"history":[{"cpu":2},{"cpu":3}]}"#
        #expect(value("{ h.values('cpu'), #a.history, a.history[1].cpu }", twice) == [[2, 3], 2, 2])
        let thenNot = #"{"history":[{"cpu":1}],"history":"none"}"#
        #expect(value("{ a.history, h.now() == nil, h.latest('cpu') == nil }", thenNot) == ["none", true, true])
        let notThen = #"{"history":"none","history":[{"cpu":4}]}"#
        #expect(value("{ h.latest('cpu'), a.history[1].cpu }", notThen) == [4, 4])
        let thenNull = #"{"history":[{"cpu":1}],"history":null}"#
        #expect(value("{ a.history == nil, h.latest('cpu') == nil }", thenNull) == [true, true])
        #expect(value("h.latest('cpu')", "{}", history: .statsDocument(#"{"history":[{"cpu":1}],"history":[{"cpu":6}]}"#)) == 6)
        #expect(value("#a.history", "{}", history: .statsDocument(#"{"history":[{"cpu":1}],"history":0}"#)) == 0)
    }

    @Test func anEscapedHistoryNameIsTheHistory() {
        let json = #"{"hist\u006fry":[{"timestamp":5,"cpu":1}]}"#
        #expect(value("{ h.now(), h.latest('cpu'), a.history[1].cpu, rawget(a, 'history') == nil }", json) == [5, 1, 1, true])
        #expect(value("h.latest('cpu')", "{}", history: .statsDocument(#"{"\u0068istory":[{"cpu":2}]}"#)) == 2)
    }

    // MARK: anomalies

    @Test func projectedSecondsToLimitIsReadableAsProjectedSeconds() {
        let json = #"""
            {"anomalies":[
              {"type":"memory_growth","projected_seconds_to_limit":120.5},
              {"type":"disk_growth","projected_seconds_to_limit":5,"projected_seconds":7},
              {"type":"high_cpu","value":97},
              "not an anomaly"
            ]}
            """#
        #expect(value("h.anomaly('memory_growth').projected_seconds", json) == 120.5)
        #expect(value("a.anomalies[1].projected_seconds", json) == 120.5)
        #expect(value("a.anomalies[1].projected_seconds_to_limit", json) == 120.5)
        #expect(value("h.anomaly('disk_growth').projected_seconds", json) == 7)
        #expect(value("h.anomaly('high_cpu').projected_seconds == nil", json) == true)
        #expect(value("a.anomalies[4]", json) == "not an anomaly")
        #expect(value("h.anomaly('memory_growth').projected_seconds", json, history: .statsDocument(nil)) == 120.5)
    }
}
