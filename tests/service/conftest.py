"""Fixtures for the service tests: a real simulator, the service under uvicorn, a scripted browser.

The service runs in a thread on a free port; the simulator (a subprocess) registers that
port's callback as its OAuth clients' redirect URI, exactly as a customer registers it in
Admin Center. The ``Browser`` plays the user's part over HTTP: it opens the consent URL,
submits Zendesk's consent form (Allow or Deny) and follows the redirect back to the service.
Every response the tests receive is kept so one test can grep them all for secrets.
"""

from __future__ import annotations

import html.parser
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
import uvicorn
from cryptography.fernet import Fernet

from zendesk_simulator.testing import SimulatorHandle, free_port, running_simulator
from zensync.secret_box import SecretBox
from zensync.service.app import ServiceSettings, create_app
from zensync.store import Store

CALLBACK = "/source-connections/callback"
SIM_CLIENTS = [
    "zensync:zensync-secret-0123456789abcdef",
    "off-client:off-secret:inactive",
    "pub-client:pub-secret:public",
]


@dataclass
class Service:
    """A running zensync service and everything a test checks about it."""

    base_url: str
    redirect_uri: str
    db_path: Path
    key: str
    responses: list[httpx.Response]
    server: uvicorn.Server

    def client(self, **headers: str) -> httpx.Client:
        def keep(response: httpx.Response) -> None:
            response.read()
            self.responses.append(response)

        return httpx.Client(
            base_url=self.base_url, timeout=30.0, headers=headers, event_hooks={"response": [keep]}
        )

    def store(self) -> Store:
        return Store.open(self.db_path)

    def secrets(self) -> SecretBox:
        return SecretBox.from_key(self.key)

    def wait_idle(self, http: httpx.Client, connection_id: str, timeout: float = 60.0) -> dict[str, Any]:
        """Poll the connection (as the web page does) until no sync runs; return its JSON."""
        deadline = time.monotonic() + timeout
        while True:
            data: dict[str, Any] = http.get(f"/source-connections/{connection_id}").json()
            if not data["syncing"] and data["runs"]:
                return data
            if time.monotonic() > deadline:
                raise AssertionError(f"sync of {connection_id} still running after {timeout} s: {data}")
            time.sleep(0.25)


CSRF_INPUT = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def form_token(http: httpx.Client, page: str = "/login") -> str:
    """The web form token, as the browser gets it: load a page with a form (sets the cookie)."""
    answer = http.get(page, headers={"Accept": "text/html"})
    found = CSRF_INPUT.search(answer.text)
    assert found, f"no csrf_token field on {page}: {answer.status_code} {answer.text[:200]}"
    return found.group(1)


def _post_form(http: httpx.Client, url: str, data: dict[str, Any], page: str = "/login") -> httpx.Response:
    """POST a web form the way the service's own page does: with its token."""
    return http.post(url, data={**data, "csrf_token": form_token(http, page)})


@pytest.fixture(scope="session")
def post_form() -> Callable[..., httpx.Response]:
    """``post_form(http, url, data)``: submit a web form with the token its page carries."""
    return _post_form


class _FormParser(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and self.action is None:
            self.action = a.get("action")
        elif tag == "input" and a.get("type") == "hidden" and "name" in a:
            self.fields[a["name"]] = a.get("value", "")


@dataclass
class Browser:
    """The user's browser, scripted: consent on Zendesk's page, then back to the service."""

    service: Service
    sim: SimulatorHandle
    pages: list[httpx.Response] = field(default_factory=list)

    def authorize(
        self, auth_url: str, decision: str = "allow", user_email: str | None = None
    ) -> httpx.Response:
        """Open the consent URL; on the consent page press ``decision``; return Zendesk's answer.

        The answer is a redirect to the service's callback, or Zendesk's own error page.
        """
        with httpx.Client(timeout=30.0, follow_redirects=False) as http:
            page = http.get(auth_url)
            self.pages.append(page)
            if page.status_code != 200:
                return page
            form = _FormParser()
            form.feed(page.text)
            assert form.action, "the consent page has a form"
            data = dict(form.fields)
            data["decision"] = decision
            if user_email:
                data["user_email"] = user_email
            answer = http.post(urljoin(auth_url, form.action), data=data)
            self.pages.append(answer)
            return answer

    def follow(self, redirect: httpx.Response, http: httpx.Client) -> httpx.Response:
        """Follow Zendesk's redirect to the service's callback (a 303 on success, a page on failure)."""
        assert redirect.status_code in (302, 303), (redirect.status_code, redirect.text[:300])
        location = redirect.headers["location"]
        assert location.startswith(self.service.redirect_uri), location
        return http.get(location.replace(self.service.redirect_uri, self.service.base_url + CALLBACK))

    def connect(self, http: httpx.Client, auth_url: str, **kwargs: Any) -> httpx.Response:
        return self.follow(self.authorize(auth_url, **kwargs), http)


class LogCapture(logging.Handler):
    """Every log line of the process, formatted, for the secrets test."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(scope="session")
def captured_logs() -> Iterator[LogCapture]:
    handler = LogCapture()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in ("uvicorn", "uvicorn.access", "uvicorn.error", "httpx", "httpcore", "zensync"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    logging.getLogger("httpcore").setLevel(logging.INFO)  # byte-level chatter only
    # Uvicorn's default logging config stops its loggers from propagating: listen to them directly.
    own = [logging.getLogger(name) for name in ("uvicorn.access", "uvicorn.error")]
    for logger in own:
        logger.addHandler(handler)
    yield handler
    for logger in own:
        logger.removeHandler(handler)
    root.removeHandler(handler)
    root.setLevel(previous)


@contextmanager
def serve(settings: ServiceSettings, key: str) -> Iterator[Service]:
    """The service under uvicorn in a thread, with uvicorn's own (redacting) access log on."""
    app = create_app(settings, secrets=SecretBox.from_key(key))
    server = uvicorn.Server(
        uvicorn.Config(
            app, host=settings.host, port=settings.port, log_level="debug", access_log=True, log_config=None
        )
    )
    thread = threading.Thread(target=server.run, name=f"service:{settings.port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the service did not start")
        time.sleep(0.02)
    try:
        yield Service(
            base_url=f"http://127.0.0.1:{settings.port}",
            redirect_uri=settings.effective_redirect_uri,
            db_path=Path(settings.db),
            key=key,
            responses=[],
            server=server,
        )
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@pytest.fixture(scope="module")
def service_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def sim(service_port: int) -> Iterator[SimulatorHandle]:
    with running_simulator(
        tickets=50,
        minute_seconds=1,
        oauth_client=SIM_CLIENTS,
        redirect_uri=[f"http://localhost:{service_port}{CALLBACK}"],
    ) as handle:
        yield handle


@pytest.fixture(scope="module")
def service(
    sim: SimulatorHandle,
    service_port: int,
    tmp_path_factory: pytest.TempPathFactory,
    captured_logs: LogCapture,
) -> Iterator[Service]:
    db = tmp_path_factory.mktemp("service") / "zensync.db"
    settings = ServiceSettings(
        db=str(db),
        port=service_port,
        zendesk_base_url=sim.base_url,
        download_attachments=False,
        scheduler_poll_seconds=0.5,
        api_key=None,
    )
    with serve(settings, Fernet.generate_key().decode()) as running:
        yield running


@pytest.fixture
def http(service: Service) -> Iterator[httpx.Client]:
    with service.client() as client:
        yield client


@pytest.fixture
def browser(service: Service, sim: SimulatorHandle) -> Browser:
    return Browser(service, sim)


@pytest.fixture
def new_connection(http: httpx.Client, sim: SimulatorHandle) -> Callable[..., dict[str, Any]]:
    """POST /source-connections for the simulated account; returns the 201 body."""

    def create(
        name: str, client_id: str = "zensync", client_secret: str | None = None, **config: Any
    ) -> dict[str, Any]:
        body = {
            "name": name,
            "short_name": "zendesk",
            "config": {"subdomain": sim.subdomain, **config},
            "auth": {"client_id": client_id, "client_secret": client_secret or SIM_CLIENTS[0].split(":")[1]},
        }
        response = http.post("/source-connections", json=body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    return create


@pytest.fixture(scope="session")
def serve_service() -> Callable[[ServiceSettings, str], Any]:
    """``with serve_service(settings, key) as svc:`` — another service, e.g. with other settings."""
    return serve
