"""Make docs/newsroom.png: ``wirestream demo`` (embedded broker, one worker, the bundled sample
feed), then Debian's Chromium, headless, on the page it prints, with one event open.

    python docs/make_screenshot.py [--event Volta] [--out docs/newsroom.png]

Needs /usr/bin/chromium (``apt-get install chromium``) and the ``playwright`` package (test extra).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--event", default="Volta", help="open the event whose headline contains this ('' = home)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "newsroom.png"))
    parser.add_argument("--width", type=int, default=1440)
    parser.add_argument("--height", type=int, default=1000)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    demo = subprocess.Popen([sys.executable, "-u", "-m", "streams.cli", "demo", "--delay", "0"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        url = None
        deadline = time.monotonic() + 180
        for line in demo.stdout:
            found = re.search(r"newsroom page: (http://\S+/)", line)
            url = url or (found.group(1) if found else None)
            if "keeps running" in line or time.monotonic() > deadline:
                break
        if url is None or demo.poll() is not None:
            print("make_screenshot: the demo did not start", file=sys.stderr)
            return 1
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": args.width, "height": args.height})
            page.goto(url)
            page.wait_for_selector("#status[data-state='live']", timeout=15_000)
            if args.event:
                page.locator("#events .event-link", has_text=args.event).first.click()
                page.wait_for_selector("#event-headline")
            else:  # the home view: the latest story updates
                page.wait_for_selector("#latest-alerts li.alert")
            page.wait_for_timeout(1500)  # fonts and the arrival highlight settle
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=args.out)
            browser.close()
        print(f"wrote {args.out}")
        return 0
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGINT)
            demo.wait(60)


if __name__ == "__main__":
    raise SystemExit(main())
