"""The two figures the app draws itself: the levers on a timeline, and the route map
with the groups of a model being watched.

Why matplotlib ``Figure`` objects and not pyplot: the server draws for many sessions
from several threads, and pyplot's global figure registry is neither thread-safe nor
freed (the simulator's plots follow the same rule).
"""

from __future__ import annotations

import datetime as dt
import io
import threading

import numpy as np
import PIL.Image
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from sim.app.yamlfiles import as_date as _d

COLORS = {"panama_removal_flights": "tab:orange", "deportation_charters": "tab:red", "visa_regime": "tab:purple",
          "closure": "tab:brown", "enforcement": "tab:olive", "processing_regime": "tab:blue",
          "deterrence": "tab:cyan"}
MODE_COLORS = {"foot": "tab:green", "boat": "tab:cyan", "bus": "tab:blue", "air": "tab:purple",
               "waiting in a town": "0.45"}
# map windows: lon min, lon max, lat min, lat max
BOXES = {"Colombia to the US border": (-119.0, -64.0, -1.0, 34.5),
         "Darién to the US border": (-119.0, -75.0, 6.5, 34.5),
         "whole route": (-125.0, -30.0, -40.0, 40.0)}


def timeline(levers: list[dict], period: tuple, spinup, title42_end=None, highlight: int | None = None) -> Figure:
    """One bar per lever from its start to its end (or the end of the run), over the
    scenario's period; the spin-up before the period is shaded."""
    start, end = _d(period[0]), _d(period[1])
    spin = _d(spinup) or start
    n = max(len(levers), 1)
    fig = Figure(figsize=(9.5, 1.1 + 0.42 * n))
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.5 / (1.1 + 0.42 * n) + 0.05, top=1 - 0.35 / (1.1 + 0.42 * n))
    ax = fig.add_subplot()
    lo = min([x for x in [spin, start] + [_d(lv.get("start")) for lv in levers] if x] or [dt.date(2022, 1, 1)])
    hi = max([x for x in [end] + [_d(lv.get("end")) for lv in levers] if x] or [lo + dt.timedelta(days=365)])
    if spin and start and spin < start:
        ax.axvspan(spin, start, color="0.92", lw=0, label="spin-up (not reported)")
    t42 = _d(title42_end)
    if t42:
        ax.axvline(t42, color="0.3", ls=":", lw=1)
        ax.text(t42, -0.55, " Title 42 ends", fontsize=7, color="0.3", va="bottom")
    for i, lv in enumerate(levers):
        s, e = _d(lv.get("start")), _d(lv.get("end")) or end or hi
        y = n - 1 - i
        name = f"{i + 1}. {lv.get('label') or lv.get('type', '?')}"
        if s is None:
            ax.text(lo, y, f"{name}: no valid start date", va="center", fontsize=8, color="#b00020")
            continue
        width = max((e - s).days + 1, 3) if e else 3
        ax.barh(y, width, left=s, height=0.6, color=COLORS.get(lv.get("type"), "0.5"),
                alpha=1.0 if highlight in (None, i) else 0.35, edgecolor="black" if highlight == i else "none")
        late = s > lo + (hi - lo) * 0.6  # a label that would run off the right edge ends at the bar's end
        ax.text(s + dt.timedelta(days=width) if late else s, y + 0.38, name + " " if late else " " + name,
                fontsize=7.5, va="bottom", ha="right" if late else "left")
    ax.set_ylim(-0.6, n - 0.1 + 0.4)
    ax.set_yticks([])
    ax.set_xlim(lo - dt.timedelta(days=10), hi + dt.timedelta(days=10))
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(f"levers over the run (period {start} to {end})" if levers else
                 f"no levers (period {start} to {end})", fontsize=9)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    return fig


class RouteMap:
    """The route map of one network and window, drawn once; each day only adds the
    groups on top.

    Why: drawing the network, its labels and the axes takes most of a second on this
    kind of machine, and the Watch page redraws the map every day it steps. So the
    static part is rendered once to pixels (``background``), and each frame draws only
    the day's markers, legend and title on a transparent figure with an axes of the
    same position and limits, laid over those pixels.
    """

    SIZE = (9.5, 6.2)
    DPI = 100

    def __init__(self, net, box: tuple):
        self.box = box
        fig = Figure(figsize=self.SIZE, dpi=self.DPI)
        fig.subplots_adjust(left=0.08, right=0.98, bottom=0.09, top=0.93)
        ax = fig.add_subplot()
        segs = np.stack([np.column_stack([net.lon[net.src], net.lat[net.src]]),
                         np.column_stack([net.lon[net.dst], net.lat[net.dst]])], axis=1)
        ax.add_collection(LineCollection(segs, colors="0.82", linewidths=0.8, zorder=1))
        ax.scatter(net.lon, net.lat, s=5, color="0.6", zorder=2)
        ax.text(-77.3, 7.6, "Darién Gap", fontsize=8, fontweight="bold", color="darkgreen", ha="left", va="top")
        for i in np.flatnonzero(net.kind == "station"):
            short = str(net.names[i]).split(" (")[0].replace(" reception station", "")
            ax.annotate(short, (net.lon[i], net.lat[i]), fontsize=6, color="0.2", xytext=(3, 2 + 5 * (i % 3)),
                        textcoords="offset points")
        seen = set()
        for k, i in enumerate(np.flatnonzero(net.kind == "border_area")):
            if str(net.names[i]).endswith("Field Office"):
                continue  # ports of entry sit on their sector: one label per place
            short = str(net.names[i]).replace(" Sector", "")
            if short not in seen:
                seen.add(short)
                ax.annotate(short, (net.lon[i], net.lat[i]), fontsize=6, color="darkred", rotation=35,
                            xytext=(2, 3 + 4 * (k % 2)), textcoords="offset points")
        ax.set_xlim(box[0], box[1])
        ax.set_ylim(box[2], box[3])
        ax.set_aspect(1 / np.cos(np.radians((box[2] + box[3]) / 2)))
        ax.set_xlabel("longitude (°)")
        ax.set_ylabel("latitude (°)")
        ax.grid(alpha=0.2)
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        self.background = np.asarray(canvas.buffer_rgba()).copy()
        self.position = ax.get_position()  # after the aspect ratio was applied
        self.limits = (ax.get_xlim(), ax.get_ylim())

    def image(self, frame: dict, title: str, max_size: float) -> bytes:
        """The map with one day's groups as JPEG bytes: area proportional to people,
        colour = what they are doing (on a leg by foot, boat, bus or air, or waiting
        in a town). Only the markers, legend and title are drawn, on a transparent
        figure laid over the background's pixels (JPEG: a tenth of a PNG's size and
        time to encode, for a page that shows a new one every day)."""
        fig = Figure(figsize=self.SIZE, dpi=self.DPI, facecolor="none")
        ax = fig.add_axes(self.position)
        ax.set_xlim(*self.limits[0])
        ax.set_ylim(*self.limits[1])
        ax.set_axis_off()
        sizes = frame["size"]
        for mode, color in MODE_COLORS.items():
            sel = frame["mode"] == mode
            if sel.any():
                waiting = mode == "waiting in a town"  # fainter: those on the move stand out
                ax.scatter(frame["lon"][sel], frame["lat"][sel], s=4 + 120 * sizes[sel] / max(max_size, 1.0),
                           color=color, alpha=0.35 if waiting else 0.8, edgecolor="black", linewidths=0.2,
                           label=mode, zorder=1 if waiting else 2)
        if len(sizes):
            ax.legend(loc="lower left", fontsize=7, markerscale=0.6, title="groups, sized by people",
                      title_fontsize=7)
        fig.text(0.5, 0.965, title, ha="center", va="center", fontsize=9.5)
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        top = np.asarray(canvas.buffer_rgba())
        alpha = top[..., 3:4].astype(np.float32) / 255.0
        rgb = top[..., :3] * alpha + self.background[..., :3] * (1.0 - alpha)
        buf = io.BytesIO()
        PIL.Image.fromarray(rgb.astype(np.uint8)).save(buf, format="JPEG", quality=85)
        return buf.getvalue()


_MAPS: dict = {}
_MAPS_LOCK = threading.Lock()


def route_map(net, box_name: str) -> RouteMap:
    """The RouteMap of a network and window, made once per server."""
    key = (tuple(net.ids), float(net.lon.sum()), float(net.lat.sum()), box_name)
    with _MAPS_LOCK:
        if key not in _MAPS:
            if len(_MAPS) > 16:
                _MAPS.clear()
            _MAPS[key] = RouteMap(net, BOXES[box_name])
        return _MAPS[key]


_TIMELINES: dict[str, bytes] = {}


def timeline_png(levers: list[dict], period: tuple, spinup, title42_end=None) -> bytes:
    """The timeline as PNG bytes, drawn once per set of levers (pages show it often)."""
    key = repr((levers, tuple(period), spinup, title42_end))
    with _MAPS_LOCK:
        hit = _TIMELINES.get(key)
    if hit is None:
        buf = io.BytesIO()
        FigureCanvasAgg(timeline(levers, period, spinup, title42_end)).print_png(buf)
        hit = buf.getvalue()
        with _MAPS_LOCK:
            if len(_TIMELINES) > 64:
                _TIMELINES.clear()
            _TIMELINES[key] = hit
    return hit


def draft_timeline_png(draft) -> bytes:
    """The timeline of a draft (``sim.app.drafts.Draft``): its levers over its period,
    spin-up and Title 42's end, as the Scenario page shows it."""
    raw = draft.raw()
    return timeline_png(list(draft.levers), draft.period(), raw.get("spinup_start"),
                        (raw.get("border") or {}).get("title42_end"))