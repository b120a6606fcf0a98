"""CLI subcommands, one module each. A module exposes ``register(subparsers)``, which adds its
parser and sets ``handler`` (a function ``(args) -> int``) as a default. Registration must stay
cheap: heavy imports (TensorFlow, torch, Whisper) happen inside the handler."""

#: Module names under assistant.commands, in the order ``moodchords --help`` lists them.
COMMAND_MODULES = ("listen", "transcribe", "mood", "compose", "classify", "train")
