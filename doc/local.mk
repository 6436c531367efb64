# doc/: design notes, distributed but not installed.
EXTRA_DIST += doc/architecture.md doc/format.md doc/img/kodak-rd.png
