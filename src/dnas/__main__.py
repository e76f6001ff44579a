"""``python -m dnas ...`` (also what ``torchrun -m dnas search ...`` runs)."""

from dnas.cli.main import console_entry

if __name__ == "__main__":
    console_entry()
