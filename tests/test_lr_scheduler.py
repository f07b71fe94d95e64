"""chainrule.optim.lr_scheduler against torch.optim.lr_scheduler: the same lr sequence, bit for
bit, for every scheduler and a range of options, two parameter groups at once; resuming from
state_dict; and the refusals."""
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.optim import lr_scheduler

torch = pytest.importorskip("torch")
# torch warns when its scheduler steps before any optimizer step; these tests step it alone.
pytestmark = pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step")

STEPS = 12


def ours_and_theirs(make_ours, make_theirs):
    ours = optim.SGD([{"params": [cr.tensor([1.0], requires_grad=True)]},
                      {"params": [cr.tensor([1.0], requires_grad=True)], "lr": 0.03}], lr=0.5)
    theirs = torch.optim.SGD([{"params": [torch.nn.Parameter(torch.ones(1))]},
                              {"params": [torch.nn.Parameter(torch.ones(1))], "lr": 0.03}], lr=0.5)
    return (ours, make_ours(ours)), (theirs, make_theirs(theirs))


def epoch_lrs(optimizer, scheduler, steps=STEPS):
    lrs = [[g["lr"] for g in optimizer.param_groups]]
    for _ in range(steps):
        scheduler.step()
        lrs.append([g["lr"] for g in optimizer.param_groups])
        assert scheduler.get_last_lr() == lrs[-1]
    return lrs


def halve(epoch):
    return 0.5 ** epoch


def shrink(epoch):
    return 0.9


def warm_up(epoch):
    return min(1.0, (epoch + 1) / 4)


EPOCH_CASES = [
    ("LambdaLR", dict(lr_lambda=halve)),
    ("LambdaLR", dict(lr_lambda=warm_up)),
    ("LambdaLR", dict(lr_lambda=[halve, warm_up])),
    ("LambdaLR", dict(lr_lambda=lambda epoch: 3.0 - epoch)),  # lambda(0) != 1, then negative
    ("MultiplicativeLR", dict(lr_lambda=shrink)),
    ("MultiplicativeLR", dict(lr_lambda=[shrink, halve])),
    ("ExponentialLR", dict(gamma=0.7)),
    ("ExponentialLR", dict(gamma=1.0)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.3)),
    ("MultiStepLR", dict(milestones=[0, 3], gamma=0.5)),  # a milestone at the start
    ("MultiStepLR", dict(milestones=[7, 2])),  # unsorted
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("CosineAnnealingLR", dict(T_max=5, eta_min=0.01)),
]


@pytest.mark.parametrize("name, options", EPOCH_CASES,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(EPOCH_CASES)])
def test_epoch_schedulers_give_torchs_lr_sequence(name, options):
    (ours, ours_s), (theirs, theirs_s) = ours_and_theirs(
        lambda o: getattr(lr_scheduler, name)(o, **options),
        lambda o: getattr(torch.optim.lr_scheduler, name)(o, **options))
    assert epoch_lrs(ours, ours_s) == epoch_lrs(theirs, theirs_s)


def test_the_module_path_and_the_package_names_are_the_same_classes():
    assert optim.lr_scheduler.StepLR is optim.StepLR
    assert optim.lr_scheduler.ReduceLROnPlateau is optim.ReduceLROnPlateau
    assert issubclass(lr_scheduler.LambdaLR, lr_scheduler.LRScheduler)
    assert issubclass(lr_scheduler.ReduceLROnPlateau, lr_scheduler.LRScheduler)  # as torch 2


LOSSES = [5.0, 4.0, 4.0, 3.9999, 4.1, 4.0, 3.0, 3.0, 3.0, 3.0, 3.0, 2.9, 2.9, 2.9, 2.9, 2.9,
          2.9, 2.9, 1.0, float("nan"), 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, -1.0, -1.0, -1.0,
          -1.0, -0.99999, -1.0, -1.0]

PLATEAU_CASES = [
    dict(),
    dict(patience=1),
    dict(patience=0, factor=0.5),
    dict(patience=2, cooldown=2, factor=0.5),
    dict(patience=1, threshold=0.1, threshold_mode="abs"),
    dict(patience=1, threshold=0.01),
    dict(mode="max", patience=1),
    dict(mode="max", patience=1, threshold=0.5, threshold_mode="abs"),
    dict(patience=0, factor=0.1, min_lr=0.001),
    dict(patience=0, factor=0.1, min_lr=[0.01, 0.0]),
    dict(patience=0, factor=0.9, eps=0.04),  # changes smaller than eps are skipped
]


@pytest.mark.parametrize("options", PLATEAU_CASES, ids=[str(o) for o in PLATEAU_CASES])
def test_reduce_on_plateau_gives_torchs_lr_sequence(options):
    (ours, ours_s), (theirs, theirs_s) = ours_and_theirs(
        lambda o: lr_scheduler.ReduceLROnPlateau(o, **options),
        lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o, **options))
    ours_lrs, theirs_lrs = [], []
    for loss in LOSSES:
        ours_s.step(loss)
        theirs_s.step(loss)
        ours_lrs.append(ours_s.get_last_lr())
        theirs_lrs.append(theirs_s.get_last_lr())
        assert (ours_s.num_bad_epochs, ours_s.cooldown_counter) == \
            (theirs_s.num_bad_epochs, theirs_s.cooldown_counter)
    assert ours_lrs == theirs_lrs
    if options.get("patience", 10) <= 2:  # the sequence exercises a reduction
        assert ours_lrs[0] != ours_lrs[-1]


def test_reduce_on_plateau_takes_a_tensor_metric():
    w = cr.tensor([1.0], requires_grad=True)
    opt = optim.SGD([w], lr=1.0)
    scheduler = lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5)
    scheduler.step(cr.tensor(2.0))
    scheduler.step(cr.tensor([3.0]))
    assert scheduler.get_last_lr() == [0.5]


@pytest.mark.parametrize("name, options", [("LambdaLR", dict(lr_lambda=warm_up)),
                                           ("MultiStepLR", dict(milestones=[2, 4])),
                                           ("ExponentialLR", dict(gamma=0.8))])
def test_epoch_schedulers_resume_from_state_dict(name, options):
    def fresh():
        opt = optim.SGD([cr.tensor([1.0], requires_grad=True)], lr=0.5)
        return opt, getattr(lr_scheduler, name)(opt, **options)

    opt, scheduler = fresh()
    straight = epoch_lrs(opt, scheduler, 8)
    opt, scheduler = fresh()
    first = epoch_lrs(opt, scheduler, 3)
    saved = scheduler.state_dict(), opt.state_dict()
    opt, scheduler = fresh()
    opt.load_state_dict(saved[1])
    scheduler.load_state_dict(saved[0])
    assert first + epoch_lrs(opt, scheduler, 5)[1:] == straight


def test_reduce_on_plateau_resumes_from_state_dict():
    def fresh():
        opt = optim.SGD([cr.tensor([1.0], requires_grad=True)], lr=1.0)
        return opt, lr_scheduler.ReduceLROnPlateau(opt, patience=1, cooldown=1, factor=0.5)

    opt, scheduler = fresh()
    straight = []
    for loss in LOSSES:
        scheduler.step(loss)
        straight.append(scheduler.get_last_lr())
    opt, scheduler = fresh()
    resumed = []
    for loss in LOSSES[:10]:
        scheduler.step(loss)
        resumed.append(scheduler.get_last_lr())
    saved = scheduler.state_dict(), opt.state_dict()
    opt, scheduler = fresh()
    opt.load_state_dict(saved[1])
    scheduler.load_state_dict(saved[0])
    for loss in LOSSES[10:]:
        scheduler.step(loss)
        resumed.append(scheduler.get_last_lr())
    assert resumed == straight
    assert math.isfinite(saved[0]["best"])


def test_state_dict_is_plain_data_that_save_tree_writes(tmp_path):
    from chainrule.serialize import load_tree, save_tree
    opt = optim.SGD([cr.tensor([1.0], requires_grad=True)], lr=1.0)
    scheduler = lr_scheduler.ReduceLROnPlateau(opt)
    scheduler.step(1.0)
    save_tree(tmp_path / "s.crt", {"scheduler": scheduler.state_dict()})
    loaded = load_tree(tmp_path / "s.crt")["scheduler"]
    assert loaded["best"] == 1.0 and loaded["num_bad_epochs"] == 0


def sgd():
    return optim.SGD([cr.tensor([1.0], requires_grad=True)], lr=1.0)


@pytest.mark.parametrize("make, message", [
    (lambda: lr_scheduler.ReduceLROnPlateau(sgd(), factor=1.0), "factor must be < 1.0"),
    (lambda: lr_scheduler.ReduceLROnPlateau(sgd(), mode="lowest"), "mode must be"),
    (lambda: lr_scheduler.ReduceLROnPlateau(sgd(), threshold_mode="x"), "threshold_mode"),
    (lambda: lr_scheduler.ReduceLROnPlateau(sgd(), min_lr=[0.1, 0.2]), "expected 1 min_lrs"),
    (lambda: lr_scheduler.ReduceLROnPlateau(sgd(), patience=-1), "patience"),
    (lambda: lr_scheduler.LambdaLR(sgd(), lr_lambda=[halve, halve]), "expected 1 lr_lambdas"),
    (lambda: lr_scheduler.LambdaLR(sgd(), lr_lambda=0.5), "function of the epoch"),
    (lambda: lr_scheduler.MultiStepLR(sgd(), milestones=[1.5]), "milestones must be ints"),
    (lambda: lr_scheduler.ExponentialLR(sgd(), gamma=float("nan")), "gamma"),
    (lambda: lr_scheduler.ExponentialLR(sgd(), gamma=0.5, last_epoch=3), "last_epoch=3"),
])
def test_bad_options_are_refused_with_the_scheduler_named(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_refusals_match_torchs_where_torch_refuses():
    # factor >= 1 and a wrong number of min_lrs: torch raises ValueError too.
    params = [torch.nn.Parameter(torch.ones(1))]
    for options in (dict(factor=1.0), dict(min_lr=[0.1, 0.2])):
        with pytest.raises(ValueError):
            torch.optim.lr_scheduler.ReduceLROnPlateau(torch.optim.SGD(params, lr=1.0), **options)
        with pytest.raises(ValueError):
            lr_scheduler.ReduceLROnPlateau(sgd(), **options)


def test_scheduler_drives_training_as_torchs():
    # One SGD step per epoch on the same quadratic, the lr from LambdaLR: same weights.
    w = cr.tensor(np.array([2.0, -1.0]), requires_grad=True)
    tw = torch.tensor([2.0, -1.0], dtype=torch.float64, requires_grad=True)
    opt, topt = optim.SGD([w], lr=0.1), torch.optim.SGD([tw], lr=0.1)
    s = lr_scheduler.LambdaLR(opt, warm_up)
    ts = torch.optim.lr_scheduler.LambdaLR(topt, warm_up)
    for _ in range(6):
        opt.zero_grad()
        topt.zero_grad()
        (w * w).sum().backward()
        (tw * tw).sum().backward()
        opt.step()
        topt.step()
        s.step()
        ts.step()
    np.testing.assert_array_equal(w.detach().numpy(), tw.detach().numpy())
