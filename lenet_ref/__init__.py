"""lenet_ref: LeNet-5 as LeCun, Bottou, Bengio and Haffner (1998) built it, in NumPy
(``lenet_ref.numpy``) and in PyTorch (``lenet_ref.torch``), from one spec
(``lenet_ref.spec``), with the paper's counts (``lenet_ref.counting``), the real MNIST
(``lenet_ref.data``) and a training loop (``lenet_ref.train``).

Importing this package imports neither torch nor the networks: import the half you need.
"""

__version__ = "0.1.0"
