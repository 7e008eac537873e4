"""The portal on a phone: number fields bring up the keypad, the password rules show
before the first try, the language switch is at the top, the home has its services."""

import re


def test_number_fields_bring_up_the_phone_keypad(login_as):
    page = login_as("owner").get("/portal/profile").text
    for name in ("mobile", "emergency_phone"):
        tag = re.search(rf'<input[^>]*id="{name}"[^>]*>', page).group(0)
        assert 'type="tel"' in tag and 'inputmode="tel"' in tag, tag


def test_password_rules_show_before_the_first_try(login_as):
    page = login_as("owner").get("/portal/profile").text
    assert "至少 10 个字符" in page and "不要使用常见密码" in page


def test_the_language_switch_is_at_the_top_of_every_page(login_as, client, demo):
    for response in (client.get("/login"), login_as("owner").get("/portal/")):
        header = response.text.split("</header>")[0]
        assert 'name="lang" value="en"' in header


def test_the_home_screen_lists_the_residents_services(login_as):
    page = login_as("owner").get("/portal/").text
    services = page[page.index('class="panel entries"') :].split("</nav>")[0]
    assert 'href="/portal/profile"' in services and "我的住户信息" in services
    assert "致电物业" in services
