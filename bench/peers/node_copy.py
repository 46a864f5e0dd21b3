#!/usr/bin/env python3
"""A copy between two `actorio serve` processes on 127.0.0.1, for bench/run.

  node_copy.py --cli CLI --runner RUN_MEASURED --src FILE --dst-dir DIR

Serves FILE's directory (node A) and DIR (node B, which may pull from A), then times `actorio
copy tcp://A/NAME tcp://B/NAME` whole under run_measured. Prints one JSON line: {"op":
"node_copy", "bytes", "seconds" (the copying client's wall time), "rss_kib": {"client", "source",
"destination"}}, each a peak RSS (the servers' VmHWM, read before they stop). Exit status 1 when the copy fails or
differs in size from its source.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile


def peak_kib(pid):
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1])
    return 0


def serve(cli, root, log, extra=()):
    """Starts a server on a free port; returns (process, port)."""
    proc = subprocess.Popen([cli, 'serve', '--listen', '127.0.0.1:0', '--root', root, *extra],
                            stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
                            text=True)
    line = proc.stdout.readline()
    m = re.search(r':(\d+)\s*$', line)
    if not m:
        proc.kill()
        sys.exit(f'node_copy: no port from the server of {root}: {line!r}')
    return proc, int(m.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--cli', required=True)
    ap.add_argument('--runner', required=True)
    ap.add_argument('--src', required=True)
    ap.add_argument('--dst-dir', required=True)
    args = ap.parse_args()
    name = os.path.basename(args.src)
    with tempfile.TemporaryDirectory() as tmp, open(os.path.join(tmp, 'servers.log'), 'w') as log:
        a, port_a = serve(args.cli, os.path.dirname(os.path.abspath(args.src)), log)
        # B copies from A itself (serve --pull-from): the bytes cross one connection.
        b, port_b = serve(args.cli, args.dst_dir, log, ('--pull-from', f'127.0.0.1:{port_a}'))
        try:
            report = os.path.join(tmp, 'client.report')
            done = subprocess.run([args.runner, report, args.cli, '--no-progress', 'copy',
                                   f'tcp://127.0.0.1:{port_a}/{name}',
                                   f'tcp://127.0.0.1:{port_b}/{name}'],
                                  stdin=subprocess.DEVNULL)
            rss = {'source': peak_kib(a.pid), 'destination': peak_kib(b.pid)}
        finally:
            for p in (a, b):
                p.terminate()
            for p in (a, b):
                p.wait(timeout=30)
        if done.returncode != 0:
            sys.exit(f'node_copy: the copy exited with {done.returncode}')
        with open(report) as f:
            client = json.load(f)
    size = os.path.getsize(args.src)
    if os.path.getsize(os.path.join(args.dst_dir, name)) != size:
        sys.exit('node_copy: the copy differs in size from its source')
    rss['client'] = client['maxrss_kib']
    print(json.dumps({'op': 'node_copy', 'bytes': size, 'seconds': client['seconds'],
                      'rss_kib': rss}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
