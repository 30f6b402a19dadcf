"""Server-rendered SVG charts (pygal) that live under the site's strict CSP.

pygal draws the geometry; what it adds for its own browser script and theme is taken out:
its ``<script>`` (the CSP would refuse it), its ``<style>`` and ``style=""`` attributes
(``style-src 'self'`` refuses inline CSS in a page) and its tooltip overlays (shown only by
that script). The colours then come from static/style.css by class (``.color-0`` …), so
the charts follow the page's light and dark palettes. Each chart is an ``role="img"``
with a ``<title>`` and ``<desc>``; the page puts the numbers in a table beside it.

Rendering takes tens of milliseconds, so charts are cached by their input (a digest of
the series), which changes only with the data.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import pygal
from lxml import etree
from markupsafe import Markup
from pygal.style import Style

SVG = "{http://www.w3.org/2000/svg}"
DROPPED = frozenset({"style", "script"})
PALETTE = 6  # colour classes .color-0 … .color-5 in style.css; series beyond reuse them
_STYLE = Style(background="transparent", plot_background="transparent",
               font_family="inherit", colors=("#000",) * PALETTE)
_COMMON: dict[str, Any] = {
    "js": [], "css": [], "style": _STYLE, "disable_xml_declaration": True,
    "explicit_size": False, "tooltip_border_radius": 0, "print_values": False,
    "legend_at_bottom": True, "legend_box_size": 10, "truncate_legend": 20,
    "margin": 8, "spacing": 8, "pretty_print": False,
}


class ChartCache:
    """Rendered charts by a digest of their input; bounded, thread-safe."""

    def __init__(self, size: int = 256) -> None:
        self._data: OrderedDict[str, Markup] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get_or_render(self, spec: Mapping[str, Any]) -> Markup:
        key = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()
        with self._lock:
            found = self._data.get(key)
            if found is not None:
                self._data.move_to_end(key)
                return found
        svg = render(spec)
        with self._lock:
            self._data[key] = svg
            while len(self._data) > self._size:
                self._data.popitem(last=False)
        return svg


def spec(kind: str, chart_id: str, title: str, desc: str, labels: Sequence[str],
         series: Mapping[str, Sequence[int]], x_title: str = "", y_title: str = "",
         width: int = 800, height: int = 320) -> dict[str, Any]:
    """A chart's whole input, as JSON-able data (the cache key): ``kind`` is ``stacked``,
    ``bar``, ``hbar``, ``line`` or ``spark``."""
    return {"kind": kind, "id": chart_id, "title": title, "desc": desc,
            "labels": list(labels), "series": {k: list(v) for k, v in series.items()},
            "x_title": x_title, "y_title": y_title, "width": width, "height": height}


def _chart(s: Mapping[str, Any]) -> Any:
    size = {"width": s["width"], "height": s["height"]}
    titles = {"title": s["title"], "x_title": s["x_title"] or None,
              "y_title": s["y_title"] or None}
    kind = s["kind"]
    if kind == "spark":
        return pygal.Line(**{**_COMMON, "margin": 0}, **size, show_legend=False,
                          show_x_labels=False, show_y_labels=False, show_dots=False, fill=True,
                          show_x_guides=False, show_y_guides=False, title=None)
    many = len(s["labels"]) > 16
    labels = {"x_label_rotation": 40 if many else 0,
              "show_minor_x_labels": not many, "x_labels_major_every":
                  max(1, len(s["labels"]) // 8) if many else None}
    if kind == "stacked":
        return pygal.StackedBar(**_COMMON, **size, **titles, **labels)
    if kind == "bar":
        return pygal.Bar(**_COMMON, **size, **titles, **labels)
    if kind == "hbar":
        # Category names are short: shown whole; its value axis is the horizontal one.
        return pygal.HorizontalBar(**_COMMON, **size, **titles, truncate_label=-1,
                                   show_legend=False)
    return pygal.Line(**_COMMON, **size, **titles, **labels, show_dots=not many)


def render(s: Mapping[str, Any]) -> Markup:
    """The chart as inline SVG markup, with nothing the CSP refuses."""
    chart = _chart(s)
    chart.x_labels = s["labels"]
    for name, values in s["series"].items():
        chart.add(name, values)
    tree = chart.render_tree()
    return Markup(_clean(tree, s))


def _clean(root: Any, s: Mapping[str, Any]) -> str:
    for node in list(root.iter()):
        if not isinstance(node.tag, str) or etree.QName(node).localname in DROPPED:
            node.getparent().remove(node)  # comments too
        else:
            node.attrib.pop("style", None)
    for node in root.xpath(".//*[contains(@class, 'tooltip-overlay')]"):
        node.getparent().remove(node)
    for node in root.xpath(".//*[@class='tooltip' or @class='tooltip-box']"):
        node.getparent().remove(node)
    for node in root.findall(f"{SVG}title"):
        root.remove(node)  # pygal's own, replaced by ours below
    chart_id = s["id"]
    root.attrib.update({"id": chart_id, "role": "img", "class": f"chart chart-{s['kind']}",
                        "aria-labelledby": f"{chart_id}-title {chart_id}-desc",
                        "focusable": "false"})
    desc = etree.Element(f"{SVG}desc", id=f"{chart_id}-desc")
    desc.text = s["desc"]
    title = etree.Element(f"{SVG}title", id=f"{chart_id}-title")
    title.text = s["title"]
    root.insert(0, desc)
    root.insert(0, title)
    text: str = etree.tostring(root, encoding="unicode")
    return text
