"""Render every (model, input) pair into a folder: in parallel, resumable, with a manifest.

Output names: ``out_dir/<model stem>/<input stem><input suffix>`` (or ``extension=``). Names are
compared case-insensitively (for case-insensitive filesystems); when two models, or two inputs'
output names, would collide, each of the colliding ones gets ``-<8 hex digits>`` appended to its
stem, a hash of its absolute path, so the name does not depend on the order the files were found.

Resuming: every finished pair is recorded at once in a journal next to the manifest (one JSON line
per pair), and the full manifest (JSON, and CSV beside it) is written at the end. A rerun with the
same options skips a pair whose output still has the size and modification time recorded for it;
everything else is rendered again. ``render_file`` writes through a temporary file and a rename,
so a killed batch leaves no partial output, and a rerun renders exactly the missing pairs, with
byte-identical results for the same inputs (temporary files left by a killed render are removed).
The manifest lists the pairs of the latest run. Two batches must not write to one folder at once.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import io
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from contextlib import closing
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from nam_rs import audio
from nam_rs._core import Model, _load

__all__ = ["AUDIO_SUFFIXES", "BatchReport", "PairResult", "find_files", "render_many"]

AUDIO_SUFFIXES = frozenset(
    {".wav", ".wave", ".flac", ".aif", ".aiff", ".aifc", ".ogg", ".oga", ".opus", ".mp3", ".caf", ".w64", ".rf64"}
)
"""Files that a directory given as ``inputs`` contributes (the formats libsndfile reads)."""

MANIFEST_VERSION = 1

# The keywords of render_file that a batch passes through (progress is per pair, so not one of them).
_RENDER_OPTIONS = frozenset(
    {"sample_rate", "resample", "normalize", "calibrate", "input_gain_db", "subtype", "mix", "block_frames"}
)

PathSpec = str | os.PathLike[str]


@dataclass(frozen=True)
class PairResult:
    """One row of the manifest: what happened to one (model, input) pair."""

    model: str
    """Absolute path of the .nam file."""
    input: str
    """Absolute path of the input audio file."""
    output: str
    """Output path relative to ``out_dir``."""
    status: Literal["rendered", "skipped", "failed"]
    """``rendered`` now, ``skipped`` (finished by an earlier run), or ``failed``."""
    peak: float | None = None
    """Largest absolute output sample (linear)."""
    rms: float | None = None
    """RMS of the output over all channels (linear)."""
    duration: float | None = None
    """Seconds of audio written."""
    clipped: int | None = None
    """Samples clipped to ±1 because the output format is integer PCM (see ``peak``)."""
    seconds: float | None = None
    """Wall time the render took (of the run that rendered it)."""
    size: int | None = None
    """Output size in bytes when it was written (with ``mtime_ns``, how a rerun knows it is intact)."""
    mtime_ns: int | None = None
    warnings: list[str] = field(default_factory=list)
    """Why a default was used: no sample rate in the model, no level metadata for a requested gain."""
    error: str | None = None
    """Error type and message of a failed pair."""

    def complete_on_disk(self, out_dir: Path) -> bool:
        """Rendered by a run and still exactly as that run left it."""
        if self.status == "failed" or self.size is None or self.mtime_ns is None:
            return False
        try:
            stat = (out_dir / self.output).stat()
        except OSError:
            return False
        return stat.st_size == self.size and stat.st_mtime_ns == self.mtime_ns


@dataclass(frozen=True)
class BatchReport:
    """What :func:`render_many` did; ``results`` are in (model, input) order."""

    out_dir: Path
    manifest_path: Path
    csv_path: Path
    results: tuple[PairResult, ...]
    seconds: float

    def _count(self, status: str) -> int:
        return sum(result.status == status for result in self.results)

    @property
    def rendered(self) -> int:
        return self._count("rendered")

    @property
    def skipped(self) -> int:
        return self._count("skipped")

    @property
    def failed(self) -> list[PairResult]:
        return [result for result in self.results if result.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        return (
            f"{len(self.results)} pairs: {self.rendered} rendered, {self.skipped} skipped, "
            f"{len(self.failed)} failed in {self.seconds:.1f} s; manifest {self.manifest_path}"
        )


@dataclass(frozen=True)
class _Task:
    model: str
    input: str
    output: str
    out_dir: str
    options: dict[str, Any]


def find_files(
    specs: PathSpec | Iterable[PathSpec], suffixes: Iterable[str], *, exclude: Path | None = None
) -> list[Path]:
    """Absolute paths named by ``specs``: files, directories (searched recursively for ``suffixes``,
    skipping hidden files) and glob patterns (``**`` recurses). Duplicates are dropped, order kept.

    Raises FileNotFoundError for a path that does not exist, or a directory or pattern with no match.
    """
    wanted = {suffix.lower() for suffix in suffixes}
    items = [specs] if isinstance(specs, str | os.PathLike) else list(specs)
    found: dict[Path, None] = {}
    for spec in items:
        text = os.fspath(spec)
        path = Path(text)
        if path.is_dir():
            matches = sorted(
                p for p in path.rglob("*") if p.suffix.lower() in wanted and not p.name.startswith(".") and p.is_file()
            )
            if not matches:
                raise FileNotFoundError(f"no {'/'.join(sorted(wanted))} files in {path}")
        elif any(char in text for char in "*?["):
            matches = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
            if not matches:
                raise FileNotFoundError(f"no files match {text!r}")
        elif path.is_file():
            matches = [path]
        else:
            raise FileNotFoundError(f"no such file, directory or pattern: {text}")
        for match in matches:
            resolved = match.resolve()
            if exclude is None or exclude not in resolved.parents:
                found.setdefault(resolved)
    return list(found)


def _tagged(stem: str, path: Path) -> str:
    return f"{stem}-{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"


def _unique_names(paths: list[Path], name: Callable[[Path], tuple[str, str]]) -> dict[Path, str]:
    """``stem + suffix`` per path (from ``name``), with colliding stems tagged by a hash of the path."""
    groups: dict[str, list[Path]] = {}
    for path in paths:
        groups.setdefault("".join(name(path)).casefold(), []).append(path)
    names: dict[Path, str] = {}
    for group in groups.values():
        for path in group:
            stem, suffix = name(path)
            names[path] = stem + suffix if len(group) == 1 else _tagged(stem, path) + suffix
    if len({n.casefold() for n in names.values()}) != len(names):  # a stem that looks like a tagged one
        raise ValueError("cannot give every output a distinct name: rename files whose stems end in -<8 hex digits>")
    return names


def _output_names(models: list[Path], inputs: list[Path], extension: str | None) -> dict[tuple[Path, Path], str]:
    model_dirs = _unique_names(models, lambda p: (p.stem, ""))
    files = _unique_names(inputs, lambda p: (p.stem, extension if extension is not None else p.suffix))
    return {(m, i): f"{model_dirs[m]}/{files[i]}" for m in models for i in inputs}


_MODEL_CACHE: dict[tuple[str, int, int], Model] = {}
_MODEL_CACHE_SIZE = 4


def _cached_model(path: str, size: int, mtime_ns: int) -> Model:
    """Workers reuse a model across the pairs that share it (keyed by file identity, so edits reload)."""
    key = (path, size, mtime_ns)
    model = _MODEL_CACHE.get(key)
    if model is None:
        if len(_MODEL_CACHE) >= _MODEL_CACHE_SIZE:
            _MODEL_CACHE.clear()
        model = _MODEL_CACHE[key] = _load(path)
    return model


def _explicit_options(model: Model, options: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Replace the defaults render_file would warn about by explicit values, and say so.

    Warnings are thread-global state in Python, so a worker thread cannot capture them safely;
    deciding here keeps each pair's warnings in its own manifest row.
    """
    options, notes = dict(options), []
    if options.get("sample_rate") is None and model.sample_rate is None:
        options["sample_rate"] = audio.ASSUMED_SAMPLE_RATE
        notes.append(f"the model does not state its sample rate: assumed {audio.ASSUMED_SAMPLE_RATE:g} Hz")
    if options.get("normalize") not in (None, False) and model.loudness is None:
        options["normalize"] = None
        notes.append("the model has no loudness in its metadata: not normalised")
    if options.get("calibrate") not in (None, False) and model.input_level_dbu is None:
        options["calibrate"] = False
        notes.append("the model has no input_level_dbu in its metadata: not calibrated")
    return options, notes


def _render_pair(task: _Task) -> PairResult:
    """Worker entry point (top level, so it pickles under ``spawn`` and on Dask)."""
    start = time.perf_counter()
    base = PairResult(task.model, task.input, task.output, "failed")
    try:
        stat = os.stat(task.model)
        model = _cached_model(task.model, stat.st_size, stat.st_mtime_ns)
        options, notes = _explicit_options(model, task.options)
        notes += [f"model: {message}" for message in model.warnings]
        output = Path(task.out_dir) / task.output
        output.parent.mkdir(parents=True, exist_ok=True)
        report = audio.render_file(model, task.input, output, progress=False, **options)
        done = output.stat()
    except Exception as exc:  # one bad pair must not stop the batch: it becomes a manifest row
        return PairResult(
            **{**asdict(base), "seconds": time.perf_counter() - start, "error": f"{type(exc).__name__}: {exc}"}
        )
    return PairResult(
        model=task.model,
        input=task.input,
        output=task.output,
        status="rendered",
        peak=report.peak,
        rms=report.rms,
        duration=report.frames / report.file_sample_rate,
        clipped=report.clipped,
        seconds=report.seconds,
        size=done.st_size,
        mtime_ns=done.st_mtime_ns,
        warnings=notes,
    )


def _result_from_json(record: dict[str, Any]) -> PairResult | None:
    try:
        return PairResult(**{f.name: record[f.name] for f in fields(PairResult) if f.name in record})
    except TypeError:
        return None


class _Journal:
    """Finished pairs from earlier runs (manifest, then journal lines) and the journal for this run."""

    def __init__(self, manifest_path: Path, options: dict[str, Any]):
        self.options = options
        self.path = manifest_path.with_name(f".{manifest_path.name}.journal")
        self.previous: dict[tuple[str, str, str], PairResult] = {}
        try:
            document = json.loads(manifest_path.read_text())
        except (OSError, ValueError):
            document = None
        if isinstance(document, dict) and document.get("options") == options:
            self._remember(document.get("pairs", []))
        try:
            lines = self.path.read_text().splitlines()
        except OSError:
            lines = []
        records = []
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:  # a line cut short by a kill
                continue
            if isinstance(record, dict) and record.get("options") == options:
                records.append(record)
        self._remember(records)
        self.file: io.TextIOWrapper | None = None

    def _remember(self, records: Iterable[Any]) -> None:
        for record in records:
            result = _result_from_json(record) if isinstance(record, dict) else None
            if result is not None:
                self.previous[(result.model, result.input, result.output)] = result

    def finished(self, task: _Task, out_dir: Path) -> PairResult | None:
        result = self.previous.get((task.model, task.input, task.output))
        return result if result is not None and result.complete_on_disk(out_dir) else None

    def record(self, result: PairResult) -> None:
        if self.file is None:
            self.file = open(self.path, "a+", encoding="utf-8")  # closed in close()
            if self.file.tell() > 0:  # a kill may have cut the last line short: start a fresh one
                self.file.write("\n")
        self.file.write(json.dumps({**asdict(result), "options": self.options}) + "\n")
        self.file.flush()

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None


def _progress_bar(enabled: bool | None, total: int) -> Any:
    from tqdm import tqdm  # type: ignore[import-untyped]

    if enabled is None:
        enabled = sys.stderr is not None and sys.stderr.isatty()
    return tqdm(total=total, desc="batch", unit="pair", disable=not enabled, file=sys.stderr)


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _write_manifest(path: Path, csv_path: Path, options: dict[str, Any], results: list[PairResult]) -> None:
    from nam_rs import __version__

    rows = [asdict(result) for result in results]
    document = {"version": MANIFEST_VERSION, "nam_rs": __version__, "options": options, "pairs": rows}
    _write_atomically(path, json.dumps(document, indent=1, allow_nan=True) + "\n")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[f.name for f in fields(PairResult)], lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "warnings": "; ".join(row["warnings"])})
    _write_atomically(csv_path, buffer.getvalue())


def _as_executor(executor: Any) -> Executor:
    """A ``concurrent.futures.Executor`` as is; a ``distributed.Client`` through its executor view."""
    if isinstance(executor, Executor):
        return executor
    if type(executor).__module__.split(".")[0] == "distributed" and hasattr(executor, "get_executor"):
        view: Executor = executor.get_executor(pure=False)
        return view
    raise TypeError(f"executor must be a concurrent.futures.Executor or a distributed.Client, not {type(executor)}")


def _run_tasks(tasks: list[_Task], executor: Executor | None, workers: int) -> Generator[PairResult, None, None]:
    """Results in completion order: inline for one worker, else on the given or a new process pool."""
    if not tasks:
        return
    if executor is None and workers == 1:
        for task in tasks:
            yield _render_pair(task)
        return
    own = executor is None
    spawn = multiprocessing.get_context("spawn")  # fork is unsafe once threads (tqdm, dask) run
    pool = ProcessPoolExecutor(workers, mp_context=spawn) if executor is None else executor
    futures: dict[Future[PairResult], _Task] = {pool.submit(_render_pair, task): task for task in tasks}
    try:
        for future in as_completed(futures):
            try:
                yield future.result()
            except Exception as exc:  # the worker itself died (e.g. a crashed process)
                task = futures[future]
                yield PairResult(task.model, task.input, task.output, "failed", error=f"{type(exc).__name__}: {exc}")
    finally:
        for future in futures:
            future.cancel()
        if own:
            pool.shutdown(wait=True, cancel_futures=True)


def render_many(
    models: PathSpec | Iterable[PathSpec],
    inputs: PathSpec | Iterable[PathSpec],
    out_dir: PathSpec,
    *,
    workers: int | None = None,
    overwrite: bool = False,
    manifest: str = "manifest.json",
    extension: str | None = None,
    progress: bool | None = None,
    executor: Any = None,
    **render_options: Any,
) -> BatchReport:
    """Render every input through every model into ``out_dir/<model stem>/<input name>``.

    Args:
        models: .nam files, directories (searched recursively) and glob patterns.
        inputs: audio files, directories (searched recursively for :data:`AUDIO_SUFFIXES`, skipping
            ``out_dir``) and glob patterns.
        out_dir: created if needed; see the module docstring for the names inside.
        workers: processes for a local pool (default ``os.cpu_count()``); 1 renders in this process.
        overwrite: render every pair again, even those a previous run finished.
        manifest: file name of the manifest inside ``out_dir`` (the CSV gets the same stem).
        extension: output suffix such as ``".wav"`` (default: the input's, so FLAC stays FLAC).
        progress: a tqdm bar over pairs on stderr; ``None`` shows it only on a terminal.
        executor: a ``concurrent.futures.Executor`` or a ``distributed.Client`` to run the pairs on
            instead of a new process pool (paths must be valid where the workers run).
        render_options: passed to :func:`nam_rs.render_file` for every pair (``normalize=``,
            ``calibrate=``, ``input_gain_db=``, ``sample_rate=``, ``resample=``, ``subtype=``,
            ``mix=``, ``block_frames=``); they must be JSON values, as they are recorded.

    A pair that fails (unreadable audio, unsupported model, …) is recorded with its error and the
    batch goes on. With the default process pool, call this under ``if __name__ == "__main__":``
    in scripts (worker processes are started with ``spawn``).
    """
    unknown = sorted(set(render_options) - _RENDER_OPTIONS)
    if unknown:
        raise TypeError(f"render_many() got unexpected keyword arguments: {', '.join(unknown)}")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    if workers is not None and executor is not None:
        raise ValueError("pass workers= or executor=, not both")
    if Path(manifest).name != manifest or not manifest.endswith(".json"):
        raise ValueError(f"manifest must be a file name ending in .json, not {manifest!r}")
    if extension is not None and not (extension.startswith(".") and len(extension) > 1 and "/" not in extension):
        raise ValueError(f"extension must look like '.wav', not {extension!r}")
    pool = None if executor is None else _as_executor(executor)
    start = time.perf_counter()
    out = Path(out_dir).resolve()
    model_paths = find_files(models, {".nam"}, exclude=out)
    input_paths = find_files(inputs, AUDIO_SUFFIXES, exclude=out)
    names = _output_names(model_paths, input_paths, extension)
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / manifest
    csv_path = manifest_path.with_suffix(".csv")
    options = {**dict(sorted(render_options.items())), "extension": extension}
    options_json: dict[str, Any] = json.loads(json.dumps(options))  # as it reads back from the manifest
    journal = _Journal(manifest_path, options_json)

    tasks = [_Task(str(m), str(i), names[(m, i)], str(out), render_options) for m in model_paths for i in input_paths]
    results: dict[tuple[str, str, str], PairResult] = {}
    todo = []
    for task in tasks:
        done = None if overwrite else journal.finished(task, out)
        if done is None:
            todo.append(task)
        else:
            results[(task.model, task.input, task.output)] = PairResult(**{**asdict(done), "status": "skipped"})
    for task in todo:  # temp files of renders killed before they could clean up (see render_file)
        output = out / task.output
        for stale in output.parent.glob(f".{glob.escape(output.name)}.*.part"):
            stale.unlink(missing_ok=True)
    bar = _progress_bar(progress, len(tasks))
    bar.update(len(results))
    try:
        count = min(workers or os.cpu_count() or 1, max(len(todo), 1))
        with closing(_run_tasks(todo, pool, count)) as running:  # closing: an interrupt shuts the pool down
            for result in running:
                journal.record(result)
                results[(result.model, result.input, result.output)] = result
                bar.update(1)
    finally:
        bar.close()
        journal.close()
    ordered = [results[(t.model, t.input, t.output)] for t in tasks]
    _write_manifest(manifest_path, csv_path, options_json, ordered)
    journal.path.unlink(missing_ok=True)
    return BatchReport(out, manifest_path, csv_path, tuple(ordered), time.perf_counter() - start)
