"""Distributed data parallel for `quill train` under torchrun: process group, device, and rank-0 decisions.

torchrun sets RANK, LOCAL_RANK and WORLD_SIZE; without them training runs in one process exactly as before.
Every rank steps in lockstep (DDP all-reduces gradients each step), so anything that decides *whether* to
step — the time limit, the schedule's progress — is decided on rank 0 and broadcast; a rank that stepped
once more than the others would wait forever in the all-reduce.
"""
from __future__ import annotations

import inspect
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Dist:
    """This process's place in the job: rank 0 of 1 when not launched by torchrun."""
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def init_distributed() -> Dist:
    """Join torchrun's process group (nccl on CUDA, gloo on CPU); a single-process Dist otherwise."""
    if not launched_by_torchrun():
        return Dist()
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    if torch.cuda.is_available():
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        device, backend = torch.device("cpu"), "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, rank=rank, world_size=world)
    return Dist(rank=rank, local_rank=local_rank, world_size=world, device=device)


def wrap(model: torch.nn.Module, env: Dist) -> torch.nn.Module:
    """DistributedDataParallel around the model when distributed, the model itself otherwise.

    The RoPE tables are constant buffers, so DDP need not broadcast buffers before every forward.
    """
    if not env.enabled:
        return model
    from torch.nn.parallel import DistributedDataParallel
    ids = [env.device.index] if env.device.type == "cuda" else None
    newer = "forward_sync_buffers" in inspect.signature(DistributedDataParallel.__init__).parameters
    no_sync = {"forward_sync_buffers": False} if newer else {"broadcast_buffers": False}
    return DistributedDataParallel(model, device_ids=ids, **no_sync)


def from_main(values: list[float], env: Dist) -> list[float]:
    """Rank 0's values on every rank (a no-op in one process)."""
    if not env.enabled:
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=env.device)
    dist.broadcast(tensor, src=0)
    return tensor.tolist()


def sum_over_ranks(values: list[float], env: Dist) -> list[float]:
    """Element-wise sums over all ranks; every rank must call it at the same point."""
    if not env.enabled:
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=env.device)
    dist.all_reduce(tensor)
    return tensor.tolist()


def barrier(env: Dist) -> None:
    if env.enabled:
        dist.barrier()


def shutdown(env: Dist) -> None:
    """Leave the process group after every rank has arrived (rank 0 may still be writing files)."""
    if dist.is_available() and dist.is_initialized():
        if env.enabled:
            dist.barrier()
        dist.destroy_process_group()
