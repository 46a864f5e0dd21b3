#!/usr/bin/env python3
"""examples/http_file_server against nginx, driven by wrk, in one run.

  http_bench.py --server BIN --root DIR [--seconds N] [--small-count N] [--whole-mib N]

Generates (or reuses) under DIR: small/ with 4 KiB files, range64.bin (64 MiB) and whole.bin.
Starts the server (its --cache-files large enough to hold every file) and nginx (worker_processes
2, sendfile on, access log off, a generated config under a temporary prefix, on loopback ports,
not as a daemon) on the same DIR, then for each case runs wrk (2 threads, 16 connections) for a
short warm-up and for N seconds against each server, alternating which goes first. Cases:
random 4 KiB files (a Lua script picks the names), 64 KiB ranges of the 64 MiB file at random
offsets, the big file whole. Prints one JSON line per case and server: requests, bytes, seconds,
errors (any non-2xx/3xx status counts), latency percentiles and the CPU time the server used
meanwhile.
Exits non-zero if a server fails to start or a run reports errors.
"""

import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time

KIB, MIB = 1 << 10, 1 << 20
CONNECTIONS, THREADS = 16, 2

# Each wrk thread draws its own random sequence; wrk's `done` hook prints the summary as JSON, so
# nothing has to be scraped from its text.
DONE = r'''
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("id", threads)
end
init = function(args) math.randomseed(os.time() * 100 + id) end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "bytes": %d, "seconds": %.6f, "errors": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.bytes, summary.duration / 1e6,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
'''

SCRIPTS = {
    'small': r'''
local count = %(small_count)d
request = function()
  return wrk.format("GET", string.format("/small/f%%05d.bin", math.random(0, count - 1)))
end
''',
    'range': r'''
local size, piece = %(range_size)d, 65536
request = function()
  local first = math.random(0, size - piece)
  return wrk.format("GET", "/range64.bin",
                    {Range = "bytes=" .. first .. "-" .. (first + piece - 1)})
end
''',
    'whole': '',
}


def generate(root, small_count, whole_size):
    manifest = os.path.join(root, 'manifest.json')
    want = {'small_count': small_count, 'small_size': 4 * KIB, 'range_size': 64 * MIB,
            'whole_size': whole_size}
    try:
        with open(manifest) as f:
            if json.load(f) == want:
                return want
    except (OSError, ValueError):
        pass
    print(f'http_bench: generating files in {root}', file=sys.stderr)
    shutil.rmtree(os.path.join(root, 'small'), ignore_errors=True)
    os.makedirs(os.path.join(root, 'small'))
    rng = random.Random(21)
    for i in range(small_count):
        with open(os.path.join(root, 'small', f'f{i:05}.bin'), 'wb') as f:
            f.write(rng.randbytes(4 * KIB))
    for name, size in (('range64.bin', 64 * MIB), ('whole.bin', whole_size)):
        with open(os.path.join(root, name), 'wb') as f:
            for _ in range(0, size, 64 * MIB):
                f.write(rng.randbytes(min(64 * MIB, size)))
    with open(manifest, 'w') as f:
        json.dump(want, f)
    return want


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, what):
    deadline = time.time() + 10
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f'http_bench: {what} exited with {proc.returncode}')
        try:
            socket.create_connection(('127.0.0.1', port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f'http_bench: {what} does not accept on port {port}')


def start_ours(binary, root, small_count):
    # Its file cache holds every file of the runs (nginx opens each file per request instead).
    cache_files = str(max(1024, 2 * small_count))
    proc = subprocess.Popen([binary, '--root', root, '--listen', '127.0.0.1:0',
                             '--cache-files', cache_files], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.startswith('listening on 127.0.0.1:'):
        proc.kill()
        sys.exit(f'http_bench: the server printed {line!r}')
    return proc, int(line.rsplit(':', 1)[1])


def start_nginx(root, prefix):
    port = free_port()
    conf = os.path.join(prefix, 'nginx.conf')
    temp = {k: os.path.join(prefix, k) for k in ('body', 'proxy', 'fastcgi', 'uwsgi', 'scgi')}
    for path in temp.values():
        os.makedirs(path)
    with open(conf, 'w') as f:
        # As root, nginx's workers would drop to `nobody`, who may not reach DIR (a 0700 temp dir).
        user = 'user root;\n' if os.getuid() == 0 else ''
        f.write(f'''daemon off;
{user}worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;
  keepalive_requests 1000000;
  default_type application/octet-stream;
  client_body_temp_path {temp["body"]};
  proxy_temp_path {temp["proxy"]};
  fastcgi_temp_path {temp["fastcgi"]};
  uwsgi_temp_path {temp["uwsgi"]};
  scgi_temp_path {temp["scgi"]};
  server {{
    listen 127.0.0.1:{port};
    root {root};
  }}
}}
''')
    nginx = shutil.which('nginx') or '/usr/sbin/nginx'
    proc = subprocess.Popen([nginx, '-p', prefix, '-c', conf], stderr=subprocess.DEVNULL)
    wait_for_port(port, proc, 'nginx')
    return proc, port


def cpu_seconds(pid):
    """CPU time of pid and its children (nginx's workers), from /proc."""
    total = 0
    try:
        with open(f'/proc/{pid}/stat') as f:
            fields = f.read().rpartition(')')[2].split()
        total = int(fields[11]) + int(fields[12])
        with open(f'/proc/{pid}/task/{pid}/children') as f:
            children = [int(c) for c in f.read().split()]
    except OSError:
        return 0.0
    return total / os.sysconf('SC_CLK_TCK') + sum(cpu_seconds(c) for c in children)


def run_wrk(port, script, seconds, path):
    cmd = ['wrk', '-t', str(THREADS), '-c', str(CONNECTIONS), '-d', f'{max(1, round(seconds))}s',
           '--timeout', '60s', '-s', script, f'http://127.0.0.1:{port}{path}']
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120)
    lines = [l for l in r.stdout.splitlines() if l.startswith('{')]
    if r.returncode != 0 or not lines:
        sys.exit(f'http_bench: {" ".join(cmd)} failed: {r.stdout}{r.stderr}')
    return json.loads(lines[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--server', required=True, help='the http_file_server binary')
    ap.add_argument('--root', required=True, help='directory for the served files')
    ap.add_argument('--seconds', type=int, default=10)
    ap.add_argument('--warmup', type=int, default=2)
    ap.add_argument('--small-count', type=int, default=10000)
    ap.add_argument('--whole-mib', type=int, default=1024)
    ap.add_argument('--cases', default='small,range,whole')
    args = ap.parse_args()
    root = os.path.abspath(args.root)
    os.makedirs(root, exist_ok=True)
    p = generate(root, args.small_count, args.whole_mib * MIB)
    for name in os.listdir(root):  # into the page cache, for both servers alike
        if name.endswith('.bin'):
            with open(os.path.join(root, name), 'rb', buffering=0) as f:
                while f.read(8 * MIB):
                    pass

    failed = False
    with tempfile.TemporaryDirectory(prefix='http_bench.') as tmp:
        scripts = {}
        for case, body in SCRIPTS.items():
            scripts[case] = os.path.join(tmp, f'{case}.lua')
            with open(scripts[case], 'w') as f:
                f.write(body % {'small_count': p['small_count'], 'range_size': p['range_size']}
                        + DONE)
        prefix = os.path.join(tmp, 'nginx')
        os.makedirs(prefix)
        ours, ours_port = start_ours(args.server, root, p['small_count'])
        nginx, nginx_port = start_nginx(root, prefix)
        servers = [('ours', ours_port, ours.pid), ('nginx', nginx_port, nginx.pid)]
        try:
            for n, case in enumerate(c for c in args.cases.split(',') if c):
                path = '/whole.bin' if case == 'whole' else '/'
                for server, port, pid in (servers if n % 2 == 0 else servers[::-1]):
                    if args.warmup > 0:
                        run_wrk(port, scripts[case], args.warmup, path)
                    before = cpu_seconds(pid)
                    r = run_wrk(port, scripts[case], args.seconds, path)
                    r.update(case=case, server=server,
                             server_cpu_seconds=round(cpu_seconds(pid) - before, 2))
                    print(json.dumps(r), flush=True)
                    if r['errors'] > 0 or r['requests'] == 0 and case != 'whole':
                        print(f'http_bench: {server} failed the {case} case: {r}', file=sys.stderr)
                        failed = True
        finally:
            for proc in (ours, nginx):
                proc.terminate()
            for proc in (ours, nginx):
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    failed = True
            if ours.returncode != 0:
                print(f'http_bench: the server exited with {ours.returncode}', file=sys.stderr)
                failed = True
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
