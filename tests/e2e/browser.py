"""Headless Debian Chromium for the UI tests, driven by Playwright.

No browser can be downloaded here (never ``playwright install``): Playwright's pip wheel ships
only its driver, and drives the Debian ``chromium`` package through ``executable_path``. A
missing browser is a failure with the fix in its message, never a skip: ``./dev test`` installs
it when run as root (tests/prereqs.py).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import UUID

from playwright.sync_api import BrowserContext, Locator, Page, expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
# Headless, offline and quiet: no first-run UI, no background updates or sync, no QUIC.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]


class BrowserMissingError(RuntimeError):
    """Debian's chromium is not installed."""


def chromium_path() -> Path:
    """The Chromium to drive; raises BrowserMissingError saying how to install it."""
    found = CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")
    if not found:
        raise BrowserMissingError(
            f"{CHROMIUM} not found: the browser tests need Debian's Chromium. "
            "Install it with `apt-get install -y chromium` (./dev test does when run as root)."
        )
    return Path(found)


@contextmanager
def chromium(profile_dir: Path) -> Iterator[BrowserContext]:
    """A headless Chromium context with an empty profile in ``profile_dir`` (created if needed)."""
    executable = chromium_path()
    profile_dir.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile_dir),
            executable_path=str(executable),
            headless=True,
            args=FLAGS,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            yield context
        finally:
            context.close()


class ResumeForm:
    """The paused run's "Resume Flow Run" form in the Prefect UI, found by roles and visible text.

    Prefect renders it from the RunInput's JSON schema: one ``.schema-form-property`` per field,
    labelled by the field's title (the labels are not tied to their inputs, so ``get_by_label``
    finds nothing).
    """

    def __init__(self, page: Page) -> None:
        self.page = page
        # aria-labelledby points at an id the title lacks, so the dialog has no accessible name.
        self.dialog = page.get_by_role("dialog").filter(has_text="Resume Flow Run")

    @classmethod
    def open(cls, page: Page, ui_url: str, flow_run_id: UUID) -> ResumeForm:
        """Go to the run's page and click Resume."""
        page.goto(f"{ui_url}/runs/flow-run/{flow_run_id}")
        page.get_by_role("button", name="Resume").click()
        form = cls(page)
        expect(form.dialog).to_be_visible()
        return form

    def field(self, title: str) -> Locator:
        label = self.page.locator(".schema-form-property__label", has_text=title)
        return self.dialog.locator(".schema-form-property").filter(has=label)

    def answer(self, *, approve: bool, approver: str, reason: str) -> None:
        """Fill in the approval and submit it; returns once the form has closed."""
        switch = self.field("Approve this plan").get_by_role("switch")
        if (switch.get_attribute("aria-checked") == "true") != approve:
            switch.click()
        expect(switch).to_have_attribute("aria-checked", str(approve).lower())
        self.field("Your name").locator("textarea").fill(approver)
        self.field("Reason").locator("textarea").fill(reason)
        self.dialog.get_by_role("button", name="Submit").click()
        expect(self.dialog).to_be_hidden()
