"""Convolution (blur) operator as a deepinv ``LinearPhysics``.

``A x = k * x`` applied to every channel of a batch ``x`` of shape (B, C, H, W), with two
boundary conditions:

- ``Boundary.CIRCULAR``: periodic extension. Diagonalised by the 2-D DFT,
  ``A = F^* diag(k_hat) F``, so ``A^T = F^* diag(conj(k_hat)) F``, ``||A||^2 = max |k_hat|^2``
  (= 1 for a non-negative kernel summing to 1) and the prox of the data term
  ``(gamma/2)||Ax - y||^2`` is closed-form: ``x_hat = (z_hat + gamma conj(k_hat) y_hat) / (1 + gamma |k_hat|^2)``.
- ``Boundary.REFLECT``: mirror extension without repeating the edge pixel (numpy's
  ``reflect``), for real photographs where periodic wrap-around rings. ``A = S C P`` with ``P`` the
  reflect padding by the kernel's half-size, ``C`` a circular convolution on the padded grid and
  ``S`` the crop; on the padded grid the circular convolution never wraps, so this is exactly
  the linear convolution of the reflected image. ``A^T = P^T C^T S^T`` is implemented exactly,
  ``P^T`` folding the mirrored border back onto the pixels it copies. ``||A||^2`` is estimated by
  the Lanczos method (see :meth:`Blur.compute_sqnorm`). The padded grid is further zero-extended
  at the bottom and right to a size whose FFT is fast (``scipy.fft.next_fast_len``: 2-3-5-7
  factors); the cropped output only reads pixels of the reflected image, so ``A`` is unchanged.

``A_adjoint_A`` (used for the gradient ``A^T A x - A^T y``) is one FFT pair with ``|k_hat|^2`` for
circular blur, and ``A^T(A x)`` for reflect.
"""

from __future__ import annotations

import enum

import torch
from deepinv.physics import LinearPhysics
from deepinv.physics.noise import NoiseModel, ZeroNoise
from scipy.fft import next_fast_len

from ..choices import Boundary
from .kernels import validate
from ..shapes import check_images

__all__ = ["Blur", "Boundary"]

_LANCZOS_BYTES = 1 << 29


class _Filter(enum.Enum):
    """Which filter a periodic convolution applies: ``k``, its adjoint (flip), or ``k^T k``."""

    FORWARD = "forward"
    ADJOINT = "adjoint"
    NORMAL = "normal"


def _kernel_spectrum(kernel: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """rfft2 of ``kernel`` embedded in an (height, width) grid with its centre at the origin."""
    kh, kw = kernel.shape
    grid = kernel.new_zeros(height, width)
    grid[:kh, :kw] = kernel
    grid = torch.roll(grid, shifts=(-(kh // 2), -(kw // 2)), dims=(0, 1))
    return torch.fft.rfft2(grid)


def _reflect_pad_adjoint(z: torch.Tensor, pad_h: int, pad_w: int) -> torch.Tensor:
    """Adjoint of ``F.pad(x, (pad_w, pad_w, pad_h, pad_h), mode="reflect")``.

    A padded pixel at index ``i < p`` copies ``x[p - i]``; one at ``n + p + j`` copies
    ``x[n - 2 - j]``. The adjoint keeps the centre and adds each mirrored strip, flipped, onto
    the pixels it was copied from.
    """
    for dim, pad in ((-2, pad_h), (-1, pad_w)):
        if pad == 0:
            continue
        n = z.shape[dim] - 2 * pad
        centre = z.narrow(dim, pad, n).clone()
        left = z.narrow(dim, 0, pad).flip(dim)
        right = z.narrow(dim, pad + n, pad).flip(dim)
        centre.narrow(dim, 1, pad).add_(left)
        centre.narrow(dim, n - 1 - pad, pad).add_(right)
        z = centre
    return z


class Blur(LinearPhysics):
    """Convolution with a fixed non-negative kernel, applied channel by channel.

    Args:
        kernel: 2-D kernel (kh, kw); validated and normalised by :func:`pnp.operators.kernels.validate`.
        boundary: ``Boundary.CIRCULAR`` (default; exact FFT prox) or ``Boundary.REFLECT``.
        noise_model: deepinv noise model used by ``physics(x)``; noiseless by default.

    Shapes: ``A`` maps (B, C, H, W) to (B, C, H, W); dtype and device follow the input. The kernel
    must fit in the image (``kh <= H``, ``kw <= W``; for reflect, strictly smaller than twice
    the image).
    """

    def __init__(
        self,
        kernel: torch.Tensor,
        *,
        boundary: Boundary | str = Boundary.CIRCULAR,
        noise_model: NoiseModel | None = None,
    ) -> None:
        super().__init__(noise_model=noise_model if noise_model is not None else ZeroNoise())
        self.boundary = Boundary(boundary)
        self.register_buffer("kernel", validate(kernel))
        self._spectra: dict[tuple, torch.Tensor] = {}  # rfft2 of the kernel per (H, W, device, dtype)
        self._sqnorms: dict[tuple[int, int], float] = {}  # reflect ||A||^2 per (H, W)

    # -- helpers -----------------------------------------------------------------------------
    def _check_image(self, x: torch.Tensor, argument: str) -> None:
        check_images(x, argument, floating=False)
        kh, kw = self.kernel.shape
        height, width = x.shape[-2:]
        if kh > height or kw > width:
            raise ValueError(
                f"kernel of size {kh}x{kw} is larger than the image {height}x{width} "
                f"({argument}); use a smaller kernel or a larger image"
            )

    def _spectrum(self, height: int, width: int, like: torch.Tensor, mode: _Filter = _Filter.FORWARD) -> torch.Tensor:
        """rfft2 of the kernel on an (height, width) grid, or of its adjoint / normal filter (cached)."""
        key = (height, width, like.device, like.dtype, mode)
        spectrum = self._spectra.get(key)
        if spectrum is None:
            if mode is _Filter.FORWARD:
                kernel = self.kernel.to(device=like.device, dtype=like.dtype)
                spectrum = _kernel_spectrum(kernel, height, width)
            else:
                forward = self._spectrum(height, width, like)
                spectrum = forward.conj() if mode is _Filter.ADJOINT else forward.abs().square()
            self._spectra[key] = spectrum
        return spectrum

    def _fft_convolve(self, x: torch.Tensor, mode: _Filter) -> torch.Tensor:
        """Periodic convolution on the grid of ``x`` itself (one rfft2/irfft2 pair)."""
        height, width = x.shape[-2:]
        spectrum = self._spectrum(height, width, x, mode)
        return torch.fft.irfft2(torch.fft.rfft2(x) * spectrum, s=(height, width))

    def _periodic_grid(self, height: int, width: int) -> tuple[int, int, int, int]:
        """``(pad_h, pad_w, grid_h, grid_w)`` for the circular boundary (see :meth:`_circular`)."""
        sizes = []
        for size, k in ((height, self.kernel.shape[0]), (width, self.kernel.shape[1])):
            fast = next_fast_len(size, real=True) == size
            pad = 0 if fast else k - 1
            sizes.append((pad, size if fast else next_fast_len(size + 2 * pad, real=True)))
        (pad_h, grid_h), (pad_w, grid_w) = sizes
        return pad_h, pad_w, grid_h, grid_w

    def _circular(self, x: torch.Tensor, mode: _Filter) -> torch.Tensor:
        """``k * x`` (periodic), its adjoint, or ``A^T A x`` (``mode``) in one FFT pair.

        Sides whose length has large prime factors (481 = 13 * 37, say) make the FFT several times
        slower, so such a side is wrapped around by ``r = k - 1`` pixels (periodic padding), zero-
        extended to a fast length and convolved there: every output pixel only reads offsets in
        ``[-r, r]`` (the support of the kernel, its flip and their correlation), all of which the
        wrapped border holds, so the cropped result is the periodic convolution on (H, W) exactly.
        """
        if x.numel() == 0:  # some FFT back-ends reject empty batches
            return x.clone()
        height, width = x.shape[-2:]
        pad_h, pad_w, grid_h, grid_w = self._periodic_grid(height, width)
        if (grid_h, grid_w) == (height, width):
            return self._fft_convolve(x, mode)
        padded = torch.nn.functional.pad(x, (pad_w, pad_w, pad_h, pad_h), mode="circular")  # a slow side: pad > 0
        padded = torch.nn.functional.pad(padded, (0, grid_w - padded.shape[-1], 0, grid_h - padded.shape[-2]))
        return self._fft_convolve(padded, mode)[..., pad_h : pad_h + height, pad_w : pad_w + width]

    @property
    def _half(self) -> tuple[int, int]:
        return self.kernel.shape[0] // 2, self.kernel.shape[1] // 2

    def _padded_grid(self, height: int, width: int) -> tuple[int, int]:
        """FFT grid of the reflect mode: at least the reflect-padded size, with fast FFT factors."""
        ph, pw = self._half
        return next_fast_len(height + 2 * ph, real=True), next_fast_len(width + 2 * pw, real=True)

    # -- LinearPhysics interface --------------------------------------------------------------
    def A(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        """Blur ``x`` (B, C, H, W) -> (B, C, H, W)."""
        self._check_image(x, "x")
        if self.boundary is Boundary.CIRCULAR:
            return self._circular(x, _Filter.FORWARD)
        ph, pw = self._half
        height, width = x.shape[-2:]
        grid_h, grid_w = self._padded_grid(height, width)
        padded = torch.nn.functional.pad(x, (pw, pw, ph, ph), mode="reflect")
        padded = torch.nn.functional.pad(padded, (0, grid_w - padded.shape[-1], 0, grid_h - padded.shape[-2]))
        blurred = self._fft_convolve(padded, _Filter.FORWARD)
        return blurred[..., ph : ph + height, pw : pw + width]

    def transfer_function(self, height: int, width: int) -> torch.Tensor:
        """The 2-D DFT ``V`` (complex, (height, width)) of the circular blur on that grid, read off
        its response to a unit impulse at the origin, so that ``A x = F⁻¹(V · F x)`` per channel
        with the operator's own centring. Circular boundary only (reflect is not diagonalised by F)."""
        if self.boundary is not Boundary.CIRCULAR:
            raise ValueError("the transfer function exists for circular blur only (Blur(..., boundary='circular'))")
        impulse = self.kernel.new_zeros(1, 1, height, width)
        impulse[..., 0, 0] = 1.0
        with torch.no_grad():
            return torch.fft.fft2(self.A(impulse)[0, 0])

    def A_adjoint(self, y: torch.Tensor, **kwargs) -> torch.Tensor:
        """Exact adjoint ``A^T y`` (B, C, H, W) -> (B, C, H, W)."""
        self._check_image(y, "y")
        if self.boundary is Boundary.CIRCULAR:
            return self._circular(y, _Filter.ADJOINT)
        ph, pw = self._half
        height, width = y.shape[-2:]
        grid_h, grid_w = self._padded_grid(height, width)
        embedded = torch.nn.functional.pad(y, (pw, grid_w - width - pw, ph, grid_h - height - ph))
        spread = self._fft_convolve(embedded, _Filter.ADJOINT)[..., : height + 2 * ph, : width + 2 * pw]
        return _reflect_pad_adjoint(spread, ph, pw)

    def A_adjoint_A(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        """``A^T A x`` (B, C, H, W) -> (B, C, H, W): one FFT pair for circular blur."""
        if self.boundary is Boundary.CIRCULAR:
            self._check_image(x, "x")
            return self._circular(x, _Filter.NORMAL)
        return self.A_adjoint(self.A(x))

    def compute_sqnorm(
        self,
        x0: torch.Tensor,
        *,
        max_iter: int = 1000,
        tol: float = 1e-10,
        verbose: bool = False,
        **kwargs,
    ) -> torch.Tensor:
        """``||A||^2`` on images shaped like ``x0`` ((C, H, W) or (B, C, H, W)).

        Circular: the closed form ``max |k_hat|^2`` over the DFT grid of the image. Reflect: the
        top eigenvalue of ``A^T A`` on one (H, W) channel, computed by the Lanczos method
        (``scipy.sparse.linalg.eigsh``) in float64 to relative accuracy ``tol``; plain power
        iteration converges too slowly here because the top eigenvalues of a reflect blur are
        clustered. The value is cached per image size.
        """
        height, width = x0.shape[-2:]
        like = torch.empty(0, dtype=x0.dtype, device=x0.device)
        if self.boundary is Boundary.CIRCULAR:
            return self._spectrum(height, width, like).abs().square().max()
        if (height, width) not in self._sqnorms:
            self._sqnorms[(height, width)] = self._reflect_sqnorm(height, width, max_iter, tol)
        return torch.tensor(self._sqnorms[(height, width)], dtype=x0.dtype, device=x0.device)

    def _reflect_sqnorm(self, height: int, width: int, max_iter: int, tol: float) -> float:
        """Top eigenvalue of ``A^T A`` on (height, width) single-channel images (Lanczos)."""
        import numpy as np
        from scipy.sparse.linalg import LinearOperator, eigsh

        kernel = self.kernel.detach().to(device="cpu", dtype=torch.float64)
        single = Blur(kernel, boundary=self.boundary)

        def normal(v: np.ndarray) -> np.ndarray:
            image = torch.from_numpy(np.ascontiguousarray(v, dtype=np.float64)).view(1, 1, height, width)
            return single.A_adjoint(single.A(image)).flatten().numpy()

        size = height * width
        operator = LinearOperator((size, size), matvec=normal, dtype=np.float64)
        start = np.random.default_rng(0).standard_normal(size)
        # Lanczos keeps ncv float64 vectors of the image's size: 32 for photos, fewer for very large
        # images so that this basis stays within ~0.5 GB (8 vectors, 0.75 GB, at 12 megapixels)
        ncv = int(min(size, 32, max(8, _LANCZOS_BYTES // (8 * size))))
        value = eigsh(operator, k=1, which="LA", v0=start, tol=tol, maxiter=max_iter,
                      ncv=ncv, return_eigenvectors=False)
        return float(value[0])

    def prox_l2(self, z: torch.Tensor, y: torch.Tensor, gamma: float, **kwargs) -> torch.Tensor:
        """``argmin_x (gamma/2)||Ax - y||^2 + (1/2)||x - z||^2``; closed form for circular blur."""
        if self.boundary is not Boundary.CIRCULAR:
            return super().prox_l2(z, y, gamma, **kwargs)
        self._check_image(z, "z")
        height, width = z.shape[-2:]
        if z.numel() == 0:
            return z.clone()
        spectrum = self._spectrum(height, width, z)
        numerator = torch.fft.rfft2(z) + gamma * spectrum.conj() * torch.fft.rfft2(y)
        return torch.fft.irfft2(numerator / (1 + gamma * spectrum.abs().square()), s=(height, width))

    def extra_repr(self) -> str:
        kh, kw = self.kernel.shape
        return f"kernel={kh}x{kw}, boundary={self.boundary.value}"
