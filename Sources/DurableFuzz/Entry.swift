// durable-fuzz: libFuzzer targets for the decoders (see FuzzTarget and tools/fuzz).
//
// Built with `-sanitize=fuzzer` and `-DFUZZING` (tools/fuzz), libFuzzer (LLVMFuzzerRunDriver)
// drives the target named by DURABLE_FUZZ_TARGET. Built normally, it replays inputs instead:
//   DurableFuzz <target> <file or directory>...
// which the test suite does with every regression input under Fixtures/fuzz/<target>/.
#if canImport(Glibc)
import Glibc
#endif
import Foundation

#if FUZZING
/// libFuzzer's entry point for a program with a `main` of its own (SwiftPM gives every
/// executable one).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

/// What libFuzzer calls with each input (also the callback handed to LLVMFuzzerRunDriver).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let target = FuzzTarget(rawValue: ProcessInfo.processInfo.environment["DURABLE_FUZZ_TARGET"] ?? "") ?? .json
    target.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

@main
struct Fuzz {
    static func main() {
        guard let name = ProcessInfo.processInfo.environment["DURABLE_FUZZ_TARGET"], FuzzTarget(rawValue: name) != nil
        else {
            print("set DURABLE_FUZZ_TARGET to one of \(FuzzTarget.allCases.map(\.rawValue))")
            exit(64)
        }
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOneInput))
    }
}
#else
@main
struct Replay {
    static func main() {
        let arguments = CommandLine.arguments
        guard arguments.count >= 3, let target = FuzzTarget(rawValue: arguments[1]) else {
            print(
                "usage: DurableFuzz <\(FuzzTarget.allCases.map(\.rawValue).joined(separator: "|"))> <file or directory>..."
            )
            exit(64)
        }
        var count = 0
        for path in arguments.dropFirst(2) {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
            let files =
                isDirectory.boolValue
                ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map { path + "/" + $0 }
                : [path]
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else { continue }
                target.run(Array(data))
                count += 1
            }
        }
        print("replayed \(count) inputs through \(target.rawValue)")
    }
}
#endif
