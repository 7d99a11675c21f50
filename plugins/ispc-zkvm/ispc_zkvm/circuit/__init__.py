"""The zkVM's constraint systems: the permutation network and the memory checker (the step circuit builds on them)."""
