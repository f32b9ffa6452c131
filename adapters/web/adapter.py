"""The web adapter: copbot's pages, served by `copbot serve` beside Slack's and Teams' endpoints.

Like every adapter it only translates. A page is a command: `/practices?q=budget&tag=equity` runs
`practice search` with those values as the signed-in member, `/practices/12` runs `practice show P12`,
and the reply is rendered as HTML (adapters/web/render.py and templates/). A button is the reply's own
choice, posted back as the command it carries; a form is the reply's form, its errors shown under the
field. So pages check exactly the roles, network membership and credit rules chat does.

Who is asking comes from a session opened by a one-time link that `me web` gives in chat
(bot/members/signin.py). Visitors who are not signed in see only the sign-in page, and the practice
library when a coordinator published it (`web publish library on`). Every form carries the session's
CSRF token; cookies are HttpOnly, SameSite=Lax, and Secure when COPBOT_PUBLIC_URL is https; nothing
personal is put in an address; no page needs JavaScript, and none is sent.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web
from icalendar import Calendar

from adapters.web.render import ReplyView, environment, form_view, reply_view
from bot.members.signin import SignedIn, SigninRefused
from bot.messages import Attachment, Incoming, Member, Place, Reply
from bot.ports import Core

log = logging.getLogger(__name__)
PLATFORM = "web"
COOKIE = "copbot_session"
PLACE = Place(PLATFORM, "web", is_direct=True)
WHO = web.RequestKey("who", object)  # SignedIn | None
ZONE = web.RequestKey("zone", str)
FORM = web.RequestKey("form", object)  # the POSTed form, read once by the CSRF check
VISITOR = Member(PLATFORM, "visitor", "Visitor")  # who reads a published library without signing in
MAX_FORM = 64 * 1024
_SEARCH_FIELDS = ("query", "tag", "framework", "level", "sector", "policy_area")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class BadRequest(Exception):
    """A query parameter or form value the page cannot use; the message names it with an example."""


@dataclass
class Section:
    heading: str
    reply: Reply


@dataclass
class Page:
    title: str
    sections: list[Section] = field(default_factory=list)
    intro: str = ""
    search: dict[str, Any] | None = None
    status: int = 200
    description: str = ""
    public: bool = False
    filters: dict[str, str] | None = None  # the dashboard's months
    download: str = ""  # a CSV of what the page shows
    links: list[tuple[str, str]] = field(default_factory=list)  # "add to your calendar" and the like


class WebAdapter:
    platform = PLATFORM

    def __init__(self, core: Core) -> None:
        self.core = core
        self.settings = core.settings
        self.env = environment()
        self.secure = self.settings.public_url.lower().startswith("https://")
        self._flash: dict[str, list[Reply]] = {}  # replies to show on the next page, by session

    # ---- wiring ---------------------------------------------------------------------------------------

    def mount(self, app: web.Application) -> None:
        app.middlewares.append(self._guard)
        r = app.router
        r.add_get("/", self.home)
        r.add_get("/me", self.mine)
        r.add_get("/practices", self.library)
        r.add_get("/practices/{id:\\d+}", self.practice)
        r.add_get("/resources", self.resources)
        r.add_get("/resources/{ref}", self.resource)
        r.add_get("/forum", self.forum)
        r.add_get("/convenings", self.convenings)
        r.add_get("/networks/{name}/convenings", self.network_convenings)
        r.add_get("/convenings/{id:\\d+}", self.convening)
        r.add_get("/convenings/{id:\\d+}.ics", self.convening_ics)
        r.add_get("/dashboard", self.dashboard)
        r.add_get("/dashboard.csv", self.dashboard_csv)
        r.add_post("/act", self.act)
        r.add_post("/form", self.submit)
        r.add_get("/signin", self.signin_help)
        r.add_get("/signin/{token}", self.signin_confirm)
        r.add_post("/signin/{token}", self.signin)
        r.add_post("/signout", self.signout)
        r.add_static("/static", str(self.env_static()), append_version=True)

    @staticmethod
    def env_static() -> Any:
        from pathlib import Path

        return Path(__file__).with_name("static")

    # ---- every request --------------------------------------------------------------------------------

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Who is asking, CSRF on every form, security headers, and a page (never a trace) for errors."""
        if not self._ours(request.path):
            return await handler(request)
        request[WHO] = who = await self._who(request)
        request[ZONE] = await self.core.member_zone(who.member) if who is not None else self.settings.timezone
        try:
            if request.method == "POST" and not request.path.startswith("/signin/"):
                await self._check_csrf(request)
            response = await handler(request)
        except _SignInFirst:
            public = await self.core.library_public()
            response = self._render(
                request, Page("Please sign in", intro=_welcome(public), status=401, public=True)
            )
        except BadRequest as exc:
            response = self._render(
                request, Page("That did not work", [Section("", _error(str(exc)))], status=400)
            )
        except web.HTTPException as exc:
            if exc.status in (404, 405):
                response = self._render(
                    request,
                    Page(
                        "Page not found" if exc.status == 404 else "Not allowed here",
                        [
                            Section(
                                "",
                                _error(
                                    _NOT_FOUND if exc.status == 404 else "This page is not used that way."
                                ),
                            )
                        ],
                        status=exc.status,
                    ),
                )
            else:
                raise
        except Exception:  # noqa: BLE001 - a clear page, the details in the log
            ref = secrets.token_hex(3)
            log.exception("web page failed (ref %s): %s", ref, request.path)
            response = self._render(
                request,
                Page(
                    "Something went wrong",
                    [
                        Section(
                            "",
                            _error(f"Something went wrong on our side and nothing was changed (ref {ref})."),
                        )
                    ],
                    status=500,
                ),
            )
        _secure_headers(response)
        return response

    @staticmethod
    def _ours(path: str) -> bool:
        return not (path.startswith(("/slack/", "/api/", "/calendar/", "/healthz")))

    async def _who(self, request: web.Request) -> SignedIn | None:
        cookie = request.cookies.get(COOKIE, "")
        return await self.core.web_session(cookie) if cookie else None

    async def _check_csrf(self, request: web.Request) -> None:
        if request.content_length is not None and request.content_length > MAX_FORM:
            raise BadRequest("That form was too large to accept.")
        data = await request.post()
        request[FORM] = data
        who: SignedIn | None = request[WHO]  # type: ignore[assignment]
        sent = str(data.get("csrf", ""))
        if who is None:
            raise _SignInFirst()
        if not secrets.compare_digest(sent, who.csrf):
            raise BadRequest(
                "This form was out of date (it came from an earlier session or another site). "
                "Please go back, reload the page and try again."
            )

    # ---- pages ----------------------------------------------------------------------------------------

    async def home(self, request: web.Request) -> web.StreamResponse:
        who: SignedIn | None = request[WHO]  # type: ignore[assignment]
        if who is None:
            public = await self.core.library_public()
            return self._render(request, Page("Welcome to copbot", intro=_welcome(public), public=True))
        sections = [Section(h, r) for h, r in await self.core.home(who.member, PLACE)]
        return self._render(request, Page("Your overview", sections))

    async def mine(self, request: web.Request) -> web.StreamResponse:
        who = self._member(request)
        sections = [
            Section("Your profile and settings", await self._run(who, "me show")),
            Section("Practices you shared", await self._run(who, "practice mine")),
            Section("Upcoming convenings", await self._run(who, "convening list")),
        ]
        return self._render(request, Page("My page", sections))

    async def library(self, request: web.Request) -> web.StreamResponse:
        who = await self._reader(request)
        q = request.query
        values: dict[str, Any] = {
            "query": q.get("q", "").strip(),
            "tag": _many(q, "tag"),
            "framework": _many(q, "framework"),
            "level": q.get("level", "").strip(),
            "sector": _many(q, "sector"),
            "policy_area": q.get("policy_area", "").strip(),
            "page": _page_number(q),
        }
        reply = await self._values(who, "practice search", values)
        search = self._search_form("practice search", values)
        return self._render(
            request,
            Page(
                "Practice library",
                [Section("Results", reply)],
                search=search,
                status=400 if reply.is_error else 200,
                description="Practices members of this community shared: what they tried and how it went.",
                public=who is VISITOR,
            ),
        )

    async def practice(self, request: web.Request) -> web.StreamResponse:
        who = await self._reader(request)
        reply = await self._values(who, "practice show", {"practice_id": f"P{request.match_info['id']}"})
        title, description = _title_of(reply, "Practice")
        return self._render(
            request,
            Page(
                title,
                [Section("", reply)],
                status=404 if reply.is_error else 200,
                description=description,
                public=who is VISITOR,
            ),
        )

    async def resources(self, request: web.Request) -> web.StreamResponse:
        who = self._member(request)
        q = request.query
        if not any(k in q for k in ("q", "area", "kind", "level", "cost", "page")):
            reply = await self._run(who, "resource areas")
            return self._render(request, Page("Learning resources", [Section("Learning areas", reply)]))
        values = {
            "query": q.get("q", "").strip(),
            "area": q.get("area", "").strip(),
            "kind": q.get("kind", "").strip(),
            "level": q.get("level", "").strip(),
            "cost": q.get("cost", "").strip(),
            "page": _page_number(q),
        }
        reply = await self._values(who, "resource search", values)
        return self._render(
            request,
            Page("Learning resources", [Section("Results", reply)], status=400 if reply.is_error else 200),
        )

    async def resource(self, request: web.Request) -> web.StreamResponse:
        who = self._member(request)
        reply = await self._values(who, "resource show", {"resource": request.match_info["ref"]})
        title, _ = _title_of(reply, "Resource")
        return self._render(request, Page(title, [Section("", reply)], status=404 if reply.is_error else 200))

    async def forum(self, request: web.Request) -> web.StreamResponse:
        who = self._member(request)
        sections = [
            Section("Coming forums", await self._run(who, "forum next")),
            Section("Proposed topics", await self._run(who, "forum topics")),
            Section("Past forums", await self._run(who, "forum history")),
        ]
        return self._render(request, Page("The open forum", sections))

    async def convenings(self, request: web.Request) -> web.StreamResponse:
        who = self._member(request)
        return self._render(
            request, Page("Upcoming convenings", [Section("", await self._run(who, "convening list"))])
        )

    async def network_convenings(self, request: web.Request) -> web.StreamResponse:
        who = self._member(request)
        reply = await self._values(who, "convening list", {"network": request.match_info["name"]})
        return self._render(
            request,
            Page("Convenings of " + request.match_info["name"], [Section("", reply)], status=_status(reply)),
        )

    async def convening(self, request: web.Request) -> web.StreamResponse:
        who = self._member(request)
        cid = request.match_info["id"]
        reply = await self._values(who, "convening show", {"convening": cid})
        title, _ = _title_of(reply, "Convening")
        page = Page(title, [Section("", reply)], status=_status(reply, 404))
        if not reply.is_error:
            ics = await self._values(who, "convening ics", {"convening": cid})
            if ics.attachments:
                page.links = _calendar_links(ics.attachments[0].content, cid)
        return self._render(request, page)

    async def convening_ics(self, request: web.Request) -> web.StreamResponse:
        who = self._member(request)
        reply = await self._values(who, "convening ics", {"convening": request.match_info["id"]})
        if reply.is_error or not reply.attachments:
            return self._render(request, Page("Calendar file", [Section("", reply)], status=404))
        return _download(reply.attachments[0])

    async def dashboard(self, request: web.Request) -> web.StreamResponse:
        """Coordinators: `stats` for the months asked (?from=2026-01&to=2026-12), charts with tables."""
        who = self._member(request)
        values = _range(request)
        reply = await self._values(who, "stats", values)
        status = _status(reply, 400 if reply.error_field else 403)  # a bad month, or not a coordinator
        page = Page("Community dashboard", [Section("", reply)], status=status)
        page.filters = {"from": request.query.get("from", ""), "to": request.query.get("to", "")}
        page.download = "/dashboard.csv?" + urlencode({k: v for k, v in page.filters.items() if v})
        return self._render(request, page)

    async def dashboard_csv(self, request: web.Request) -> web.StreamResponse:
        who = self._member(request)
        reply = await self._values(who, "stats", {**_range(request), "csv": True})
        if reply.is_error or not reply.attachments:
            return self._render(request, Page("Community dashboard", [Section("", reply)], status=403))
        return _download(reply.attachments[0])

    # ---- buttons and forms ----------------------------------------------------------------------------

    async def act(self, request: web.Request) -> web.StreamResponse:
        """A button: run the command it carries, then go back to the page it was on."""
        who = self._member(request)
        data: Any = request[FORM]
        command = " ".join(str(data.get("command", "")).split())
        if not command:
            raise BadRequest('This button named no command. Example of one: "practice endorse P12".')
        replies = await self.core.dispatch(Incoming(member=who, place=PLACE, text=command))
        return self._back(request, replies)

    async def submit(self, request: web.Request) -> web.StreamResponse:
        """A form: its fields are the command's values; a mistake redraws the form, filled in, with the
        error under its field."""
        who = self._member(request)
        data: Any = request[FORM]
        command = str(data.get("form_command", ""))
        cmd = self.core.registry.commands.get(command)
        if cmd is None:
            raise BadRequest("This form is out of date. Please open it again from its page.")
        values: dict[str, Any] = {}
        for p in cmd.params:
            got = [str(v) for v in data.getall(p.name, [])]
            if p.multiple:  # a multiple choice sends each; a text box holds them comma-separated
                values[p.name] = [v.strip() for g in got for v in g.split(",") if v.strip()]
            elif p.is_bool:
                values[p.name] = bool(got and got[0] in ("on", "true", "yes"))
            elif got:
                values[p.name] = got[0]
        for name, value in data.items():  # values the form carried unedited (Form.fixed)
            if name not in values and cmd.param(name) is not None:
                values[name] = str(value)
        replies = await self.core.dispatch(Incoming(member=who, place=PLACE, command=command, values=values))
        failed = next((r for r in replies if r.is_error), None)
        if failed is not None:
            form = next((r.form for r in replies if r.form is not None), None) or cmd.to_form()
            zone: str = request[ZONE]
            if failed.error_field and cmd.param(failed.error_field) is not None:
                view = reply_view(Reply(""), zone)
                view.form = form_view(form, values, (failed.error_field, failed.text))
            else:  # a mistake not about one field: said above the form, filled in as it was
                view = reply_view(failed, zone)
                view.form = form_view(form, values)
            page = Page(form.title, [Section("", Reply(""))], status=400)
            return self._render(request, page, views=[view], extra={"back": _safe_back(data)})
        return self._back(request, replies)

    def _back(self, request: web.Request, replies: list[Reply]) -> web.StreamResponse:
        attachment = next((a for r in replies for a in r.attachments), None)
        if attachment is not None:
            return _download(attachment)
        asked = next((r for r in replies if r.form is not None and not r.is_error), None)
        if asked is not None and asked.form is not None:  # the button opens a form: show it to fill in
            return self._render(
                request,
                Page(asked.form.title, [Section("", asked)]),
                extra={"back": _safe_back(request[FORM])},
            )
        cookie = request.cookies.get(COOKIE, "")
        self._flash.setdefault(cookie, []).extend(replies)
        if len(self._flash) > 10_000:  # never grows without bound
            self._flash.pop(next(iter(self._flash)))
        return _see_other(_safe_back(request[FORM]))

    # ---- sign-in --------------------------------------------------------------------------------------

    async def signin_help(self, request: web.Request) -> web.StreamResponse:
        out = "out" in request.query
        intro = (
            ("You are signed out. " if out else "")
            + "To sign in, send copbot the command me web in Slack, Discord, Teams or the console. It answers with a link that signs you in here; the link works once, for 10 minutes."
        )
        return self._render(request, Page("Sign in", intro=intro, public=True))

    async def signin_confirm(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        try:
            member = await self.core.signin_holder(token)
        except SigninRefused as exc:
            return self._render(request, _refused(str(exc)))
        return self._render(
            request,
            Page("Sign in", public=True),
            template="signin.html",
            extra={"name": member.name, "action": "/signin/" + quote(token)},
        )

    async def signin(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        try:
            signed = await self.core.sign_in(token)
        except SigninRefused as exc:
            return self._render(request, _refused(str(exc)))
        response = _see_other("/")
        response.set_cookie(
            COOKIE,
            signed.cookie,
            httponly=True,
            secure=self.secure,
            samesite="Lax",
            path="/",
            max_age=7 * 24 * 3600,
        )
        _secure_headers(response)
        return response

    async def signout(self, request: web.Request) -> web.StreamResponse:
        cookie = request.cookies.get(COOKIE, "")
        if cookie:
            await self.core.sign_out(cookie)
            self._flash.pop(cookie, None)
        response = _see_other("/signin?out=1")
        response.del_cookie(COOKIE, path="/")
        _secure_headers(response)
        return response

    # ---- helpers --------------------------------------------------------------------------------------

    def _member(self, request: web.Request) -> Member:
        who: SignedIn | None = request[WHO]  # type: ignore[assignment]
        if who is None:
            raise _SignInFirst()
        return who.member

    async def _reader(self, request: web.Request) -> Member:
        """The signed-in member, or a visitor when the library is published."""
        who: SignedIn | None = request[WHO]  # type: ignore[assignment]
        if who is not None:
            return who.member
        if await self.core.library_public():
            return VISITOR
        raise _SignInFirst()

    async def _run(self, who: Member, text: str) -> Reply:
        return _one(await self.core.dispatch(Incoming(member=who, place=PLACE, text=text)))

    async def _values(self, who: Member, command: str, values: Mapping[str, Any]) -> Reply:
        return _one(
            await self.core.dispatch(Incoming(member=who, place=PLACE, command=command, values=values))
        )

    def _search_form(self, command: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """The library's search form, from `practice search`'s own declaration."""
        cmd = self.core.registry.commands[command]
        fields = []
        for name in _SEARCH_FIELDS:
            p = cmd.param(name)
            if p is None:
                continue
            value = values.get(name, "")
            fields.append(
                {
                    "name": "q" if name == "query" else name,
                    "label": "Words" if name == "query" else p.label,
                    "help": p.opt.help,
                    "choices": p.choices,
                    "value": ", ".join(value) if isinstance(value, list) else str(value or ""),
                    "selected": value if isinstance(value, list) else [value],
                }
            )
        return {"fields": fields, "page": values.get("page", 1), "query": dict(values)}

    def _render(
        self,
        request: web.Request,
        page: Page,
        *,
        template: str = "page.html",
        extra: Mapping[str, Any] | None = None,
        views: list[ReplyView] | None = None,
    ) -> web.Response:
        who: SignedIn | None = request.get(WHO)  # type: ignore[assignment]
        zone: str = request.get(ZONE) or self.settings.timezone
        flash = self._flash.pop(request.cookies.get(COOKIE, ""), []) if who is not None else []
        sections = (
            views if views is not None else [reply_view(s.reply, zone, s.heading) for s in page.sections]
        )
        base = self.settings.public_url.rstrip("/")
        html = self.env.get_template(template).render(
            page=page,
            sections=sections,
            flash=[reply_view(r, zone) for r in flash],
            who=who.member.name if who is not None else "",
            csrf=who.csrf if who is not None else "",
            here=request.path_qs if request.method == "GET" else (extra or {}).get("back", "/"),
            path=request.path,
            nav=NAV,
            og_url=(base + request.path) if base and page.public else "",
            **{k: v for k, v in (extra or {}).items() if k != "here"},
        )
        return web.Response(text=html, status=page.status, content_type="text/html", charset="utf-8")


NAV = (
    ("/", "Overview"),
    ("/practices", "Practice library"),
    ("/resources", "Resources"),
    ("/forum", "Open forum"),
    ("/convenings", "Convenings"),
    ("/me", "My page"),
    ("/dashboard", "Dashboard"),
)
_NOT_FOUND = "There is no page at this address. The menu above leads to the library, the forum and your page."


class _SignInFirst(Exception):
    """Only signed-in members may see this page."""


def _error(text: str) -> Reply:
    return Reply(text, is_error=True)


def _one(replies: list[Reply]) -> Reply:
    if not replies:
        return Reply("")
    if len(replies) == 1:
        return replies[0]
    first = replies[0]
    return Reply(
        "\n\n".join(r.text for r in replies if r.text),
        items=tuple(i for r in replies for i in r.items),
        fields=tuple(f for r in replies for f in r.fields),
        choices=tuple(c for r in replies for c in r.choices),
        form=next((r.form for r in replies if r.form is not None), None),
        attachments=tuple(a for r in replies for a in r.attachments),
        is_error=any(r.is_error for r in replies),
        footer=first.footer,
    )


_REF = re.compile(r"^(?:[A-Z]\d+|\d+): ")


def _title_of(reply: Reply, fallback: str) -> tuple[str, str]:
    """A page's title and short description from a "show" reply: its item's title, or its text's first
    line without the id ("P12: Budget town halls" is titled "Budget town halls")."""
    if reply.is_error:
        return fallback, ""
    if reply.items:
        return reply.items[0].title, " ".join(reply.items[0].body.split())[:200]
    first, _, rest = reply.text.partition("\n")
    title = _REF.sub("", first.strip()) or fallback
    return title[:150], " ".join(rest.split())[:200]


def _status(reply: Reply, code: int = 400) -> int:
    return code if reply.is_error else 200


def _many(q: Mapping[str, str], name: str) -> list[str]:
    """A filter given once or more (`tag=a&tag=b`), or comma-separated (`tag=a,b`)."""
    values: list[str] = []
    for raw in q.getall(name, []) if hasattr(q, "getall") else [q.get(name, "")]:  # type: ignore[attr-defined]
        values.extend(v.strip() for v in str(raw).split(",") if v.strip())
    return values


def _safe_back(data: Any) -> str:
    """Where to go after a button or form: a path on this site only."""
    back = str(data.get("back", "/") or "/")
    return back if back.startswith("/") and not back.startswith("//") and "\\" not in back else "/"


def _range(request: web.Request) -> dict[str, Any]:
    """The dashboard's months, as `stats` takes them (its own checks name a bad one)."""
    return {
        name: request.query.get(key, "").strip()
        for key, name in (("from", "since"), ("to", "until"))
        if request.query.get(key, "").strip()
    }


def _page_number(q: Mapping[str, str]) -> int:
    raw = q.get("page", "1").strip() or "1"
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise BadRequest(f"page: expected a whole number from 1 to 1000, got {raw[:20]!r}. Example: ?page=2")
    return int(raw)


def _see_other(location: str) -> web.Response:
    """POST, then redirect, then GET: a reload does not repeat what was done."""
    return web.Response(status=303, headers={"Location": location})


def _download(attachment: Attachment) -> web.Response:
    safe = "".join(ch for ch in attachment.filename if ch.isalnum() or ch in "-_.") or "download"
    return web.Response(
        body=attachment.content,
        content_type=attachment.mime_type.split(";")[0],
        headers={"Content-Disposition": f'attachment; filename="{safe}"'},
    )


def _calendar_links(ics: bytes, cid: str) -> list[tuple[str, str]]:
    """The convening as its calendar file, and as Google Calendar and Outlook "add" links made from that
    same file (title, start and end in UTC, place, agenda)."""
    event = next(iter(Calendar.from_ical(ics).walk("VEVENT")), None)
    links: list[tuple[str, str]] = []  # the .ics itself is the page's own "Calendar file" link
    if event is not None:
        title = str(event.get("SUMMARY", "Convening"))
        where = str(event.get("LOCATION", ""))
        about = str(event.get("DESCRIPTION", ""))[:1000]
        start = event.decoded("DTSTART").astimezone(UTC)
        end = event.decoded("DTEND").astimezone(UTC) if event.get("DTEND") else start
        google = "https://calendar.google.com/calendar/render?" + urlencode(
            {
                "action": "TEMPLATE",
                "text": title,
                "dates": f"{start:%Y%m%dT%H%M%SZ}/{end:%Y%m%dT%H%M%SZ}",
                "location": where,
                "details": about,
            }
        )
        outlook = "https://outlook.office.com/calendar/0/deeplink/compose?" + urlencode(
            {
                "path": "/calendar/action/compose",
                "rru": "addevent",
                "subject": title,
                "startdt": start.isoformat(),
                "enddt": end.isoformat(),
                "location": where,
                "body": about,
            }
        )
        links += [("Add to Google Calendar", google), ("Add to Outlook", outlook)]
    return links


def _welcome(public: bool) -> str:
    text = (
        "copbot keeps this community's shared practices, its monthly open forum and its convenings. "
        "To see them, sign in: send copbot the command me web in Slack, Discord, Teams or the console, "
        "and open the link it gives you."
    )
    if public:
        text += " The practice library is open to everyone: /practices"
    return text


def _refused(reason: str) -> Page:
    return Page(
        "This sign-in link cannot be used",
        [Section("", _error(reason + " Ask copbot for a new one with the command: me web"))],
        status=410,
        public=True,
    )


def _secure_headers(response: web.StreamResponse) -> None:
    h = response.headers
    h.setdefault(
        "Content-Security-Policy",
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'",
    )
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "no-referrer")
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("Cache-Control", "no-store")
