/// The page and its assets, compiled into the binary: the dashboard works with no internet and
/// no files beside the executable.
enum DashboardAssets {
    static let html = "<!doctype html><title>x</title>"
    static let javascript = ""
    static let css = ""
    static let favicon = ""
}
