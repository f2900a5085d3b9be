"""The Temporal workflow of a turn: one activity that runs the turn to its end, retried on another
worker when the one running it stops reporting (its death); the activity journals every step, so
a retry takes the turn over where it stood (see durable.py). When no attempt is left, a last
activity finishes the message as `error` (interrupted) with what was saved.

Deterministic: no clock, no I/O, no randomness; it imports nothing but temporalio."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

__all__ = ["FAIL_TURN", "RUN_TURN", "TurnInput", "TurnWorkflow"]

RUN_TURN = "cargohold.run_turn"
FAIL_TURN = "cargohold.fail_turn"


@dataclass
class TurnInput:
    message_uuid: str
    heartbeat_seconds: float
    max_attempts: int


@workflow.defn(name="cargohold.turn")
class TurnWorkflow:
    @workflow.run
    async def run(self, turn: TurnInput) -> str:
        try:
            return await workflow.execute_activity(
                RUN_TURN,
                turn.message_uuid,
                result_type=str,
                start_to_close_timeout=timedelta(hours=6),
                heartbeat_timeout=timedelta(seconds=turn.heartbeat_seconds),
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(milliseconds=100),
                    backoff_coefficient=2.0,
                    maximum_interval=timedelta(seconds=5),
                    maximum_attempts=turn.max_attempts,
                ),
            )
        except ActivityError:
            return await workflow.execute_activity(
                FAIL_TURN,
                turn.message_uuid,
                result_type=str,
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=10)),
            )
