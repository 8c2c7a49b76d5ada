"""The HTTP planning service (serve.py), its bounded HTTP layer (http.py) and the torch-free client (client.py)."""
