#!/usr/bin/env python3
"""Real clients against examples/http_file_server: curl and Python's http.client.

  http_file_server_test.py SERVER_BINARY

Every body is compared with the file's bytes; expected headers come from os.stat and the file
sizes, not from the server. Prints one line per check and "all checks passed" at the end; exits 1
on the first failed check. Standard library and curl only.
"""

import email.utils
import http.client
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

MIB = 1 << 20
SERVER = None  # the running server (subprocess.Popen)
PORT = 0
ROOT = ''
checks = 0


def check(condition, what):
    global checks
    if not condition:
        print(f'FAIL: {what}', flush=True)
        if SERVER:
            SERVER.kill()
        sys.exit(1)
    checks += 1


def file_bytes(name):
    with open(os.path.join(ROOT, name), 'rb') as f:
        return f.read()


def start_server(root, *flags):
    proc = subprocess.Popen([sys.argv[1], '--root', root, '--listen', '127.0.0.1:0', *flags],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    m = re.fullmatch(r'listening on 127\.0\.0\.1:(\d+)\n', line)
    if not m:
        proc.kill()
        sys.exit(f'FAIL: the server printed {line!r} instead of "listening on 127.0.0.1:PORT"')
    return proc, int(m.group(1))


# -- curl ---------------------------------------------------------------------------------------

def curl(*args, path, port=None):
    """(status, headers as a lower-cased dict, body) of one curl request."""
    with tempfile.TemporaryDirectory() as tmp:
        head, body = os.path.join(tmp, 'head'), os.path.join(tmp, 'body')
        r = subprocess.run(['curl', '-sS', '-D', head, '-o', body, *args,
                            f'http://127.0.0.1:{port or PORT}{path}'], capture_output=True,
                           text=True,
                           timeout=20)
        check(r.returncode == 0, f'curl {args} {path} failed: {r.stderr}')
        with open(head, 'rb') as f:
            lines = f.read().decode('latin-1').split('\r\n')
        data = b''
        if os.path.exists(body):  # curl creates no file for an empty body
            with open(body, 'rb') as f:
                data = f.read()
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ':' in line:
            k, _, v = line.partition(':')
            headers[k.strip().lower()] = v.strip()
    return status, headers, data


def curl_checks():
    data = file_bytes('data.bin')
    size = len(data)
    mtime = os.stat(os.path.join(ROOT, 'data.bin')).st_mtime

    status, h, body = curl(path='/data.bin')
    check(status == 200 and body == data, 'GET returns the whole file')
    check(h.get('content-length') == str(size), 'Content-Length is the file size')
    check(h.get('last-modified') == email.utils.formatdate(mtime, usegmt=True),
          f'Last-Modified is the file\'s mtime: {h.get("last-modified")}')
    etag = h.get('etag', '')
    check(re.fullmatch(r'"[0-9a-f]+-[0-9a-f]+"', etag) is not None, f'an ETag is sent: {etag}')

    status, h, body = curl('-r', '100-199', path='/data.bin')
    check(status == 206 and body == data[100:200], 'a byte range returns 206 and those bytes')
    check(h.get('content-range') == f'bytes 100-199/{size}', 'Content-Range names the range')
    status, _, body = curl('-r', '-100', path='/data.bin')
    check(status == 206 and body == data[-100:], 'a suffix range returns the last bytes')
    status, _, body = curl('-r', f'{size - 10}-', path='/data.bin')
    check(status == 206 and body == data[-10:], 'an open range runs to the end')
    status, _, body = curl('-r', f'{size - 10}-{size + 100}', path='/data.bin')
    check(status == 206 and body == data[-10:], 'a range past the end is clamped')
    status, h, _ = curl('-r', f'{size}-{size + 10}', path='/data.bin')
    check(status == 416 and h.get('content-range') == f'bytes */{size}',
          'a range starting at the end is 416 with the size')

    status, h, body = curl('-I', path='/data.bin')  # -I writes the head as the output
    check(status == 200 and body.endswith(b'\r\n\r\n') and body.count(b'\r\n\r\n') == 1
          and h.get('content-length') == str(size)
          and h.get('etag') == etag, 'HEAD sends the headers of GET and no body')

    status, h, body = curl('-H', f'If-None-Match: {etag}', path='/data.bin')
    check(status == 304 and body == b'' and h.get('etag') == etag,
          'If-None-Match with the ETag gives 304 without a body')
    status, _, body = curl('-H', 'If-None-Match: "0-0", W/' + etag, path='/data.bin')
    check(status == 304, 'a weak ETag in a list matches too')
    status, _, body = curl('-H', 'If-None-Match: "other"', path='/data.bin')
    check(status == 200 and body == data, 'another ETag gives the file')

    status, _, body = curl(path='/empty.bin')
    check(status == 200 and body == b'', 'an empty file is served empty')
    status, _, body = curl(path='/sub/nested%20name.txt')
    check(status == 200 and body == file_bytes('sub/nested name.txt'),
          'a percent-encoded path is decoded')
    status, _, body = curl(path='/sub/')
    check(status == 200 and body == file_bytes('sub/index.html'),
          'a directory path serves its index.html')

    for path in ('/../outside/secret.txt', '/sub/../../outside/secret.txt',
                 '/%2e%2e/outside/secret.txt'):
        status, _, body = curl('--path-as-is', path=path)
        check(status == 403 and b'secret' not in body, f'{path} leaves the root: 403')
    status, _, body = curl(path='/escape.txt')
    check(status == 403 and b'secret' not in body, 'a symlink out of the root: 403')
    status, _, body = curl(path='/inside-link.txt')
    check(status == 200 and body == file_bytes('small.txt'), 'a symlink inside the root works')
    status, _, _ = curl(path='/missing.bin')
    check(status == 404, 'a missing file is 404')
    status, _, _ = curl(path='/sub')
    check(status == 404, 'a directory without a slash is 404')
    status, h, _ = curl('-X', 'POST', path='/data.bin')
    check(status == 405 and h.get('allow') == 'GET, HEAD', 'POST is 405 with Allow')
    status, _, _ = curl('-X', 'DELETE', path='/data.bin')
    check(status == 405, 'DELETE is 405')
    status, _, _ = curl('-H', 'X-Padding: ' + 'a' * 9000, path='/small.txt')
    check(status == 431, 'headers over 8 KiB are 431')
    print(f'ok curl: ranges, HEAD, ETag, 403/404/405/431 ({checks} checks)', flush=True)


# -- http.client --------------------------------------------------------------------------------

class SharedStream:
    """Lets several http.client responses read one after another from one buffered socket file
    (pipelining): each response's makefile() is this object, and closing it closes nothing."""

    def __init__(self, f):
        self.f = f

    def makefile(self, mode):
        return self

    def readline(self, n=-1):
        return self.f.readline(n)

    def read(self, n=-1):
        return self.f.read(n)

    def readinto(self, b):
        return self.f.readinto(b)

    def close(self):
        pass

    def flush(self):
        pass


def raw_exchange(payload, methods):
    """Sends payload at once on a fresh connection; parses len(methods) responses with
    http.client; returns [(status, headers, body)] and whether the server then closed."""
    with socket.create_connection(('127.0.0.1', PORT), timeout=10) as s:
        s.sendall(payload)
        f = s.makefile('rb')
        out = []
        for method in methods:
            r = http.client.HTTPResponse(SharedStream(f), method=method)
            r.begin()
            out.append((r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()))
        closed = f.read(1) == b''
    return out, closed


def client_checks():
    data, small = file_bytes('data.bin'), file_bytes('small.txt')
    conn = http.client.HTTPConnection('127.0.0.1', PORT, timeout=10)
    sock = None
    for i in range(30):
        name = random.choice(['data.bin', 'small.txt', 'sub/index.html'])
        conn.request('GET', '/' + name.replace(' ', '%20'))
        r = conn.getresponse()
        body = r.read()
        check(r.status == 200 and body == file_bytes(name) and not r.will_close,
              f'keep-alive request {i} for {name}')
        sock = sock or conn.sock
        check(conn.sock is sock, 'keep-alive requests share one connection')
    conn.request('HEAD', '/data.bin')
    r = conn.getresponse()
    check(r.read() == b'' and r.getheader('Content-Length') == str(len(data)),
          'HEAD on a kept-alive connection')
    conn.request('GET', '/small.txt', headers={'Connection': 'close'})
    r = conn.getresponse()
    check(r.read() == small and r.will_close, 'Connection: close is honoured')
    conn.close()
    print('ok http.client: keep-alive', flush=True)

    pipelined = (b'GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n'
                 b'HEAD /data.bin HTTP/1.1\r\nHost: x\r\n\r\n'
                 b'GET /missing HTTP/1.1\r\nHost: x\r\n\r\n'
                 b'GET /data.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=5-9\r\n\r\n'
                 b'GET /data.bin HTTP/1.1\r\nHost: x\r\n\r\n'
                 b'GET /small.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    out, closed = raw_exchange(pipelined, ['GET', 'HEAD', 'GET', 'GET', 'GET', 'GET'])
    check([o[0] for o in out] == [200, 200, 404, 206, 200, 200], f'pipelined statuses {out}')
    check(out[0][2] == small and out[1][2] == b'' and out[3][2] == data[5:10] and
          out[4][2] == data and out[5][2] == small, 'pipelined bodies in request order')
    check(closed, 'the connection closes after the request that asked for it')
    # Many small pipelined requests in one write: more than the input limit at once.
    many = b'GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n' * 400
    out, _ = raw_exchange(many + b'GET /small.txt HTTP/1.1\r\nConnection: close\r\n\r\n',
                          ['GET'] * 401)
    check(all(o[0] == 200 and o[2] == small for o in out), '401 pipelined requests answered')
    print('ok http.client: pipelining', flush=True)

    for payload, what in ((b'GARBAGE\r\n\r\n', 'a request line without target and version'),
                          (b'GET /small.txt HTTP/9.9\r\n\r\n', 'an unknown HTTP version'),
                          (b'GET small.txt HTTP/1.1\r\n\r\n', 'a target without a slash'),
                          (b'GET /small.txt HTTP/1.1\r\nNoColon\r\n\r\n', 'a header without colon'),
                          (b'GET /small.txt HTTP/1.1\r\nBad Name: x\r\n\r\n', 'a space in a name'),
                          (b'GET /%zz HTTP/1.1\r\n\r\n', 'a broken percent escape'),
                          (b'GET /a%00b HTTP/1.1\r\n\r\n', 'a NUL byte in the path'),
                          (b'GET /small.txt HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello',
                           'a GET with a body')):
        out, closed = raw_exchange(payload, ['GET'])
        check(out[0][0] == 400 and closed, f'{what} is 400 and closes: {out}')
    out, closed = raw_exchange(b'GET /' + b'a' * 9000 + b' HTTP/1.1\r\n\r\n', ['GET'])
    check(out[0][0] == 431 and closed, 'a request line over 8 KiB is 431')
    out, closed = raw_exchange(b'GET /small.txt HTTP/1.1\r\n' + b'X: y\r\n' * 2000, ['GET'])
    check(out[0][0] == 431 and closed, 'endless headers are 431 before they end')
    out, _ = raw_exchange(b'GET /small.txt HTTP/1.0\r\n\r\n', ['GET'])
    check(out[0][0] == 200 and out[0][2] == small, 'HTTP/1.0 is served (and closed)')
    print('ok http.client: malformed input', flush=True)


# -- load, slow and vanishing clients -----------------------------------------------------------

def concurrent_checks():
    names = ['data.bin', 'small.txt', 'sub/index.html'] + [f'many/f{i:03}.bin' for i in range(50)]
    expected = {n: file_bytes(n) for n in names}
    conns = [http.client.HTTPConnection('127.0.0.1', PORT, timeout=20) for _ in range(100)]
    for c in conns:
        c.connect()  # all 100 are open before any request
    errors = []
    start = threading.Barrier(100)

    def client(i, conn):
        rng = random.Random(i)
        try:
            start.wait()
            for _ in range(5):
                name = rng.choice(names)
                conn.request('GET', '/' + name)
                r = conn.getresponse()
                if r.status != 200 or r.read() != expected[name]:
                    errors.append(f'client {i}: {name}: {r.status}')
        except Exception as e:  # noqa: BLE001 - reported as a failed check below
            errors.append(f'client {i}: {e!r}')
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(i, c)) for i, c in enumerate(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check(not errors, f'100 concurrent connections, 5 requests each: {errors[:5]}')
    print('ok 100 concurrent connections', flush=True)


def proc_status(pid, key):
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1]) // 1024  # MiB
    return 0


def cpu_seconds(pid):
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rpartition(')')[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def fd_count(pid):
    return len(os.listdir(f'/proc/{pid}/fd'))


def socket_count(pid):
    """The listening socket and the connections."""
    fds = f'/proc/{pid}/fd'
    return sum(1 for fd in os.listdir(fds)
               if os.readlink(os.path.join(fds, fd)).startswith('socket:'))


def mapped_files(pid):
    """The files beneath the root that the process maps."""
    with open(f'/proc/{pid}/maps') as f:
        return {line.split(None, 5)[5].strip() for line in f
                if len(line.split(None, 5)) == 6 and line.split(None, 5)[5].startswith(ROOT + '/')}


def wait_for(condition, seconds):
    deadline = time.time() + seconds
    while not condition() and time.time() < deadline:
        time.sleep(0.05)
    return condition()


def slow_client_checks():
    pid = SERVER.pid
    big = os.path.join(ROOT, 'big.bin')
    size = os.path.getsize(big)
    # Once the earlier clients' files have left the cache (--cache-idle 0.5), nothing is open.
    check(wait_for(lambda: not mapped_files(pid), 3), 'the cache empties when nothing is asked')
    fds, baseline = fd_count(pid), proc_status(pid, 'RssAnon')

    # A reader that takes 128 KiB every 1/8 s (1 MiB/s) of a 1 GiB file: the server must not
    # buffer ahead of it.
    conn = http.client.HTTPConnection('127.0.0.1', PORT, timeout=10)
    conn.request('GET', '/big.bin')
    r = conn.getresponse()
    check(r.status == 200 and r.getheader('Content-Length') == str(size), 'big file headers')
    peak, got, deadline = 0, 0, time.time() + 4
    with open(big, 'rb') as f:
        while time.time() < deadline:
            chunk = r.read(128 * 1024)
            check(chunk == f.read(len(chunk)), f'slowly read bytes at {got} match the file')
            got += len(chunk)
            peak = max(peak, proc_status(pid, 'RssAnon'))
            time.sleep(0.125)
    check(got < 8 * MIB, f'the slow reader was slow ({got} bytes in 4 s)')
    during = fd_count(pid)
    # It vanishes mid-transfer: its descriptor and memory come back, and once nobody asked for
    # the file during --cache-idle it is no longer mapped.
    conn.close()
    check(wait_for(lambda: big not in mapped_files(pid), 3),
          'the big file is unmapped once nobody asked for it during --cache-idle')
    check(wait_for(lambda: fd_count(pid) == fds, 3),
          f'the descriptors are back to {fds} ({during} during the transfer, {fd_count(pid)} now)')
    after = proc_status(pid, 'RssAnon')
    print(f'   slow reader: {got // 1024} KiB of {size // MIB} MiB read in 4 s; server RssAnon '
          f'{baseline} MiB before, peak {peak} MiB, {after} MiB after it vanished', flush=True)
    if os.environ.get('ACTORIO_SANITIZED') == '1':
        print('   (the memory bounds are not checked under a sanitizer)', flush=True)
    else:
        check(peak - baseline < 64, 'the server buffers little ahead of a slow reader')
        check(after - baseline < 16, 'the vanished reader\'s memory comes back')

    # A client that stops reading, then vanishes mid-transfer: others are served meanwhile, and
    # nothing keeps working for it afterwards.
    stalled = socket.create_connection(('127.0.0.1', PORT))
    stalled.sendall(b'GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n')
    time.sleep(0.5)
    status, _, body = curl(path='/small.txt')
    check(status == 200 and body == file_bytes('small.txt'), 'served while a client stalls')
    stalled.close()
    time.sleep(0.3)
    before = cpu_seconds(pid)
    time.sleep(1.0)
    idle = cpu_seconds(pid) - before
    check(idle < 0.2,
          f'clients gone mid-transfer cost nothing afterwards ({idle:.2f} cpu-s in 1 s)')
    status, _, body = curl('-r', f'{size - MIB}-', path='/big.bin')
    with open(big, 'rb') as f:
        f.seek(size - MIB)
        check(status == 206 and body == f.read(), 'the big file\'s tail is right')
    print('ok slow, stalled and vanished clients', flush=True)


def cache_checks():
    """The server runs with --cache-valid 0.5: files changed on disk are served as they are now
    once that has passed."""
    def get(name):
        status, h, body = curl(path='/cache/' + name)
        return status, h.get('etag'), body

    def write(name, data):
        with open(os.path.join(ROOT, 'cache', name), 'wb') as f:
            f.write(data)

    for name in ('in-place.txt', 'renamed.txt', 'deleted.txt'):
        write(name, b'first version of ' + name.encode() + b'\n')
    old = {name: get(name) for name in ('in-place.txt', 'renamed.txt', 'deleted.txt')}
    check(all(o[0] == 200 and o[2].startswith(b'first') for o in old.values()),
          'the files are served before they change')
    # In place (same inode, longer), replaced by a rename, deleted.
    with open(os.path.join(ROOT, 'cache', 'in-place.txt'), 'r+b') as f:
        f.write(b'second version, written in place and longer\n')
    write('renamed.tmp', b'second version, renamed over the first\n')
    os.rename(os.path.join(ROOT, 'cache', 'renamed.tmp'), os.path.join(ROOT, 'cache', 'renamed.txt'))
    os.unlink(os.path.join(ROOT, 'cache', 'deleted.txt'))
    time.sleep(0.6)
    for name in ('in-place.txt', 'renamed.txt'):
        status, etag, body = get(name)
        check(status == 200 and body == file_bytes('cache/' + name) and etag != old[name][1],
              f'{name}: its new bytes and a new ETag after --cache-valid')
        status, _, body = curl('-H', f'If-None-Match: {old[name][1]}', path='/cache/' + name)
        check(status == 200 and body == file_bytes('cache/' + name),
              f'{name}: the old ETag no longer gives 304')
    check(get('deleted.txt')[0] == 404, 'a deleted file is 404 after --cache-valid')
    deleted = os.path.join(ROOT, 'cache', 'deleted.txt')
    check(wait_for(lambda: not any(p.startswith(deleted) for p in mapped_files(SERVER.pid)), 2),
          'a deleted file is no longer mapped')
    print('ok cache: files changed in place, renamed over and deleted are seen', flush=True)


def timeout_checks(root):
    """A second server with 1 s timeouts and at most 8 cached maps (valid for 30 s)."""
    global SERVER, PORT
    main_server, main_port = SERVER, PORT
    SERVER, PORT = start_server(root, '--idle-timeout', '1', '--send-timeout', '1',
                                '--cache-files', '8', '--cache-valid', '30')
    pid = SERVER.pid
    try:
        # At most 8 maps stay open however many files are asked for: the least recently used go.
        conn = http.client.HTTPConnection('127.0.0.1', PORT, timeout=10)
        for i in range(50):
            conn.request('GET', f'/many/f{i:03}.bin')
            r = conn.getresponse()
            check(r.status == 200 and r.read() == file_bytes(f'many/f{i:03}.bin'),
                  f'many/f{i:03}.bin is served')
        conn.close()
        # A map closed by the cache is unmapped by its actor a moment later (long under TSan).
        wait_for(lambda: len(mapped_files(pid)) <= 8, 5)
        mapped = mapped_files(pid)
        check(0 < len(mapped) <= 8 and os.path.join(ROOT, 'many', 'f049.bin') in mapped,
              f'with --cache-files 8, after 50 files, 8 at most are mapped: {sorted(mapped)}')

        # Only the listening socket once the connection above is gone.
        check(wait_for(lambda: socket_count(pid) == 1, 2), 'the server holds no connection')
        sockets = 1
        start = time.time()
        # Kept alive after a response, then silent.
        idle = socket.create_connection(('127.0.0.1', PORT), timeout=5)
        idle.sendall(b'GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n')
        f = idle.makefile('rb')
        r = http.client.HTTPResponse(SharedStream(f), method='GET')
        r.begin()
        check(r.read() == file_bytes('small.txt') and not r.will_close, 'kept alive')
        # A request line that never ends.
        partial = socket.create_connection(('127.0.0.1', PORT), timeout=5)
        partial.sendall(b'GET /small.txt HTTP/1.1\r\nHost:')
        # A client that asks for the big file and reads nothing (small buffers on its side).
        stuck = socket.socket()
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
        stuck.connect(('127.0.0.1', PORT))
        stuck.sendall(b'GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n')
        # A slower client that keeps taking bytes is not cut off.
        slow = http.client.HTTPConnection('127.0.0.1', PORT, timeout=10)
        slow.request('GET', '/big.bin')
        slow_response = slow.getresponse()
        check(wait_for(lambda: socket_count(pid) == sockets + 4, 1),
              f'four clients connected ({socket_count(pid) - sockets})')

        def closed_by_server(s):
            s.settimeout(5)
            try:
                while s.recv(65536):
                    pass
            except ConnectionResetError:
                pass
            return True

        slow_got, seen_at_half = 0, None
        with open(os.path.join(ROOT, 'big.bin'), 'rb') as big:
            while time.time() - start < 2.5:
                chunk = slow_response.read(512 * 1024)
                check(chunk == big.read(len(chunk)), 'the slow client gets the file\'s bytes')
                slow_got += len(chunk)
                if seen_at_half is None and 0.5 < time.time() - start < 0.8:
                    seen_at_half = socket_count(pid) - sockets
                time.sleep(0.1)
        if seen_at_half is None:  # this loop was too slow to look in time (a loaded machine)
            print('   (not checked: all four connected after 0.5 s)', flush=True)
        else:
            check(seen_at_half == 4, f'all four are served for 0.5 s ({seen_at_half} connections)')
        left = socket_count(pid) - sockets
        check(left == 1, f'after 2.5 s (1 s timeouts) only the slow client is left ({left})')
        check(f.read() == b'' and closed_by_server(partial) and closed_by_server(stuck),
              'the idle, the partial and the stuck connections were closed by the server')
        print(f'   timeouts: the slow client read {slow_got // MIB} MiB meanwhile', flush=True)
        for s in (idle, partial, stuck):
            s.close()
        slow.close()
        print('ok timeouts: idle, stalled request, stalled reader; LRU of 8 maps', flush=True)
        stop_checks(SERVER, signal.SIGTERM)
    finally:
        if SERVER.poll() is None:
            SERVER.kill()
        SERVER, PORT = main_server, main_port


def stop_checks(proc, sig):
    proc.send_signal(sig)
    try:
        out, _ = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        check(False, f'the server stops on {sig.name}')
    check(proc.returncode == 0, f'{sig.name} stops the server with exit code 0, not '
          f'{proc.returncode}')
    print(f'ok {sig.name}: clean exit', flush=True)


def make_tree(top):
    root = os.path.join(top, 'root')
    os.makedirs(os.path.join(root, 'sub'))
    os.makedirs(os.path.join(root, 'many'))
    os.makedirs(os.path.join(root, 'cache'))
    os.makedirs(os.path.join(top, 'outside'))
    rng = random.Random(21)
    with open(os.path.join(root, 'data.bin'), 'wb') as f:
        f.write(rng.randbytes(MIB + 123))
    with open(os.path.join(root, 'small.txt'), 'wb') as f:
        f.write(b'hello, world\n')
    open(os.path.join(root, 'empty.bin'), 'wb').close()
    with open(os.path.join(root, 'sub', 'index.html'), 'wb') as f:
        f.write(b'<p>index</p>\n')
    with open(os.path.join(root, 'sub', 'nested name.txt'), 'wb') as f:
        f.write(b'nested\n')
    for i in range(50):
        with open(os.path.join(root, 'many', f'f{i:03}.bin'), 'wb') as f:
            f.write(rng.randbytes(rng.randrange(1, 20000)))
    with open(os.path.join(top, 'outside', 'secret.txt'), 'wb') as f:
        f.write(b'secret\n')
    os.symlink('../outside/secret.txt', os.path.join(root, 'escape.txt'))
    os.symlink('small.txt', os.path.join(root, 'inside-link.txt'))
    # 1 GiB, mostly a hole: random bytes where the slow readers read, and blocks to compare.
    with open(os.path.join(root, 'big.bin'), 'wb') as f:
        f.truncate(1024 * MIB)
        f.write(rng.randbytes(8 * MIB))
        for at in range(8 * MIB, 1024 * MIB, 64 * MIB):
            f.seek(at)
            f.write(rng.randbytes(64 * 1024))
        f.seek(1024 * MIB - 64 * 1024)
        f.write(rng.randbytes(64 * 1024))
    return root


def main():
    global SERVER, PORT, ROOT
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with tempfile.TemporaryDirectory(prefix='http_file_server_test.') as top:
        ROOT = make_tree(top)
        try:
            SERVER, PORT = start_server(ROOT, '--cache-valid', '0.5', '--cache-idle', '0.5')
            curl_checks()
            client_checks()
            concurrent_checks()
            slow_client_checks()
            cache_checks()
            timeout_checks(ROOT)
            stop_checks(SERVER, signal.SIGTERM)
            SERVER, PORT = start_server(ROOT)
            status, _, _ = curl(path='/small.txt')
            check(status == 200, 'a second server serves')
            stop_checks(SERVER, signal.SIGINT)
        finally:
            if SERVER and SERVER.poll() is None:
                SERVER.kill()
    print(f'all checks passed ({checks})')


if __name__ == '__main__':
    main()
