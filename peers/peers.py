#!/usr/bin/env python3
"""gdbench's peer rows: the article's gradient descent in pure Python, NumPy, TensorFlow, PyTorch, JAX.

gdbench embeds this file, writes the problem to an .npy file and runs
    python3 peers.py REQUEST.json
where the request is {"data": path (N×2 float64: x, d), "mu" (the step size; null for a search),
"steps": [every step size, in order], "epochs", "spot_epochs", "peers": [names], "warmup",
"repeat" (null: fit "budget" seconds, 1..10 repeats)}. For every peer variant the script prints one
JSON line on stdout:
    {"peer", "precision", "device", "device_type" (cpu | discrete-gpu | integrated-gpu | other),
     "library", "threads", "status"
     ("ok" | "unavailable" | "error"), "message", "w": [w0, w1], "setup_s", "times_s": [...],
     "spot_w": [w0, w1], "spot_epochs"}
A search (more than one step) runs every step's descent from w = 0 for the same epochs in each
solve, and reports "ws" and "spot_ws" (one [w0, w1] per step, in step order) instead of "w" and
"spot_w". A weight that is not finite (a diverging step) is null: JSON has no NaN or infinity.
Progress goes to stderr. Each row starts from w = 0 on every repeat. Compile, tracing, graph
building and the first call (which many libraries make slow) are setup_s, never inside times_s:
each peer runs its spot check (spot_epochs epochs, for gdbench's spot check) as that first call,
so even with warmup 0 no timed repeat pays for it.
"""
import itertools as it
import json
import math
import os
import sys
import time
import traceback

MIN_AUTO_REPEATS, MAX_AUTO_REPEATS = 1, 10

# A search's broadcast peers hold an error matrix of (steps in a block) × N: at most this many
# elements (128 MiB in f64), so the steps run in blocks of about 2**24 / N.
BLOCK_ELEMENTS = 2**24


def progress(text):
    print(f"peers: {text}", file=sys.stderr, flush=True)


def search_steps(request):
    """A search's step sizes (a list of at least two), or None for one step (request["mu"])."""
    steps = request.get("steps") or [request["mu"]]
    return steps if len(steps) > 1 else None


def step_blocks(n, steps):
    """The steps in blocks whose error matrix (block × n) holds at most BLOCK_ELEMENTS."""
    per_block = max(1, BLOCK_ELEMENTS // max(n, 1))
    return [steps[lo:lo + per_block] for lo in range(0, len(steps), per_block)]


def timed_runs(name, solve, request):
    """Warm-up, then repeats (fixed, or as many as fit the budget); returns (w, times), w as the
    last solve returned it."""
    estimate = None
    for i in range(request["warmup"]):
        progress(f"{name}: warm-up {i + 1}/{request['warmup']}")
        start = time.perf_counter()
        solve()
        estimate = time.perf_counter() - start
    times, w = [], None

    def wanted_for(one):
        if request["repeat"] is not None:
            return request["repeat"]
        if one is None:
            return None
        return max(MIN_AUTO_REPEATS, min(MAX_AUTO_REPEATS, int(request["budget"] / max(one, 1e-9))))

    wanted = wanted_for(estimate)
    while True:
        of = f"/{wanted}" if wanted is not None else ""
        progress(f"{name}: repeat {len(times) + 1}{of}")
        start = time.perf_counter()
        w = solve()
        took = time.perf_counter() - start
        times.append(took)
        wanted = wanted_for(estimate if estimate is not None else took)
        if len(times) >= wanted:
            return w, times


def row(peer, precision, **fields):
    out = {"peer": peer, "precision": precision, "device": "cpu", "device_type": "cpu",
           "library": "", "threads": 1, "status": "ok", "message": "", "w": None,
           "setup_s": None, "times_s": []}
    out.update(fields)
    print(json.dumps(out), flush=True)


def pair(w):
    """[w0, w1] as JSON can hold them: a weight that is not finite is None (null)."""
    return [v if math.isfinite(v) else None for v in (float(w[0]), float(w[1]))]


def weight_fields(w, spot, request):
    """The final and spot-check weights and the spot check's epochs, as row fields: "w" and
    "spot_w" for one step, "ws" and "spot_ws" (one pair per step, in step order) for a search."""
    if search_steps(request) is None:
        return {"w": pair(w), "spot_w": pair(spot), "spot_epochs": request["spot_epochs"]}
    return {"ws": [pair(v) for v in w], "spot_ws": [pair(v) for v in spot],
            "spot_epochs": request["spot_epochs"]}


def missing(peer, precision, module, pip_name):
    row(peer, precision, status="unavailable",
        message=f"{module} is not installed for {sys.executable}: pip install {pip_name}")


def cpu_threads():
    try:
        from threadpoolctl import threadpool_info
        return max((p.get("num_threads", 1) for p in threadpool_info()), default=os.cpu_count())
    except Exception:
        return os.cpu_count() or 1


# --- pure Python: the article's list-comprehension loop -------------------------------------
def peer_python(x, d, request):
    x_list, d_list = x.tolist(), d.tolist()
    mu, epochs = request["mu"], request["epochs"]

    def py_descent(epochs=epochs, mu=mu):
        n = len(x_list)
        f = 2 / n
        y = [0] * n
        w = [0, 0]
        grad = [0, 0]
        for _ in it.repeat(None, epochs):
            err = tuple(i - j for i, j in zip(d_list, y))
            grad[0] = f * sum(err)
            grad[1] = f * sum(i * j for i, j in zip(err, x_list))
            w = [i + mu * j for i, j in zip(w, grad)]
            y = (w[0] + w[1] * i for i in x_list)
        return w

    steps = search_steps(request)
    solve = py_descent
    if steps is not None:
        # A search: the article's loop once per step.
        def solve(epochs=epochs):
            return [py_descent(epochs, step) for step in steps]

    start = time.perf_counter()
    spot = solve(request["spot_epochs"])
    setup = time.perf_counter() - start
    w, times = timed_runs("python", solve, request)
    row("python", "f64", library=f"CPython {sys.version.split()[0]}", setup_s=setup,
        times_s=times, **weight_fields(w, spot, request))


# --- NumPy: the article's vectorised loop ---------------------------------------------------
def peer_numpy(np, x, d, request):
    mu, epochs = request["mu"], request["epochs"]

    def np_descent(epochs=epochs):
        n = len(x)
        f = 2 / n
        y = np.zeros(n)
        err = np.zeros(n)
        w = np.zeros(2)
        grad = np.empty(2)
        for _ in it.repeat(None, epochs):
            np.subtract(d, y, out=err)
            grad[:] = f * np.sum(err), f * (err @ x)
            w = w + mu * grad
            y = w[0] + w[1] * x
        return w

    steps = search_steps(request)
    solve = np_descent
    if steps is not None:
        blocks = [np.asarray(b, dtype=np.float64) for b in step_blocks(len(x), steps)]
        err_rows = np.empty((len(blocks[0]), len(x)))

        # A search by broadcasting: each epoch one (steps × N) error matrix for a block of steps,
        # row k being step k's error vector, so each row's sum and dot are the single descent's.
        def solve(epochs=epochs):
            n = len(x)
            f = 2 / n
            out = []
            with np.errstate(all="ignore"):  # diverging steps overflow: reported, not warned
                for mus in blocks:
                    err = err_rows[:len(mus)]
                    w0, w1 = np.zeros(len(mus)), np.zeros(len(mus))
                    for _ in it.repeat(None, epochs):
                        np.multiply(w1[:, None], x, out=err)
                        err += w0[:, None]
                        np.subtract(d, err, out=err)
                        w0 = w0 + mus * (f * err.sum(axis=1))
                        w1 = w1 + mus * (f * (err @ x))
                    out.append(np.column_stack((w0, w1)))
            return np.concatenate(out)

    start = time.perf_counter()
    spot = solve(request["spot_epochs"])
    setup = time.perf_counter() - start
    w, times = timed_runs("numpy", solve, request)
    row("numpy", "f64", library=f"numpy {np.__version__}", threads=cpu_threads(),
        setup_s=setup, times_s=times, **weight_fields(w, spot, request))


# --- TensorFlow: the article's graph in a session, and the modern tf.function ---------------
def peer_tensorflow(np, x, d, request):
    try:
        import tensorflow as tf
    except ImportError:
        missing("tensorflow-v1", "f32", "tensorflow", "tensorflow")
        missing("tensorflow", "f32", "tensorflow", "tensorflow")
        return
    mu, epochs, n = request["mu"], request["epochs"], len(x)
    steps = search_steps(request)
    # TensorFloat-32 (on by default on recent NVIDIA GPUs) rounds matmul inputs to 10 bits: this
    # row is f32, and is validated as f32.
    tf.config.experimental.enable_tensor_float_32_execution(False)
    threads = tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count()
    library = f"tensorflow {tf.__version__}"

    # As in the article: a graph built once, run epoch by epoch in a session (tf.compat.v1).
    start = time.perf_counter()
    graph = tf.Graph()
    with graph.as_default():
        X = np.column_stack((np.ones(n), x))
        X_tf = tf.constant(X, dtype=tf.float32)
        d_tf = tf.constant(d.reshape(n, 1), dtype=tf.float32)
        w = tf.compat.v1.Variable(tf.zeros((2, 1)), name="w_tf")
        # A search feeds each step in turn; one step is built into the graph, as in the article.
        step = mu if steps is None else tf.compat.v1.placeholder(tf.float32, [], name="mu")
        y = tf.matmul(X_tf, w)
        e = y - d_tf
        grad = (2 / n) * tf.matmul(tf.transpose(X_tf), e)
        training_op = tf.compat.v1.assign(w, w - step * grad)
        init = tf.compat.v1.global_variables_initializer()
    session = tf.compat.v1.Session(graph=graph)
    session.run(init)

    def tf_v1_descent(epochs=epochs, feed=None):
        session.run(init)
        for _ in range(epochs):
            session.run(training_op, feed_dict=feed)
        return session.run(w).ravel()

    solve_v1 = tf_v1_descent
    if steps is not None:
        # A search: the session loop once per step.
        def solve_v1(epochs=epochs):
            return [tf_v1_descent(epochs, {step: mu_k}) for mu_k in steps]

    spot = solve_v1(request["spot_epochs"])
    setup = time.perf_counter() - start
    w_out, times = timed_runs("tensorflow-v1", solve_v1, request)
    session.close()
    row("tensorflow-v1", "f32", library=library + " (compat.v1 session)", threads=threads,
        setup_s=setup, times_s=times, **weight_fields(w_out, spot, request))

    # Modern: the whole loop inside one tf.function; tracing is setup.
    device = "GPU:0" if tf.config.list_physical_devices("GPU") else "CPU:0"
    with tf.device(device):
        xs = tf.constant(x, dtype=tf.float32)
        ds = tf.constant(d, dtype=tf.float32)

        # The epoch count is an argument, so one trace serves the spot check and the full run.
        def descent_loop(xs, ds, count, mu):
            w0 = tf.constant(0.0)
            w1 = tf.constant(0.0)
            f = tf.constant(2.0 / n)
            for _ in tf.range(count):
                err = ds - (w0 + w1 * xs)
                w0 = w0 + mu * (f * tf.reduce_sum(err))
                w1 = w1 + mu * (f * tf.reduce_sum(err * xs))
            return tf.stack([w0, w1])

        start = time.perf_counter()
        count_spec = tf.TensorSpec([], tf.int64)
        if steps is None:
            @tf.function
            def descent(xs, ds, count):
                return descent_loop(xs, ds, count, mu)

            concrete = descent.get_concrete_function(xs, ds, count_spec)

            def solve_tf(count):
                return concrete(xs, ds, count).numpy()
        else:
            # A search: the step is an argument too (one trace for every step), run once per step.
            @tf.function
            def descent_at(xs, ds, count, mu):
                return descent_loop(xs, ds, count, mu)

            concrete = descent_at.get_concrete_function(xs, ds, count_spec,
                                                        tf.TensorSpec([], tf.float32))
            mus = [tf.constant(mu_k, tf.float32) for mu_k in steps]

            def solve_tf(count):
                return [concrete(xs, ds, count, mu_k).numpy() for mu_k in mus]

        spot = solve_tf(tf.constant(request["spot_epochs"], tf.int64))
        setup = time.perf_counter() - start
        full = tf.constant(epochs, tf.int64)
        w_out, times = timed_runs("tensorflow", lambda: solve_tf(full), request)
    row("tensorflow", "f32", library=library + " (tf.function)", threads=threads,
        device=device.lower(), device_type="cpu" if device == "CPU:0" else "other",
        setup_s=setup, times_s=times, **weight_fields(w_out, spot, request))


# --- PyTorch: a loop of tensor ops, on the CPU and on CUDA when present -----------------------
def peer_torch(np, x, d, request):
    try:
        import torch
    except ImportError:
        missing("torch", "f32", "torch", "torch")
        return
    mu, epochs, n = request["mu"], request["epochs"], len(x)
    steps = search_steps(request)
    torch.backends.cuda.matmul.allow_tf32 = False  # f32 means f32 (see peer_tensorflow)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        name = "torch" if device == "cpu" else "torch-cuda"
        start = time.perf_counter()
        xs = torch.tensor(x, dtype=torch.float32, device=device)
        ds = torch.tensor(d, dtype=torch.float32, device=device)
        f = 2.0 / n
        sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

        def torch_descent(epochs=epochs):
            w = torch.zeros(2, dtype=torch.float32, device=device)
            for _ in range(epochs):
                err = ds - (w[0] + w[1] * xs)
                grad = torch.stack((f * err.sum(), f * (err @ xs)))
                w = w + mu * grad
            sync()
            return w.cpu().numpy()

        solve = torch_descent
        if steps is not None:
            blocks = [torch.tensor(b, dtype=torch.float32, device=device)
                      for b in step_blocks(n, steps)]

            # A search by broadcasting, as NumPy's: a (steps × N) error matrix per epoch per block.
            def solve(epochs=epochs):
                out = []
                for mus in blocks:
                    w0 = torch.zeros(len(mus), dtype=torch.float32, device=device)
                    w1 = torch.zeros(len(mus), dtype=torch.float32, device=device)
                    for _ in range(epochs):
                        err = ds - (w0[:, None] + w1[:, None] * xs)
                        w0 = w0 + mus * (f * err.sum(dim=1))
                        w1 = w1 + mus * (f * (err @ xs))
                    out.append(torch.stack((w0, w1), dim=1))
                sync()
                return torch.cat(out).cpu().numpy()

        spot = solve(request["spot_epochs"])
        setup = time.perf_counter() - start
        w, times = timed_runs(name, solve, request)
        if device == "cpu":
            label, kind = "cpu", "cpu"
        else:
            label = torch.cuda.get_device_name(0)
            integrated = getattr(torch.cuda.get_device_properties(0), "is_integrated", False)
            kind = "integrated-gpu" if integrated else "discrete-gpu"
        row(name, "f32", library=f"torch {torch.__version__}", threads=torch.get_num_threads(),
            device=label, device_type=kind, setup_s=setup, times_s=times,
            **weight_fields(w, spot, request))


# --- JAX: lax.fori_loop under jit, on its default device ---------------------------------------
def peer_jax(np, x, d, request):
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        missing("jax", "f32", "jax", "jax")
        return
    mu, epochs, n = request["mu"], request["epochs"], len(x)
    steps = search_steps(request)
    dev = jax.devices()[0]
    xs = jax.device_put(jnp.asarray(x, dtype=jnp.float32), dev)
    ds = jax.device_put(jnp.asarray(d, dtype=jnp.float32), dev)
    f = 2.0 / n

    # The epoch count is traced, so one compilation serves the spot check and the full run.
    def descent_at(xs, ds, count, mu):
        def body(_, w):
            err = ds - (w[0] + w[1] * xs)
            # HIGHEST: full f32 products (a GPU's default may round them to TF32/bf16).
            dot = jnp.dot(err, xs, precision=jax.lax.Precision.HIGHEST)
            return w + mu * jnp.stack((f * jnp.sum(err), f * dot))
        return jax.lax.fori_loop(0, count, body, jnp.zeros(2, dtype=jnp.float32))

    start = time.perf_counter()
    if steps is None:
        def descent(xs, ds, count):
            return descent_at(xs, ds, count, mu)

        compiled = jax.jit(descent).lower(xs, ds, jnp.int32(epochs)).compile()

        def solve(count):
            return np.asarray(compiled(xs, ds, count).block_until_ready())
    else:
        # A search: the descent vmapped over the step, a block of steps per call (the last block
        # padded with its last step, so one compilation serves every block).
        blocks = step_blocks(n, steps)
        size = len(blocks[0])
        padded = [jax.device_put(jnp.asarray(b + b[-1:] * (size - len(b)), dtype=jnp.float32),
                                 dev) for b in blocks]
        search = jax.vmap(descent_at, in_axes=(None, None, None, 0))
        compiled = jax.jit(search).lower(xs, ds, jnp.int32(epochs), padded[0]).compile()

        def solve(count):
            out = [compiled(xs, ds, count, mus) for mus in padded]
            return np.concatenate([np.asarray(w.block_until_ready()) for w in out])[:len(steps)]

    spot = solve(jnp.int32(request["spot_epochs"]))
    setup = time.perf_counter() - start
    full = jnp.int32(epochs)
    w, times = timed_runs("jax", lambda: solve(full), request)
    name = "jax" if dev.platform == "cpu" else f"jax-{dev.platform}"
    row(name, "f32", library=f"jax {jax.__version__}", threads=os.cpu_count() or 1,
        device=str(dev.device_kind), device_type="cpu" if dev.platform == "cpu" else "other",
        setup_s=setup, times_s=times, **weight_fields(w, spot, request))


PEERS = ["python", "numpy", "tensorflow", "torch", "jax"]


def main():
    with open(sys.argv[1]) as f:
        request = json.load(f)
    try:
        import numpy as np
    except ImportError:
        for peer in request["peers"]:
            missing(peer, "f64" if peer in ("python", "numpy") else "f32", "numpy", "numpy")
        return
    data = np.load(request["data"])
    x, d = np.ascontiguousarray(data[:, 0]), np.ascontiguousarray(data[:, 1])
    runners = {
        "python": lambda: peer_python(x, d, request),
        "numpy": lambda: peer_numpy(np, x, d, request),
        "tensorflow": lambda: peer_tensorflow(np, x, d, request),
        "torch": lambda: peer_torch(np, x, d, request),
        "jax": lambda: peer_jax(np, x, d, request),
    }
    for peer in request["peers"]:
        try:
            runners[peer]()
        except Exception as e:  # a failing peer is a row, not a crash
            last = traceback.format_exception_only(type(e), e)[-1].strip()
            row(peer, "f32", status="error", message=last)


if __name__ == "__main__":
    main()
