#!/usr/bin/env python3
"""Writes tests/fixtures/article.npy: the article's exact dataset.

The article draws its noise from NumPy's legacy global stream, `np.random.seed(444)` then
`np.random.randn(N)` (Mersenne Twister + polar Box-Muller). No Rust RNG reproduces that stream,
so the dataset is generated here once and committed. Shape (N, 2), float64, columns x and d.

Also prints the article's reference answers so they can be checked against this data:
the closed form (pseudo-inverse) and, with --descent, the pure-Python gradient descent
(about 15 s at N = 10 000, 10 000 epochs).

Usage: python3 scripts/make_article_fixture.py [--descent]
"""
import pathlib
import sys

import numpy as np

np.random.seed(444)
N = 10000
sigma = 0.1
noise = sigma * np.random.randn(N)
x = np.linspace(0, 2, N)
d = 3 + 2 * x + noise

out = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "article.npy"
out.parent.mkdir(parents=True, exist_ok=True)
np.save(out, np.column_stack((x, d)))
print(f"wrote {out} ({N} rows)")

X = np.column_stack((np.ones(N, dtype=x.dtype), x))
print("closed form (pinv):", np.linalg.pinv(X) @ d)

if "--descent" in sys.argv:
    import itertools as it

    def py_descent(x, d, mu, n_epochs):
        n = len(x)
        f = 2 / n
        y = [0] * n
        w = [0, 0]
        grad = [0, 0]
        for _ in it.repeat(None, n_epochs):
            err = tuple(i - j for i, j in zip(d, y))
            grad[0] = f * sum(err)
            grad[1] = f * sum(i * j for i, j in zip(err, x))
            w = [i + mu * j for i, j in zip(w, grad)]
            y = (w[0] + w[1] * i for i in x)
        return w

    print("pure-Python descent:", py_descent(x.tolist(), d.tolist(), 0.001, 10000))
