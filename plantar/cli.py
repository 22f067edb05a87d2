"""The ``plantar`` command. Each subcommand calls library functions, nothing more.

Errors on bad input print one line, ``plantar: error: ...``, and exit with status 1
(2 for a wrong command line); ``plantar --debug ...`` shows the traceback instead.
"""

import argparse
import logging
import math
import sys
from pathlib import Path

import numpy as np

from . import __version__, datasets, io
from .analyze import analyze, to_table
from .metrics import describe
from .offloading import offloading
from .utils import logger
from .utils._files import check_output, write_bytes, write_csv, write_text

#: Recording length of each condition of ``plantar demo`` on the virtual mat, s (real time:
#: the three conditions are recorded at once, so this is most of the demo's wall time).
DEMO_SECONDS = 12.0


def main(argv=None):
    """Run the ``plantar`` command; return its exit status."""
    parser = _parser()
    args = parser.parse_args(argv)  # a wrong command line: one line on stderr, exit status 2
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("plantar: %(message)s"))
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.WARNING if args.quiet else logging.INFO)
    try:
        return args.run(args) or 0
    except KeyboardInterrupt:
        print("plantar: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        print(f"plantar: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def _one_line(exc):
    """The first line of an exception's message, or its type when it has none."""
    text = str(exc).strip()
    if isinstance(exc, KeyError) and len(exc.args) == 1:
        text = f"missing {exc.args[0]!r}"
    return text.splitlines()[0] if text else type(exc).__name__


class _ArgumentParser(argparse.ArgumentParser):
    """argparse, with its errors in one line (``plantar: error: ...``) instead of the usage block."""

    def error(self, message):
        hint = f"; see '{self.prog} --help'"
        self.exit(2, f"plantar: error: {' '.join(message.split())}{hint}\n")


def _parser():
    parser = _ArgumentParser(
        prog="plantar",
        description="Plantar pressure analysis for pressure-sensing mats.",
        epilog="Run 'plantar COMMAND --help' for a command's options and an example.",
    )
    parser.add_argument("--version", action="version", version=f"plantar {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback on errors")
    parser.add_argument("-q", "--quiet", action="store_true", help="print warnings and errors only")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    demo = _command(
        commands,
        "demo",
        "record three walks, analyse and compare them, and write the report",
        """\
The whole job on example data (12 s of recording): a 70 kg person with an
offloaded right heel walks barefoot, shod, and shod with an orthotic insole that
offloads the right metatarsal heads. By default the walks are recorded from a
virtual mat (2 m x 0.5 m, 8 mm sensors, 100 Hz, PMAT/1 over a pseudo-terminal)
calibrated by the bench procedure; --source synthetic takes
the walks straight from the synthetic model (5 mm sensors) with their ground
truth instead. The walks are saved as trials, analysed and compared, and the
loading report (report.html with report.csv and report.json) is written
beside them.

example:
  plantar demo -o plantar-demo
  plantar demo --source synthetic --passes 6 -o plantar-demo
  plantar report plantar-demo/barefoot.nc plantar-demo/orthotic.nc -o orthotic.html""",
    )
    demo.add_argument("-o", "--output", type=Path, default=Path("plantar-demo"),
                      help="output folder (default: plantar-demo)")  # fmt: skip
    demo.add_argument("--source", choices=("virtual-mat", "synthetic"), default="virtual-mat",
                      help="record from the virtual mat (default) or take the synthetic walks")  # fmt: skip
    demo.add_argument("--seconds", type=_positive_float, default=DEMO_SECONDS,
                      help=f"virtual mat: recording length per condition, in s, recorded in real time "
                           f"(default: {DEMO_SECONDS:g}, about {DEMO_SECONDS:g} foot contacts)")  # fmt: skip
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    demo.add_argument("--passes", type=_positive_int, default=4,
                      help="synthetic: passes over the mat per condition (default: 4)")  # fmt: skip
    _comparison_arguments(demo)
    demo.add_argument("--overwrite", action="store_true", help="replace existing files")
    demo.set_defaults(run=_demo)

    report = _command(
        commands,
        "report",
        "write the loading report of one or more conditions (HTML, CSV, JSON)",
        """\
Analyse each trial as one condition (barefoot, shod, orthotic A, ...) and write
ONE self-contained HTML report that works offline: header, plain-language
summary, regional loading per side, left/right offloading, the comparisons
with 95 % confidence intervals and whether each change is beyond the patient's
step-to-step noise, and every figure. Beside it: the same numbers as a tidy CSV
and as JSON. A condition's kind (barefoot, shod, orthotic: from its label, or
--kind) decides what it is compared with: the shoe with barefoot, each orthotic
with its shoe (--baseline compares all with one), and its target: in-shoe
recordings are flagged above 200 kPa (Owings et al. 2009), plate recordings get
none unless --target sets one. Two files of one walk, one per foot (e.g.
Tekscan F-Scan L/R), are one condition: paired by themselves when their names
end in L/R and they share a recording time, or written LEFT+RIGHT, or --pair.
What cannot be shown is said in a note; the rest is still written.

example:
  plantar report barefoot.nc shod.nc insole.nc --label barefoot --label shod --label "orthotic A" -o report.html
  plantar report FrasP01L.asf FrasP01R.asf --pdf -o fscan.html
  plantar report walkL.asf+walkR.asf shoeL.asf+shoeR.asf --label shod --label orthotic-A""",
    )
    report.add_argument("trials", nargs="+", type=Path, metavar="TRIAL", help="trial files, one per condition")
    report.add_argument("-o", "--output", type=Path, default=Path("report.html"),
                        help="HTML file to write (default: report.html); .csv and .json go beside it")  # fmt: skip
    report.add_argument("--label", action="append", default=None, metavar="NAME",
                        help="condition label, once per trial in order (default: each trial's condition)")  # fmt: skip
    report.add_argument("--kind", action="append", default=None, choices=KINDS,
                        help="condition kind, once per condition in order (default: from each label)")  # fmt: skip
    _comparison_arguments(report)
    report.add_argument("--pair", action="store_true",
                        help="take the files two by two as the left and right foot of one condition")  # fmt: skip
    report.add_argument("--no-animation", action="store_true", help="leave out the animations of the frames")
    report.add_argument("--pdf", action="store_true", help="also write a PDF (needs Chromium)")
    report.add_argument("--paper", choices=("A4", "Letter"), default="A4", help="PDF page size (default: A4)")
    report.add_argument("--mask", choices=("percent", "anatomical"), default="percent",
                        help="regions: percent of foot length (default) or anatomical (each metatarsal head, "
                             "hallux, second toe, lesser toes)")  # fmt: skip
    report.add_argument("--open", action="store_true", help="open the report in the web browser")
    report.add_argument("--subject", metavar="NAME", help="who the report is of, e.g. a patient code "
                        "(default: the trials' subject)")  # fmt: skip
    report.add_argument("--anonymous", action="store_true",
                        help="never show the trials' subject (it may be a name): --subject or 'anonymous'")
    report.add_argument("--overwrite", action="store_true", help="replace existing files")
    report.set_defaults(run=_report)

    convert = _command(
        commands,
        "convert",
        "convert a supported file into a plantar NetCDF trial",
        f"""\
Read any file plantar knows and save it as a compressed NetCDF trial (.nc).
Known formats: {", ".join(io.known_formats())}.

example:
  plantar convert walk.nc -o walk_copy.nc""",
    )
    convert.add_argument("input", type=Path, help="file to read")
    convert.add_argument("-o", "--output", type=Path, required=True, help="NetCDF file to write (.nc)")
    convert.add_argument("--format", choices=list(io.known_formats()), help="force the input format")
    convert.add_argument("--overwrite", action="store_true", help="replace the output if it exists")
    convert.set_defaults(run=_convert)

    analyze_cmd = _command(
        commands,
        "analyze",
        "find the steps of a trial and compute their loading",
        """\
Find every foot contact, tell left from right, measure the feet and compute the
loading of each region (heel, arch, metatarsal heads, toes, ...). Prints a
summary with the left/right symmetry of the load; with -o, writes a tidy table
(one row per step x region x metric, with units) for R, pandas or a spreadsheet.

example:
  plantar analyze plantar-demo/barefoot.nc -o barefoot_steps.csv
  plantar analyze plantar-demo/barefoot.nc --mask anatomical -o barefoot_mth.csv""",
    )
    analyze_cmd.add_argument("input", type=Path, help="trial file to analyse")
    analyze_cmd.add_argument("-o", "--output", type=Path, help="write the tidy table to this CSV file")
    analyze_cmd.add_argument("--format", choices=list(io.known_formats()), help="force the input format")
    analyze_cmd.add_argument("--threshold-kpa", type=float, help="contact threshold per sensel (default: from the data)")
    analyze_cmd.add_argument("--mask", choices=["percent", "anatomical"], default="percent",
                             help="regions: percent of foot length and width (default), or anatomical (each "
                                  "metatarsal head and toe along the footprint's pressure valleys)")
    analyze_cmd.add_argument("--overwrite", action="store_true", help="replace the output if it exists")
    analyze_cmd.set_defaults(run=_analyze)

    balance_cmd = _command(
        commands,
        "balance",
        "measure the load distribution and sway of someone standing on the mat",
        """\
Find the feet of a standing trial (both feet or one) and report, over a window of
quiet standing: the load on each foot and on its rearfoot and forefoot (% of
body weight), and the sway of the centre of pressure of the body and of each
foot (path length, mean velocity, RMS and range in AP and ML, 95 % prediction
ellipse area, mean frequency). The centre of pressure is low-pass filtered
first (4th-order Butterworth, forward and backward, 10 Hz by default). By
default the window is the longest stretch with the same feet on the mat; a
foot stepping off or on inside the window is an error. With -o, writes the
numbers as a tidy table (.csv) or as JSON (.json: the table and the settings).

example:
  plantar balance standing.nc --window 30 -o standing_balance.csv""",
    )
    balance_cmd.add_argument("input", type=Path, help="trial file (someone standing on the mat)")
    balance_cmd.add_argument("--window", type=_positive_float, metavar="S",
                             help="length of the window in s (default: to the end of the quiet standing)")  # fmt: skip
    balance_cmd.add_argument("--start", type=float, metavar="S",
                             help="start of the window in s (default: where the quiet standing starts)")  # fmt: skip
    balance_cmd.add_argument("--cutoff-hz", type=_positive_float, default=10.0,
                             help="low-pass cut-off of the centre of pressure in Hz (default: 10)")  # fmt: skip
    balance_cmd.add_argument("-o", "--output", "--out", type=Path, dest="output",
                             help="write the numbers to this file: .csv (tidy table) or .json")  # fmt: skip
    balance_cmd.add_argument("--format", choices=list(io.known_formats()), help="force the input format")
    balance_cmd.add_argument("--overwrite", action="store_true", help="replace the output if it exists")
    balance_cmd.set_defaults(run=_balance)

    info = _command(
        commands,
        "info",
        "summarise a trial file",
        """\
Print a trial's size, timing, sensor geometry, peak pressure and force.

example:
  plantar info plantar-demo/barefoot.nc""",
    )
    info.add_argument("input", type=Path, help="file to read")
    info.add_argument("--format", choices=list(io.known_formats()), help="force the input format")
    info.set_defaults(run=_info)

    devices = _command(
        commands,
        "devices",
        "list serial ports and the mat protocols plantar speaks",
        """\
List this computer's serial ports (with USB vendor:product ids and serial
numbers, to tell mats apart) and the wire protocols plantar can decode.

example:
  plantar devices""",
    )
    devices.set_defaults(run=_devices)

    simulate = _command(
        commands,
        "simulate",
        "run a virtual mat to record from, without hardware",
        """\
Start a virtual pressure mat: a synthetic walker on a simulated sensor (gain
spread, noise, a non-linear response, a few dead and hot sensels), speaking a
wire protocol on a pseudo-terminal (or a TCP socket) at the frame rate. Prints
the port to connect to, then runs until Ctrl-C (or --seconds). Faults can be
injected to see how a recording copes.

What is on the mat (--scenario): the walker (default), nothing (empty), a
uniform pressure (uniform, an air bladder at --pressure-kpa) or a person
standing still (standing, --body-mass-kg on --stance; with --sway-ap-mm and
--sway-ml-mm it sways, for 'plantar balance'). Change it while the mat runs by
typing a line: 'empty', 'uniform 300', 'standing left', 'standing both', 'walk'.
This is how to practise 'plantar calibrate' without a mat.

example:
  plantar simulate --rate-hz 100 --bit-error-rate 1e-5 --unplug-at 20 --unplug-s 2
  plantar record --port /tmp/plantar-vmat-XXXX/virtual-mat --seconds 30 -o walk.nc
  plantar simulate --scenario empty --body-mass-kg 70   (then type 'uniform 200', 'standing left', ...)
  plantar simulate --scenario standing --sway-ap-mm 5 --sway-ml-mm 3   (then record, and 'plantar balance')""",
    )
    simulate.add_argument("--protocol", default="pmat1", help="wire protocol (default: pmat1; see plantar devices)")
    simulate.add_argument("--shape", type=_shape, default=(64, 64), help="ROWSxCOLS (default: 64x64)")
    simulate.add_argument("--pitch-mm", type=float, default=8.0, help="sensor pitch in mm (default: 8)")
    simulate.add_argument("--rate-hz", type=float, default=100.0, help="frame rate in Hz (default: 100)")
    simulate.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    simulate.add_argument("--link", choices=("pty", "tcp"), default="pty", help="pty (default) or tcp")
    simulate.add_argument("--seconds", type=float, help="stop after this long (default: until Ctrl-C)")
    simulate.add_argument("--scenario", choices=("walk", "empty", "uniform", "standing"), default="walk",
                          help="what is on the mat at start (default: walk); type a line to change it")  # fmt: skip
    simulate.add_argument("--pressure-kpa", type=_positive_float, default=200.0,
                          help="the uniform pressure in kPa (default: 200)")  # fmt: skip
    simulate.add_argument("--body-mass-kg", type=_positive_float, default=70.0,
                          help="the walker's or standing person's body mass in kg (default: 70)")  # fmt: skip
    simulate.add_argument("--stance", choices=("both", "left", "right"), default="both",
                          help="the feet the person stands on (default: both)")  # fmt: skip
    simulate.add_argument("--sway-ap-mm", type=_non_negative_float, default=0.0,
                          help="RMS sway of the standing person's centre of pressure along the mat, mm "
                               "(default: 0, standing still)")  # fmt: skip
    simulate.add_argument("--sway-ml-mm", type=_non_negative_float, default=0.0,
                          help="RMS sway across the mat, mm (default: 0)")  # fmt: skip
    simulate.add_argument("--bit-error-rate", type=float, default=0.0, help="bit flips per bit on the wire")
    simulate.add_argument("--unplug-at", type=float, help="unplug the mat this many s after streaming starts")
    simulate.add_argument("--unplug-s", type=float, default=2.0, help="how long it stays unplugged (default: 2 s)")
    simulate.add_argument("--reboot-at", type=float, help="reboot the mat this many s after streaming starts")
    simulate.set_defaults(run=_simulate)

    record = _command(
        commands,
        "record",
        "record a walk from a mat on a serial port",
        """\
Record frames from a mat into a NetCDF raw recording (counts, scan counter,
device time). Frames are journalled to disk as they arrive (WALK.pmrec next to
the output), so a crash or power cut keeps everything up to the last second;
'plantar convert WALK.pmrec -o WALK.nc' recovers it. A status line shows
frames/s, lost frames, errors and the peak reading. Ctrl-C stops and saves.

example:
  plantar record --port /dev/ttyACM0 --protocol pmat1 --seconds 30 -o walk.nc \\
      --subject P012 --condition barefoot""",
    )
    record.add_argument("--port", required=True, help="serial port or pyserial URL (socket://host:port, ...)")
    record.add_argument("--protocol", default="pmat1", help="wire protocol (default: pmat1; see plantar devices)")
    record.add_argument("--seconds", type=float, help="record for this long (default: until Ctrl-C)")
    record.add_argument("-o", "--output", type=Path, required=True, help="NetCDF file to write (.nc)")
    record.add_argument("--subject", default="", help="subject id")
    record.add_argument("--condition", default="", help="condition, e.g. barefoot, shod, 'orthotic A'")
    record.add_argument("--body-mass-kg", type=float, default=0.0, help="body mass in kg (0 = unknown)")
    record.add_argument("--rate-hz", type=float, help="frame rate to ask for (default: the device's)")
    record.add_argument("--pitch-mm", type=float, help="sensor pitch in mm, for devices that do not report it")
    record.add_argument("--shape", type=_shape, help="ROWSxCOLS, for devices that do not report it")
    record.add_argument("--timeout-s", type=float, default=3.0, help="wait this long for the device (default: 3)")
    record.add_argument("--keep-journal", action="store_true", help="keep the .pmrec journal afterwards")
    record.add_argument("--overwrite", action="store_true", help="replace the output if it exists")
    record.add_argument("--calibration", type=Path,
                        help="calibration file (.pmcal.nc): write kPa to OUTPUT, counts to OUTPUT.counts.nc")  # fmt: skip
    record.set_defaults(run=_record)

    from . import calibration  # imported by plantar already; its curve families are --model's choices

    calibrate = _command(
        commands,
        "calibrate",
        "calibrate a mat: tare, equilibrate, fit the load curve, apply, show",
        """\
Turn a mat's counts into kPa, step by step (calibration/README.md in the source
tree describes the bench procedure). Each step reads a recording, from a file
(--from) or straight from the mat (--port, with a prompt saying what to put on
it), and writes a calibration file (.pmcal.nc).

example:
  plantar calibrate tare --port /dev/ttyACM0 -o mat-tare.pmcal.nc --overwrite
  plantar calibrate equilibrate --port /dev/ttyACM0 --pressure-kpa 200 -c mat-tare.pmcal.nc -o mat-eq.pmcal.nc --overwrite
  plantar calibrate fit --port /dev/ttyACM0 --body-mass-kg 70 -c mat-eq.pmcal.nc -o mat.pmcal.nc --overwrite
  plantar calibrate show mat.pmcal.nc
  plantar calibrate apply walk.nc -c mat.pmcal.nc -o walk_kpa.nc --overwrite

To practise without a mat: plantar simulate --scenario empty (it prints the port
to use, and what to type there to change what is on the virtual mat).""",
    )
    steps = calibrate.add_subparsers(title="steps", metavar="STEP", required=True)

    def _source(step, what):
        step.add_argument("--port", help=f"record {what} from the mat on this port")
        step.add_argument("--protocol", default="pmat1", help="wire protocol (default: pmat1)")
        step.add_argument("--pitch-mm", type=float, help="sensor pitch in mm, for devices that do not report it")
        step.add_argument("--seconds", type=float, default=4.0, help="seconds to record from the mat (default: 4)")
        step.add_argument("-o", "--output", type=Path, required=True, help="calibration file to write")
        step.add_argument("--overwrite", action="store_true", help="replace the output if it exists")

    tare_step = _command(steps, "tare", "offsets and noise from an empty mat", """\
Record the empty mat (nothing on it) and compute each sensel's offset and noise;
flags stuck-high and noisy sensels.

example:
  plantar calibrate tare --port /dev/ttyACM0 -o mat.pmcal.nc
  plantar calibrate tare --from empty.nc -o mat.pmcal.nc""")
    tare_step.add_argument("--from", dest="source", type=Path, help="a raw recording of the empty mat")
    tare_step.add_argument("--rated-max-kpa", type=float,
                           help="the sensor's rated maximum pressure in kPa, if its maker states one "
                                "(fit refuses a calibrated range beyond it)")  # fmt: skip
    _source(tare_step, "the empty mat")
    tare_step.set_defaults(run=_calibrate_tare)

    eq_step = _command(steps, "equilibrate", "per-sensel gains under a uniform pressure", """\
Record the mat under a uniform pressure (an air bladder, or a board on foam with
weights) and compute each sensel's gain; flags dead and uncovered sensels. With
several pressure levels (--level, or several --pressure-kpa with --port) each
gain is the sensel's least-squares slope through all of them, and the levels
become known loads of the fit (four or more allow the monotone table curve).

example:
  plantar calibrate equilibrate --from bladder.nc --pressure-kpa 200 -c mat.pmcal.nc -o mat2.pmcal.nc
  plantar calibrate equilibrate --level b50.nc:50 --level b100.nc:100 --level b200.nc:200 \\
      --level b300.nc:300 -c mat.pmcal.nc -o mat2.pmcal.nc
  plantar calibrate equilibrate --port /dev/ttyACM0 --pressure-kpa 50 100 200 300 -c mat.pmcal.nc -o mat2.pmcal.nc""")
    eq_step.add_argument("--from", dest="source", type=Path, help="a raw recording under uniform pressure")
    eq_step.add_argument("--level", action="append", default=[], metavar="FILE:KPA",
                         help="a recording under a known uniform pressure, one per level (repeatable)")  # fmt: skip
    eq_step.add_argument("--pressure-kpa", type=float, nargs="+", metavar="KPA",
                         help="the uniform pressure in kPa, if known; with --port, one or more levels to record")  # fmt: skip
    eq_step.add_argument("-c", "--calibration", type=Path, required=True, help="calibration file from the tare")
    _source(eq_step, "the mat under uniform pressure")
    eq_step.set_defaults(run=_calibrate_equilibrate)

    fit_step = _command(steps, "fit", "the load curve from known forces", """\
Fit the curve from counts to kPa to known loads, trying linear, power-law and
exponential curves, and a monotone table when there are four or more uniform
pressure levels, and keeping the best on held-out loads (--model restricts the
choice). From the mat (--port, with --body-mass-kg): the subject stands on the
left foot only, then the right foot only, then both feet. From files:
--load FILE:NEWTONS (static loads), --walk FILE (whole strides, with
--body-mass-kg), --pressure FILE:KPA (bladder). Pressure levels of the
equilibration count as loads too.

example:
  plantar calibrate fit --load left.nc:686.5 --load both.nc:686.5 -c mat.pmcal.nc -o mat2.pmcal.nc
  plantar calibrate fit --port /dev/ttyACM0 --body-mass-kg 70 --model power --model table -c mat.pmcal.nc -o mat2.pmcal.nc""")
    fit_step.add_argument("--load", action="append", default=[], metavar="FILE:NEWTONS",
                          help="a recording of a static known force (repeatable)")  # fmt: skip
    fit_step.add_argument("--walk", action="append", default=[], metavar="FILE",
                          help="a walk whose mean force is body weight (needs --body-mass-kg)")  # fmt: skip
    fit_step.add_argument("--pressure", action="append", default=[], metavar="FILE:KPA",
                          help="a recording under a known uniform pressure (repeatable)")  # fmt: skip
    fit_step.add_argument("--body-mass-kg", type=float, help="the subject's body mass in kg")
    fit_step.add_argument("--model", action="append", dest="models", choices=tuple(calibration.MODELS),
                          help="a curve family to try (repeatable; default: all the loads allow)")  # fmt: skip
    fit_step.add_argument("--max-kpa", type=float,
                          help="refuse a curve whose calibrated range reaches more (default: the sensor's "
                               f"rated maximum from the tare, else {calibration.PLAUSIBLE_MAX_KPA:g} kPa)")  # fmt: skip
    fit_step.add_argument("-c", "--calibration", type=Path, required=True, help="calibration file to extend")
    _source(fit_step, "the subject standing")
    fit_step.set_defaults(run=_calibrate_fit)

    apply_step = _command(steps, "apply", "turn a raw recording into a trial in kPa", """\
Apply a calibration to a raw recording from the same mat and save the trial in kPa.

example:
  plantar calibrate apply walk.nc -c mat.pmcal.nc -o walk_kpa.nc""")
    apply_step.add_argument("input", type=Path, help="raw recording (counts)")
    apply_step.add_argument("-c", "--calibration", type=Path, required=True, help="calibration file")
    apply_step.add_argument("-o", "--output", type=Path, required=True, help="trial file to write (.nc)")
    apply_step.add_argument("--dead", choices=("inpaint", "nan"), default="inpaint",
                            help="dead and stuck sensels: from their neighbours (default) or NaN")  # fmt: skip
    apply_step.add_argument("--overwrite", action="store_true", help="replace the output if it exists")
    apply_step.add_argument("--skip-mat-check", action="store_true",
                            help="do not compare the recording's readings at rest with the tare's "
                                 "(device, shape and pitch are still checked)")  # fmt: skip
    apply_step.set_defaults(run=_calibrate_apply)

    scale_step = _command(steps, "scale", "turn a raw recording into kPa with one linear factor", """\
Multiply every reading by one factor in kPa per count and save the trial in kPa:
the factor a raw export states (a Tekscan movie in UNITS raw states its
calibration point; --kpa-per-count stated uses it) or one you know. Sensels
outside the sensor's outline stay empty.

example:
  plantar calibrate scale walk_raw.asf --kpa-per-count stated -o walk.nc""")
    scale_step.add_argument("input", type=Path, help="raw recording (counts): a .nc or a raw vendor export")
    scale_step.add_argument("--kpa-per-count", required=True, metavar="K",
                            help="kPa per count, or 'stated' for the factor the file states")  # fmt: skip
    scale_step.add_argument("-o", "--output", type=Path, required=True, help="trial file to write (.nc)")
    scale_step.add_argument("--overwrite", action="store_true", help="replace the output if it exists")
    scale_step.set_defaults(run=_calibrate_scale)

    show_step = _command(steps, "show", "summarise a calibration file", """\
Print a calibration's mat, steps, sensel flags, curve and fit errors.

example:
  plantar calibrate show mat.pmcal.nc""")
    show_step.add_argument("input", type=Path, help="calibration file (.pmcal.nc)")
    show_step.set_defaults(run=_calibrate_show)
    _clinic_commands(commands)
    _batch_commands(commands)
    return parser


#: Condition kinds of the report (plantar.report.KINDS; written out so that the parser does not import plotly).
KINDS = ("barefoot", "shod", "orthotic")


def _comparison_arguments(command):
    """--baseline, --target-kpa and --target, shared by report and demo."""
    command.add_argument("--baseline", metavar="NAME",
                         help="compare every condition with this one (default: shod vs barefoot, each "
                              "orthotic vs its shoe, others vs the first)")  # fmt: skip
    command.add_argument("--target-kpa", type=_positive_float, default=None, metavar="KPA",
                         help="one peak pressure target for every condition (default: 200 kPa for in-shoe "
                              "recordings, Owings et al. 2009; none for plates)")  # fmt: skip
    command.add_argument("--target", action="append", default=None, metavar="KIND=KPA", type=_kind_target,
                         help="target per condition kind, e.g. shod=200 or barefoot=none (repeatable)")


def _kind_target(text):
    kind, _, value = str(text).partition("=")
    kind = kind.strip().lower()
    if kind not in KINDS or not value.strip():
        raise argparse.ArgumentTypeError(f"give KIND=KPA with KIND one of {', '.join(KINDS)}, got {text!r}")
    if value.strip().lower() == "none":
        return kind, None
    return kind, _positive_float(value)


def _command(commands, name, summary, description):
    return commands.add_parser(
        name,
        help=summary,
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _shape(text):
    try:
        rows, cols = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be ROWSxCOLS, e.g. 64x64, got {text!r}") from None
    if rows < 1 or cols < 1:
        raise argparse.ArgumentTypeError(f"must be ROWSxCOLS with positive numbers, got {text!r}")
    return rows, cols


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def _non_negative_float(text):
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text!r}")
    return value


def _demo(args):
    from .report import Report

    out = args.output
    conditions = list(datasets.DEMO_CONDITIONS)
    kind = "counts.nc" if args.source == "virtual-mat" else "truth.nc"
    planned = [out / f"{c}.nc" for c in conditions] + [out / f"{c}.{kind}" for c in conditions]
    planned += [out / f"report.{suffix}" for suffix in ("html", "csv", "json")]
    if out.exists():
        for path in planned:
            check_output(path, overwrite=args.overwrite)
    else:
        check_output(_nearest_folder(out) / "plantar-demo-check", overwrite=True)
    out.mkdir(parents=True, exist_ok=True)
    walker = datasets.DEMO_WALKER
    if args.source == "virtual-mat":
        from .drivers.sim import DEMO_MAT, record_demo

        rows, cols = DEMO_MAT["shape"]
        logger.info("recording %s from a calibrated virtual mat (%g s each)", ", ".join(conditions), args.seconds)
        recordings = record_demo(conditions, seconds=args.seconds, seed=args.seed)
        trials = {c: trial for c, (trial, _, _) in recordings.items()}
        extra = {c: raw for c, (_, raw, _) in recordings.items()}
        what = (f"recorded {args.seconds:g} s per condition from a virtual mat of {rows} x {cols} sensels "
                f"({DEMO_MAT['pitch_mm']:g} mm, {DEMO_MAT['rate_hz']:g} Hz, PMAT/1) calibrated by the bench procedure")  # fmt: skip
    else:
        logger.info("simulating %s (%d passes each, seed %d)", ", ".join(conditions), args.passes, args.seed)
        walks = datasets.demo_walks(seed=args.seed, passes=args.passes)
        trials = {c: trial for c, (trial, _) in walks.items()}
        extra = {c: truth for c, (_, truth) in walks.items()}
        what = f"simulated, {args.passes} passes per condition over a 2 m x 0.5 m mat (5 mm sensors, 100 Hz)"
    written = []
    for condition in conditions:
        trial_path, extra_path = out / f"{condition}.nc", out / f"{condition}.{kind}"
        io.save(trials[condition], trial_path, overwrite=args.overwrite)
        if args.source == "virtual-mat":
            io.save(extra[condition], extra_path, overwrite=args.overwrite)
        else:
            write_bytes(extra_path, extra[condition].to_netcdf(engine="h5netcdf"), overwrite=args.overwrite)
        written += [trial_path, extra_path]
    report = Report(title="Plantar pressure report: demo", subject="demo")
    rows = []
    for condition, trial in trials.items():
        analysis = report.add_trial(trial, label=condition)
        summary = describe(trial)
        summary.update(condition=condition, contacts=int(analysis.sizes["step"]),
                       complete=int(analysis["complete"].sum()))  # fmt: skip
        rows.append(summary)
    report.add_summary(baseline=args.baseline, target_kpa=args.target_kpa, targets=dict(args.target or []))
    print(f"A {walker['body_mass_kg']:g} kg walker, right heel offloaded by {100 * walker['offload']['right_heel']:g} %, "
          f"barefoot, shod and with an orthotic that offloads the right metatarsal heads; {what}:")  # fmt: skip
    print()
    print(_table(rows))
    print()
    paths = report.save(out / "report.html", overwrite=args.overwrite)
    _print_report(paths, written)


def _report(args):
    from .report import write_report

    trials = []
    for path in args.trials:
        parts = [Path(p) for p in str(path).split("+")] if not path.exists() and "+" in str(path) else [path]
        for part in parts:
            if not part.exists():
                raise FileNotFoundError(f"'{part}' does not exist")
        trials.append(tuple(parts) if len(parts) == 2 else path)
    paths = write_report(trials, args.output, labels=args.label, kinds=args.kind, baseline=args.baseline,
                         target_kpa=args.target_kpa, targets=dict(args.target or []), pair=True if args.pair else "auto",
                         animation=not args.no_animation, overwrite=args.overwrite, pdf=args.pdf, paper=args.paper,
                         mask=args.mask, open_browser=args.open, subject=args.subject,
                         anonymous=args.anonymous)  # fmt: skip
    _print_report(paths)


def _print_report(paths, written=()):
    import json

    content = json.loads(paths["json"].read_text(encoding="utf-8"))
    for line in content["summary"]:
        print(f"  {line}")
    print()
    for path in [*written, *paths.values()]:
        print(f"wrote {path} ({_size(path)})")


def _table(rows):
    header = ("condition", "frames", "duration", "contacts", "complete", "peak pressure", "max force")
    lines = [header]
    for r in rows:
        lines.append((
            r["condition"], str(r["frames"]), f"{r['duration_s']:.1f} s", str(r["contacts"]),
            str(r["complete"]), f"{r['peak_pressure_kpa']:.0f} kPa",
            f"{r['max_force_n']:.0f} N ({r['max_force_bw']:.2f} x BW)",
        ))  # fmt: skip
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths)))
        for line in lines
    )


def _size(path):
    size = Path(path).stat().st_size
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000


def _check_nc_output(path, *, overwrite):
    """Fail before reading anything if ``path`` cannot be written as a NetCDF trial."""
    if path.suffix.lower() != ".nc":
        raise ValueError(f"-o must name a NetCDF file ending in .nc, got '{path}'")
    check_output(path, overwrite=overwrite)


def _nearest_folder(path):
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _convert(args):
    _check_nc_output(args.output, overwrite=args.overwrite)
    trial = io.read(args.input, format=args.format)
    io.save(trial, args.output, overwrite=args.overwrite)
    print(f"wrote {args.output} ({_size(args.output)}) from {args.input}")


def _analyze(args):
    if args.output is not None:
        check_output(args.output, overwrite=args.overwrite)  # before the analysis, not after
    trial = io.read(args.input, format=args.format)
    result = analyze(trial, threshold_kpa=args.threshold_kpa, mask=args.mask)
    print(_analysis_summary(args.input, result))
    if args.output is not None:
        table = to_table(result)
        write_csv(table, args.output, overwrite=args.overwrite)
        print(f"wrote {args.output} ({len(table)} rows: step x region x metric, with units)")


def _balance(args):
    from .balance import balance, balance_table

    suffix = None if args.output is None else args.output.suffix.lower()
    if suffix not in (None, ".csv", ".json"):
        raise ValueError(f"--output must end in .csv or .json, got {args.output}")
    if args.output is not None:
        check_output(args.output, overwrite=args.overwrite)
    trial = io.read(args.input, format=args.format)
    result = balance(trial, window_s=args.window, start_s=args.start, cutoff_hz=args.cutoff_hz)
    print(_balance_summary(args.input, result))
    if args.output is None:
        return
    table = balance_table(result)
    if suffix == ".csv":
        write_csv(table, args.output, overwrite=args.overwrite)
    else:
        import json

        settings = {k: v for k, v in result.attrs.items() if isinstance(v, (str, int, float))}
        text = json.dumps({"settings": settings, "rows": table.to_dict(orient="records")}, indent=1)
        write_text(args.output, text + "\n", overwrite=args.overwrite)
    print(f"wrote {args.output} ({len(table)} rows: COP or foot x measure, with units)")


def _balance_summary(path, result):
    a = result.attrs
    lines = [f"{path}: standing {a['window_s']:.1f} s ({a['window_start_s']:.2f}-{a['window_end_s']:.2f} s), "
             + ("1 foot: " if len(result.foot) == 1 else f"{len(result.foot)} feet: ")
             + ", ".join(str(f) for f in result.foot.values),
             f"body weight {a['body_weight_n']:.0f} N ({a['body_weight_source']}); COP filter: {a['filter']}"]  # fmt: skip
    for foot in result.foot.values:
        load = result.load_pct.sel(foot=foot)
        lines.append(f"  {foot} foot: {float(load.sel(part='whole')):.1f} % of body weight "
                     f"(rearfoot {float(load.sel(part='rearfoot')):.1f} %, forefoot {float(load.sel(part='forefoot')):.1f} %)")  # fmt: skip
    for cop in result.cop.values:
        r = result.sel(cop=cop)
        lines.append(f"  sway of {cop}: path {float(r.path_length):.0f} mm, velocity {float(r.mean_velocity):.1f} mm/s "
                     f"(AP {float(r.mean_velocity_ap):.1f}, ML {float(r.mean_velocity_ml):.1f}), RMS AP "
                     f"{float(r.rms_ap):.1f} / ML {float(r.rms_ml):.1f} mm, range AP {float(r.range_ap):.1f} / ML "
                     f"{float(r.range_ml):.1f} mm, 95 % ellipse {float(r.ellipse_area):.0f} mm2, mean frequency "
                     f"{float(r.mean_frequency):.2f} Hz")  # fmt: skip
    return "\n".join(lines)


def _analysis_summary(path, result):
    side = result["side"].values
    done = result["complete"].values
    lines = [
        f"{path}: {len(side)} steps, {int(done.sum())} complete "
        f"({int((done & (side == 'left')).sum())} left, {int((done & (side == 'right')).sum())} right, "
        f"{int((done & (side == 'unknown')).sum())} of unknown side)"
    ]
    cadence, speed = result.attrs["cadence_steps_per_min"], result.attrs["walking_speed_m_s"]
    lines.append(
        "cadence " + ("-" if math.isnan(cadence) else f"{cadence:.1f} steps/min")
        + ", walking speed " + ("-" if math.isnan(speed) else f"{speed:.2f} m/s")
    )  # fmt: skip
    if not done.any():
        lines.append("no complete step: no loading summary")
        return "\n".join(lines)
    rows = [("load (force-time integral)", "force_time_integral", ("total", "heel", "forefoot")),
            ("peak pressure", "peak_pressure", ("heel", "forefoot"))]  # fmt: skip
    table = [("", "left", "right", "symmetry index")]
    for title, metric, regions in rows:
        sym = offloading(result, metric=metric)
        units = sym.attrs["units"]
        for region in regions:
            r = sym.sel(region=region)
            cells = []
            for s in ("left", "right"):
                n = int(r[f"{s}_n"])
                cells.append("-" if n == 0 else f"{float(r[f'{s}_mean']):.0f} ± {float(r[f'{s}_sd']):.0f} {units} (n={n})")
            si = float(r["symmetry_index"])
            table.append((f"{title}, {region}", *cells, "-" if math.isnan(si) else f"{si:+.1f} %"))
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    lines += ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
              for row in table]  # fmt: skip
    lines.append("symmetry index = (right - left) / mean x 100: negative = the right side carries less")
    return "\n".join(lines)


def _info(args):
    trial = io.read(args.input, format=args.format)
    if trial.attrs.get("plantar_schema") != "trial/1":
        a = trial.attrs
        duration = float(trial.time[-1]) if trial.sizes["time"] else 0.0
        fields = [("file", str(args.input)), ("kind", "raw recording in counts (apply a calibration for kPa)"),
                  ("subject", a.get("subject") or "-"), ("condition", a.get("condition") or "-"),
                  ("device", a.get("device") or "-"), ("started", a.get("start_time") or "-"),
                  ("frames", f"{trial.sizes['time']} at {a['sampling_rate_hz']:.3f} Hz ({duration:.2f} s)"),
                  ("sensors", f"{trial.sizes['y']} rows x {trial.sizes['x']} cols, pitch "
                              f"{a['sensor_pitch_x_mm']:g} x {a['sensor_pitch_y_mm']:g} mm"),
                  ("peak reading", f"{int(trial.counts.max())} counts")]  # fmt: skip
        for key, name in (("frames_lost", "lost frames"), ("crc_errors", "corrupt packets"),
                          ("device_reboots", "device reboots"), ("reconnects", "reconnects")):  # fmt: skip
            if key in a:
                fields.append((name, str(a[key])))
        if a.get("journal_complete") == 0:
            fields.append(("note", "the recording was cut short (journal without its closing record)"))
        width = max(len(name) for name, _ in fields)
        for name, value in fields:
            print(f"{name.ljust(width)}  {value}")
        return
    s = describe(trial)
    bw = "" if math.isnan(s["max_force_bw"]) else f" ({s['max_force_bw']:.2f} x body weight)"
    fields = [
        ("file", str(args.input)),
        ("subject", s["subject"] or "-"),
        ("condition", s["condition"] or "-"),
        ("device", s["device"] or "-"),
        ("frames", f"{s['frames']} at {s['rate_hz']:g} Hz ({s['duration_s']:.2f} s)"),
        ("sensors", f"{s['rows']} rows x {s['cols']} cols, pitch {s['pitch_x_mm']:g} x {s['pitch_y_mm']:g} mm"
                    f" ({s['sensels']} with a sensor)" if "sensor_geometry" not in s else
                    f"{s['sensels']} irregular sensors ({s['sensor_geometry'] or 'geometry not stated'})"),
        ("loaded frames", str(s["loaded_frames"])),
        ("peak pressure", f"{s['peak_pressure_kpa']:.1f} kPa"),
        ("max force", f"{s['max_force_n']:.1f} N{bw}"),
    ]  # fmt: skip
    width = max(len(name) for name, _ in fields)
    for name, value in fields:
        print(f"{name.ljust(width)}  {value}")


def _devices(args):
    from . import drivers

    ports = drivers.list_ports()
    print("serial ports:" if ports else "serial ports: none found")
    for port in ports:
        usb = f"USB {port['vid']:04x}:{port['pid']:04x}" if port["vid"] is not None else "not USB"
        serial_number = f", serial {port['serial_number']}" if port["serial_number"] else ""
        print(f"  {port['device']}  {usb}{serial_number}  {port['description']}")
    print("\nprotocols (--protocol):")
    width = max(len(name) for name in drivers.PROTOCOLS)
    for name, protocol in drivers.PROTOCOLS.items():
        print(f"  {name.ljust(width)}  {protocol.description}")


def _simulate(args):
    import queue
    import threading
    import time

    from .drivers.sim import Faults, VirtualMat
    from .drivers.sim.bench import scenario_pressure_kpa

    faults = Faults(
        seed=args.seed,
        bit_error_rate=args.bit_error_rate,
        unplugs=() if args.unplug_at is None else ((args.unplug_at, args.unplug_s),),
        reboots=() if args.reboot_at is None else (args.reboot_at,),
    )
    frames = None if args.scenario == "walk" else np.zeros(args.shape)
    mat = VirtualMat(args.protocol, shape=args.shape, pitch_mm=args.pitch_mm, rate_hz=args.rate_hz,
                     seed=args.seed, faults=faults, link=args.link, body_mass_kg=args.body_mass_kg,
                     frames_kpa=frames)  # fmt: skip
    scenario = {"scenario": args.scenario, "pressure_kpa": args.pressure_kpa, "stance": args.stance,
                "sway_mm": (args.sway_ap_mm, args.sway_ml_mm)}  # fmt: skip

    def put(**change):
        """Put a scenario on the mat; once the mat scans it (if running), say so on stderr (one line)."""
        new = {**scenario, **change}
        n_before = sum(event[1] == "pressure" for event in list(mat.truth.events))
        mat.set_pressure(scenario_pressure_kpa(mat, new["scenario"], pressure_kpa=new["pressure_kpa"],
                                               body_mass_kg=args.body_mass_kg, stance=new["stance"],
                                               sway_ap_mm=args.sway_ap_mm, sway_ml_mm=args.sway_ml_mm))  # fmt: skip
        deadline = time.monotonic() + 1.0
        while mat_running[0] and time.monotonic() < deadline:  # until a scan reads the new pressure
            if sum(event[1] == "pressure" for event in list(mat.truth.events)) > n_before:
                break
            time.sleep(0.005)
        scenario.update(new)
        print(f"virtual mat: {_scenario_text(scenario, args.body_mass_kg)}", file=sys.stderr, flush=True)

    mat_running = [False]
    if args.scenario != "walk":
        put()
    lines = queue.Queue()
    if sys.stdin is not None and not sys.stdin.closed:

        def read_stdin():
            for line in sys.stdin:
                lines.put(line)

        threading.Thread(target=read_stdin, name="plantar-simulate-stdin", daemon=True).start()
    with mat:
        mat_running[0] = True
        rows, cols = args.shape
        print(f"virtual mat ({args.protocol}, {rows} x {cols} sensors of {args.pitch_mm:g} mm, "
              f"{args.rate_hz:g} Hz) at:", file=sys.stderr)  # fmt: skip
        print(mat.url, flush=True)
        print(f"record from it with: plantar record --port {mat.url} --protocol {args.protocol} "
              f"--seconds 10 -o walk.nc\non the mat: {_scenario_text(scenario, args.body_mass_kg)}; type "
              "'empty', 'uniform KPA', 'standing left|right|both' or 'walk' to change it.\n"
              "Ctrl-C stops the mat.", file=sys.stderr, flush=True)  # fmt: skip
        deadline = None if args.seconds is None else time.monotonic() + args.seconds
        while deadline is None or time.monotonic() < deadline:
            wait_s = 0.2 if deadline is None else max(0.0, min(0.2, deadline - time.monotonic()))
            try:
                line = lines.get(timeout=wait_s)
            except queue.Empty:
                continue
            try:
                change = _scenario_command(line)
                if change:
                    put(**change)
            except ValueError as exc:  # a typing error stops nothing
                print(f"virtual mat: {exc}", file=sys.stderr, flush=True)


def _scenario_command(line):
    """A line typed to ``plantar simulate``: the scenario change it asks for (a dict), or None if blank."""
    words = line.split()
    if not words:
        return None
    name, rest = words[0].lower(), words[1:]
    if name in ("empty", "walk") and not rest:
        return {"scenario": name}
    if name == "uniform" and len(rest) == 1:
        try:
            kpa = float(rest[0])
        except ValueError:
            kpa = math.nan
        if math.isfinite(kpa) and kpa > 0:
            return {"scenario": "uniform", "pressure_kpa": kpa}
    if name == "standing" and len(rest) <= 1 and (not rest or rest[0].lower() in ("both", "left", "right")):
        return {"scenario": "standing", **({"stance": rest[0].lower()} if rest else {})}
    raise ValueError(f"not understood: {line.strip()!r}; type 'empty', 'uniform KPA', 'standing left|right|both' "
                     "or 'walk'")  # fmt: skip


def _scenario_text(scenario, body_mass_kg):
    name = scenario["scenario"]
    if name == "uniform":
        return f"a uniform {scenario['pressure_kpa']:g} kPa"
    if name == "standing":
        feet = "both feet" if scenario["stance"] == "both" else f"the {scenario['stance']} foot"
        sway = scenario.get("sway_mm", (0.0, 0.0))
        still = "still" if not any(sway) else f"swaying {sway[0]:g} mm AP, {sway[1]:g} mm ML (RMS)"
        return f"a person of {body_mass_kg:g} kg standing {still} on {feet}"
    return "nothing (empty)" if name == "empty" else f"a walker of {body_mass_kg:g} kg"


def _calibration_recording(args, source, prompt):
    """A raw recording for a calibration step: from a file, or from the mat after a prompt."""
    if source is not None:
        if args.port:
            raise ValueError("give --from FILE or --port, not both")
        return io.read(source)
    if not args.port:
        raise ValueError("give --from FILE (a raw recording) or --port (record from the mat)")
    return _record_prompted(args, [prompt])[0]


#: Seconds between Enter at a calibration prompt and the first frame recorded.
SETTLE_S = 0.25


def _record_prompted(args, prompts):
    """Open the mat once; for each prompt, wait for the user, then record ``--seconds`` s."""
    import time

    from . import drivers

    raws = []
    with drivers.open_mat(args.port, protocol=args.protocol, pitch_mm=args.pitch_mm) as session:
        for prompt in prompts:
            _wait_for_user(prompt)
            time.sleep(SETTLE_S)  # frames still on their way from before Enter are not recorded
            print(f"recording {args.seconds:g} s ...", file=sys.stderr, flush=True)
            raws.append(session.read(seconds=args.seconds))
    return raws


def _wait_for_user(prompt):
    """Show the prompt and wait for Enter: typed at a terminal, or a line on piped stdin.

    With no one to answer (stdin closed or at its end), start after 3 s instead.
    """
    if sys.stdin is not None and sys.stdin.isatty():
        input(f"{prompt}\nPress Enter when ready. ")
        return
    print(f"{prompt}\nPress Enter when ready.", file=sys.stderr, flush=True)
    if sys.stdin is None or not sys.stdin.readline():
        import time

        print("(no answer on stdin: starting in 3 s)", file=sys.stderr, flush=True)
        time.sleep(3.0)


def _save_calibration(cal, args):
    from . import calibration

    if args.output.exists() and not args.overwrite:
        raise FileExistsError(f"'{args.output}' exists; pass --overwrite to replace it")
    calibration.save(cal, args.output, overwrite=args.overwrite)
    print(f"wrote {args.output} (calibration {cal.attrs['calibration_id']})")


def _calibrate_tare(args):
    from . import calibration

    raw = _calibration_recording(args, args.source, "Clear the mat: nobody on it, nothing lying on it.")
    cal = calibration.tare(raw, rated_max_kpa=args.rated_max_kpa)
    status = cal["status"].values
    print(f"tare from {raw.sizes['time']} frames: median noise {float(np.median(cal.noise_counts)):.2f} counts; "
          f"{int((status == calibration.STATUS['stuck_high']).sum())} stuck-high, "
          f"{int((status == calibration.STATUS['noisy']).sum())} noisy sensels")  # fmt: skip
    _save_calibration(cal, args)


def _calibrate_equilibrate(args):
    from . import calibration

    cal = calibration.load(args.calibration)
    levels = args.pressure_kpa or []
    prompt = "Put a uniform pressure{} on the whole mat (bladder, or a board on foam)."
    if args.level:
        if args.source is not None or args.port or levels:
            raise ValueError("give --level FILE:KPA recordings, or --from/--port with --pressure-kpa, not both")
        pairs = [_split_value(text, "--level") for text in args.level]
        cal = calibration.equilibrate([(io.read(path), kpa) for path, kpa in pairs], cal)
    elif len(levels) > 1:
        if not args.port or args.source is not None:
            raise ValueError("several --pressure-kpa levels need --port; from files give --level FILE:KPA per level")
        raws = _record_prompted(args, [prompt.format(f" of {kpa:g} kPa") for kpa in levels])
        cal = calibration.equilibrate(list(zip(raws, levels)), cal)
    else:
        kpa = levels[0] if levels else None
        raw = _calibration_recording(args, args.source, prompt.format("" if kpa is None else f" of {kpa:g} kPa"))
        cal = calibration.equilibrate(raw, cal, pressure_kpa=kpa)
    status = cal["status"].values
    print(f"gains {float(cal.gain.min()):.2f} .. {float(cal.gain.max()):.2f}; "
          f"{int((status == calibration.STATUS['dead']).sum())} dead, "
          f"{int((status == calibration.STATUS['uncovered']).sum())} uncovered sensels")  # fmt: skip
    _save_calibration(cal, args)


def _split_value(text, option):
    path, sep, value = text.rpartition(":")
    try:
        number = float(value)
    except ValueError:
        number = None
    if not sep or not path or number is None:
        raise ValueError(f"{option} must be FILE:NUMBER, got {text!r}")
    return Path(path), number


def _calibrate_fit(args):
    from . import calibration
    from ._schema import STANDARD_GRAVITY_M_S2

    cal = calibration.load(args.calibration)
    loads = []
    for text in args.load:
        path, force_n = _split_value(text, "--load")
        loads.append((io.read(path), force_n))
    for text in args.pressure:
        path, kpa = _split_value(text, "--pressure")
        loads.append({"raw": io.read(path), "pressure_kpa": kpa})
    if args.walk and not args.body_mass_kg:
        raise ValueError("--walk needs --body-mass-kg (the walk's mean force is body weight)")
    for path in args.walk:
        loads.append({"raw": io.read(path), "body_mass_kg": args.body_mass_kg, "average": True})
    if args.port:
        if loads:
            raise ValueError("give recordings (--load, --walk, --pressure) or --port, not both")
        if not args.body_mass_kg:
            raise ValueError("--port needs --body-mass-kg: the loads are the subject's body weight")
        weight_n = args.body_mass_kg * STANDARD_GRAVITY_M_S2
        prompts = [f"Step on the mat with {stance}; stand still, a finger on a wall for balance."
                   for stance in ("your left foot only", "your right foot only", "both feet")]  # fmt: skip
        loads += [(raw, weight_n) for raw in _record_prompted(args, prompts)]
    if not loads and not np.any(np.atleast_1d(cal.attrs.get("equilibration_levels_kpa", 0.0)) > 0):
        raise ValueError("no loads: give --load, --walk or --pressure recordings, or --port with --body-mass-kg")
    cal = calibration.fit(cal, loads, models=args.models, max_kpa=args.max_kpa)
    print(_calibration_summary(cal))
    _save_calibration(cal, args)


def _calibrate_apply(args):
    from . import calibration

    if args.output.exists() and not args.overwrite:
        raise FileExistsError(f"'{args.output}' exists; pass --overwrite to replace it")
    raw = io.read(args.input)
    check = not args.skip_mat_check
    cal = calibration.load(args.calibration, raw=raw, check_mat=check)
    trial = calibration.apply(raw, cal, dead=args.dead, check_mat=check)
    io.save(trial, args.output, overwrite=args.overwrite)
    print(f"wrote {args.output} ({_size(args.output)}): {trial.sizes['time']} frames in kPa, "
          f"calibration {trial.attrs['calibration_id']}")  # fmt: skip


def _calibrate_scale(args):
    from . import calibration

    _check_nc_output(args.output, overwrite=args.overwrite)
    raw = io.read(args.input)
    if "counts" not in raw.data_vars:
        raise ValueError(f"'{args.input}' is already a trial in kPa, not a raw recording in counts")
    if args.kpa_per_count == "stated":
        factor = None
    else:
        try:
            factor = float(args.kpa_per_count)
        except ValueError:
            raise ValueError(f"--kpa-per-count: {args.kpa_per_count!r} is not a number or 'stated'") from None
    try:
        trial = calibration.scale(raw, kpa_per_count=factor)
    except ValueError as exc:
        raise ValueError(f"'{args.input}': {exc}") from None
    io.save(trial, args.output, overwrite=args.overwrite)
    print(f"wrote {args.output} ({_size(args.output)}): {trial.sizes['time']} frames in kPa, "
          f"{trial.attrs['kpa_per_count']:.6g} kPa per count ({trial.attrs['kpa_per_count_source']})")  # fmt: skip


def _calibrate_show(args):
    from . import calibration

    print(_calibration_summary(calibration.load(args.input)))


def _calibration_summary(cal):
    import json

    from . import calibration

    a = cal.attrs
    status = cal["status"].values
    counts = ", ".join(f"{int((status == code).sum())} {name.replace('_', '-')}"
                       for name, code in calibration.STATUS.items() if name != "ok")  # fmt: skip
    steps = [step.get("step", "?") for step in json.loads(a.get("procedure", "[]"))]
    lines = [
        f"calibration {a.get('calibration_id', '?')} of {a.get('device') or 'an unnamed mat'}: "
        f"{cal.sizes['y']} x {cal.sizes['x']} sensels, pitch {a['sensor_pitch_x_mm']:g} x {a['sensor_pitch_y_mm']:g} mm",
        f"steps: {', '.join(steps) or '-'}; created {a.get('created_utc', '?')}",
        f"sensels: {int((status == 0).sum())} ok, {counts}",
    ]
    if a.get("model"):
        heldout = ", ".join(f"{m} {a[f'heldout_rms_pct_{m}']:.2f} %" if np.isfinite(a[f"heldout_rms_pct_{m}"])
                            else f"{m} not measured" for m in calibration.MODELS
                            if f"heldout_rms_pct_{m}" in a)  # fmt: skip
        lines += [
            f"curve: {a['model']} ({a.get('model_formula', '')}); held-out force error: {heldout}",
            f"fit error: {a['fit_rms_force_pct']:.2f} % of force, {a['fit_rms_kpa']:.2f} kPa; "
            f"calibrated up to {float(np.max(a['valid_range_counts'])):.0f} equalised counts, "
            f"{float(np.max(a['valid_range_kpa'])):.0f} kPa (beyond: extrapolated)",
        ]
        if a["model"] == "table":
            knots = ", ".join(f"{c:.0f}:{p:g}" for c, p in zip(a["curve_knots_counts"], a["curve_knots_kpa"]))
            lines.append(f"table knots (counts:kPa): {knots}")
    else:
        lines.append("curve: not fitted yet (plantar calibrate fit)")
    return "\n".join(lines)


def _record(args):
    from . import drivers
    from .drivers.recorder import _record_raw  # Session.record, also returning the recording written

    if args.output.exists() and not args.overwrite:
        raise FileExistsError(f"'{args.output}' exists; pass --overwrite to replace it")
    cal = None
    raw_path = args.output
    if args.calibration is not None:
        from . import calibration

        cal = calibration.load(args.calibration)  # a bad file fails before anything is recorded
        raw_path = args.output.with_name(args.output.name.removesuffix(".nc") + ".counts.nc")
        if raw_path.exists() and not args.overwrite:
            raise FileExistsError(f"'{raw_path}' exists; pass --overwrite to replace it")
    session = drivers.open_mat(args.port, protocol=args.protocol, rate_hz=args.rate_hz, shape=args.shape,
                               pitch_mm=args.pitch_mm, timeout_s=args.timeout_s)  # fmt: skip
    line = _StatusLine(quiet=args.quiet)
    with session:
        info = session.info
        if not args.quiet:
            print(f"recording from {args.port}: {info.get('vendor', args.protocol)} {info.get('model', '')} "
                  f"{info.get('rows', '?')} x {info.get('cols', '?')}"
                  + (f", {args.seconds:g} s" if args.seconds else ", Ctrl-C to stop"), file=sys.stderr)  # fmt: skip
        try:
            path, raw = _record_raw(
                session, raw_path, seconds=args.seconds, overwrite=args.overwrite, keep_journal=args.keep_journal,
                status=line.update, subject=args.subject, condition=args.condition,
                body_mass_kg=args.body_mass_kg,
            )  # fmt: skip
        finally:
            line.close()
    a = raw.attrs
    print(f"wrote {path} ({_size(path)}): {raw.sizes['time']} frames over {float(raw.time[-1]):.1f} s at "
          f"{a['sampling_rate_hz']:.2f} Hz; {a['frames_lost']} lost, {a.get('crc_errors', 0)} corrupt packets, "
          f"{a['device_reboots']} device reboots, {a['reconnects']} reconnects")  # fmt: skip
    if cal is not None:
        from . import calibration

        trial = calibration.apply(io.read(path), cal)  # refuses another mat's calibration; the counts stay saved
        io.save(trial, args.output, overwrite=args.overwrite)
        print(f"wrote {args.output} ({_size(args.output)}): kPa with calibration {trial.attrs['calibration_id']}")


class _StatusLine:
    """One line on stderr, rewritten in place on a terminal, printed every 5 s otherwise."""

    def __init__(self, *, quiet=False):
        import time

        self._quiet = quiet
        self._tty = sys.stderr.isatty()
        self._started = time.monotonic()
        self._last_print = 0.0
        self._width = 0

    def update(self, stats, latest):
        import time

        now = time.monotonic() - self._started
        if self._quiet:
            return
        if not stats.connected:
            state = "port lost: reconnecting ..."
        elif stats.frames == 0:
            state = "waiting for frames ..."
        else:
            state = (f"{stats.frame_rate_hz:5.0f} frames/s  {stats.frames} frames  lost {stats.lost_frames}  "
                     f"errors {stats.crc_errors + stats.bad_packets}  reboots {stats.reboots}  "
                     f"peak {int(latest.counts.max()) if latest is not None else 0} counts")  # fmt: skip
        text = f"{now:6.1f} s  {state}"
        if self._tty:
            sys.stderr.write("\r" + text.ljust(self._width))
            sys.stderr.flush()
            self._width = len(text)
        elif now - self._last_print >= 5.0:
            print(text, file=sys.stderr)
            self._last_print = now

    def close(self):
        if self._tty and self._width:
            sys.stderr.write("\n")


# --------------------------------------------------------------------------------------
# plantar clinic: records of patients, visits and trials (plantar.clinic does the work)


def _clinic_commands(commands):
    clinic = _command(
        commands,
        "clinic",
        "keep patients, visits and trials in a clinic folder (database + trial files)",
        """\
A clinic is a folder holding a database (SQLite in the folder by default, or a
PostgreSQL server for several workstations) and the trials as plantar NetCDF
files. Patients go by a code the clinic chooses; names and notes stay in the
database and never appear in logs. Every command but init and restore takes the
clinic folder as -C DIR (default: $PLANTAR_CLINIC).

example:
  plantar clinic init my-clinic
  plantar clinic patient add P012 --name "Jane Example" --birth-year 1961 -C my-clinic
  plantar clinic visit add P012 --date 2024-03-01 --complaint "right heel pain" -C my-clinic
  plantar clinic trial add walk.nc --visit 1 --kind barefoot -C my-clinic
  plantar clinic followup P012 -C my-clinic
  plantar clinic check -C my-clinic""",
    )
    groups = clinic.add_subparsers(title="commands", metavar="COMMAND", required=True)

    def _clinic_option(sub):
        sub.add_argument("-C", "--clinic", type=Path, default=None, metavar="DIR",
                         help="the clinic folder (default: $PLANTAR_CLINIC)")  # fmt: skip
        sub.add_argument("--database-url", metavar="URL",
                         help="use this database instead of the one the folder names")  # fmt: skip

    init = _command(groups, "init", "create a clinic folder and its database", """\
Create a new clinic folder, readable by its owner only, with its database at the
newest schema: an SQLite file in the folder, or with --database-url an (empty)
PostgreSQL database, whose URL is kept in the folder's clinic.json.

example:
  plantar clinic init my-clinic
  plantar clinic init shared-clinic --database-url postgresql://clinic@dbhost/clinic""")
    init.add_argument("folder", type=Path, help="the folder to create (must not exist, or be empty)")
    init.add_argument("--database-url", metavar="URL", help="a PostgreSQL database (default: SQLite in the folder)")
    init.set_defaults(run=_clinic_init)

    patient = _command(groups, "patient", "add, list, show or export patients", """\
Patients go by a code the clinic chooses (letters, digits, '.', '_', '-'): it
names them in messages, file names and trial files; the name is optional and
stays in the database.

example:
  plantar clinic patient add P012 --name "Jane Example" --birth-year 1961 --sex female -C my-clinic
  plantar clinic patient list -C my-clinic
  plantar clinic patient show P012 -C my-clinic
  plantar clinic patient export P012 -o P012-export -C my-clinic""")
    patients = patient.add_subparsers(title="commands", metavar="COMMAND", required=True)
    patient_add = _command(patients, "add", "add a patient", """\
Add a patient under a code chosen by the clinic; the other details are optional.

example:
  plantar clinic patient add P012 --name "Jane Example" --birth-year 1961 --sex female \\
      --body-mass-kg 68.5 --shoe-size-eu 39 -C my-clinic""")
    patient_add.add_argument("code", help="the clinic's id for the patient (not the name)")
    patient_add.add_argument("--name", help="the patient's name (kept in the database only)")
    patient_add.add_argument("--birth-year", type=int, help="year of birth")
    patient_add.add_argument("--sex", choices=("female", "male", "other"), help="sex")
    patient_add.add_argument("--body-mass-kg", type=_positive_float, help="body mass in kg")
    patient_add.add_argument("--shoe-size-eu", type=_positive_float, help="shoe size, EU")
    patient_add.add_argument("--notes", help="free notes (kept in the database only, never logged)")
    _clinic_option(patient_add)
    patient_add.set_defaults(run=_clinic_patient_add)
    patient_list = _command(patients, "list", "list the patients", """\
List the patients with their visits and trials.

example:
  plantar clinic patient list -C my-clinic""")
    _clinic_option(patient_list)
    patient_list.set_defaults(run=_clinic_patient_list)
    patient_show = _command(patients, "show", "show a patient's details, visits and trials", """\
Show a patient's details, then each visit with its trials.

example:
  plantar clinic patient show P012 -C my-clinic""")
    patient_show.add_argument("code", help="the patient's code")
    _clinic_option(patient_show)
    patient_show.set_defaults(run=_clinic_patient_show)
    patient_export = _command(patients, "export", "copy a patient's trials and a table of them", """\
Copy a patient's trial files (checked against their sha256) into a folder, with
trials.csv listing them (visit, date, condition, device, calibration, hash);
names and notes are not exported.

example:
  plantar clinic patient export P012 -o P012-export -C my-clinic""")
    patient_export.add_argument("code", help="the patient's code")
    patient_export.add_argument("-o", "--output", type=Path, required=True, help="folder to write into")
    _clinic_option(patient_export)
    patient_export.set_defaults(run=_clinic_patient_export)

    visit = _command(groups, "visit", "add a visit of a patient", """\
Visits are numbered across the clinic; the number is what trial add takes.

example:
  plantar clinic visit add P012 --date 2024-03-01 --complaint "right heel pain" --clinician "Dr Example" -C my-clinic""")
    visits = visit.add_subparsers(title="commands", metavar="COMMAND", required=True)
    visit_add = _command(visits, "add", "add a visit", """\
Add a visit of a patient on a date; prints the visit's number.

example:
  plantar clinic visit add P012 --date 2024-03-01 --complaint "right heel pain" -C my-clinic""")
    visit_add.add_argument("code", help="the patient's code")
    visit_add.add_argument("--date", required=True, help="the visit's date, YYYY-MM-DD")
    visit_add.add_argument("--complaint", help="the complaint")
    visit_add.add_argument("--clinician", help="who saw the patient")
    visit_add.add_argument("--notes", help="free notes (never logged)")
    _clinic_option(visit_add)
    visit_add.set_defaults(run=_clinic_visit_add)

    trial = _command(groups, "trial", "add a trial file to a visit, or import any recording", """\
A trial is stored as a plantar NetCDF file in the clinic (written and synced
first, then its row: both or neither), with its sha256, device, calibration and
timing. 'add' takes a plantar trial (.nc); 'import' reads any file plantar
knows (a journal, a vendor export) and converts it on the way in.

example:
  plantar clinic trial add walk.nc --visit 1 --kind barefoot -C my-clinic
  plantar clinic trial import insole.csv --visit 1 --kind orthotic --label "orthotic A" -C my-clinic""")
    trials = trial.add_subparsers(title="commands", metavar="COMMAND", required=True)
    from ._clinic_kinds import CONDITION_KINDS  # not from .clinic: SQLAlchemy costs half a second to import

    def _trial_options(sub):
        sub.add_argument("--visit", type=_positive_int, required=True, help="the visit's number")
        sub.add_argument("--kind", choices=CONDITION_KINDS, required=True, help="the kind of condition")
        sub.add_argument("--label", help="the condition's label, e.g. 'orthotic A' (default: the kind)")
        sub.add_argument("--description", default="", help="the footwear or orthotic, in words")
        _clinic_option(sub)

    trial_add = _command(trials, "add", "add a plantar trial file (.nc) to a visit", """\
Copy a plantar NetCDF trial into the clinic as a trial of a visit.

example:
  plantar clinic trial add walk.nc --visit 1 --kind shod --label "running shoe" \\
      --description "neutral running shoe, 10 mm drop" -C my-clinic""")
    trial_add.add_argument("input", type=Path, help="the trial file (.nc)")
    _trial_options(trial_add)
    trial_add.set_defaults(run=_clinic_trial_add, format="netcdf", calibration=None)
    trial_import = _command(trials, "import", "import any recording plantar reads into a visit", f"""\
Read a recording in any format plantar knows ({", ".join(io.known_formats())}),
convert it to a plantar NetCDF trial and add it to a visit. A raw recording in
counts (a journal) needs --calibration.

example:
  plantar clinic trial import walk.pmrec --visit 1 --kind barefoot --calibration mat.pmcal.nc -C my-clinic
  plantar clinic trial import export.csv --format tekscan --visit 1 --kind orthotic --label "orthotic A" -C my-clinic""")
    trial_import.add_argument("input", type=Path, help="the file to import")
    trial_import.add_argument("--format", choices=list(io.known_formats()), help="force the input format")
    trial_import.add_argument("--calibration", type=Path, help="calibration file (.pmcal.nc) for a raw recording")
    _trial_options(trial_import)
    trial_import.set_defaults(run=_clinic_trial_add)

    followup = _command(groups, "followup", "write a patient's follow-up report: change over the visits", """\
Analyse every trial of a patient again and write the follow-up report (HTML, CSV
and JSON): per visit, condition, side, region and metric the visit mean with its
95 % confidence interval, the change since the first and the previous visit, a
verdict on whether it is beyond measurement error (from the patient's repeated
trials at a visit, else from published test-retest values), the trend per week
with three or more visits, and a note for a follow-up within 4 weeks. Written to
reports/PATIENT in the clinic (or --out DIR) and recorded in the clinic's reports.
--anonymous names the patient by code only (no name, no birth year).

example:
  plantar clinic followup P012 -C my-clinic
  plantar clinic followup P012 --anonymous --out P012-followup -C my-clinic""")
    followup.add_argument("code", metavar="PATIENT", help="the patient's code")
    followup.add_argument("--out", type=Path, metavar="DIR", help="folder to write to (default: reports/PATIENT "
                          "in the clinic)")  # fmt: skip
    followup.add_argument("--anonymous", action="store_true", help="name the patient by code only")
    _clinic_option(followup)
    followup.set_defaults(run=_clinic_followup)

    check = _command(groups, "check", "verify every file's sha256; find orphan and missing files", """\
Check every trial and report file against the sha256 in the database, list files
that are missing or changed, and trial files without a row (orphans: what a crash
between writing a file and adding its row leaves); --adopt adds the orphans back
from the clinic attributes each trial file carries. Exit status 1 if anything is
wrong.

example:
  plantar clinic check -C my-clinic
  plantar clinic check --adopt -C my-clinic""")
    check.add_argument("--adopt", action="store_true", help="add orphan trial files to their visits")
    _clinic_option(check)
    check.set_defaults(run=_clinic_check)

    backup = _command(groups, "backup", "back up the whole clinic into one archive", """\
Write one archive (.tar) with the database as portable JSON, every trial and
report file, and a manifest of sha256 hashes; each file is checked against its
hash as it is archived. 'plantar clinic restore' makes a new clinic from it.

example:
  plantar clinic backup -o clinic-2024-03-01.tar -C my-clinic""")
    backup.add_argument("-o", "--output", type=Path, required=True, help="the archive to write (.tar)")
    _clinic_option(backup)
    backup.set_defaults(run=_clinic_backup)

    restore = _command(groups, "restore", "restore a backup archive into a new clinic folder", """\
Make a new clinic folder from a backup archive: every file checked against the
manifest, the database filled in one transaction and upgraded to the newest
schema. --database-url restores into an empty PostgreSQL database instead.

example:
  plantar clinic restore clinic-2024-03-01.tar restored-clinic""")
    restore.add_argument("archive", type=Path, help="the archive made by plantar clinic backup")
    restore.add_argument("folder", type=Path, help="the new clinic folder (must not exist, or be empty)")
    restore.add_argument("--database-url", metavar="URL", help="a PostgreSQL database (default: SQLite in the folder)")
    restore.set_defaults(run=_clinic_restore)

    serve = _command(groups, "serve", "start the clinic app in the browser (capture, conditions, report)", """\
Start the clinic app, a local web app on 127.0.0.1: patients (search, add), a
patient's visits, and a visit's conditions with their quality, capture from a
mat with a live view (the recording runs in this process through the same
crash-safe recorder as 'plantar record', so closing the page changes nothing),
and the loading report written into the clinic. --demo starts it with a
temporary clinic holding a demo patient, and the virtual mat, so anyone can
try it without hardware. Ctrl-C stops it (a running recording is stored first).

On another address (--host 0.0.0.0, to use it from other computers of the
clinic) it starts only when the clinic has a password ('plantar clinic
password'), and then asks for it on a login page; with a password set it asks
for it on 127.0.0.1 too.

example:
  plantar clinic serve --demo
  plantar clinic serve --folder my-clinic --port 8050
  plantar clinic serve --folder my-clinic --host 0.0.0.0""")
    serve.add_argument("--folder", type=Path, metavar="DIR", help="the clinic folder (default: -C DIR or "
                       "$PLANTAR_CLINIC; with --demo, a new temporary clinic)")  # fmt: skip
    serve.add_argument("--port", type=int, default=8050, help="TCP port (default: 8050; 0: any free port)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this "
                       "computer only); any other, e.g. 0.0.0.0, needs the clinic's password (plantar clinic "
                       "password) and then asks for it")  # fmt: skip
    serve.add_argument("--demo", action="store_true", help="a demo clinic (unless a folder is given) and the "
                       "virtual mat")  # fmt: skip
    serve.add_argument("--no-browser", action="store_true", help="do not open the browser")
    serve.add_argument("--behind-proxy", action="store_true", help="served through one reverse proxy with https: "
                       "believe its X-Forwarded-For/-Proto/-Host headers")  # fmt: skip
    _clinic_option(serve)
    serve.set_defaults(run=_clinic_serve)

    password = _command(groups, "password", "set the clinic app's password (asked twice, stored hashed)", """\
Set or change the password the clinic app asks for: it may then serve other
addresses than 127.0.0.1 (--host), and asks for the password on every
address. The password is asked twice on the terminal (never given on the
command line) and only its scrypt hash is stored in the clinic's database;
changing it ends the sessions of the old one. --remove removes it.

example:
  plantar clinic password --folder my-clinic
  plantar clinic password --remove -C my-clinic""")
    password.add_argument("--folder", type=Path, metavar="DIR", help="the clinic folder (default: -C DIR or "
                          "$PLANTAR_CLINIC)")  # fmt: skip
    password.add_argument("--remove", action="store_true", help="remove the password (the app then serves "
                          "127.0.0.1 only, without a login)")  # fmt: skip
    _clinic_option(password)
    password.set_defaults(run=_clinic_password)

    mat = _command(groups, "mat", "the mats the clinic uses (offered first in the app's capture panel)", """\
The clinic's mats, by name: a port (see 'plantar devices') or the virtual
mat, a protocol and a calibration file (checked when added). The clinic app's
capture panel offers them first; its settings page does the same as these
commands.

example:
  plantar clinic mat add "walkway room 2" --port /dev/ttyACM0 --calibration walkway.pmcal.nc -C my-clinic
  plantar clinic mat list -C my-clinic
  plantar clinic mat remove "walkway room 2" -C my-clinic""")
    mats = mat.add_subparsers(title="commands", metavar="COMMAND", required=True)
    mat_add = _command(mats, "add", "add a mat", """\
Add a mat under a name, with its port (or 'virtual'), protocol and calibration file.

example:
  plantar clinic mat add "walkway room 2" --port /dev/ttyACM0 --calibration walkway.pmcal.nc -C my-clinic
  plantar clinic mat add demo --port virtual -C my-clinic""")
    mat_add.add_argument("name", help="what the clinic calls the mat")
    mat_add.add_argument("--port", required=True, help="serial port or URL (see plantar devices), or 'virtual'")
    mat_add.add_argument("--protocol", default="pmat1", help="wire protocol (default: pmat1; see plantar devices)")
    mat_add.add_argument("--calibration", type=Path, metavar="FILE", help="the mat's calibration file (.pmcal.nc)")
    _clinic_option(mat_add)
    mat_add.set_defaults(run=_clinic_mat_add)
    mat_list = _command(mats, "list", "list the clinic's mats", """\
List the clinic's mats: name, port, protocol, calibration file.

example:
  plantar clinic mat list -C my-clinic""")
    _clinic_option(mat_list)
    mat_list.set_defaults(run=_clinic_mat_list)
    mat_remove = _command(mats, "remove", "remove a mat from the list", """\
Remove a mat from the clinic's list (its recordings stay).

example:
  plantar clinic mat remove "walkway room 2" -C my-clinic""")
    mat_remove.add_argument("name", help="the mat's name")
    _clinic_option(mat_remove)
    mat_remove.set_defaults(run=_clinic_mat_remove)


def _open_clinic(args):
    import os

    from .clinic import Clinic

    folder = args.clinic or (Path(os.environ["PLANTAR_CLINIC"]) if os.environ.get("PLANTAR_CLINIC") else None)
    if folder is None:
        raise ValueError("give the clinic folder with -C DIR (or set PLANTAR_CLINIC)")
    return Clinic.open(folder, url=args.database_url)


def _clinic_serve(args):
    import os

    try:
        from .app import serve
        import dash  # noqa: F401
    except ImportError as exc:
        raise ValueError(f"the clinic app needs dash ({exc}): pip install dash") from None
    folder = args.folder or args.clinic
    if folder is None and not args.demo and os.environ.get("PLANTAR_CLINIC"):
        folder = Path(os.environ["PLANTAR_CLINIC"])

    def ready(url, clinic_folder):
        print(f"the clinic app of {clinic_folder} is at {url} (Ctrl-C to stop)", flush=True)

    serve(folder, port=args.port, host=args.host, demo=args.demo, open_browser=not args.no_browser, on_ready=ready,
          behind_proxy=args.behind_proxy)


def _clinic_password(args):
    import getpass

    args.clinic = args.folder or args.clinic
    with _open_clinic(args) as clinic:
        if args.remove:
            clinic.remove_password()
            print(f"removed the password of clinic {clinic.folder}: the app serves 127.0.0.1 only, without a login")
            return
        first = getpass.getpass("new password for the clinic app: ")
        if getpass.getpass("the same again: ") != first:
            raise ValueError("the two passwords differ: nothing changed")
        clinic.set_password(first)
    print(f"set the password of clinic {args.clinic}: the app asks for it ('plantar clinic serve --host ADDR' "
          "may now serve other computers)")  # fmt: skip


def _clinic_mat_add(args):
    with _open_clinic(args) as clinic:
        mat = clinic.add_mat(args.name, port=args.port, protocol=args.protocol, calibration=args.calibration)
    print(f"added mat {mat['name']!r}: {mat['port']}, {mat['protocol']}"
          + (f", calibration {mat['calibration']} ({mat['calibration_id']})" if mat["calibration"] else ""))


def _clinic_mat_list(args):
    with _open_clinic(args) as clinic:
        mats = clinic.mats()
    if not mats:
        print("no mats (add one with 'plantar clinic mat add')")
        return
    rows = [("name", "port", "protocol", "calibration")]
    rows += [(m["name"], m["port"], m["protocol"], m["calibration"] or "-") for m in mats]
    print(_columns(rows))


def _clinic_mat_remove(args):
    with _open_clinic(args) as clinic:
        clinic.remove_mat(args.name)
    print(f"removed mat {args.name!r}")


def _clinic_init(args):
    from .clinic import Clinic

    with Clinic.init(args.folder, url=args.database_url) as clinic:
        print(f"created clinic {clinic.folder} ({'SQLite' if clinic.url.startswith('sqlite') else 'PostgreSQL'})")


def _clinic_patient_add(args):
    with _open_clinic(args) as clinic:
        clinic.add_patient(args.code, name=args.name, birth_year=args.birth_year, sex=args.sex,
                           body_mass_kg=args.body_mass_kg, shoe_size_eu=args.shoe_size_eu, notes=args.notes)  # fmt: skip
    print(f"added patient {args.code}")


def _clinic_patient_list(args):
    with _open_clinic(args) as clinic:
        patients = clinic.patients()
    if not patients:
        print(f"no patients in {args.clinic or 'the clinic'}")
        return
    rows = [("code", "name", "born", "sex", "visits", "trials", "first visit", "last visit")]
    for p in patients:
        rows.append((p["code"], p["name"] or "-", str(p["birth_year"] or "-"), p["sex"] or "-", str(p["visits"]),
                     str(p["trials"]), str(p["first_visit"] or "-"), str(p["last_visit"] or "-")))  # fmt: skip
    print(_columns(rows))


def _clinic_patient_show(args):
    with _open_clinic(args) as clinic:
        p = clinic.patient(args.code)
    details = [("code", p["code"]), ("name", p["name"] or "-"), ("born", str(p["birth_year"] or "-")),
               ("sex", p["sex"] or "-"),
               ("body mass", "-" if p["body_mass_kg"] is None else f"{p['body_mass_kg']:g} kg"),
               ("shoe size", "-" if p["shoe_size_eu"] is None else f"{p['shoe_size_eu']:g} EU"),
               ("notes", p["notes"] or "-")]  # fmt: skip
    width = max(len(name) for name, _ in details)
    for name, value in details:
        print(f"{name.ljust(width)}  {value}")
    first = p["visits"][0]["date"] if p["visits"] else None
    for v in p["visits"]:
        weeks = (v["date"] - first).days / 7
        print(f"\nvisit {v['id']}  {v['date']}  (week {weeks:.1f})  {v['complaint'] or ''}"
              + (f"  [{v['clinician']}]" if v["clinician"] else ""))  # fmt: skip
        if not v["trials"]:
            print("  no trials")
        for t in v["trials"]:
            print(f"  {t['kind']:<9} {t['label']:<16} {t['frames']} frames at {t['sampling_rate_hz']:g} Hz "
                  f"({t['duration_s']:.1f} s)  {t['device'] or '-'}  {t['uid']}")  # fmt: skip


def _clinic_patient_export(args):
    with _open_clinic(args) as clinic:
        paths = clinic.export_patient(args.code, args.output)
    print(f"wrote {len(paths) - 1} trial files and {paths[-1]} to {args.output}")


def _clinic_visit_add(args):
    with _open_clinic(args) as clinic:
        visit = clinic.add_visit(args.code, date=args.date, complaint=args.complaint, clinician=args.clinician,
                                 notes=args.notes)  # fmt: skip
    print(f"added visit {visit} of patient {args.code} on {args.date}")


def _clinic_trial_add(args):
    with _open_clinic(args) as clinic:
        row = clinic.import_trial(args.input, visit=args.visit, kind=args.kind, label=args.label,
                                  description=args.description, format=args.format,
                                  calibration=args.calibration)  # fmt: skip
    print(f"added {row['kind']} trial {row['uid']} ({row['label']}) to visit {row['visit']} of patient "
          f"{row['patient']}: {row['path']}, {row['frames']} frames at {row['sampling_rate_hz']:g} Hz")  # fmt: skip


def _clinic_followup(args):
    with _open_clinic(args) as clinic:
        paths = clinic.write_followup_report(args.code, folder=args.out, anonymous=args.anonymous)
        recorded = clinic._inside(paths["html"])
    print(f"wrote {paths['html']} (+ .csv, .json){' and recorded it in the clinic' if recorded else ''}")


def _clinic_check(args):
    with _open_clinic(args) as clinic:
        result = clinic.check(adopt=args.adopt)
    print(f"{result['checked']} files match their sha256")
    for key, what in (("changed", "changed since added (sha256 differs)"), ("missing", "missing"),
                      ("orphans", "orphan (no row; --adopt adds it)"), ("adopted", "adopted"),
                      ("temporary", "temporary file of an interrupted write (safe to delete)")):  # fmt: skip
        for relative in result[key]:
            print(f"  {what}: {relative}")
    for relative, reason in result["unadoptable"].items():
        print(f"  cannot adopt {relative}: {reason}")
    if not result["ok"]:
        return 1


def _clinic_backup(args):
    with _open_clinic(args) as clinic:
        manifest = clinic.backup(args.output)
    rows = ", ".join(f"{n} {name}" for name, n in manifest["rows"].items())
    print(f"wrote {args.output} ({_size(args.output)}): {rows}; {len(manifest['files'])} files")


def _clinic_restore(args):
    from .clinic import Clinic

    with Clinic.restore(args.archive, args.folder, url=args.database_url) as clinic:
        patients = len(clinic.patients())
        result = clinic.check()
    print(f"restored clinic {args.folder} from {args.archive}: {patients} patients, "
          f"{result['checked']} files match their sha256")


def _columns(rows):
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


# --------------------------------------------------------------------------------------
# plantar batch: a study's files analysed in parallel (plantar.cohort does the work)


def _batch_commands(commands):
    sub = _command(commands, "batch", "analyse a study's files in parallel on Dask into one tidy table", """\
Analyse every file of a study, one task per file, on a local Dask cluster of
processes (every core) or on an existing cluster (--scheduler tcp://host:8786),
and write into OUT: table.csv and table.parquet (one row per subject,
condition, visit, trial, step, side, region and metric), status.csv (ok, error
with its reason, or skipped, per file), maps.nc (aligned mean peak-pressure
maps per subject, condition and side) and, with --report, the cohort report.
Which file is which comes from a manifest CSV (file, subject, condition, and
optionally visit, trial, body_mass_kg, side) or from the file names
(--pattern). A broken file never stops the batch; a re-run skips the files
done before with the same content and options.

example:
  plantar batch study/ --pattern "{subject}_{condition}_{trial}.asf" -o results --report
  plantar batch study/ --manifest study/manifest.csv -o results --scheduler tcp://10.0.0.5:8786""")
    sub.add_argument("source", help="the study's folder, or a glob such as 'data/*.asf' (quote it)")
    which = sub.add_mutually_exclusive_group(required=True)
    which.add_argument("--manifest", type=Path,
                       help="CSV: file, subject, condition[, visit, trial, body_mass_kg, side]")  # fmt: skip
    which.add_argument("--pattern", help="file name pattern, e.g. '{subject}_{condition}_{trial}.asf'")
    sub.add_argument("-o", "--output", type=Path, required=True, help="output folder")
    sub.add_argument("--scheduler", help="address of a Dask scheduler (tcp://host:8786), or 'serial' for no Dask")
    sub.add_argument("--workers", type=_positive_int, help="workers of the local cluster (default: every core)")
    sub.add_argument("--threshold-kpa", type=_positive_float, help="contact threshold in kPa (default: from the data)")
    sub.add_argument("--spacing-mm", type=_positive_float, default=5.0, help="grid of the aligned maps (default 5 mm)")
    sub.add_argument("--report", action="store_true", help="also write OUT/report.html (group table, maps, status)")
    sub.add_argument("--baseline", help="the condition the others are compared with in the report (default: first)")
    sub.set_defaults(run=_batch)


def _batch(args):
    from .cohort import batch, write_cohort_report

    bar = _ProgressBar(quiet=args.quiet)
    try:
        study = batch(args.source, args.output, manifest=args.manifest, pattern=args.pattern,
                      scheduler=args.scheduler, n_workers=args.workers, threshold_kpa=args.threshold_kpa,
                      spacing_mm=args.spacing_mm, progress=bar.update)  # fmt: skip
    finally:
        bar.close()
    status = study["status"]
    counts = status["status"].value_counts()
    print(f"{len(status)} files: {counts.get('ok', 0)} ok, {counts.get('error', 0)} errors, "
          f"{counts.get('skipped', 0)} skipped; {study['table'].subject.nunique()} subjects, "
          f"{len(study['table'])} rows")  # fmt: skip
    for row in status[status["status"] == "error"].itertuples():
        print(f"  error: {row.reason}")
    for name, path in study["paths"].items():
        print(f"wrote {path} ({_size(path)})")
    if args.report:
        paths = write_cohort_report(study, args.output / "report.html", baseline=args.baseline, overwrite=True)
        print(f"wrote {paths['html']} ({_size(paths['html'])}), with every number in {paths['csv'].name}")


class _ProgressBar:
    """A progress bar on stderr, redrawn in place on a terminal; a line every 10 % otherwise."""

    def __init__(self, *, quiet=False):
        import time

        self._quiet = quiet
        self._tty = sys.stderr.isatty()
        self._started = time.monotonic()
        self._shown = -1
        self._width = 0
        self._errors = 0

    def update(self, done, total, row):
        import time

        if self._quiet or total == 0:
            return
        elapsed = time.monotonic() - self._started
        self._errors += row.get("status") == "error"
        errors = self._errors
        filled = int(30 * done / total)
        text = (f"[{'#' * filled}{'.' * (30 - filled)}] {done}/{total} files  {errors} errors  {elapsed:5.0f} s"
                + (f"  ~{elapsed / done * (total - done):.0f} s left" if done < total else ""))  # fmt: skip
        if self._tty:
            sys.stderr.write("\r" + text.ljust(self._width))
            sys.stderr.flush()
            self._width = len(text)
        elif 10 * done // total > self._shown:
            self._shown = 10 * done // total
            print(text, file=sys.stderr)

    def close(self):
        if self._tty and self._width:
            sys.stderr.write("\n")


if __name__ == "__main__":
    sys.exit(main())
