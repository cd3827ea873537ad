"""``pnp deblur``: restore a blurred photo (or a simulated blur) by PnP with an averaged prior."""

from __future__ import annotations

import io
import math
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

if TYPE_CHECKING:
    import torch

from ..choices import Boundary, Precision, PriorBorder, PriorChoice, Start
from .app import app, reports_errors
from .common import load_model, output_path, read_input
from .outputs import Output, check_outputs

_GENERATED = ("motion", "gaussian", "box")
SIMULATED_NOISE = 0.01
ESTIMATED = "estimated (wavelet MAD, skimage.restoration.estimate_sigma)"


@app.command("deblur")
@reports_errors
def deblur_command(
    image: Optional[Path] = typer.Argument(None, help="Blurred photo (PNG, JPEG, TIFF; 8/16-bit; grey, RGB, RGBA)."),
    kernel: str = typer.Option("motion", help="motion, levin1..levin8, gaussian:SIGMA, box:N, or a kernel file."),
    kernel_size: int = typer.Option(31, help="Size of a generated motion kernel."),
    seed: int = typer.Option(0, help="Seed of the motion kernel and of simulated noise."),
    simulate: bool = typer.Option(False, help="IMAGE is sharp: blur it, add noise, restore, report PSNR/SSIM."),
    example: bool = typer.Option(False, help="Run --simulate on a built-in image (no file needed)."),
    noise_level: Optional[float] = typer.Option(None, help="Noise standard deviation on the [0, 1] scale (2.55/255 = 0.01): of the photo (default: estimated from it), or added with --simulate (default 0.01)."),
    model: str = typer.Option("euler", help="Prior: euler or dncnn (the shipped weights trained nearest --noise-level), tv, or a checkpoint path."),
    iters: int = typer.Option(500, help="Iteration budget."),
    tol: float = typer.Option(1e-5, help="Stop when the relative residual falls below this. With --boundary reflect and an asymmetric kernel the iterates near the image border approach the fixed point slowly: 1e-5 can stop a few tenths of a dB from it."),
    step: Optional[float] = typer.Option(None, help="Gradient step (default 1/||A||^2; must be < 2/||A||^2)."),
    strength: float = typer.Option(1.0, help="Prior strength theta in (0, 1]: D = (1-theta) I + theta D."),
    boundary: Boundary = typer.Option(Boundary.REFLECT, help="Boundary of the blur model."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    precision: Precision = typer.Option(Precision.FP32, help="Denoiser arithmetic: fp32, tf32 (CUDA) or bf16 (autocast); iterates stay float32."),
    force: bool = typer.Option(False, help="Run even with a step outside the convergent range."),
    accelerate: bool = typer.Option(True, help="Safeguarded Anderson acceleration (same fixed point, fewer calls)."),
    start: Start = typer.Option(Start.TIKHONOV, help="Initial point: a Tikhonov deconvolution of the input, or the input."),
    prior_border: PriorBorder = typer.Option(PriorBorder.AUTO, help="What the prior sees past the image border: its zero padding, the image continued periodically (circular convolutions; same cost), or its mirror image (about 4x slower; no slower for a flip-equivariant prior). Periodic and mirror remove the border bias that can band the edges; all keep the certificate. auto: the mirror for a flip-equivariant prior, zeros for others."),
    prior_choice: PriorChoice = typer.Option(PriorChoice.NEAREST, help="Which of the family's shipped priors (--model euler or dncnn): the one trained nearest the noise level, or discrepancy: the strongest whose fit to the data stays within the noise (Morozov's principle; helps flat images such as sky, costs two or more solves)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output image (default IMAGE_deblurred.EXT)."),
    report: Optional[Path] = typer.Option(None, help="Folder for figure.png, convergence.png and result.json."),
    json_path: Optional[Path] = typer.Option(None, "--json", help="Write the machine-readable result here."),
) -> None:
    """Deblur IMAGE with a known or generated kernel.

    Example: pnp deblur --example --kernel motion --report out/
    """
    from ..device import resolve_device
    from ..io import write_image
    from ..operators import kernels
    from ..solvers import ProgressBar, Stopping
    from ..tasks import DeblurOptions, Trial, deblur, deblur_by_discrepancy, simulate_blur
    from ..tasks.prior_choice import family_from_nearest
    from ..tasks.deblur import prior_border_for, prior_noise_level
    from ..tasks.report import result_record, write_json

    data, input_name = read_input(image, example)
    simulate = simulate or example
    target = output_path(image, out, "deblurred", example_name="example_deblurred.png")
    generated = kernel.strip().lower().split(":")[0] in _GENERATED
    check_outputs(_inputs(image, kernel, model), _outputs(target, generated, json_path, report))
    if noise_level is not None and not (math.isfinite(noise_level) and 0 <= noise_level < 1):
        raise ValueError(f"--noise-level must lie in [0, 1): images are on a [0, 1] scale (2.55/255 = 0.01), "
                         f"got {noise_level}")
    blur_kernel = kernels.from_spec(kernel, size=kernel_size, seed=seed, max_size=max(data.image.shape[-2:]))
    noise_level, noise_source = _noise_level(noise_level, simulate, data.image)
    options = DeblurOptions(boundary=boundary, noise_level=noise_level, strength=strength, step=step,
                            stopping=Stopping(max_iter=iters, tol=tol), force=force,
                            accelerate=accelerate, start=start, precision=precision, prior_border=prior_border)
    where = resolve_device(device)
    by_discrepancy = _chooses_by_discrepancy(model, prior_choice, noise_level)
    sharp = data.image.to(where)
    observed = simulate_blur(sharp, blur_kernel, boundary=boundary, noise_level=noise_level, seed=seed) if simulate else sharp
    reference = sharp if simulate else None
    trials: list[Trial] = []
    if by_discrepancy:
        names, first = family_from_nearest(model, noise_level)
        priors = [(name, load_model(name, where)) for name in names]
        with ExitStack() as bars:
            restoration, chosen, trials = deblur_by_discrepancy(
                observed, blur_kernel, priors, options, first=first, reference=reference,
                callback_for=lambda name: bars.enter_context(ProgressBar(total=iters, description=f"deblur ({name})")))
        denoiser = dict(priors)[chosen]
    else:
        denoiser = load_model(model, where, prior_noise_level(noise_level))
        with ProgressBar(total=iters, description="deblur") as bar:
            restoration = deblur(observed, blur_kernel, denoiser, options, reference=reference, callback=bar)
    write_image(target, restoration.restored.cpu(), bit_depth=data.bit_depth, alpha=data.alpha)
    if generated:
        _save_kernel(blur_kernel, _kernel_stem(target))
    metrics = restoration.metrics()
    record = {
        "input": input_name, "output": str(target), "simulated": simulate, "noise_level": noise_level,
        "noise_level_source": noise_source,
        "kernel": {"spec": kernel, "size": list(blur_kernel.shape),
                   **({"seed": seed, "kernel_size": kernel_size} if kernel.strip().lower() == "motion" else {})},
        "model": model, "weights": _weights_name(denoiser), "strength": strength,
        "boundary": boundary.value, "accelerated": accelerate, "start": start.value, "prior_border": prior_border_for(denoiser, prior_border).value, "device": str(where), "precision": precision.value, **result_record(restoration.result),
        "seconds": restoration.seconds, **metrics,
        "prior_choice": prior_choice.value,
        **({"discrepancy_trials": [vars(trial) for trial in trials]} if trials else {}),
    }
    if json_path is not None:
        write_json(record, json_path)
    if report is not None:
        _write_report(report, restoration, simulate, sharp, record)
    estimated = f"; noise level {noise_level:.4f} estimated from the image (set it with --noise-level)" \
        if noise_source == ESTIMATED else ""
    chosen_by = (f"; prior {record['weights']} chosen by the discrepancy principle (fit/noise: "
                 + ", ".join(f"{trial.name} {trial.discrepancy_ratio:.3f}" for trial in trials if not trial.final)
                 + f"; {sum(trial.seconds for trial in trials):.1f} s and {sum(trial.iterations for trial in trials)} "
                 + f"iterations for all {len(trials)} solves"
                 + ("; the last continues the chosen prior's trial" if trials[-1].final else "") + ")") if trials else ""
    typer.echo(_summary(restoration, metrics, target) + estimated + chosen_by)


def _chooses_by_discrepancy(model: str, choice: PriorChoice, noise_level: float) -> bool:
    """Whether ``--prior-choice`` asks for the discrepancy search, refusing up front what it cannot do."""
    from ..denoisers import family

    if choice is PriorChoice.NEAREST:
        return False
    levels = len(family(model))
    if levels < 2:
        raise ValueError(f"--prior-choice discrepancy chooses among a family's shipped noise levels (--model euler "
                         f"or dncnn); {model!r} has {levels}: use --prior-choice nearest")
    if not noise_level > 0:
        raise ValueError("--prior-choice discrepancy compares the fit with the noise level, which is 0 here: "
                         "give --noise-level above 0 or use --prior-choice nearest")
    return True


def _weights_name(denoiser) -> str:
    """The file the prior was loaded from (or the built-in it is)."""
    from ..denoisers.cards import card_of

    card = card_of(denoiser)
    return card.path.name if card.path is not None else card.architecture


def _noise_level(given: float | None, simulate: bool, image: torch.Tensor) -> tuple[float, str]:
    """The noise level and where it comes from: the flag, the simulation default, or an estimate."""
    if given is not None:
        return given, "given (--noise-level)"
    if simulate:
        return SIMULATED_NOISE, "default of --simulate"
    from ..tasks.noise import estimate_noise_level

    return estimate_noise_level(image), ESTIMATED


def _kernel_stem(target: Path) -> Path:
    return target.with_name(f"{target.stem}_kernel")


def _inputs(image: Path | None, kernel: str, model: str) -> dict[str, Path | None]:
    """What the command reads: the image, a kernel file, a checkpoint file."""
    def existing(text: str) -> Path | None:
        path = Path(text.strip())
        return path if path.suffix and path.exists() else None
    return {"the input image": image, "the kernel file (--kernel)": existing(kernel),
            "the checkpoint (--model)": existing(model)}


def _outputs(target: Path, generated: bool, json_path: Path | None, report: Path | None) -> list[Output]:
    """Every file the command writes, with the option that names it."""
    outputs = [Output(target, "-o", image=True)]
    if generated:
        stem = _kernel_stem(target)
        outputs += [Output(stem.with_suffix(".npy"), "-o (its kernel sidecar)"),
                    Output(stem.with_suffix(".png"), "-o (its kernel sidecar)")]
    if json_path is not None:
        outputs.append(Output(json_path, "--json"))
    if report is not None:
        outputs += [Output(report / name, "--report") for name in ("figure.png", "convergence.png", "result.json")]
    return outputs


def _summary(restoration, metrics: dict, target: Path) -> str:
    quality = ""
    if metrics:
        quality = f"; PSNR {metrics['psnr_input']:.2f} -> {metrics['psnr_restored']:.2f} dB"
    return f"{restoration.result.summary()}; {restoration.seconds:.1f} s{quality}; wrote {target}"


def _save_kernel(kernel: torch.Tensor, stem: Path) -> None:
    import numpy as np
    from PIL import Image

    from ..io import atomic_write_bytes

    array = kernel.detach().cpu().numpy()
    buffer = io.BytesIO()
    np.save(buffer, array)
    atomic_write_bytes(stem.with_suffix(".npy"), buffer.getvalue())
    picture = io.BytesIO()
    Image.fromarray(np.round(array / array.max() * 255).astype(np.uint8)).save(picture, format="PNG")
    atomic_write_bytes(stem.with_suffix(".png"), picture.getvalue())


def _write_report(folder: Path, restoration, simulate: bool, sharp: torch.Tensor, record: dict) -> None:
    from ..tasks.report import write_convergence_plot, write_image_figure, write_json

    panels = {"sharp": sharp.cpu()} if simulate else {}
    panels.update({"blurred input": restoration.observed.cpu(), "restored": restoration.restored.cpu()})
    write_image_figure(panels, restoration.kernel, folder / "figure.png")
    write_convergence_plot(restoration.result, folder / "convergence.png")
    write_json({**record, "history": restoration.result.history.to_dict()}, folder / "result.json")
