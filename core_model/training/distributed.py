"""Process-group set-up for training under ``torchrun`` (DistributedDataParallel).

torchrun sets RANK, LOCAL_RANK and WORLD_SIZE; :func:`init_distributed` reads
them and joins the group with gloo on CPU or nccl on CUDA. Without torchrun
the run is one process of world size 1 and nothing is initialised.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistributedContext:
    """Position of this process in the run: its rank of world_size, on local_rank's device."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def current_context() -> DistributedContext:
    """Return the context of an initialised process group, or the single-process one."""
    if dist.is_available() and dist.is_initialized():
        return DistributedContext(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))
    return DistributedContext()


def init_distributed(device: str = "auto") -> DistributedContext:
    """Join the process group described by torchrun's environment, if any.

    ``device`` is the trainer's device setting: CUDA runs use nccl and bind
    each process to GPU LOCAL_RANK; CPU runs use gloo.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistributedContext()
    if dist.is_initialized():
        return current_context()
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    backend = "nccl" if use_cuda else "gloo"
    if use_cuda:
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend=backend)
    log.info("joined %s process group: rank %d of %d (local rank %d)", backend, rank, world_size, local_rank)
    return DistributedContext(rank, world_size, local_rank)


def shutdown_distributed() -> None:
    """Leave the process group when one was initialised."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
