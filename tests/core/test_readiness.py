"""What runs next and how a run ends, decided from plain step statuses."""

from __future__ import annotations

from studio.core.readiness import decide
from studio.core.status import Status

NS, Q, R, C, F, X = (
    Status.NOT_STARTED,
    Status.QUEUED,
    Status.RUNNING,
    Status.COMPLETED,
    Status.FAILED,
    Status.CANCELED,
)

CHAIN = {"a": set(), "b": {"a"}, "c": {"b"}}
FAN_OUT = {"root": set(), "left": {"root"}, "right": {"root"}, "join": {"left", "right"}}
TWO_BRANCHES = {"a": set(), "a2": {"a"}, "b": set(), "b2": {"b"}}


def test_it_queues_only_the_first_step_of_a_chain():
    decision = decide(CHAIN, {"a": NS, "b": NS, "c": NS})
    assert decision.queue == ("a",)
    assert decision.cancel == {}
    assert decision.run_status is None


def test_it_queues_the_next_step_of_a_chain_once_its_upstream_completed():
    assert decide(CHAIN, {"a": C, "b": NS, "c": NS}).queue == ("b",)
    assert decide(CHAIN, {"a": R, "b": NS, "c": NS}).queue == ()
    assert decide(CHAIN, {"a": C, "b": C, "c": NS}).queue == ("c",)


def test_it_does_not_queue_a_step_twice():
    assert decide(CHAIN, {"a": Q, "b": NS, "c": NS}).queue == ()


def test_it_queues_every_branch_of_a_fan_out_together():
    decision = decide(FAN_OUT, {"root": C, "left": NS, "right": NS, "join": NS})
    assert decision.queue == ("left", "right")


def test_a_join_waits_for_all_its_upstream_steps():
    assert decide(FAN_OUT, {"root": C, "left": C, "right": R, "join": NS}).queue == ()
    assert decide(FAN_OUT, {"root": C, "left": C, "right": C, "join": NS}).queue == ("join",)


def test_it_follows_the_given_order():
    decision = decide(
        FAN_OUT,
        {"root": C, "left": NS, "right": NS, "join": NS},
        order=["join", "right", "left", "root"],
    )
    assert decision.queue == ("right", "left")


def test_a_failure_cancels_every_waiting_step_and_fails_the_run():
    statuses = {"a": F, "a2": NS, "b": Q, "b2": NS}
    decision = decide(TWO_BRANCHES, statuses)
    assert decision.cancel == {n: "Not run: step a failed" for n in ("a2", "b", "b2")}
    assert decision.queue == ()
    assert decision.run_status == Status.FAILED


def test_a_failure_leaves_a_running_step_alone_and_the_run_open():
    decision = decide(TWO_BRANCHES, {"a": F, "a2": NS, "b": R, "b2": NS})
    assert set(decision.cancel) == {"a2", "b2"}
    assert "b" not in decision.cancel
    assert decision.run_status is None


def test_continue_on_step_failure_cancels_only_the_downstream_steps():
    decision = decide(
        TWO_BRANCHES, {"a": F, "a2": NS, "b": C, "b2": NS}, continue_on_step_failure=True
    )
    assert decision.cancel == {"a2": "Not run: an upstream step did not complete"}
    assert decision.queue == ("b2",)
    assert decision.run_status is None


def test_continue_on_step_failure_cancels_the_whole_downstream_not_just_children():
    decision = decide(CHAIN, {"a": F, "b": NS, "c": NS}, continue_on_step_failure=True)
    assert set(decision.cancel) == {"b", "c"}
    assert decision.run_status == Status.FAILED


def test_continue_on_step_failure_ends_the_run_failed_once_the_rest_completed():
    decision = decide(
        TWO_BRANCHES, {"a": F, "a2": X, "b": C, "b2": C}, continue_on_step_failure=True
    )
    assert decision.cancel == {}
    assert decision.run_status == Status.FAILED


def test_a_cancel_request_cancels_waiting_steps_and_queues_nothing():
    decision = decide(
        FAN_OUT, {"root": C, "left": R, "right": NS, "join": NS}, cancel_requested=True
    )
    assert decision.cancel == {"right": "Canceled by request", "join": "Canceled by request"}
    assert decision.queue == ()
    assert decision.run_status is None


def test_a_cancel_request_ends_the_run_canceled_once_nothing_runs():
    decision = decide(
        FAN_OUT, {"root": C, "left": X, "right": Q, "join": NS}, cancel_requested=True
    )
    assert decision.run_status == Status.CANCELED


def test_a_canceled_step_blocks_its_downstream_steps():
    decision = decide(CHAIN, {"a": X, "b": NS, "c": NS})
    assert decision.cancel == {
        "b": "Not run: an upstream step was canceled",
        "c": "Not run: an upstream step was canceled",
    }
    assert decision.run_status == Status.CANCELED


def test_the_run_completes_when_every_step_completed():
    assert decide(CHAIN, {"a": C, "b": C, "c": C}).run_status == Status.COMPLETED


def test_a_failed_step_outranks_a_canceled_one_in_the_run_outcome():
    assert decide(TWO_BRANCHES, {"a": F, "a2": X, "b": X, "b2": X}).run_status == Status.FAILED


def test_the_run_stays_open_while_a_step_is_active():
    for active in (Status.PREPARING, R, Status.FINALIZING, Status.CANCEL_REQUESTED, Q):
        assert decide(CHAIN, {"a": C, "b": C, "c": active}).run_status is None


def test_it_accepts_status_strings_from_the_database():
    decision = decide(CHAIN, {"a": "Completed", "b": "NotStarted", "c": "NotStarted"})
    assert decision.queue == ("b",)
