"""axsim: a toolkit for approximate computing research on DNNs (Sen, Purdue 2020)."""
__version__ = "0.1.0"
