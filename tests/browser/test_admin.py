"""The admin in headless Chromium: a staff workflow end to end, and who is kept out."""

import io
import re

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.management import call_command

from posts.models import Post
from profiles.models import Profile
from tests.factories import make_post, make_profile
from tests.support.staff import PASSWORD, REFUSED, make_staff

expect = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed: pip install -r requirements-dev.txt"
).expect


@pytest.fixture
def staff(django_user_model):
    return make_staff(django_user_model)


@pytest.fixture
def reader(django_user_model):
    """A Django user who is not staff."""
    return django_user_model.objects.create_user("reader", "reader@example.com", PASSWORD)


def log_in(page, username: str, password: str) -> None:
    page.goto("/admin/login/?next=/admin/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def rows(page):
    return page.locator("#result_list tbody tr")


def listed_titles(page) -> list[str]:
    return rows(page).locator("th.field-title a").all_inner_texts()


def expect_refused(page) -> None:
    expect(page.locator("p.errornote")).to_contain_text(REFUSED)
    page.goto("/admin/posts/post/")
    expect(page).to_have_url(re.compile(r"/admin/login/\?next=/admin/posts/post/$"))
    expect(page.locator("#login-form")).to_be_visible()


def test_staff_moderates_posts_and_corrects_a_profile(page, screenshot, staff, author, other_user):
    drafts = [make_post(author, title=f"Author draft {n}") for n in (1, 2)]
    published = make_post(author, published=True, title="Author published")
    other_draft = make_post(other_user, title="Other draft")

    log_in(page, "staff", PASSWORD)
    expect(page.locator("#user-tools")).to_contain_text("staff")
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    # The production cookie flags hold: Chromium keeps Secure cookies on http://localhost.
    session = next(c for c in page.context.cookies() if c["name"] == "sessionid")
    assert (session["secure"], session["httpOnly"]) == (True, True)
    screenshot("logged-in")

    page.goto("/admin/posts/post/")
    page.locator("#searchbar").fill("author@example.com")
    page.locator("#searchbar").press("Enter")
    expect(page).to_have_url(re.compile(r"q=author%40example\.com"))
    expect(rows(page)).to_have_count(3)
    assert sorted(listed_titles(page)) == ["Author draft 1", "Author draft 2", "Author published"]
    screenshot("searched")

    page.locator("#changelist-filter details", has_text="By published").get_by_role(
        "link", name="No", exact=True
    ).click()
    expect(page).to_have_url(re.compile(r"published__exact=0"))
    expect(rows(page)).to_have_count(2)
    assert sorted(listed_titles(page)) == ["Author draft 1", "Author draft 2"]
    screenshot("drafts")

    for checkbox in rows(page).locator("input.action-select").all():
        checkbox.check()
    expect(page.locator(".action-counter")).to_contain_text("2 of 2 selected")
    page.locator("select[name=action]").select_option(label="Publish selected posts")
    page.get_by_role("button", name="Go").click()
    expect(page.locator("ul.messagelist li.success")).to_have_text("2 post(s) published.")
    screenshot("published")
    assert set(Post.objects.filter(published=True).values_list("id", flat=True)) == {
        published.id,
        *(draft.id for draft in drafts),
    }
    other_draft.refresh_from_db()
    assert other_draft.published is False

    page.goto("/admin/profiles/profile/")
    page.get_by_role("link", name="author@example.com", exact=True).click()
    expect(page.locator(".field-email .readonly")).to_have_text("author@example.com")
    expect(page.locator("input[name=email]")).to_have_count(0)
    page.locator("#id_name").fill("Ada Lovelace")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("ul.messagelist li.success")).to_contain_text("was changed successfully")
    screenshot("profile-saved")
    author.refresh_from_db()
    assert (author.email, author.name) == ("author@example.com", "Ada Lovelace")
    assert Profile.objects.get(pk=other_user.pk).name == "Other"

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Logged out")).to_be_visible()
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login/\?next=/admin/$"))
    expect(page.locator("#login-form")).to_be_visible()
    screenshot("logged-out")


def test_non_staff_user_is_refused(page, screenshot, reader):
    log_in(page, "reader", PASSWORD)

    screenshot("refused")
    expect_refused(page)
    reader.refresh_from_db()
    assert reader.last_login is None
    assert not any(c["name"] == "sessionid" for c in page.context.cookies())


def test_wrong_password_is_refused(page, screenshot, staff):
    log_in(page, "staff", PASSWORD + "!")

    screenshot("refused")
    expect_refused(page)
    staff.refresh_from_db()
    assert staff.last_login is None


def test_author_autocomplete_finds_a_profile_by_part_of_its_email(
    page, screenshot, staff, author, other_user
):
    post = make_post(author, title="Reassigned")
    bystander = make_profile("otherwise@example.net")
    log_in(page, "staff", PASSWORD)
    page.goto(f"/admin/posts/post/{post.id}/change/")

    page.locator(".field-author .select2-selection").click()
    page.locator(".select2-search__field").fill("other@exa")
    options = page.locator(".select2-results__option")
    expect(options).to_have_text(["other@example.com"])
    screenshot("autocomplete")
    options.first.click()
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator("ul.messagelist li.success")).to_contain_text("was changed successfully")
    post.refresh_from_db()
    assert post.author_id == other_user.id
    assert not bystander.posts.exists()


def test_repeated_wrong_passwords_lock_the_log_in_until_staff_unlock_it(page, screenshot, staff):
    failures = settings.AXES_FAILURE_LIMIT
    for _ in range(failures - 1):
        log_in(page, "staff", "not the password")
        expect(page.locator("p.errornote")).to_contain_text(REFUSED)

    log_in(page, "staff", "not the password")
    expect(page.get_by_role("heading", name="Log-in locked")).to_be_visible()
    expect(page.locator("p.errornote")).to_contain_text("Try again in 15 minutes")
    screenshot("locked")
    log_in(page, "staff", PASSWORD)  # the right password, while locked
    expect(page.get_by_role("heading", name="Log-in locked")).to_be_visible()
    staff.refresh_from_db()
    assert staff.last_login is None
    assert AccessAttempt.objects.get(username="staff").failures_since_start == failures + 1

    call_command("axes_reset_username", "staff", stdout=io.StringIO())
    log_in(page, "staff", PASSWORD)
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()
    staff.refresh_from_db()
    assert staff.last_login is not None
    assert not AccessAttempt.objects.exists()
