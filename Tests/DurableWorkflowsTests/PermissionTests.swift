import DurableLog
import DurableTesting
import DurableWorkflows
import Foundation
import Testing

@Suite("File permissions", .timeLimit(.minutes(3)))
struct PermissionTests {
    /// The mode of every file and directory under `root` (the root included), by relative path.
    func modes(under root: String) throws -> [String: Int] {
        var modes: [String: Int] = [
            ".": try FileManager.default.attributesOfItem(atPath: root)[.posixPermissions] as! Int
        ]
        for path in try FileManager.default.subpathsOfDirectory(atPath: root) {
            modes[path] = try FileManager.default.attributesOfItem(atPath: root + "/" + path)[.posixPermissions] as? Int
        }
        return modes
    }

    @Test("every file and directory a data directory gets is private to its owner by default")
    func everythingIsPrivateByDefault() throws {
        let dir = TemporaryDirectory()
        // The helper's fixture touches every kind of file: logs, inboxes, index, queues, schedules.
        let helper = try ChildProcess("DurableTestHelper", ["features", dir.data])
        _ = helper.allOutput()
        try #require(helper.wait().status == 0)
        let modes = try modes(under: dir.data)
        #expect(modes.count > 300)
        let open = modes.filter { $0.value & 0o077 != 0 }
        #expect(open.isEmpty, "readable by others: \(open.sorted { $0.key < $1.key }.prefix(5))")
        #expect(modes.contains { $0.key.hasSuffix(".inbox") } && modes.contains { $0.key.hasPrefix("queues/") })
        #expect(modes.contains { $0.key.hasPrefix("schedules/") } && modes.contains { $0.key.hasSuffix(".wlog") })
    }

    @Test("group-readable permissions apply to what the engine creates")
    func groupReadableWhenConfigured() async throws {
        let dir = TemporaryDirectory()
        let configuration = DurableEngine.Configuration(applicationVersion: "1")
        var options = LogStore.Options()
        options.permissions = .groupReadable
        let engine = DurableEngine(
            store: try FileWorkflowStore(directory: dir.data, options: options), configuration: configuration)
        engine.register(name: "hello") { (name: String, context: WorkflowContext) -> String in
            try await context.step("greet") { "hello \(name)" }
        }
        try await engine.launch()
        #expect(try await engine.start(name: "hello", "you", id: "hello-1", as: String.self).result() == "hello you")
        await engine.shutdown()
        let modes = try modes(under: dir.data)
        let log = try #require(modes.first { $0.key.hasSuffix(".wlog") })
        #expect(log.value == 0o640)
        #expect(modes["wf"] == 0o750 && modes["index"] == 0o750)
        #expect(modes.allSatisfy { $0.value & 0o007 == 0 })
    }
}

@Suite("Descriptors", .timeLimit(.minutes(3)))
struct DescriptorTests {
    @Test("every descriptor the engine holds is close-on-exec, so a child process inherits none of its files or locks")
    func everyDescriptorIsCloseOnExec() async throws {
        let dir = TemporaryDirectory()
        let engine = try makeEngine(dir)
        engine.register(name: "talk") { (_: Int, context: WorkflowContext) -> String in
            try await context.recv(topic: "go", as: String.self, timeout: .seconds(30)) ?? "-"
        }
        engine.register(WorkflowQueue("q", concurrency: 1))
        try await engine.launch()
        let handle = try await engine.start(name: "talk", 0, id: "talk-1", as: String.self)
        try await engine.send(to: "talk-1", topic: "go", "hi")
        #expect(try await handle.result() == "hi")
        var checked = 0
        for name in try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") {
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + name),
                target.hasPrefix(dir.data) || target.hasPrefix("pipe:") || target.contains("inotify")
            else { continue }
            let info = try String(contentsOfFile: "/proc/self/fdinfo/" + name, encoding: .utf8)
            let flags =
                info.split(separator: "\n").first { $0.hasPrefix("flags:") }.flatMap {
                    Int($0.dropFirst(6).trimmingCharacters(in: .whitespaces), radix: 8)
                } ?? 0
            // Pipes and inotify descriptors of the test process itself (its output) are not ours to judge.
            if !target.hasPrefix(dir.data) && flags & 0o2000000 == 0 { continue }
            #expect(flags & 0o2000000 != 0, "\(target) is inherited by child processes")
            checked += 1
        }
        #expect(checked > 5)
        await engine.shutdown()
    }
}
