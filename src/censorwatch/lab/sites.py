"""What each lab server does with a connection: honest pages, and the interference a censor applies to the
censored source only (resets, a MITM certificate, an injected blockpage)."""

from __future__ import annotations

import asyncio
import secrets
import ssl
from dataclasses import dataclass

from censorwatch.lab.origin import (
    Conn,
    Handler,
    linger_zero,
    open_streams,
    peek_client_hello,
    read_head,
    reset,
    server_name,
)

# A body fingerprint OONI's fastpath knows for Russia (ooni/backend fingerprints_http.json, "ooni.ru_0",
# scope nat, expected_countries RU): a probe with --probe-cc RU that sees it is `confirmed`.
RU_BLOCKPAGE_FINGERPRINT = "Доступ к сайту ограничен в соответствии с Федеральными законами"
BLOCKPAGE_TITLE = "Доступ ограничен"
# Blockpages no fingerprint knows (issue #21): they copy the origin's header names and status 200, so OONI's v0.4
# keys call them accessible; our blockpage detector (analysis/blockpage_detector.py) finds their legal text.
LEGAL_NOTICE_TITLE = "Уведомление"
LEGAL_NOTICE = (
    "Уважаемый абонент! Доступ к информационному ресурсу ограничен на основании Федерального закона от 27.07.2006 "
    "№ 149-ФЗ. Проверить наличие ресурса в реестре можно на сайте blocklist.rkn.gov.ru."
)
LOOKALIKE_TITLE = "Ресурс недоступен"
LOOKALIKE_NOTICE = "Сайт заблокирован по решению Генеральной прокуратуры Российской Федерации (398-ФЗ)."
ENDLESS_CHUNK = b"censorwatch lab: this body never ends. " * 1600  # ~64 KiB


@dataclass(frozen=True)
class Page:
    status: int
    title: str
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    # Real sites and real blockpages differ in their headers, not only their bodies: honest lab pages carry an
    # uncommon header the blockpage lacks, so OONI's headers_match (uncommon header names in common) is false
    # for a blockpage, as it is in the wild.
    server: str = "censorwatch-lab"
    extra_headers: tuple[tuple[str, str], ...] = ()


def site_headers(name: str) -> tuple[tuple[str, str], ...]:
    return (("X-Lab-Site", name),)


def honest_page(name: str) -> Page:
    paragraphs = "".join(
        f"<p>Paragraph {i} of the {name} lab site: ordinary content that every network sees the same.</p>\n"
        for i in range(40)
    )
    title = f"Censorwatch lab site {name}"
    body = f"<!doctype html><html><head><title>{title}</title></head><body><h1>{title}</h1>\n{paragraphs}</body></html>"
    return Page(200, title, body.encode(), extra_headers=site_headers(name))


def dynamic_page(name: str) -> Page:
    """Same title each load, random tokens and a slightly different length (an ad slot, a CSRF token...)."""
    count = 40 + secrets.randbelow(8)
    tokens = "".join(f"<span data-token='{secrets.token_hex(8)}'>item {i}</span>\n" for i in range(count))
    title = f"Censorwatch lab dynamic site {name}"
    body = f"<!doctype html><html><head><title>{title}</title></head><body><h1>{title}</h1>\n{tokens}</body></html>"
    return Page(200, title, body.encode(), extra_headers=site_headers(name))


def blockpage() -> Page:
    body = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{BLOCKPAGE_TITLE}</title></head><body><h1>{BLOCKPAGE_TITLE}</h1>"
        f"<p>{RU_BLOCKPAGE_FINGERPRINT}.</p></body></html>"
    )
    return Page(200, BLOCKPAGE_TITLE, body.encode(), server="nginx")


def notice_page(name: str, title: str, notice: str, server: str) -> Page:
    """A short legal notice with the origin's header names (X-Lab-Site: name) and status 200."""
    body = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body><h1>{title}</h1><p>{notice}</p></body></html>"
    )
    return Page(200, title, body.encode(), server=server, extra_headers=site_headers(name))


def article_page(name: str, comments: int) -> Page:
    """A news article about blocking, the same title for everyone; some readers see more comments (a dynamic page
    whose length differs by more than OONI's 0.7 proportion)."""
    title = f"Censorwatch lab news {name}: court orders blocking"
    text = (
        "<p>Доступ к ресурсу ограничен по решению суда на основании 149-ФЗ, сообщил Роскомнадзор: сайт внесён в "
        "Единый реестр (blocklist.rkn.gov.ru). Access to the website has been restricted by order of the court.</p>"
    )
    thread = "".join(f"<p class=comment>Comment {i}: readers discuss the ruling.</p>\n" for i in range(comments))
    body = f"<!doctype html><html><head><title>{title}</title></head><body><h1>{title}</h1>{text}{thread}</body></html>"
    return Page(200, title, body.encode(), extra_headers=site_headers(name))


def variant_page(name: str, variant: str) -> Page:
    """One arm of an A/B test: another title, another length, the same headers."""
    title = f"Censorwatch lab shop {name}" if variant == "A" else "Summer offers: sandals and hats"
    count = 30 if variant == "A" else 12
    items = "".join(f"<li><a href='/item/{i}'>Item {i}</a> ships in 3 days</li>\n" for i in range(count))
    body = f"<!doctype html><html><head><title>{title}</title></head><body><h1>{title}</h1><ul>{items}</ul>"
    body += "</body></html>"
    return Page(200, title, body.encode(), extra_headers=site_headers(name))


async def send_page(writer: asyncio.StreamWriter, page: Page) -> None:
    head = (
        f"HTTP/1.1 {page.status} {'OK' if page.status == 200 else 'Status'}\r\n"
        f"Content-Type: {page.content_type}\r\nContent-Length: {len(page.body)}\r\nServer: {page.server}\r\n"
        + "".join(f"{key}: {value}\r\n" for key, value in page.extra_headers)
        + "Connection: close\r\n\r\n"
    )
    writer.write(head.encode("latin-1") + page.body)
    await writer.drain()


async def _serve(conn: Conn, context: ssl.SSLContext | None, page: Page) -> None:
    reader, writer = await open_streams(conn, context)
    if await read_head(reader) is None:
        return
    await send_page(writer, page)


def page_site(name: str, context: ssl.SSLContext | None = None, dynamic: bool = False) -> Handler:
    """An honest site (http, or https when a server context is given)."""

    async def handle(conn: Conn) -> None:
        await _serve(conn, context, dynamic_page(name) if dynamic else honest_page(name))

    return handle


def blockpage_site() -> Handler:
    """The censor's blockpage server (where a DNS-based censor points blocked names)."""

    async def handle(conn: Conn) -> None:
        await _serve(conn, None, blockpage())

    return handle


def lookalike_site(name: str) -> Handler:
    """A DNS censor's blockpage server that copies the origin's headers (its Server and X-Lab-Site too)."""

    async def handle(conn: Conn) -> None:
        await _serve(conn, None, notice_page(name, LOOKALIKE_TITLE, LOOKALIKE_NOTICE, "censorwatch-lab"))

    return handle


def inject_legal_notice(name: str) -> Handler:
    """In-path injection of a short legal notice with the origin's header names and status 200."""

    async def handle(conn: Conn) -> None:
        page = notice_page(name, LEGAL_NOTICE_TITLE, LEGAL_NOTICE, "nginx") if conn.censored else honest_page(name)
        await _serve(conn, None, page)

    return handle


def news_site(name: str) -> Handler:
    """Not censorship: an article about blocking; the censored source happens to get a longer comment thread."""

    async def handle(conn: Conn) -> None:
        await _serve(conn, None, article_page(name, 60 if conn.censored else 5))

    return handle


def ab_split(name: str) -> Handler:
    """Not censorship: an A/B test that puts the censored source in arm B."""

    async def handle(conn: Conn) -> None:
        await _serve(conn, None, variant_page(name, "B" if conn.censored else "A"))

    return handle


def reset_censored(inner: Handler) -> Handler:
    """Accept, then RST the censored source before any TLS or HTTP byte; everyone else gets `inner`."""

    async def handle(conn: Conn) -> None:
        if conn.censored:
            # Wait until the client has seen its connect succeed; an instant RST races the client's
            # connect() and is then reported as a TCP failure instead of one after the handshake.
            await asyncio.sleep(0.2)
            reset(conn.sock)
            return
        await inner(conn)

    return handle


def reset_on_connect(name: str) -> Handler:
    """The honest page for everyone but the censored source, which is reset after the connect."""

    async def serve(conn: Conn) -> None:
        await _serve(conn, None, honest_page(name))

    return reset_censored(serve)


def sni_reset(name: str, context: ssl.SSLContext, blocked: frozenset[str]) -> Handler:
    """Peek at the ClientHello; a blocked SNI from the censored source gets a RST instead of a ServerHello."""

    async def handle(conn: Conn) -> None:
        hello = await peek_client_hello(conn.sock)
        if conn.censored and server_name(hello) in blocked:
            reset(conn.sock)
            return
        await _serve(conn, context, honest_page(name))

    return handle


def mitm(name: str, honest: ssl.SSLContext, forged: ssl.SSLContext) -> Handler:
    """The censored source gets a certificate from a CA it does not trust (an interception proxy)."""

    async def handle(conn: Conn) -> None:
        await _serve(conn, forged if conn.censored else honest, honest_page(name))

    return handle


def inject_blockpage(name: str) -> Handler:
    """Plain-http injection: the censored source gets the blockpage instead of the site."""

    async def handle(conn: Conn) -> None:
        await _serve(conn, None, blockpage() if conn.censored else honest_page(name))

    return handle


def host_reset(name: str, blocked: frozenset[str]) -> Handler:
    """Reads the request; a blocked Host header from the censored source gets a RST instead of a response."""

    async def handle(conn: Conn) -> None:
        reader, writer = await open_streams(conn, None)
        head = await read_head(reader)
        if head is None:
            return
        host = head.get("host", "").rsplit(":", 1)[0].lower()
        if conn.censored and host in blocked:
            linger_zero(writer.get_extra_info("socket"))
            writer.transport.abort()
            return
        await send_page(writer, honest_page(name))

    return handle


def endless(name: str) -> Handler:
    """A body that never ends (no Content-Length, never closed by the server): the client must cap it."""

    async def handle(conn: Conn) -> None:
        reader, writer = await open_streams(conn, None)
        if await read_head(reader) is None:
            return
        title = f"Censorwatch lab site {name}"
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nServer: censorwatch-lab\r\n"
            + f"X-Lab-Site: {name}\r\nConnection: close\r\n\r\n".encode()
            + f"<html><head><title>{title}</title></head><body>".encode()
        )
        while True:
            writer.write(ENDLESS_CHUNK)
            await writer.drain()

    return handle
