"""What a user sees in a real browser: sign in, open an organization, look at its tabs.

Runs headless Debian Chromium (/usr/bin/chromium) through Playwright; no browser
is ever downloaded. Without Chromium the test is skipped locally and fails in CI.
"""

import os
import re
from pathlib import Path

import pytest

from crm.tests.factories import IndividualFactory, OrganizationFactory, UserFactory

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]

pytestmark = pytest.mark.browser


@pytest.fixture
def chromium_path():
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (Debian package `chromium`); browser tests never download a browser."
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return str(CHROMIUM)


def test_user_signs_in_and_sees_an_organization_with_its_people(live_server, transactional_db, chromium_path):
    from playwright.sync_api import expect, sync_playwright

    # Arrange before Playwright starts: its event loop makes the ORM refuse sync calls in this thread.
    UserFactory(username="ana", first_name="Ana", last_name="Fischer", password="demo")
    org = OrganizationFactory(name="Northwind Logistics GmbH")
    IndividualFactory(first_name="Lena", last_name="Hoffmann", job_title="Head of Operations", organization=org)
    org_url = f"{live_server.url}/organizations/{org.pk}/"

    failed = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(15_000)
            page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
            page.on("requestfailed", lambda r: failed.append(f"failed {r.url}"))

            # A signed-out user following a link to the organization gets the sign-in form first.
            page.goto(org_url)
            expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
            page.get_by_label("Username").fill("ana")
            page.get_by_label("Password").fill("demo")
            page.get_by_role("button", name="Sign in").click()

            expect(page).to_have_url(org_url)
            expect(page.get_by_test_id("signed-in-user")).to_contain_text("Ana Fischer")
            expect(page.get_by_role("heading", level=1)).to_contain_text("Northwind Logistics GmbH")
            tabs = page.locator(".nav-tabs .nav-link")
            expect(tabs.filter(has_text="Overview")).to_have_attribute("aria-current", "page")
            people_tab = tabs.filter(has_text="People")
            expect(people_tab).to_contain_text("1")

            people_tab.click()
            expect(page).to_have_url(re.compile(r"/organizations/\d+/tabs/individuals/$"))
            row = page.locator(".tab-body tbody tr")
            expect(row).to_have_count(1)
            expect(row).to_contain_text("Lena Hoffmann")
            expect(row).to_contain_text("Head of Operations")
            expect(tabs.filter(has_text="People")).to_have_attribute("aria-current", "page")

            # Bootstrap (from the installed `bootstrap` app) really styles the page.
            navbar_display = page.locator("nav.navbar").evaluate("el => getComputedStyle(el).display")
            assert navbar_display == "flex"
        finally:
            browser.close()

    assert failed == []
