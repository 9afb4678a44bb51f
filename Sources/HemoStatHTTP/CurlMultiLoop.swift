import CCurl
import Foundation
import Logging

/// One thread running a libcurl multi handle for all transfers of an ``HTTPClient``.
///
/// Other threads never touch the multi handle or an attached easy handle: they enqueue an add
/// or a cancel under `lock` and call `curl_multi_wakeup`, the only multi function libcurl
/// allows from another thread. The loop thread drains the queue, drives the transfers with
/// `curl_multi_perform`, and sleeps in `curl_multi_poll`.
///
/// `@unchecked Sendable`: `commands` and `stopping` are guarded by `lock`; `active` and the
/// handles are touched only on the loop thread; `multi` is immutable after init and freed in
/// deinit, which cannot run while the thread (which holds a strong reference) is alive.
final class CurlMultiLoop: @unchecked Sendable {
    private enum Command {
        case add(Transfer)
        case cancel(Transfer, HTTPClientError.Code, String)
    }

    private let multi: UnsafeMutableRawPointer
    private let lock = NSLock()
    private var commands: [Command] = []
    private var stopping = false
    private var active: [UnsafeMutableRawPointer: Transfer] = [:]
    private let logger: Logger

    init(logger: Logger) {
        _ = CurlGlobal.initialised
        guard let multi = curl_multi_init() else {
            fatalError("curl_multi_init failed: libcurl is out of memory")
        }
        self.multi = multi
        self.logger = logger
        let thread = Thread { [self] in run() }
        thread.name = "hemostat-http"
        thread.start()
    }

    deinit {
        curl_multi_cleanup(multi)
    }

    /// Starts `transfer`; its completion fires on the loop thread.
    func submit(_ transfer: Transfer) {
        lock.lock()
        if stopping {
            lock.unlock()
            transfer.finish(transfer.description.error(.cancelled, "the HTTP client was shut down"))
            return
        }
        commands.append(.add(transfer))
        lock.unlock()
        curl_multi_wakeup(multi)
    }

    /// Aborts `transfer` if it has not finished; harmless if it has.
    func cancel(_ transfer: Transfer, code: HTTPClientError.Code = .cancelled, reason: String = "cancelled") {
        lock.lock()
        transfer.cancelRequested = true
        commands.append(.cancel(transfer, code, reason))
        lock.unlock()
        curl_multi_wakeup(multi)
    }

    /// Fails every transfer with `.cancelled` and ends the thread. Returns at once.
    func shutdown() {
        lock.lock()
        stopping = true
        lock.unlock()
        curl_multi_wakeup(multi)
    }

    private func run() {
        var running: Int32 = 0
        var left: Int32 = 0
        while true {
            lock.lock()
            let pending = commands
            commands.removeAll()
            let stop = stopping
            lock.unlock()

            for command in pending {
                switch command {
                case .add(let transfer):
                    lock.lock()
                    let cancelled = transfer.cancelRequested
                    lock.unlock()
                    if cancelled || stop {
                        transfer.finish(transfer.description.error(.cancelled, "cancelled"))
                    } else if curl_multi_add_handle(multi, transfer.easy.raw) != CURLM_OK {
                        transfer.finish(transfer.description.error(.other, "libcurl refused the transfer"))
                    } else {
                        active[transfer.easy.raw] = transfer
                    }
                case .cancel(let transfer, let code, let reason):
                    if active.removeValue(forKey: transfer.easy.raw) != nil {
                        curl_multi_remove_handle(multi, transfer.easy.raw)
                        transfer.finish(transfer.description.error(code, reason))
                    }
                }
            }

            if stop {
                for (easy, transfer) in active {
                    curl_multi_remove_handle(multi, easy)
                    transfer.finish(transfer.description.error(.cancelled, "the HTTP client was shut down"))
                }
                active.removeAll()
                logger.debug("HTTP client loop stopped")
                return
            }

            curl_multi_perform(multi, &running)
            while let message = curl_multi_info_read(multi, &left) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
                // Read the result before detaching: detaching invalidates the message.
                let result = hs_curl_msg_result(message)
                curl_multi_remove_handle(multi, easy)
                active.removeValue(forKey: easy)?.complete(result)
            }

            var ready: Int32 = 0
            curl_multi_poll(multi, nil, 0, 1000, &ready)
        }
    }
}
