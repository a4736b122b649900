"""What the browser tests do in a page: sign in, move with Tab, run axe-core, measure."""

import json
from pathlib import Path

from django.conf import settings
from playwright.sync_api import Locator, Page, expect

PASSWORD = "a-long-browser-password"
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
MAX_TABS = 60
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# axe-core, installed from the npm registry by `make test` (package.json, `npm ci`).
AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = ("serious", "critical")


def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def sign_in(page: Page, base_url: str, username: str, password: str = PASSWORD) -> None:
    page.goto(base_url + "/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def is_focused(target: Locator) -> bool:
    return target.evaluate("element => element === document.activeElement")


def tab_to(page: Page, target: Locator) -> None:
    """Press Tab until `target` has the focus: it is reachable in the page's tab order."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if is_focused(target):
            return
    raise AssertionError(f"{target} is not reachable with Tab")


def axe_violations(page: Page) -> list[dict]:
    """Every violation axe-core finds in the page as it is now, WCAG 2.2 AA target sizes
    included: [{"id", "impact", "help", "targets"}]."""
    assert AXE.exists(), f"{AXE} is missing: `make test` installs it (npm ci)"
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated by the browser's DevTools protocol, not added as an inline <script> tag,
        # which the site's Content-Security-Policy refuses.
        page.evaluate(AXE.read_text())
    results = page.evaluate(
        """async () => {
            const results = await axe.run(document, {
                resultTypes: ["violations"],
                rules: {"target-size": {enabled: true}},
            });
            return results.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.map(n => n.target.join(" ")).slice(0, 5),
            }));
        }"""
    )
    return results


def blocking(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in BLOCKING_IMPACTS]


def write_report(name: str, report: object) -> Path:
    path = artifacts() / name
    path.write_text(json.dumps(report, indent=2, sort_keys=True))
    return path


def horizontal_overflow(page: Page) -> list[str]:
    """What can be scrolled sideways: the page itself, or any box inside it."""
    return page.evaluate(
        """() => {
            const found = [];
            const root = document.documentElement;
            if (root.scrollWidth > root.clientWidth) {
                found.push(`page: ${root.scrollWidth} > ${root.clientWidth}`);
            }
            for (const element of document.querySelectorAll("body *")) {
                const style = getComputedStyle(element);
                const scrolls = ["auto", "scroll"].includes(style.overflowX);
                if (scrolls && element.scrollWidth > element.clientWidth + 1) {
                    found.push(`${element.tagName.toLowerCase()}.${element.className}: `
                        + `${element.scrollWidth} > ${element.clientWidth}`);
                }
            }
            return found;
        }"""
    )


def wider_than_their_box(page: Page, selector: str) -> list[str]:
    """The visible elements matching `selector` whose content is wider than they are, or that
    are wider than the box they sit in (so a scrolling wrapper or the page hides a part)."""
    return page.evaluate(
        """selector => {
            const found = [];
            for (const element of document.querySelectorAll(selector)) {
                if (!element.getClientRects().length) continue;
                const parent = element.parentElement;
                const width = element.getBoundingClientRect().width;
                if (element.scrollWidth > element.clientWidth) {
                    found.push(`${selector}.${element.className}: `
                        + `content ${element.scrollWidth} > ${element.clientWidth}`);
                }
                if (width > parent.clientWidth + 1) {
                    found.push(`${selector}.${element.className}: `
                        + `${Math.round(width)} wide in ${parent.clientWidth}`);
                }
            }
            return found;
        }""",
        selector,
    )


def smallest_chart_label_px(page: Page) -> float | None:
    """The smallest rendered size of a visible chart label: its font size times the scale
    the SVG is drawn at."""
    return page.evaluate(
        """() => {
            let smallest = null;
            for (const text of document.querySelectorAll("svg.chart text")) {
                if (!text.getClientRects().length) continue;
                const scale = text.getScreenCTM().a;
                const size = parseFloat(getComputedStyle(text).fontSize) * scale;
                smallest = smallest === null ? size : Math.min(smallest, size);
            }
            return smallest;
        }"""
    )


def inside_viewport(page: Page, target: Locator) -> bool:
    """Whether the whole of `target` is within the window's width (no sideways scroll)."""
    box = target.bounding_box()
    width = page.viewport_size["width"]
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width


def _luminance(rgb: tuple[int, int, int]) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(v) for v in rgb)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first: tuple[int, int, int], second: tuple[int, int, int]) -> float:
    """WCAG's contrast ratio of two colours."""
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def focus_ring(page: Page) -> dict:
    """The focused element's outline (style, width, colour) and the background behind it."""
    return page.evaluate(
        """() => {
            const rgb = text => text.match(/\\d+/g).slice(0, 3).map(Number);
            const element = document.activeElement;
            const style = getComputedStyle(element);
            let behind = element.parentElement;
            while (behind && getComputedStyle(behind).backgroundColor === "rgba(0, 0, 0, 0)") {
                behind = behind.parentElement;
            }
            return {
                style: style.outlineStyle,
                width: parseFloat(style.outlineWidth),
                color: rgb(style.outlineColor),
                background: rgb(getComputedStyle(behind || document.body).backgroundColor),
            };
        }"""
    )


def accessible_names(page: Page, role: str) -> list[str]:
    """The names of the elements of `role` in chromium's own accessibility tree (what a screen
    reader is given), lower-cased: a control CSS shows but the browser hides is not there."""
    session = page.context.new_cdp_session(page)
    try:
        nodes = session.send("Accessibility.getFullAXTree")["nodes"]
    finally:
        session.detach()
    return [
        node.get("name", {}).get("value", "").lower()
        for node in nodes
        if node.get("role", {}).get("value") == role and not node.get("ignored")
    ]
