"""Shared pieces of bench/: statistics, the machine description, tables,
CSV files, gnuplot plots, a benchmark's outputs from its rows
(write_outputs) and the progress line.

Every comparing figure is a pair of sample lists measured in the same run,
alternated A B A B; rows carry median, min and max of each side and the
ratio of the medians (smpvisor / reference), and a status: ok, ok after a
retry, or failed, with the reason (a guest that died is a failed row, never
a missing one).

A benchmark's table and its CSV are one thing: publish() writes the CSV and
prints the table from the rows read back from that file.
"""
import csv
import datetime
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
RESULTS = os.path.join(BENCH, "results")

# Columns every CSV starts with, whatever the benchmark.
COMMON_COLUMNS = ["benchmark", "config", "machine", "cpu_model", "host_kind",
                  "kvm_host_cpus", "date", "revision", "reference", "runs", "status"]
# Common columns that stay text when a CSV is read back (a revision such as
# 1234e56 is not a number).
TEXT_COLUMNS = {"benchmark", "config", "machine", "cpu_model", "host_kind", "date",
                "revision", "reference", "status"}
STAT_FIELDS = ["median", "min", "max"]


def summary(samples):
    """(median, min, max) of a non-empty list, or Nones."""
    if not samples:
        return None, None, None
    return statistics.median(samples), min(samples), max(samples)


def ratio(a, b):
    return a / b if a is not None and b not in (None, 0) else None


def metric_columns(metric, systems):
    """CSV columns for one metric measured on each system, plus the ratio."""
    cols = [f"{metric}_{s}_{f}" for s in systems for f in STAT_FIELDS]
    return cols + [f"{metric}_ratio"]


def metric_values(metric, systems, samples):
    """Values for metric_columns: samples maps system -> list of numbers.

    The ratio is the first system's median over the second's."""
    out = {}
    meds = []
    for s in systems:
        med, lo, hi = summary(samples.get(s, []))
        meds.append(med)
        out.update({f"{metric}_{s}_median": med, f"{metric}_{s}_min": lo,
                    f"{metric}_{s}_max": hi})
    out[f"{metric}_ratio"] = ratio(meds[0], meds[1]) if len(meds) > 1 else None
    return out


def status(failed=(), retried=()):
    """The status column of a row: "ok", "ok after a retry: WHAT" or
    "failed: WHAT" (with what was retried, if anything). WHAT names the
    system and why, e.g. "smpvisor: no guest shell (exit 1): vcpu 0: guest
    triple fault (KVM_EXIT_SHUTDOWN)"."""
    failed, retried = [plain(x).replace("\n", " ") for x in failed], \
        [plain(x).replace("\n", " ") for x in retried]
    if failed:
        return ("failed: " + "; ".join(failed)
                + (f" (retried once: {'; '.join(retried)})" if retried else ""))
    if retried:
        return "ok after a retry: " + "; ".join(retried)
    return "ok"


# Terminal control in text that comes from consoles: CSI and OSC sequences,
# other escapes, and C0 controls but tab and newline. QEMU's -nographic
# console starts with ESC c ESC [?7l ESC [2J (SeaBIOS: reset the terminal,
# switch line wrap off, clear the screen), which a console tail printed
# raw does to the terminal the tables are on.
_CONTROL = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[ -/]*[0-~])?"
                      r"|[\x00-\x08\x0b-\x1f\x7f]")


def plain(text):
    """text fit for a terminal and a CSV cell: line ends made \\n, escape
    sequences and other control characters removed."""
    text = str(text).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.*)$", f.read(), re.M)
        return m.group(1).strip() if m else platform.processor()
    except OSError:
        return platform.processor()


def revision():
    try:
        r = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        return r.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except OSError:
        return ""


def host_kind_label(kind):
    return {"nested": "nested test host (TCG SVM)", "direct": "vmx/svm hardware",
            "pvm": "this machine's /dev/kvm (PVM, CPL3)"}.get(kind, kind)


class Machine:
    """Where the numbers come from; fills the common CSV columns."""

    def __init__(self, host_kind, kvm_host_cpus):
        self.name = platform.node()
        self.cpu = cpu_model()
        self.host_kind = host_kind
        self.kvm_host_cpus = kvm_host_cpus
        self.date = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
        self.revision = revision()

    def columns(self, benchmark, config, reference, runs, host_kind=None):
        return {"benchmark": benchmark, "config": config, "machine": self.name,
                "cpu_model": self.cpu, "host_kind": host_kind_label(host_kind or self.host_kind),
                "kvm_host_cpus": self.kvm_host_cpus, "date": self.date,
                "revision": self.revision, "reference": reference, "runs": runs,
                "status": "ok"}


def fmt(v, digits=3):
    if v is None:
        return "-"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    if isinstance(v, float):
        if v == 0:
            return "0"
        mag = abs(v)
        if mag >= 1000:
            return f"{v:,.0f}"
        if mag >= 1:
            return f"{v:.{digits}g}" if mag < 10 ** digits else f"{v:.0f}"
        return f"{v:.{digits}g}"
    return str(v)


def format_table(title, headers, rows):
    """A plain aligned text table: numbers right-aligned, a last status
    column left-aligned; "(no rows)" when there are none."""
    cells = [[plain(fmt(c)).replace("\n", " ") for c in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    left = headers[-1] == "status"

    def line(items):
        out = [c.ljust(w) if left and i == len(items) - 1 else c.rjust(w)
               for i, (c, w) in enumerate(zip(items, widths))]
        return "  ".join(out).rstrip()
    lines = [f"\n{title}", line(headers), line(["-" * w for w in widths])]
    lines += [line(r) for r in cells] or ["(no rows)"]
    return "\n".join(lines) + "\n"


def print_table(title, headers, rows, out=None):
    """format_table on out (sys.stdout at the time of the call)."""
    out = out or sys.stdout
    out.write(format_table(title, headers, rows))
    out.flush()


class Table:
    """One printed table of a benchmark's CSV: its title and headers, the
    cells of a row (a function of the row as read back from the CSV), and
    which rows it shows (all, or those where(row) is true). A status column
    is added as the last."""

    def __init__(self, title, headers, cells, where=None):
        self.title, self.headers, self.cells, self.where = title, headers, cells, where


def publish(name, columns, rows, tables, results=RESULTS, progress=None, out=None):
    """Write NAME.csv from rows, then print each Table from the rows read
    back from that file, so the terminal shows what the CSV holds, row for
    row (nothing printed from a list of its own, nothing written after the
    printing). The tables go out in one write, under the progress line's
    lock (no status tick lands between two rows). Returns (csv path, the
    printed text)."""
    path = write_csv(name, columns, rows, results)
    back = read_csv_typed(path)
    text = "".join(format_table(t.title, t.headers + ["status"],
                                [t.cells(r) + [r.get("status")] for r in back
                                 if t.where is None or t.where(r)])
                   for t in tables)
    if progress is not None:
        progress.block(text, out)
    else:
        out = out or sys.stdout
        out.write(text)
        out.flush()
    return path, text


def write_csv(name, columns, rows, results=RESULTS):
    """bench/results/NAME.csv with exactly these columns; returns its path."""
    os.makedirs(results, exist_ok=True)
    path = os.path.join(results, f"{name}.csv")
    with open(path + ".tmp", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=columns, extrasaction="raise")
        w.writeheader()
        for r in rows:
            w.writerow({c: ("" if r.get(c) is None else
                            (f"{r[c]:.6g}" if isinstance(r[c], float) else r[c]))
                        for c in columns})
    os.replace(path + ".tmp", path)
    return path


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


_INT = re.compile(r"-?[0-9]+$")


def typed(column, value):
    """A CSV cell as write_csv wrote it, back as a value: None for an empty
    cell, int, float, or the text (always for TEXT_COLUMNS)."""
    if value is None or value == "":
        return None
    if column in TEXT_COLUMNS:
        return value
    if _INT.match(value):
        return int(value)
    try:
        return float(value)
    except ValueError:
        return value


def read_csv_typed(path):
    """read_csv with typed() cells."""
    return [{c: typed(c, v) for c, v in r.items()} for r in read_csv(path)]


class Series:
    """One line of a plot: y (and optional min/max error bars) against x."""

    def __init__(self, title, points):
        self.title = title
        self.points = [p for p in points if p[1] is not None]  # (x, y[, lo, hi])


class Panel:
    def __init__(self, title, xlabel, ylabel, series, logx=False, logy=False, xtics=None):
        self.title, self.xlabel, self.ylabel = title, xlabel, ylabel
        self.series, self.logx, self.logy = series, logx, logy
        self.xtics = xtics    # [(label, x)] for categories on the x axis


def _gp_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def plot(name, title, panels, results=RESULTS):
    """bench/results/NAME.png with gnuplot; one line per system per panel.

    Returns the path, or None (with a message) when gnuplot is missing or
    there is nothing to draw."""
    gp = shutil.which("gnuplot")
    if not gp:
        print(f"bench: gnuplot not found: no {name}.png (make deps installs gnuplot-nox)",
              file=sys.stderr)
        return None
    panels = [p for p in panels if any(s.points for s in p.series)]
    if not panels:
        return None
    os.makedirs(results, exist_ok=True)
    png = os.path.join(results, f"{name}.png")
    dat = os.path.join(results, f".{name}.dat")
    width = 640 * len(panels)
    lines = [f"set terminal pngcairo size {max(width, 800)},520 noenhanced font ',10'"
             if _has_cairo(gp) else f"set terminal png size {max(width, 800)},520 noenhanced",
             f"set output {_gp_str(png)}",
             f"set multiplot layout 1,{len(panels)} title {_gp_str(title)}",
             "set grid", "set key top left box opaque", "set datafile missing '?'"]
    blocks = []
    for p in panels:
        xs = sorted({pt[0] for s in p.series for pt in s.points})
        lines += ["unset logscale", f"set title {_gp_str(p.title)}",
                  f"set xlabel {_gp_str(p.xlabel)}", f"set ylabel {_gp_str(p.ylabel)}",
                  "set yrange [0:*]" if not p.logy else "set yrange [*:*]",
                  "set logscale y" if p.logy else "",
                  "set offsets graph 0.03, graph 0.03, 0, 0"]
        if p.xtics:
            lo, hi = min(x for _, x in p.xtics), max(x for _, x in p.xtics)
            lines += [f"set xrange [{lo - 0.5}:{hi + 0.5}]", "set xtics ("
                      + ", ".join(f"{_gp_str(label)} {x}" for label, x in p.xtics) + ")"]
        elif len(xs) == 1:
            # One configuration: centre it instead of letting gnuplot
            # stretch a zero-width range.
            lines += [f"set xrange [{xs[0] - 1}:{xs[0] + 1}]", f"set xtics ({xs[0]})"]
        else:
            lines += ["set xrange [*:*]", "set xtics autofreq",
                      "set logscale x 2" if p.logx else ""]
        plots = []
        for s in p.series:
            if not s.points:
                continue
            idx = len(blocks)
            blocks.append("\n".join(" ".join(fmt_num(v) for v in pt) for pt in s.points))
            if len(s.points[0]) >= 4:
                plots.append(f"{_gp_str(dat)} index {idx} using 1:2:3:4 with yerrorlines "
                             f"lw 2 title {_gp_str(s.title)}")
            else:
                plots.append(f"{_gp_str(dat)} index {idx} using 1:2 with linespoints "
                             f"lw 2 title {_gp_str(s.title)}")
        lines.append("plot " + ", \\\n     ".join(plots))
    lines.append("unset multiplot")
    with open(dat, "w") as f:
        f.write("\n\n\n".join(blocks) + "\n")
    r = subprocess.run([gp], input="\n".join(lines) + "\n", text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    os.unlink(dat)
    if r.returncode:
        print(f"bench: gnuplot failed for {name}: {r.stderr.strip()[-500:]}", file=sys.stderr)
        return None
    return png


def fmt_num(v):
    return "?" if v is None else repr(float(v))


_cairo = None


def _has_cairo(gp):
    global _cairo
    if _cairo is None:
        r = subprocess.run([gp, "-e", "set terminal"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        _cairo = "pngcairo" in r.stdout
    return _cairo


# --- a benchmark's outputs, from its rows ---

def rng(row, prefix):
    """A table cell "min-max" of a metric's PREFIX_min and PREFIX_max."""
    lo, hi = row.get(prefix + "_min"), row.get(prefix + "_max")
    return "-" if lo is None else f"{fmt(lo)}-{fmt(hi)}"


def series(rows, xcol, prefix, title, scale=1.0):
    """A plot line of a metric's median with min-max bars against xcol."""
    pts = []
    for r in rows:
        if r.get(prefix + "_median") is None:
            continue
        pts.append((r[xcol], r[prefix + "_median"] * scale, r[prefix + "_min"] * scale,
                    r[prefix + "_max"] * scale))
    return Series(title, pts)


def host_note(ctx):
    return host_kind_label(ctx.machine.host_kind) + f", {ctx.machine.cpu}"


def write_outputs(ctx, name, columns, rows, title, panels, tables):
    """NAME.csv, then the tables printed from it (publish), then
    NAME.png."""
    csv_path, _ = publish(name, columns, rows, tables, ctx.results, ctx.progress)
    png = plot(name, title, panels, ctx.results)
    ctx.progress.note(f"bench: wrote {os.path.relpath(csv_path, ROOT)}"
                      + (f" and {os.path.relpath(png, ROOT)}" if png else ""))


class Progress:
    """One status line: what runs now, and an estimate of the time left.

    bench/run plans every benchmark's work in estimated seconds up front;
    as steps finish, the rest is scaled by how the real durations compared
    with the estimates so far. A ticker thread refreshes the line during
    long steps (every 2 s on a terminal, every minute in a log)."""

    def __init__(self, out=sys.stderr, ticker=False):
        self.out = out
        self.t0 = time.monotonic()
        self.planned = 0.0     # estimated seconds of all work announced
        self.done_est = 0.0    # estimated seconds of the work finished
        self.tty = out.isatty()
        self._cur, self._cur_t0, self._what = 0.0, None, ""
        self._lock = threading.Lock()
        if ticker:
            threading.Thread(target=self._tick, daemon=True).start()

    def plan(self, seconds):
        self.planned += seconds

    def step(self, what, est):
        """Report that a step estimated at est seconds starts."""
        self._cur, self._cur_t0 = est, time.monotonic()
        self.show(what)

    def finish(self, est=None):
        self.done_est += self._cur if est is None else est
        self._cur, self._cur_t0 = 0.0, None

    def left(self):
        now = time.monotonic()
        elapsed = now - self.t0
        cur = min(now - self._cur_t0, self._cur) if self._cur_t0 else 0.0
        rest = max(self.planned - self.done_est - cur, 0)
        scale = elapsed / (self.done_est + cur) if self.done_est > 30 else 1.0
        return rest * min(max(scale, 0.3), 5.0)

    def show(self, what=None):
        with self._lock:
            if what is not None:
                self._what = what
            elapsed = time.monotonic() - self.t0
            line = f"[bench {_mmss(elapsed)} elapsed, ~{_mmss(self.left())} left] {self._what}"
            if self.tty:
                # Narrower than the terminal: a wrapped status line would
                # leave its first part behind at every tick.
                self.out.write("\r\033[K" + line[:self._width() - 1])
            else:
                self.out.write(line + "\n")
            self.out.flush()

    @property
    def what(self):
        return self._what

    def _width(self):
        try:
            return max(min(os.get_terminal_size(self.out.fileno()).columns, 200), 20)
        except (OSError, ValueError, AttributeError):
            return 200

    def note(self, msg):
        """A message line (or several) above the status line. Console tails
        in it are made plain() first."""
        with self._lock:
            if self.tty:
                self.out.write("\r\033[K")
            self.out.write(plain(msg) + "\n")
            self.out.flush()

    def block(self, text, out=None):
        """Write text (a table) to out, sys.stdout by default, in one piece:
        the status line is cleared first and cannot be redrawn in the middle
        (the ticker waits for the lock); line wrap is switched back on in
        case something switched it off."""
        out = out or sys.stdout
        with self._lock:
            if self.tty:
                self.out.write("\r\033[K\033[?7h")
                self.out.flush()
            out.write(text)
            out.flush()

    def _tick(self):
        while True:
            time.sleep(2 if self.tty else 60)
            if self._what:
                self.show()


def _mmss(s):
    s = int(s)
    return f"{s // 60}m{s % 60:02d}s"
