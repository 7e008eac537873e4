"""Chinese by default, English on request: the user's choice, then Accept-Language."""

from sqlalchemy import select

from models import User

from .helpers import csrf_from, login


def test_chinese_is_the_default(app):
    page = app.test_client().get("/login")
    assert "<h1>登录</h1>" in page.text and 'lang="zh-CN"' in page.text


def test_accept_language_english(app):
    page = app.test_client().get("/login", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert "<h1>Sign in</h1>" in page.text


def test_accept_language_prefers_chinese_when_asked(app):
    page = app.test_client().get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert "<h1>登录</h1>" in page.text


def test_the_users_choice_wins_over_the_browser(app, demo, db_session):
    client = app.test_client()
    login(client, "owner")
    page = client.get("/portal/", headers={"Accept-Language": "zh-CN"})
    response = client.post(
        "/language", data={"lang": "en", "next": "/portal/", "csrf_token": csrf_from(page.text)}
    )
    assert response.location == "/portal/"
    assert "My units" in client.get("/portal/", headers={"Accept-Language": "zh-CN"}).text
    assert db_session.scalar(select(User.locale).where(User.username == "owner")) == "en"
    # Another device of the same user follows the stored choice.
    other = app.test_client()
    login(other, "owner")
    assert "My units" in other.get("/portal/").text


def test_admin_is_chinese_including_flask_admins_own_words(login_as):
    page = login_as("admin").get("/admin/unit/")
    for word in ("列表", "创建", "搜索", "房号", "楼栋"):
        assert word in page.text


def test_every_message_of_the_chinese_catalog_is_translated():
    from propadmin.translations.tools.untranslated import untranslated

    assert untranslated() == []


def test_templates_translate_and_escape_the_values_put_into_a_message(app):
    from flask import render_template_string
    from flask_babel import force_locale

    source = '{{ _("Hello, %(name)s", name=who) }} {{ gettext("Sign out") }} {{ _("100%% sure") }}'
    with app.test_request_context("/"):
        with force_locale("en"):
            english = render_template_string(source, who="<b>Ann</b>")
        with force_locale("zh_Hans_CN"):
            chinese = render_template_string(source, who="<b>Ann</b>")
    assert english == "Hello, &lt;b&gt;Ann&lt;/b&gt; Sign out 100% sure"
    assert "&lt;b&gt;Ann&lt;/b&gt;" in chinese and "Hello" not in chinese
    assert "退出" in chinese


def test_a_page_after_a_mail_in_another_language_is_in_the_pages_language(app):
    """A request in English that renders a Chinese mail (``force_locale``) goes on in English."""
    from flask import render_template_string
    from flask_admin.babel import gettext as admin_gettext
    from flask_babel import force_locale, lazy_gettext

    label = lazy_gettext("Sign out")  # a label translated when it is drawn

    def words():
        return render_template_string('{{ _("Sign out") }}'), str(label), admin_gettext("Delete")

    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        before = words()
        with force_locale("zh_Hans_CN"):
            mail = words()
        after = words()
    assert before == after == ("Sign out", "Sign out", "Delete")
    assert mail == ("退出登录", "退出登录", "删除")


def test_pages_and_mails_in_both_languages_one_after_the_other_in_one_process(app):
    """Templates are compiled once per language with their fixed texts translated
    (propadmin/templating.py): each page and mail is in its own language, whichever was
    drawn before it, and a mail drawn in Chinese inside an English request is Chinese."""
    from flask import render_template
    from flask_babel import force_locale

    client = app.test_client()
    for language, heading in [("en", "Sign in"), ("zh-CN", "登录"), ("en", "Sign in")]:
        page = client.get("/login", headers={"Accept-Language": language})
        assert f"<h1>{heading}</h1>" in page.text
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        english = render_template("email/_base.html")
        with force_locale("zh_Hans_CN"):
            chinese = render_template("email/_base.html")
        again = render_template("email/_base.html")
    assert "Please do not reply to it." in english and english == again
    assert "请勿回复" in chinese and "Please do not reply" not in chinese
    assert 'lang="zh-CN"' in chinese and 'lang="en"' in english


def test_flask_admins_own_words_in_both_languages_one_after_the_other(login_as):
    """Flask-Admin's templates too are compiled once per language, with its own catalogue."""
    client = login_as("admin")
    for language, (listed, create) in [
        ("en", ("List (", ">Create<")),
        ("zh-CN", ("列表 (", ">创建<")),
        ("en", ("List (", ">Create<")),
    ]:
        page = client.get("/admin/unit/", headers={"Accept-Language": language})
        assert listed in page.text and create in page.text, language


def test_the_portals_fixed_labels_in_both_languages_one_after_the_other(app, demo):
    """The tab bar, the home screen's entries and the relation badges are fixed tables of
    labels, drawn as text once per language (i18n.in_language): each language keeps its own."""
    client = app.test_client()
    login(client, "owner")
    english = ('class="badge">Owner<', ">My household", ">Pay bills")
    chinese = ('class="badge">业主<', ">我的住户信息", ">缴费")
    for language, words, others in [
        ("en", english, chinese),
        ("zh-CN", chinese, english),
        ("en", english, chinese),
    ]:
        page = client.get("/portal/", headers={"Accept-Language": language}).text
        assert all(word in page for word in words), language
        assert not any(word in page for word in others), language
