"""Out-of-core training (issue #17): a table streamed through a float32 cache on disk.

The same seed gives the same network as in memory; the cache is removed (or kept when asked);
bad input at scale (a corrupt file in a Parquet folder, schema drift, a full disk) is a clear
error that leaves no partial file; a kill -9 mid-epoch resumes to the same weights.
"""

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_cli import assert_clean_error, glassnet

from glassnet.app.cache import CacheWriter, cache_path_for
from glassnet.app.options import JobOptions
from glassnet.app.run import run_training
from glassnet.pages import file_rows, mapping_of, row_blocks, take_rows
from glassnet.tabular import DataError


def _table(rows=1500, seed=0):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {"a": rng.normal(size=rows), "b": rng.exponential(size=rows), "c": rng.choice(list("xyz"), rows)}
    )
    frame.loc[rng.random(rows) < 0.05, "a"] = np.nan
    signal_ = frame["a"].fillna(0) + (frame["c"] == "x") + rng.normal(0, 0.5, rows)
    frame["label"] = np.where(signal_ > 0.5, "yes", "no")
    frame["amount"] = 2 * frame["a"].fillna(0) + frame["b"] + rng.normal(0, 0.3, rows)
    frame.loc[rng.random(rows) < 0.02, "label"] = None  # rows without a target are dropped on both paths
    return frame


def _run(path, target, mode, tmp_path, **told):
    told = {"folds": 1, "epochs": 6, "cache": str(tmp_path / f"{mode}.glassnet-cache.npy"), **told}
    told = {"baselines": False, **told}
    options = JobOptions(data=str(path), target=[target], verbose=0, importance=False, out_of_core=mode, **told)
    return run_training(options, log=lambda *a, **k: None)


@pytest.mark.parametrize(("suffix", "target", "ignore"), [(".csv", "label", "amount"), (".parquet", "amount", "label")])
def test_the_same_seed_trains_the_same_network_in_memory_and_out_of_core(tmp_path, suffix, target, ignore):
    path = tmp_path / f"table{suffix}"
    frame = _table()
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)
    kinds = {ignore: "ignore"}
    memory = _run(path, target, "off", tmp_path, columns=kinds)
    disk = _run(path, target, "on", tmp_path, columns=kinds)
    assert mapping_of(disk.prepared.x_train) is not None and mapping_of(memory.prepared.x_train) is None
    assert disk.prepared.preprocessing == memory.prepared.preprocessing
    ours, theirs = disk.network.state_dict(), memory.network.state_dict()
    assert all(np.array_equal(ours[name], theirs[name]) for name in theirs)
    assert disk.metrics == memory.metrics
    assert (
        disk.prepared.description["out_of_core"]["sample_rows"]
        == disk.prepared.description["train_rows"] + (disk.prepared.description["validation_rows"])
    )  # a small table is sampled whole
    assert not (tmp_path / "on.glassnet-cache.npy").exists()  # removed at the end


def test_written_numbers_are_read_alike_in_every_chunk_as_in_memory(tmp_path, monkeypatch):
    """A chunk decided alone whether its '$1,234.50' cells were numbers (80 % of its cells): in a chunk
    with more words they stayed text, and the cache held the training median for them."""
    import functools

    from glassnet.app import firstpass, outofcore
    from glassnet.io.tables import iter_table

    for module in (firstpass, outofcore):
        monkeypatch.setattr(module, "iter_table", functools.partial(iter_table, chunk_rows=100))
    frame = _table(rows=300)
    written = [f"${v * 1000:,.2f}" if v >= 0 else f"-${-v * 1000:,.2f}" for v in frame["amount"]]
    for row in range(200, 240):  # the last chunk: 40 words of 100 cells, the table: 40 of 300
        written[row] = "unknown"
    frame["amount"] = written
    frame.to_csv(tmp_path / "money.csv", index=False)
    memory = _run(tmp_path / "money.csv", "label", "off", tmp_path)
    disk = _run(tmp_path / "money.csv", "label", "on", tmp_path)
    assert "amount" in memory.prepared.preprocessing["numeric"]
    assert disk.prepared.preprocessing == memory.prepared.preprocessing
    ours, theirs = disk.network.state_dict(), memory.network.state_dict()
    assert all(np.array_equal(ours[name], theirs[name]) for name in theirs)
    said = disk.prepared.description["preprocessing"]
    assert any(line.startswith("column 'amount':") and "currency sign ($)" in line for line in said), said


def test_words_in_a_regression_target_are_missing_targets_out_of_core_as_in_memory(tmp_path):
    """In memory a target of numbers but for a few words is a regression's, the words missing targets;
    out of core the first chunk took it for a classification of as many classes as rows."""
    frame = _table(rows=400)
    frame["amount"] = frame["amount"].round(3).astype(object)
    frame.loc[[5, 77, 300], "amount"] = "unknown"
    frame.to_csv(tmp_path / "words.csv", index=False)
    kinds = {"label": "ignore"}
    memory = _run(tmp_path / "words.csv", "amount", "off", tmp_path, columns=kinds)
    disk = _run(tmp_path / "words.csv", "amount", "on", tmp_path, columns=kinds)
    assert memory.prepared.task == disk.prepared.task == "regression"
    assert disk.prepared.description["rows_dropped_missing_target"] == 3
    ours, theirs = disk.network.state_dict(), memory.network.state_dict()
    assert all(np.array_equal(ours[name], theirs[name]) for name in theirs)
    said = disk.prepared.description["preprocessing"]
    assert any("target 'amount' is numbers but for 3 cell(s) ('unknown')" in line for line in said), said


def test_a_separate_test_file_is_streamed_into_the_cache_with_the_same_result(tmp_path):
    frame = _table(1500)
    frame.iloc[:1100].to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[1100:].to_csv(tmp_path / "test.csv", index=False)
    told = {"columns": {"amount": "ignore"}, "test_data": str(tmp_path / "test.csv")}
    memory = _run(tmp_path / "train.csv", "label", "off", tmp_path, **told)
    disk = _run(tmp_path / "train.csv", "label", "on", tmp_path, **told)
    assert disk.prepared.description["estimate"] == "test file" and len(disk.prepared.x_test) < 400  # targets missing
    assert np.array_equal(np.asarray(disk.prepared.x_test), memory.prepared.x_test)
    assert np.array_equal(disk.prepared.y_test, memory.prepared.y_test) and disk.metrics == memory.metrics
    ours, theirs = disk.network.state_dict(), memory.network.state_dict()
    assert all(np.array_equal(ours[name], theirs[name]) for name in theirs)
    frame.iloc[1100:].assign(label="maybe").to_csv(tmp_path / "other.csv", index=False)
    with pytest.raises(DataError, match="classes not seen in training"):
        _run(tmp_path / "train.csv", "label", "on", tmp_path, test_data=str(tmp_path / "other.csv"))


def test_a_large_table_is_fitted_on_a_sample_and_the_cache_can_be_kept(tmp_path, monkeypatch):
    from glassnet.app import firstpass

    monkeypatch.setattr(firstpass, "SAMPLE_ROWS", 300)
    path = tmp_path / "table.parquet"
    _table(2000).to_parquet(path)
    told = {"columns": {"amount": "ignore"}, "keep_cache": True, "baselines": True, "baseline_budget": 0.5}
    result = _run(path, "label", "on", tmp_path, **told)
    description = result.prepared.description
    assert description["out_of_core"]["baseline_rows"] == [300, 300]  # the baselines' samples
    assert {"logistic regression", "gradient boosting"} <= set(result.metadata["baselines"])
    assert 200 < description["out_of_core"]["sample_rows"] < 300  # the sample's training rows
    assert "uniform sample of" in description["preprocessing"][0]
    kept = np.load(tmp_path / "on.glassnet-cache.npy")
    rows = description["train_rows"] + description["validation_rows"] + description["test_rows"]
    assert kept.shape == (rows, len(result.prepared.feature_names))
    assert np.array_equal(kept[: description["train_rows"]], np.asarray(result.prepared.x_train))


def test_file_mapped_rows_are_read_by_pread_and_in_order_passes_release_pages(tmp_path):
    path = tmp_path / "rows.npy"
    np.save(path, np.random.default_rng(0).normal(size=(5000, 7)).astype(np.float32))
    mapped = np.load(path, mmap_mode="r")
    whole = np.array(mapped)
    for view, part in ((mapped, whole), (mapped[1200:4000], whole[1200:4000])):
        indices = np.random.default_rng(1).permutation(len(part))[:300]
        assert file_rows(np.asarray(view)) is not None
        assert np.array_equal(take_rows(view, indices), part[indices])
    assert file_rows(whole) is None and mapping_of(whole) is None
    assert np.array_equal(np.concatenate([block for _, block in row_blocks(mapped, 999)]), whole)


def test_a_full_disk_is_an_error_before_any_row_is_written(tmp_path, monkeypatch):
    import shutil

    from glassnet.app import cache

    monkeypatch.setattr(cache.shutil, "disk_usage", lambda _: shutil._ntuple_diskusage(10**6, 10**6 - 10, 10))
    with pytest.raises(DataError, match="needs .* MB .* free"), CacheWriter(tmp_path / "c.npy", 1000, 10):
        pass
    monkeypatch.undo()

    def no_space(*_):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache.os, "posix_fallocate", no_space)
    with pytest.raises(DataError, match="No space left"), CacheWriter(tmp_path / "c.npy", 1000, 10):
        pass
    assert list(tmp_path.iterdir()) == []  # no partial file


def _parquet_folder(tmp_path, damage):
    folder = tmp_path / "parts"
    folder.mkdir()
    frame = _table(900).drop(columns="amount")
    for index in range(3):
        part = frame.iloc[index * 300 : (index + 1) * 300]
        if index == 1 and damage == "drift":
            part = part.assign(b=part["b"].astype(str))
        part.to_parquet(folder / f"part-{index}.parquet")
    if damage == "corrupt":  # cut short, as by an interrupted copy
        data = (folder / "part-1.parquet").read_bytes()
        (folder / "part-1.parquet").write_bytes(data[: len(data) // 2])
    return folder


@pytest.mark.parametrize(("damage", "message"), [("corrupt", "part-1.parquet"), ("drift", "part-1.parquet")])
def test_a_bad_file_in_a_parquet_folder_is_a_clear_error_that_leaves_nothing(tmp_path, damage, message):
    folder = _parquet_folder(tmp_path, damage)
    out = tmp_path / "out"
    completed = glassnet("train", folder, "--target", "label", "--out-of-core", "on", "--out", out, "--quiet")
    assert_clean_error(completed, 2, message)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["parts"]  # no output, no cache, no partial


#: The killed run's settings, as the command line gives them to the job.
TRAINING = {"epochs": 8, "batch_size": 16}


def test_sigkill_during_an_out_of_core_epoch_then_resume_gives_the_same_model(tmp_path):
    path = tmp_path / "table.csv"
    _table(2000).drop(columns="amount").to_csv(path, index=False)
    checkpoint, out = tmp_path / "run.ckpt", tmp_path / "out"
    command = ["train", str(path), "--target", "label", "--out-of-core", "on", "--folds", "1", "--epochs", "8",
               "--batch-size", "16", "--no-baselines", "--quiet", "--checkpoint", str(checkpoint), "--out", str(out)]  # fmt: skip
    process = subprocess.Popen([sys.executable, "-m", "glassnet", *command], stderr=subprocess.PIPE)
    while not checkpoint.exists():  # the first epoch is written ...
        assert process.poll() is None, process.communicate()
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)  # ... and the run killed in a later one
    process.communicate()
    assert process.returncode == -signal.SIGKILL
    cache = cache_path_for(out)
    assert cache.exists()  # the killed run's cache: replaced by the next run
    settings = {"columns": {}, "checkpoint": str(checkpoint), "resume": True, "cache": str(cache)}
    resumed = _run(path, "label", "on", tmp_path, **{**TRAINING, **settings}).network.state_dict()
    plain = _run(path, "label", "on", tmp_path, **TRAINING).network.state_dict()
    assert all(np.array_equal(resumed[name], plain[name]) for name in plain)
    assert not cache.exists() and not cache.with_name(f".{cache.name}.partial").exists()


def test_a_dask_cluster_runs_the_passes_by_path_with_the_same_result_and_reruns_a_dead_workers_task(
    tmp_path, dask_cluster
):
    import distributed

    from glassnet.training.executors import DaskExecutor

    folder = _parquet_folder(tmp_path, None)
    here = _run(folder, "label", "on", tmp_path, keep_cache=True)
    sequential = np.load(tmp_path / "on.glassnet-cache.npy")

    def dies_once(item, folder):  # task 1 kills its worker the first time it runs: Dask reruns it
        import os

        marker = Path(folder) / f"ran-{item}"
        if not marker.exists() and item == 1:
            marker.touch()
            os._exit(1)
        return item * 2

    there = _run(folder, "label", "on", tmp_path, keep_cache=True, executor=dask_cluster.scheduler_address,
                 cache=str(tmp_path / "dask.glassnet-cache.npy"))  # fmt: skip
    with distributed.Client(dask_cluster) as client:
        assert DaskExecutor(client).map(dies_once, [1, 2, 3], str(tmp_path)) == [2, 4, 6]
    assert np.array_equal(np.load(tmp_path / "dask.glassnet-cache.npy"), sequential)
    ours, theirs = there.network.state_dict(), here.network.state_dict()
    assert all(np.array_equal(ours[name], theirs[name]) for name in theirs)
    assert (tmp_path / "ran-1").exists()  # the first run of task 1 happened, and died


def test_the_partitioned_first_pass_samples_as_the_sequential_one(tmp_path, monkeypatch):
    """With a sample smaller than the table, a task per part (key bound included) keeps the same rows."""
    from glassnet.app import firstpass, partitions
    from glassnet.training.executors import SequentialExecutor

    monkeypatch.setattr(firstpass, "SAMPLE_ROWS", 120)
    folder = _parquet_folder(tmp_path, None)
    options = JobOptions(data=str(folder), target=["label"], seed=3)
    parts = partitions.parquet_parts(folder, rows=100)  # several parts a file: one row group each here
    by_parts = partitions.first_pass(options, SequentialExecutor(), parts).finish(str(folder))
    in_order = firstpass.first_pass(options).finish(str(folder))
    assert by_parts[1].index.tolist() == in_order[1].index.tolist() and len(in_order[1]) == 120
    assert by_parts[1].equals(in_order[1]) and np.array_equal(by_parts[0].result()[1], in_order[0].result()[1])


def test_a_glob_of_parquet_files_is_one_table(tmp_path):
    from glassnet.io.tables import parquet_files, read_table

    folder = _parquet_folder(tmp_path, None)
    pattern = str(folder / "part-*.parquet")
    assert parquet_files(pattern) == parquet_files(folder) and len(parquet_files(pattern)) == 3
    assert read_table(pattern).equals(read_table(folder))
    with pytest.raises(DataError, match="no file matches"):
        read_table(str(folder / "nothing-*.parquet"))


def test_scheduler_and_out_of_core_mistakes_are_usage_errors(tmp_path):
    path = tmp_path / "table.csv"
    _table(50).to_csv(path, index=False)
    out = ["--out", tmp_path / "out"]
    assert_clean_error(glassnet("train", path, "--target", "label", "--scheduler", "localhost", *out), 2, "tcp://")
    both = glassnet("train", path, "--target", "label", "--scheduler", "tcp://h:1", "--executor", "joblib", *out)
    assert_clean_error(both, 2, "--executor 'joblib'")
    np.savez(tmp_path / "arrays.npz", x=np.zeros((20, 2)), y=np.zeros(20))
    arrays = glassnet("train", tmp_path / "arrays.npz", "--target", "y", "--out-of-core", "on", *out)
    assert_clean_error(arrays, 2, "needs a CSV or Parquet table")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["arrays.npz", "table.csv"]


def test_a_users_file_under_the_caches_name_is_refused_and_kept(tmp_path):
    path = tmp_path / "table.csv"
    _table(60).to_csv(path, index=False)
    foreign = cache_path_for(tmp_path / "out")
    foreign.write_text("a user's file")
    command = ["train", path, "--target", "label", "--out-of-core", "on", "--out", tmp_path / "out", "--quiet"]
    assert_clean_error(glassnet(*command, "--overwrite"), 2, "was not written by glassnet")
    assert foreign.read_text() == "a user's file" and not (tmp_path / "out").exists()
