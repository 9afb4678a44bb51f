import Foundation
@testable import HemoStatAlert
@testable import HemoStatModel
import Testing

@Suite struct NotificationGrouperTests {
    func note(_ container: String, _ type: String = "remediation_complete", id: String = UUID().uuidString) -> HemoStatAlert.Notification {
        Notification(
            eventType: type, container: container, host: "h1", severity: .critical, title: "t", detail: "d",
            action: "restart", result: "failed", rule: "crash", analysisMethod: "rules", confidence: 0.9,
            dryRun: false, incidentID: "i", messageID: id, timestamp: Date(timeIntervalSince1970: 0))
    }

    @Test func repeatsOfOneContainerAreOneMessageWithACount() {
        var grouper = NotificationGrouper(window: .seconds(60))
        let start = Date(timeIntervalSince1970: 1000)
        #expect(grouper.offer(note("web"), now: start) != nil)
        #expect(grouper.offer(note("web"), now: start.addingTimeInterval(10)) == nil)
        #expect(grouper.offer(note("web"), now: start.addingTimeInterval(20)) == nil)
        #expect(grouper.expire(now: start.addingTimeInterval(59)).isEmpty)
        let summaries = grouper.expire(now: start.addingTimeInterval(60))
        #expect(summaries.map(\.repeatCount) == [2])
        // A new window opens after the old one closed.
        #expect(grouper.offer(note("web"), now: start.addingTimeInterval(61)) != nil)
    }

    @Test func differentContainersAreNeverMerged() {
        var grouper = NotificationGrouper(window: .seconds(60))
        let now = Date(timeIntervalSince1970: 1000)
        #expect(grouper.offer(note("web"), now: now) != nil)
        #expect(grouper.offer(note("db"), now: now) != nil)
        #expect(grouper.offer(note("web", "escalation"), now: now) != nil)
    }

    @Test func aSingleNotificationLeavesNoSummary() {
        var grouper = NotificationGrouper(window: .seconds(5))
        let now = Date(timeIntervalSince1970: 1000)
        _ = grouper.offer(note("web"), now: now)
        #expect(grouper.expire(now: now.addingTimeInterval(10)).isEmpty)
        #expect(grouper.nextExpiry == nil)
    }
}

@Suite struct SlackFormatTests {
    func complete(dryRun: Bool, container: String = "web") -> Message {
        let data = RemediationComplete(
            container: container, containerID: "abc", action: .restart,
            result: RemediationResult(status: .success, reason: "running and healthy after restart"),
            dryRun: dryRun, analysisMethod: .rules, rule: "crash-restart", incidentID: "inc-1")
        return .remediationComplete(Envelope(agent: "responder", host: "node-1", data: data))
    }

    func text(of json: JSONValue) -> String { json.jsonText }

    @Test func blockKitMessageCarriesWhatOnCallNeeds() throws {
        let notification = try #require(Notification(complete(dryRun: false)))
        let body = NotificationFormat.slack(notification, dashboardURL: "http://127.0.0.1:8080")
        guard case .object(let object) = body, case .array(let blocks)? = object["blocks"] else {
            Issue.record("not a Block Kit body")
            return
        }
        #expect(blocks.count >= 3)
        let all = text(of: body)
        for fact in ["web", "node-1", "restart", "success", "rule crash-restart", "inc-1", "http://127.0.0.1:8080"] {
            #expect(all.contains(fact), "missing \(fact)")
        }
        #expect(!all.contains("DRY RUN"))
    }

    @Test func dryRunIsMarkedClearly() throws {
        let notification = try #require(Notification(complete(dryRun: true)))
        let body = NotificationFormat.slack(notification, dashboardURL: nil)
        guard case .object(let object) = body, case .string(let fallback)? = object["text"] else {
            Issue.record("no fallback text")
            return
        }
        #expect(fallback.hasPrefix("[DRY RUN]"))
        #expect(text(of: body).contains("would restart"))
    }

    @Test func containerControlledTextCannotInjectMarkup() throws {
        let notification = try #require(Notification(complete(dryRun: false, container: "<!channel> <http://evil|x>")))
        let body = text(of: NotificationFormat.slack(notification, dashboardURL: nil))
        #expect(!body.contains("<!channel>"))
        #expect(body.contains("&lt;!channel&gt;"))
    }

    @Test func remediationRequestsAreNotNotified() {
        let request = RemediationNeeded(
            container: "web", containerID: "abc", action: .restart, reason: "crashed", confidence: 0.9,
            rule: "crash", analysisMethod: .rules, dryRun: false, incidentID: "i", alertID: "a")
        #expect(Notification(.remediationNeeded(Envelope(agent: "analyzer", host: "h", data: request))) == nil)
    }
}
