"""Discover psychophysics and choice laws with dnas.DARTSRegressor (pandas names included).

    .venv/bin/python examples/regressor_laws.py
"""

import numpy as np
import pandas as pd

from dnas import DARTSRegressor

rng = np.random.default_rng(0)

# Weber-Fechner: perceived intensity k·ln(S1/S0)
S = pd.DataFrame({"S1": rng.uniform(0.5, 5, 200), "S0": rng.uniform(0.5, 5, 200)})
y = 2.0 * np.log(S["S1"] / S["S0"])
print("Weber-Fechner:", DARTSRegressor(random_state=0).fit(S, y).equation_)

# Luce's choice rule: p(choose 1) = v1 / (v1 + v2), a ratio the node combinations can express
V = pd.DataFrame({"v1": rng.uniform(0.1, 2, 200), "v2": rng.uniform(0.1, 2, 200)})
p = V["v1"] / (V["v1"] + V["v2"])
print("Luce:", DARTSRegressor(random_state=0).fit(V, p).equation_)

# Stevens' power law with 1 % noise
stimulus = pd.DataFrame({"I": rng.uniform(0.1, 5, 200)})
psi = 1.5 * stimulus["I"] ** 0.6
psi = psi + 0.01 * psi.std() * rng.standard_normal(200)
est = DARTSRegressor(random_state=0).fit(stimulus, psi)
print("Stevens:", est.equation_)
print(est.model_repr())
