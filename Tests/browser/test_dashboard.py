#!/usr/bin/env python3
"""Drives the dashboard in headless Chromium (Debian's /usr/bin/chromium) with Playwright.

Run by HemoStatDashboardTests.BrowserTests, which starts a dashboard on a free port against the
private test Redis, seeds it under a unique key prefix, and passes:
  DASHBOARD_URL   http://127.0.0.1:<port>
  REDIS_SOCKET    path of the test Redis' unix socket (for redis-cli)
  KEY_PREFIX      the prefix the dashboard reads
  SCREENSHOT      optional: where to save a full-page PNG
Checks: the page loads with no console errors; an incident published after the page loaded
appears without a reload; the history filters work; a label holding HTML markup is shown as
text and never executed. Prints one line per check and exits non-zero on the first failure.
"""
import json
import os
import subprocess
import uuid
from datetime import datetime, timezone

from browser_checks import BrowserPage, Checks, wait_until

URL = os.environ["DASHBOARD_URL"]
SOCKET = os.environ["REDIS_SOCKET"]
PREFIX = os.environ["KEY_PREFIX"]
SCREENSHOT = os.environ.get("SCREENSHOT")
MARKUP = "<img src=x onerror=alert(1)>"

checks = Checks()
check = checks.check


def redis(*args):
    subprocess.run(["redis-cli", "-s", SOCKET, *args], check=True, capture_output=True)


def publish(channel, event_type, data):
    message = json.dumps({
        "event_type": event_type,
        "timestamp": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
        "agent": "monitor", "host": "node-1", "id": str(uuid.uuid4()), "data": data,
    })
    redis("XADD", PREFIX + channel, "*", "message", message)
    redis("PUBLISH", PREFIX + channel, message)


def main():
    with BrowserPage() as (page, console_errors, dialogs):
        page.goto(URL + "/", wait_until="load")
        page.wait_for_selector("#containers tr[data-container]", timeout=10000)
        page.wait_for_selector("#live.on", timeout=10000)
        page.wait_for_selector("#history tr[data-status]", timeout=10000)
        check("page loads and the live feed connects", page.locator("#containers tr[data-container]").count() >= 3)

        # Markup in a label is text.
        chip = page.locator("#containers .chip", has_text=MARKUP)
        check("a label with markup is shown as text", chip.count() == 1 and MARKUP in chip.first.inner_text(),
              f"chips: {page.locator('#containers .chip').all_inner_texts()}")
        check("the markup created no element", page.evaluate("document.querySelectorAll('main img').length") == 0)
        name_cell = page.locator("#containers tr[data-container] .name", has_text="<b>bold</b>")
        check("a container name with markup is shown as text", name_cell.count() == 1)
        hosts = sorted(page.locator('#containers tr[data-container="web"] td.host').all_inner_texts())
        check("a name on two hosts is two rows, each with its host", hosts == ["node-1", "node-2"], str(hosts))
        page.fill("#host-filter", "node-2")
        check("the host filter shows that host's containers only",
              wait_until(lambda: page.locator("#containers tr[data-container]").count() == 1
                         and page.locator('#containers tr[data-host="node-2"]').count() == 1, 10),
              str(page.locator("#containers tr[data-container]").all_inner_texts()))
        page.fill("#host-filter", "")
        wait_until(lambda: page.locator("#containers tr[data-container]").count() >= 4, 10)

        # The rules panel, from the analyzer's rules:status.
        first_rule = page.locator("#rules tr").first.locator("td").all_inner_texts()
        check("the rules panel lists the most matched rule first with its counts",
              first_rule == ["restart_on_exit", "30", "28", "0"], str(first_rule))
        check("a disabled rule is marked off", page.locator("#rules tr.off", has_text="old_rule (off)").count() == 1)
        check("a rule file that failed to load is listed",
              "rules/x.lua:3: unexpected symbol" in page.locator("#rules-errors").inner_text())

        # Dry-run banner from the responder heartbeat.
        check("dry-run banner is shown", page.locator("#dry-run-banner").is_visible())

        # A new incident appears without a reload.
        page.evaluate("window.__marker = 'same page'")
        incident = "inc-" + uuid.uuid4().hex[:8]
        publish("health_alert", "health_alert", {
            "container_name": "fault-web", "container_id": "f00", "status": "exited", "health_status": "none",
            "exit_code": 137, "oom_killed": True, "incident_id": incident, "source": "event",
            "anomalies": [{"type": "oom_killed", "severity": "critical", "value": 1, "threshold": 0}],
        })
        selector = f'#incidents [data-incident="{incident}"]'
        appeared = wait_until(lambda: page.locator(selector).count() == 1, seconds=5)
        check("a new incident appears without a reload", appeared)
        check("the page was not reloaded", page.evaluate("window.__marker") == "same page")
        check("the incident says what is wrong", "OOM killed" in page.locator(selector).inner_text())
        check("the timeline shows the alert", wait_until(lambda: page.locator("#timeline li", has_text="fault-web").count() >= 1, 5))

        # History filters.
        total = page.locator("#history tr[data-status]").count()
        page.select_option("#filter-status", "failed")
        check("status filter narrows the history",
              wait_until(lambda: 0 < page.locator("#history tr[data-status]").count() < total
                         and page.locator("#history tr[data-status]:not([data-status=failed])").count() == 0),
              f"rows: {page.locator('#history tr[data-status]').count()} of {total}")
        page.fill("#filter-container", "worker")
        page.click("#history-filters button[type=submit]")
        def only_worker_failed():
            rows = page.locator("#history tr[data-status]")
            names = page.locator("#history tr[data-status] td.name").all_inner_texts()
            return rows.count() > 0 and all(n == "worker" for n in names) and \
                page.locator("#history tr[data-status]:not([data-status=failed])").count() == 0
        check("container filter combines with status", wait_until(only_worker_failed))
        page.fill("#filter-since", "2000-01-01T00:00")
        page.fill("#filter-until", "2000-01-02T00:00")
        page.click("#history-filters button[type=submit]")
        check("a time range with nothing in it shows no rows",
              wait_until(lambda: page.locator("#history tr[data-status]").count() == 0))
        page.click("#filter-reset")
        check("clearing the filters shows everything again",
              wait_until(lambda: page.locator("#history tr[data-status]").count() == total))

        # The audit record is one click away.
        page.locator("#history tr[data-status] button.link").first.click()
        page.wait_for_selector("#audit-dialog[open]", timeout=5000)
        check("the audit record opens", wait_until(lambda: page.locator("#audit-body pre").count() >= 1, 5),
              page.locator("#audit-body").inner_text())
        if SCREENSHOT:
            page.screenshot(path=SCREENSHOT.replace(".png", "-audit.png"))
        page.click("#audit-close")

        checks.finish(page, console_errors, dialogs, SCREENSHOT)


if __name__ == "__main__":
    main()
