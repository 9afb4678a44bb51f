"""What both browser tests share: numbered checks, polling with a deadline, and a headless
Debian Chromium page that records console errors and dialogs."""
import sys
import time

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"


class Checks:
    def __init__(self):
        self.passed = 0

    def check(self, name, condition, detail=""):
        if not condition:
            print(f"FAIL {name} {detail}", flush=True)
            print(f"{self.passed} passed, 1 failed", flush=True)
            sys.exit(1)
        self.passed += 1
        print(f"ok   {name}", flush=True)

    def finish(self, page, errors, dialogs, screenshot=None):
        """Saves the screenshots (viewport, and `-full` for the whole page) when asked, checks
        that no dialog fired and nothing was logged as an error, and prints the total."""
        if screenshot:
            page.screenshot(path=screenshot)
            page.screenshot(path=screenshot.replace(".png", "-full.png"), full_page=True)
        self.check("no dialog fired", not dialogs, str(dialogs))
        self.check("no console errors", not errors, str(errors))
        self.done()

    def done(self):
        print(f"{self.passed} passed, 0 failed", flush=True)


def wait_until(predicate, seconds=8.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


class BrowserPage:
    """`with BrowserPage() as (page, errors, dialogs):` a 1440x1000 page; console errors and
    page errors go to `errors`, dialogs (dismissed) to `dialogs`."""

    def __enter__(self):
        self.playwright = sync_playwright().start()
        self.browser = self.playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        page = self.browser.new_page(viewport={"width": 1440, "height": 1000})
        errors, dialogs = [], []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))

        def on_dialog(d):
            dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", on_dialog)
        return page, errors, dialogs

    def __exit__(self, *exc):
        self.browser.close()
        self.playwright.stop()
        return False
