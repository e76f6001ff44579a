"""The laws of the equation benchmark (``benchmarks/equations.py``), as facts: formulas and
sampling boxes.

* **Feynman** — every equation with at most three inputs from the AI Feynman database (Udrescu &
  Tegmark 2020, the 100 equations of the Feynman Lectures and the bonus set, as used by SRBench,
  La Cava et al. 2021), with the published sampling ranges. The inputs are renamed ``x1, x2,
  x3`` in the database's order; the third element keeps the physics reading.
* **Nguyen-1…12** (Uy et al. 2011) on the boxes of Petersen et al. 2021 (DSR): U[-1, 1] for 1-6,
  [0, 2] for 7, [0, 4] for 8, [0, 1]² for 9-12.
* **cognitive science and classics** — the seven laws this benchmark started with.

Each entry: ``name: (formula in x1..x3, [(low, high) per input], reading)``.
"""

from __future__ import annotations

U15 = (1, 5)

FEYNMAN: dict[str, tuple[str, list[tuple[float, float]], str]] = {
    "I.6.2a": ("exp(-x1**2/2)/sqrt(2*pi)", [(1, 3)], "f = exp(-θ²/2)/√(2π)"),
    "I.6.2": ("exp(-(x2/x1)**2/2)/(sqrt(2*pi)*x1)", [(1, 3), (1, 3)], "σ, θ"),
    "I.6.2b": ("exp(-((x2 - x3)/x1)**2/2)/(sqrt(2*pi)*x1)", [(1, 3)] * 3, "σ, θ, θ1"),
    "I.10.7": ("x1/sqrt(1 - x2**2/x3**2)", [U15, (1, 2), (3, 10)], "m0, v, c"),
    "I.12.1": ("x1*x2", [U15] * 2, "μ, Nn"),
    "I.12.4": ("x1/(4*pi*x2*x3**2)", [U15] * 3, "q1, ε, r"),
    "I.12.5": ("x1*x2", [U15] * 2, "q2, Ef"),
    "I.14.3": ("x1*x2*x3", [U15] * 3, "m, g, z"),
    "I.14.4": ("x1*x2**2/2", [U15] * 2, "k_spring, x"),
    "I.15.10": ("x1*x2/sqrt(1 - x2**2/x3**2)", [U15, (1, 2), (3, 10)], "m0, v, c"),
    "I.16.6": ("(x3 + x2)/(1 + x3*x2/x1**2)", [U15] * 3, "c, v, u"),
    "I.18.12": ("x1*x2*sin(x3)", [U15, U15, (0, 5)], "r, F, θ"),
    "I.25.13": ("x1/x2", [U15] * 2, "q, C"),
    "I.26.2": ("asin(x1*sin(x2))", [(0, 1), (1, 5)], "n, θ2"),
    "I.27.6": ("1/(1/x1 + x3/x2)", [U15] * 3, "d1, d2, n"),
    "I.29.4": ("x1/x2", [(1, 10), (1, 10)], "ω, c"),
    "I.30.3": ("x1*sin(x3*x2/2)**2/sin(x2/2)**2", [U15] * 3, "Int0, θ, n"),
    "I.30.5": ("asin(x1/(x3*x2))", [(1, 2), (2, 5), U15], "λ, d, n"),
    "I.34.10": ("x3/(1 - x2/x1)", [(3, 10), (1, 2), U15], "c, v, ω0"),
    "I.34.14": ("(1 + x2/x1)/sqrt(1 - x2**2/x1**2)*x3", [(3, 10), (1, 2), U15], "c, v, ω0"),
    "I.34.27": ("x1/(2*pi)*x2", [U15] * 2, "h, ω"),
    "I.37.4": ("x1 + x2 + 2*sqrt(x1*x2)*cos(x3)", [U15] * 3, "I1, I2, δ"),
    "I.39.1": ("3*x1*x2/2", [U15] * 2, "pr, V"),
    "I.39.11": ("x2*x3/(x1 - 1)", [(2, 5), U15, U15], "γ, pr, V"),
    "I.43.31": ("x1*x2*x3", [U15] * 3, "mob, kb, T"),
    "I.47.23": ("sqrt(x1*x2/x3)", [U15] * 3, "γ, pr, ρ"),
    "I.48.2": ("x1*x3**2/sqrt(1 - x2**2/x3**2)", [U15, (1, 2), (3, 10)], "m, v, c"),
    "II.3.24": ("x1/(4*pi*x2**2)", [U15] * 2, "Pwr, r"),
    "II.4.23": ("x1/(4*pi*x2*x3)", [U15] * 3, "q, ε, r"),
    "II.8.7": ("3*x1**2/(20*pi*x2*x3)", [U15] * 3, "q, ε, d"),
    "II.8.31": ("x1*x2**2/2", [U15] * 2, "ε, Ef"),
    "II.10.9": ("x1/(x2*(1 + x3))", [U15] * 3, "σ_den, ε, χ"),
    "II.11.28": ("1 + x1*x2/(1 - x1*x2/3)", [(0, 1), (0, 1)], "n, α"),
    "II.13.23": ("x1/sqrt(1 - x2**2/x3**2)", [U15, (1, 2), (3, 10)], "ρ_c0, v, c"),
    "II.13.34": ("x1*x2/sqrt(1 - x2**2/x3**2)", [U15, (1, 2), (3, 10)], "ρ_c0, v, c"),
    "II.15.4": ("-x1*x2*cos(x3)", [U15] * 3, "mom, B, θ"),
    "II.15.5": ("-x1*x2*cos(x3)", [U15] * 3, "p_d, Ef, θ"),
    "II.24.17": ("sqrt(x1**2/x2**2 - pi**2/x3**2)", [(4, 6), (1, 2), (2, 4)], "ω, c, d"),
    "II.27.16": ("x1*x2*x3**2", [U15] * 3, "ε, c, Ef"),
    "II.27.18": ("x1*x2**2", [U15] * 2, "ε, Ef"),
    "II.34.2a": ("x1*x2/(2*pi*x3)", [U15] * 3, "q, v, r"),
    "II.34.2": ("x1*x2*x3/2", [U15] * 3, "q, v, r"),
    "II.34.29a": ("x1*x2/(4*pi*x3)", [U15] * 3, "q, h, m"),
    "II.37.1": ("x1*(1 + x3)*x2", [U15] * 3, "mom, B, χ"),
    "II.38.14": ("x1/(2*(1 + x2))", [U15] * 2, "Y, σ"),
    "III.7.38": ("4*pi*x1*x2/x3", [U15] * 3, "mom, B, h"),
    "III.8.54": ("sin(2*pi*x1*x2/x3)**2", [(1, 2), (1, 2), (1, 4)], "E_n, t, h"),
    "III.12.43": ("x1*x2/(2*pi)", [U15] * 2, "n, h"),
    "III.15.12": ("2*x1*(1 - cos(x2*x3))", [U15] * 3, "U, k, d"),
    "III.15.14": ("x1**2/(8*pi**2*x2*x3**2)", [U15] * 3, "h, E_n, d"),
    "III.15.27": ("2*pi*x1/(x2*x3)", [U15] * 3, "α, n, d"),
    "III.17.37": ("x1*(1 + x2*cos(x3))", [U15] * 3, "β, α, θ"),
    "Bonus.10": ("(cos(x3) - x2/x1)/(1 - x2/x1*cos(x3))", [(4, 6), (1, 2), (0, 6)],
                 "c, v, θ1: cos θ2"),
}

N1 = [(-1, 1)]
NGUYEN: dict[str, tuple[str, list[tuple[float, float]], str]] = {
    "Nguyen-1": ("x1**3 + x1**2 + x1", N1, ""),
    "Nguyen-2": ("x1**4 + x1**3 + x1**2 + x1", N1, ""),
    "Nguyen-3": ("x1**5 + x1**4 + x1**3 + x1**2 + x1", N1, ""),
    "Nguyen-4": ("x1**6 + x1**5 + x1**4 + x1**3 + x1**2 + x1", N1, ""),
    "Nguyen-5": ("sin(x1**2)*cos(x1) - 1", N1, ""),
    "Nguyen-6": ("sin(x1) + sin(x1 + x1**2)", N1, ""),
    "Nguyen-7": ("log(x1 + 1) + log(x1**2 + 1)", [(0, 2)], ""),
    "Nguyen-8": ("sqrt(x1)", [(0, 4)], ""),
    "Nguyen-9": ("sin(x1) + sin(x2**2)", [(0, 1)] * 2, ""),
    "Nguyen-10": ("2*sin(x1)*cos(x2)", [(0, 1)] * 2, ""),
    "Nguyen-11": ("x1**x2", [(0, 1)] * 2, ""),
    "Nguyen-12": ("x1**4 - x1**3 + x2**2/2 - x2", [(0, 1)] * 2, ""),
}

CLASSIC: dict[str, tuple[str, list[tuple[float, float]], str]] = {
    "autora-example": ("2*x1 + exp(5*x2)", [(0, 1), (0, 1)], "AutoRA's documented example"),
    "weber-fechner": ("2*log(x1/x2)", [(0.5, 5), (0.5, 5)], "sensation of a stimulus ratio"),
    "stevens": ("1.5*x1**0.6", [(0.1, 5)], "Stevens' power law"),
    "exp-learning": ("0.9 - (0.9 - 0.2)*exp(-0.4*x1)", [(0, 10)], "exponential learning"),
    "luce-choice": ("x1/(x1 + x2)", [(0.1, 2), (0.1, 2)], "Luce's choice rule"),
    "linear": ("3*x1 - 2*x2 + 1", [(-1, 1), (-1, 1)], ""),
    "product": ("x1*x2", [(-1, 1), (-1, 1)], ""),
}

LAWS = {**CLASSIC, **NGUYEN, **FEYNMAN}

__all__ = ["CLASSIC", "FEYNMAN", "LAWS", "NGUYEN"]
