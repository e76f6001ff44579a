"""AutoRA's documented DARTS example, run with dnas: only the import line differs.

    .venv/bin/python examples/regressor_autora_example.py
"""

import numpy as np

from dnas import DARTSRegressor  # AutoRA: from autora.theorist.darts import DARTSRegressor

x_1 = np.linspace(0, 1, num=10)
x_2 = np.linspace(0, 1, num=10)
X = np.array(np.meshgrid(x_1, x_2)).T.reshape(-1, 2)
y = 2 * X[:, 0] + np.exp(5 * X[:, 1])

primitives = ["none", "add", "subtract", "mult", "logistic", "exp", "relu"]
darts_estimator = DARTSRegressor(
    num_graph_nodes=1,
    arch_updates_per_epoch=1,
    arch_learning_rate_max=0.001,
    param_updates_per_epoch=500,
    param_momentum=0.9,
    max_epochs=300,
    output_type="real",
    primitives=primitives,
)
darts_estimator.fit(X, y)
print(darts_estimator.model_repr())
print("equation:", darts_estimator.equation_)

# refit the kept architecture's coefficients
darts_estimator.set_params(max_epochs=0, param_updates_for_sampled_model=1000)
darts_estimator.fit(X, y)
# draw an architecture from the architecture weights, then go back to the most likely one
darts_estimator.set_params(max_epochs=0, sampling_strategy="sample",
                           param_updates_for_sampled_model=800)
darts_estimator.fit(X, y)
print("sampled:", darts_estimator.equation_)
darts_estimator.set_params(max_epochs=0, sampling_strategy="max",
                           param_updates_for_sampled_model=1000)
darts_estimator.fit(X, y)
print("max again:", darts_estimator.equation_)
print(darts_estimator.to_latex())
print(darts_estimator.visualize_model().source)  # DOT text; .render() needs Graphviz's dot
