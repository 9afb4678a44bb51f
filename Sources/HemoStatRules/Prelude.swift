/// The Lua code that builds the sandbox every rule file runs in: the verdict constructors,
/// the history helpers `h`, the read-only `config` table and `rule{…}` registration.
///
/// It runs once per Lua state with the base, string, table, math and utf8 libraries open,
/// receives `(with_caller, function_line, thresholds, verdict_constructor, seal)` and returns the
/// module table the runtime drives (`load_file`, `state`, `helpers`, `verdict_mt`). Rule files never see the
/// state's real globals: each file gets its own environment whose fallback is a read-only
/// whitelist.
enum Prelude {
    static let chunkName = "=hemostat"

    /// The text of `Lua/prelude.lua`, embedded in the binary at build time.
    static let source = String(decoding: PackageResources.prelude_lua, as: UTF8.self)
}
