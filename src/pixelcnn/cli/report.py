"""``pixelcnn report``: one self-contained HTML page about a run (curves, samples, maps, figures)."""

from __future__ import annotations

from pixelcnn.cli.common import add_command

EXAMPLES = """
  # the page of a finished run, or of one still training (regenerate it any time)
  pixelcnn report runs/mnist5k --out report.html

  # default: RUN/report.html
  pixelcnn report runs/mnist5k
"""


def register(sub) -> None:
    parser = add_command(sub, "report", "write a self-contained HTML report of a run: learning curves, "
                         "sample grids, completions, per-pixel likelihood maps, receptive field, config", EXAMPLES, run)
    parser.add_argument("run_dir", metavar="RUN", help="the run directory")
    parser.add_argument("--out", metavar="HTML", help="the page to write (default RUN/report.html)")


def run(args) -> int:
    from pixelcnn.cli.common import check_output_file
    from pixelcnn.evaluation.report import write_report

    if args.out:
        check_output_file(args.out)  # before the work

    print(f"report: {write_report(args.run_dir, args.out)}")
    return 0
