"""The seeded checkout service as a benchmark sees it: break its flag, watch its alarm and flag,
and mitigate by hand with plain boto3 (the baseline the flow is compared with).

The baseline makes the same AWS calls the incident flow needs before and for the mitigation
(confirm the metric, read every snapshot source, read the flag, write it), with none of
Prefect, the timeline, the policy or the evidence store around them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from drills import seed_names as n
from drills.sandbox import Sandbox
from tasks.aws import AwsTarget, clear_client_cache, client
from tasks.catalog import Catalog, MetricSpec
from tasks.metrics import alarm_states, latest_value
from tasks.snapshot import take_snapshot


class WaitTimeout(TimeoutError):
    """A condition the benchmark waits for did not come true in time."""


def wait_until(condition: Callable[[], bool], *, timeout: float, poll: float, what: str) -> datetime:
    """Poll ``condition`` until true; the moment it was seen true. Raises WaitTimeout."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise WaitTimeout(f"{what}: not seen within {timeout}s")
        time.sleep(poll)
    return datetime.now(UTC)


@dataclass(frozen=True)
class Checkout:
    """checkout/prod in ``sandbox``: the flag the bad-flag fault flips and the alarm it trips."""

    sandbox: Sandbox
    catalog: Catalog
    region: str = n.PRIMARY_REGION
    flag: str = n.FLAG_NEW_PRICING

    @property
    def parameter(self) -> str:
        store = self.catalog.entry(n.SERVICE, n.ENVIRONMENT).flags
        assert store is not None, "seed_checkout always catalogues flags"
        return store.flags[self.flag]

    @property
    def metric(self) -> MetricSpec:
        return self.catalog.entry(n.SERVICE, n.ENVIRONMENT).region(self.region).metrics[0]

    def aws(self) -> AwsTarget:
        return self.sandbox.target(self.region)

    def flag_value(self) -> str:
        return str(client("ssm", self.aws()).get_parameter(Name=self.parameter)["Parameter"]["Value"])

    def alarm_firing(self) -> bool:
        names = self.catalog.entry(n.SERVICE, n.ENVIRONMENT).region(self.region).alarms
        return "ALARM" in alarm_states(names, aws=self.aws()).values()

    def wait_alarm(self, firing: bool, *, timeout: float = 30) -> datetime:
        """The moment the alarm was seen firing (or cleared): the simulator sets it each tick."""
        state = "firing" if firing else "cleared"
        return wait_until(
            lambda: self.alarm_firing() is firing, timeout=timeout, poll=0.2, what=f"alarm {state}"
        )

    def wait_flag(self, value: str, *, timeout: float) -> datetime:
        """The moment the flag was seen holding ``value`` (polled every 50 ms)."""
        return wait_until(
            lambda: self.flag_value() == value, timeout=timeout, poll=0.05, what=f"flag {value}"
        )

    def baseline(self, onset: datetime, *, cold: bool) -> dict[str, float]:
        """Mitigate with plain boto3 calls; seconds per step and in total.

        ``cold`` first forgets the cached clients, as a fresh flow-run process starts without
        them (building ~20 clients is a real part of the in-flow time, not Prefect's).
        """
        if cold:
            clear_client_cache()
        aws = self.aws()
        ssm = client("ssm", aws)
        marks = [time.perf_counter()]
        latest_value(self.metric, aws=aws, window=timedelta(seconds=10))
        marks.append(time.perf_counter())
        take_snapshot(
            catalog=self.catalog, service=n.SERVICE, environment=n.ENVIRONMENT, onset=onset, aws=aws
        )
        marks.append(time.perf_counter())
        ssm.get_parameter(Name=self.parameter)
        marks.append(time.perf_counter())
        ssm.put_parameter(Name=self.parameter, Value="off", Type="String", Overwrite=True)
        marks.append(time.perf_counter())
        steps = ("confirm", "snapshot", "plan_read", "apply")
        figures = {step: marks[i + 1] - marks[i] for i, step in enumerate(steps)}
        return figures | {"total": marks[-1] - marks[0]}
