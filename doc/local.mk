# doc/: file lists
