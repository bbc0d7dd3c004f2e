"""The mastering assistant: targets as data, decisions from analysis or a reference, verification."""
