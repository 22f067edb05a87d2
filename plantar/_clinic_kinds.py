"""The kinds of condition a clinic trial is recorded in, known without importing the clinic store.

The command line offers them as choices; the clinic store (which imports SQLAlchemy)
takes them from here.
"""

#: The kinds of condition a trial is recorded in; a free label tells the variants apart.
CONDITION_KINDS = ("barefoot", "shod", "orthotic")
