"""Random draws and smooth time curves (eases, keys, Hermite segments, noise, action schedules) of the families.

Everything here is a function of explicit inputs: times in seconds, `rng` for every random value. The underscore
names are shared inside synth.motions.procedural only; the package's public surface is its __init__.
"""

from __future__ import annotations

import numpy as np

#: Fraction of a step over which a foot rises (and, at the end, lowers) in _lift.
STEP_LIFT_FRACTION = 0.35
#: Range of the random amplitudes of the sinusoids summed by _noise (relative, normalised afterwards).
NOISE_AMPLITUDE_RANGE = (0.5, 1.0)
#: Fraction of the clip a squeezed first repetition of an action must fit in (so it ends inside the clip).
CLIP_FIT_FRACTION = 0.97
#: Range (s) of the start of the first repetition of a _schedule.
SCHEDULE_START_S = (0.0, 0.25)
#: Shortest move (s) a _schedule's first repetition is squeezed down to.
SCHEDULE_MIN_MOVE_S = 0.45
#: Peak slope of `ease` on [0, 1] (15/8 at x = 0.5): an eased change peaks at this many times its mean rate.
EASE_PEAK_RATE = 1.875


def _draw(rng: np.random.Generator, table: dict[str, tuple[float, float]]) -> dict[str, float]:
    """One uniform draw per table entry, in table order."""
    return {k: float(rng.uniform(lo, hi)) for k, (lo, hi) in table.items()}


def _choice(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return options[int(rng.integers(len(options)))]


def ease(x) -> np.ndarray:
    """Quintic smoothstep on [0, 1] (zero velocity and acceleration at both ends), clamped outside."""
    x = np.clip(np.asarray(x, np.float64), 0.0, 1.0)
    return x * x * x * (10.0 + x * (-15.0 + 6.0 * x))


def _keys(t: np.ndarray, times, values) -> np.ndarray:
    """Pose-to-pose curve: eased between consecutive keys (K times, (K,) or (K, D) values), held outside."""
    times = np.asarray(times, np.float64)
    values = np.asarray(values, np.float64)
    i = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 1)
    j = np.minimum(i + 1, len(times) - 1)
    span = np.where(j > i, times[j] - times[i], 1.0)
    w = ease(np.where(j > i, (t - times[i]) / span, 0.0))
    if values.ndim > 1:
        w = w[:, None]
    return values[i] + (values[j] - values[i]) * w


def _hermite(u, p0, m0, p1, m1) -> np.ndarray:
    """Cubic Hermite on u in [0, 1] with end values p0, p1 and end slopes m0, m1 (per unit u)."""
    u2, u3 = u * u, u * u * u
    return (2 * u3 - 3 * u2 + 1) * p0 + (u3 - 2 * u2 + u) * m0 + (-2 * u3 + 3 * u2) * p1 + (u3 - u2) * m1


def _bump(x) -> np.ndarray:
    """sin^2(pi x) on [0, 1], 0 outside: a lift with zero slope at both ends."""
    x = np.clip(np.asarray(x, np.float64), 0.0, 1.0)
    return np.sin(np.pi * x) ** 2


def _lift(x) -> np.ndarray:
    """Foot lift profile of a step with linear progress x in [0, 1]: rises over the first STEP_LIFT_FRACTION of
    the step, holds, and lowers over the last, so the foot leaves and meets the floor nearly vertically (C2)."""
    x = np.clip(np.asarray(x, np.float64), 0.0, 1.0)
    return np.where(x < 0.5, ease(x / STEP_LIFT_FRACTION), ease((1.0 - x) / STEP_LIFT_FRACTION))


def _noise(rng: np.random.Generator, t: np.ndarray, freq_hz: tuple[float, float], terms: int = 3) -> np.ndarray:
    """Smooth random curve in [-1, 1]: a normalised sum of `terms` sinusoids with random frequencies/phases."""
    f = rng.uniform(freq_hz[0], freq_hz[1], terms)
    ph = rng.uniform(0.0, 2 * np.pi, terms)
    a = rng.uniform(*NOISE_AMPLITUDE_RANGE, terms)
    return (a[None] * np.sin(2 * np.pi * f[None] * t[:, None] + ph[None])).sum(-1) / a.sum()


def _schedule(rng, t, duration, move_s, hold_s, rest_s, start_s=SCHEDULE_START_S, min_move_s=SCHEDULE_MIN_MOVE_S):
    """Repeated rest -> goal -> rest actions filling the clip.

    Returns (w (F,) in [0, 1] eased action weight, rep (F,) int index of the current repetition, count).
    The first repetition is compressed (down to min_move_s per move) to fit short clips; a clip shorter still
    ends during the action.
    """
    starts, ups, holds, downs = [], [], [], []
    a = float(rng.uniform(*start_s))
    while True:
        up, hold, down, rest = (float(rng.uniform(*r)) for r in (move_s, hold_s, move_s, rest_s))
        if not starts:
            total = up + hold + down
            room = CLIP_FIT_FRACTION * duration - a
            if total > room:
                scale = max(room / total, min_move_s / min(up, down))
                up, hold, down = up * scale, hold * scale, down * scale
        starts.append(a)
        ups.append(up)
        holds.append(hold)
        downs.append(down)
        a = a + up + hold + down + rest
        if a >= duration:
            break
    w = np.zeros_like(t)
    for a, up, hold, down in zip(starts, ups, holds, downs):
        rise = ease((t - a) / up)
        fall = ease((t - (a + up + hold)) / down)
        w = np.maximum(w, np.where(t < a + up + hold, rise, 1.0 - fall))
    rep = np.clip(np.searchsorted(np.asarray(starts), t, side="right") - 1, 0, len(starts) - 1)
    return w, rep, len(starts)


def _softplus(x, width: float) -> np.ndarray:
    """Smooth max(x, 0) with a rounded corner of the given width (same unit as x)."""
    return width * np.logaddexp(0.0, np.asarray(x, np.float64) / width)


def _softmin(values: np.ndarray, k: float) -> np.ndarray:
    """Smooth minimum over the last axis (never above the true minimum)."""
    m = values.min(axis=-1, keepdims=True)
    return m[..., 0] - k * np.log(np.exp(-(values - m) / k).sum(-1))
