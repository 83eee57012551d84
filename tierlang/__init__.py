"""tierlang: rating methodologies as code, with an audit trail."""

__version__ = "0.1.0"
