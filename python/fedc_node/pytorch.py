"""PyTorch helpers: a module's state_dict as the list of float32 arrays a
fedc node exchanges, and back.

Every floating-point entry of the state_dict is exchanged, in state_dict
order: parameters and float buffers (BatchNorm's running mean and variance
are averaged like weights, as FedAvg does with them); integer buffers
(BatchNorm's num_batches_tracked) stay local. Names are the state_dict keys,
so the server's model file (safetensors) has the module's own names."""
import numpy as np
import torch

from .node import Client


def exchanged_keys(module):
    return [k for k, v in module.state_dict().items() if torch.is_floating_point(v)]


def state_dict_arrays(module):
    """(names, arrays): the exchanged entries as float32 NumPy copies."""
    sd = module.state_dict()
    names = exchanged_keys(module)
    return names, [sd[k].detach().cpu().to(torch.float32).numpy().copy() for k in names]


def load_arrays(module, arrays, names=None):
    """Loads arrays (in exchanged_keys order) into the module, in place."""
    names = names or exchanged_keys(module)
    if len(names) != len(arrays):
        raise ValueError(f"{len(arrays)} arrays for {len(names)} tensors")
    sd = module.state_dict()
    with torch.no_grad():
        for k, a in zip(names, arrays):
            t = sd[k]
            src = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).to(t.dtype)
            if tuple(src.shape) != tuple(t.shape):
                raise ValueError(f"{k}: shape {tuple(src.shape)}, the module has {tuple(t.shape)}")
            t.copy_(src)


class TorchClient(Client):
    """A fedc node client for a torch.nn.Module.

    train(model, config) -> (num_examples, metrics) trains in place (config:
    round, lr, epochs, batch, mu, ...); evaluate(model, config) -> (loss,
    num_examples, {"accuracy": a}) scores it. num_examples: the local
    training set size, reported to the server."""

    def __init__(self, model, train, evaluate=None, num_examples=0):
        self.model = model
        self._train = train
        self._evaluate = evaluate
        self._n = num_examples

    def tensor_names(self):
        return exchanged_keys(self.model)

    def num_examples(self):
        return self._n

    def get_parameters(self, config):
        return state_dict_arrays(self.model)[1]

    def fit(self, parameters, config):
        load_arrays(self.model, parameters)
        n, metrics = self._train(self.model, config)
        return self.get_parameters(config), n, metrics

    def evaluate(self, parameters, config):
        if self._evaluate is None:
            raise NotImplementedError("this client does not evaluate")
        load_arrays(self.model, parameters)
        return self._evaluate(self.model, config)
