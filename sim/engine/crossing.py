"""Where people cross: the value of reaching each US border area, per citizenship.

Why a module: the choice of crossing point is made far from the border, at every fork
of the way, so it enters route choice as the value of each way's end (``Router``
weighs every leg by its cost plus the logsum of these values over the areas it leads
to). The value of an area has three parts, with few parameters (``crossing:`` in a
scenario), none of them a share by citizenship:

- **attractiveness** of the area (one number per area: enforcement, smugglers'
  control, shelters), the same for everyone;
- **following co-nationals**: people go where those they know went. A share
  ``follow_share`` of the weight goes to areas in proportion to the recent encounters
  of the same citizenship there (an exponential memory of ``follow_window_days``,
  starting from an even spread worth ``follow_prior_people`` people), so each
  citizenship's pattern emerges from its geography and then persists and shifts;
- **at a port of entry** (Field Operations): the advantage in the chance of release
  over crossing between ports, times ``port_weight``, less the expected wait in the
  port's queue at its daily capacity (days weighed as days of travel). With CBP One
  capacity scarce, the queue decides who can use a port.
"""

from __future__ import annotations

import numpy as np

from sim.citizenship import CITIZENSHIPS
from sim.engine.routing import day_weights

UPDATE_EVERY_DAYS = 7  # the values reach route choice once a week, with route familiarity


class Crossing:
    """The end values of the ways (citizenships x border areas), and their memory."""

    def __init__(self, model):
        self.model = model
        net, spec = model.network, model.spec.crossing
        self.spec = spec
        self.areas = np.flatnonzero(net.is_border)
        self.is_port = net.is_field_office[self.areas]
        self.slot = np.full(net.n_nodes, -1)
        self.slot[self.areas] = np.arange(len(self.areas))
        self.alpha = np.array([spec.attractiveness.get(net.ids[n], 0.0) for n in self.areas])
        self.recent = np.zeros((len(CITIZENSHIPS), len(self.areas)))
        self._keep = float(np.exp(-1.0 / spec.follow_window_days))
        self.queue_days = np.zeros(len(self.areas))
        self._day_weight = day_weights(model.spec)  # a day of queue weighs as a day on the way
        self._last: np.ndarray | None = None

    def update(self, t: int) -> bool:
        """The day's fading of the memory; once a week, whether the values changed (route
        choice is then refreshed)."""
        self.fade()
        if t % UPDATE_EVERY_DAYS:
            return False
        values = self.values()
        changed = self._last is None or not np.allclose(values, self._last, rtol=0, atol=1e-6)
        self._last = values
        return changed

    def remember(self, cit: np.ndarray, node: np.ndarray, size: np.ndarray) -> None:
        """Today's encounters (full-scale people) enter the memory of where co-nationals went."""
        if self.spec.follow_share <= 0:
            return
        np.add.at(self.recent, (cit, self.slot[node]), size / self.model.scale)

    def fade(self) -> None:
        """One day older: the memory fades by exp(-1 / follow_window_days)."""
        if self.spec.follow_share > 0:
            self.recent *= self._keep

    def follow_term(self) -> np.ndarray:
        """log of the weight following co-nationals gives each area (citizenships x areas):
        log((1 - s) + s * n_areas * share of the citizenship's recent crossings there)."""
        s = self.spec.follow_share
        if s <= 0:
            return np.zeros_like(self.recent)
        k = self.spec.follow_prior_people
        n_areas = self.recent.shape[1]
        share = (self.recent + k / n_areas) / (self.recent.sum(axis=1, keepdims=True) + k)
        return np.log((1.0 - s) + s * n_areas * share)

    def values(self) -> np.ndarray:
        """Cost of ending the way at each area (citizenships x areas; lower is better):
        -(attractiveness + following), and at ports -(port_weight x release advantage)
        plus the expected wait, in days of travel."""
        m = self.model
        cost = -(self.alpha[None, :] + self.follow_term())
        if self.is_port.any():
            adv = m.border.expected_release(port=True) - m.border.expected_release(port=False)
            wait = self._day_weight * self.queue_days[self.is_port][None, :]
            cost[:, self.is_port] += -self.spec.port_weight * adv[:, None] + wait
        return cost
