import ArgumentParser
import DurableWorkflows
import FoundationEssentials

extension DurableCommand {
    /// `durable schedules [list|pause|resume|trigger]`.
    struct Schedules: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List, pause, resume or trigger cron schedules.",
            subcommands: [ListSchedules.self, Pause.self, ResumeSchedule.self, Trigger.self],
            defaultSubcommand: ListSchedules.self)

        struct ListSchedules: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "list", abstract: "List schedules with their next tick.")
            @OptionGroup var directory: DirectoryOptions
            @Flag(help: "Print JSON.") var json = false

            func run() async throws {
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                let states = try await directory.openClient(writing: false).schedules()
                let next = states.map { state in
                    (try? CronSchedule(state.name, cron: state.cron, timeZone: state.timeZone))?.nextTick(after: now)?
                        .iso8601
                }
                if json {
                    print(
                        JSONText.array(
                            zip(states, next).map { state, next in
                                .object([
                                    ("name", .string(state.name)), ("cron", .string(state.cron)),
                                    ("timeZone", .string(state.timeZone)),
                                    ("workflow", .string(state.workflowName)),
                                    ("queue", state.queue.map { .string($0) } ?? .null),
                                    ("paused", .bool(state.paused)),
                                    ("lastFiredAt", state.lastFiredAt.map { .number(Int($0)) } ?? .null),
                                    ("nextTick", next.map { .string($0) } ?? .null),
                                ])
                            }
                        ).rendered)
                    return
                }
                let rows = zip(states, next).map { state, next in
                    [
                        state.name, state.cron, state.timeZone, state.workflowName, state.paused ? "paused" : "active",
                        state.lastFiredAt.map(TextTable.time) ?? "-", next ?? "-",
                    ]
                }
                print(
                    TextTable.render(
                        header: ["SCHEDULE", "CRON", "ZONE", "WORKFLOW", "STATE", "LAST FIRED", "NEXT TICK"], rows: rows
                    ))
            }
        }

        struct Pause: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Skip a schedule's ticks (in every process) until it is resumed.")
            @OptionGroup var directory: DirectoryOptions
            @Argument(help: "The schedule.") var name: String

            func run() async throws {
                try await directory.openClient().pauseSchedule(name)
                print("\(name): paused")
            }
        }

        struct ResumeSchedule: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "resume", abstract: "Fire a paused schedule's ticks again.")
            @OptionGroup var directory: DirectoryOptions
            @Argument(help: "The schedule.") var name: String

            func run() async throws {
                try await directory.openClient().resumeSchedule(name)
                print("\(name): active")
            }
        }

        struct Trigger: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Start a schedule's workflow once now (paused or not). Prints its ID.")
            @OptionGroup var directory: DirectoryOptions
            @Argument(help: "The schedule.") var name: String

            func run() async throws {
                print(try await directory.openClient().triggerSchedule(name))
            }
        }
    }
}
