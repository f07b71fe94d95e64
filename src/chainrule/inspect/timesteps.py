"""Backpropagation through time, seen: an unrolled recurrence read step by step.

The recurrent layers record each time step as a scope on the nodes they make
(``nn.recurrent.TimeStep``: the step t, the layer, the direction); ``time_step(t)`` does the same
around the body of a hand-written loop. From that declaration alone (no op is recognised by
name), this module gives:

- ``split_by_time_step``: each gradient split into the contributions of the time steps. A
  weight shared by every step (W_hh, W_xh) reaches the loss along one path per step, so its
  gradient is the sum of one contribution per step: the chain rule's many paths, over time.
  A path is credited to the first time step it enters on its way from the weight to the loss,
  which is the step whose ops used the weight (for W_xh, multiplied in one matmul for the whole
  sequence up front, the step whose slice of that product the path carries). The split comes
  from the engine's own VJPs, run once per step where paths of several steps meet, so the
  contributions add up to the engine's gradient.
- ``time_step_gradients``: the norm of dL/dh_t for every t, where h_t is the state a step hands
  to the next. Falling norms towards t = 0 are vanishing gradients, rising ones exploding.
- ``sequence_memory``: the memory ledger's training bytes for several sequence lengths, whole
  and truncated (backward every k steps, the state detached in between), to see memory grow
  linearly with the length and what truncation saves.
"""
import math
from dataclasses import dataclass

from .. import display
from ..autograd import no_grad
from ..backend import xp
from ..engine import sum_to_shape
from ..nn.recurrent import time_step
from .gradients import check_retained, engine_gradients
from .graph import GraphView, format_shape, grad_norm
from .timescope import order, step_label, time_step_of

__all__ = ["time_step", "time_step_of", "split_by_time_step", "time_step_gradients",
           "TimeStepGradients", "StepGradient", "sequence_memory", "SequenceMemory"]


UNSPLIT = "not split"  # the key of a part too large to keep split by time step

SPLIT_BUDGET = 64 * 2**20


def split_by_time_step(loss, params=None, nodes=None, budget=SPLIT_BUDGET):
    """``{node: {TimeStep or None: array}}``: the gradient of each of ``nodes`` (default: the
    leaves) split by the time step its paths to the loss first enter (None: paths that enter no
    step). The parts of a node add up to the gradient backward gives it.

    Where paths of many steps cross one large array outside the steps (W_xh's product for the
    whole sequence), each step's part is an array of that size: past ``budget`` bytes for one
    node the parts are added up and kept under the key ``UNSPLIT``, so the sum stays right and
    the split is not shown. Like explain, it runs the VJPs on the graph's saved arrays: call it
    before ``backward()``. Tensor hooks are not run here."""
    view = loss if isinstance(loss, GraphView) else GraphView(loss, params)
    check_retained(view)
    wanted = set(nodes) if nodes is not None else {n for n in view.nodes if n.op is None}
    root = view.root
    pending = {root: {None: xp.ones(root.shape, dtype=root.dtype)}}
    result = {}
    with no_grad():
        for node in view.engine_order():
            parts = pending.pop(node, None)
            if parts is None:
                continue
            if node in wanted:
                result[node] = parts
            if node.op is None:
                continue
            own = time_step_of(node)
            if own is not None:  # every path through this node enters the loss via step `own`
                parts = {own: _total(parts.values())}
            elif len(parts) > 1 and sum(a.nbytes for a in parts.values()) > budget:
                parts = {UNSPLIT: _total(parts.values())}
            for key, grad in parts.items():
                for position, raw in node.plan.input_gradients(node, grad, True, False):
                    parent = node.parents[position]
                    g = xp.asarray(sum_to_shape(xp.asarray(raw), parent.shape, node.name))
                    slot = pending.setdefault(parent, {})
                    slot[key] = slot[key] + g if key in slot else g.astype(parent.dtype)
    return {node: dict(sorted(parts.items(), key=lambda item: _key_order(item[0])))
            for node, parts in result.items()}


def _key_order(key):
    return (1,) if key is UNSPLIT else (0, *order(key))


def _total(values):
    values = list(values)
    total = values[0]
    for value in values[1:]:
        total = total + value
    return total


# -- dL/dh_t ----------------------------------------------------------------------------------

@dataclass
class StepGradient:
    """The gradient reaching one step's hidden state h_t."""
    label: str            # 't3', or 'l1.t3' for a later layer
    time_step: int
    layer: int
    direction: int
    variable: str         # explain's name for h_t
    shape: tuple
    norm: float           # ||dL/dh_t||, all paths summed (from o_t and from h_{t+1})


class TimeStepGradients(list):
    """What ``time_step_gradients`` returns: one ``StepGradient`` per time step (a list), that
    prints as a table with bars on a log scale and shows in a notebook as an HTML bar chart."""

    def __init__(self, rows, objective="L"):
        super().__init__(rows)
        self.objective = objective

    @property
    def norms(self):
        return [row.norm for row in self]

    def ratio(self):
        """||dL/dh_first|| / ||dL/dh_last|| of the first chain (layer 0, forward): far below 1,
        the gradient vanishes on its way back; far above, it explodes."""
        chain = [row for row in self if (row.layer, row.direction) == (0, 0)] or list(self)
        return chain[0].norm / chain[-1].norm if chain and chain[-1].norm else float("inf")

    def __str__(self):
        obj = self.objective
        lines = [f"||d{obj}/dh_t|| for each time step t (all paths summed: from o_t and from "
                 f"h_(t+1)); bars on a log scale"]
        low, high = _log_range(self.norms)
        for row in self:
            width = 0 if row.norm <= 0 else round(30 * _log_fraction(row.norm, low, high))
            lines.append(f"  {row.label:>12}  {row.variable:>6} {format_shape(row.shape):>9}"
                         f"  {row.norm:11.4e}  {'#' * max(width, 1 if row.norm > 0 else 0)}")
        if len(self) > 1:
            lines.append(f"first/last = {self.ratio():.3g}")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self):
        return time_step_html(self)

    def plot(self, ax=None):
        """The norms as a bar chart on a log axis, with matplotlib (the ``train`` extra)."""
        import matplotlib.pyplot as plt
        ax = ax or plt.subplots(figsize=(6, 2.5))[1]
        ax.bar(range(len(self)), self.norms, color="#4a86e8", log=True)
        ax.set_xticks(range(len(self)), [row.label for row in self],
                      rotation=90 if len(self) > 12 else 0)
        ax.set_xlabel("time step t")
        ax.set_ylabel(f"||d{self.objective}/dh_t||")
        return ax


def time_step_gradients(loss, params=None, hidden=None, grads=None):
    """The norm of dL/dh_t for each time step t: a ``TimeStepGradients``.

    h_t is found from what the recurrence declares: the newest node of step t that the next
    step uses (the state it hands on; for an LSTM h_t rather than c_t), and for the last step
    the node in the same place among its step's nodes. ``hidden`` (a list of tensors, one per
    step) names the states instead, for a loop that declares no time steps. Like explain, it
    runs the engine's backward pass on the graph's saved arrays: call it before ``backward()``
    (or after ``backward(retain_graph=True)``); no ``.grad`` is written. ``grads``: the
    engine's gradients of ``loss``'s GraphView when already computed (explain's).
    """
    view = loss if isinstance(loss, GraphView) else GraphView(loss, params)
    states = _named_states(view, hidden) if hidden is not None else _declared_states(view)
    if not states:
        raise ValueError("time_step_gradients: the graph declares no time steps (the recurrent "
                         "layers declare theirs; wrap a hand-written loop's body in "
                         "inspect.time_step(t)), and no hidden= states were given")
    if grads is None:
        grads, _ = engine_gradients(view)
    rows = []
    for scope, node in states:
        rows.append(StepGradient(
            label=step_label(scope) if scope is not None else f"t{len(rows)}",
            time_step=scope.time_step if scope is not None else len(rows),
            layer=scope.layer if scope is not None else 0,
            direction=scope.direction if scope is not None else 0,
            variable=view.name(node), shape=tuple(node.shape), norm=grad_norm(grads[node])))
    return TimeStepGradients(rows, view.name(view.root))


def _named_states(view, hidden):
    present = set(view.nodes)
    states = []
    for t, tensor in enumerate(hidden):
        if tensor.node is None or tensor.node not in present:
            raise ValueError(f"time_step_gradients: hidden[{t}] is not part of the loss's graph")
        states.append((time_step_of(tensor.node), tensor.node))
    return states


def _declared_states(view):
    members = {}
    for node in view.nodes:  # in the order they were made
        scope = time_step_of(node)
        if scope is not None:
            members.setdefault(scope, []).append(node)
    chains = {}
    for scope in sorted(members, key=order):
        chains.setdefault((scope.layer, scope.direction), []).append(scope)
    states = []
    for chain in chains.values():
        found = {}
        for scope, later in zip(chain, chain[1:]):
            handed = [n for n in members[scope]
                      if any(time_step_of(c) is later for c, _ in view.consumers[n])]
            if handed:
                found[scope] = handed[-1]
        for scope in chain:
            if scope not in found:
                found[scope] = _by_position(members, found, scope, view)
        states += [(scope, found[scope]) for scope in chain if found[scope] is not None]
    return states


def _by_position(members, found, scope, view):
    """The node of ``scope`` in the place the other steps' states have among their nodes (the
    last step hands its state to no later step); failing that, its newest node used outside."""
    for other, node in found.items():
        if node is not None and len(members[other]) == len(members[scope]):
            return members[scope][members[other].index(node)]
    outside = [n for n in members[scope]
               if any(time_step_of(c) is not scope for c, _ in view.consumers[n])]
    return outside[-1] if outside else None


def time_step_html(report):
    """An HTML bar chart of ||dL/dh_t||, log-scaled, one row per time step."""
    low, high = _log_range(report.norms)
    rows = [[display.escape(row.label), display.escape(row.variable),
             display.escape(format_shape(row.shape)), f"{row.norm:.4e}",
             display.bar(_log_fraction(row.norm, low, high) if row.norm > 0 else 0)]
            for row in report]
    caption = (f"||d{report.objective}/dh_t|| per time step (bars: log scale from "
               f"{low:.2e} to {high:.2e})")
    if len(report) > 1:
        caption += f"; first/last = {report.ratio():.3g}"
    return display.box(display.escape(caption),
                       display.table(["step", "h_t", "shape", "norm", ""], rows,
                                     ["left", "left", "left", "right", "left"]))


def _log_range(norms):
    positive = [n for n in norms if n > 0 and math.isfinite(n)]
    if not positive:
        return 1.0, 1.0
    # At least a decade, so that norms within a few percent of each other get similar bars.
    return min(min(positive), max(positive) / 10), max(positive)


def _log_fraction(norm, low, high):
    """Where ``norm`` lies between low and high on a log scale, in (0, 1]; the smallest bar
    still shows."""
    if not math.isfinite(norm):
        return 1.0
    if high <= low:
        return 1.0
    return 0.05 + 0.95 * (math.log(norm) - math.log(low)) / (math.log(high) - math.log(low))


# -- memory over sequence length -----------------------------------------------------------------

@dataclass
class SequenceMemory:
    """Training memory by sequence length: what the graph keeps for backward (the ledger's
    training bytes) for the whole sequence, and with truncation the most any chunk keeps."""
    lengths: list
    full_bytes: list
    truncate: int = None
    truncated_bytes: list = None

    def bytes_per_step(self):
        """The slope of a least-squares line through (length, full bytes)."""
        n = len(self.lengths)
        if n < 2:
            return float(self.full_bytes[0]) / self.lengths[0]
        mean_t = sum(self.lengths) / n
        mean_b = sum(self.full_bytes) / n
        num = sum((t - mean_t) * (b - mean_b) for t, b in zip(self.lengths, self.full_bytes))
        den = sum((t - mean_t) ** 2 for t in self.lengths)
        return num / den

    def __str__(self):
        head = f"{'steps':>7}  {'whole sequence':>16}"
        if self.truncate:
            head += f"  {f'backward every {self.truncate}':>18}  {'saved':>6}"
        lines = ["Training memory kept for backward (the memory ledger), by sequence length",
                 head]
        for i, length in enumerate(self.lengths):
            line = f"{length:>7}  {self.full_bytes[i]:>14,} B"
            if self.truncate:
                kept = self.truncated_bytes[i]
                line += f"  {kept:>16,} B  {1 - kept / self.full_bytes[i]:>6.0%}"
            lines.append(line)
        lines.append(f"about {self.bytes_per_step():,.0f} B more per time step")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self):
        top = max(self.full_bytes) or 1
        rows = []
        for i, length in enumerate(self.lengths):
            row = [str(length), f"{self.full_bytes[i]:,} B",
                   display.bar(self.full_bytes[i] / top)]
            if self.truncate:
                row += [f"{self.truncated_bytes[i]:,} B",
                        display.bar(self.truncated_bytes[i] / top, "#6aa84f")]
            rows.append(row)
        header = ["steps", "whole sequence", ""]
        if self.truncate:
            header += [f"backward every {self.truncate} steps", ""]
        caption = (f"Training memory by sequence length: about {self.bytes_per_step():,.0f} B "
                   f"per time step")
        return display.box(display.escape(caption),
                           display.table(header, rows, ["right"] + ["left"] * (len(header) - 1)))

    def plot(self, ax=None):
        """Bytes against sequence length, with matplotlib (the ``train`` extra)."""
        import matplotlib.pyplot as plt
        ax = ax or plt.subplots(figsize=(5, 3))[1]
        ax.plot(self.lengths, [b / 1024 for b in self.full_bytes], "o-",
                label="whole sequence")
        if self.truncate:
            ax.plot(self.lengths, [b / 1024 for b in self.truncated_bytes], "s-",
                    label=f"backward every {self.truncate} steps")
        ax.set_xlabel("sequence length (time steps)")
        ax.set_ylabel("kept for backward (KiB)")
        ax.set_ylim(bottom=0)
        ax.legend()
        return ax


def sequence_memory(loss_of, lengths, truncate=None):
    """What training keeps for backward, by sequence length: a ``SequenceMemory``.

    ``loss_of(start, stop, state)`` runs the model over time steps ``start..stop-1`` from
    ``state`` (None at the start) and returns ``(loss, state)``. For each length T the whole
    sequence's graph is measured by the memory ledger; with ``truncate = k`` also the sequence
    cut into chunks of k steps, each chunk's graph measured and dropped before the next runs
    (backward once per chunk, the state detached between chunks, as d2l's truncated BPTT), the
    most any chunk keeps. Detaching the state inside one graph and calling backward once at the
    end would save nothing: every step's arrays are still kept until that backward.
    """
    from .memory import ledger
    lengths = [int(t) for t in lengths]
    if not lengths or any(t < 1 for t in lengths):
        raise ValueError(f"sequence_memory: lengths must be positive numbers of steps, got "
                         f"{lengths}")
    if truncate is not None and (isinstance(truncate, bool) or int(truncate) < 1):
        raise ValueError(f"sequence_memory: truncate = {truncate!r} must be a number of steps "
                         f">= 1")
    full, truncated = [], []
    for length in lengths:
        loss, _ = loss_of(0, length, None)
        full.append(ledger(loss).training_bytes)
        del loss
        if truncate:
            peak, state = 0, None
            for start in range(0, length, int(truncate)):
                loss, state = loss_of(start, min(start + int(truncate), length), state)
                peak = max(peak, ledger(loss).training_bytes)
                del loss
                state = _detached(state)
            truncated.append(peak)
    return SequenceMemory(lengths, full, int(truncate) if truncate else None,
                          truncated if truncate else None)


def _detached(state):
    if state is None:
        return None
    if isinstance(state, (tuple, list)):
        return type(state)(_detached(s) for s in state)
    return state.detach()

