"""Training infrastructure beside the loop: what makes a step cheaper without changing what it learns."""
