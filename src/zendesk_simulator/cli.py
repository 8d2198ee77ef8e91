"""``zendesk-simulator``: serve a simulated Zendesk account over HTTP(S).

Every flag maps to one ``SimulatorConfig`` field (docs/design.md); defaults come from
``SimulatorConfig``. On start the command prints the base URL and the test credentials, then
a line ``zendesk-simulator ready on <url>`` once the server accepts requests.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import get_args

import uvicorn

from .config import OAuthClientSpec, Plan, SimulatorConfig


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {text}")
    return value


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    d = SimulatorConfig()
    default_redirect = d.oauth_clients[0].redirect_uris[0]
    p = argparse.ArgumentParser(
        prog="zendesk-simulator",
        description="A high-fidelity stand-in for a Zendesk account (tickets, comments, users, "
        "organizations, attachments) with OAuth, API tokens, rate limits and fault injection.",
    )
    p.add_argument("--host", default=d.host, help=f"interface to bind (default {d.host})")
    p.add_argument(
        "--port", type=int, default=d.port, help=f"port to listen on (default {d.port}; 0 picks one)"
    )
    p.add_argument("--subdomain", default=d.subdomain, help=f"account subdomain (default {d.subdomain})")
    p.add_argument("--seed", type=int, default=d.seed, help=f"data generator seed (default {d.seed})")
    p.add_argument(
        "--tickets", type=_count, default=d.tickets, help=f"tickets to generate (default {d.tickets})"
    )
    p.add_argument(
        "--users", type=_count, default=None, help="users to generate (default: tickets / 2, at least 20)"
    )
    p.add_argument(
        "--orgs",
        type=_count,
        default=None,
        help="organizations to generate (default: tickets / 20, at least 3)",
    )
    p.add_argument(
        "--comments-per-ticket",
        type=_positive_float,
        default=d.comments_per_ticket,
        help=f"mean comments per ticket (default {d.comments_per_ticket}); 1 in 200 tickets gets 101-250",
    )
    p.add_argument(
        "--attachment-rate",
        type=_rate,
        default=d.attachment_rate,
        help=f"share of comments with attachments (default {d.attachment_rate})",
    )
    p.add_argument(
        "--plan", choices=get_args(Plan), default=d.plan, help=f"Zendesk plan: rate limit (default {d.plan})"
    )
    p.add_argument(
        "--high-volume", action="store_true", help="the High Volume API add-on (2500/min, 30 exports/min)"
    )
    p.add_argument("--no-rate-limits", action="store_true", help="count requests but never answer 429")
    p.add_argument(
        "--plan-limit-override",
        type=int,
        default=None,
        metavar="N",
        help="requests per minute of the plan bucket instead of the plan's figure",
    )
    p.add_argument(
        "--minute-seconds",
        type=_positive_float,
        default=d.minute_seconds,
        help="real seconds in a simulated minute: rate-limit windows, the start_time floor and the "
        f"minute incremental exports hold back (default {d.minute_seconds:g})",
    )
    p.add_argument(
        "--admin-email", default=d.admin_email, help=f"the admin's email (default {d.admin_email})"
    )
    p.add_argument(
        "--agent-email", default=d.agent_email, help=f"the agent's email (default {d.agent_email})"
    )
    p.add_argument(
        "--enduser-email", default=d.enduser_email, help=f"an end user's email (default {d.enduser_email})"
    )
    p.add_argument(
        "--access-token-ttl",
        type=int,
        default=d.access_token_ttl,
        metavar="SECONDS",
        help=f"lifetime of issued access tokens (default {d.access_token_ttl}, Zendesk's 30 minutes)",
    )
    p.add_argument(
        "--refresh-token-ttl",
        type=int,
        default=d.refresh_token_ttl,
        metavar="SECONDS",
        help=f"lifetime of issued refresh tokens (default {d.refresh_token_ttl}, Zendesk's 30 days)",
    )
    p.add_argument(
        "--authorization-code-ttl",
        type=int,
        default=d.authorization_code_ttl,
        metavar="SECONDS",
        help=f"lifetime of authorization codes (default {d.authorization_code_ttl}, as Zendesk's)",
    )
    p.add_argument(
        "--api-token", default=d.api_token, help="the account's API token (default simulator-token)"
    )
    p.add_argument(
        "--oauth-client",
        action="append",
        default=None,
        metavar="IDENTIFIER:SECRET[:public][:inactive]",
        help="register an OAuth client (repeatable; default zensync:zensync-secret)",
    )
    p.add_argument(
        "--redirect-uri",
        action="append",
        default=None,
        metavar="URI",
        help=f"redirect URI of every OAuth client (repeatable; default {default_redirect})",
    )
    p.add_argument(
        "--auto-consent", action="store_true", help="approve OAuth consent without showing the page"
    )
    p.add_argument(
        "--static-access-token",
        default=None,
        metavar="TOKEN",
        help="also accept this non-expiring 'read write' bearer token for the admin",
    )
    p.add_argument(
        "--fault-rate",
        type=_rate,
        default=d.fault_rate,
        help="share of API requests answered with an injected fault (deterministic under --seed)",
    )
    p.add_argument(
        "--fault-kinds",
        default=",".join(d.fault_kinds),
        metavar="KIND,KIND",
        help=f"faults to draw from (default {','.join(d.fault_kinds)})",
    )
    p.add_argument(
        "--slow-seconds",
        type=_positive_float,
        default=d.slow_seconds,
        help=f"delay of a 'slow' fault (default {d.slow_seconds:g})",
    )
    p.add_argument(
        "--ssl-certfile", default=None, help="serve HTTPS with this certificate (with --ssl-keyfile)"
    )
    p.add_argument("--ssl-keyfile", default=None, help="private key of --ssl-certfile")
    p.add_argument(
        "--log-level",
        default="warning",
        choices=("critical", "error", "warning", "info", "debug"),
        help="uvicorn log level (default warning)",
    )
    return p


def config_from_args(args: argparse.Namespace) -> SimulatorConfig:
    """The ``SimulatorConfig`` the parsed flags describe (raises ValueError on bad input)."""
    if bool(args.ssl_certfile) != bool(args.ssl_keyfile):
        raise ValueError("--ssl-certfile and --ssl-keyfile go together: give both to serve HTTPS, or neither")
    redirect_uris = args.redirect_uri or None
    if args.oauth_client:
        clients = [OAuthClientSpec.parse(text, redirect_uris) for text in args.oauth_client]
    else:
        default = SimulatorConfig().oauth_clients
        clients = [
            OAuthClientSpec(c.identifier, c.secret, c.kind, c.active, list(redirect_uris or c.redirect_uris))
            for c in default
        ]
    kinds = tuple(k.strip() for k in args.fault_kinds.split(",") if k.strip())
    known = SimulatorConfig().fault_kinds
    unknown = set(kinds) - set(known)
    if unknown or not kinds:
        raise ValueError(f"--fault-kinds: unknown kind(s) {sorted(unknown)}; choose from {','.join(known)}")
    if args.plan_limit_override is not None and args.plan_limit_override < 1:
        raise ValueError("--plan-limit-override must be at least 1")
    return SimulatorConfig(
        host=args.host,
        port=args.port,
        ssl_certfile=args.ssl_certfile,
        ssl_keyfile=args.ssl_keyfile,
        subdomain=args.subdomain,
        seed=args.seed,
        tickets=args.tickets,
        users=args.users,
        organizations=args.orgs,
        comments_per_ticket=args.comments_per_ticket,
        attachment_rate=args.attachment_rate,
        admin_email=args.admin_email,
        agent_email=args.agent_email,
        enduser_email=args.enduser_email,
        access_token_ttl=args.access_token_ttl,
        refresh_token_ttl=args.refresh_token_ttl,
        authorization_code_ttl=args.authorization_code_ttl,
        api_token=args.api_token,
        static_access_token=args.static_access_token,
        oauth_clients=clients,
        auto_consent=args.auto_consent,
        plan=args.plan,
        minute_seconds=args.minute_seconds,
        high_volume=args.high_volume,
        rate_limits=not args.no_rate_limits,
        fault_rate=args.fault_rate,
        fault_kinds=kinds,
        slow_seconds=args.slow_seconds,
        plan_limit_override=args.plan_limit_override,
    )


def describe(config: SimulatorConfig, base_url: str) -> str:
    """What a person needs to point a client at the simulator (test credentials only)."""
    lines = [
        f"Zendesk simulator: account '{config.subdomain}' at {base_url}",
        f"  admin:       {config.admin_email}",
        f"  agent:       {config.agent_email}",
        f"  API token:   {config.api_token}   (Basic auth: '<email>/token:<API token>')",
    ]
    for client in config.oauth_clients:
        state = "" if client.active else ", inactive"
        lines.append(
            f"  OAuth:       client {client.identifier} / secret {client.secret} ({client.kind}{state})"
        )
        for uri in client.redirect_uris:
            lines.append(f"               redirect URI {uri}")
    if config.static_access_token:
        lines.append(f"  bearer:      {config.static_access_token} (admin, read write, never expires)")
    lines.append(f"  introspection: {base_url}/_simulator/truth  {base_url}/_simulator/stats")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    from .app import create_app

    started = time.perf_counter()
    app = create_app(config)
    generated = time.perf_counter() - started
    scheme = "https" if config.ssl_certfile else "http"

    server_config = uvicorn.Config(
        app,
        host=config.host,
        port=config.port,
        ssl_certfile=config.ssl_certfile,
        ssl_keyfile=config.ssl_keyfile,
        log_level=args.log_level,
        access_log=args.log_level in ("info", "debug"),
        lifespan="off",
    )
    server = uvicorn.Server(server_config)

    original_startup = server.startup

    async def startup(sockets: list | None = None) -> None:  # type: ignore[type-arg]
        await original_startup(sockets)
        port = config.port
        for srv in getattr(server, "servers", []):
            for sock in srv.sockets:
                port = sock.getsockname()[1]
                break
        host = "127.0.0.1" if config.host in ("0.0.0.0", "") else config.host
        base_url = f"{scheme}://{host}:{port}"
        print(describe(config, base_url), flush=True)
        print(
            f"  generated {app.account.n_tickets_generated} tickets, "
            f"{app.account.n_comments_generated} comments "
            f"in {generated:.2f} s",
            flush=True,
        )
        print(f"zendesk-simulator ready on {base_url}", flush=True)

    server.startup = startup  # type: ignore[method-assign]
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
