"""What check_backward returns, and the table that printing it shows."""
import textwrap
from dataclasses import dataclass, field

from ..backend import ndarray

WIDTH = 96
NO_BREAK = "\u00a0"  # textwrap breaks lines at ASCII whitespace only


@dataclass(frozen=True)
class Diagnosis:
    """How a gradient is wrong: ``kind`` is a short label ("wrong shape", "transposed",
    "constant factor", "missing batch sum", "wrong sign", "mask from dout", "wrong values",
    "imprecise", "not finite", "missing"; for recurrent and backprop-ninja layers "missing sum
    over time", "batchnorm mean path missing", "embedding scatter lost"), ``message`` the
    explanation, ``factor`` the constant c when the
    gradient is c times the right one."""

    kind: str
    message: str
    factor: float = None


@dataclass(repr=False)
class GradientCheck:
    """One row of the report: the gradient called ``name``, what the backward returned
    (``got``), the central-difference gradient (``numeric``) and autograd's (``autograd``, None
    where it could not be used), and the relative errors between them."""

    name: str
    shape: tuple
    got_shape: tuple
    numeric_error: float
    autograd_error: float
    passed: bool
    diagnosis: Diagnosis = None
    got: ndarray = None
    numeric: ndarray = None
    autograd: ndarray = None

    def __repr__(self):
        verdict = "ok" if self.passed else f"wrong: {self.diagnosis.kind}"
        return f"GradientCheck({self.name}, shape={self.shape}, {verdict})"


@dataclass(repr=False)
class BackwardReport:
    """What check_backward found: ``rows`` (one GradientCheck per gradient), ``passed``, and
    ``autograd_note``, which says why autograd was not used (None when it was).

    >>> import chainrule.manual as manual
    >>> x, w, b = np.ones((2, 3)), np.ones((3, 4)), np.zeros(4)
    >>> report = cr.check_backward(manual.affine_forward, manual.affine_backward, [x, w, b], names=['x', 'w', 'b'])
    >>> report.passed, report["w"]
    (True, GradientCheck(w, shape=(3, 4), ok))
    """

    title: str
    kind: str
    rows: list
    rtol: float
    eps: float
    autograd_note: str = None
    notes: list = field(default_factory=list)
    failures: list = field(default_factory=list)  # (kind, message): wrong beyond any gradient

    @property
    def passed(self):
        return not self.failures and all(row.passed for row in self.rows)

    @property
    def differentiated(self):
        """The scalar whose central differences give the numeric gradients."""
        return "sum(out * dout)" if self.kind == "layer" else "the loss"

    def __getitem__(self, name):
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(f"no gradient named {name!r}; the report has {[r.name for r in self.rows]}")

    def __repr__(self):
        return f"<BackwardReport {self.title}: {'passed' if self.passed else 'FAILED'}>"

    def __str__(self):
        return _render(self)

    def _repr_html_(self):
        return _render_html(self)


def _verdict(report):
    failed = [row for row in report.rows if not row.passed]
    if not failed and not report.failures:
        return "passed"
    if not failed:
        return f"FAILED ({'; '.join(kind for kind, _ in report.failures)})"
    return f"FAILED ({len(failed)} of {len(report.rows)} wrong)"


def _render(report):
    failed = [row for row in report.rows if not row.passed]
    verdict = _verdict(report)
    header = ("gradient", "shape", "vs numeric", "vs autograd", "result")
    table = [header] + [(row.name, str(tuple(row.shape)), _error(row.numeric_error),
                         _error(row.autograd_error) if report.autograd_note is None else "n/a",
                         "ok" if row.passed else f"WRONG: {row.diagnosis.kind}")
                        for row in report.rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines = [f"check_backward: {report.title}: {verdict}"]
    lines += ["  " + "  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip()
              for line in table]
    for kind, message in report.failures:
        lines += _wrap(f"WRONG: {kind}: {message}")
    for row in failed:
        lines += _wrap(f"{row.name}: {row.diagnosis.kind}: {row.diagnosis.message}")
    if report.autograd_note is not None:
        lines += _wrap(f"autograd: {report.autograd_note}")
    for note in report.notes:
        lines += _wrap(f"note: {note}")
    lines.append(f"  relative error: max|got - expected| / max(|got|, |expected|), passing at "
                 f"<= {report.rtol:g}")
    lines.append(f"  numeric: float64 fourth-order central differences of "
                 f"{report.differentiated}, h = {report.eps:g}")
    return "\n".join(lines)


def _render_html(report):
    from .. import display
    failed = [row for row in report.rows if not row.passed]
    verdict = _verdict(report)
    rows = [[display.escape(row.name), display.escape(row.shape), _error(row.numeric_error),
             _error(row.autograd_error) if report.autograd_note is None else "n/a",
             display.verdict(row.passed, "ok" if row.passed else f"WRONG: {row.diagnosis.kind}")]
            for row in report.rows]
    body = display.table(["gradient", "shape", "vs numeric", "vs autograd", "result"], rows,
                         ["left", "left", "right", "right", "left"])
    notes = [f"<b>WRONG: {display.escape(kind)}</b>: {display.escape(message)}"
             for kind, message in report.failures]
    notes += [f"<b>{display.escape(row.name)}: {display.escape(row.diagnosis.kind)}</b>: "
              f"{display.escape(row.diagnosis.message)}" for row in failed]
    if report.autograd_note is not None:
        notes.append(f"autograd: {display.escape(report.autograd_note)}")
    notes += [f"note: {display.escape(note)}" for note in report.notes]
    notes.append(f"relative error: max|got - expected| / max(|got|, |expected|), passing at "
                 f"&lt;= {report.rtol:g}; numeric: float64 fourth-order central differences of "
                 f"{display.escape(report.differentiated)}, h = {report.eps:g}")
    body += "".join(f'<p style="margin: 2px 0">{note}</p>' for note in notes)
    title = (f"check_backward: {display.escape(report.title)}: "
             f"{display.verdict(report.passed, verdict)}")
    return display.box(title, body)


def _wrap(text):
    """Indented lines of at most WIDTH characters that never break inside `code`."""
    pieces = text.split("`")
    pieces[1::2] = [piece.replace(" ", NO_BREAK) for piece in pieces[1::2]]
    lines = textwrap.wrap("`".join(pieces), WIDTH, initial_indent="  ",
                          subsequent_indent="    ")
    return [line.replace(NO_BREAK, " ") for line in lines]


def _error(value):
    return "-" if value is None else f"{value:.1e}"
