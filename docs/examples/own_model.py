"""Your own model in the Trainer: the command line's progress, history, checkpoints and resume."""
import numpy as np

from chainrule import data, nn, optim
from chainrule.random import manual_seed
from chainrule.train import Trainer

manual_seed(0)
train, test = data.digits(seed=0)                      # 8x8 digits: 1438 train / 359 test
model = nn.Sequential(nn.Unflatten(1, (1, 8, 8)), nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(),
                      nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 4 * 4, 10))
trainer = Trainer(epochs=5, out_dir="runs/own-model", progress=False)
history = trainer.fit(model,
                      data.DataLoader(train, batch_size=32, shuffle=True, seed=0),
                      data.DataLoader(test, batch_size=256),
                      loss=nn.functional.cross_entropy,
                      optimizer=optim.SGD(model.parameters(), lr=0.05, momentum=0.9))
print(f"test accuracy {history[-1].test_accuracy:.4f}; checkpoint {trainer.checkpoint_path}")
