#!/usr/bin/env python3
"""A real fault seen in a real browser: the page of a running `hemostat run --dry-run` shows
the incident of a container that crashed after the page loaded, without a reload.

Run by HemoStatDashboardTests.RunScenarioTests, which starts `hemostat run --dry-run` against
the private test Redis and Docker engine and passes:
  DASHBOARD_URL   http://127.0.0.1:<port> of that process
  READY_FILE      written by this script once the page is loaded and its live feed connected
  CONTAINER_FILE  written by the Swift test with the name of the crashing container it started
  SCREENSHOT      optional: where to save a PNG of the page with the incident
Prints one line per check and exits non-zero on the first failure.
"""
import os

from browser_checks import BrowserPage, Checks, wait_until

URL = os.environ["DASHBOARD_URL"]
READY_FILE = os.environ["READY_FILE"]
CONTAINER_FILE = os.environ["CONTAINER_FILE"]
SCREENSHOT = os.environ.get("SCREENSHOT")

checks = Checks()
check = checks.check


def main():
    with BrowserPage() as (page, console_errors, dialogs):
        page.goto(URL + "/", wait_until="load")
        page.wait_for_selector("#live.on", timeout=15000)
        page.wait_for_selector("#dry-run-banner:not([hidden])", timeout=15000)
        check("the page of hemostat run loads with its live feed and the dry-run banner", True)
        page.evaluate("window.__marker = 'same page'")
        with open(READY_FILE, "w") as f:
            f.write("ready\n")

        check("the test started a crashing container",
              wait_until(lambda: os.path.exists(CONTAINER_FILE) and open(CONTAINER_FILE).read().strip() != "", 60))
        name = open(CONTAINER_FILE).read().strip()
        card = page.locator(f'#incidents article[data-container="{name}"]:not([data-incident=""])')
        check("its incident appears without a reload", wait_until(lambda: card.count() == 1, 30),
              page.locator("#incidents").inner_text())
        check("the page was not reloaded", page.evaluate("window.__marker") == "same page")
        check("the incident says the container exited", "exit 1" in card.inner_text(), card.inner_text())
        check("the incident says what the dry-run responder would do",
              wait_until(lambda: "would restart" in card.inner_text(), 30), card.inner_text())
        row = page.locator(f'#containers tr[data-container="{name}"]')
        check("the grid lists the container as exited",
              wait_until(lambda: row.count() == 1 and "exited" in row.inner_text(), 30),
              row.all_inner_texts())
        check("the history lists the dry-run outcome",
              wait_until(lambda: page.locator("#history tr[data-status=skipped]", has_text=name).count() >= 1, 10),
              page.locator("#history").inner_text()[:500])
        rule = page.locator("#rules tr", has_text="crash-restart")
        check("the rules panel counts the rule that matched",
              wait_until(lambda: rule.count() == 1 and rule.locator("td").nth(1).inner_text() == "1", 15),
              rule.all_inner_texts())
        checks.finish(page, console_errors, dialogs, SCREENSHOT)


if __name__ == "__main__":
    main()
