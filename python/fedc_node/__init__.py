"""fedc_node: the Python node SDK of fedc.

    import fedc_node

    class MyClient(fedc_node.Client):
        def get_parameters(self, config): ...
        def fit(self, parameters, config): ...        # -> (parameters, num_examples, metrics)
        def evaluate(self, parameters, config): ...   # -> (loss, num_examples, {"accuracy": a})

    fedc_node.connect("wss://server:8443", "node.pem", MyClient())

fedc_node.pytorch maps a PyTorch module's state_dict to and from the lists of
arrays the client exchanges (TorchClient does it all for a module)."""
from .codec import Codec, CodecError, available_stages
from .node import Client, FatalError, Node, connect, manifest_of, tls_context
from .protocol import ProtocolError

__all__ = ["Client", "Codec", "CodecError", "FatalError", "Node", "ProtocolError", "available_stages", "connect",
           "manifest_of", "tls_context"]
__version__ = "0.1.0"
