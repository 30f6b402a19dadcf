"""The comment sanitiser against published XSS payloads (OWASP's filter-evasion cheat sheet,
PortSwigger's cheat sheet) and our own: each payload's rendering is asserted, then all of
them are posted and checked on the paper page, in its JSON twin and in the discussion feed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from paperwire import discussion
from paperwire.formats.markdown import render_comment
from tests.app import make_app
from tests.helpers import paper

ID = "2501.00001"
# A tag of ours or theirs that could run script or load something, an event handler inside
# a tag, or a link to a scheme that runs code.
DANGER = re.compile(r"<(script|img|svg|iframe|style|object|embed|meta|div|input|details|body"
                    r"|link|form|base)[\s/>]|<[^>]*\son\w+\s*=|<[^>]*\s(href|src)\s*=\s*\"?\s*"
                    r"(javascript|vbscript|data):", re.IGNORECASE)
# (payload, a fragment the rendering must contain)
PAYLOADS: list[tuple[str, str]] = [
    ('<script>alert(1)</script>',
     '&lt;script&gt;alert(1)&lt;/script&gt;</p'),
    ('<SCRIPT SRC=http://xss.rocks/xss.js></SCRIPT>',
     '&lt;SCRIPT SRC=http://xss.rocks/xss.js&g'),
    ('<IMG SRC="javascript:alert(\'XSS\');">',
     '&lt;IMG SRC="javascript:alert(\'XSS\');"&g'),
    ("<IMG SRC=javascript:alert('XSS')>",
     "&lt;IMG SRC=javascript:alert('XSS')&gt;<"),
    ("<IMG SRC=JaVaScRiPt:alert('XSS')>",
     "&lt;IMG SRC=JaVaScRiPt:alert('XSS')&gt;<"),
    ('<IMG """><SCRIPT>alert("XSS")</SCRIPT>"\\>',
     '&lt;IMG """&gt;&lt;SCRIPT&gt;alert("XSS"'),
    ('<img src=x onerror=alert(1)>',
     '&lt;img src=x onerror=alert(1)&gt;</p>'),
    ('<svg/onload=alert(1)>',
     '&lt;svg/onload=alert(1)&gt;</p>'),
    ('<svg><script>alert(1)</script></svg>',
     '&lt;svg&gt;&lt;script&gt;alert(1)&lt;/sc'),
    ('<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>',
     '&lt;math&gt;&lt;mtext&gt;&lt;table&gt;&l'),
    ('<math href="javascript:alert(1)">CLICK</math>',
     '&lt;math href="javascript:alert(1)"&gt;C'),
    ("<BODY ONLOAD=alert('XSS')>",
     "&lt;BODY ONLOAD=alert('XSS')&gt;</p>"),
    ('<iframe src="javascript:alert(1)"></iframe>',
     '&lt;iframe src="javascript:alert(1)"&gt;'),
    ('<a href="javascript:alert(1)">x</a>',
     '&lt;a href="javascript:alert(1)"&gt;x&lt'),
    ('[click](javascript:alert(1))',
     '[click](javascript:alert(1))</p>'),
    ('[click](JAVASCRIPT:alert(1))',
     '[click](JAVASCRIPT:alert(1))</p>'),
    ('[click](jav&#x09;ascript:alert(1))',
     '<a href="jav%09ascript:alert(1)" rel="no'),
    ('[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
     '[click](data:text/html;base64,PHNjcmlwdD'),
    ('[click](vbscript:msgbox(1))',
     '[click](vbscript:msgbox(1))</p>'),
    ('[x](https://ok.example "title" onmouseover=alert(1))',
     '[x](https://ok.example "title" onmouseov'),
    ('[x](<javascript:alert(1)>)',
     '[x](&lt;javascript:alert(1)&gt;)</p>'),
    ('[x]: javascript:alert(1)\n\n[x]',
     '[x]: javascript:alert(1)</p>\n<p>[x]</p>'),
    ('![x](javascript:alert(1))',
     '![x](javascript:alert(1))</p>'),
    ('<javascript:alert(1)>',
     '&lt;javascript:alert(1)&gt;</p>'),
    ('<DIV STYLE="background-image: url(javascript:alert(\'XSS\'))">',
     '&lt;DIV STYLE="background-image: url(jav'),
    ("<STYLE>@import'http://xss.rocks/xss.css';</STYLE>",
     '&lt;STYLE&gt;<span class="mention">@impo'),
    ('<META HTTP-EQUIV="refresh" CONTENT="0;url=javascript:alert(\'XSS\');">',
     '&lt;META HTTP-EQUIV="refresh" CONTENT="0'),
    ('<object data="javascript:alert(1)"></object>',
     '&lt;object data="javascript:alert(1)"&gt'),
    ('<embed src="data:image/svg+xml;base64,PHN2Zz48c2NyaXB0PmFsZXJ0KDEpPC9zY3JpcHQ+PC9zdmc+">',
     '&lt;embed src="data:image/svg+xml;base64'),
    ('<details open ontoggle=alert(1)>',
     '&lt;details open ontoggle=alert(1)&gt;</'),
    ('<input autofocus onfocus=alert(1)>',
     '&lt;input autofocus onfocus=alert(1)&gt;'),
    ('<!--<script>alert(1)</script>-->',
     '&lt;!--&lt;script&gt;alert(1)&lt;/script'),
    ('$\\text{<script>alert(1)</script>}$',
     '<math display="inline"><mrow><mtext>&lt;'),
    ('$$\\href{javascript:alert(1)}{x}$$',
     '<math display="block"><mrow><mrow><mrow>'),
    ('$<img src=x onerror=alert(1)>$',
     '<math display="inline"><mrow><mo>&lt;</m'),
    ('$\\style{color:red}{x}$ $\\class{x}{y}$',
     '<math display="inline"><mrow><mrow><mi>x'),
    ('`<script>alert(1)</script>`',
     '<code>&lt;script&gt;alert(1)&lt;/script&'),
    ('```\n<script>alert(1)</script>\n```',
     '&lt;script&gt;alert(1)&lt;/script&gt;\n</'),
    ('@<script>alert(1)</script>',
     '@&lt;script&gt;alert(1)&lt;/script&gt;</'),
    ('"><script>alert(1)</script>',
     '"&gt;&lt;script&gt;alert(1)&lt;/script&g'),
    ('<a href="https://ok.example" onclick="alert(1)">ok</a>',
     '&lt;a href="https://ok.example" onclick='),
    ('[ok](https://ok.example/?q="><script>alert(1)</script>)',
     '<a href="https://ok.example/?q=%22%3E%3C'),
]


@pytest.mark.parametrize(("payload", "expected"), PAYLOADS)
def test_payload_renders_inert(payload: str, expected: str) -> None:
    html = render_comment(payload).html
    assert expected in html
    assert not DANGER.search(html), html


def test_enough_payloads() -> None:
    assert len(PAYLOADS) >= 30


def test_links_are_nofollow_ugc() -> None:
    html = render_comment("[a](https://ok.example) <https://auto.example>").html
    assert html.count('rel="nofollow ugc"') == 2


def test_everywhere_a_comment_goes(tmp_path: Path, database_url: str) -> None:
    with make_app(tmp_path, database_url, papers=[paper(ID)], comments_per_hour=1000,
                  users=[("mod@example.org", "moderator", "Mo")]) as site:
        author = site.store.user_by_email("mod@example.org")
        # Numbered, so two payloads that differ only in case are not refused as repeats.
        bodies = [f"{payload}\n\nn{n}" for n, (payload, _) in enumerate(PAYLOADS)]
        for body in bodies:
            discussion.post(site.store, site.settings, author, ID, body)
        client = site.client()
        page = client.get(f"/papers/{ID}").text
        # The page's own markup has forms and divs; what a comment brought is its body.
        bodies_shown = re.findall(r'<div class="comment-body">(.*?)</div>', page, re.DOTALL)
        assert len(bodies_shown) == len(PAYLOADS)
        assert not [b for b in bodies_shown if DANGER.search(b)]
        assert "<script>alert" not in page and "onerror=alert(1)>" not in page
        shown = client.get(f"/papers/{ID}.json").json()["discussion"]["comments"]
        assert sorted(c["html"] for c in shown) == sorted(
            render_comment(b).html for b in bodies)
        feed = etree.fromstring(client.get(f"/papers/{ID}/discussion.atom").content)
        contents = feed.findall(".//{http://www.w3.org/2005/Atom}content")
        assert len(contents) == len(PAYLOADS)
        for content in contents:
            assert content.get("type") == "html" and not DANGER.search(content.text or "")
