"""Read one purchase file in a fresh process and report what happened, how long it took and the memory it
added (peak resident size during the read over the size before it). Run as a script by the hostile-file
tests."""

import json
import resource
import sys
import time


def status_kb(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    return 0


def reset_peak():
    """Start the peak resident size (VmHWM) afresh, so the imports before the read do not hide it."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        return True
    except OSError:
        return False


def main(path, name):
    import django

    django.setup()
    from rebates.imports import ImportRefused, purchase_file_read

    before = status_kb("VmRSS")
    fresh_peak = reset_peak()
    began = time.perf_counter()
    outcome, message, lines = "read", "", 0
    try:
        with open(path, "rb") as stream:
            lines = len(purchase_file_read(stream, name=name).lines)
    except ImportRefused as refused:
        outcome, message = "refused", str(refused)
    seconds = time.perf_counter() - began
    peak = status_kb("VmHWM") if fresh_peak else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sys.stdout.write(json.dumps({"outcome": outcome, "message": message, "lines": lines, "seconds": seconds,
                                 "extra_mb": max(0, peak - before) / 1024}) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:3])
