
/// The page and its assets (`web/`), embedded in the binary at build time: the dashboard works
/// with no internet and no files beside the executable. Values from Redis reach the page only
/// through `textContent` and `setAttribute` in the script, and the Content-Security-Policy
/// allows no inline script.
enum DashboardAssets {
    static let html = PackageResources.index_html
    static let css = PackageResources.app_css
    static let javascript = PackageResources.app_js
    static let favicon = PackageResources.favicon_svg
}
