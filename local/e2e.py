"""Browser test of the gallery: Debian's headless Chromium, driven by playwright's Python package.

    .venv-e2e/bin/python -m local.e2e --demo-python .venv/bin/python   (or: make e2e)

Starts the demo on a free port, loads the gallery, and checks that every <img>
decoded, at the size its data-expect promises for the URL the browser chose,
and that every <picture> chose AVIF. Saves a full-page screenshot. Runs in its
own venv with playwright only: it talks to the demo over HTTP, like a viewer.
"""

import argparse
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
# No sandbox as root; no background networking, which a closed network refuses noisily.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
DEMO_START_TIMEOUT_S = 60
PAGE_LOAD_TIMEOUT_MS = 180_000  # every image on the page is rendered on 2 cores, as the page loads
BANNER = re.compile(r"Local image CDN on (http://127\.0\.0\.1:\d+)/")
IMAGES_JS = """() => Array.from(document.images).map(img => ({
    path: img.currentSrc ? new URL(img.currentSrc).pathname : "",
    inPicture: img.parentElement.tagName === "PICTURE",
    complete: img.complete,
    width: img.naturalWidth,
    height: img.naturalHeight,
    expect: JSON.parse(img.dataset.expect || "{}"),
}))"""


@dataclass(frozen=True)
class Demo:
    process: subprocess.Popen
    url: str


def start_demo(python: str, log_path: Path) -> Demo:
    """The demo on a free port, its output in a log file (a pipe left unread would stall it)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        process = subprocess.Popen([python, "-u", "-m", "local.cdn", "--port", "0"], stdout=log, stderr=log)
    deadline = time.monotonic() + DEMO_START_TIMEOUT_S
    while time.monotonic() < deadline:
        match = BANNER.search(log_path.read_text())
        if match:
            return Demo(process, match[1])
        if process.poll() is not None:
            break
        time.sleep(0.2)
    process.kill()
    sys.exit(f"the demo did not start; its output:\n{log_path.read_text()}")


def problems(image: dict) -> list[str]:
    """What is wrong with one <img> as the browser shows it."""
    path = image["path"]
    if not image["complete"] or image["width"] == 0:
        return [f"{path or '(no source)'}: not decoded"]
    found = []
    expected = image["expect"].get(path)
    if expected is None:
        found.append(f"{path}: the browser chose a URL the page does not list")
    elif [image["width"], image["height"]] != expected:
        found.append(f"{path}: decoded {image['width']}×{image['height']}, expected {expected[0]}×{expected[1]}")
    if image["inPicture"] and ",avif/" not in path:
        found.append(f"{path}: <picture> did not choose its AVIF source")
    return found


def check_gallery(url: str, screenshot: Path) -> list[str]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url + "/", wait_until="load", timeout=PAGE_LOAD_TIMEOUT_MS)  # load: every image is in
            images = page.evaluate(IMAGES_JS)
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    print(f"{len(images)} images on the gallery page")
    for image in images:
        print(f"  {image['width']:>4}×{image['height']:<4} {image['path']}")
    if not images:
        return ["the gallery shows no images"]
    return [problem for image in images for problem in problems(image)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.e2e", description=__doc__.split("\n\n")[0])
    parser.add_argument("--demo-python", default=".venv/bin/python", help="the Python of .venv, which runs the demo")
    parser.add_argument("--screenshot", type=Path, default=Path("out/gallery.png"))
    args = parser.parse_args(argv)
    demo = start_demo(args.demo_python, args.screenshot.with_name("e2e-demo.log"))
    try:
        found = check_gallery(demo.url, args.screenshot)
    finally:
        demo.process.terminate()
        demo.process.wait(timeout=10)
    print(f"screenshot: {args.screenshot}")
    if found:
        print("FAILED:", *found, sep="\n  ")
        return 1
    print("passed: every image decoded at its expected size")
    return 0


if __name__ == "__main__":
    sys.exit(main())
