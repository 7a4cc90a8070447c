"""The worker framework itself: newest-wins requests with partial results, the keyed work
queue, and stopping every job of a window (which then starts no new work)."""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject

from ganstyle_desktop.ui import jobs


def test_the_newest_request_wins_and_only_its_partials_arrive(qtbot) -> None:
    gate = threading.Event()

    def work(request, control, report):
        report(jobs.Partial(f"{request}-quick"))
        report(jobs.Progress(1, 2, "half"))
        if request == "first":
            gate.wait(10)  # still busy when the newer requests arrive
        control.raise_if_cancelled()
        return f"{request}-full"

    job = jobs.LatestRequestJob(work, name="test-latest")
    partials, progress, finished = [], [], []
    job.partial.connect(partials.append)
    job.progress.connect(progress.append)
    job.finished.connect(finished.append)
    job.request("first")
    qtbot.waitUntil(lambda: partials == ["first-quick"], timeout=10_000)
    job.request("second")  # cancels the first and waits
    job.request("third")  # replaces the second, which never runs
    gate.set()
    qtbot.waitUntil(lambda: bool(finished) and not job.is_running(), timeout=10_000)
    assert finished == ["third-full"]
    assert partials == ["first-quick", "third-quick"]  # the first's came before any newer
    assert progress[-1] == jobs.Progress(1, 2, "half")
    assert job.started_requests == 2


def test_a_failure_reaches_people_with_its_reason(qtbot) -> None:
    def work(_request, _control, _report):
        raise jobs.UserFacingError("photo.jpg: the file is empty")

    job = jobs.LatestRequestJob(work, name="test-failing")
    with qtbot.waitSignal(job.failed, timeout=10_000) as failed:
        job.request("x")
    assert failed.args == ["photo.jpg: the file is empty"]


def test_the_work_queue_runs_newest_first_and_reports_each_item(qtbot) -> None:
    gate, a_started = threading.Event(), threading.Event()
    order: list[str] = []

    def make(key: str) -> str:
        if key == "a":
            a_started.set()
            gate.wait(10)  # the rest queue up meanwhile
        if key == "bad":
            raise ValueError("cannot")
        order.append(key)
        return key.upper()

    queue = jobs.WorkQueue(name="test-queue")
    ready, failed = {}, {}
    queue.item_ready.connect(lambda key, value: ready.__setitem__(key, value))
    queue.item_failed.connect(lambda key, reason: failed.__setitem__(key, reason))
    queue.submit("a", make, "a")
    assert a_started.wait(10)
    for key in ("b", "bad", "c", "d"):
        queue.submit(key, make, key)
    gate.set()
    with qtbot.waitSignal(queue.drained, timeout=10_000):
        pass
    assert order == ["a", "d", "c", "b"]  # newest first once the first is done
    assert ready == {"a": "A", "b": "B", "c": "C", "d": "D"}
    assert "unexpected" in failed["bad"] and "log" in failed["bad"]  # no raw text
    # more work after the thread ended starts a new one
    with qtbot.waitSignal(queue.drained, timeout=10_000):
        queue.submit("e", make, "e")
    assert ready["e"] == "E"


def test_stopping_a_window_s_jobs_leaves_others_alone_and_starts_nothing_new(qtbot) -> None:
    owner, other = QObject(), QObject()
    release = threading.Event()

    def slow(control):
        while not control.cancelled and not release.is_set():
            release.wait(0.01)
        control.raise_if_cancelled()
        return "done"

    mine = jobs.BackgroundTask(owner, "mine")
    theirs = jobs.BackgroundTask(other, "theirs")
    outcome = []
    mine.cancelled.connect(lambda: outcome.append("mine cancelled"))
    theirs.finished.connect(lambda r: outcome.append(f"theirs {r}"))
    mine.run(slow)
    theirs.run(slow)
    jobs.cancel_all(owner)
    assert jobs.wait_for_jobs_of(owner, 10_000)
    assert theirs.is_running() and jobs.live_jobs(owner) == []
    later = jobs.BackgroundTask(owner, "later")
    later.run(slow)  # the window is closing: nothing new starts
    assert not later.is_running()
    release.set()
    qtbot.waitUntil(lambda: not theirs.is_running(), timeout=10_000)
    assert outcome == ["mine cancelled", "theirs done"]
