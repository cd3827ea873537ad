"""The training loop: MSE on noisy random patches, Adam with cosine decay, validation, checkpoints.

One step: draw ``batch_size`` clean patches and a noise level per patch, add fresh Gaussian noise,
minimise ``mean ||D(x + n) - x||^2`` by one Adam step. Euler nets keep their step rule
``h ||W||^2 <= 2(1 - delta)`` themselves: in training mode each block runs one warm-started power
iteration per forward pass, in float32 even under autocast (:func:`pnp.denoisers.spectral.power_iteration`). Every ``val_every`` steps the PSNR (peak 1) on
full-size validation images with fixed noise decides the best checkpoint; every
``checkpoint_every`` steps ``last.pt`` is rewritten atomically and a line is appended to
``log.jsonl``. ``resume=True`` continues from ``last.pt``; on the CPU the resumed run is
bit-identical to an uninterrupted one with the same seed.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from ..io import atomic_write_bytes
from ..metrics import psnr
from .checkpoint import CheckpointError, RunClaim, load_training_state, save_training_state
from .config import TrainConfig
from .data import ImageBank, PatchSampler, Splits
from .distributed import Processes, setup, teardown
from .models import ModelFamily, export_model, family_for
from .report import plot_curves

__all__ = ["TrainSummary", "export_best", "read_log", "train", "validate"]

StepHook = Callable[[int], None]


@dataclass(frozen=True)
class TrainSummary:
    """What a run produced: the best validation PSNR and where the exported model is."""

    steps: int
    best_val_psnr: float
    best_step: int
    seconds: float
    patches_per_second: float
    model_path: Path
    metadata: dict


def validate(model: torch.nn.Module, bank: ImageBank, sigma: float, device: torch.device) -> float:
    """Mean PSNR of ``model`` on every image of ``bank`` with fixed noise (seed = image index)."""
    was_training = model.training
    model.eval()
    scores = []
    with torch.no_grad():
        for index in range(len(bank)):
            clean = bank.image(index)
            noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(index))
            noisy = (clean + sigma * noise).to(device)
            scores.append(float(psnr(model(noisy, sigma).float().clamp(0, 1).cpu(), clean)[0]))
    model.train(was_training)
    return sum(scores) / len(scores)


class _Run:
    """The state of one training run (the loop body lives in :func:`train`)."""

    def __init__(self, config: TrainConfig, splits: Splits | None, out: Path, processes: Processes) -> None:
        """``splits=None`` builds a run without data, for exporting a stopped run."""
        self.config, self.out, self.processes = config, out, processes
        self.family: ModelFamily = family_for(config.model.name)
        torch.manual_seed(config.seed)
        self.model = self.family.build(config.model).to(processes.device)
        if config.init is not None and splits is not None:
            self._warm_start(config.init)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            self.optimizer, T_max=config.steps, eta_min=config.lr * config.final_lr_fraction
        )
        self.noise = torch.Generator().manual_seed(config.seed * 7919 + 1 + processes.rank)
        self.step, self.best_psnr, self.best_step, self.last_psnr = 0, -math.inf, 0, math.nan
        self.sampler = self.val_bank = None
        self.training_data = {"train_images": None, "val_images": config.val_images}
        if splits is not None:
            channels = config.model.in_channels
            train_bank = ImageBank(splits.train, channels=channels)
            self.sampler = PatchSampler(train_bank, patch=config.patch, seed=config.seed, rank=processes.rank)
            if processes.is_main:
                self.val_bank = ImageBank(splits.val[: config.val_images], channels=channels)
            val_count = len(self.val_bank) if self.val_bank is not None else len(splits.val[: config.val_images])
            self.training_data = {"train_images": len(train_bank), "val_images": val_count}

    def _warm_start(self, init: str) -> None:
        """Start from the weights of a shipped name or checkpoint (``pnp train --init``); the
        optimiser and schedule start afresh. The architecture must be the same."""
        from ..denoisers import load

        source = load(init)
        try:
            self.model.load_state_dict(source.state_dict())
        except RuntimeError:
            raise CheckpointError(
                f"--init {init}: its architecture ({source.metadata.get('config')}) differs from this run's "
                f"({self.config.model}); give the same --model/--channels/--blocks as its model card") from None

    @property
    def patches(self) -> PatchSampler:
        """The patch sampler (a run built without data, for export, has none)."""
        if self.sampler is None:
            raise RuntimeError("this run was built without training data (export only)")
        return self.sampler

    # -- checkpoints ------------------------------------------------------------------------
    def state(self) -> dict:
        return {
            "config": self.config.to_dict(), "step": self.step, "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
            "sampler": self.patches.state_dict(), "noise": self.noise.get_state(),
            "torch_rng": torch.get_rng_state(), "best_psnr": self.best_psnr, "best_step": self.best_step,
            "last_psnr": self.last_psnr, "training_data": self.training_data,
        }

    def restore(self, state: dict) -> None:
        if TrainConfig.from_dict(state["config"]) != self.config:  # older files lack newer default options
            raise CheckpointError(
                f"the checkpoint in {self.out} was written with different options; resume with the "
                "same options or start a new run in another --out folder"
            )
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.patches.load_state_dict(state["sampler"])
        self.noise.set_state(state["noise"])
        torch.set_rng_state(state["torch_rng"])
        self.step, self.best_psnr, self.best_step = state["step"], state["best_psnr"], state["best_step"]
        self.last_psnr = state["last_psnr"]

    # -- one step -------------------------------------------------------------------------
    def noisy_batch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        clean = self.patches(self.config.batch_size)
        sigma = self.config.noise.draw(clean.shape[0], self.noise)
        noisy = clean + sigma * torch.randn(clean.shape, generator=self.noise)
        device = self.processes.device
        pin = device.type == "cuda"
        move = (lambda t: t.pin_memory().to(device, non_blocking=True)) if pin else (lambda t: t.to(device))
        return move(noisy), move(clean), sigma

    def train_step(self, network: torch.nn.Module) -> float:
        noisy, clean, sigma = self.noisy_batch()
        amp = self.config.amp and self.processes.device.type == "cuda"
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
            estimate = network(noisy, sigma.to(noisy.device))
        loss = torch.nn.functional.mse_loss(estimate.float(), clean)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.scheduler.step()
        return float(loss.detach())


def _metadata(run: _Run, seconds: float, throughput: float) -> dict:
    config = run.config
    return {
        "architecture": asdict(config.model),
        "noise_level": config.noise.nominal,
        "noise_range": [config.noise.low, config.noise.high if config.noise.high is not None else config.noise.low],
        "training_data": {400: "BSDS500 train+test", None: "unknown"}.get(run.training_data["train_images"], "user folder"),
        **run.training_data,
        "steps": run.step, "best_step": run.best_step, "batch_size": config.batch_size, "patch": config.patch,
        "lr": config.lr, "seed": config.seed, "init": config.init,
        "device": str(run.processes.device) + (f" x{run.processes.world_size}" if run.processes.distributed else ""),
        "validation_psnr": run.best_psnr, "seconds": seconds, "patches_per_second": throughput,
    }


def train(
    config: TrainConfig,
    splits: Splits,
    out: Path,
    *,
    resume: bool = False,
    progress: bool = True,
    on_step: StepHook | None = None,
    max_seconds: float | None = None,
) -> TrainSummary:
    """Train a denoiser; writes ``last.pt``, ``best.pt``, ``log.jsonl``, ``curves.png`` and the
    exported ``model.pt`` (+ ``model.json`` metadata) into ``out``.

    ``on_step(step)`` is called after every step (tests use it to interrupt a run). With
    ``max_seconds`` (a wall-clock budget for this call, one process only) the run stops after the
    first step past the budget, validates, checkpoints and exports as at its end; ``resume=True``
    continues it towards ``config.steps`` (the learning-rate schedule is the one of the whole run).
    """
    out = Path(out)
    if max_seconds is not None and not max_seconds > 0:
        raise ValueError(f"the time budget must be positive, got {max_seconds} s")
    processes = setup(config.device)
    claim = RunClaim(out)
    state = None  # the checkpoint the main process read while holding the claim
    try:
        if max_seconds is not None and processes.distributed:
            raise ValueError("a time budget (--max-minutes) works with one process; drop it under torchrun")
        if processes.is_main:
            claim.acquire()  # before anything is read or written: a second run into `out` stops here
            if not resume and (out / "last.pt").exists():
                raise CheckpointError(f"{out} already holds a run; pass --resume to continue it or pick another --out")
            state = load_training_state(out / "last.pt") if resume else None
        run = _Run(config, splits, out, processes)
        if resume:
            run.restore(state if state is not None else load_training_state(out / "last.pt"))
        return _loop(run, on_step, progress, max_seconds)
    finally:
        claim.release()
        teardown(processes)


def _loop(run: _Run, on_step: StepHook | None, progress: bool, max_seconds: float | None = None) -> TrainSummary:
    config, processes = run.config, run.processes
    network = run.model
    if processes.distributed:
        ids = [processes.device.index] if processes.device.type == "cuda" else None
        network = DistributedDataParallel(run.model, device_ids=ids)
    if processes.device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    log = _Log(run.out / "log.jsonl", keep_through=run.step) if processes.is_main else None
    bar = tqdm(total=config.steps, initial=run.step, desc=f"train {config.model.name}",
               disable=not (progress and processes.is_main))
    losses, interval_start, started = [], time.perf_counter(), time.perf_counter()
    first_step = run.step
    deadline = started + max_seconds if max_seconds is not None else math.inf
    while run.step < config.steps:
        losses.append(run.train_step(network))
        run.step += 1
        final = run.step == config.steps or time.perf_counter() > deadline
        if processes.is_main and (run.step % config.val_every == 0 or final):
            assert run.val_bank is not None, "the main process validates"
            run.last_psnr = validate(run.model, run.val_bank, config.noise.nominal, processes.device)
            if run.last_psnr > run.best_psnr:
                run.best_psnr, run.best_step = run.last_psnr, run.step
                save_training_state({"model": run.model.state_dict(), "step": run.step}, run.out / "best.pt")
        bar.set_postfix(loss=f"{losses[-1]:.2e}", val_psnr=f"{run.last_psnr:.2f}", refresh=False)
        bar.update(1)
        if run.step % config.checkpoint_every == 0 or final:
            elapsed = time.perf_counter() - interval_start
            if log is not None:  # the main process; log first: a resumed run drops log lines past its checkpoint
                log.write(run, losses, len(losses) * config.batch_size * processes.world_size / elapsed, elapsed)
                save_training_state(run.state(), run.out / "last.pt", keep_previous=True)
            processes.barrier()
            losses, interval_start = [], time.perf_counter()
        if on_step is not None:
            on_step(run.step)
        if final:
            break
    bar.close()
    seconds = time.perf_counter() - started
    throughput = (run.step - first_step) * config.batch_size * processes.world_size / max(seconds, 1e-9)
    if processes.is_main:  # the card gives the whole run's time, over every --resume call
        seconds = training_seconds(read_log(run.out / "log.jsonl"), config)
    return _finish(run, seconds, throughput)


def _finish(run: _Run, seconds: float, throughput: float) -> TrainSummary:
    """Load the best weights, certify, export ``model.pt`` + ``model.json``, draw the curves."""
    metadata = _metadata(run, seconds, throughput)
    model_path = run.out / "model.pt"
    if run.processes.is_main:
        best = load_training_state(run.out / "best.pt")
        run.model.load_state_dict(best["model"])
        metadata = export_model(run.model, model_path, metadata)
        plot_curves(read_log(run.out / "log.jsonl"), run.out / "curves.png")
    run.processes.barrier()
    return TrainSummary(run.step, run.best_psnr, run.best_step, seconds, throughput, model_path, metadata)


def read_log(path: Path) -> list[dict]:
    """The entries of a ``log.jsonl``; a line cut short by a killed run is skipped."""
    entries = []
    for line in Path(path).read_text().splitlines():
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return entries


def training_seconds(entries: list[dict], config: TrainConfig) -> float:
    """Wall seconds of a run over every call that made it (resumed runs included), from its log:
    each line's ``seconds``, or for lines written before that field, the patches of a full
    checkpoint interval divided by the line's throughput."""
    total, previous_step = 0.0, 0
    for entry in entries:
        if entry.get("seconds") is not None:
            total += entry["seconds"]
        elif entry.get("patches_per_second"):
            total += (entry["step"] - previous_step) * config.batch_size / entry["patches_per_second"]
        previous_step = entry["step"]
    return total


def export_best(out: Path) -> TrainSummary:
    """Export the best checkpoint of a run in ``out`` that was stopped early (or finished).

    Reads ``last.pt`` (options, step, best score) and ``best.pt`` (weights), then writes
    ``model.pt`` + ``model.json`` and ``curves.png`` as a finished run would; the metadata says how
    many steps were actually done.
    """
    out = Path(out)
    state = load_training_state(out / "last.pt")
    config = TrainConfig.from_dict(state["config"])
    processes = Processes(rank=0, world_size=1, device=torch.device("cpu"))
    run = _Run(config, None, out, processes)
    run.step, run.best_psnr, run.best_step = state["step"], state["best_psnr"], state["best_step"]
    run.training_data = state.get("training_data", run.training_data)
    entries = read_log(out / "log.jsonl") if (out / "log.jsonl").exists() else []
    seconds = training_seconds(entries, config)
    throughput = run.step * config.batch_size / seconds if seconds else float("nan")
    return _finish(run, seconds, throughput)


class _Log:
    """``log.jsonl``: one JSON line per checkpoint interval; lines past a resumed step are dropped."""

    def __init__(self, path: Path, keep_through: int) -> None:
        self.path = path
        entries = read_log(path) if path.exists() else []
        kept = [json.dumps(entry) for entry in entries if entry["step"] <= keep_through]
        atomic_write_bytes(path, "".join(f"{line}\n" for line in kept).encode())

    def write(self, run: _Run, losses: list[float], throughput: float, seconds: float) -> None:
        """One line for the interval that ends at ``run.step``: ``seconds`` is its wall time."""
        entry = {
            "step": run.step, "loss": sum(losses) / len(losses), "lr": run.scheduler.get_last_lr()[0],
            "val_psnr": None if math.isnan(run.last_psnr) else run.last_psnr,
            "best_val_psnr": None if math.isinf(run.best_psnr) else run.best_psnr,
            "patches_per_second": throughput, "seconds": seconds,
        }
        entry.update(run.family.diagnostics(run.model))
        with self.path.open("a") as stream:
            stream.write(json.dumps(entry) + "\n")
