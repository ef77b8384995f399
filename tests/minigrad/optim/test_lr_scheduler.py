"""Learning-rate schedulers (minigrad/optim/lr_scheduler.py) against
torch.optim.lr_scheduler: the rates (and OneCycleLR's momentum) after every step, state
dicts, resuming, the deprecated step(epoch), and PyTorch's argument checks.

The schedules are plain Python arithmetic on floats, done in PyTorch's order, so the
rates must be *equal*, not merely close."""
import copy
import warnings

import pytest
import torch

import minigrad as mg

N_STEPS = 40


def _optimizer(lib, name="SGD"):
    """Two groups on dummy parameters: lr 0.1 (the default) and 0.02."""
    a, b = lib.nn.Parameter(lib.zeros(2)), lib.nn.Parameter(lib.zeros(3))
    groups = [{"params": [a]}, {"params": [b], "lr": 0.02}]
    if name == "SGD":
        return lib.optim.SGD(groups, lr=0.1, momentum=0.9)
    return getattr(lib.optim, name)(groups, lr=0.1)


def _settings(opt):
    """What a scheduler may change: each group's lr, momentum and betas."""
    return [(g["lr"], g.get("momentum"), g.get("betas")) for g in opt.param_groups]


def _run(lib, schedulers, optimizer="SGD", n=N_STEPS):
    """Rates after construction and after each of n steps (optimizer.step() first, as
    PyTorch asks), with the groups' settings, and the schedulers' final state dicts."""
    opt = _optimizer(lib, optimizer)
    made = [getattr(lib.optim.lr_scheduler, name)(opt, **kw) for name, kw in schedulers]
    seen = [[s.get_last_lr() for s in made] + _settings(opt)]
    for _ in range(n):
        opt.step()
        for s in made:
            s.step()
        seen.append([list(s.get_last_lr()) for s in made] + _settings(opt))
    return seen, [s.state_dict() for s in made]


def _halve_every_ten(epoch):
    return 0.5 ** (epoch // 10)


SCHEDULES = {
    "step": [("StepLR", dict(step_size=7))],
    "step-gamma": [("StepLR", dict(step_size=3, gamma=0.5))],
    "multistep": [("MultiStepLR", dict(milestones=[3, 10, 25]))],
    "multistep-repeated-unsorted": [("MultiStepLR", dict(milestones=[25, 10, 3, 10], gamma=0.3))],
    "multistep-at-0": [("MultiStepLR", dict(milestones=[0, 5], gamma=0.5))],
    "exponential": [("ExponentialLR", dict(gamma=0.9))],
    "cosine": [("CosineAnnealingLR", dict(T_max=N_STEPS))],
    # past T_max the cosine climbs back (the branch that avoids dividing by zero too)
    "cosine-restarts-eta-min": [("CosineAnnealingLR", dict(T_max=7, eta_min=0.001))],
    "lambda": [("LambdaLR", dict(lr_lambda=lambda epoch: 0.95 ** epoch))],
    "lambda-per-group": [("LambdaLR", dict(lr_lambda=[_halve_every_ten,
                                                      lambda epoch: 1 / (1 + epoch)]))],
    "onecycle": [("OneCycleLR", dict(max_lr=1.0, total_steps=N_STEPS))],
    "onecycle-per-group": [("OneCycleLR", dict(max_lr=[1.0, 0.3], epochs=4, steps_per_epoch=10,
                                               pct_start=0.25, base_momentum=[0.8, 0.7],
                                               max_momentum=(0.9, 0.99)))],
    "onecycle-linear-three-phase": [("OneCycleLR", dict(max_lr=0.5, total_steps=N_STEPS,
                                                        anneal_strategy="linear",
                                                        three_phase=True, div_factor=10.0,
                                                        final_div_factor=100.0))],
    "onecycle-no-momentum": [("OneCycleLR", dict(max_lr=0.5, total_steps=N_STEPS + 5,
                                                 cycle_momentum=False))],
    # recursive forms compose: each multiplies the rate the other left
    "step-and-exponential": [("StepLR", dict(step_size=5, gamma=0.5)),
                             ("ExponentialLR", dict(gamma=0.95))],
    "cosine-and-multistep": [("CosineAnnealingLR", dict(T_max=15, eta_min=0.01)),
                             ("MultiStepLR", dict(milestones=[8, 20]))],
}


@pytest.mark.parametrize("case", list(SCHEDULES))
def test_rates_match_torch_after_every_step(case):
    expected, _ = _run(torch, SCHEDULES[case])
    actual, _ = _run(mg, SCHEDULES[case])
    assert len(actual) == N_STEPS + 1
    for step, (a, e) in enumerate(zip(actual, expected)):
        assert a == e, f"step {step}"
    assert expected[-1] != expected[0], "sanity: the schedule changed something"


@pytest.mark.parametrize("optimizer", ["Adam", "AdamW"])
def test_onecycle_cycles_adams_beta1_like_torch(optimizer):
    schedule = [("OneCycleLR", dict(max_lr=0.01, total_steps=N_STEPS))]
    actual, _ = _run(mg, schedule, optimizer)
    expected, _ = _run(torch, schedule, optimizer)
    assert actual == expected
    betas = [settings[1][2] for settings in expected]
    assert betas[0] == (0.95, 0.999) and min(b[0] for b in betas) == pytest.approx(0.85)


@pytest.mark.parametrize("case", list(SCHEDULES))
def test_state_dict_is_torchs(case):
    _, expected = _run(torch, SCHEDULES[case], n=12)
    _, actual = _run(mg, SCHEDULES[case], n=12)
    assert actual == expected


@pytest.mark.parametrize("case", ["step-gamma", "multistep", "exponential",
                                  "cosine-restarts-eta-min", "lambda", "onecycle"])
def test_state_dict_round_trip_continues_the_schedule(case):
    (name, kw), = SCHEDULES[case]
    straight, _ = _run(mg, SCHEDULES[case])

    opt = _optimizer(mg)
    sched = getattr(mg.optim.lr_scheduler, name)(opt, **kw)
    for _ in range(15):
        opt.step()
        sched.step()
    saved_opt, saved = copy.deepcopy(opt.state_dict()), copy.deepcopy(sched.state_dict())

    opt = _optimizer(mg)
    sched = getattr(mg.optim.lr_scheduler, name)(opt, **kw)   # made first, as PyTorch asks
    opt.load_state_dict(saved_opt)
    sched.load_state_dict(saved)
    resumed = []
    for _ in range(15, N_STEPS):
        opt.step()
        sched.step()
        resumed.append([list(sched.get_last_lr())] + _settings(opt))
    assert resumed == straight[16:]


@pytest.mark.parametrize("name,kw", [("StepLR", dict(step_size=4, gamma=0.5)),
                                     ("ExponentialLR", dict(gamma=0.8)),
                                     ("CosineAnnealingLR", dict(T_max=12, eta_min=0.005)),
                                     ("MultiStepLR", dict(milestones=[5, 9]))])
def test_resuming_with_last_epoch_like_torch(name, kw):
    def run(lib):
        opt = _optimizer(lib)
        for group in opt.param_groups:
            group["initial_lr"] = group["lr"] * 2       # as a loaded optimizer would have
            group["lr"] = group["lr"] / 3
        sched = getattr(lib.optim.lr_scheduler, name)(opt, last_epoch=6, **kw)
        rates = [sched.get_last_lr(), sched.base_lrs, sched.last_epoch]
        for _ in range(20):
            opt.step()
            sched.step()
            rates.append(list(sched.get_last_lr()))
        return rates
    assert run(mg) == run(torch)


def test_resuming_without_initial_lr_is_refused_like_torch():
    for lib in (torch, mg):
        with pytest.raises(KeyError, match="param 'initial_lr' is not specified in param_groups"):
            lib.optim.lr_scheduler.StepLR(_optimizer(lib), step_size=3, last_epoch=4)


@pytest.mark.parametrize("name,kw", [("StepLR", dict(step_size=4, gamma=0.5)),
                                     ("MultiStepLR", dict(milestones=[5, 9, 9])),
                                     ("ExponentialLR", dict(gamma=0.8)),
                                     ("CosineAnnealingLR", dict(T_max=12, eta_min=0.005)),
                                     ("LambdaLR", dict(lr_lambda=_halve_every_ten))])
def test_deprecated_step_with_epoch_uses_the_closed_form_like_torch(name, kw):
    def run(lib):
        opt = _optimizer(lib)
        sched = getattr(lib.optim.lr_scheduler, name)(opt, **kw)
        rates = []
        for epoch in (3, 4, 9, 17, 2, 30):
            opt.step()
            with pytest.warns(UserWarning, match="The epoch parameter in `scheduler.step"):
                sched.step(epoch)
            rates.append((sched.last_epoch, list(sched.get_last_lr())))
        return rates
    assert run(mg) == run(torch)


def test_get_lr_outside_step_warns_like_torch():
    for lib in (torch, mg):
        sched = lib.optim.lr_scheduler.StepLR(_optimizer(lib), step_size=2)
        with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
            sched.get_lr()


def test_scheduler_base_sets_initial_lr_and_base_lrs_like_torch():
    for lib in (torch, mg):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
        assert sched.base_lrs == [0.1, 0.02] and sched.last_epoch == 0
        assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.02]
        assert isinstance(sched, lib.optim.lr_scheduler.LRScheduler)


def test_lambda_state_dict_saves_callable_objects_not_functions_like_torch():
    class Factor:
        def __init__(self):
            self.scale = 0.5

        def __call__(self, epoch):
            return self.scale ** epoch

    dicts = {}
    for lib in (torch, mg):
        sched = lib.optim.lr_scheduler.LambdaLR(_optimizer(lib), [Factor(), _halve_every_ten])
        dicts[lib.__name__] = sched.state_dict()
        restored = lib.optim.lr_scheduler.LambdaLR(_optimizer(lib), [Factor(), _halve_every_ten])
        saved = copy.deepcopy(sched.state_dict())
        saved["lr_lambdas"][0]["scale"] = 0.25
        restored.load_state_dict(saved)
        assert restored.lr_lambdas[0].scale == 0.25
    assert dicts["minigrad"]["lr_lambdas"] == dicts["torch"]["lr_lambdas"] == [{"scale": 0.5}, None]


# ------------------------------------------------------------------ ReduceLROnPlateau
LOSSES = [1.0, 0.9, 0.95, 0.9, 0.91, 0.92, 0.9, 0.89999, 0.93, 0.94, 0.95, 0.8, 0.8, 0.81,
          0.85, 0.9, 0.7, 0.7, 0.7, 0.71, 0.72, 0.73, 0.74, 0.6, 0.65, 0.66, 0.67, 0.68, 0.69,
          0.7, 0.71, 0.72, 0.73, 0.5, 0.5, 0.5, 0.5]

PLATEAUS = {
    "defaults": dict(),
    "patience": dict(patience=2),
    "no-patience": dict(patience=0, factor=0.5),
    "abs": dict(patience=1, threshold=0.02, threshold_mode="abs"),
    "rel-threshold": dict(patience=1, threshold=0.05),
    "cooldown": dict(patience=1, cooldown=3, factor=0.5),
    "min-lr": dict(patience=0, factor=0.3, min_lr=0.005),
    "min-lr-per-group": dict(patience=0, factor=0.3, min_lr=[0.01, 0.001]),
    "eps": dict(patience=0, factor=0.9, eps=1e-3),
    "max": dict(mode="max", patience=1),
    "max-abs": dict(mode="max", patience=0, threshold=0.01, threshold_mode="abs", factor=0.5),
    "max-cooldown": dict(mode="max", patience=2, cooldown=2, threshold=0.0),
}


@pytest.mark.parametrize("case", list(PLATEAUS))
def test_reduce_on_plateau_follows_a_loss_sequence_like_torch(case):
    def run(lib):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **PLATEAUS[case])
        seen = [sched.get_last_lr()]
        for loss in LOSSES:
            opt.step()
            sched.step(lib.tensor(loss) if len(seen) % 2 else loss)   # a 0-d tensor or a float
            seen.append((list(sched.get_last_lr()), sched.num_bad_epochs,
                         sched.cooldown_counter, sched.best, sched.last_epoch))
        return seen, sched.state_dict()
    (actual, actual_state), (expected, expected_state) = run(mg), run(torch)
    assert len(actual) == len(LOSSES) + 1
    for step, (a, e) in enumerate(zip(actual, expected)):
        assert a == e, f"step {step}"
    assert actual_state == expected_state


def test_reduce_on_plateau_reduces_something():
    # the comparison above has teeth: with these losses the rates do drop
    opt = _optimizer(mg)
    sched = mg.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=2)
    rates = set()
    for loss in LOSSES:
        sched.step(loss)
        rates.add(sched.get_last_lr()[0])
    assert len(rates) >= 3 and sched.get_last_lr()[0] < 0.1 * 0.1 ** 2


def test_reduce_on_plateau_state_dict_round_trip():
    opt = _optimizer(mg)
    sched = mg.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", patience=1, cooldown=1)
    for loss in LOSSES[:12]:
        sched.step(-loss)
    saved = copy.deepcopy(sched.state_dict())
    rest = []
    for loss in LOSSES[12:]:
        sched.step(-loss)
        rest.append(list(sched.get_last_lr()))

    fresh_opt = _optimizer(mg)
    fresh_opt.load_state_dict(opt.state_dict())
    for group, lr in zip(fresh_opt.param_groups, saved["_last_lr"]):
        group["lr"] = lr
    fresh = mg.optim.lr_scheduler.ReduceLROnPlateau(fresh_opt)
    fresh.load_state_dict(saved)
    again = []
    for loss in LOSSES[12:]:
        fresh.step(-loss)
        again.append(list(fresh.get_last_lr()))
    assert again == rest and fresh.mode == "max" and fresh.mode_worse == float("-inf")


def test_reduce_on_plateau_after_a_group_is_added_like_torch():
    for lib in (torch, mg):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, min_lr=[0.0, 0.0])
        opt.add_param_group({"params": [lib.nn.Parameter(lib.zeros(1))]})
        sched.step(1.0)
        with pytest.raises(RuntimeError, match="differs from when `ReduceLROnPlateau` was"):
            sched.step(2.0)


# ------------------------------------------------------------------ argument checks
def _outcome(make):
    try:
        make()
    except Exception as e:          # noqa: BLE001  (the type is what is compared)
        return type(e), str(e)
    return None


REFUSED = {
    "not-an-optimizer": lambda lib: lib.optim.lr_scheduler.StepLR(object(), step_size=2),
    "lambda-count": lambda lib: lib.optim.lr_scheduler.LambdaLR(_optimizer(lib), [abs]),
    "onecycle-nothing": lambda lib: lib.optim.lr_scheduler.OneCycleLR(_optimizer(lib), 1.0),
    "onecycle-total-0": lambda lib: lib.optim.lr_scheduler.OneCycleLR(_optimizer(lib), 1.0, 0),
    "onecycle-total-float": lambda lib: lib.optim.lr_scheduler.OneCycleLR(
        _optimizer(lib), 1.0, 10.0),
    "onecycle-epochs": lambda lib: lib.optim.lr_scheduler.OneCycleLR(
        _optimizer(lib), 1.0, epochs=0, steps_per_epoch=3),
    "onecycle-steps-per-epoch": lambda lib: lib.optim.lr_scheduler.OneCycleLR(
        _optimizer(lib), 1.0, epochs=2, steps_per_epoch=-3),
    "onecycle-pct-start": lambda lib: lib.optim.lr_scheduler.OneCycleLR(
        _optimizer(lib), 1.0, 10, pct_start=1.5),
    "onecycle-pct-start-int": lambda lib: lib.optim.lr_scheduler.OneCycleLR(
        _optimizer(lib), 1.0, 10, pct_start=1),
    "onecycle-anneal": lambda lib: lib.optim.lr_scheduler.OneCycleLR(
        _optimizer(lib), 1.0, 10, anneal_strategy="cosine"),
    "onecycle-max-lr-count": lambda lib: lib.optim.lr_scheduler.OneCycleLR(
        _optimizer(lib), [1.0], 10),
    "onecycle-no-momentum": lambda lib: lib.optim.lr_scheduler.OneCycleLR(
        _optimizer(lib, "Adagrad"), 1.0, 10),
    "plateau-factor": lambda lib: lib.optim.lr_scheduler.ReduceLROnPlateau(
        _optimizer(lib), factor=1.0),
    "plateau-mode": lambda lib: lib.optim.lr_scheduler.ReduceLROnPlateau(
        _optimizer(lib), mode="lowest"),
    "plateau-threshold-mode": lambda lib: lib.optim.lr_scheduler.ReduceLROnPlateau(
        _optimizer(lib), threshold_mode="relative"),
    "plateau-min-lr-count": lambda lib: lib.optim.lr_scheduler.ReduceLROnPlateau(
        _optimizer(lib), min_lr=[0.1, 0.2, 0.3]),
    "plateau-not-an-optimizer": lambda lib: lib.optim.lr_scheduler.ReduceLROnPlateau(None),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_bad_arguments_are_refused_like_torch(case):
    expected = _outcome(lambda: REFUSED[case](torch))
    assert expected is not None, "PyTorch refuses this"
    assert _outcome(lambda: REFUSED[case](mg)) == expected


def test_onecycle_refuses_steps_past_the_end_like_torch():
    for lib in (torch, mg):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=3)
        for _ in range(3):
            opt.step()
            sched.step()
        with pytest.raises(ValueError, match="Tried to step 4 times. The specified number of "
                                             "total steps is 3"):
            sched.step()


def test_training_with_a_scheduler_matches_torch():
    # the rates a scheduler sets are the ones the next optimizer step uses
    finals = {}
    for lib in (torch, mg):
        p = lib.nn.Parameter(lib.tensor([1.0, -2.0, 3.0], dtype=lib.float64))
        opt = lib.optim.SGD([p], lr=0.1, momentum=0.9)
        sched = lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.5, total_steps=30)
        with warnings.catch_warnings():
            warnings.simplefilter("error")          # no "step order" warnings on either side
            for _ in range(30):
                opt.zero_grad()
                ((p - 0.5) ** 2).sum().backward()
                opt.step()
                sched.step()
        finals[lib.__name__] = p.detach().numpy()
    assert finals["minigrad"] == pytest.approx(finals["torch"], rel=1e-12, abs=1e-14)
