"""Beginner material's PyTorch code, run under PyTorch and under chainrule with the import
changed: the 60-minute blitz, d2l's early chapters and builders' guide, cs231n's numerical
gradient check, micrograd's scalar graph, and the DataLoader, optimizer and scheduler idioms
that tutorials share. Everything a program stores in ``out`` must agree with PyTorch: values,
and for tensors their shape and dtype too. Weights and data come from NumPy, so both runs start
from the same numbers.
"""
import math
import textwrap

import numpy as np
import pytest

torch = pytest.importorskip("torch")

HEADERS = {
    "torch": """
import torch
from torch import nn, optim
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset, TensorDataset
""",
    "chainrule": """
import chainrule as torch
from chainrule import nn, optim
from chainrule.nn import functional as F
from chainrule.utils.data import DataLoader, Dataset, TensorDataset
""",
}

# Both libraries start every network from the same NumPy draw.
PRELUDE = """
def init_from_numpy(net, seed=0, scale=0.1):
    r = np.random.default_rng(seed)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.tensor((r.standard_normal(tuple(p.shape)) * scale).astype(np.float32)))
rng = np.random.default_rng(0)
"""


def _run(body, library, tmp_path):
    folder = tmp_path / library
    folder.mkdir(exist_ok=True)
    namespace = {"out": {}, "np": np, "math": math, "tmp": str(folder)}
    source = HEADERS[library] + PRELUDE + textwrap.dedent(body)
    exec(compile(source, f"<{library} program>", "exec"), namespace)
    return namespace["out"]


def _dtype_name(dtype):
    return str(dtype).replace("torch.", "")


def _check(key, got, want, rtol, atol):
    if hasattr(want, "detach"):
        assert hasattr(got, "detach"), f"{key}: got a {type(got).__name__}, PyTorch a Tensor"
        got, want = got.detach(), want.detach()
        assert tuple(got.shape) == tuple(want.shape), f"{key}: shape {tuple(got.shape)} != " \
                                                      f"PyTorch's {tuple(want.shape)}"
        assert _dtype_name(got.dtype) == _dtype_name(want.dtype), \
            f"{key}: dtype {got.dtype} != PyTorch's {want.dtype}"
        np.testing.assert_allclose(np.asarray(got.numpy(), dtype=np.float64),
                                   np.asarray(want.numpy(), dtype=np.float64),
                                   rtol=rtol, atol=atol, err_msg=key)
    elif isinstance(want, (list, tuple)):
        assert isinstance(got, (list, tuple)) and len(got) == len(want), \
            f"{key}: {got!r} != {want!r}"
        for index, (g, w) in enumerate(zip(got, want)):
            _check(f"{key}[{index}]", g, w, rtol, atol)
    elif isinstance(want, np.ndarray) or isinstance(want, float):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=key)
        assert type(got) is type(want), f"{key}: {type(got).__name__} != {type(want).__name__}"
    elif type(want).__name__ == "Size":
        assert tuple(got) == tuple(want), f"{key}: {got!r} != {want!r}"
    else:
        assert type(got) is type(want) and got == want, f"{key}: {got!r} != PyTorch's {want!r}"


def _compare(body, tmp_path, rtol=1e-5, atol=1e-6):
    expected = _run(body, "torch", tmp_path)
    actual = _run(body, "chainrule", tmp_path)
    assert expected, "the program recorded nothing to compare"
    assert actual.keys() == expected.keys()
    for key, want in expected.items():
        _check(key, actual[key], want, rtol, atol)


PROGRAMS = {}

PROGRAMS["blitz_tensors"] = """
data = [[1, 2], [3, 4]]
x_data = torch.tensor(data)
out['x_data'] = x_data
out['x_np'] = torch.from_numpy(np.array(data))
out['x_ones'] = torch.ones_like(x_data)
x_rand = torch.rand_like(x_data, dtype=torch.float)
out['x_rand'] = (tuple(x_rand.shape), x_rand.dtype == torch.float32)
out['ones'] = torch.ones((2, 3,))
tensor = torch.rand(3, 4)
out['attrs'] = (tuple(tensor.shape), tensor.dtype == torch.float32, str(tensor.device))
tensor = torch.ones(4, 4)
out['rows'] = (tensor[0].clone(), tensor[:, 0].clone(), tensor[..., -1].clone())
tensor[:, 1] = 0
out['t'] = tensor.clone()
out['t1'] = torch.cat([tensor, tensor, tensor], dim=1)
out['y'] = (tensor @ tensor.T, tensor.matmul(tensor.T), torch.matmul(tensor, tensor.T))
out['z'] = (tensor * tensor, tensor.mul(tensor), torch.mul(tensor, tensor))
agg = tensor.sum()
out['agg_item'] = agg.item()
tensor.add_(5)
out['t5'] = tensor
t = torch.ones(5)
n = t.numpy()
t.add_(1)
out['n_shares_memory'] = n.copy()
n = np.ones(5)
t = torch.from_numpy(n)
np.add(n, 1, out=n)
out['t_shares_memory'] = t
"""

PROGRAMS["d2l_data_manipulation"] = """
x = torch.arange(12)
out['x'] = x
out['numel'] = x.numel()
X = x.reshape(3, 4)
out['X'] = X.clone()
out['Xm1'] = x.reshape(-1, 4)
out['zeros'] = torch.zeros((2, 3, 4))
out['rows'] = (X[-1].clone(), X[1:3].clone())
X[1, 2] = 17
out['X2'] = X.clone()
X[:2, :] = 12
out['X3'] = X.clone()
out['exp'] = torch.exp(x)
x = torch.tensor([1.0, 2, 4, 8])
y = torch.tensor([2, 2, 2, 2])
out['arith'] = (x + y, x - y, x * y, x / y, x ** y)
X = torch.arange(12, dtype=torch.float32).reshape((3, 4))
Y = torch.tensor([[2.0, 1, 4, 3], [1, 2, 3, 4], [4, 3, 2, 1]])
out['cat'] = (torch.cat((X, Y), dim=0), torch.cat((X, Y), dim=1))
out['cmp'] = (X == Y, X < Y, X.sum())
out['bcast'] = torch.arange(3).reshape((3, 1)) + torch.arange(2).reshape((1, 2))
before = id(Y)
Y = Y + X
out['new_memory'] = id(Y) == before
Z = torch.zeros_like(Y)
before = id(Z)
Z[:] = X + Y
out['slice_assign_same_object'] = id(Z) == before
before = id(X)
X += Y
out['iadd_same_object'] = id(X) == before
out['X_after'] = X
a = torch.tensor([3.5])
out['scalars'] = (a.item(), float(a), int(a))
out['meta'] = (len(X), tuple(X.size()), X.size(1), X.dim(), X.ndim)
"""

PROGRAMS["d2l_linear_algebra"] = """
x = torch.tensor(3.0); y = torch.tensor(2.0)
out['ops'] = (x + y, x * y, x / y, x ** y)
A = torch.arange(6).reshape(3, 2)
out['AT'] = A.T
A = torch.tensor([[1, 2, 3], [2, 0, 4], [3, 4, 5]])
out['sym'] = A == A.T
X = torch.arange(24).reshape(2, 3, 4)
A = torch.arange(6, dtype=torch.float32).reshape(2, 3)
B = A.clone()
out['AB'] = (A + B, A * B, 2 + X)
x = torch.arange(3, dtype=torch.float32)
out['sums'] = (x.sum(), A.sum(axis=0), A.sum(axis=1), A.sum(axis=[0, 1]))
out['means'] = (A.mean(), A.sum() / A.numel(), A.mean(axis=0))
sum_A = A.sum(axis=1, keepdims=True)
out['sum_A'] = (sum_A, A / sum_A, A.cumsum(axis=0))
y = torch.ones(3, dtype=torch.float32)
out['dot'] = (torch.dot(x, y), torch.sum(x * y))
out['mv'] = A @ x
out['mm'] = (torch.mm(A, torch.ones(3, 4)), A @ torch.ones(3, 4))
u = torch.tensor([3.0, -4.0])
out['norms'] = (torch.norm(u), torch.abs(u).sum(), torch.norm(torch.ones((4, 9))))
"""

PROGRAMS["blitz_autograd"] = """
a = torch.tensor([2., 3.], requires_grad=True)
b = torch.tensor([6., 4.], requires_grad=True)
Q = 3 * a ** 3 - b ** 2
Q.backward(gradient=torch.tensor([1., 1.]))
out['grads'] = (a.grad.clone(), b.grad.clone())
out['check'] = bool((9 * a ** 2 == a.grad).all())
x = torch.rand(5, 5)
z = torch.rand((5, 5), requires_grad=True)
out['rg'] = ((x + x).requires_grad, (x + z).requires_grad, (x + x).grad_fn is None)
x = torch.ones(2, 2, requires_grad=True)
o = ((x + 2) * (x + 2) * 3).mean()
o.backward()
out['xg'] = x.grad
x = torch.randn(3, requires_grad=True)
y = x * 2
while y.data.norm() < 1000:
    y = y * 2
y.backward(torch.tensor([0.1, 1.0, 0.0001], dtype=torch.float))
out['xg_shape'] = tuple(x.grad.shape)
with torch.no_grad():
    out['no_grad'] = (x ** 2).requires_grad
y = x.detach()
out['detach'] = (y.requires_grad, bool(x.eq(y).all()))
a = torch.randn(2, 2)
a = ((a * 3) / (a - 1))
before = a.requires_grad
a.requires_grad_(True)
out['requires_grad_'] = (before, a.requires_grad)
"""

PROGRAMS["d2l_autograd"] = """
x = torch.arange(4.0)
x.requires_grad_(True)
out['none_first'] = x.grad is None
y = 2 * torch.dot(x, x)
y.backward()
out['g1'] = x.grad.clone()
x.grad.zero_()
x.sum().backward()
out['g2'] = x.grad.clone()
x.grad.zero_()
y = x * x
y.backward(gradient=torch.ones(len(y)))
out['g3'] = x.grad.clone()
x.grad.zero_()
y = x * x
u = y.detach()
(u * x).sum().backward()
out['g4'] = x.grad == u
x.grad.zero_()
y.sum().backward()
out['g5'] = x.grad == 2 * x
def f(a):
    b = a * 2
    while b.norm() < 1000:
        b = b * 2
    return b if b.sum() > 0 else 100 * b
a = torch.tensor(0.37, requires_grad=True)
d = f(a)
d.backward()
out['control_flow'] = a.grad == d / a
w = torch.tensor([1.0, 2.0], requires_grad=True)
(w * w).sum().backward(); (w * w).sum().backward()
out['accumulates'] = w.grad
x = torch.tensor([1.0, 2.0], requires_grad=True)
y = (x ** 3).sum()
y.backward(retain_graph=True)
y.backward()
out['retain_graph'] = x.grad
x = torch.tensor(2.0, requires_grad=True)
g, = torch.autograd.grad(x ** 3, x, create_graph=True)
g2, = torch.autograd.grad(g, x)
out['second_order'] = (g, g2, g.requires_grad)
x = torch.tensor([1.0, 2.0], requires_grad=True)
y = x * 2
y.retain_grad()
(y * y).sum().backward()
out['retain_grad'] = (y.grad, x.is_leaf, y.is_leaf)
"""

CNN = """
class Net(nn.Module):
    def __init__(self, channels):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(channels, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)
    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)
"""

PROGRAMS["blitz_neural_networks"] = CNN + """
net = Net(1)
init_from_numpy(net)
params = list(net.parameters())
out['params'] = (len(params), tuple(params[0].size()))
input = torch.tensor(rng.standard_normal((1, 1, 32, 32)).astype(np.float32))
o = net(input)
out['out'] = o
net.zero_grad()
o.backward(torch.tensor(rng.standard_normal((1, 10)).astype(np.float32)))
out['conv1_bias_grad'] = net.conv1.bias.grad.clone()
output = net(input)
target = torch.tensor(rng.standard_normal(10).astype(np.float32)).view(1, -1)
criterion = nn.MSELoss()
loss = criterion(output, target)
out['loss'] = loss
net.zero_grad()
out['after_zero_grad'] = net.conv1.bias.grad
loss.backward()
out['after_backward'] = net.conv1.bias.grad.clone()
for f in net.parameters():
    f.data.sub_(f.grad.data * 0.01)
out['manual_update'] = net.conv1.weight.clone()
optimizer = optim.SGD(net.parameters(), lr=0.01)
for i in range(3):
    optimizer.zero_grad()
    loss = criterion(net(input), target)
    loss.backward()
    optimizer.step()
out['sgd'] = net.fc3.weight.clone()
optimizer.zero_grad()
out['zero_grad_sets_none'] = net.conv1.weight.grad is None
"""

PROGRAMS["blitz_cifar10_training_loop"] = CNN + """
net = Net(3)
init_from_numpy(net)
X = torch.tensor(rng.standard_normal((8, 3, 32, 32)).astype(np.float32))
Y = torch.tensor(rng.integers(0, 10, 8))
trainloader = DataLoader(TensorDataset(X, Y), batch_size=4, shuffle=False)
criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(net.parameters(), lr=0.001, momentum=0.9)
for epoch in range(2):
    running_loss = 0.0
    for i, data in enumerate(trainloader, 0):
        inputs, labels = data
        optimizer.zero_grad()
        loss = criterion(net(inputs), labels)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
    out[f'epoch{epoch}'] = running_loss
PATH = tmp + '/cifar_net.pth'
torch.save(net.state_dict(), PATH)
net2 = Net(3)
net2.load_state_dict(torch.load(PATH, weights_only=True))
correct = total = 0
with torch.no_grad():
    for images, labels in trainloader:
        outputs = net2(images)
        _, predicted = torch.max(outputs.data, 1)
        total += labels.size(0)
        correct += (predicted == labels).sum().item()
out['counts'] = (correct, total, f'{100 * correct // total} %')
out['predicted'] = predicted
classes = ('plane', 'car', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck')
out['names'] = ' '.join(f'{classes[predicted[j]]:5s}' for j in range(4))
correct_pred = {classname: 0 for classname in classes}
with torch.no_grad():
    for images, labels in trainloader:
        _, predictions = torch.max(net(images), 1)
        for label, prediction in zip(labels, predictions):
            if label == prediction:
                correct_pred[classes[label]] += 1
out['per_class'] = sorted(correct_pred.items())
"""

PROGRAMS["d2l_linear_regression_scratch"] = """
import random
def synthetic_data(w, b, n):
    X = torch.tensor(rng.normal(0, 1, (n, len(w))).astype(np.float32))
    y = torch.matmul(X, w) + b
    y += torch.tensor(rng.normal(0, 0.01, tuple(y.shape)).astype(np.float32))
    return X, y.reshape((-1, 1))
true_w = torch.tensor([2, -3.4])
true_b = 4.2
features, labels = synthetic_data(true_w, true_b, 200)
def data_iter(batch_size, features, labels):
    indices = list(range(len(features)))
    random.Random(0).shuffle(indices)
    for i in range(0, len(features), batch_size):
        batch_indices = torch.tensor(indices[i: min(i + batch_size, len(features))])
        yield features[batch_indices], labels[batch_indices]
w = torch.tensor(rng.normal(0, 0.01, (2, 1)).astype(np.float32), requires_grad=True)
b = torch.zeros(1, requires_grad=True)
def linreg(X, w, b):
    return torch.matmul(X, w) + b
def squared_loss(y_hat, y):
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2
def sgd(params, lr, batch_size):
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()
for epoch in range(3):
    for X, y in data_iter(10, features, labels):
        l = squared_loss(linreg(X, w, b), y)
        l.sum().backward()
        sgd([w, b], 0.03, 10)
    with torch.no_grad():
        out[f'epoch{epoch}'] = float(squared_loss(linreg(features, w, b), labels).mean())
out['w'] = w; out['b'] = b
out['errors'] = (true_w - w.reshape(true_w.shape), true_b - b)
out['leaf'] = (w.is_leaf, w.grad_fn is None)
"""

PROGRAMS["d2l_linear_regression_concise"] = """
features = torch.tensor(rng.normal(0, 1, (200, 2)).astype(np.float32))
labels = (features @ torch.tensor([2, -3.4]) + 4.2).reshape(-1, 1)
data = torch.utils.data
def load_array(data_arrays, batch_size, is_train=True):
    return data.DataLoader(data.TensorDataset(*data_arrays), batch_size, shuffle=is_train)
data_iter = load_array((features, labels), 10, is_train=False)
out['first'] = next(iter(data_iter))
net = nn.Sequential(nn.Linear(2, 1))
net[0].weight.data.normal_(0, 0.01)
net[0].bias.data.fill_(0)
out['bias_filled'] = net[0].bias.clone()
net[0].weight.data = torch.tensor([[0.01, -0.02]])
loss = nn.MSELoss()
trainer = torch.optim.SGD(net.parameters(), lr=0.03)
for epoch in range(3):
    for X, y in data_iter:
        l = loss(net(X), y)
        trainer.zero_grad()
        l.backward()
        trainer.step()
    out[f'epoch{epoch}'] = loss(net(features), labels)
out['wb'] = (net[0].weight.data, net[0].bias.data, net[0].weight.grad)
pred = net(features)
out['losses'] = (nn.HuberLoss()(pred, labels), nn.SmoothL1Loss()(pred, labels),
                 nn.L1Loss()(pred, labels), nn.MSELoss(reduction='sum')(pred, labels))
"""

PROGRAMS["d2l_softmax_regression_scratch"] = """
X = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
out['keepdim'] = (X.sum(0, keepdim=True), X.sum(1, keepdim=True))
def softmax(X):
    X_exp = torch.exp(X)
    return X_exp / X_exp.sum(1, keepdim=True)
X_prob = softmax(torch.tensor(rng.normal(0, 1, (2, 5)).astype(np.float32)))
out['softmax'] = (X_prob, X_prob.sum(1))
y = torch.tensor([0, 2])
y_hat = torch.tensor([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]])
out['pick'] = y_hat[[0, 1], y]
def cross_entropy(y_hat, y):
    return - torch.log(y_hat[list(range(len(y_hat))), y])
out['ce'] = cross_entropy(y_hat, y)
def accuracy(y_hat, y):
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())
out['acc'] = accuracy(y_hat, y) / len(y)
W = torch.tensor(rng.normal(0, 0.01, (784, 10)).astype(np.float32), requires_grad=True)
b = torch.zeros(10, requires_grad=True)
Xb = torch.tensor(rng.normal(0, 1, (8, 1, 28, 28)).astype(np.float32))
yb = torch.tensor(rng.integers(0, 10, 8))
def net(X):
    return softmax(torch.matmul(X.reshape((-1, W.shape[0])), W) + b)
cross_entropy(net(Xb), yb).mean().backward()
out['grads'] = (W.grad, b.grad)
out['acc_batch'] = accuracy(net(Xb), yb)
out['argmax'] = net(Xb).argmax(axis=1)
"""

PROGRAMS["d2l_softmax_mlp_dropout_weight_decay"] = """
X = torch.tensor(rng.normal(0, 1, (16, 1, 28, 28)).astype(np.float32))
Y = torch.tensor(rng.integers(0, 10, 16))
train_iter = DataLoader(TensorDataset(X, Y), batch_size=8)
net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
def init_weights(m):
    if type(m) == nn.Linear:
        nn.init.normal_(m.weight, std=0.01)
net.apply(init_weights)
init_from_numpy(net, 3)
loss = nn.CrossEntropyLoss(reduction='none')
trainer = torch.optim.SGD(net.parameters(), lr=0.1)
for Xb, yb in train_iter:
    l = loss(net(Xb), yb)
    trainer.zero_grad()
    l.mean().backward()
    trainer.step()
out['softmax_concise'] = (net[1].weight, l)
num_inputs, num_outputs, num_hiddens = 784, 10, 256
W1 = nn.Parameter(torch.tensor(rng.normal(0, 0.01, (num_inputs, num_hiddens)).astype(np.float32)))
b1 = nn.Parameter(torch.zeros(num_hiddens, requires_grad=True))
W2 = nn.Parameter(torch.tensor(rng.normal(0, 0.01, (num_hiddens, num_outputs)).astype(np.float32)))
b2 = nn.Parameter(torch.zeros(num_outputs, requires_grad=True))
def relu(X):
    return torch.max(X, torch.zeros_like(X))
def mlp(X):
    H = relu(X.reshape((-1, num_inputs)) @ W1 + b1)
    return H @ W2 + b2
updater = torch.optim.SGD([W1, b1, W2, b2], lr=0.1)
for Xb, yb in train_iter:
    l = nn.CrossEntropyLoss(reduction='none')(mlp(Xb), yb)
    updater.zero_grad(); l.mean().backward(); updater.step()
out['mlp_scratch'] = W2
net = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Dropout(0.2),
                    nn.Linear(256, 256), nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, 10))
init_from_numpy(net, 4, 0.05)
net.eval()
out['dropout_eval'] = (net(X), net.training, net[3].training)
net.train()
out['train_again'] = net[3].training
def dropout_layer(X, dropout):
    if dropout == 1:
        return torch.zeros_like(X)
    mask = (torch.rand(X.shape) > dropout).float()
    return mask * X / (1.0 - dropout)
Xd = torch.arange(16, dtype=torch.float32).reshape((2, 8))
out['dropout_layer'] = (dropout_layer(Xd, 0.), dropout_layer(Xd, 1.),
                        tuple(dropout_layer(Xd, 0.5).shape))
y = F.dropout(torch.ones(1000, 100), 0.3)
out['dropout_stats'] = (round(float((y == 0).float().mean()), 1), float(y.max()))
net = nn.Sequential(nn.Linear(200, 1))
init_from_numpy(net, 5)
Xw = torch.tensor(rng.normal(0, 1, (20, 200)).astype(np.float32))
yw = torch.tensor(rng.normal(0, 1, (20, 1)).astype(np.float32))
trainer = torch.optim.SGD([{"params": net[0].weight, 'weight_decay': 3},
                           {"params": net[0].bias}], lr=0.003)
for _ in range(5):
    trainer.zero_grad()
    nn.MSELoss(reduction='none')(net(Xw), yw).mean().backward()
    trainer.step()
out['weight_decay'] = (net[0].weight, net[0].bias, net[0].weight.norm().item(),
                       torch.sum(net[0].weight.pow(2)) / 2)
"""

PROGRAMS["d2l_builders_guide_modules"] = """
X = torch.tensor(rng.random((2, 20)).astype(np.float32))
net = nn.Sequential(nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10))
init_from_numpy(net)
out['sequential'] = net(X)
class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.LazyLinear(256)
        self.output = nn.LazyLinear(10)
    def forward(self, X):
        return self.output(F.relu(self.hidden(X)))
m = MLP()
m(X)
init_from_numpy(m)
out['mlp'] = (m(X), list(m.state_dict().keys()))
class MySequential(nn.Module):
    def __init__(self, *args):
        super().__init__()
        for idx, module in enumerate(args):
            setattr(self, str(idx), module)
    def forward(self, X):
        for module in self.children():
            X = module(X)
        return X
ms = MySequential(nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 10))
init_from_numpy(ms)
out['my_sequential'] = (ms(X), list(ms.state_dict().keys()))
class FixedHiddenMLP(nn.Module):
    def __init__(self):
        super().__init__()
        weight = np.random.default_rng(7).random((20, 20)).astype(np.float32)
        self.rand_weight = torch.tensor(weight)
        self.linear = nn.Linear(20, 20)
    def forward(self, X):
        X = self.linear(X)
        X = F.relu(X @ self.rand_weight + 1)
        X = self.linear(X)
        while X.abs().sum() > 1:
            X /= 2
        return X.sum()
class NestMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU())
        self.linear = nn.Linear(32, 16)
    def forward(self, X):
        return self.linear(self.net(X))
chimera = nn.Sequential(NestMLP(), nn.Linear(16, 20), FixedHiddenMLP())
init_from_numpy(chimera)
out['chimera'] = (chimera(X), list(chimera.state_dict().keys()), len(list(chimera.parameters())))
"""

PROGRAMS["d2l_builders_guide_parameters"] = """
X = torch.tensor(rng.random((2, 20)).astype(np.float32))
net = nn.Sequential(nn.LazyLinear(8), nn.ReLU(), nn.LazyLinear(1))
net(X)
init_from_numpy(net)
out['state_dict_keys'] = sorted(net[2].state_dict().keys())
out['bias'] = (type(net[2].bias).__name__, net[2].bias.data, net[2].weight.grad is None)
out['named'] = [(name, tuple(param.shape)) for name, param in net.named_parameters()]
out['state_dict_bias'] = net.state_dict()['2.bias'].data
shared = nn.LazyLinear(8)
net = nn.Sequential(nn.LazyLinear(8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(),
                    nn.LazyLinear(1))
net(X)
out['tied'] = bool((net[2].weight.data[0] == net[4].weight.data[0]).all())
net[2].weight.data[0, 0] = 100
out['tied_after_write'] = (bool((net[2].weight.data[0] == net[4].weight.data[0]).all()),
                           net[2].weight is net[4].weight)
out['tied_listed_once'] = ([n for n, _ in net.named_parameters()], list(net.state_dict().keys()))
init_from_numpy(net)
net(X).sum().backward()
out['tied_grad_sums_both_uses'] = net[2].weight.grad
out['counts'] = (sum(p.numel() for p in net.parameters()), len(list(net.children())))
out['modules'] = ([type(m).__name__ for m in net.modules()], [n for n, _ in net.named_modules()])
"""

PROGRAMS["d2l_builders_guide_init"] = """
X = torch.tensor(rng.random((2, 20)).astype(np.float32))
net = nn.Sequential(nn.LazyLinear(8), nn.ReLU(), nn.LazyLinear(1))
net(X)
def init_constant(module):
    if type(module) == nn.Linear:
        nn.init.constant_(module.weight, 1)
        nn.init.zeros_(module.bias)
net.apply(init_constant)
out['constant'] = (net[0].weight.data[0].clone(), net[0].bias.data[0].clone())
def init_normal(module):
    if type(module) == nn.Linear:
        nn.init.normal_(module.weight, mean=0, std=0.01)
        nn.init.zeros_(module.bias)
out['apply_returns_module'] = net.apply(init_normal) is net
out['normal_small'] = float(net[0].weight.data.std()) < 0.05
def init_xavier(module):
    if type(module) == nn.Linear:
        nn.init.xavier_uniform_(module.weight)
def init_42(module):
    if type(module) == nn.Linear:
        nn.init.constant_(module.weight, 42)
net[0].apply(init_xavier)
net[2].apply(init_42)
out['xavier_bound'] = float(net[0].weight.data.abs().max()) <= math.sqrt(6 / (20 + 8))
out['42'] = net[2].weight.data.clone()
def my_init(module):
    if type(module) == nn.Linear:
        nn.init.uniform_(module.weight, -10, 10)
        module.weight.data *= module.weight.data.abs() >= 5
net.apply(my_init)
w = net[0].weight.data
out['my_init'] = (bool(((w == 0) | (w.abs() >= 5)).all()), net[0].weight.dtype == torch.float32)
net[0].weight.data[:] = 1
net[0].weight.data[:] += 1
net[0].weight.data[0, 0] = 42
with torch.no_grad():
    net[0].weight[0, 1] = 7.0
out['direct_writes'] = net[0].weight.data[0].clone()
out['gains'] = (nn.init.calculate_gain('leaky_relu', 0.2), nn.init.calculate_gain('tanh'),
                nn.init.calculate_gain('relu'))
"""

PROGRAMS["d2l_builders_guide_custom_layers_and_io"] = """
class CenteredLayer(nn.Module):
    def forward(self, X):
        return X - X.mean()
out['centered'] = CenteredLayer()(torch.tensor([1.0, 2, 3, 4, 5]))
class MyLinear(nn.Module):
    def __init__(self, in_units, units):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_units, units))
        self.bias = nn.Parameter(torch.randn(units,))
    def forward(self, X):
        return F.relu(torch.matmul(X, self.weight.data) + self.bias.data)
linear = MyLinear(5, 3)
init_from_numpy(linear)
out['my_linear'] = (linear(torch.tensor(rng.random((2, 5)).astype(np.float32))),
                    list(linear.state_dict().keys()))
x = torch.arange(4)
torch.save(x, tmp + '/x-file')
out['load_tensor'] = torch.load(tmp + '/x-file')
y = torch.zeros(4)
torch.save([x, y], tmp + '/x-files')
out['load_list'] = torch.load(tmp + '/x-files')
torch.save({'x': x, 'y': y}, tmp + '/mydict')
mydict2 = torch.load(tmp + '/mydict')
out['load_dict'] = (sorted(mydict2.keys()), mydict2['x'])
class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(20, 256)
        self.output = nn.Linear(256, 10)
    def forward(self, x):
        return self.output(F.relu(self.hidden(x)))
net = MLP()
X = torch.tensor(rng.random((2, 20)).astype(np.float32))
Y = net(X)
torch.save(net.state_dict(), tmp + '/mlp.params')
clone = MLP()
result = clone.load_state_dict(torch.load(tmp + '/mlp.params'))
out['load_result'] = (list(result.missing_keys), list(result.unexpected_keys))
out['eval_returns_module'] = clone.eval() is clone
out['clone_same'] = bool((clone(X) == Y).all())
"""

PROGRAMS["dataloader_idioms"] = """
X = torch.arange(20, dtype=torch.float32).reshape(10, 2)
y = torch.arange(10)
ds = TensorDataset(X, y)
out['dataset'] = (len(ds), ds[3], ds[2:4], len(ds.tensors))
dl = DataLoader(ds, batch_size=4)
batches = [(xb.clone(), yb.clone()) for xb, yb in dl]
out['batches'] = (len(dl), batches[-1], [tuple(xb.shape) for xb, _ in batches])
out['drop_last'] = len(DataLoader(ds, batch_size=4, drop_last=True))
out['attributes'] = (dl.batch_size, dl.dataset is ds)
class MyDS(Dataset):
    def __init__(self): self.data = list(range(7))
    def __len__(self): return len(self.data)
    def __getitem__(self, i): return torch.tensor([float(self.data[i])]), self.data[i] % 2
out['custom_dataset'] = next(iter(DataLoader(MyDS(), batch_size=3)))
class DictDS(Dataset):
    def __len__(self): return 4
    def __getitem__(self, i):
        return {'x': np.array([i, i], dtype=np.float32), 'y': float(i), 'name': f'n{i}'}
batch = next(iter(DataLoader(DictDS(), batch_size=4)))
out['dict_batch'] = (batch['x'], batch['y'], batch['name'])
def collate(batch):
    xs, ys = zip(*batch)
    return torch.stack(xs), torch.tensor(ys)
out['collate_fn'] = next(iter(DataLoader(ds, batch_size=3, collate_fn=collate)))
tr, va = torch.utils.data.random_split(ds, [8, 2], generator=torch.Generator().manual_seed(0))
tr2, va2 = torch.utils.data.random_split(ds, [0.8, 0.2])
out['random_split'] = (len(tr), len(va), len(tr2), len(va2))
out['subset'] = torch.utils.data.Subset(ds, [0, 5])[1]
cat = torch.utils.data.ConcatDataset([ds, ds])
out['concat'] = (len(cat), cat[12])
out['batch_size_none'] = list(DataLoader(ds, batch_size=None))[0]
out['samplers'] = (list(torch.utils.data.SequentialSampler(ds)),
                   list(torch.utils.data.BatchSampler(
                       torch.utils.data.SequentialSampler(range(5)), 2, False)))
seen = torch.cat([yb for _, yb in DataLoader(ds, batch_size=4, shuffle=True)])
out['shuffle_is_a_permutation'] = sorted(seen.tolist())
out['plain_lists'] = (next(iter(DataLoader([1, 2, 3], batch_size=3))),
                      next(iter(DataLoader([1.0, 2.0], batch_size=2))),
                      next(iter(DataLoader([np.float32(1.0), np.float32(2.0)], batch_size=2))),
                      next(iter(DataLoader([np.array([1.0]), np.array([2.0])], batch_size=2))),
                      next(iter(DataLoader([(1, 2.0), (3, 4.0)], batch_size=2))))
"""

PROGRAMS["cs231n_numerical_gradient_check"] = """
def eval_numerical_gradient(f, x, h=1e-5):
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=['multi_index'], op_flags=['readwrite'])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        fxph = f(x)
        x[ix] = old - h
        fxmh = f(x)
        x[ix] = old
        grad[ix] = (fxph - fxmh) / (2 * h)
        it.iternext()
    return grad
Wn = rng.standard_normal((5, 3))
Xn = rng.standard_normal((4, 5))
yn = np.array([0, 2, 1, 2])
def loss_of(W):
    return F.cross_entropy(torch.tensor(Xn) @ torch.tensor(W), torch.tensor(yn)).item()
W = torch.tensor(Wn, requires_grad=True)
F.cross_entropy(torch.tensor(Xn) @ W, torch.tensor(yn)).backward()
num = eval_numerical_gradient(loss_of, Wn.copy())
out['analytic'] = W.grad
rel = np.abs(num - W.grad.numpy()) / np.maximum(1e-8, np.abs(num) + np.abs(W.grad.numpy()))
out['relative_error_small'] = float(rel.max()) < 1e-6
w = torch.tensor(Wn.copy())
flat = w.view(-1)
g = []
for i in range(flat.numel()):
    old = flat[i].item()
    flat[i] = old + 1e-6
    fp = F.cross_entropy(torch.tensor(Xn) @ w, torch.tensor(yn)).item()
    flat[i] = old - 1e-6
    fm = F.cross_entropy(torch.tensor(Xn) @ w, torch.tensor(yn)).item()
    flat[i] = old
    g.append((fp - fm) / 2e-6)
out['through_a_view'] = np.array(g).reshape(5, 3)
x = torch.randn(3, 4, dtype=torch.double, requires_grad=True)
out['gradcheck'] = (
    torch.autograd.gradcheck(lambda t: (t.sigmoid() * t).sum(), (x,), eps=1e-6, atol=1e-4),
    torch.autograd.gradgradcheck(lambda t: (t.tanh() ** 2).sum(), (x,)))
scores = torch.tensor(Xn) @ torch.tensor(Wn, requires_grad=True)
correct = scores[torch.arange(4), torch.tensor(yn)].unsqueeze(1)
margins = torch.clamp(scores - correct + 1, min=0)
margins[torch.arange(4), torch.tensor(yn)] = 0
out['svm'] = (margins.sum() / 4, F.multi_margin_loss(scores, torch.tensor(yn)))
"""

PROGRAMS["micrograd_and_makemore"] = """
a = torch.tensor(-4.0, requires_grad=True)
b = torch.tensor(2.0, requires_grad=True)
c = a + b
d = a * b + b**3
c = c + c + 1
c = c + 1 + c + (-a)
d = d + d * 2 + (b + a).relu()
d = d + 3 * d + (b - a).relu()
e = c - d
f = e**2
g = f / 2.0
g = g + 10.0 / f
g.backward()
out['micrograd'] = (g, a.grad, b.grad, g.item(), g.data.item())
x1 = torch.Tensor([2.0]).double(); x1.requires_grad = True
x2 = torch.Tensor([0.0]).double(); x2.requires_grad = True
w1 = torch.Tensor([-3.0]).double(); w1.requires_grad = True
w2 = torch.Tensor([1.0]).double(); w2.requires_grad = True
b = torch.Tensor([6.8813735870195432]).double(); b.requires_grad = True
o = torch.tanh(x1*w1 + x2*w2 + b)
o.backward()
out['neuron'] = (o.data.item(), x2.grad.item(), w2.grad.item(), x1.grad.item(),
                 w1.grad.item(), x1.is_leaf)
words = ['emma', 'olivia', 'ava']
chars = sorted(list(set(''.join(words))))
stoi = {s: i + 1 for i, s in enumerate(chars)}
stoi['.'] = 0
N = torch.zeros((len(stoi), len(stoi)), dtype=torch.int32)
xs, ys = [], []
for w in words:
    chs = ['.'] + list(w) + ['.']
    for ch1, ch2 in zip(chs, chs[1:]):
        N[stoi[ch1], stoi[ch2]] += 1
        xs.append(stoi[ch1]); ys.append(stoi[ch2])
P = (N + 1).float()
P /= P.sum(1, keepdims=True)
out['bigram_counts'] = (N, P)
xs = torch.tensor(xs); ys = torch.tensor(ys)
out['one_hot'] = F.one_hot(xs, num_classes=len(stoi))
xenc = F.one_hot(xs, num_classes=len(stoi)).float()
W = torch.tensor(rng.standard_normal((len(stoi), len(stoi))).astype(np.float32),
                 requires_grad=True)
for k in range(3):
    counts = (xenc @ W).exp()
    probs = counts / counts.sum(1, keepdims=True)
    loss = -probs[torch.arange(len(xs)), ys].log().mean() + 0.01 * (W**2).mean()
    W.grad = None
    loss.backward()
    W.data += -50 * W.grad
out['bigram_net'] = (loss, W)
"""

PROGRAMS["containers_freezing_clipping_checkpoints"] = """
from collections import OrderedDict
X = torch.tensor(rng.random((6, 4)).astype(np.float32))
Y = torch.tensor(rng.integers(0, 3, 6))
net = nn.Sequential(OrderedDict([('fc1', nn.Linear(4, 5)), ('act', nn.ReLU()),
                                 ('fc2', nn.Linear(5, 3))]))
init_from_numpy(net)
out['ordered_dict'] = (net(X), list(net.state_dict().keys()))
out['indexing'] = (len(net), type(net[-1]).__name__, type(net[:2]).__name__, net[:2](X),
                   [type(m).__name__ for m in net])
net.append(nn.Softmax(dim=1))
out['append'] = net(X)
ml = nn.ModuleList([nn.Linear(4, 4) for _ in range(2)])
init_from_numpy(ml, 2)
h = X
for layer in ml:
    h = layer(h)
out['module_list'] = (h, list(ml.state_dict().keys()))
md = nn.ModuleDict({'a': nn.Linear(4, 2), 'b': nn.ReLU()})
out['module_dict'] = (list(md.state_dict().keys()), [k for k, _ in md.items()])
class WithBuffer(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer('running', torch.zeros(4))
        self.register_buffer('tmp', torch.ones(1), persistent=False)
        self.lin = nn.Linear(4, 2)
    def forward(self, x):
        self.running += x.mean(0)
        return self.lin(x) + self.tmp
wb = WithBuffer()
init_from_numpy(wb)
out['buffers'] = (wb(X), list(wb.state_dict().keys()), [n for n, _ in wb.named_buffers()],
                  wb.running, len(list(wb.parameters())))
out['identity_flatten'] = (nn.Identity()(X), tuple(nn.Flatten(0)(X).shape),
                           tuple(nn.Unflatten(1, (2, 2))(X).shape))
net = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3))
init_from_numpy(net)
for p in net[0].parameters():
    p.requires_grad = False
opt = optim.SGD(filter(lambda p: p.requires_grad, net.parameters()), lr=0.1)
loss = F.cross_entropy(net(X), Y); opt.zero_grad(); loss.backward(); opt.step()
out['frozen'] = (net[0].weight.grad is None, net[0].weight.clone(), net[2].weight.clone())
net.requires_grad_(False)
out['all_frozen'] = all(not p.requires_grad for p in net.parameters())
net = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3))
init_from_numpy(net, 1, 1.0)
opt = optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
for epoch in range(3):
    for g in opt.param_groups:
        g['lr'] = 0.1 / (epoch + 1)
    opt.zero_grad()
    F.cross_entropy(net(X), Y).backward()
    out[f'total_norm{epoch}'] = nn.utils.clip_grad_norm_(net.parameters(), max_norm=0.5)
    nn.utils.clip_grad_value_(net.parameters(), 0.05)
    opt.step()
out['clipped'] = net[0].weight.clone()
torch.save({'model': net.state_dict(), 'opt': opt.state_dict(), 'epoch': 3}, tmp + '/ckpt.pt')
ck = torch.load(tmp + '/ckpt.pt')
net2 = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3))
net2.load_state_dict(ck['model'])
opt2 = optim.SGD(net2.parameters(), lr=0.1, momentum=0.9)
opt2.load_state_dict(ck['opt'])
for n_, o_ in ((net, opt), (net2, opt2)):
    o_.zero_grad(); F.cross_entropy(n_(X), Y).backward(); o_.step()
out['resumed'] = (opt2.param_groups[0]['lr'], ck['epoch'],
                  bool(torch.equal(net[0].weight, net2[0].weight)),
                  sorted(opt.state_dict()['state'][0].keys()))
@torch.no_grad()
def evaluate(m, x):
    return m(x)
@torch.no_grad
def evaluate_bare(m, x):
    return m(x)
with torch.inference_mode():
    inference = net(X).requires_grad
out['no_grad'] = (evaluate(net, X).requires_grad, evaluate_bare(net, X).requires_grad, inference)
device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
out['device'] = (str(device), net.to('cpu') is net, tuple(X.to(device).shape))
out['casts'] = (net.double()(X.double()).dtype == torch.float64,
                net.float()[0].weight.dtype == torch.float32)
out['train_eval'] = (net.train() is net, net.train(False).training)
"""

PROGRAMS["batchnorm_train_and_eval"] = """
X = torch.tensor(rng.random((6, 4)).astype(np.float32))
bn = nn.BatchNorm1d(4)
out['train'] = (bn(X), list(bn.state_dict().keys()), bn.running_mean.clone(),
                bn.running_var.clone(), bn.num_batches_tracked.clone())
bn.eval()
out['eval'] = bn(X)
bn2 = nn.BatchNorm2d(3, momentum=None)
Z = torch.tensor(rng.random((2, 3, 4, 4)).astype(np.float32))
bn2(Z); bn2(Z * 2)
out['cumulative_average'] = bn2.running_mean
out['layer_norm'] = (nn.LayerNorm(4)(X), list(nn.LayerNorm(4).state_dict().keys()))
net = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.5),
                    nn.Linear(8, 3))
init_from_numpy(net)
net.eval()
out['network_eval'] = (net(X), list(net.state_dict().keys()),
                       net.state_dict()['1.num_batches_tracked'])
"""


PROGRAMS["pytorch_quickstart"] = """
device = "cuda" if torch.cuda.is_available() else "cpu"
out['device'] = device
X = torch.tensor(rng.random((20, 1, 28, 28)).astype(np.float32))
Y = torch.tensor(rng.integers(0, 10, 20))
training_data = TensorDataset(X, Y)
train_dataloader = DataLoader(training_data, batch_size=8)
for Xb, yb in train_dataloader:
    out['shapes'] = (list(Xb.shape), tuple(yb.shape), yb.dtype == torch.int64)
    break
class NeuralNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.linear_relu_stack = nn.Sequential(
            nn.Linear(28*28, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    def forward(self, x):
        x = self.flatten(x)
        logits = self.linear_relu_stack(x)
        return logits
model = NeuralNetwork().to(device)
init_from_numpy(model, 1, 0.05)
out['repr'] = str(model)
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
def train(dataloader, model, loss_fn, optimizer):
    size = len(dataloader.dataset)
    model.train()
    logs = []
    for batch, (X, y) in enumerate(dataloader):
        X, y = X.to(device), y.to(device)
        pred = model(X)
        loss = loss_fn(pred, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        loss, current = loss.item(), (batch + 1) * len(X)
        logs.append((loss, f"[{current:>5d}/{size:>5d}]"))
    return logs
def test(dataloader, model, loss_fn):
    size = len(dataloader.dataset)
    num_batches = len(dataloader)
    model.eval()
    test_loss, correct = 0, 0
    with torch.no_grad():
        for X, y in dataloader:
            X, y = X.to(device), y.to(device)
            pred = model(X)
            test_loss += loss_fn(pred, y).item()
            correct += (pred.argmax(1) == y).type(torch.float).sum().item()
    test_loss /= num_batches
    correct /= size
    return f"Test Error: Accuracy: {(100*correct):>0.1f}%, Avg loss: {test_loss:>8f}"
for t in range(2):
    out[f'logs{t}'] = train(train_dataloader, model, loss_fn, optimizer)
    out[f'test{t}'] = test(train_dataloader, model, loss_fn)
torch.save(model.state_dict(), tmp + "/model.pth")
model2 = NeuralNetwork().to(device)
model2.load_state_dict(torch.load(tmp + "/model.pth", weights_only=True))
model2.eval()
x, y = X[0], Y[0]
with torch.no_grad():
    x = x.to(device)
    pred = model2(x)
    out['pred'] = pred
    out['pred_idx'] = int(pred[0].argmax(0))
# build model tutorial
Xr = torch.tensor(rng.random((1, 28, 28)).astype(np.float32))
logits = model(Xr)
pred_probab = nn.Softmax(dim=1)(logits)
y_pred = pred_probab.argmax(1)
out['y_pred'] = y_pred
input_image = torch.tensor(rng.random((3, 28, 28)).astype(np.float32))
flat_image = nn.Flatten()(input_image)
out['flat'] = flat_image.size()
layer1 = nn.Linear(in_features=28*28, out_features=20)
init_from_numpy(layer1)
hidden1 = layer1(flat_image)
out['h1'] = hidden1.size()
out['relu'] = nn.ReLU()(hidden1)
params_str = []
for name, param in model.named_parameters():
    params_str.append(f"Layer: {name} | Size: {tuple(param.size())}")
out["params_str"] = params_str
# autograd tutorial
x = torch.ones(5)
y = torch.zeros(3)
w = torch.tensor(rng.standard_normal((5, 3)).astype(np.float32), requires_grad=True)
b = torch.tensor(rng.standard_normal(3).astype(np.float32), requires_grad=True)
z = torch.matmul(x, w)+b
loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
out['gf_z'] = z.grad_fn is not None
loss.backward()
out['wg'] = w.grad; out['bg'] = b.grad
z = torch.matmul(x, w)+b
out['rg'] = z.requires_grad
with torch.no_grad():
    z = torch.matmul(x, w)+b
out['rg2'] = z.requires_grad
z_det = (torch.matmul(x, w)+b).detach()
out['rg3'] = z_det.requires_grad
inp = torch.eye(4, 5, requires_grad=True)
o = (inp+1).pow(2).t()
o.backward(torch.ones_like(o), retain_graph=True)
out['first'] = inp.grad.clone()
o.backward(torch.ones_like(o), retain_graph=True)
out['second'] = inp.grad.clone()
inp.grad.zero_()
o.backward(torch.ones_like(o), retain_graph=True)
out['third'] = inp.grad.clone()
# tensors tutorial extras
tensor = torch.ones(4, 4)
out['agg'] = tensor.sum().item()
"""

PROGRAMS["d2l_convolutions_lenet_resnet_nin"] = """
def corr2d(X, K):
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i:i + h, j:j + w] * K).sum()
    return Y
X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
out['corr2d'] = corr2d(X, K)
X = torch.ones((6, 8)); X[:, 2:6] = 0
K = torch.tensor([[1.0, -1.0]])
Y = corr2d(X, K)
out['edge'] = Y
conv2d = nn.LazyConv2d(1, kernel_size=(1, 2), bias=False)
X = X.reshape((1, 1, 6, 8)); Y = Y.reshape((1, 1, 6, 7))
conv2d(X)
with torch.no_grad(): conv2d.weight.copy_(torch.tensor([[[[0.3, -0.2]]]]))
for i in range(10):
    Y_hat = conv2d(X)
    l = (Y_hat - Y) ** 2
    conv2d.zero_grad()
    l.sum().backward()
    conv2d.weight.data[:] -= 3e-2 * conv2d.weight.grad
out['learned_k'] = conv2d.weight.data.reshape((1, 2))
def comp_conv2d(conv2d, X):
    X = X.reshape((1, 1) + X.shape)
    Y = conv2d(X)
    return Y.reshape(Y.shape[2:])
X = torch.tensor(rng.random((8, 8)).astype(np.float32))
out['pad1'] = comp_conv2d(nn.LazyConv2d(1, kernel_size=3, padding=1), X).shape
out['pad2'] = comp_conv2d(nn.LazyConv2d(1, kernel_size=(5, 3), padding=(2, 1)), X).shape
out['stride'] = comp_conv2d(nn.LazyConv2d(1, kernel_size=(3, 5), padding=(0, 1),
                                          stride=(3, 4)), X).shape
X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
def pool2d(X, pool_size, mode='max'):
    p_h, p_w = pool_size
    Y = torch.zeros((X.shape[0] - p_h + 1, X.shape[1] - p_w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            if mode == 'max':
                Y[i, j] = X[i: i + p_h, j: j + p_w].max()
            elif mode == 'avg':
                Y[i, j] = X[i: i + p_h, j: j + p_w].mean()
    return Y
out['pool'] = (pool2d(X, (2, 2)), pool2d(X, (2, 2), 'avg'))
X = torch.arange(16, dtype=torch.float32).reshape((1, 1, 4, 4))
out['mp'] = (nn.MaxPool2d(3)(X), nn.MaxPool2d(3, padding=1, stride=2)(X),
             nn.MaxPool2d((2, 3), stride=(2, 3), padding=(0, 1))(X))
X = torch.cat((X, X + 1), 1)
out['mp2'] = nn.MaxPool2d(3, padding=1, stride=2)(X)
lenet = nn.Sequential(
    nn.LazyConv2d(6, kernel_size=5, padding=2), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
    nn.LazyConv2d(16, kernel_size=5), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
    nn.Flatten(), nn.LazyLinear(120), nn.Sigmoid(), nn.LazyLinear(84), nn.Sigmoid(),
    nn.LazyLinear(10))
X = torch.tensor(rng.random((2, 1, 28, 28)).astype(np.float32))
lenet(X); init_from_numpy(lenet, 0, 0.2)
shapes = []
h = X
for layer in lenet:
    h = layer(h); shapes.append((layer.__class__.__name__, tuple(h.shape)))
out['lenet_shapes'] = shapes
out['lenet'] = lenet(X)
class Residual(nn.Module):
    def __init__(self, num_channels, use_1x1conv=False, strides=1):
        super().__init__()
        self.conv1 = nn.LazyConv2d(num_channels, kernel_size=3, padding=1, stride=strides)
        self.conv2 = nn.LazyConv2d(num_channels, kernel_size=3, padding=1)
        if use_1x1conv:
            self.conv3 = nn.LazyConv2d(num_channels, kernel_size=1, stride=strides)
        else:
            self.conv3 = None
        self.bn1 = nn.LazyBatchNorm2d()
        self.bn2 = nn.LazyBatchNorm2d()
    def forward(self, X):
        Y = F.relu(self.bn1(self.conv1(X)))
        Y = self.bn2(self.conv2(Y))
        if self.conv3:
            X = self.conv3(X)
        Y += X
        return F.relu(Y)
blk = Residual(6, use_1x1conv=True, strides=2)
X = torch.tensor(rng.random((4, 3, 6, 6)).astype(np.float32))
blk(X); init_from_numpy(blk, 0, 0.2)
for m in blk.modules():
    if isinstance(m, nn.BatchNorm2d): m.reset_running_stats()
Y = blk(X)
out['res'] = Y
Y.sum().backward()
out['res_grad'] = blk.conv1.weight.grad
out['res_rm'] = blk.bn1.running_mean
blk.eval()
out['res_eval'] = blk(X)
out['res_keys'] = list(blk.state_dict().keys())
nin = nn.Sequential(nn.LazyConv2d(4, 3, 1, 1), nn.ReLU(), nn.LazyConv2d(4, kernel_size=1),
                    nn.ReLU(), nn.MaxPool2d(3, stride=2), nn.Dropout(0.5),
                    nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten())
nin(X); init_from_numpy(nin, 0, 0.2); nin.eval()
out['nin'] = nin(X)
"""

PROGRAMS["fine_tuning_and_module_api"] = """
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.5))
        self.fc = nn.Linear(8, 3)
    def forward(self, x):
        return self.fc(self.features(x))
model = Net(); init_from_numpy(model, 0, 0.3)
X = torch.tensor(np.random.default_rng(1).random((5, 4)).astype(np.float32))
out['named_nr'] = [n for n, _ in model.named_parameters(recurse=False)]
out['named_prefix'] = [n for n, _ in model.named_parameters(prefix='m')]
out['sd_prefix'] = list(model.state_dict(prefix='p.').keys())
for param in model.parameters():
    param.requires_grad = False
num_ftrs = model.fc.in_features
model.fc = nn.Linear(num_ftrs, 2)
init_from_numpy(model.fc, 3, 0.3)
out['trainable'] = [n for n, p in model.named_parameters() if p.requires_grad]
opt = optim.SGD(model.fc.parameters(), lr=0.1, momentum=0.9)
model.eval()
for _ in range(3):
    opt.zero_grad()
    loss = F.cross_entropy(model(X), torch.tensor([0, 1, 0, 1, 1]))
    loss.backward()
    opt.step()
out['ft_loss'] = loss
out['ft_w'] = model.fc.weight
out['frozen_grad'] = model.features[0].weight.grad is None
model.features = nn.Sequential(nn.Linear(4, 8), nn.ReLU())
out['setitem'] = type(model.features[0]).__name__
out['setitem_rg'] = model.features[0].weight.requires_grad
del model.fc
out['deleted'] = hasattr(model, 'fc')
sd = Net().state_dict()
sd.pop('fc.bias')
m2 = Net()
res = m2.load_state_dict(sd, strict=False)
out['nonstrict'] = (list(res.missing_keys), list(res.unexpected_keys))
sd = Net().state_dict()
sd['extra.weight'] = torch.ones(1)
res = m2.load_state_dict(sd, strict=False)
out['nonstrict2'] = (list(res.missing_keys), list(res.unexpected_keys))
try:
    bad = Net().state_dict(); bad['fc.weight'] = torch.ones(3, 9)
    m2.load_state_dict(bad)
    out['shape_mismatch'] = 'accepted'
except RuntimeError as e:
    out['shape_mismatch'] = 'RuntimeError'
feats = []
h = model.features.register_forward_hook(lambda m, i, o: feats.append(tuple(o.shape)))
model.features(X); h.remove(); model.features(X)
out['hook'] = feats
out['class'] = model.__class__.__name__
out['children'] = [type(c).__name__ for c in model.children()]
m3 = Net(); m3.eval()
out['nested_eval'] = [m.training for m in m3.modules()]
m3.train()
out['nested_train'] = [m.training for m in m3.modules()]
out['num_params'] = sum(p.numel() for p in Net().parameters() if p.requires_grad)
m4 = Net()
m4.fc.requires_grad_(False)
out['rg_partial'] = [p.requires_grad for p in m4.parameters()]
"""

PROGRAMS["autograd_api_and_gradients_at_kinks_and_ties"] = """
x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = x ** 2
g, = torch.autograd.grad(y, x, grad_outputs=torch.ones_like(y), retain_graph=True)
out['go'] = g
z = torch.tensor(1.0, requires_grad=True)
gs = torch.autograd.grad(y.sum(), [x, z], allow_unused=True, retain_graph=True)
out['unused'] = (gs[0], gs[1] is None)
seen = []
h = x.register_hook(lambda g: seen.append(g.clone()) or g * 2)
(x * 3).sum().backward()
out['hook_seen'] = seen[0]
out['hook_grad'] = x.grad
h.remove()
x.grad = None
(x * 3).sum().backward()
out['after_remove'] = x.grad
x = torch.tensor([1.0, 2.0], requires_grad=True)
y = x * 2
out['y_grad_none'] = y.grad is None
out['rg_leaf'] = (x.requires_grad, y.requires_grad, y.is_leaf)
x.grad = torch.tensor([5.0, 5.0])
(x * x).sum().backward()
out['acc_onto_set'] = x.grad
with torch.enable_grad():
    pass
torch.set_grad_enabled(False)
out['disabled'] = (x * 2).requires_grad
torch.set_grad_enabled(True)
out['enabled'] = (x * 2).requires_grad
out['is_enabled'] = torch.is_grad_enabled()
v = torch.tensor([1.0, 2.0], requires_grad=True)
w = v.clone()
w[0] = 10.0
w.sum().backward()
out['inplace_on_clone'] = v.grad
a = torch.tensor([2.0], requires_grad=True)
b = a.expand(3)
(b * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
out['expand_grad'] = a.grad
p = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
q = p[:, 0] * 2 + p.T[1]
q.sum().backward()
out['views_grad'] = p.grad
m = torch.tensor([1.0, -1.0, 0.0], requires_grad=True)
torch.relu(m).sum().backward(); out['relu0'] = m.grad
m2 = torch.tensor([1.0, -1.0, 0.0], requires_grad=True)
m2.abs().sum().backward(); out['abs0'] = m2.grad
m3 = torch.tensor([0.0, 4.0], requires_grad=True)
m3.sqrt().sum().backward(); out['sqrt0'] = m3.grad
m4 = torch.tensor([1.0, 3.0, 3.0], requires_grad=True)
m4.max().backward(); out['max_tie'] = m4.grad
m5 = torch.tensor([[1.0, 3.0, 3.0]], requires_grad=True)
m5.max(dim=1)[0].sum().backward(); out['max_dim_tie'] = m5.grad
m6 = torch.tensor([1.0, 3.0, 3.0], requires_grad=True)
torch.clamp(m6, 1.0, 3.0).sum().backward(); out['clamp_edge'] = m6.grad
m7 = torch.tensor([2.0, 2.0], requires_grad=True)
torch.maximum(m7, torch.tensor([2.0, 1.0])).sum().backward(); out['maximum_tie'] = m7.grad
m8 = torch.tensor([0.0], requires_grad=True)
(m8 ** 0.5).sum().backward(); out['pow_half0'] = m8.grad
m9 = torch.tensor([0.0, 1.0], requires_grad=True)
torch.norm(m9 * 0).backward(); out['norm0'] = m9.grad
"""

PROGRAMS["d2l_rnn_from_scratch_idioms"] = """
rng = np.random.default_rng(0)
X = torch.arange(10).reshape((2, 5))
out['onehot_T'] = F.one_hot(X.T, 28).shape
num_inputs = num_outputs = 28; num_hiddens = 16
def normal(shape):
    return torch.tensor(rng.standard_normal(shape).astype(np.float32) * 0.1)
W_xh, W_hh = normal((num_inputs, num_hiddens)), normal((num_hiddens, num_hiddens))
b_h = torch.zeros(num_hiddens)
W_hq, b_q = normal((num_hiddens, num_outputs)), torch.zeros(num_outputs)
params = [W_xh, W_hh, b_h, W_hq, b_q]
for param in params:
    param.requires_grad_(True)
def rnn(inputs, state, params):
    W_xh, W_hh, b_h, W_hq, b_q = params
    H, = state
    outputs = []
    for X in inputs:
        H = torch.tanh(torch.mm(X, W_xh) + torch.mm(H, W_hh) + b_h)
        Y = torch.mm(H, W_hq) + b_q
        outputs.append(Y)
    return torch.cat(outputs, dim=0), (H,)
state = (torch.zeros((2, num_hiddens)),)
Xo = F.one_hot(X.T, 28).type(torch.float32)
Y, new_state = rnn(Xo, state, params)
out['Y'] = Y
out['state'] = new_state[0]
y = torch.tensor(rng.integers(0, 28, (2, 5)))
l = nn.CrossEntropyLoss()(Y, y.T.reshape(-1).long())
l.backward()
def grad_clipping(params, theta):
    norm = torch.sqrt(sum(torch.sum((p.grad ** 2)) for p in params))
    if norm > theta:
        for param in params:
            param.grad[:] *= theta / norm
    return norm
out['norm'] = grad_clipping(params, 0.01)
out['clipped'] = W_hh.grad
for s in new_state:
    s.detach_()
out['detached'] = (new_state[0].requires_grad, new_state[0].grad_fn is None, new_state[0].is_leaf)
H = torch.zeros(2, 3, requires_grad=False)
H2 = (H + 1) * torch.ones(3, requires_grad=True)
H2 = H2.detach()
out['det'] = H2.requires_grad
with torch.no_grad():
    for param in params:
        param -= 0.5 * param.grad
        param.grad.zero_()
out['upd'] = W_xh[:2]
out['ppl'] = math.exp(l.item())
out['argmax_item'] = int(Y[0].argmax(dim=0).reshape(1))
out['outputs'] = [int(Y[i].argmax(dim=0).reshape(1)) for i in range(3)]
"""

@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_tutorial_program_gives_pytorchs_answers(name, tmp_path):
    _compare(PROGRAMS[name], tmp_path, rtol=1e-4, atol=1e-6)


# One-line idioms from the same material, each evaluated with ``T`` bound to each library.
SETUP = """
a = T.tensor([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]])
i = T.tensor([[1, 2, 3], [4, 5, 6]])
v = T.tensor([3.0, 1.0, 2.0])
"""

EXPRESSIONS = """
T.max(a, 1).values
T.max(a, 1).indices
T.max(a, dim=1)[1]
a.argmax()
a.argmax(1, keepdim=True)
i / 2
i // 2
T.tensor([-3, 3]) // 2
T.tensor([-3, 3]) % 2
T.tensor([-7.0]) // 2
i.sum()
T.tensor([True, False, True]).sum()
a.std()
a.std(unbiased=False)
a.std(1, correction=0)
a.var(0)
T.norm(a, dim=1)
T.norm(a, p=1)
a.norm(2, 1)
T.topk(v, 2).values
T.topk(v, 2).indices
T.sort(v, descending=True)[0]
T.where(a > 0, a, T.zeros_like(a))
T.where(a > 0)[1]
a.clamp(min=0)
T.clamp(a, max=2)
a.t()
a.permute(1, 0)
a.view(3, -1)
T.stack([a, a], 1)
T.cat([a, i], 0)
a.type(T.int64)
a.long()
a.to(T.float64)
i[0, 0].item()
a.tolist()
i.tolist()
F.softmax(a, dim=1)
F.log_softmax(a, dim=-1)
nn.Softmax(dim=1)(a)
F.cross_entropy(a, T.tensor([2, 0]))
F.cross_entropy(a, T.tensor([2, 0]), reduction='sum')
F.cross_entropy(a, T.tensor([2, -100]))
F.cross_entropy(a, T.tensor([2, 1]), ignore_index=1)
F.cross_entropy(a, T.tensor([2, 0]), label_smoothing=0.1)
F.cross_entropy(a, T.tensor([2, 0]), weight=T.tensor([1.0, 2.0, 3.0]))
F.cross_entropy(a, T.softmax(a * 2, 1))
F.nll_loss(F.log_softmax(a, 1), T.tensor([2, 0]))
F.binary_cross_entropy(T.sigmoid(a), (a > 0).float())
F.binary_cross_entropy_with_logits(a, (a > 0).float(), pos_weight=T.tensor([1.0, 2.0, 3.0]))
F.smooth_l1_loss(a, T.ones_like(a), beta=0.5)
F.huber_loss(a, T.ones_like(a), delta=2.0)
F.kl_div(F.log_softmax(a, 1), F.softmax(a.flip(1), 1), reduction='batchmean')
F.one_hot(T.tensor([0, 2]), 4)
F.leaky_relu(a, 0.1)
F.gelu(a)
F.normalize(a, dim=1)
F.pad(a, (1, 1))
F.dropout(a, 0.5, training=False)
T.arange(0, 1, 0.25)
T.linspace(0, 1, 5)
T.zeros(2, 3, dtype=T.long)
T.full((2, 2), 7)
T.full((2, 2), 7.0)
T.tensor([1, 2.0])
T.tensor(np.float64(2.0))
(T.tensor([1, 2]) * 1.5)
(T.tensor([1.0], dtype=T.float32) + np.float64(1.0))
(T.tensor([1.0], dtype=T.float32) * T.tensor(2.0, dtype=T.float64))
(T.tensor([1, 2], dtype=T.int32) + 1)
T.tensor([True, False]) + T.tensor([True, True])
(a > 0).float().mean()
a[a > 0]
a[:, [0, 2]]
a[[0, 1], [2, 0]]
a[T.tensor([True, False])]
2 ** v
T.bmm(a[None], a.T[None])
T.einsum('ij,kj->ik', a, a)
T.outer(v, v)
a.new_tensor([1, 2])
a.new_full((2,), 3.0)
a.chunk(3, 1)[0]
a.masked_fill(a < 0, 0.0)
a.gather(1, T.tensor([[0], [1]]))
T.zeros(3).index_put_((T.tensor([0, 0]),), T.tensor([1.0, 2.0]), accumulate=True)
a.logsumexp(1)
T.round(T.tensor([0.5, 1.5, 2.5]))
a.fmod(4)
a % 4
T.tensor([1.0, float('nan')]).max()
T.tensor([])
T.zeros(2, 3).scatter(1, T.tensor([[0], [2]]), 1.0)
T.zeros(3, 4).scatter(1, T.tensor([1, 0, 3]).unsqueeze(1), 1)
T.zeros(3).scatter_add(0, T.tensor([0, 0, 2]), T.ones(3))
""".strip().splitlines()

# F.softmax and F.log_softmax without dim: PyTorch's deprecated implicit choice (dim 0 for 1-
# and 3-D inputs, else dim 1), with its warning; the last dim would be silently different.
IMPLICIT_DIM = [f"F.{name}(T.tensor(np.arange({size}, dtype=np.float32).reshape({shape}) / 7))"
                for name in ("softmax", "log_softmax")
                for size, shape in ((5, "5"), (6, "2, 3"), (24, "2, 3, 4"), (120, "2, 3, 4, 5"))]


def _evaluate(library, expression):
    namespace = {"T": library, "np": np, "F": library.nn.functional, "nn": library.nn}
    exec(SETUP, namespace)
    return eval(expression, namespace)


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_one_line_idiom_gives_pytorchs_answer(expression):
    import chainrule
    _check(expression, _evaluate(chainrule, expression), _evaluate(torch, expression),
           rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("expression", IMPLICIT_DIM)
def test_softmax_without_dim_picks_pytorchs_dim_and_warns(expression):
    import chainrule
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        want = _evaluate(torch, expression)
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        got = _evaluate(chainrule, expression)
    _check(expression, got, want, rtol=1e-6, atol=1e-6)


OPTIMIZERS = [
    "optim.SGD(params)",
    "optim.SGD(params, 0.1, 0.9, 0, 5e-4)",
    "optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-2)",
    "optim.SGD(params, lr=0.1, momentum=0.9, dampening=0.1)",
    "optim.Adam(params)",
    "optim.Adam(params, 1e-2, (0.8, 0.9), 1e-6, 0.1, True)",
    "optim.AdamW(params, lr=1e-2)",
    "optim.RMSprop(params, lr=1e-2, momentum=0.5, centered=True)",
    "optim.SGD([{'params': params[:2], 'lr': 0.2}, {'params': params[2:]}], lr=0.05)",
    "optim.Adagrad(params, lr=0.1)",
    "optim.Adagrad(params, 0.1, 0.1, 0.01, 0.5, 1e-6)",
    "optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=0.1, maximize=True, foreach=False)",
    "optim.Adam(params, lr=0.01, weight_decay=0.1, maximize=True, fused=None)",
    "optim.Adam(params, lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)",
    "optim.AdamW(params, lr=0.01, amsgrad=True, maximize=True)",
    "optim.RMSprop(params, 0.01, 0.9, 1e-8, 0.1, 0.5, True, False, None, True)",
    "optim.Adagrad(params, lr=0.1, maximize=True)",
    "optim.Adadelta(params)",
    "optim.Adadelta(params, 0.5, 0.8, 1e-4, 0.1)",
    "optim.Adadelta(params, lr=0.5, maximize=True)",
    "optim.Adamax(params, 0.01, (0.8, 0.9), 1e-6, 0.1, None, maximize=True)",
    "optim.NAdam(params, 0.01, (0.8, 0.9), 1e-6, 0.1, 0.01, True)",
    "optim.RAdam(params, 0.01, (0.8, 0.9), 1e-6, 0.1, True)",
    "optim.ASGD(params, 0.05, 1e-3, 0.5, 2, 0.1, None, True)",
    "optim.Rprop(params, 0.01, (0.4, 1.5), (1e-4, 1))",
]


@pytest.mark.parametrize("option", ["differentiable=True", "capturable=True"])
def test_switches_without_meaning_here_are_refused_by_name(option):
    import chainrule as cr
    with pytest.raises(cr.ArgumentError, match=option.split("=")[0]):
        eval(f"cr.optim.Adam([cr.nn.Parameter(cr.ones(1))], {option})")


def test_a_checkpoint_without_maximize_still_loads():
    """Optimizer checkpoints written before ``maximize`` was an option load as maximize=False."""
    import chainrule as cr
    p = cr.nn.Parameter(cr.ones(2))
    opt = cr.optim.SGD([p], lr=0.1, momentum=0.9)
    p.grad = cr.ones(2)
    opt.step()
    saved = opt.state_dict()
    del saved["param_groups"][0]["maximize"]
    fresh = cr.optim.SGD([cr.nn.Parameter(cr.ones(2))], lr=0.5, momentum=0.9, maximize=True)
    fresh.load_state_dict(saved)
    assert fresh.param_groups[0]["maximize"] is False and fresh.param_groups[0]["lr"] == 0.1


def test_adagrad_resumes_from_its_state_dict(tmp_path):
    _compare("""
X = torch.tensor(rng.random((12, 4)).astype(np.float32))
Y = torch.tensor(rng.random((12, 1)).astype(np.float32))
nets, opts = [], []
for _ in range(2):
    net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    init_from_numpy(net)
    nets.append(net)
    opts.append(optim.Adagrad(net.parameters(), lr=0.1, lr_decay=0.01))
def train(net, opt, steps):
    for _ in range(steps):
        opt.zero_grad()
        F.mse_loss(net(X), Y).backward()
        opt.step()
train(nets[0], opts[0], 6)
train(nets[1], opts[1], 3)
torch.save({'net': nets[1].state_dict(), 'opt': opts[1].state_dict()}, tmp + '/ck.pt')
saved = torch.load(tmp + '/ck.pt')
net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
net.load_state_dict(saved['net'])
opt = optim.Adagrad(net.parameters(), lr=0.1, lr_decay=0.01)
opt.load_state_dict(saved['opt'])
train(net, opt, 3)
out['resumed'] = (net[0].weight, nets[0][0].weight, opt.state_dict()['state'][0]['step'])
""", tmp_path, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_optimizer_positional_and_default_arguments_mean_pytorchs(make, tmp_path):
    """Each optimizer made as tutorials make it (positionally too, with maximize and PyTorch's
    kernel switches) trains a small network to PyTorch's weights, and lists its groups'
    options as PyTorch does (less the switches it does not keep: foreach, fused, capturable,
    differentiable, decoupled_weight_decay)."""
    _compare(f"""
X = torch.tensor(rng.random((12, 4)).astype(np.float32))
Y = torch.tensor(rng.random((12, 1)).astype(np.float32))
net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
init_from_numpy(net)
params = list(net.parameters())
opt = {make}
for _ in range(5):
    opt.zero_grad()
    loss = F.mse_loss(net(X), Y)
    loss.backward()
    opt.step()
out['trained'] = (loss, net[0].weight, net[2].bias)
switches = ('foreach', 'fused', 'capturable', 'differentiable', 'decoupled_weight_decay')
out['listing'] = [line for line in repr(opt).splitlines()
                  if line.strip().split(':')[0] not in switches]
""", tmp_path, rtol=1e-4, atol=1e-6)


SCHEDULERS = [
    "S.StepLR(opt, step_size=2, gamma=0.5)",
    "S.MultiStepLR(opt, milestones=[2, 4], gamma=0.1)",
    "S.ExponentialLR(opt, gamma=0.9)",
    "S.CosineAnnealingLR(opt, T_max=4)",
    "S.LambdaLR(opt, lambda e: 0.95 ** e)",
    "S.LinearLR(opt, start_factor=0.5, total_iters=3)",
    "S.LinearLR(opt)",
    "S.LinearLR(opt, start_factor=1.0, end_factor=0.0, total_iters=4)",
    "S.ConstantLR(opt, factor=0.5, total_iters=2)",
    "S.ConstantLR(opt)",
    "S.ConstantLR(opt, factor=0.5, total_iters=0)",
    "S.PolynomialLR(opt, total_iters=4, power=2.0)",
    "S.PolynomialLR(opt)",
    "S.PolynomialLR(opt, total_iters=0)",
    "S.LinearLR(opt, start_factor=0.5, total_iters=0)",
    "S.SequentialLR(opt, [S.LinearLR(opt, start_factor=0.1, total_iters=2), "
    "S.ExponentialLR(opt, gamma=0.9)], milestones=[2])",
    "S.SequentialLR(opt, [S.ConstantLR(opt, factor=0.1, total_iters=2), "
    "S.CosineAnnealingLR(opt, T_max=5)], milestones=[3])",
    "S.SequentialLR(opt, [S.LinearLR(opt, start_factor=0.1, total_iters=3), S.StepLR(opt, 2, 0.5), "
    "S.MultiStepLR(opt, [0, 2])], milestones=[3, 6])",
    "S.SequentialLR(opt, [S.ExponentialLR(opt, gamma=0.5), S.LambdaLR(opt, lambda e: 1 / (e + 1)), "
    "S.MultiplicativeLR(opt, lambda e: 0.9)], milestones=[2, 4])",
    "S.SequentialLR(opt, [S.LambdaLR(opt, lambda e: (e + 1) / 3), "
    "S.PolynomialLR(opt, total_iters=4)], milestones=[3])",
    "S.SequentialLR(opt, [S.StepLR(opt, 1, 0.5)], milestones=[])",
    "S.OneCycleLR(opt, max_lr=0.1, total_steps=10)",
    "S.OneCycleLR(opt, max_lr=[0.1, 0.05], epochs=2, steps_per_epoch=5, "
    "anneal_strategy='linear')",
    "S.OneCycleLR(opt, max_lr=0.1, total_steps=10, three_phase=True, pct_start=0.25)",
    "S.OneCycleLR(opt, max_lr=0.1, total_steps=10, cycle_momentum=False, div_factor=10.0, "
    "final_div_factor=100.0)",
    "S.CosineAnnealingWarmRestarts(opt, T_0=3)",
    "S.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2, eta_min=0.001)",
    "S.SequentialLR(opt, [S.LinearLR(opt, start_factor=0.1, total_iters=2), "
    "S.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=2)], milestones=[3])",
    "S.ChainedScheduler([S.ConstantLR(opt, factor=0.1, total_iters=2), "
    "S.ExponentialLR(opt, gamma=0.9)])",
    "S.ChainedScheduler([S.LinearLR(opt, start_factor=0.2, total_iters=4), "
    "S.CosineAnnealingLR(opt, T_max=6), S.StepLR(opt, 3, 0.5)], optimizer=opt)",
    "S.CyclicLR(opt, 0.01, 0.1, step_size_up=3)",
    "S.CyclicLR(opt, [0.01, 0.02], [0.1, 0.2], step_size_up=2, step_size_down=4, "
    "mode='triangular2')",
    "S.CyclicLR(opt, 0.01, 0.1, step_size_up=2, mode='exp_range', gamma=0.9)",
    "S.CyclicLR(opt, 0.01, 0.1, step_size_up=2, scale_fn=lambda x: 0.5 ** x, "
    "scale_mode='iterations')",
    "S.SequentialLR(opt, [S.LinearLR(opt, start_factor=0.5, total_iters=2), "
    "S.CyclicLR(opt, 0.01, 0.1, step_size_up=2)], milestones=[3])",
]


def _lr_sequence(library, scheduler):
    """The lrs of two parameter groups and get_last_lr() over ten epochs of a training loop,
    and each group's 'initial_lr' as the scheduler recorded it."""
    params = [library.nn.Parameter(library.ones(1)) for _ in range(2)]
    opt = library.optim.SGD([{"params": [params[0]], "lr": 0.1},
                             {"params": [params[1]], "lr": 0.02}], lr=0.1)
    sched = eval(scheduler, {"S": library.optim.lr_scheduler, "opt": opt})
    lrs = [[g["lr"] for g in opt.param_groups] + sched.get_last_lr()]
    for _ in range(9):
        opt.step()
        sched.step()
        lrs.append([g["lr"] for g in opt.param_groups] + sched.get_last_lr())
    return np.array(lrs), [g["initial_lr"] for g in opt.param_groups]


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_scheduler_gives_pytorchs_lrs_to_the_last_bit(scheduler):
    import chainrule
    want, want_initial = _lr_sequence(torch, scheduler)
    got, got_initial = _lr_sequence(chainrule, scheduler)
    np.testing.assert_array_equal(got, want)
    assert got_initial == want_initial


def test_cyclic_lr_moves_the_momentum_and_beta1(tmp_path):
    _compare("""
for make in ('SGD', 'Adam'):
    p = nn.Parameter(torch.ones(2))
    opt = optim.SGD([p], lr=0.1, momentum=0.9) if make == 'SGD' else optim.Adam([p], lr=0.1)
    sched = optim.lr_scheduler.CyclicLR(opt, 0.01, 0.1, step_size_up=2, mode='triangular2')
    momenta = []
    for _ in range(7):
        p.grad = torch.ones(2)
        opt.step()
        sched.step()
        group = opt.param_groups[0]
        momenta.append(group['momentum'] if make == 'SGD' else group['betas'][0])
    out[make] = (momenta, p, sched.get_last_lr())
""", tmp_path)


def test_one_cycle_moves_the_momentum_and_refuses_a_step_too_many(tmp_path):
    _compare("""
for make in ('SGD', 'Adam'):
    p = nn.Parameter(torch.ones(2))
    opt = optim.SGD([p], lr=0.1, momentum=0.9) if make == 'SGD' else optim.Adam([p], lr=0.1)
    sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=0.5, total_steps=6)
    momenta = []
    for _ in range(6):
        p.grad = torch.ones(2)
        opt.step()
        if len(momenta) < 5:
            sched.step()
        group = opt.param_groups[0]
        momenta.append(group['momentum'] if make == 'SGD' else group['betas'][0])
    out[make] = (momenta, p, sorted(k for k in group if k.endswith(('_lr', 'momentum'))))
    sched.step()
    try:
        sched.step()
        out[make + ' step 7'] = 'accepted'
    except ValueError:
        out[make + ' step 7'] = 'refused'
""", tmp_path)


def test_warm_restarts_follow_fractional_epochs(tmp_path):
    _compare("""
opt = optim.SGD([nn.Parameter(torch.ones(1))], lr=1.0)
sched = optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=3, T_mult=2)
lrs = []
for epoch in range(8):
    for i in range(4):
        sched.step(epoch + i / 4)
        lrs.append(opt.param_groups[0]['lr'])
sched.step(26)
sched.step()
out['lrs'] = (lrs, sched.last_epoch, sched.get_last_lr())
""", tmp_path, rtol=1e-12, atol=0)


def test_a_warmup_then_cosine_pair_starts_from_the_first_lr():
    """Two schedulers made on one optimizer (the chaining idiom): the second one's base lr is
    the optimizer's original lr (PyTorch's 'initial_lr'), not the lr the warmup left."""
    import chainrule
    results = []
    for library in (torch, chainrule):
        p = library.nn.Parameter(library.ones(1))
        opt = library.optim.SGD([p], lr=1.0)
        warmup = library.optim.lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=3)
        cosine = library.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4)
        lrs = []
        for _ in range(10):
            opt.step()
            warmup.step()
            cosine.step()
            lrs.append(opt.param_groups[0]["lr"])
        results.append((lrs, cosine.base_lrs, warmup.base_lrs))
    assert results[1] == results[0]


def test_an_optimizer_checkpoint_with_a_scheduler_resumes(tmp_path):
    """The scheduler's 'initial_lr' travels in the optimizer's state_dict, as in PyTorch."""
    import chainrule as cr
    p = cr.nn.Parameter(cr.ones(2))
    opt = cr.optim.SGD([p], lr=0.5, momentum=0.9)
    cr.optim.lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=2)
    p.grad = cr.ones(2)
    opt.step()
    saved = opt.state_dict()
    assert saved["param_groups"][0]["initial_lr"] == 0.5
    cr.save(saved, str(tmp_path / "opt.pt"))
    fresh = cr.optim.SGD([cr.nn.Parameter(cr.ones(2))], lr=0.1, momentum=0.9)
    fresh.load_state_dict(cr.load(str(tmp_path / "opt.pt")))
    assert fresh.param_groups[0]["lr"] == 0.25 and fresh.param_groups[0]["initial_lr"] == 0.5


def test_an_optimizer_checkpoint_with_one_cycle_resumes(tmp_path):
    """OneCycleLR's keys (max_lr, min_lr, max_momentum, base_momentum) in the parameter groups
    go through save and load, as PyTorch's state_dict carries them."""
    import chainrule as cr
    p = cr.nn.Parameter(cr.ones(2))
    opt = cr.optim.SGD([p], lr=0.5, momentum=0.9)
    cr.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=5)
    cr.save(opt.state_dict(), str(tmp_path / "opt.pt"))
    fresh = cr.optim.SGD([cr.nn.Parameter(cr.ones(2))], lr=0.1, momentum=0.9)
    fresh.load_state_dict(cr.load(str(tmp_path / "opt.pt")))
    restored = dict(fresh.param_groups[0], params=None)
    assert restored == dict(opt.param_groups[0], params=None)


@pytest.mark.parametrize("combined", ["SequentialLR", "ChainedScheduler"])
def test_combined_schedulers_state_dict_round_trip(combined):
    import chainrule as cr
    def make():
        opt = cr.optim.SGD([cr.nn.Parameter(cr.ones(1))], lr=1.0)
        S = cr.optim.lr_scheduler
        parts = [S.LinearLR(opt, start_factor=0.1, total_iters=2),
                 S.ExponentialLR(opt, gamma=0.5)]
        if combined == "SequentialLR":
            return opt, S.SequentialLR(opt, parts, milestones=[2])
        return opt, S.ChainedScheduler(parts)
    opt, sched = make()
    for _ in range(3):
        sched.step()
    opt2, sched2 = make()
    sched2.load_state_dict(sched.state_dict())
    opt2.param_groups[0]["lr"] = opt.param_groups[0]["lr"]
    sched.step()
    sched2.step()
    assert sched2.get_last_lr() == sched.get_last_lr()


@pytest.mark.parametrize("call, message", [
    ("S.SequentialLR(opt, [S.StepLR(opt, 1)], milestones=[1])", "1 schedulers need 0 milestones"),
    ("S.SequentialLR(opt, [], milestones=[])", "at least one scheduler"),
    ("S.SequentialLR(opt, [S.ReduceLROnPlateau(opt)], milestones=[])", "ReduceLROnPlateau"),
    ("S.SequentialLR(opt, [S.StepLR(other, 1)], milestones=[])", "another optimizer"),
    ("S.ChainedScheduler([])", "at least one scheduler"),
    ("S.ChainedScheduler([S.ReduceLROnPlateau(opt)])", "ReduceLROnPlateau"),
    ("S.ChainedScheduler([S.StepLR(opt, 1), S.StepLR(other, 1)])", "another optimizer"),
    ("S.LinearLR(opt, start_factor=0)", "start_factor must be in (0, 1]"),
    ("S.ConstantLR(opt, factor=1.5)", "factor must be in (0, 1]"),
    ("S.LinearLR(opt, end_factor=1.5)", "end_factor must be in [0, 1]"),
])
def test_scheduler_misuse_is_refused_with_its_reason(call, message):
    import chainrule

    def namespace(library):
        def optimizer():
            return library.optim.SGD([library.nn.Parameter(library.ones(1))], lr=1.0)
        return {"S": library.optim.lr_scheduler, "opt": optimizer(), "other": optimizer()}

    with pytest.raises((TypeError, ValueError)) as error:
        eval(call, namespace(chainrule))
    assert message in str(error.value)
    with pytest.raises((TypeError, ValueError)):  # PyTorch refuses each of these too
        eval(call, namespace(torch))


@pytest.mark.parametrize("call", [
    "nn.Linear(3, 2)(T.tensor([[1, 2, 3]]))",
    "T.ones(2, 3, dtype=T.float64) @ T.ones(3, 2)",
])
def test_a_dtype_mismatch_names_pytorchs_conversion(call):
    """Integer data into a float layer: PyTorch refuses, and the message points to the PyTorch
    spelling of the fix (x.float(), .to(dtype)), not to NumPy's astype."""
    import chainrule
    with pytest.raises(RuntimeError):
        _evaluate(torch, call)
    with pytest.raises(TypeError) as error:
        _evaluate(chainrule, call)
    assert "x.float()" in str(error.value) and "astype" not in str(error.value)



# torch.autograd.functional.jacobian and hessian: (kind, function, arguments), each run with
# and without create_graph; the results must have PyTorch's nesting, shapes, dtypes,
# requires_grad and values.
_A = np.random.default_rng(0).standard_normal((3, 2))
_C = np.random.default_rng(1).standard_normal((2, 2))
DERIVATIVES = [
    ("jacobian", "lambda t: t ** 2", "(X(3),)"),
    ("jacobian", "lambda t: (t @ M(A)).tanh()", "(X(4, 3),)"),
    ("jacobian", "lambda a, b: a * b", "((X(3), X(3)),)"),
    ("jacobian", "lambda a, b: (a.sum(), (a * b).exp())", "((X(2), X(2)),)"),
    ("jacobian", "lambda a: (a.sin(), a.cos().sum())", "(X(2, 2),)"),
    ("jacobian", "lambda a, b: a * 2", "((X(3), X(2)),)"),
    ("jacobian", "lambda t: t.softmax(0)", "(X(4),)"),
    ("jacobian", "lambda t: t.sum()", "(X(2, 3),)"),
    ("hessian", "lambda t: (t ** 3).sum()", "(X(3),)"),
    ("hessian", "lambda t: (t @ M(C) @ t).sin()", "(X(2),)"),
    ("hessian", "lambda a, b: (a * b.exp()).sum()", "((X(2), X(2)),)"),
    ("hessian", "lambda t: (t * 2).sum()", "(X(3),)"),
    ("hessian", "lambda t: F.log_softmax(t, 0)[1]", "(X(4),)"),
]


def _derivative(library, kind, function, arguments, **options):
    draw = np.random.default_rng(2)
    namespace = {"M": library.tensor, "F": library.nn.functional, "A": _A, "C": _C}
    args = eval(arguments, {"X": lambda *shape: library.tensor(draw.standard_normal(shape))})
    return getattr(library.autograd.functional, kind)(eval(function, namespace), *args,
                                                      **options)


def _nested_check(key, got, want):
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want), f"{key}: nesting differs"
        for index, (g, w) in enumerate(zip(got, want)):
            _nested_check(f"{key}[{index}]", g, w)
        return
    assert got.requires_grad == want.requires_grad, f"{key}: requires_grad differs"
    _check(key, got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("kind, function, arguments", DERIVATIVES)
def test_jacobian_and_hessian_give_pytorchs_nesting_and_values(kind, function, arguments,
                                                               create_graph):
    import chainrule
    want = _derivative(torch, kind, function, arguments, create_graph=create_graph)
    got = _derivative(chainrule, kind, function, arguments, create_graph=create_graph)
    _nested_check(f"{kind} {function}", got, want)


def test_a_jacobian_with_create_graph_differentiates_back_to_the_inputs(tmp_path):
    _compare("""
x = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
J = torch.autograd.functional.jacobian(lambda t: t.sin() * t, x, create_graph=True)
J.sum().backward()
out['through_the_jacobian'] = (J, x.grad)
H = torch.autograd.functional.hessian(lambda t: (t.exp() * t).sum(), x, create_graph=True)
out['hessian_graph'] = H.requires_grad
try:
    torch.autograd.functional.jacobian(lambda a, b: a * 2, (x, torch.ones(2)), strict=True)
    out['strict'] = 'accepted'
except RuntimeError as error:
    out['strict'] = str(error)
try:
    torch.autograd.functional.hessian(lambda t: t * 2, x)
    out['not_scalar'] = 'accepted'
except RuntimeError:
    out['not_scalar'] = 'refused'
""", tmp_path)


@pytest.mark.parametrize("make", [
    "optim.SGD(params, lr=0.1, momentum=0.9, maximize=True)",
    "optim.SGD(params, lr=0.1, maximize=True)",
    "optim.Adam(params, lr=0.1, maximize=True)",
    "optim.AdamW(params, lr=0.1, maximize=True)",
    "optim.Adagrad(params, lr=0.1, maximize=True)",
])
def test_a_compiled_step_ascends_as_the_eager_step_does(make):
    """cr.compile's plans (the specialised SGD and Adam lines and the generic step) honour
    maximize=True: the same weights as the eager loop, bit for bit."""
    import chainrule as cr
    from chainrule import nn, optim

    def run(compiled):
        model = nn.Linear(4, 3)
        with cr.no_grad():
            for k, p in enumerate(model.parameters()):
                p.copy_(cr.tensor(np.random.default_rng(k).standard_normal(tuple(p.shape))
                                  .astype(np.float32)))
        params = list(model.parameters())
        opt = eval(make, {"optim": optim, "params": params})

        def step(x):
            opt.zero_grad()
            loss = -(model(x) ** 2).mean()
            loss.backward()
            opt.step()
            return loss
        f = cr.compile(step) if compiled else step
        draw = np.random.default_rng(5)
        for _ in range(4):
            f(cr.tensor(draw.standard_normal((5, 4)).astype(np.float32)))
        return [p.detach().numpy().copy() for p in params]
    for got, want in zip(run(True), run(False)):
        np.testing.assert_array_equal(got, want)
