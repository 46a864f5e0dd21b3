#!/usr/bin/env python3
"""The Python original's way of doing checksum / find / copy, as a bench/run peer.

Modelled on asyncutils.io 0.9.11's MemoryMappedIOManager (see
/work/shared/seed/asyncutils-behaviour.md), with only its outright bugs fixed so that it runs:
  * one asyncio task per file, gathered; every blocking call goes through
    loop.run_in_executor on one ThreadPoolExecutor() per manager (default size);
  * each file is opened with builtin open(path, 'r+b') and mapped whole with
    mmap(fileno, 0, access=ACCESS_WRITE);
  * checksum: hashlib.new(alg, await f.read(), usedforsecurity=False) in the executor, where
    f.read() is mmap[:] (a full copy of the file); the original applied .hexdigest() to the
    coroutine (fixed here);
  * find_in_files: search_nonoverlapping, an async generator calling the sync mmap.find on the
    loop thread; fixed: start/end passed positionally and the cursor moves past each hit;
  * copy_file: open(src) + create(dst) exclusive, then dst.write(await src.read()); write
    slice-assigns into the map and then flushes the whole map (mmap.flush, an msync), as the
    original's write always does; fixed: dst is created at the source's size (the original
    creates it empty and cannot map it).

  python_model.py checksum ALGORITHM FILE...   prints "HEX  PATH" per file
  python_model.py find PATTERN FILE...         prints "PATH:COUNT" per file
  python_model.py copy DST_DIR FILE...         copies each file into DST_DIR

Each ends with a JSON summary on stderr like actorio_bench's: {"op", "files", "seconds"}.
"""

import asyncio
import contextlib
import functools
import hashlib
import json
import mmap
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor


class File:
    """One open memory map (the original's File)."""

    def __init__(self, manager, file):
        self._mgr = manager
        self._f = file
        self._mmap = None

    async def setup(self):
        self._mmap = await self._mgr.run(mmap.mmap, self._f.fileno(), 0, access=mmap.ACCESS_WRITE)

    async def aclose(self):
        await asyncio.gather(self._mgr.run(self._mmap.close), self._mgr.run(self._f.close))

    async def read(self, offset=0, size=-1):
        end = None if size < 0 else offset + size
        return await self._mgr.run(self._mmap.__getitem__, slice(offset, end))

    def _write(self, data, offset):
        if offset + len(data) > len(self._mmap):
            self._mmap.resize(offset + len(data))
        self._mmap[offset:offset + len(data)] = data
        self._mmap.flush()

    async def write(self, data, offset=0):
        await self._mgr.run(self._write, data, offset)

    def find(self, sub, start=None, end=None):
        # The original passed start/end as keywords, which mmap.find refuses.
        return self._mmap.find(sub, *(a for a in (start, end) if a is not None))

    async def search_lazy_nonoverlapping(self, pattern, offset=0):
        while (offset := self.find(pattern, offset)) != -1:
            yield offset
            offset += len(pattern)  # the original never advanced

    async def search_nonoverlapping(self, pattern, offset=0, max_results=None):
        found = []
        async for p in self.search_lazy_nonoverlapping(pattern, offset):
            found.append(p)
            if max_results is not None and len(found) >= max_results:
                break
        return found


class MemoryMappedIOManager:
    def __init__(self):
        self._loop = asyncio.get_running_loop()
        self._executor = ThreadPoolExecutor()

    async def run(self, f, *args, **kwargs):
        return await self._loop.run_in_executor(self._executor,
                                                functools.partial(f, *args, **kwargs))

    @contextlib.asynccontextmanager
    async def _open(self, init_size, path, mode):
        file = await self.run(open, path, mode)
        try:
            if init_size > 0:
                await self.run(file.truncate, init_size)
            f = File(self, file)
            await f.setup()
            try:
                yield f
            finally:
                await f.aclose()
        finally:
            file.close()

    def open(self, path, init_size=0):
        return self._open(init_size, path, 'r+b')

    def create(self, path, init_size=0, *, exclusive=True):
        return self._open(init_size, path, 'x+b' if exclusive else 'w+b')

    async def checksum(self, path, alg):
        async with self.open(path) as f:
            data = await f.read()
            digest = await self.run(hashlib.new, alg, data, usedforsecurity=False)
            return digest.hexdigest()

    async def bulk_checksum(self, paths, alg):
        paths = list(paths)
        sums = await asyncio.gather(*(self.checksum(p, alg) for p in paths))
        return dict(zip(paths, sums))

    async def _find_one(self, pattern, path, start, max_per_file):
        async with self.open(path) as f:
            return await f.search_nonoverlapping(pattern, start, max_per_file)

    async def find_in_files(self, pattern, paths, max_per_file=None):
        found = await asyncio.gather(
            *(self._find_one(pattern, p, s, max_per_file) for p, s in paths.items()))
        return {p: hits for p, hits in zip(paths, found) if hits}

    async def copy_file(self, srcp, destp, *, flush=False):
        size = os.path.getsize(srcp)
        async with self.open(srcp) as src, self.create(destp, size) as dest:
            await dest.write(await src.read())
            if flush:
                await self.run(dest._mmap.flush)

    async def bulk_copy(self, pairs):
        await asyncio.gather(*(self.copy_file(s, d) for s, d in pairs))


async def main(argv):
    if len(argv) < 4 or argv[1] not in ('checksum', 'find', 'copy'):
        print(__doc__, file=sys.stderr)
        return 2
    op, arg, files = argv[1], argv[2], argv[3:]
    mgr = MemoryMappedIOManager()
    start = time.perf_counter()
    if op == 'checksum':
        sums = await mgr.bulk_checksum(files, arg)
        seconds = time.perf_counter() - start
        sys.stdout.writelines(f'{sums[f]}  {f}\n' for f in files)
    elif op == 'find':
        hits = await mgr.find_in_files(arg.encode(), {f: 0 for f in files})
        seconds = time.perf_counter() - start
        sys.stdout.writelines(f'{f}:{len(hits.get(f, ()))}\n' for f in files)
    else:
        await mgr.bulk_copy((f, os.path.join(arg, os.path.basename(f))) for f in files)
        seconds = time.perf_counter() - start
    print(json.dumps({'op': op, 'files': len(files), 'seconds': round(seconds, 6)}),
          file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(asyncio.run(main(sys.argv)))
