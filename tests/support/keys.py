"""Fernet keys for the tests: ``KEY`` encrypts what a test installs, ``NEW_KEY`` is what it rotates to."""

KEY = "EDxsLP4JGlRiSasRtRHs8HupR3PEYdttGlcDxKrpoT0="
NEW_KEY = "JBEIjL1z30Y5JjQWYeiLvaagslAkQD2Yy7jLsdpzCoM="
# A key nothing was ever encrypted with.
STRANGER_KEY = "dEFGE2etObHvZXZ8yoCmo6N1rZisKrzg0cvVzFBz3W4="
