"""The studio page in a real headless Chromium, driven by Playwright.

Needs Debian's `chromium` and the Python `playwright` client (see
.ci/install_studio.sh; Playwright's own browser download is never used).
Screenshots of the page are saved in the test's tmp folder, and also in
$MAGENTA_STYLE_SCREENSHOT_DIR when set (docs/images/studio.png is made so).
"""

import base64
import dataclasses
import functools
import http.server
import io
import json
import os
import re
import shutil
import threading

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("starlette", reason="the studio extra (starlette) is not installed")
pytest.importorskip("uvicorn", reason="the studio extra (uvicorn) is not installed")
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the Playwright client is not installed "
    "(pip install playwright; see .ci/install_studio.sh)")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip("Chromium is not installed (apt-get install chromium; see "
                ".ci/install_studio.sh)", allow_module_level=True)

from magenta_style.storage import image_io  # noqa: E402
from magenta_style.studio import server  # noqa: E402
from magenta_style.studio import thumbnails  # noqa: E402
from magenta_style.studio.config import StudioConfig  # noqa: E402
from magenta_style.stylization.api import stylize  # noqa: E402  (= magenta_style.stylize)

WORKING = 320
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    # The machine's network is closed: without these Chromium keeps retrying
    # its background services.
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # Containers often have a tiny /dev/shm, where Chromium would crash.
    "--disable-dev-shm-usage",
    # A fake camera (a moving test pattern) that needs no permission prompt.
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
]
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def studio_server():
    config = dataclasses.replace(StudioConfig(), port=0, working_size=WORKING,
                                 webcam_size=128, thumbnail_size=64)
    studio, background = server.run_in_thread(config)
    yield studio, background
    background.stop()


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory):
    profile = tmp_path_factory.mktemp("chromium-profile")  # a fresh --user-data-dir
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(TIMEOUT_MS)
        yield context
        context.close()


@pytest.fixture
def page(browser_context, studio_server):
    _, background = studio_server
    page = browser_context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # The Content-Security-Policy must allow everything the page does:
    # Chromium reports what it blocks on the console.
    page.on("console", lambda m: errors.append(m.text)
            if "Content Security Policy" in m.text else None)
    page.goto(background.url)
    page.wait_for_selector("body[data-ready='1']")
    yield page
    page.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture(scope="module")
def photo_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("photo") / "landscape.png"
    pixels = (thumbnails.sample_picture(400, 300) * 255).round().astype(np.uint8)
    Image.fromarray(pixels).save(path)
    return str(path)


def screenshot(page, tmp_path, name):
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    extra = os.environ.get("MAGENTA_STYLE_SCREENSHOT_DIR")
    if extra:
        os.makedirs(extra, exist_ok=True)
        shutil.copy(path, os.path.join(extra, name))
    print(f"screenshot: {path}")
    return path


def shown_image(page, selector):
    """The pixels of the image the page shows (fetched from its blob URL)."""
    data = page.evaluate(
        """async (sel) => {
            const r = await fetch(document.querySelector(sel).src);
            const bytes = new Uint8Array(await r.arrayBuffer());
            let s = ""; for (const b of bytes) s += String.fromCharCode(b);
            return btoa(s);
        }""", selector)
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))


def wait_for_render(page, renders):
    page.wait_for_function(
        """(n) => { const img = document.querySelector('#result');
                    return img.dataset.state === 'done' && Number(img.dataset.renders) >= n; }""",
        arg=renders)
    return json.loads(page.get_attribute("#result", "data-request"))


def drag_slider(page, index, fraction):
    """Moves style `index`'s slider with the mouse, like a person would."""
    slider = page.locator(f".style-card[data-index='{index}'] input[type=range]")
    # A render finishing during the drag rewrites the status line, which can
    # move the sliders under the mouse (on a loaded machine the first drag
    # then ended at 0): drag again, from where the slider is now, until it
    # holds the value a person would see.
    for _ in range(3):
        slider.scroll_into_view_if_needed()
        box = slider.bounding_box()
        y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] + 2, y)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * fraction, y, steps=8)
        page.mouse.up()
        if abs(float(slider.input_value()) - fraction) < 0.15:
            return
    raise AssertionError(f"slider {index} did not follow the mouse to {fraction}: "
                         f"{slider.input_value()}")


def test_upload_and_slider_render_what_stylize_gives(page, studio_server, photo_file,
                                                     tmp_path):
    studio, _ = studio_server
    page.set_input_files("#file-input", photo_file)
    first = wait_for_render(page, 1)
    assert first["weights"][0] == 1 and sum(first["weights"]) == 1
    before = shown_image(page, "#result")
    assert before.shape == (240, WORKING, 3)

    page.uncheck("#normalize")  # weights as given, as Magenta uses them
    drag_slider(page, 0, 0.4)
    drag_slider(page, 5, 0.7)
    request = wait_for_render(page, 2)
    # Wait until the page has rendered the final slider positions.
    page.wait_for_function(
        """() => { const img = document.querySelector('#result');
                   const req = JSON.parse(img.dataset.request);
                   const cards = document.querySelectorAll('.style-card input');
                   return img.dataset.state === 'done' && req.weights.every(
                       (w, i) => Math.abs(w - Number(cards[i].value)) < 1e-9); }""")
    request = json.loads(page.get_attribute("#result", "data-request"))
    weights = np.array(request["weights"])
    assert weights[5] > 0.3 and 0 < weights[0] < 0.7 and request["normalize"] is False
    after = shown_image(page, "#result")
    assert np.abs(after.astype(int) - before).mean() > 1  # the picture changed

    mix = {i: w for i, w in enumerate(request["weights"]) if w}
    expected = stylize(photo_file, studio.model, mix, max_size=WORKING)
    assert np.abs(after.astype(int) - expected).max() <= 1

    # The command reproduces the mixture with bin/stylize.
    literal = "{" + ",".join(f"{i}:{w:g}" for i, w in mix.items()) + "}"
    command = page.inner_text("#command")
    assert f'--which_styles="{literal}"' in command
    assert "--input_image=landscape.png" in command and "--normalize_weights" not in command

    # Two styles clicked on the map: sliders at an even blend of them.
    page.locator("#style-map .point[data-index='3']").dispatch_event("click")
    page.locator("#style-map .point[data-index='7']").dispatch_event("click")
    request = wait_for_render(page, 3)
    page.wait_for_function(
        "() => document.querySelector('#result').dataset.request.includes('[0,0,0,0.5,')")
    blend = json.loads(page.get_attribute("#result", "data-request"))["weights"]
    assert blend[3] == 0.5 and blend[7] == 0.5 and sum(blend) == 1
    assert page.locator(".style-card[data-index='7'] input").input_value() == "0.5"
    assert page.is_visible("#blend-pair")
    screenshot(page, tmp_path, "studio.png")

    # Press and hold "compare": the unstyled photo replaces the pastiche.
    page.hover("#compare")
    page.mouse.down()
    page.wait_for_selector("#original", state="visible")
    assert page.is_hidden("#result")
    original = shown_image(page, "#original")
    page.mouse.up()
    page.wait_for_selector("#result", state="visible")
    expected = image_io.to_uint8(image_io.load_image(photo_file, max_size=WORKING))
    np.testing.assert_array_equal(original, expected)


def test_download_gives_the_full_resolution_result(page, studio_server, photo_file):
    studio, _ = studio_server
    page.set_input_files("#file-input", photo_file)
    wait_for_render(page, 1)
    with page.expect_download() as info:
        page.click("#download")
    download = info.value
    assert download.suggested_filename == "landscape_0_1000.png"
    got = np.asarray(Image.open(download.path()).convert("RGB"))
    expected = stylize(photo_file, studio.model, {0: 1.0}, normalize_weights=True)
    assert got.shape == (300, 400, 3)
    assert np.abs(got.astype(int) - expected).max() <= 1


def test_webcam_mode_shows_stylized_frames(page, tmp_path, studio_server):
    studio, _ = studio_server
    streams = studio.streams.ids()
    page.click("#mode-webcam")
    page.wait_for_function(
        "() => Number(document.querySelector('#webcam-result').dataset.frames) >= 3")
    assert re.match(r"\d+\.\d fps", page.inner_text("#webcam-fps"))
    # Smoothing over time is on by default: the page's camera session is one
    # stream on the server (one FrameStylizer), and the page says so.
    assert page.get_attribute("#webcam-result", "data-smoothed") == "1"
    assert "smoothed over time" in page.inner_text("#webcam-fps")
    assert len(studio.streams.ids() - streams) == 1
    page.uncheck("#temporal")
    page.wait_for_function(
        "() => document.querySelector('#webcam-result').dataset.smoothed === '0'")
    page.wait_for_function(
        "() => document.querySelector('#webcam-fps').textContent.includes('each frame alone')")
    page.check("#temporal")
    assert "android_00" in page.inner_text("#webcam-mixture")
    frame = shown_image(page, "#webcam-result")
    assert frame.shape[1] == 128 and frame.std() > 5  # a real picture, not blank
    assert page.is_hidden("#error")
    screenshot(page, tmp_path, "studio_webcam.png")
    with page.expect_download() as info:
        page.click("#snapshot")
    assert info.value.suggested_filename == "webcam_0_1.jpg"
    assert Image.open(info.value.path()).size[0] == 128
    page.click("#mode-photo")


def test_bad_uploads_show_the_error_on_the_page(page, tmp_path, studio_server):
    # The pixel limit in force (maybe lowered to what free memory holds), in
    # one decimal at most.
    studio, _ = studio_server
    mp = studio.max_pixels / 1e6
    assert re.search(r"up to 30 MB and (\d+(\.\d)?) megapixels", page.inner_text("#limits"))
    assert f"{mp:.1f}".removesuffix(".0") + " megapixels" in page.inner_text("#limits")
    page.set_input_files("#file-input", files=[{
        "name": "notes.jpg", "mimeType": "image/jpeg", "buffer": b"not a photo at all"}])
    page.wait_for_selector("#error:not([hidden])")
    assert "'notes.jpg' is not an image" in page.inner_text("#error")
    # A text file's own type (text/plain) is one the server refuses on a POST;
    # the page sends it as bytes, so the message is about the file.
    page.set_input_files("#file-input", files=[{
        "name": "notes.txt", "mimeType": "text/plain", "buffer": b"some notes"}])
    page.wait_for_function(
        "() => document.querySelector('#error').textContent.includes('notes.txt')")
    assert "'notes.txt' is not an image" in page.inner_text("#error")

    from tests.studio.test_server import png_bomb

    page.set_input_files("#file-input", files=[{
        "name": "bomb.png", "mimeType": "image/png", "buffer": png_bomb(10000)}])
    page.wait_for_function(
        "() => document.querySelector('#error').textContent.includes('bomb.png')")
    text = page.inner_text("#error")
    assert "decompression bomb" in text and "10000 x 10000" in text
    screenshot(page, tmp_path, "studio_error.png")


def test_another_web_page_cannot_drive_the_studio(browser_context, studio_server, photo_file,
                                                  tmp_path):
    # A page on another local port stands for any web page the user visits
    # (on 127.0.0.1 too, so Chromium's private-network rules play no part).
    # It posts a photo and a render the two ways a page can: a no-cors
    # text/plain body, and an image type, which needs a preflight.
    studio, background = studio_server
    (tmp_path / "index.html").write_text("<!doctype html><title>elsewhere</title>")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                                directory=str(tmp_path))
    elsewhere = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=elsewhere.serve_forever, daemon=True).start()
    page = browser_context.new_page()
    try:
        page.goto(f"http://127.0.0.1:{elsewhere.server_address[1]}/")
        with open(photo_file, "rb") as f:
            photo = list(f.read())
        before = len(studio._photos)
        outcomes = page.evaluate(
            """async ([target, photo]) => {
                const body = new Uint8Array(photo);
                const tries = [
                  [target + "api/photo?name=evil.png",
                   {method: "POST", mode: "no-cors", body,
                    headers: {"Content-Type": "text/plain"}}],
                  [target + "api/photo?name=evil.png",
                   {method: "POST", body, headers: {"Content-Type": "image/png"}}],
                  [target + "api/render",
                   {method: "POST", mode: "no-cors", body: "{}",
                    headers: {"Content-Type": "text/plain"}}],
                ];
                const out = [];
                for (const [url, init] of tries) {
                  try { out.push((await fetch(url, init)).type); }
                  catch (e) { out.push("blocked"); }
                }
                return out;
            }""", [background.url, photo])
    finally:
        page.close()
        elsewhere.shutdown()
    # The server refused the no-cors posts (403; the page cannot even see that:
    # Cross-Origin-Resource-Policy turns their answers into network errors), and
    # the browser never sent the preflighted one. No photo arrived.
    assert outcomes == ["blocked"] * 3
    assert len(studio._photos) == before


def paint_stroke(page, x0, y0, x1, y1):
    """Drags the brush over the preview, from and to fractions of its size."""
    box = page.locator("#mask-canvas").bounding_box()
    page.mouse.move(box["x"] + x0 * box["width"], box["y"] + y0 * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + x1 * box["width"], box["y"] + y1 * box["height"], steps=10)
    page.mouse.up()


def test_painted_regions_render_each_in_its_style(page, studio_server, photo_file, tmp_path):
    studio, _ = studio_server
    page.set_input_files("#file-input", photo_file)
    wait_for_render(page, 1)
    page.check("#regions-on")
    assert page.is_visible("#mask-canvas") and page.is_visible("#region-list")
    # Region 1 takes the sliders' mixture (style 0), region 2 style 9.
    page.select_option("#region-list li[data-index='1'] select", "9")
    page.eval_on_selector(
        "#brush", "(b) => { b.value = '40'; b.dispatchEvent(new Event('input')); }")
    paint_stroke(page, 0.1, 0.2, 0.35, 0.8)  # region 1, the left
    page.click("#region-list li[data-index='1'] .swatch")
    paint_stroke(page, 0.65, 0.2, 0.9, 0.8)  # region 2, the right
    page.wait_for_function(
        """() => { const img = document.querySelector('#result');
                   const req = JSON.parse(img.dataset.request || '{}');
                   const masks = JSON.parse(img.dataset.masks || '{}');
                   return img.dataset.state === 'done' && req.regions
                          && req.regions.length === 2 && masks.coverage
                          && masks.coverage.every((c) => c > 0.02); }""")
    request = json.loads(page.get_attribute("#result", "data-request"))
    assert request["region_statistics"] == "shared"
    assert request["regions"][0] == request["weights"] and request["regions"][1][9] == 1
    photo = studio.photo(request["photo"])
    masks = photo.masks
    # What the server got is what the brush painted: left, right, nothing between.
    w = masks.shape[1]
    assert masks[:, : w // 3, 0].mean() > 0.2 and masks[:, : w // 3, 1].max() == 0
    assert masks[:, 2 * w // 3:, 1].mean() > 0.2 and masks[:, 2 * w // 3:, 0].max() == 0
    assert masks[:, int(0.45 * w):int(0.55 * w)].max() == 0
    shown = shown_image(page, "#result")
    expected = stylize(photo.working, studio.model, np.array(request["regions"], np.float64),
                       masks=list(masks.transpose(2, 0, 1)), region_statistics="shared",
                       normalize_weights=True)
    assert np.abs(shown.astype(int) - expected).max() <= 1
    # Unpainted: the photo itself.
    middle = slice(int(0.47 * w), int(0.53 * w))
    np.testing.assert_array_equal(shown[:, middle],
                                  image_io.to_uint8(photo.working)[:, middle])
    command = page.inner_text("#command")
    assert '--which_styles="[{0:1},{9:1}]"' in command
    assert "--style_masks=region0.png,region1.png" in command
    screenshot(page, tmp_path, "studio_regions.png")
    # "Save masks" gives those files: the masks the server got.
    downloads = []

    def keep(download):
        downloads.append(download)

    page.on("download", keep)
    page.click("#save-masks")
    for _ in range(600):  # events arrive while Playwright waits
        if len(downloads) == 2:
            break
        page.wait_for_timeout(100)
    page.remove_listener("download", keep)
    downloads.sort(key=lambda d: d.suggested_filename)
    assert [d.suggested_filename for d in downloads] == ["region0.png", "region1.png"]
    saved = [np.asarray(Image.open(d.path()).convert("L")) for d in downloads]
    np.testing.assert_array_equal(np.stack(saved, -1), image_io.to_uint8(masks))

    # The download: full size, each region with its own style's statistics.
    with page.expect_download() as info:
        page.click("#download")
    got = np.asarray(Image.open(info.value.path()).convert("RGB"))
    assert "regions" in info.value.suggested_filename
    full = image_io.load_image(photo_file)
    big = image_io.resize(masks, (full.shape[1], full.shape[0]))
    expected = stylize(full, studio.model, np.array(request["regions"], np.float64),
                       masks=list(big.transpose(2, 0, 1)), region_statistics="per_style",
                       normalize_weights=True)
    assert got.shape == (300, 400, 3) and np.abs(got.astype(int) - expected).max() <= 1

    # The eraser takes the left region away again; "Clear" all painting.
    page.check("#eraser")
    page.click("#region-list li[data-index='0'] .swatch")
    paint_stroke(page, 0.0, 0.5, 0.5, 0.5)
    page.wait_for_function(
        """() => { const m = JSON.parse(document.querySelector('#result').dataset.masks);
                   return m.coverage[0] < %f; }""" % (0.9 * masks[..., 0].mean()))
    page.click("#clear-masks")
    page.wait_for_function(
        """() => { const img = document.querySelector('#result');
                   return img.dataset.state === 'done'
                          && !JSON.parse(img.dataset.request).regions; }""")


def test_a_dropped_painting_becomes_a_style_with_a_slider(page, studio_server, photo_file,
                                                          tmp_path):
    studio, _ = studio_server
    page.set_input_files("#file-input", photo_file)
    wait_for_render(page, 1)
    pixels = image_io.to_uint8(thumbnails.sample_picture(160, 120))
    paintings = [pixels[:, ::-1], pixels[::-1]]
    for i, p in enumerate(paintings):
        buf = io.BytesIO()
        Image.fromarray(p).save(buf, format="PNG")
        page.set_input_files("#painting-input", files=[{
            "name": f"painting{i}.png", "mimeType": "image/png", "buffer": buf.getvalue()}])
        page.wait_for_selector(f"#painting-map .point >> nth={i}")
    # The last one dropped is used alone; then its slider mixes in the first.
    page.locator(".painting-card").nth(1).locator("input").evaluate(
        "(s) => { s.value = '0.5'; s.dispatchEvent(new Event('input')); }")
    page.wait_for_function(
        """() => { const img = document.querySelector('#result');
                   const req = JSON.parse(img.dataset.request);
                   return img.dataset.state === 'done' && req.paintings
                          && Object.keys(req.paintings).length === 2; }""")
    request = json.loads(page.get_attribute("#result", "data-request"))
    assert not any(request["weights"])  # one family per mixture
    ids = list(request["paintings"])
    weights = np.array([request["paintings"][i] for i in ids])
    vectors = np.stack([studio.painting(i).vector for i in ids])
    vector = (weights / weights.sum()) @ vectors
    expected = stylize(photo_file, "arbitrary-v1", style_vector=vector, max_size=WORKING)
    assert np.abs(shown_image(page, "#result").astype(int) - expected).max() <= 1
    command = page.inner_text("#command")
    assert "--style_images=painting0.png,painting1.png" in command
    assert "--style_blend_weights=0.333,0.667" in command
    assert "painting0.png" in page.inner_text("#painting-map-caption")
    screenshot(page, tmp_path, "studio_paintings.png")
    # A model style's slider takes over again: the paintings' go to 0.
    drag_slider(page, 2, 0.8)
    page.wait_for_function(
        """() => { const img = document.querySelector('#result');
                   const req = JSON.parse(img.dataset.request);
                   return img.dataset.state === 'done' && !req.paintings
                          && req.weights[2] > 0; }""")
    assert all(float(v) == 0 for v in page.locator(".painting-card input").evaluate_all(
        "(els) => els.map((e) => e.value)"))
