"""Run ``fhrn-ode ARGS`` and send this process a signal at a chosen point (used by test_interrupts.py).

Environment: ``SIGDRIVER_SIG`` (signal number), ``SIGDRIVER_STAMP`` (optional file that receives the
``time.time()`` of the signal) and ``SIGDRIVER_WHEN``:
  * ``early``: 0.1 s after the CLI installed its handlers (imports and set-up of the command);
  * ``integration`` (or ``integration:K``): at the 40th (K-th) vector-field evaluation, counted over every
    solve of the process (the solver core's wrapped field, or torchdiffeq's own wrapper for direct
    torchdiffeq calls; in a worker process of a pool too);
  * ``plotting``: inside the first ``Figure.savefig``.
The signal comes from the kernel (``os.kill``), exactly as from a terminal or ``kill``.
"""

import os
import signal
import sys
import threading
import time

SIG = signal.Signals(int(os.environ["SIGDRIVER_SIG"]))
WHEN = os.environ["SIGDRIVER_WHEN"]
fired = []


MAIN = int(os.environ.setdefault("SIGDRIVER_PID", str(os.getpid())))  # inherited by worker processes


def fire() -> None:
    """Signal the CLI's process once (from it, or from a worker): SIGINT to its process group when it leads
    one (as a terminal's Ctrl-C does), SIGTERM to the process alone (as ``kill`` does)."""
    if fired:
        return
    fired.append(1)
    stamp = os.environ.get("SIGDRIVER_STAMP")
    if stamp:
        try:
            fd = os.open(stamp, os.O_CREAT | os.O_EXCL | os.O_WRONLY)  # one signal for all processes
        except FileExistsError:
            return
        os.write(fd, repr(time.time()).encode())
        os.close(fd)
    sys.stderr.flush()
    if SIG == signal.SIGINT and os.getpgid(MAIN) == MAIN:
        os.killpg(MAIN, SIG)
    else:
        os.kill(MAIN, SIG)


if WHEN == "early":
    from fhrn_ode import _signals
    from fhrn_ode import cli as _cli

    real_install = _signals.install

    def install():
        token = real_install()
        threading.Timer(0.1, fire).start()
        return token

    _cli.install = install
elif WHEN.startswith("integration"):
    AT = int(WHEN.partition(":")[2] or 40)
    from torchdiffeq._impl import misc

    from fhrn_ode import _solver_run

    calls = [0]

    def counting(real):
        def forward(self, t, y, *a, **k):
            calls[0] += 1
            if calls[0] == AT:
                fire()
            return real(self, t, y, *a, **k)
        return forward

    _solver_run._Rhs.forward = counting(_solver_run._Rhs.forward)
    misc._PerturbFunc.forward = counting(misc._PerturbFunc.forward)
elif WHEN == "plotting":
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    real_savefig = Figure.savefig

    def savefig(self, *a, **k):
        fire()
        return real_savefig(self, *a, **k)

    Figure.savefig = savefig

if __name__ == "__main__":  # (worker processes of a spawn pool import this file as __mp_main__)
    from fhrn_ode.cli import entry

    sys.argv = ["fhrn-ode", *sys.argv[1:]]
    entry()
