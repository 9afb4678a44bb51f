public import Foundation
public import HemoStatCore
public import HemoStatDocker
public import HemoStatResponder

/// The responder's engine over the Docker Engine API. Inspects by name; issues restart, start,
/// stop, kill, pause, unpause, update and exec. Never removes anything.
public struct DockerRemediationEngine: RemediationEngine {
    private let client: DockerClient

    public init(client: DockerClient) {
        self.client = client
    }

    public func inspect(_ container: String) async throws -> ContainerInspection? {
        let inspect: ContainerInspect
        do {
            inspect = try await client.inspect(container)
        } catch let error as DockerError where error.code == .notFound {
            return nil
        } catch {
            throw Self.engineError(error)
        }
        return DockerContainerEngine.inspection(inspect)
    }

    public func perform(_ command: EngineCommand, on container: String) async throws {
        do {
            switch command {
            case .restart(let timeout):
                try await client.restart(container, timeout: Int(timeout.milliseconds / 1000))
            case .start:
                try await client.start(container)
            case .stop(let timeout):
                try await client.stop(container, timeout: Int(timeout.milliseconds / 1000))
            case .kill(let signal):
                try await client.kill(container, signal: signal)
            case .pause:
                try await client.pause(container)
            case .unpause:
                try await client.unpause(container)
            case .updateResources(let memory, let cpus):
                // A new memory limit needs the swap limit moved with it; -1 leaves swap unlimited.
                try await client.update(container, resources: ResourceUpdate(
                    memory: memory.map(Int64.init), memorySwap: memory == nil ? nil : -1,
                    nanoCPUs: cpus.map { Int64(($0 * 1e9).rounded()) }))
            case .exec(let argv):
                let result = try await client.exec(container, command: argv)
                if result.exitCode != 0 {
                    // The output stays out of the error: it may hold anything the command printed.
                    throw ContainerEngineError(code: .failed, message: "exec exited with code \(result.exitCode)")
                }
            }
        } catch let error as ContainerEngineError {
            throw error
        } catch {
            throw Self.engineError(error)
        }
    }

    public func actions(on container: String, since: Date) async throws -> [String] {
        var actions: [String] = []
        do {
            let events = client.events(filters: ["type": ["container"], "container": [container]], since: since, until: Date())
            for try await event in events { actions.append(event.baseAction) }
        } catch {
            throw Self.engineError(error)
        }
        return actions
    }

    static func engineError(_ error: any Error) -> ContainerEngineError {
        guard let docker = error as? DockerError else {
            return ContainerEngineError(code: .failed, message: "\(error)")
        }
        switch docker.code {
        case .notFound: return ContainerEngineError(code: .notFound, message: docker.message)
        case .unreachable, .timeout: return ContainerEngineError(code: .unreachable, message: docker.message)
        default: return ContainerEngineError(code: .failed, message: docker.message)
        }
    }
}
