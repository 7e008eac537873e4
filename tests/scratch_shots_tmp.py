# Temporary: extra screenshots for a human look. Deleted after use.
from .test_browser import *  # noqa

OUT = SCREENSHOTS.parent / "extra"

def test_extra(new_tab, backend):
    if backend != "sqlite":
        return
    OUT.mkdir(parents=True, exist_ok=True)
    tab = new_tab(width=375)
    sign_in(tab, "admin")
    tab.page.locator(".navbar-toggler").click()
    tab.page.wait_for_timeout(500)
    tab.page.locator("#user-menu").click()
    tab.page.wait_for_timeout(300)
    tab.page.screenshot(path=str(OUT / "admin-menu-375.png"), full_page=True)
    tab = new_tab(width=1280)
    sign_in(tab, "admin")
    tab.page.locator("#user-menu").click()
    tab.page.wait_for_timeout(300)
    tab.page.screenshot(path=str(OUT / "admin-user-1280.png"))
    tab.page.get_by_text("房产").click()
    tab.page.wait_for_timeout(300)
    tab.page.screenshot(path=str(OUT / "admin-prop-1280.png"))
    tab.goto("/admin/unit/")
    tab.page.screenshot(path=str(OUT / "admin-units-1280.png"), full_page=True)
    tab = new_tab(width=375, locale="en-US")
    tab.goto("/login")
    tab.page.screenshot(path=str(OUT / "login-en-375.png"), full_page=True)
    sign_in(tab, "owner", "wrong")
    tab.page.screenshot(path=str(OUT / "login-wrong-375.png"), full_page=True)
    sign_in(tab, "owner")
    tab.page.screenshot(path=str(OUT / "portal-en-375.png"), full_page=True)
    tab = new_tab(width=375)
    sign_in(tab, "owner")
    tab.goto("/portal/profile")
    tab.page.screenshot(path=str(OUT / "profile-375.png"), full_page=True)
    tab = new_tab(width=375)
    sign_in(tab, "tenant")
    tab.page.screenshot(path=str(OUT / "portal-tenant-375.png"), full_page=True)
