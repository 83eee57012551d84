"""Reading a recorded run back: typed records (`records`), the `RecordedRun` read model with one
`Level` view per entity level, the top level being level 0 (`run`), the values (`values`), the
lower levels' members (`levels`), the recorded facts (`facts`) and lookups (`find`)."""

from audit.read.records import (
    EntityRef,
    LevelInfo,
    NodeInfo,
    RecordedBranch,
    RecordedComponent,
    RecordedRank,
    RecordedStatistic,
    RunInfo,
    TierStep,
    decode_value,
)
from audit.read.run import Level, RecordedRun, recorded_run

__all__ = [
    "EntityRef",
    "Level",
    "LevelInfo",
    "NodeInfo",
    "RecordedBranch",
    "RecordedComponent",
    "RecordedRank",
    "RecordedRun",
    "RecordedStatistic",
    "RunInfo",
    "TierStep",
    "decode_value",
    "recorded_run",
]
