"""Launching the app's Solara server: local, offline and quiet.

Why not ``solara run``: that command asks PyPI for a newer Solara, reports usage to a
telemetry service, embeds a check frame from solara.dev in development mode, and lets
the page load its JavaScript and fonts from a CDN. On a machine without internet (a
ministry laptop, this build machine) the page then stays blank. Here:

- the ``solara-assets`` package (same version as Solara, see the ``app`` extra) puts
  every CDN file in ``<venv>/share/solara/cdn``; Solara serves them under
  ``/_solara/cdn`` from that folder (its asset proxy). The proxy's upstream CDN is
  pointed at a closed local port, so a missing file fails at once and is logged,
  instead of hanging or reaching out to the internet;
- telemetry is off, the server runs in production mode (no version check, no check
  frame) and binds to 127.0.0.1 unless told otherwise;
- the request log shows only failed requests (status 400 and up), so a missing asset
  is visible in the terminal (and the browser test reads it) without the noise of
  every successful request.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import sys
import threading
from pathlib import Path

# upstream "CDN" of Solara's asset proxy: a closed port on this machine, never the internet
NO_CDN = "http://127.0.0.1:9/no-cdn/"
SOLARA_APP = "sim.app.pages"  # module holding ``routes``


def configure_environment(root: Path) -> None:
    """Solara reads its settings from the environment when first imported, so this
    runs before any ``import solara``."""
    os.environ["SOLARA_APP"] = SOLARA_APP
    os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    os.environ["SOLARA_ASSETS_PROXY"] = "True"
    os.environ["SOLARA_ASSETS_CDN"] = NO_CDN
    os.environ["SOLARA_THEME_LOADER"] = "plain"
    os.environ["MIGSIM_APP_ROOT"] = str(root)
    os.environ.setdefault("MPLBACKEND", "Agg")


def offline_assets_problem() -> str | None:
    """Why the page would need the internet, or None when the local assets are in place."""
    from importlib import metadata

    try:
        want = metadata.version("solara-server")
        have = metadata.version("solara-assets")
    except metadata.PackageNotFoundError:
        return "solara-assets is not installed: the page needs a CDN (install the 'app' extra)"
    if want != have:
        return f"solara-assets {have} does not match solara-server {want}: assets may be missing offline"
    import solara.server.settings as ss

    if not (Path(ss.assets.proxy_cache_dir) / "@widgetti").is_dir():
        return f"no Solara assets in {ss.assets.proxy_cache_dir}"
    return None


class FailedRequestsOnly:
    """Logging filter for uvicorn's access log: keep responses with status >= 400."""

    def filter(self, record) -> bool:  # noqa: A003 - logging's name
        try:
            return int(record.args[4]) >= 400
        except (TypeError, IndexError, ValueError):
            return True


LOG_CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"failed": {"()": FailedRequestsOnly}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s", "datefmt": "%H:%M:%S"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}},
    "loggers": {
        "uvicorn.error": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
        "uvicorn.access": {"handlers": ["stderr"], "level": "INFO", "filters": ["failed"], "propagate": False},
        "solara": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
        "Solara": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
    },
    "root": {"handlers": ["stderr"], "level": "WARNING"},
}


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _prepare(f, name: str):
    """Open, check and draw the timeline of one scenario file (filling the caches the
    Scenario page reads); the draft."""
    from sim.app import drafts, figures

    d = drafts.open_draft(f, name)
    drafts.check(f, d)
    figures.draft_timeline_png(d)
    return d


def _prepare_the_others(f, limit: int = 50) -> None:
    """The other files of scenarios/, in the background: opening one then answers within
    a second (its timeline alone takes a quarter of one to draw)."""
    from sim.app import state

    for name in [n for n in f.scenario_names() if n != state.DEFAULT_FILE][:limit]:
        with contextlib.suppress(Exception):  # a broken file is reported when someone opens it
            _prepare(f, name)


def warm_caches() -> None:
    """Check and draw the default scenario once (and a watch map), filling the caches
    the pages read, and matplotlib's font caches; then the other scenario files in the
    background."""
    from sim.app import backend, figures, state

    try:
        f = state.folders()
        d = _prepare(f, state.DEFAULT_FILE)
        raw = d.raw()
        m = backend.watch_model(raw, f.rel(f.scenarios / d.file), 0.01, 1)
        figures.route_map(backend.watch_network(m), next(iter(figures.BOXES))).image(m.frames[0], "", m.max_group)
    except Exception as exc:  # noqa: BLE001 - only a cache: the pages report real problems
        print(f"migsim app: warning: could not prepare the default scenario: {exc}", file=sys.stderr)
        return
    threading.Thread(target=_prepare_the_others, args=(f,), daemon=True).start()


def serve(host: str = "127.0.0.1", port: int = 8765, root: Path | None = None) -> int:
    """Run the server until Ctrl-C; print its address once it accepts connections."""
    from sim.app.paths import find_root

    root = find_root(root)
    configure_environment(root)
    import warnings

    import uvicorn

    # plain http on this machine: Solara's advice about cross-site cookies does not apply
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")

    problem = offline_assets_problem()
    if problem:
        print(f"migsim app: warning: {problem}", file=sys.stderr)
    if not is_loopback(host):
        print(f"migsim app: warning: listening on {host}: anyone who reaches this machine can use the app "
              "(there is no login)", file=sys.stderr)
    if port == 0:
        port = free_port(host)
    if os.environ.get("MIGSIM_APP_TIMING"):  # print how long the server takes for each browser message
        import solara.server.settings

        solara.server.settings.main.timing = True
    # start the run workers, import the pages (Solara, Mesa's components, the simulator)
    # and draw what the first page views show, so that no person waits for them
    from sim.app import jobs

    workers = threading.Thread(target=jobs.manager().warm_up, daemon=True)
    workers.start()
    import sim.app.pages  # noqa: F401

    warm_caches()
    workers.join(timeout=120)
    config = uvicorn.Config("solara.server.starlette:app", host=host, port=port, log_config=LOG_CONFIG,
                            ws_max_size=2**24)

    class Server(uvicorn.Server):
        async def shutdown(self, sockets=None):
            # here, not after run(): uvicorn re-raises Ctrl-C / SIGTERM once it has stopped
            await super().shutdown(sockets=sockets)
            jobs.manager().shutdown()

    server = Server(config)

    def announce():
        while not server.started and not server.should_exit:
            threading.Event().wait(0.05)
        if server.started:
            shown = f"[{host}]" if ":" in host else host
            print(f"migsim app: serving {root} on http://{shown}:{port}/ (Ctrl-C to stop)", flush=True)

    threading.Thread(target=announce, daemon=True).start()
    try:
        server.run()
    finally:
        jobs.manager().shutdown()
    return 0 if server.started else 1
