# doc/: design notes, distributed but not installed.
EXTRA_DIST += doc/architecture.md doc/format.md doc/tokens.md \
  doc/img/kodak-rd.png doc/examples/tokens_numpy.py
