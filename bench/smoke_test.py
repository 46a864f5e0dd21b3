#!/usr/bin/env python3
"""ctest's bench_smoke_test: `bench/run --quick` in a fresh temp dir must produce well-formed
output (results.json parses, every case is there with a known status, results.svg is an SVG).
Timings are not checked: they are not a test.

  smoke_test.py --build BUILD_DIR
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = {'sha256_big', 'sha256_small', 'find_big', 'copy_big', 'xxh128_big', 'pipe',
         'facade_round_trip', 'python_small', 'python_big_sha256', 'python_big_find',
         'python_big_copy', 'md5_big', 'pipe_byte_latency',
         'manager_calls_1t', 'manager_calls_2t', 'manager_calls_8t', 'map_read_1t', 'map_read_2t',
         'map_read_8t', 'map_read_first', 'map_write', 'map_read_actor', 'bulk_read_100k',
         'manager_calls_8_vs_1', 'map_read_latency', 'http_small', 'http_range', 'http_whole',
         'find_tree', 'sum_tree', 'find_one_rg', 'find_big_rg', 'find_multi_rg', 'node_copy'}
STATUSES = {'pass', 'FAIL', 'skipped', 'info'}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', required=True)
    args = ap.parse_args()
    driver = os.path.join(args.build, 'bench', 'actorio_bench')
    has_pipe = 'pipe' in subprocess.run([driver, 'commands'], capture_output=True,
                                        text=True).stdout.split()
    with tempfile.TemporaryDirectory(prefix='actorio-bench-smoke-') as tmp:
        out = os.path.join(tmp, 'out')
        run = subprocess.run([sys.executable, os.path.join(HERE, 'run'), '--quick', '--repeat',
                              '1', '--dir', os.path.join(tmp, 'corpus'), '--out', out,
                              '--build', args.build], capture_output=True, text=True)
        print(run.stdout)
        print(run.stderr, file=sys.stderr)
        if run.returncode != 0:
            sys.exit(f'bench/run exited with {run.returncode}')
        with open(os.path.join(out, 'results.json')) as f:
            results = json.load(f)
        rows = {r['id']: r for r in results['cases']}
        if set(rows) != CASES:
            sys.exit(f'cases differ: missing {CASES - set(rows)}, unexpected {set(rows) - CASES}')
        for r in rows.values():
            if r['status'] not in STATUSES:
                sys.exit(f'{r["id"]}: unknown status {r["status"]!r}')
            if r['status'] in ('pass', 'FAIL') and not (r['attainment'] or 0) > 0:
                sys.exit(f'{r["id"]}: judged without a measurement')
            if r['id'] == 'pipe' and (r['status'] == 'skipped') == has_pipe:
                sys.exit(f'pipe: status {r["status"]!r} although the driver has '
                         f'{"a" if has_pipe else "no"} pipe command')
        if results['meta']['problems']:
            sys.exit(f'problems: {results["meta"]["problems"]}')
        svg = ET.parse(os.path.join(out, 'results.svg')).getroot()
        if svg.tag != '{http://www.w3.org/2000/svg}svg':
            sys.exit(f'results.svg is not an SVG: root {svg.tag}')
        for r in rows.values():
            if r['case'] not in run.stdout:
                sys.exit(f'the table lacks the row {r["case"]!r}')
    print('bench smoke test: outputs well formed')


if __name__ == '__main__':
    main()
