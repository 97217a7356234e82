import DurableExport
import Testing

@Suite("DBOS mapping", .timeLimit(.minutes(1)))
struct MappingTests {
    @Test func stableUUIDsAreDeterministicAndUUIDShaped() {
        let a = DBOSMapping.stableUUID("message", "wf", "1")
        #expect(a == DBOSMapping.stableUUID("message", "wf", "1"))
        #expect(a != DBOSMapping.stableUUID("message", "wf1", ""))
        #expect(a.count == 36)
    }
}
