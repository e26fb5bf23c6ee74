"""Images load in the page of a token server: the session cookie alone opens ``/media`` (DESIGN.md
section 16), in Chromium."""
from __future__ import annotations

from browser import browser_page, screenshot
from PIL import Image
from servers import labelloop_server

from labelloop.standalone.project import init_project

CATEGORIES = [{"key": "a", "caption": "A"}, {"key": "b", "caption": "B"}]
TOKEN = "media-test-token-0123456789"


def test_an_image_project_on_a_token_server_shows_its_images(tmp_path, monkeypatch):
    monkeypatch.setenv("LABELLOOP_AUTH_TOKEN", TOKEN)
    folder = tmp_path / "pics"
    folder.mkdir()
    for n, color in enumerate(((200, 30, 30), (30, 200, 30), (30, 30, 200))):
        Image.new("RGB", (64, 48), color).save(folder / f"picture-{n}.png")
    init_project(tmp_path / "proj", folder, "image", CATEGORIES)
    with labelloop_server("serve", tmp_path / "proj", "--retrain-every", "0") as url, \
            browser_page() as page:
        page.goto(f"{url}?token={TOKEN}")  # ?token= is traded for the session cookie
        page.get_by_role("textbox", name="Your name").fill("ada")
        page.get_by_role("button", name="Start").click()
        page.wait_for_function("() => { const img = document.querySelector('.image-viewport img');"
                               " return img && img.complete && img.naturalWidth === 64; }")
        assert page.get_by_text("cannot be decoded").count() == 0
        screenshot(page, "token-server-image")
        page.keyboard.press("1")  # label it: the next image loads too
        page.wait_for_function("() => document.querySelectorAll('.image-viewport img').length > 0 &&"
                               " document.querySelector('.image-viewport img').naturalWidth === 64")
